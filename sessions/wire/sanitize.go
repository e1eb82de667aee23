package wire

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Everything a peer sends may reach a terminal: a greeting, a reply text, a
// certificate subject. Terminals act on control sequences in that text: ESC
// starts CSI sequences that move the cursor or rewrite the screen, OSC 52
// writes the clipboard, OSC 0 retitles the window, "ESC [200~" fakes a
// bracketed paste, and a lone C1 byte 0x9b is CSI on terminals that honour
// 8-bit controls. Bidirectional overrides reorder what is shown (CVE-2021-42574).
// So every renderer prints peer bytes only through SafeText, SafeLines or
// SafeHexDump, which make every such byte visible and inert.

// SafeText returns b as one line of printable text: printable Unicode passes
// through; \r, \n, \t become `\r`, `\n`, `\t`; other control and format
// characters (C0, DEL, C1, bidi and zero-width controls, line separators)
// become `\x1b` or `\u009b`; each byte of invalid UTF-8 becomes `\xff`. The
// result never contains a byte below 0x20 or DEL.
//
// A backslash is doubled only where it would otherwise read as one of those
// escapes (before x, u, U, r, n, t or another backslash, and at the end), so
// the text stays unambiguous while IMAP's flags (\Seen, \*) and mailbox
// attributes (\Noselect) show as they crossed the wire.
func SafeText(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		case r == '\\':
			if literalBackslash(b[1:]) {
				sb.WriteByte('\\')
			} else {
				sb.WriteString(`\\`)
			}
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x80 && (r < 0x20 || r == 0x7f):
			fmt.Fprintf(&sb, `\x%02x`, r)
		case r == ' ' || unicode.IsPrint(r):
			sb.WriteRune(r)
		case r <= 0xffff:
			// C1 controls (U+0080–U+009F), format characters (bidi
			// overrides, zero-width joiners), separators other than space.
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			fmt.Fprintf(&sb, `\U%08x`, r)
		}
		b = b[size:]
	}
	return sb.String()
}

// literalBackslash says whether a backslash followed by next can be shown
// as one: next starts with a printable character that, after a backslash,
// does not read as an escape (x, u, U, r, n, t, a backslash) and is not
// itself escaped (\ before ESC must show as `\\\x1b`, not `\\x1b`).
func literalBackslash(next []byte) bool {
	if len(next) == 0 || strings.IndexByte(`xuUrnt\`, next[0]) >= 0 {
		return false
	}
	r, size := utf8.DecodeRune(next)
	if r == utf8.RuneError && size <= 1 {
		return false
	}
	return r == ' ' || (r >= 0x20 && r != 0x7f && unicode.IsPrint(r))
}

// SafeString is SafeText for a string.
func SafeString(s string) string { return SafeText([]byte(s)) }

// Quote puts peer text in double quotes for a message, cut at n bytes
// (Truncate), and leaves its bytes as they are. A message becomes an
// event's Text or ErrorInfo.Message, which may hold any byte the peer sent
// and which every printer passes through SafeText once, on its way to a
// screen. Escaping it here as well (%q, or SafeText) escaped twice: a
// server's CR LF showed as `\\r\\n`.
func Quote(s string, n int) string { return `"` + Truncate(s, n) + `"` }

// Truncate shortens s to at most n bytes, cut on a rune boundary so a
// multi-byte character is never split, and marks the cut with "…".
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// SafeLines splits b at LF, drops each line's CRLF or LF terminator and
// returns each line through SafeText: for showing a multi-line reply one
// line per row. A final line without terminator is kept.
func SafeLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := 0
		for i < len(b) && b[i] != '\n' {
			i++
		}
		line := b[:i]
		if i < len(b) {
			i++ // the LF
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
		}
		out = append(out, SafeText(line))
		b = b[i:]
	}
	return out
}

// SafeHexDump formats b as offset, hex bytes and printable ASCII, width
// bytes per row (16 when width ≤ 0), in the style of `hexdump -C`: the ASCII
// column shows 0x20–0x7e and a dot for anything else, so nothing a peer sent
// can reach the terminal as a control.
func SafeHexDump(b []byte, width int) string {
	if width <= 0 {
		width = 16
	}
	var sb strings.Builder
	for off := 0; off < len(b); off += width {
		row := b[off:min(off+width, len(b))]
		fmt.Fprintf(&sb, "%08x ", off)
		for i := 0; i < width; i++ {
			if i%8 == 0 {
				sb.WriteByte(' ')
			}
			if i < len(row) {
				fmt.Fprintf(&sb, "%02x ", row[i])
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteString(" |")
		for _, c := range row {
			if c >= 0x20 && c <= 0x7e {
				sb.WriteByte(c)
			} else {
				sb.WriteByte('.')
			}
		}
		sb.WriteString("|\n")
	}
	return sb.String()
}
