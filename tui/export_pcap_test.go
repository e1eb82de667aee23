package tui

import (
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
