package protocol

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzIMAPResponseLimit: the reader that keeps a part (the session budget)
// reads what the strict reader reads, the same way however the network
// chunks it, counts every byte, and never keeps more than its limits.
func FuzzIMAPResponseLimit(f *testing.F) {
	for _, s := range []string{
		"* 1 FETCH (BODY[] {3}\r\nabc)\r\n", "* 1 FETCH (BODY[] {30}\r\n0123456789012345678901234567890)\r\n",
		"* 1 FETCH (A {2}\r\nab B {4}\r\nabcd)\r\na1 OK done\r\n", "* OK [CAPABILITY IMAP4rev1] hi\r\n",
		"* 1 FETCH (BODY[] {99999999999}\r\nxx", "* 1 FETCH (BODY[] {99999999999999999999}\r\n", "+ go\r\n",
	} {
		f.Add([]byte(s))
	}
	const maxLine = 128
	lim := IMAPLimits{Literal: 5, Keep: 40}
	f.Fuzz(func(t *testing.T, b []byte) {
		strict := NewLineReader(bytes.NewReader(b), maxLine)
		kept := NewLineReader(bytes.NewReader(b), maxLine)
		kept1 := NewLineReader(iotest.OneByteReader(bytes.NewReader(b)), maxLine)
		for range 6 {
			r1, err1 := ReadIMAPResponse(strict)
			r2, err2 := ReadIMAPResponseLimit(kept, lim)
			r3, err3 := ReadIMAPResponseLimit(kept1, lim)
			if (err2 == nil) != (err3 == nil) || !bytes.Equal(r2.Raw, r3.Raw) || r2.Bytes != r3.Bytes || r2.Cut != r3.Cut {
				t.Fatalf("chunking changed the result: %v %+v / %v %+v", err2, r2, err3, r3)
			}
			if len(r2.Raw) > lim.Keep {
				t.Fatalf("kept %d bytes, limit %d", len(r2.Raw), lim.Keep)
			}
			if r2.Cut != r2.Bytes-int64(len(r2.Raw)) {
				t.Fatalf("cut %d of %d with %d kept", r2.Cut, r2.Bytes, len(r2.Raw))
			}
			if errors.Is(err1, ErrLiteralTooBig) || (err1 != nil && strings.Contains(err1.Error(), "one response over")) {
				return // the strict reader's own bound; the other reads on
			}
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("strict %v, kept %v", err1, err2)
			}
			if err1 != nil {
				return
			}
			if r2.Bytes != int64(len(r1.Raw)) || r1.Tag != r2.Tag || r1.Status != r2.Status || r1.Data != r2.Data ||
				r1.Number != r2.Number || strings.Join(r1.Caps, " ") != strings.Join(r2.Caps, " ") {
				t.Fatalf("strict %+v, kept %+v", r1, r2)
			}
		}
	})
}
