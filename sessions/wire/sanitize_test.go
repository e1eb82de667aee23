package wire

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"plain", "250 mail.lab.test", "250 mail.lab.test"},
		{"crlf", "220 hi\r\n", `220 hi\r\n`},
		{"OSC 52 clipboard write", "\x1b]52;c;ZXZpbA==\x07", `\x1b]52;c;ZXZpbA==\x07`},
		{"OSC 0 window title", "\x1b]0;pwned\x1b\\", `\x1b]0;pwned\x1b\\`},
		{"CSI clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`},
		{"bracketed paste", "\x1b[200~rm -rf ~\x1b[201~", `\x1b[200~rm -rf ~\x1b[201~`},
		{"raw C1 CSI byte", "a\x9b31mb", `a\x9b31mb`},
		{"C1 CSI as UTF-8", "a\u009b31mb", `a\u009b31mb`},
		{"invalid UTF-8", "\xff\xfe ok \xc3", `\xff\xfe ok \xc3`},
		{"DEL and NUL", "a\x7fb\x00", `a\x7fb\x00`},
		{"bidi override", "abc\u202edcba", `abc\u202edcba`},
		{"zero width and line separator", "a\u200bb\u2028c", `a\u200bb\u2028c`},
		{"unicode letters pass", "Grüße 日本", "Grüße 日本"},
		{"a backslash that would read as an escape is doubled", `a\x1b`, `a\\x1b`},
		{"IMAP flags show as sent", `* FLAGS (\Seen \Answered) [PERMANENTFLAGS (\*)]`, `* FLAGS (\Seen \Answered) [PERMANENTFLAGS (\*)]`},
		{"backslash before an escaped byte", "a\\\x1b", `a\\\x1b`},
		{"backslash before invalid UTF-8", "a\\\xff", `a\\\xff`},
		{"backslash pair", `a\\b`, `a\\\b`},
		{"trailing backslash", `a\`, `a\\`},
		{"backslash before lowercase escape letters", `\n\r\t\u\U\x`, `\\n\\r\\t\\u\\U\\x`},
		{"tab", "a\tb", `a\tb`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SafeText([]byte(tc.in))
			if got != tc.want {
				t.Errorf("SafeText(%q) = %q, want %q", tc.in, got, tc.want)
			}
			assertInert(t, got)
		})
	}
}

// assertInert checks that s holds nothing a terminal would act on.
func assertInert(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not valid UTF-8", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Errorf("%q contains control %U", s, r)
		}
	}
}

// unescapeSafeText reverses SafeText: the proof that its output is
// unambiguous.
func unescapeSafeText(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		if i+1 == len(s) {
			t.Fatalf("%q ends in a lone backslash", s)
		}
		hexAt := func(from, n int) uint64 {
			if from+n > len(s) {
				t.Fatalf("%q: short escape at %d", s, i)
			}
			v, err := strconv.ParseUint(s[from:from+n], 16, 32)
			if err != nil {
				t.Fatalf("%q: bad escape at %d: %v", s, i, err)
			}
			return v
		}
		switch s[i+1] {
		case '\\':
			out = append(out, '\\')
			i++
		case 'r', 'n', 't':
			out = append(out, map[byte]byte{'r': '\r', 'n': '\n', 't': '\t'}[s[i+1]])
			i++
		case 'x':
			out = append(out, byte(hexAt(i+2, 2)))
			i += 3
		case 'u':
			out = utf8.AppendRune(out, rune(hexAt(i+2, 4)))
			i += 5
		case 'U':
			out = utf8.AppendRune(out, rune(hexAt(i+2, 8)))
			i += 9
		default:
			out = append(out, '\\') // a literal backslash, shown as one
		}
	}
	return out
}

func FuzzSafeText(f *testing.F) {
	for _, s := range []string{"\x1b]52;c;x\x07", "\x9b", "\xc2\x9b", "ok\r\n", "\u202e", `(\Seen \*)`, "\\\x1b", `\\`, "\\"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := SafeText(b)
		assertInert(t, got)
		// Unambiguous: the bytes can be read back from what is shown.
		if back := unescapeSafeText(t, got); !bytes.Equal(back, b) {
			t.Errorf("SafeText(%q) = %q reads back as %q", b, got, back)
		}
		for _, l := range SafeLines(b) {
			assertInert(t, l)
		}
		assertInert(t, strings.ReplaceAll(SafeHexDump(b, 16), "\n", " "))
	})
}

func TestSafeLines(t *testing.T) {
	got := SafeLines([]byte("250-a\r\n250-\x1b[31mb\n250 c"))
	want := []string{"250-a", `250-\x1b[31mb`, "250 c"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q", got)
	}
	if SafeLines(nil) != nil {
		t.Error("nil input")
	}
}

func TestSafeHexDump(t *testing.T) {
	got := SafeHexDump([]byte("220 ok\r\n\x1b[2J\x9b"), 8)
	want := "00000000  32 32 30 20 6f 6b 0d 0a  |220 ok..|\n" +
		"00000008  1b 5b 32 4a 9b           |.[2J.|\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if SafeHexDump(nil, 16) != "" {
		t.Error("empty input")
	}
	if !strings.HasPrefix(SafeHexDump([]byte("x"), 0), "00000000  78 ") {
		t.Error("default width")
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijk", 5, "abcde…"},
		// "é" is two bytes: a cut inside it moves back to its start.
		{"abcdé", 5, "abcd…"},
		{"日本語", 4, "日…"},
		{"日本語", 0, "…"},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q; want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
