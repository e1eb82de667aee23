package main

import (
	"context"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
)

// TestNotesFlag: --notes on session, scenarios, connect's line mode and
// replay: full is the default and the longest, short and off each shorter,
// every density keeps the server's lines; a bad value, or one for a format
// that carries every note (json, html), is a usage error.
func TestNotesFlag(t *testing.T) {
	state := t.TempDir()
	count := func(args ...string) (int, string) {
		t.Helper()
		code, out, errOut := runMailwire(t, append(args, "--width", "100", "--color", "never")...)
		if code != exitOK && code != exitUnsafe {
			t.Fatalf("%v: exit %d\n%s", args, code, errOut)
		}
		return strings.Count(out, "\n"), out
	}
	for _, base := range [][]string{
		{"session", "--port", "587", "--lab-state-dir", state},
		{"session", "--scenario", "too-early", "--lab-state-dir", state},
		{"replay", "port-110", "--format", "text"},
	} {
		def, defOut := count(base...)
		full, fullOut := count(append(base, "--notes", "full")...)
		short, shortOut := count(append(base, "--notes", "short")...)
		off, offOut := count(append(base, "--notes", "off")...)
		// A live run differs from the next by a line or two (timings,
		// records coalesced); a replay is the same events each time.
		if base[0] == "replay" && defOut != fullOut {
			t.Errorf("%v: the default is not --notes full", base)
		}
		if !(full > short && short > off) || def < short {
			t.Errorf("%v: lines default %d, full %d, short %d, off %d", base, def, full, short, off)
		}
		for _, out := range []string{shortOut, offOut} {
			if !strings.Contains(out, "ESMTP") && !strings.Contains(out, "+OK") {
				t.Errorf("%v: the server's greeting is gone:\n%s", base, out)
			}
		}
	}
	if _, out := count("session", "--port", "587", "--lab-state-dir", state, "--notes", "short", "--format", "markdown"); strings.Contains(out, "## What the lines mean") {
		t.Error("markdown --notes short explains the meanings")
	}

	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)
	script := "EHLO me.test\r\nSTARTTLS\r\nEHLO me.test\r\nQUIT\r\n"
	lineMode := func(notes string) int {
		code, out, errOut := runMailwireIn(t, script, "connect", ep.Addr, "--sni", lab.Hostname, "--ca-file", l.CAPath(), "--format", "text", "--notes", notes, "--width", "100")
		if code != exitOK {
			t.Fatalf("connect --notes %s: exit %d\n%s", notes, code, errOut)
		}
		return strings.Count(out, "\n")
	}
	if full, off := lineMode("full"), lineMode("off"); full <= off {
		t.Errorf("connect line mode: full %d lines, off %d", full, off)
	}

	if code, _, errOut := runMailwire(t, "session", "--port", "587", "--lab-state-dir", state, "--notes", "full", "--format", "json"); code != exitOK {
		t.Errorf("--notes full --format json: exit %d (json carries every note: full is no mistake)\n%s", code, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"session", "--port", "587", "--notes", "brief"}, `--notes "brief": want full, short or off`},
		{[]string{"session", "--port", "587", "--notes", "off", "--format", "json"}, "--notes: for --format text and markdown"},
		{[]string{"session", "--scenario", "too-early", "--notes", "short", "--format", "html"}, "--notes: for --format text and markdown"},
		{[]string{"replay", "port-587", "--notes", "off", "--format", "json"}, "--notes: for --format text and markdown"},
	} {
		code, _, errOut := runMailwire(t, c.args...)
		if errOut = strings.Join(strings.Fields(errOut), " "); code != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, exitUsage, c.want, errOut)
		}
	}
}
