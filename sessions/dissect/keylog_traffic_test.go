package dissect

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/wire"
)

// TestKeyLogTrafficPlaintext: with a NewTrafficKeyLog and a Plaintext
// receiver the dissector follows each direction past its Finished and
// hands over the application data, in order, right after the record that
// carried it; without a receiver a traffic key log changes nothing.
func TestKeyLogTrafficPlaintext(t *testing.T) {
	cert, pool, _, _ := testCert(t)
	for _, suite := range []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_CHACHA20_POLY1305_SHA256} {
		addr := goServer(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13})
		var got strings.Builder
		evs := dissectTraffic(t, addr, &tls.Config{RootCAs: pool, ServerName: e2eHost, CipherSuites: []uint16{suite}},
			func(dir wire.Direction, b []byte) []wire.Event {
				got.WriteString(string(dir) + ":" + string(b) + "|")
				return []wire.Event{{Kind: wire.KindLine, Dir: dir, Raw: append([]byte(nil), b...)}}
			})
		if want := "s2c:220 hello inside TLS\r\n|c2s:EHLO client.test\r\n|"; got.String() != want {
			t.Errorf("suite %x: plaintext %q, want %q", suite, got.String(), want)
		}
		for i, ev := range evs {
			if ev.Kind == wire.KindLine && (i == 0 || evs[i-1].Kind != wire.KindEncrypted) {
				t.Errorf("suite %x: plaintext event %d does not follow its record", suite, i)
			}
			if ev.Annotation == annKeyLogFailed || ev.Annotation == annKeyLogNoSecret {
				t.Errorf("suite %x: %s", suite, ev.Text)
			}
		}
	}
}

// dissectTraffic is dissectClient with a traffic key log and a Plaintext
// receiver.
func dissectTraffic(t *testing.T, addr string, cfg *tls.Config, plain func(wire.Direction, []byte) []wire.Event) []wire.Event {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := New()
	kl := NewTrafficKeyLog()
	d.UseKeyLog(kl)
	d.Plaintext = plain
	var (
		mu  sync.Mutex
		evs []wire.Event
	)
	tap := wire.NewTap(raw, time.Now(), func(dir wire.Direction, _ time.Duration, b []byte) {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, d.Feed(dir, b)...)
	})
	cfg.KeyLogWriter = kl
	tc := tls.Client(tap, cfg)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := bufio.NewReader(tc).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tc, "EHLO client.test\r\n"); err != nil {
		t.Fatal(err)
	}
	tc.Close()
	mu.Lock()
	defer mu.Unlock()
	evs = append(evs, d.Flush(wire.ClientToServer)...)
	evs = append(evs, d.Flush(wire.ServerToClient)...)
	return evs
}
