package main

import (
	"context"
	"html"
	"strings"
	"testing"
)

// TestHTMLEavesdropperLens: `--lens eavesdropper --format html` writes a
// page that holds that lens alone, as session, a scenario and replay print
// it: no endpoint section, no toggle, and nothing the server said inside
// TLS (its EHLO reply advertises AUTH PLAIN LOGIN only there). The page
// held both lenses, --lens only choosing which showed first (issue 10:
// the lens holds in every format).
func TestHTMLEavesdropperLens(t *testing.T) {
	state := t.TempDir()
	check := func(name, page string, wantEndpoint bool) {
		t.Helper()
		text := html.UnescapeString(page)
		if got := strings.Contains(page, `id="lens-endpoint"`); got != wantEndpoint {
			t.Errorf("%s: endpoint section present %v, want %v", name, got, wantEndpoint)
		}
		if !strings.Contains(page, `id="lens-eavesdropper"`) {
			t.Errorf("%s: no eavesdropper section", name)
		}
		if got := strings.Contains(text, "AUTH PLAIN LOGIN"); got != wantEndpoint {
			t.Errorf("%s: AUTH PLAIN LOGIN (sent inside TLS) present %v, want %v", name, got, wantEndpoint)
		}
		if got := strings.Contains(page, "Switch lens"); got != wantEndpoint {
			t.Errorf("%s: the toggle present %v, want %v", name, got, wantEndpoint)
		}
	}
	for _, eaves := range []bool{false, true} {
		args := []string{"--port", "587", "--format", "html", "--lab-state-dir", state}
		replay := []string{"replay", "port-587", "--format", "html"}
		if eaves {
			args = append(args, "--lens", "eavesdropper")
			replay = append(replay, "--lens", "eavesdropper")
		}
		out, _, err := runSessionCmd(t, context.Background(), args...)
		if err != nil {
			t.Fatal(err)
		}
		check("session", out, !eaves)
		code, out, stderr := runMailwire(t, replay...)
		if code != 0 {
			t.Fatalf("replay: exit %d: %s", code, stderr)
		}
		check("replay", out, !eaves)
	}
	// A scenario's page, printed by the same command.
	out, _, _ := runSessionCmd(t, context.Background(), "--scenario", "tls12-vs-13", "--port", "587", "--format", "html",
		"--lens", "eavesdropper", "--lab-state-dir", state)
	if strings.Contains(out, `id="lens-endpoint"`) || !strings.Contains(out, `id="lens-eavesdropper"`) ||
		strings.Contains(html.UnescapeString(out), "AUTH PLAIN LOGIN") {
		t.Errorf("scenario: the page is not the eavesdropper's alone:\n%.1500s", out)
	}
}
