package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/render"
)

// TestSaveWritesReportedHeader: the header a session's opener reports
// (ReportHeader: cmd/mailwire's, the one --record writes) is the one the
// session screen saves (w) and exports as a recording (x 1), passwords
// masked whatever the opener said; a rerun (r) reports again. Without a
// report the screen still builds one from the request and the events.
func TestSaveWritesReportedHeader(t *testing.T) {
	dataHome := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dataHome)
	f := &fakeSessions{evs: fixture587()}
	m := newSessionModel(t, 120, 40, f)
	s := session(m)
	if len(f.ctxs) != 1 {
		t.Fatalf("%d runs opened", len(f.ctxs))
	}
	want := render.RecordingHeader{RecordedAt: time.Date(2026, 12, 6, 11, 0, 0, 0, time.UTC), Target: "127.0.0.1:10587", Lab: true,
		Port: 587, Proto: "smtp", TLSMode: "starttls",
		Options: render.RecordingOptions{ServerName: "mail.lab.test", Verify: "lab CA", EHLOName: "client.mailwire.invalid",
			User: "learner", To: "learner@mail.lab.test", Fetch: true, ReadTimeout: "5s"},
		Secrets: render.SecretsRevealed}
	ReportHeader(f.ctxs[0], want)
	ReportHeader(context.Background(), render.RecordingHeader{Target: "elsewhere:1"}) // no screen: nothing
	want.Secrets = render.SecretsMasked

	press(m, "w")
	path := filepath.Join(dataHome, "saved.jsonl")
	s.save.input.SetValue(path)
	pump(t, m, pressKey(m, keyCode(tea.KeyEnter)))
	got := readRecording(t, path).Header
	want.Schema, want.Mailwire = got.Schema, got.Mailwire
	if !sameHeader(got, want) {
		t.Errorf("saved (w):\n  %+v\nreported:\n  %+v", got, want)
	}

	press(m, "x")
	msg := press(m, "1")()
	done, ok := msg.(exportDoneMsg)
	if !ok || done.err != nil {
		t.Fatalf("export: %#v", msg)
	}
	b, err := os.ReadFile(done.files[0].path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := render.ReadRecording(bytes.NewReader(b), render.DefaultRecordingLimits())
	if err != nil || !sameHeader(rec.Header, want) {
		t.Errorf("exported (x 1): %v\n  %+v\nreported:\n  %+v", err, rec.Header, want)
	}

	// A rerun has a slot of its own: what the first run reported is not
	// the second's.
	pump(t, m, press(m, "r"))
	if len(f.ctxs) != 2 {
		t.Fatalf("r: %d runs opened", len(f.ctxs))
	}
	if h := s.header.get(); h != nil {
		t.Errorf("the rerun starts with the first run's header %+v", h)
	}
	ReportHeader(f.ctxs[0], render.RecordingHeader{Target: "stale:1"}) // the first run, late
	if h := s.header.get(); h != nil {
		t.Errorf("a late report of the first run reached the rerun: %+v", h)
	}
	if h := recordingHeader(exportSource{req: s.req, evs: s.evs}); h.Options.ServerName != "mail.lab.test" || !h.Lab {
		t.Errorf("unreported: built %+v", h)
	}
}
