package tui

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// TestWritePcapRefusesEmptyCapture: a pcap export of a session whose
// capture holds no connection (a replay, a session that never connected,
// an opener that kept no capture) is refused with the status line's
// reason, and no file is written: it once wrote an empty pcap (24
// bytes) and said "wrote".
func TestWritePcapRefusesEmptyCapture(t *testing.T) {
	for name, c := range map[string]*wire.Capture{"no capture": nil, "empty capture": wire.NewCapture(0)} {
		base := filepath.Join(t.TempDir(), "s")
		files, err := writePcap(base, exportSource{capture: c, keys: &wire.KeyLogBuffer{}, req: SessionRequest{Port: 587, Label: "target"}})
		if !errors.Is(err, errNoCapture) || len(files) != 0 {
			t.Errorf("%s: files %v, err %v; want errNoCapture", name, files, err)
		}
		if _, err := os.Stat(base + ".pcap"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a pcap was written (%v)", name, err)
		}
	}
}

// TestRecordersPerRun: each run the session screen starts, a scenario's
// and a typed one included, is given recorders for the export menu's
// pcap and key log (the openers wire them: cmd/mailwire's withRecorders);
// a program without the menu (Options.Shared, mailwire serve) keeps
// nothing.
func TestRecordersPerRun(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, req := range []SessionRequest{{Port: 587, Label: "lab"}, {Port: 587, Scenario: "tls12-vs-13", Label: "lab"}} {
			var got *wire.Capture
			opts := Options{Shared: shared, OpenSession: func(ctx context.Context, _ SessionRequest) (<-chan wire.Event, error) {
				got, _ = WireRecorders(ctx)
				ch := make(chan wire.Event)
				close(ch)
				return ch, nil
			}}
			m := newModel(opts)
			s := newSessionScreen(m.common, req)
			runCmds(s.start())
			if (got != nil) == shared || (s.capture != nil) == shared {
				t.Errorf("shared %v, scenario %q: the opener got a capture: %v, the screen kept one: %v", shared, req.Scenario, got != nil, s.capture != nil)
			}
		}
	}
}
