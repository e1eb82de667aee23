package scenario

import (
	"bytes"
	"testing"
)

// FuzzPOP3Splitter: whatever a server sends inside TLS, the splitter that
// cuts it into responses never panics, never emits an empty or unbounded
// response, and loses no byte: what it emits plus what it still holds is
// what it was given, up to the first error.
func FuzzPOP3Splitter(f *testing.F) {
	for _, seed := range []string{
		"+OK Capability list follows\r\nUSER\r\n.\r\n+OK bye\r\n",
		"+OK Capability list follows\r\nUSER\r\n.\r\n+OK Capability list follows\r\nUSER\r\n.\r\n+OK bye\r\n",
		"-ERR no\r\n+OK\r\n",
		"junk\r\n",
		"+OK\r\n..\r\n.\r\n",
		"+OK\n\n\n\n\n\n\n\n\n\n\n\n",
	} {
		f.Add([]byte(seed), uint8(4))
	}
	f.Fuzz(func(t *testing.T, data []byte, max uint8) {
		maxLines := int(max%16) + 1
		var p pop3Splitter
		var emitted bytes.Buffer
		var fed bytes.Buffer
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			err := p.add(line, maxLines, func(raw []byte) {
				if len(raw) == 0 {
					t.Fatal("empty response emitted")
				}
				if n := bytes.Count(raw, []byte("\n")); n > maxLines+1 {
					t.Fatalf("response of %d lines over the bound %d", n, maxLines)
				}
				emitted.Write(raw)
			})
			if err != nil {
				return
			}
			fed.Write(line)
		}
		emitted.Write(p.flush())
		if !bytes.Equal(emitted.Bytes(), fed.Bytes()) {
			t.Fatalf("bytes lost or changed:\nfed     %q\nemitted %q", fed.Bytes(), emitted.Bytes())
		}
	})
}

// FuzzInjectedAnswers: the judge's counting never panics and only names
// answers that exist.
func FuzzInjectedAnswers(f *testing.F) {
	f.Add("imap", []byte("b OK NOOP\na2 OK\na3 OK\n"), 2)
	f.Add("smtp", []byte("250 ok\n250 hi\n221 bye\n"), 2)
	f.Fuzz(func(t *testing.T, proto string, blob []byte, sent int) {
		answers := bytes.Split(blob, []byte("\n"))
		for _, i := range injectedAnswers(proto, answers, sent, []string{"a2", "a3"}) {
			if i < 0 || i >= len(answers) {
				t.Fatalf("index %d out of %d answers", i, len(answers))
			}
		}
	})
}
