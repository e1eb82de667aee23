package protocol

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzIMAPResponse: arbitrary server bytes never panic, are read the same
// however the network chunks them, and stay within the bounds (a literal
// never over imapMaxLiteral, a response never over IMAPMaxResponse).
func FuzzIMAPResponse(f *testing.F) {
	for _, s := range []string{
		"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n", "a1 OK done\r\n", "* PREAUTH hi\r\n",
		"* BYE [UNAVAILABLE] bye\r\n", "* 3 EXISTS\r\n", "* CAPABILITY IMAP4rev2 AUTH=PLAIN\r\n",
		"* 1 FETCH (BODY[] {3}\r\nabc)\r\n", "* 1 FETCH (BODY[] {3}\r\nabc {2+}\r\nde)\r\n", "* 1 FETCH (X ~{0}\r\n)\r\n",
		"* 1 FETCH (BODY[] {99999999999}\r\n", "+ ready\r\n", "a1 NO [PRIVACYREQUIRED] no\r\n", "* OK [\r\n", "*\r\n",
		"\r\n", "* 1 FETCH {5}\r\nab", "a1 HELLO\r\n",
	} {
		f.Add([]byte(s))
	}
	const maxLine = 128
	f.Fuzz(func(t *testing.T, b []byte) {
		lr1 := NewLineReader(bytes.NewReader(b), maxLine)
		lr2 := NewLineReader(iotest.OneByteReader(bytes.NewReader(b)), maxLine)
		consumed := 0
		for range 8 {
			r1, err1 := ReadIMAPResponse(lr1)
			r2, err2 := ReadIMAPResponse(lr2)
			if (err1 == nil) != (err2 == nil) || r1.Tag != r2.Tag || r1.Status != r2.Status || r1.Code != r2.Code ||
				r1.Data != r2.Data || r1.Number != r2.Number || !bytes.Equal(r1.Raw, r2.Raw) ||
				strings.Join(r1.Caps, " ") != strings.Join(r2.Caps, " ") {
				t.Fatalf("chunking changed the result: %v %+v / %v %+v", err1, r1, err2, r2)
			}
			rest := b[consumed:]
			if !bytes.HasPrefix(rest, r1.Raw) {
				t.Fatalf("Raw %q is not a prefix of the input left %q", r1.Raw, rest)
			}
			if len(r1.Raw) > IMAPMaxResponse+maxLine {
				t.Fatalf("response of %d bytes", len(r1.Raw))
			}
			if err1 != nil {
				return
			}
			consumed += len(r1.Raw)
			if r1.Tag == "" || r1.Raw[len(r1.Raw)-1] != '\n' {
				t.Fatalf("accepted %q as %+v", r1.Raw, r1)
			}
			switch r1.Status {
			case "", "OK", "NO", "BAD", "BYE", "PREAUTH":
			default:
				t.Fatalf("status %q", r1.Status)
			}
			if r1.Status == "" && r1.Tag != "*" && r1.Tag != "+" {
				t.Fatalf("tagged response without status: %q", r1.Raw)
			}
			for _, c := range r1.Caps {
				if c != Keyword(c) || c == "" {
					t.Fatalf("capability %q", c)
				}
			}
		}
	})
}
