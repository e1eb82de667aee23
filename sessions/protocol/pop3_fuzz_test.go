package protocol

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzPOP3Response: arbitrary server bytes never panic, are read the same
// however the network chunks them, and stay within the bounds (lines kept,
// bytes kept, every kept byte a prefix of the input).
func FuzzPOP3Response(f *testing.F) {
	for _, s := range []string{
		"+OK\r\n", "-ERR [SYS/TEMP] later\r\n", "+OK list\r\n1 2\r\n..x\r\n.\r\n", "+OK\n.\n",
		"+OK capa\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n.\r\n", "-ERR [\r\n", "+OK [IN-USE\r\n", "+OKAY\r\n",
		"+OK\r\n" + strings.Repeat("line\r\n", 40) + ".\r\n", "+OK \x1b]52;c;aGk=\x07\r\n", "+OK\r\n.\r\n+OK\r\n",
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	const maxLine, maxLines = 128, 20
	f.Fuzz(func(t *testing.T, b []byte, multi bool) {
		lr1 := NewLineReader(bytes.NewReader(b), maxLine)
		lr2 := NewLineReader(iotest.OneByteReader(bytes.NewReader(b)), maxLine)
		consumed := 0
		for range 8 { // a few responses in a row
			r1, err1 := ReadPOP3Response(lr1, multi, maxLines)
			r2, err2 := ReadPOP3Response(lr2, multi, maxLines)
			if (err1 == nil) != (err2 == nil) || r1.OK != r2.OK || r1.Code != r2.Code || r1.Text != r2.Text ||
				!bytes.Equal(r1.Raw, r2.Raw) || r1.Total != r2.Total || r1.Truncated != r2.Truncated ||
				strings.Join(r1.Lines, "\n") != strings.Join(r2.Lines, "\n") {
				t.Fatalf("chunking changed the result: %v %+v / %v %+v", err1, r1, err2, r2)
			}
			rest := b[consumed:]
			if !bytes.HasPrefix(rest, r1.Raw) || r1.Total > len(rest) {
				t.Fatalf("Raw %q (total %d) is not a prefix of the input left %q", r1.Raw, r1.Total, rest)
			}
			if len(r1.Raw) > POP3KeepBytes || len(r1.Lines) > maxLines {
				t.Fatalf("limits exceeded: %d bytes, %d lines", len(r1.Raw), len(r1.Lines))
			}
			if err1 != nil {
				return
			}
			consumed += r1.Total
			if !r1.Truncated && len(r1.Raw) != r1.Total {
				t.Fatalf("not truncated, but Raw has %d of %d bytes", len(r1.Raw), r1.Total)
			}
			if !bytes.HasPrefix(r1.Raw, []byte("+OK")) && !bytes.HasPrefix(r1.Raw, []byte("-ERR")) {
				t.Fatalf("accepted %q", r1.Raw)
			}
			if multi && r1.OK && !bytes.HasSuffix(r1.Raw, []byte("\n.\n")) && !bytes.HasSuffix(r1.Raw, []byte("\n.\r\n")) {
				t.Fatalf("multi-line response without its terminator: %q", r1.Raw)
			}
			for _, l := range r1.Lines {
				if strings.ContainsAny(l, "\n") {
					t.Fatalf("bad line %q", l)
				}
			}
		}
	})
}
