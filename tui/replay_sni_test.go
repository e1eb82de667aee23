package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/monitor"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestSavedRecordingNamesTheSNI: a lab session saved from the session
// screen (w) keeps the server name it asked for and how it checked the
// certificate, as `mailwire session --record` does: the screen's request
// knows neither (the lab's host name and CA are chosen where the session
// runs), and its recordings said "options":{}, so that a replay named the
// lab's address, 127.0.0.1, as the SNI of a session that sent
// mail.lab.test. The events are a live lab session's (a committed
// recording's). Replayed, the header is labelled as the live one was (the
// lab), and saving the replay writes the recording's own header again,
// not the time of the replay.
func TestSavedRecordingNamesTheSNI(t *testing.T) {
	dataHome := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dataHome)
	b, err := os.ReadFile(filepath.Join(recordingsDir, "port-587.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	live, err := render.ReadRecording(bytes.NewReader(b), render.DefaultRecordingLimits())
	if err != nil {
		t.Fatal(err)
	}
	// Wide enough for the whole header line, live and replayed.
	m := newSessionModel(t, 160, 40, &fakeSessions{evs: live.Events})
	s := session(m)
	liveHeader := strings.SplitN(plain(m), "\n", 2)[0]
	press(m, "w")
	path := s.save.input.Value()
	m.Update(pressKey(m, keyCode(tea.KeyEnter))())
	saved := readRecording(t, path)
	h := saved.Header
	if !h.Lab || h.Options.ServerName != live.Header.Options.ServerName || h.Options.Verify != string(wire.VerifyPool) {
		t.Fatalf("saved header: lab %v, options %+v; the live session asked for %q, checked with %q",
			h.Lab, h.Options, live.Header.Options.ServerName, live.Header.Options.Verify)
	}

	recorded := "recorded " + h.RecordedAt.Format("2006-01-02 15:04 MST")
	req := ReplayRequest(h, path)
	if want := "lab, " + recorded; req.Label != want {
		t.Errorf("replay label %q, want %q", req.Label, want)
	}
	r, _ := openReplay(t, path, 160, 40)
	replayHeader := strings.SplitN(plain(r), "\n", 2)[0]
	// The same line but for the name and the label: "(lab)" live,
	// "(lab, recorded …)" replayed.
	norm := strings.NewReplacer("mailwire replay", "mailwire session", "lab, "+recorded, "lab")
	if got, want := strings.TrimSpace(norm.Replace(replayHeader)), strings.TrimSpace(liveHeader); got != want {
		t.Errorf("replay header\n  %s\nlive\n  %s", got, want)
	}

	// Saved again from the replay: the recording's header, not the
	// replay's time, and still the lab.
	rs := session(r)
	rs.now = func() time.Time { return time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC) }
	press(r, "w")
	rs.save.input.SetValue(filepath.Join(dataHome, "again.jsonl"))
	r.Update(pressKey(r, keyCode(tea.KeyEnter))())
	again := readRecording(t, filepath.Join(dataHome, "again.jsonl"))
	h.Schema = again.Header.Schema
	if !sameHeader(again.Header, h) {
		t.Errorf("saved from the replay:\n%+v\nthe recording's:\n%+v", again.Header, h)
	}
}

func readRecording(t *testing.T, path string) render.Recording {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := render.ReadRecording(bytes.NewReader(b), render.DefaultRecordingLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rec
}

// sameHeader compares what two headers say (they hold pointers).
func sameHeader(a, b render.RecordingHeader) bool {
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

// TestTargetLabel: the label says the SNI the ClientHello carries, and
// none for an IP address, which crypto/tls does not send (RFC 6066 §3);
// the connect form and mailwire connect labelled 127.0.0.2 "SNI
// 127.0.0.2".
func TestTargetLabel(t *testing.T) {
	for _, tc := range []struct{ name, verify, want string }{
		{"mx.example.org", "system roots", "SNI mx.example.org, certificate: system roots"},
		{"mx.example.org.", "", "SNI mx.example.org"},
		{"127.0.0.2", "CA file", "no SNI for an IP address, certificate: CA file"},
		{"::1", "off", "no SNI for an IP address, certificate: off"},
	} {
		if got := TargetLabel(tc.name, tc.verify); got != tc.want {
			t.Errorf("TargetLabel(%q, %q) = %q, want %q", tc.name, tc.verify, got, tc.want)
		}
	}
}

// TestMonitorRecordingHeader: a connection the lab monitor follows, saved
// (w), is a client's of the lab: its name is what its ClientHello sent,
// and none when it sent none, never one made from the lab's address (a
// replay said "SNI 127.0.0.1" of such a client).
func TestMonitorRecordingHeader(t *testing.T) {
	c := monitor.Client{ID: 2, Addr: "127.0.0.1:58838",
		Endpoint: lab.Endpoint{Canonical: 25, Proto: "smtp", TLS: lab.TLSStartTLS, Addr: "127.0.0.1:10025"}}
	h := recordingHeader(exportSource{req: followRequest(c), evs: fixtureCleartextAuth()})
	if !h.Lab || h.Options.ServerName != "" || h.Options.Verify != "" {
		t.Errorf("cleartext client: lab %v, options %+v", h.Lab, h.Options)
	}
	live := readRecording(t, filepath.Join(recordingsDir, "port-587.jsonl"))
	var clientSide []wire.Event // what the server's side sees: no client TLS state
	for _, ev := range live.Events {
		if ev.Kind != wire.KindTLSState {
			clientSide = append(clientSide, ev)
		}
	}
	if h := recordingHeader(exportSource{req: followRequest(c), evs: clientSide}); !h.Lab || h.Options.ServerName != "mail.lab.test" {
		t.Errorf("TLS client: lab %v, options %+v", h.Lab, h.Options)
	}
}
