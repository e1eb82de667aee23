package tui

import (
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// failedSession is a scripted session that fails on a refused
// certificate, then closes.
func failedSession() []wire.Event {
	evs := fixture587()[:6] // up to STARTTLS's 220
	n := len(evs)
	evs = append(evs,
		wire.Event{Seq: n + 1, Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
			Text: "verify certificate: x509: certificate is valid for mail.lab.test, not wrong.example", Annotation: "tls.verify.hostname",
			Err: &wire.ErrorInfo{Op: "verify certificate", Message: "x509: certificate is valid for mail.lab.test, not wrong.example", Explain: "tls.verify.hostname"}},
		wire.Event{Seq: n + 2, Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
			Annotation: "tcp.close", Text: "client closed the connection after an error; 90 bytes sent, 200 received"})
	return evs
}

// After a failure the selected event is the failure, with its
// explanation, not the close event after it (which explains close_notify).
func TestFailureStaysSelected(t *testing.T) {
	f := &fakeSessions{evs: failedSession()}
	m := newSessionModel(t, 120, 40, f)
	s := session(m)
	r, ok := s.tl.selected()
	if !ok || s.evs[r.first].Kind != wire.KindError {
		t.Fatalf("selected %+v, want the error\n%s", s.evs[r.first], plain(m))
	}
	a, _ := content.Lookup("tls.verify.hostname")
	if v := flatten(plain(m)); !strings.Contains(v, a.Title) || strings.Contains(v, "close_notify alert, so that") {
		t.Errorf("the detail pane does not explain the failure:\n%s", plain(m))
	}
	// Moving on is the user's choice: the end is one key away.
	mustUpdate(t, m, keyText('G'))
	if r, _ := s.tl.selected(); s.evs[r.first].Kind != wire.KindClose {
		t.Errorf("G: selected %s", s.evs[r.first].Kind)
	}
	// A session that did not fail still ends on its last event.
	f = &fakeSessions{evs: fixture587()}
	m = newSessionModel(t, 120, 40, f)
	if r, _ := session(m).tl.selected(); r.last != len(session(m).evs)-1 {
		t.Errorf("a good session selects row %+v of %d events", r, len(session(m).evs))
	}
}

// In a typed session too.
func TestFailureStaysSelectedTyped(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 120, 40, protocol.SMTP, f)
	s := promptOf(m)
	fail := failedSession()[6:]
	for i := range fail {
		fail[i].Seq = len(s.evs) + i + 1
	}
	mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: fail, done: true})
	if r, ok := s.tl.selected(); !ok || s.evs[r.first].Kind != wire.KindError {
		t.Fatalf("selected %+v, want the error", r)
	}
	if !s.prompt.ended || !strings.Contains(plain(m), "the session has ended") {
		t.Errorf("the prompt does not say the session ended:\n%s", plain(m))
	}
}
