package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
)

// A scenario against a target verified with --ca-file says so: its
// sessions checked the certificate against the user's CA file, not "the
// lab CA" (the words of a pool the lab supplies), which every scenario
// said against Exim with --ca-file.
func TestScenarioTargetCAFileWords(t *testing.T) {
	dir := t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ca := filepath.Join(dir, "ca.pem")
	if _, err := os.Stat(ca); err != nil {
		t.Fatal(err)
	}
	ep, _ := l.Endpoint(587)
	for _, sc := range []string{"tls12-vs-13", "command-injection"} {
		code, out, errOut := runMailwire(t, "session", "--scenario", sc, "--target", ep.Addr, "--port", "587",
			"--ca-file", ca, "--sni", lab.Hostname, "--format", "json")
		if code != exitOK && code != exitUnsafe {
			t.Fatalf("%s: exit status %d\n%s\n%s", sc, code, errOut, out)
		}
		verified := 0
		for _, ev := range decodeEvents(t, out) {
			if strings.Contains(ev.Text, "lab CA") {
				t.Errorf("%s: event %d calls the CA file the lab's: %s", sc, ev.Seq, ev.Text)
			}
			if strings.Contains(ev.Text, "certificate verified (CA file)") {
				verified++
			}
		}
		if verified == 0 {
			t.Errorf("%s: no session says it verified with the CA file\n%s", sc, out)
		}
	}
}
