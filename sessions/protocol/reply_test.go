package protocol

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadIMAPResponse(t *testing.T) {
	for _, tc := range []struct {
		in                      string
		tag, status, code, data string
		number                  int
		caps                    string
		err                     error
	}{
		{in: "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n", tag: "*", status: "OK", code: "CAPABILITY", caps: "IMAP4REV1 STARTTLS"},
		{in: "a4 NO [PRIVACYREQUIRED] no\r\n", tag: "a4", status: "NO", code: "PRIVACYREQUIRED"},
		{in: "* 23 EXISTS\r\n", tag: "*", data: "EXISTS", number: 23},
		{in: "* capability imap4rev2 auth=plain\r\n", tag: "*", data: "CAPABILITY", caps: "IMAP4REV2 AUTH=PLAIN"},
		{in: "* 1 FETCH (BODY[] {3}\r\nabc BODY[1] {2+}\r\nde)\r\n", tag: "*", data: "FETCH", number: 1},
		{in: "* 1 FETCH (BODY[] {0}\r\n)\r\n", tag: "*", data: "FETCH", number: 1},
		{in: "* OK text ending in {5}\r\n", tag: "*", status: "OK"}, // resp-text has no literals
		{in: "+ go ahead\r\n", tag: "+"},
		{in: "\r\n", err: ErrMalformedReply},
		{in: "* \r\n", err: ErrMalformedReply},
		{in: "a1 HELLO\r\n", err: ErrMalformedReply},
		{in: "* 1 FETCH (BODY[] {1048577}\r\n", err: ErrLiteralTooBig},
		{in: "* 1 FETCH (BODY[] {5}\r\nab", err: io.ErrUnexpectedEOF},
	} {
		r, err := ReadIMAPResponse(NewLineReader(strings.NewReader(tc.in), 512))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%q: err %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || r.Tag != tc.tag || r.Status != tc.status || r.Code != tc.code || r.Data != tc.data ||
			r.Number != tc.number || strings.Join(r.Caps, " ") != tc.caps || string(r.Raw) != tc.in {
			t.Errorf("%q: %+v %v", tc.in, r, err)
		}
	}
}

// TestIMAPQuoteRoundTrip: what LOGIN sends decodes back to the password,
// escapes included (RFC 9051 §4.3).
func TestIMAPQuoteRoundTrip(t *testing.T) {
	for _, pw := range []string{"correct-horse", `pa"ss\word`, `\\"`, "with space", ""} {
		line := []byte("a4 LOGIN " + IMAPQuote("learner") + " " + IMAPQuote(pw) + "\r\n")
		var st CredentialState
		cr := DecodeCredential(IMAP, line, &st)
		if cr == nil || cr.Username != "learner" || cr.Password != pw {
			t.Errorf("%q: %+v", line, cr)
		}
		if bytes.Count(line, []byte{'"'})%2 != 0 && !strings.Contains(pw, `"`) {
			t.Errorf("unbalanced quotes in %q", line)
		}
	}
}

func TestReadPOP3Response(t *testing.T) {
	for _, tc := range []struct {
		in      string
		multi   bool
		ok      bool
		code    string
		text    string
		lines   []string
		wantErr error
	}{
		{in: "+OK\r\n", ok: true},
		{in: "+OK 2 320\r\n", ok: true, text: "2 320"},
		{in: "-ERR [IN-USE] Do you have another POP session running?\r\n", code: "IN-USE", text: "Do you have another POP session running?"},
		{in: "-ERR [sys/temp] later\r\n", code: "SYS/TEMP", text: "later"},
		{in: "+OK list\r\n1 2\r\n..x\r\n.\r\n", multi: true, ok: true, text: "list", lines: []string{"1 2", ".x"}},
		{in: "+OK list\n1 2\n.\n", multi: true, ok: true, text: "list", lines: []string{"1 2"}},
		{in: "-ERR no\r\n.\r\n", multi: true, text: "no"}, // -ERR is one line even to a multi-line command
		{in: "+OKAY\r\n", wantErr: ErrMalformedReply},
		{in: "OK\r\n", wantErr: ErrMalformedReply},
		{in: "+OK\r\n1\r\n", multi: true, wantErr: errors.New("EOF")},
	} {
		r, err := ReadPOP3Response(NewLineReader(strings.NewReader(tc.in), 512), tc.multi, 10)
		if tc.wantErr != nil {
			if err == nil || (errors.Is(tc.wantErr, ErrMalformedReply) && !errors.Is(err, ErrMalformedReply)) {
				t.Errorf("%q: err %v, want %v", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || r.OK != tc.ok || r.Code != tc.code || r.Text != tc.text ||
			strings.Join(r.Lines, "|") != strings.Join(tc.lines, "|") || !strings.HasPrefix(tc.in, string(r.Raw)) ||
			(r.OK && string(r.Raw) != tc.in) {
			t.Errorf("%q: %+v %v", tc.in, r, err)
		}
	}
}

// TestPOP3LongListKeepsBytes: more lines than maxLines are not parsed, but
// all bytes within POP3KeepBytes are kept and the response is not cut.
func TestPOP3LongListKeepsBytes(t *testing.T) {
	in := "+OK\r\n" + strings.Repeat("7 100\r\n", 30) + ".\r\n"
	r, err := ReadPOP3Response(NewLineReader(strings.NewReader(in), 512), true, 10)
	if err != nil || len(r.Lines) != 10 || r.Truncated || string(r.Raw) != in || r.Total != len(in) {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestRedactLine(t *testing.T) {
	m := Mask("x")
	for _, tc := range []struct {
		mech, pw, in, want string
	}{
		{"AUTH PLAIN", "pw", "AUTH PLAIN AHUAcHc=", "AUTH PLAIN " + m},
		{"AUTH PLAIN", "pw", "AHUAcHc=", m}, // continuation line
		{"AUTH PLAIN", "pw", "a1 AUTHENTICATE PLAIN AHUAcHc=", "a1 AUTHENTICATE PLAIN " + m},
		{"AUTH LOGIN", "pw", "cHc=", m},
		{"LOGIN", "pw", "a1 LOGIN learner pw", "a1 LOGIN learner " + m},
		{"LOGIN", `p "w\`, `a1 LOGIN "lea rner" "p \"w\\"`, `a1 LOGIN "lea rner" ` + m},
		{"USER/PASS", "my secret pass", "PASS my secret pass", "PASS " + m},
		// A one-letter password must not mask every "a" of the line.
		{"LOGIN", "a", "a1 LOGIN alice a", "a1 LOGIN alice " + m},
		// An unknown shape masks everything after the first word.
		{"AUTH LOGIN", "pw", "AUTH LOGIN pw extra", "AUTH " + m},
		{"XOAUTH", "tok", "AUTH XOAUTH2 tok", "AUTH " + m},
	} {
		if got := redactLine(tc.in, tc.mech, tc.pw); got != tc.want {
			t.Errorf("redactLine(%q, %s) = %q, want %q", tc.in, tc.mech, got, tc.want)
		}
	}
	raw := redactRaw([]byte("AUTH PLAIN AHUAcHc=\r\n"), "AUTH PLAIN", "pw")
	if string(raw) != "AUTH PLAIN "+m+"\r\n" {
		t.Errorf("redactRaw kept %q", raw)
	}
}

func readReplyFrom(r io.Reader, maxLine, maxLines int) (*Reply, error) {
	return ReadSMTPReply(NewLineReader(r, maxLine), maxLines)
}

func TestReadSMTPReply(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		code     int
		enhanced string
		lines    []string
		err      error
	}{
		{"single", "250 2.1.0 Ok\r\n", 250, "2.1.0", []string{"2.1.0 Ok"}, nil},
		{"multi", "250-mail.lab.test\r\n250-STARTTLS\r\n250 8BITMIME\r\n", 250, "", []string{"mail.lab.test", "STARTTLS", "8BITMIME"}, nil},
		{"bare code", "354\r\n", 354, "", []string{""}, nil},
		{"bare LF", "220 hi\n", 220, "", []string{"hi"}, nil},
		{"enhanced class must match", "550 2.1.0 odd\r\n", 550, "", []string{"2.1.0 odd"}, nil},
		{"enhanced not a code", "250 1.2.3.4\r\n", 250, "", []string{"1.2.3.4"}, nil},
		{"code 1xx", "150 nope\r\n", 0, "", nil, ErrMalformedReply},
		{"code 600", "600 nope\r\n", 0, "", nil, ErrMalformedReply},
		{"no separator", "250x\r\n", 0, "", nil, ErrMalformedReply},
		{"mixed codes", "250-a\r\n251 b\r\n", 250, "", []string{"a"}, ErrMalformedReply},
		{"eof between lines", "250-a\r\n", 250, "", []string{"a"}, io.EOF},
		{"eof mid-line", "250-a\r\n250 b", 250, "", []string{"a"}, io.ErrUnexpectedEOF},
		{"empty", "", 0, "", nil, io.EOF},
		{"too long", "250 " + strings.Repeat("a", 100) + "\r\n", 0, "", nil, ErrLineTooLong},
		{"too many lines", strings.Repeat("250-a\r\n", 6), 250, "", []string{"a", "a", "a", "a", "a"}, ErrTooManyLines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunked := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tc.in)
				if chunked {
					r = iotest.OneByteReader(r)
				}
				got, err := readReplyFrom(r, 64, 5)
				if tc.err != nil {
					if !errors.Is(err, tc.err) {
						t.Fatalf("chunked=%v: err %v, want %v", chunked, err, tc.err)
					}
				} else if err != nil {
					t.Fatalf("chunked=%v: %v", chunked, err)
				}
				if got.Code != tc.code || got.Enhanced != tc.enhanced || strings.Join(got.Lines, "|") != strings.Join(tc.lines, "|") {
					t.Errorf("chunked=%v: got %d %q %q", chunked, got.Code, got.Enhanced, got.Lines)
				}
				if !strings.HasPrefix(tc.in, string(got.Raw)) {
					t.Errorf("Raw %q is not what was read", got.Raw)
				}
			}
		})
	}
}

func TestLineReaderBuffered(t *testing.T) {
	lr := NewLineReader(strings.NewReader("220 go ahead\r\n250 injected\r\n"), 64)
	r, err := ReadSMTPReply(lr, 10)
	if err != nil || r.Code != 220 {
		t.Fatal(r, err)
	}
	if got := string(lr.Buffered()); got != "250 injected\r\n" {
		t.Errorf("Buffered = %q", got)
	}
}

func TestLineReaderLongStream(t *testing.T) {
	// Many lines through a small buffer: compaction must keep every byte.
	var in bytes.Buffer
	for i := range 2000 {
		in.WriteString("250-line " + strconv.Itoa(i) + "\r\n")
	}
	lr := NewLineReader(iotest.HalfReader(&in), 64)
	for i := range 2000 {
		l, err := lr.ReadLine()
		if err != nil || string(l) != "250-line "+strconv.Itoa(i)+"\r\n" {
			t.Fatalf("line %d: %q %v", i, l, err)
		}
	}
	if _, err := lr.ReadLine(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

func TestLineReaderReadFull(t *testing.T) {
	lr := NewLineReader(iotest.OneByteReader(strings.NewReader("* 1 FETCH {5}\r\nhello)\r\n")), 64)
	if l, _ := lr.ReadLine(); string(l) != "* 1 FETCH {5}\r\n" {
		t.Fatalf("%q", l)
	}
	b, err := lr.ReadFull(5)
	if err != nil || string(b) != "hello" {
		t.Fatalf("%q %v", b, err)
	}
	if l, _ := lr.ReadLine(); string(l) != ")\r\n" {
		t.Fatalf("%q", l)
	}
	if _, err := lr.ReadFull(3); !errors.Is(err, io.EOF) {
		t.Errorf("short read: %v", err)
	}
}

// FuzzSMTPReply: any byte stream yields a reply or an error, never a
// panic; bounded by the limits; the same however the stream is chunked; and
// a reply's Raw is exactly the prefix of the stream it came from.
func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{
		"250 ok\r\n", "250-a\r\n250 b\r\n", "220\r\n", "421 4.3.2 bye\r\n", "250-a\r\n251 b\r\n",
		"550 5.7.1 <x>: denied\n", "2", "\r\n", strings.Repeat("250-x\r\n", 30), "250 \x1b[2J\r\n",
	} {
		f.Add([]byte(s))
	}
	const maxLine, maxLines = 128, 20
	f.Fuzz(func(t *testing.T, b []byte) {
		r1, err1 := readReplyFrom(bytes.NewReader(b), maxLine, maxLines)
		r2, err2 := readReplyFrom(iotest.OneByteReader(bytes.NewReader(b)), maxLine, maxLines)
		if (err1 == nil) != (err2 == nil) || r1.Code != r2.Code || !bytes.Equal(r1.Raw, r2.Raw) ||
			strings.Join(r1.Lines, "\n") != strings.Join(r2.Lines, "\n") {
			t.Fatalf("chunking changed the result: %v %+v / %v %+v", err1, r1, err2, r2)
		}
		if !bytes.HasPrefix(b, r1.Raw) {
			t.Fatalf("Raw %q is not a prefix of the input", r1.Raw)
		}
		if len(r1.Raw) > maxLine*maxLines || len(r1.Lines) > maxLines {
			t.Fatalf("limits exceeded: %d bytes, %d lines", len(r1.Raw), len(r1.Lines))
		}
		if err1 != nil {
			return
		}
		if r1.Code < 200 || r1.Code > 599 || len(r1.Lines) == 0 || r1.Raw[len(r1.Raw)-1] != '\n' {
			t.Fatalf("bad reply %+v", r1)
		}
		code := strconv.Itoa(r1.Code)
		for _, l := range bytes.SplitAfter(r1.Raw, []byte("\n")) {
			if len(l) > 0 && !bytes.HasPrefix(l, []byte(code)) {
				t.Fatalf("line %q lacks code %s", l, code)
			}
		}
		if r1.Enhanced != "" && (r1.Enhanced[0] != code[0] || !strings.HasPrefix(r1.Lines[0], r1.Enhanced)) {
			t.Fatalf("enhanced %q for %s", r1.Enhanced, code)
		}
	})
}
