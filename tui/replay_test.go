package tui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// recordingsDir holds the bundled recordings: one per port and
// one per scenario, made by an earlier mailwire against its lab.
var recordingsDir = filepath.Join("..", filepath.FromSlash(content.RecordingFixtureDir))

// openReplay is the root model of `mailwire replay path` at w×h, with the
// whole recording read (as the program runs it: ReplayOpener as
// OpenSession, the request as Connect).
func openReplay(t testing.TB, path string, w, h int) (*Model, render.Recording) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := render.ReadRecording(f, render.DefaultRecordingLimits())
	if err != nil && rec.Header.Schema == 0 {
		t.Fatalf("%s: %v", path, err) // a broken line after the header is the screen's to show
	}
	req := ReplayRequest(rec.Header, path)
	m := newModel(Options{OpenSession: ReplayOpener(path, render.DefaultRecordingLimits(), req), Connect: &req})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	pump(t, m, m.Init())
	return m, rec
}

// TestReplayGolden: each committed recording replays in the session
// screen, whole and done, into the very screen its events make live
// (replayModel), at 120×40; the screen is kept as a golden.
func TestReplayGolden(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(recordingsDir, "*.jsonl"))
	if err != nil || len(paths) < 17 {
		t.Fatalf("recordings: %v %v", paths, err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".jsonl")
		t.Run(name, func(t *testing.T) {
			m, rec := openReplay(t, path, 120, 40)
			s := session(m)
			if len(s.evs) != len(rec.Events) || s.live() {
				t.Fatalf("%d of %d events, state %s", len(s.evs), len(rec.Events), s.state)
			}
			for _, ev := range s.evs {
				if ev.Kind == wire.KindError && strings.HasPrefix(ev.Text, "replay:") {
					t.Fatalf("the recording did not read: %s", ev.Text)
				}
			}
			live := replayModel(s.req, rec.Events, ThemeAuto, 120, 40)
			if got, want := plain(m), plain(live); got != want {
				t.Errorf("the replay's screen differs from the live one's:\n--- replay\n%s\n--- live\n%s", got, want)
			}
			golden.RequireEqual(t, []byte(plain(m)))
		})
	}
}

// TestReplayScreenWorks: on a replayed scenario the lens, step mode, the
// leg filter and the panel work as they do live, and r reads the file
// again; a request for another session is refused offline.
func TestReplayScreenWorks(t *testing.T) {
	m, rec := openReplay(t, filepath.Join(recordingsDir, "scenario-strip-opportunistic.jsonl"), 120, 40)
	s := session(m)
	if !strings.Contains(plain(m), "STARTTLS stripped") {
		t.Fatalf("no scenario header:\n%s", plain(m))
	}
	pressKey(m, tea.KeyPressMsg{Code: tea.KeyTab})
	if !observer(s.lens) || !strings.Contains(plain(m), "EAVESDROPPER LENS") {
		t.Error("tab did not switch to the eavesdropper lens")
	}
	press(m, "f")
	if s.legs.all() {
		t.Error("f did not filter one leg")
	}
	press(m, "f")
	press(m, "f")
	press(m, "s")
	if !s.step.on {
		t.Error("s did not start step mode")
	}
	pressKey(m, keyCode(tea.KeySpace))
	if s.step.revealed() < 2 {
		t.Errorf("space revealed %d events", s.step.revealed())
	}
	press(m, "s")
	press(m, "c")
	if !s.panel.open || !strings.Contains(plain(m), "attacker") {
		t.Errorf("c did not open the comparison:\n%s", plain(m))
	}
	press(m, "c")
	id := s.id
	pump(t, m, press(m, "r"))
	if s = session(m); s.id == id || len(s.evs) != len(rec.Events) {
		t.Errorf("r: run %d → %d, %d of %d events", id, s.id, len(s.evs), len(rec.Events))
	}

	open := ReplayOpener(filepath.Join(recordingsDir, "port-587.jsonl"), render.RecordingLimits{}, SessionRequest{Port: 587})
	if _, err := open(context.Background(), SessionRequest{Port: 25}); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("another port: %v", err)
	}
}

// TestReplayCorrupt: a recording cut in the middle of a line shows the
// events before the cut and fails with the line named, on the screen.
func TestReplayCorrupt(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(recordingsDir, "port-587.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	cut := append(bytes.Join(lines[:11], nil), lines[11][:len(lines[11])/2]...)
	path := filepath.Join(t.TempDir(), "cut.jsonl")
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := openReplay(t, path, 120, 40)
	s := session(m)
	if s.state != stateFailed || len(s.evs) != 11 || !strings.Contains(flatten(plain(m)), "recording line 12") {
		t.Errorf("state %s, %d events:\n%s", s.state, len(s.evs), plain(m))
	}
}

// BenchmarkReplay100k: `mailwire replay` of a 100,000-event recording,
// from opening the file to the first frame with events on it (the
// screen shows the first batch while the rest is read), and the memory
// held once every event is in (ms-to-first-frame, MiB-held; budget 300 ms
// and 150 MB), and how long reading all of them takes (ms-to-all-events).
func BenchmarkReplay100k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "100k.jsonl")
	var file bytes.Buffer
	h := render.RecordingHeader{RecordedAt: time.Date(2026, 5, 4, 10, 31, 0, 0, time.UTC), Target: "127.0.0.1:10587",
		Lab: true, Port: 587, Proto: "smtp", TLSMode: "starttls"}
	if err := render.WriteRecording(&file, h, events100k(100_000)); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, file.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	req := ReplayRequest(h, path)
	lim := render.DefaultRecordingLimits()
	var first time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		m := newModel(Options{Context: ctx, OpenSession: ReplayOpener(path, lim, req), Connect: &req})
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		s := session(m)
		msg := s.start()() // Init's session start, without the spinner
		_, cmd := m.Update(msg)
		_, _ = m.Update(cmd()) // the first batch
		if v := m.View().Content; len(s.evs) == 0 || !strings.Contains(v, "event") {
			b.Fatalf("first frame without events: %d\n%s", len(s.evs), v)
		}
		first += time.Since(start)
		cancel()
	}
	b.StopTimer()
	b.ReportMetric(float64(first.Milliseconds())/float64(b.N), "ms-to-first-frame")

	// Memory held with the whole recording in the screen.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	m := newModel(Options{OpenSession: ReplayOpener(path, lim, req), Connect: &req})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	s := session(m)
	msg := s.start()()
	for _, cmd := m.Update(msg); cmd != nil; _, cmd = m.Update(cmd()) {
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-all-events")
	if len(s.evs) != 100_000 || s.live() {
		b.Fatalf("%d events, state %s", len(s.evs), s.state)
	}
	_ = m.View()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-held")
	runtime.KeepAlive(m)
}

// TestSaveRecording: w asks for a file name, under the XDG data directory
// by default, and saves the session on screen there as a recording (0600,
// passwords masked even when shown); the status line says what was
// written and its size; the prompt takes q and ? as text; a file that
// exists is kept; esc cancels; ctrl+s does what w does.
func TestSaveRecording(t *testing.T) {
	dataHome := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dataHome)
	f := &fakeSessions{evs: append(fixtureCleartextAuth(), fixture587()...)}
	m := newSessionModel(t, 120, 40, f)
	s := session(m)
	s.now = func() time.Time { return time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) }
	press(m, "p") // passwords shown on the screen: still masked in the file

	press(m, "w")
	want := filepath.Join(dataHome, "mailwire", "recordings", "20261206-100000-587.jsonl")
	if !s.save.open || s.save.input.Value() != want || !m.typing() {
		t.Fatalf("w: open %v, path %q (want %q), typing %v", s.save.open, s.save.input.Value(), want, m.typing())
	}
	if !strings.Contains(plain(m), "save recording to") {
		t.Errorf("no prompt in the header:\n%s", plain(m))
	}
	// q and ? are text here: a name may hold them.
	press(m, "q")
	press(m, "?")
	if m.quitting || !strings.HasSuffix(s.save.input.Value(), "q?") {
		t.Fatalf("q and ? were not text: quitting %v, %q", m.quitting, s.save.input.Value())
	}
	for range 2 {
		pressKey(m, keyCode(tea.KeyBackspace))
	}
	cmd := pressKey(m, keyCode(tea.KeyEnter))
	if cmd == nil || s.save.open {
		t.Fatal("enter did not save")
	}
	m.Update(cmd())
	header := strings.SplitN(plain(m), "\n", 3)[1]
	if !strings.Contains(header, " KiB: 20261206-100000-587.jsonl in "+filepath.Dir(want)) {
		t.Errorf("status line %q", header)
	}
	fi, err := os.Stat(want)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the recording: %v %v", fi, err)
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(fixturePassword)) {
		t.Error("the recording holds the password")
	}
	rec, err := render.ReadRecording(bytes.NewReader(b), render.RecordingLimits{})
	if err != nil || len(rec.Events) != len(f.evs) || rec.Header.Port != 587 || rec.Header.Proto != "smtp" {
		t.Errorf("read back: %d events, %+v, %v", len(rec.Events), rec.Header, err)
	}

	// The same name again: the file is kept, and the status says why.
	pressKey(m, tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl})
	if !s.save.open {
		t.Fatal("ctrl+s did not open the prompt")
	}
	m.Update(pressKey(m, keyCode(tea.KeyEnter))())
	if header := strings.SplitN(plain(m), "\n", 3)[1]; !strings.Contains(header, "not saved: 20261206-100000-587.jsonl exists: choose another name") {
		t.Errorf("saving over a file: %q", header)
	}
	press(m, "w")
	pressKey(m, keyCode(tea.KeyEscape))
	if s.save.open || m.typing() {
		t.Error("esc did not close the prompt")
	}
}
