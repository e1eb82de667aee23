package tui

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

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

// TestWritePcapLabScenarioPorts: a lab scenario's pcap writes each lab
// port as its canonical one (Wireshark picks the dissector by port); a
// proxy's port is kept.
func TestWritePcapLabScenarioPorts(t *testing.T) {
	c := wire.NewCapture(0)
	for _, server := range []string{"127.0.0.1:10587", "127.0.0.1:45000"} {
		cc := c.Open("", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, tcpAddr(t, server), time.Now(), time.Millisecond)
		cc.Add(wire.ServerToClient, 2*time.Millisecond, []byte("220 hi\r\n"))
		cc.Closed(3 * time.Millisecond)
	}
	base := filepath.Join(t.TempDir(), "s")
	_, err := writePcap(base, exportSource{capture: c, labPorts: map[string]int{"127.0.0.1:10587": 587},
		req: SessionRequest{Port: 587, Scenario: "tls12-vs-13", Label: "lab"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(base + ".pcap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]bool{}
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		// Ethernet (14), IPv4 (20), then TCP: its destination port and flags.
		if tcp := data[min(len(data), 34):]; len(tcp) > 13 && tcp[13]&0x12 == 0x02 {
			ports[int(tcp[2])<<8|int(tcp[3])] = true
		}
	}
	if len(ports) != 2 || !ports[587] || !ports[45000] {
		t.Errorf("connections to ports %v, want 587 and 45000", ports)
	}
}

func tcpAddr(t *testing.T, s string) net.Addr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
