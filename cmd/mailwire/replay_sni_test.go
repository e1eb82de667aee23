package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// TestReplayNamesTheLiveSNI: a replay says what the live session said of
// its target, its server name and its certificate check, and that is what
// the ClientHello carried. A session against the lab (mail.lab.test on
// 127.0.0.1), recorded and replayed as text: the same title and the same
// stderr line. The same recording with the header the session screen
// wrote before (no server name, no certificate check) replays the same,
// from its events; it replayed "as 127.0.0.1". Against an address without
// --sni nothing is sent as SNI (RFC 6066 §3): the title says so, live and
// replayed, where it said "SNI 127.0.0.1".
func TestReplayNamesTheLiveSNI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lab sessions")
	}
	state, dir := t.TempDir(), t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)

	for _, tc := range []struct {
		name  string
		args  []string
		title string // how the live title ends
		sni   string // the ClientHello's server_name
	}{
		{"lab", []string{"--port", "587", "--state-dir", state}, ", as " + lab.Hostname + ")", lab.Hostname},
		{"address", []string{"--target", ep.Addr, "--ca-file", l.CAPath()}, "against " + ep.Addr + " (" + noSNIWords + ")", ""},
		{"address with --sni", []string{"--target", ep.Addr, "--ca-file", l.CAPath(), "--sni", lab.Hostname},
			"against " + ep.Addr + " (SNI " + lab.Hostname + ")", lab.Hostname},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".jsonl")
			args := append([]string{"session", "--format", "text", "--width", "100", "--color", "never", "--stop-after", "tls", "--record", file}, tc.args...)
			code, live, liveErr := runMailwire(t, args...)
			if code != exitOK && code != exitUnsafe {
				t.Fatalf("live: exit %d\n%s", code, liveErr)
			}
			title, _, _ := strings.Cut(live, "\n")
			if !strings.HasSuffix(title, tc.title) {
				t.Errorf("live title %q, want it to end %q", title, tc.title)
			}
			rec := readRecordingFile(t, file)
			if sni := lens.Observe(rec.Events, len(rec.Events), "").SNI; strings.Join(sni, ",") != tc.sni {
				t.Errorf("the ClientHello carried SNI %q, want %q (title %q)", sni, tc.sni, title)
			}
			liveLine := stderrLine(liveErr, "mailwire session: ")
			if !strings.Contains(liveLine, "; certificate check: ") {
				t.Errorf("live stderr line %q names no certificate check", liveLine)
			}

			// The recording as written, and as the session screen wrote
			// it before: no server name, no certificate check.
			old := filepath.Join(dir, "old-"+filepath.Base(file))
			writeWithoutNames(t, file, old)
			for _, f := range []string{file, old} {
				code, replayed, replayErr := runMailwire(t, "replay", f, "--format", "text", "--width", "100", "--color", "never")
				if code != exitOK && code != exitUnsafe {
					t.Fatalf("replay %s: exit %d\n%s", filepath.Base(f), code, replayErr)
				}
				if got, _, _ := strings.Cut(replayed, "\n"); got != title {
					t.Errorf("replay %s title:\n  %s\nlive:\n  %s", filepath.Base(f), got, title)
				}
				if replayed != live {
					t.Errorf("replay %s differs from the live text", filepath.Base(f))
				}
				if got := stderrLine(replayErr, "mailwire session: "); got != liveLine {
					t.Errorf("replay %s stderr line:\n  %s\nlive:\n  %s", filepath.Base(f), got, liveLine)
				}
			}
		})
	}
}

// TestTitleSNIIsTheWire: for every committed recording of a port, the
// name its title says was sent is the server_name its ClientHello
// carried.
func TestTitleSNIIsTheWire(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(content.RecordingFixtureDir), "port-*.jsonl"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("recordings: %v %v", paths, err)
	}
	for _, p := range paths {
		rec := readRecordingFile(t, p)
		h := rec.Header.FromEvents(rec.Events)
		sni := lens.Observe(rec.Events, len(rec.Events), "").SNI
		if len(sni) != 1 || tlsmsg.SNIFor(h.Options.ServerName) != sni[0] || !strings.HasSuffix(runTitle(h), ", as "+sni[0]+")") {
			t.Errorf("%s: title %q, ClientHello SNI %q", filepath.Base(p), runTitle(h), sni)
		}
	}
}

func readRecordingFile(t *testing.T, path string) render.Recording {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := render.ReadRecording(bytes.NewReader(b), render.RecordingLimits{})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// writeWithoutNames copies the recording at from to to, its header's
// options emptied as the session screen wrote them before mailwire saved
// the server name there.
func writeWithoutNames(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := bytes.Cut(b, []byte("\n"))
	var h map[string]json.RawMessage
	if err := json.Unmarshal(head, &h); err != nil {
		t.Fatal(err)
	}
	h["options"] = json.RawMessage(`{}`)
	head, err = json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, append(append(head, '\n'), rest...), 0o600); err != nil {
		t.Fatal(err)
	}
}

// stderrLine is the line of errOut that starts with prefix.
func stderrLine(errOut, prefix string) string {
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
