package protocol

import (
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// A malformed reply is quoted in the error as it crossed: the error
// becomes an event's text, which the printers pass through SafeText once.
// Quoted with %q as well, an ESC showed as `\\x1b` and a tab as `\\t`.
func TestMalformedQuotedOnce(t *testing.T) {
	const bad = "\x1b[31mhello\tworld"
	for name, read := range map[string]func(*LineReader) error{
		"smtp": func(lr *LineReader) error { _, err := ReadSMTPReply(lr, 10); return err },
		"pop3": func(lr *LineReader) error { _, err := ReadPOP3Response(lr, false, 10); return err },
		"imap": func(lr *LineReader) error { _, err := ReadIMAPResponse(lr); return err },
	} {
		err := read(NewLineReader(strings.NewReader(bad+"\r\n"), 1024))
		if err == nil {
			t.Fatalf("%s: no error for %q", name, bad)
		}
		shown := wire.SafeString(err.Error())
		if !strings.Contains(shown, `"\x1b[31mhello\tworld"`) || strings.Contains(shown, `\\`) {
			t.Errorf("%s: shown as %s", name, shown)
		}
	}
}
