package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// TestHeaderFromEvents: a header without the server name and the
// certificate check (a recording the session screen saved before mailwire
// wrote them) gets both from the session's events, as the live session
// had them: every committed recording of a port, stripped of the two,
// comes back to what its header said. The session screen's recordings
// had "options":{} and replayed as "as 127.0.0.1".
func TestHeaderFromEvents(t *testing.T) {
	for name, file := range recordingFixtures(t) {
		if strings.HasPrefix(name, "scenario-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			rec, err := ReadRecording(bytes.NewReader(file), DefaultRecordingLimits())
			if err != nil {
				t.Fatal(err)
			}
			want := rec.Header
			if want.Options.ServerName != "mail.lab.test" || want.Options.Verify != string(wire.VerifyPool) {
				t.Fatalf("the fixture's header: %+v", want.Options)
			}
			old := want
			old.Options = RecordingOptions{}
			got := old.FromEvents(rec.Events)
			if got.Options.ServerName != want.Options.ServerName || got.Options.Verify != want.Options.Verify {
				t.Errorf("from the events: server name %q, verify %q; the live session's: %q, %q",
					got.Options.ServerName, got.Options.Verify, want.Options.ServerName, want.Options.Verify)
			}
			// Without the TLS state (a handshake the server broke
			// off), the ClientHello's server_name says it.
			var noState []wire.Event
			for _, ev := range rec.Events {
				if ev.Kind != wire.KindTLSState {
					noState = append(noState, ev)
				}
			}
			if got := old.FromEvents(noState); got.Options.ServerName != "mail.lab.test" || got.Options.Verify != "" {
				t.Errorf("from the ClientHello: %+v", got.Options)
			}
			// What a header says is kept.
			given := old
			given.Options.ServerName, given.Options.Verify = "other.example", string(wire.VerifyOff)
			if got := given.FromEvents(rec.Events); got.Options != given.Options {
				t.Errorf("FromEvents changed what the header said: %+v", got.Options)
			}
		})
	}

	// A session with TLS against a target that shows no name (no
	// connection) asked for the default: the target's host. The lab's
	// name is not the lab's address, so a lab header stays without one.
	h := RecordingHeader{Target: "mx.example.org:25", Port: 25, Proto: "smtp", TLSMode: "starttls"}
	if got := h.FromEvents(nil); got.Options.ServerName != "mx.example.org" || got.Options.Verify != "" {
		t.Errorf("target, no connection: %+v", got.Options)
	}
	h.Lab, h.Target = true, "127.0.0.1:10025"
	if got := h.FromEvents(nil); got.Options.ServerName != "" {
		t.Errorf("the lab, no connection: %+v", got.Options)
	}
	// Without TLS no name is asked for or sent (there is no ClientHello,
	// RFC 6066 §3): a replay labelled such a session "SNI mx.example.org".
	h = RecordingHeader{Target: "mx.example.org:25", Port: 25, Proto: "smtp", TLSMode: "none"}
	if got := h.FromEvents(fixtureCleartextAuth()); got.Options.ServerName != "" || got.Options.Verify != "" {
		t.Errorf("target without TLS: %+v", got.Options)
	}
	// A scenario's legs have names of their own: its header is left
	// alone.
	s := RecordingHeader{Lab: true, Scenario: &RecordingScenario{Name: "too-early", Port: 587}}
	if got := s.FromEvents(fixture587()); got.Options != (RecordingOptions{}) {
		t.Errorf("scenario header: %+v", got.Options)
	}
}
