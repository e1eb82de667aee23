package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
)

// TestLineModeTitle: connect's line mode titles its transcript as what it
// ran, in its own words (lineModeTitle: connect, the protocol, the port
// and how TLS starts), and heads a text transcript written to a file or a
// pipe as `mailwire session` does; its replay says the same. The Markdown
// title was "mailwire session: IMAP with `127.0.0.1:…`" (not a session
// command, no port rules, no TLS mode), and the text had no header.
func TestLineModeTitle(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(143)
	// The lab listens on another port: the session follows port 143's rules.
	want := "mailwire connect: IMAP as on port 143, STARTTLS, against " + ep.Addr
	file := filepath.Join(t.TempDir(), "imap.jsonl")
	for format, first := range map[string]string{"markdown": "# " + want, "text": want, "html": "<title>" + want} {
		args := []string{"connect", ep.Addr, "--proto", "imap", "--ca-file", l.CAPath(), "--format", format}
		if format == "text" {
			args = append(args, "--record", file)
		}
		_, out, stderr := runMailwireIn(t, "a LOGOUT\r\n", args...)
		if !strings.Contains(out, first) {
			t.Errorf("%s: no title %q:\n%.600s\n%s", format, first, out, stderr)
		}
		if strings.Contains(out, "mailwire session:") {
			t.Errorf("%s: titled as a session:\n%.600s", format, out)
		}
		if format == "text" {
			lines := strings.SplitN(out, "\n", 3)
			if len(lines) < 3 || !strings.HasPrefix(lines[0], want) || !strings.HasPrefix(lines[1], "recorded ") {
				t.Errorf("text: no header:\n%.600s", out)
			}
			_, replayed, _ := runMailwire(t, "replay", file, "--format", "text")
			if r, _, _ := strings.Cut(replayed, "\n\n"); !strings.HasPrefix(r, lines[0]) {
				t.Errorf("the replay's header %q, live %q", r, lines[0])
			}
		}
	}
}
