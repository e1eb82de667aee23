package mitm

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mailwire/mailwire/sessions/protocol"
)

// FuzzRelayParsing feeds arbitrary peer bytes through what the relay does
// with them: bounded line reading (in arbitrary chunks), the command and
// reply classifiers, literal and BDAT announcements, and the capability
// rewrite. Nothing may panic, no line may exceed the bound, and a stripped
// capability list never offers STARTTLS.
func FuzzRelayParsing(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\n", "250-Hello\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", "a1 LOGIN {5}\r\nhello\r\n",
		"* 1 FETCH (BODY[] {999999999999})\r\n", "BDAT 10 LAST\r\n0123456789", "+OK\r\nSTLS\r\nSASL\r\n.\r\n",
		"\x16\x03\x01\x02\x00", "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\n", "\x1b[2J\r\n\x00\r\n",
		strings.Repeat("A", 600),
	} {
		f.Add([]byte(s), uint8(7))
	}
	const max = 512
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(b)
		if chunk%3 == 0 {
			r = iotest.OneByteReader(r)
		} else if chunk%3 == 1 {
			r = iotest.HalfReader(r)
		}
		lr := protocol.NewLineReader(r, max)
		var lines [][]byte
		for len(lines) < 1000 {
			if bb, err := lr.Peek(); err == nil {
				_ = looksLikeTLS(bb)
			}
			l, err := lr.ReadLine()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, protocol.ErrLineTooLong) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(l) > max || len(l) == 0 || l[len(l)-1] != '\n' {
				t.Fatalf("line of %d bytes %q", len(l), l)
			}
			lines = append(lines, l)
		}
		var caps []string
		for _, proto := range []string{protocol.SMTP, protocol.POP3, protocol.IMAP} {
			for _, l := range lines {
				verb, ann := protocol.ClientCommand(proto, l)
				if (verb == "") != (ann == "") {
					t.Fatalf("protocol.ClientCommand(%q) = %q, %q", l, verb, ann)
				}
				_, _, _ = protocol.ServerLineInfo(proto, l)
				if n, _ := trailingCount(proto, verb, l); n < -1 || proto == protocol.IMAP && n > maxLiteral+1 {
					t.Fatalf("trailingCount(%q) = %d, above the bound's sentinel", l, n)
				}
				_ = lineText(l)
				caps = append(caps, strings.Fields(string(l))...)
			}
		}
		// A real list is bounded by the reply's lines (maxReplyLines) or
		// one line (MaxLine); the rewrite is quadratic in it.
		caps = caps[:min(len(caps), 40)]
		for _, proto := range []string{protocol.SMTP, protocol.POP3, protocol.IMAP} {
			for _, a := range []Attack{StripRemove, StripReplace, StripPreauth} {
				c := &pconn{cfg: Config{Proto: proto, Attack: a}, tlsCaps: caps}
				out, _ := c.editCaps(caps)
				if a != StripRemove {
					continue
				}
				for _, cp := range out {
					if capKeyword(cp) == protocol.StartTLSVerb(proto) {
						t.Fatalf("%s: %s survived removal in %q", proto, cp, out)
					}
				}
			}
		}
	})
}
