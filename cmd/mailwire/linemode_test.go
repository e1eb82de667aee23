package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
)

// TestLineModeReplayLines: what connect's line mode said on stderr can be
// said again from its recording (replayLineMode: its line and its
// warnings, no "mailwire session:" title, which it never printed), and
// the header says it was line mode. Without TLS the line names no SNI
// and no certificate: nothing is sent or checked (it said "SNI
// mail.lab.test, certificate: CA file" of --tls none).
func TestLineModeReplayLines(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep25, _ := l.Endpoint(25)
	ep587, _ := l.Endpoint(587)
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		script string
		label  string // the target's label in the line
		wait   string // how long each answer is waited for
	}{
		{"no TLS", []string{ep25.Addr, "--tls", "none", "--sni", lab.Hostname, "--ca-file", l.CAPath()},
			"EHLO me.test\r\nAUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==\r\nQUIT\r\n", "(no SNI, no certificate)", "15s"},
		{"--sni, --timeout", []string{ep587.Addr, "--sni", lab.Hostname, "--ca-file", l.CAPath(), "--timeout", "5s"},
			"EHLO me.test\r\nSTARTTLS\r\nQUIT\r\n", "(SNI " + lab.Hostname + ", certificate: CA file)", "5s"},
		{"IP", []string{ep587.Addr, "--ca-file", l.CAPath()},
			"EHLO me.test\r\nQUIT\r\n", "(no SNI for an IP address, certificate: CA file)", "15s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
			_, liveOut, liveErr := runMailwireIn(t, tc.script, append(append([]string{"connect"}, tc.args...), "--record", file, "--width", "100", "--color", "never")...)
			line := stderrLine(liveErr, "mailwire connect: ")
			if !strings.Contains(line, tc.label+"; sending standard input") || !strings.HasSuffix(line, "(at most "+tc.wait+")") {
				t.Errorf("live line %q, want %q and at most %s", line, tc.label, tc.wait)
			}
			rec := readRecordingFile(t, file)
			if !rec.Header.Typed || !rec.Header.LineMode {
				t.Errorf("header: typed %v, line mode %v", rec.Header.Typed, rec.Header.LineMode)
			}
			var replayed bytes.Buffer
			replayLineMode(&replayed, rec.Header.FromEvents(rec.Events), rec.Events)
			// The live run also said what it recorded, which a replay
			// has no reason to repeat.
			live, _, _ := strings.Cut(liveErr, "mailwire connect: recorded ")
			if replayed.String() != live {
				t.Errorf("replayed stderr:\n%s\nlive:\n%s", replayed.String(), live)
			}
			// mailwire replay prints what the live run printed: the
			// transcript without a title, and on stderr its own line
			// ("mailwire replay: …"), the live run's, and the outcome
			// of the "recorded session".
			_, replayOut, replayErr := runMailwire(t, "replay", file, "--format", "text", "--width", "100", "--color", "never")
			if replayOut != liveOut {
				t.Errorf("replay printed:\n%s\nlive:\n%s", replayOut, liveOut)
			}
			if _, after, _ := strings.Cut(replayErr, "\n"); !strings.HasPrefix(after, live) || strings.Contains(replayErr, "mailwire session:") {
				t.Errorf("replay stderr:\n%s\nlive:\n%s", replayErr, live)
			}
			if tc.name == "no TLS" && !strings.Contains(live, "before TLS") {
				t.Errorf("no warning of the cleartext password:\n%s", live)
			}
		})
	}
}

// TestConnectLabelNoTLS: the screen's label of mailwire connect --tls
// none names no SNI and no certificate check; with TLS it names both.
func TestConnectLabelNoTLS(t *testing.T) {
	for _, tc := range []struct {
		f    connectFlags
		want string
	}{
		{connectFlags{tlsMode: "none", sni: "mx.example.org"}, "no SNI, no certificate"},
		{connectFlags{tlsMode: "starttls", sni: "mx.example.org"}, "SNI mx.example.org, certificate: system roots"},
	} {
		o, req, err := connectOptions("127.0.0.1:25", tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if req.Label != tc.want {
			t.Errorf("--tls %s: label %q, want %q", tc.f.tlsMode, req.Label, tc.want)
		}
		if c := castRequest(o, 25, false); c.Label != tc.want {
			t.Errorf("--tls %s: cast label %q, want %q", tc.f.tlsMode, c.Label, tc.want)
		}
	}
}
