package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/internal/buildinfo"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// TestScreenSaveIsRecord: a session saved from the session screen (w)
// has the header --record writes for the same session: both are
// sessionHeader's, built from the options the session ran with. The
// screen saved a header of its own making (no budget, no EHLO name, no
// user, the certificate check guessed from the events), and said "by
// mailwire (devel)" where --record said "by mailwire devel (no commit
// recorded)".
func TestScreenSaveIsRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lab sessions through the session screen")
	}
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	state := t.TempDir()

	t.Run("lab", func(t *testing.T) {
		// mailwire session --port 587 --record FILE, and the same port
		// opened on the screen (mailwire 587) and saved.
		file := filepath.Join(t.TempDir(), "cli.jsonl")
		if code, _, errOut := runMailwire(t, "session", "--port", "587", "--state-dir", state, "--format", "json", "--record", file); code != exitOK {
			t.Fatalf("session: exit %d\n%s", code, errOut)
		}
		k := &labKeeper{listen: "127.0.0.1", offset: 20000 + os.Getpid()%20000, stateDir: state}
		defer k.close()
		open := &tui.SessionRequest{Port: 587}
		saved := saveFromScreen(t, tui.Options{StartLab: k.start, OpenSession: k.openSession, Open: open})
		cli := readRecordingFile(t, file).Header
		// Each run starts a lab, listening where it can.
		if !cli.Lab || !saved.Lab || hostOf(cli.Target) != hostOf(saved.Target) {
			t.Errorf("lab: --record %q (lab %v), saved %q (lab %v)", cli.Target, cli.Lab, saved.Target, saved.Lab)
		}
		cli.Target, saved.Target = "", ""
		compareHeaders(t, saved, cli)
		if cli.Options.ServerName != lab.Hostname || cli.Options.Verify != string(wire.VerifyPool) {
			t.Errorf("lab header options %+v", cli.Options)
		}
	})

	t.Run("lab scenario", func(t *testing.T) {
		// mailwire session --scenario too-early --record FILE, and the
		// same scenario opened on the screen and saved.
		file := filepath.Join(t.TempDir(), "cli.jsonl")
		if code, _, errOut := runMailwire(t, "session", "--scenario", "too-early", "--state-dir", state, "--format", "json", "--record", file); code != exitOK && code != exitUnsafe {
			t.Fatalf("session: exit %d\n%s", code, errOut)
		}
		k := &labKeeper{listen: "127.0.0.1", offset: 20000 + (os.Getpid()+500)%20000, stateDir: state}
		defer k.close()
		saved := saveFromScreen(t, tui.Options{StartLab: k.start, OpenSession: k.openSession, Open: &tui.SessionRequest{Scenario: "too-early"}})
		compareHeaders(t, saved, readRecordingFile(t, file).Header)
	})

	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)
	for _, tc := range []struct {
		name string
		f    connectFlags
		sni  string // the header's server name
	}{
		{"target with --sni", connectFlags{sni: lab.Hostname, caFile: l.CAPath(), timeout: 20 * time.Second}, lab.Hostname},
		{"IP target", connectFlags{caFile: l.CAPath()}, "127.0.0.1"},
		{"no TLS", connectFlags{tlsMode: "none", sni: lab.Hostname, caFile: l.CAPath()}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// mailwire connect ADDR --sni … --record FILE on the screen,
			// its scripted session (the port table's) saved with w.
			file := filepath.Join(t.TempDir(), "connect.jsonl")
			base, req, err := connectOptions(ep.Addr, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			req.ServerName, req.CAFile = tc.f.sni, tc.f.caFile
			rr := &runRecorder{flags: recordFlags{path: file}, base: base}
			saved := saveFromScreen(t, tui.Options{OpenSession: rr.session(targetOpener(base, &runRecord{})), Connect: &req})
			if err := rr.finish(io.Discard); err != nil {
				t.Fatal(err)
			}
			cli := readRecordingFile(t, file).Header
			compareHeaders(t, saved, cli)
			if cli.Options.ServerName != tc.sni || cli.Target != ep.Addr || cli.Lab {
				t.Errorf("header: target %q, lab %v, options %+v; want server name %q", cli.Target, cli.Lab, cli.Options, tc.sni)
			}
		})
	}
}

// saveFromScreen runs the session screen as o says until its session
// ends, saves it with w and enter, and returns the saved header.
func saveFromScreen(t *testing.T, o tui.Options) render.RecordingHeader {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ended := make(chan struct{})
	inner := o.OpenSession
	o.OpenSession = func(ctx context.Context, r tui.SessionRequest) (<-chan wire.Event, error) {
		ch, err := inner(ctx, r)
		if err != nil {
			return ch, err
		}
		out := make(chan wire.Event)
		go func() {
			defer close(ended)
			defer close(out)
			for ev := range ch {
				out <- ev
			}
		}()
		return out, nil
	}
	o.Context = ctx
	p := tea.NewProgram(tui.New(o), tea.WithContext(ctx), tea.WithInput(nil), tea.WithOutput(io.Discard),
		tea.WithWindowSize(120, 40), tea.WithoutSignalHandler())
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	defer func() {
		p.Quit()
		<-done
	}()
	select {
	case <-ended:
	case <-ctx.Done():
		t.Fatal("the session did not end")
	}
	time.Sleep(300 * time.Millisecond) // the screen takes the last events
	p.Send(tea.KeyPressMsg{Code: 'w', Text: "w"})
	time.Sleep(100 * time.Millisecond)
	p.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	dir := tui.DefaultRecordingDir()
	for {
		if m, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(m) == 1 {
			// The screen may still be writing it: read it once it
			// reads whole (a half-written last line does not).
			if b, err := os.ReadFile(m[0]); err == nil && strings.HasSuffix(string(b), "\n") {
				if rec, err := render.ReadRecording(strings.NewReader(string(b)), render.RecordingLimits{}); err == nil {
					os.Remove(m[0])
					return rec.Header
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nothing saved in %s", dir)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// compareHeaders: a and b say the same apart from when they were made.
func compareHeaders(t *testing.T, saved, cli render.RecordingHeader) {
	t.Helper()
	if saved.Mailwire != buildinfo.Version() || cli.Mailwire != saved.Mailwire {
		t.Errorf("by mailwire %q saved, %q --record; --version says %q", saved.Mailwire, cli.Mailwire, buildinfo.Version())
	}
	saved.RecordedAt, cli.RecordedAt = time.Time{}, time.Time{}
	if !sameRecordingHeader(saved, cli) {
		t.Errorf("saved (w):\n  %+v %+v\n--record:\n  %+v %+v", saved, saved.Options, cli, cli.Options)
	}
}

// sameRecordingHeader compares what two headers say (they hold pointers).
func sameRecordingHeader(a, b render.RecordingHeader) bool {
	if (a.Scenario == nil) != (b.Scenario == nil) || a.Scenario != nil && *a.Scenario != *b.Scenario {
		return false
	}
	a.Scenario, b.Scenario = nil, nil
	if (a.Options.Budget == nil) != (b.Options.Budget == nil) || a.Options.Budget != nil && *a.Options.Budget != *b.Options.Budget {
		return false
	}
	a.Options.Budget, b.Options.Budget = nil, nil
	return a == b
}

// The header of a run in target mode: a typed session's is the scripted
// one's with Typed; a scenario's names the certificate check its
// environment makes (a CA file given on the connect form: "CA file",
// where it said "system roots") and the server name it asks for.
func TestRequestHeader(t *testing.T) {
	base := sessions.Options{ReadTimeout: 5 * time.Second}
	r := tui.SessionRequest{Port: 587, Target: "127.0.0.1:587", Prompt: true, CAFile: "/ca.pem"}
	h := requestHeader(base, r)
	if !h.Typed || h.Options.ServerName != "127.0.0.1" || h.Options.Verify != string(wire.VerifyCAFile) ||
		h.Options.CAFile != "/ca.pem" || h.Options.ReadTimeout != "5s" {
		t.Errorf("typed header %+v %+v", h, h.Options)
	}
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sr := tui.SessionRequest{Scenario: "too-early", Target: "127.0.0.1:587", CAFile: l.CAPath(), ServerName: lab.Hostname}
	h = requestHeader(base, sr)
	if h.Scenario == nil || h.Scenario.Name != "too-early" || h.Scenario.Port != 587 || h.Options.Verify != string(wire.VerifyCAFile) ||
		h.Options.ServerName != lab.Hostname || h.Options.CAFile != l.CAPath() || h.Lab {
		t.Errorf("scenario header %+v %+v", h, h.Options)
	}
	sr.ServerName = ""
	if h := requestHeader(base, sr); h.Options.ServerName != "127.0.0.1" {
		t.Errorf("scenario without a name: asked for %q, want the host", h.Options.ServerName)
	}
	// `mailwire session --scenario … --target … --ca-file F` names F, as
	// connect's scenario does: a replay says which CAs the check used.
	env, err := targetEnv(sessionFlags{target: "127.0.0.1:587", caFile: l.CAPath()}, 587)
	if err != nil {
		t.Fatal(err)
	}
	req := scenario.Request{Name: "too-early", Port: 587, Env: env}
	_, resolved, err := req.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if h := scenarioHeader(req, resolved, "127.0.0.1:587", time.Now()); h.Options.Verify != string(wire.VerifyCAFile) || h.Options.CAFile != l.CAPath() {
		t.Errorf("session --scenario --ca-file header: verify %q, ca_file %q", h.Options.Verify, h.Options.CAFile)
	}
}
