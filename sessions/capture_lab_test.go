package sessions_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestLabCaptureAndKeyLog: with Options.Capture a session keeps every byte
// its connection carried (as many as the close event counts, though the
// events keep less: a decrypted line is not what crossed), and with
// Options.KeyLog it hands out its TLS secrets in the NSS key log format:
// CLIENT_RANDOM for TLS 1.2, the handshake and application traffic
// secrets for TLS 1.3.
func TestLabCaptureAndKeyLog(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		port    int
		version uint16
		labels  []string
	}{
		{587, tls.VersionTLS12, []string{"CLIENT_RANDOM"}},
		{993, tls.VersionTLS13, []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
			"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}},
	} {
		t.Run(fmt.Sprintf("%d %s", tc.port, tls.VersionName(tc.version)), func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.MaxTLS = tc.version
			o.Capture = wire.NewCapture(0)
			var keys wire.KeyLogBuffer
			o.KeyLog = &keys
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			conns := o.Capture.Snapshot()
			if len(conns) != 1 || conns[0].End == 0 || conns[0].Dropped != 0 {
				t.Fatalf("capture %+v", conns)
			}
			var sent, received int
			for _, ch := range conns[0].Chunks {
				if ch.Dir == wire.ClientToServer {
					sent += len(ch.Data)
				} else {
					received += len(ch.Data)
				}
			}
			closing := evs[len(evs)-1].Text
			if want := fmt.Sprintf("%d bytes sent, %d received", sent, received); !strings.Contains(closing, want) {
				t.Errorf("captured %s; the close event says %q", want, closing)
			}
			log := string(keys.Bytes())
			for _, label := range tc.labels {
				if !strings.Contains(log, label+" ") {
					t.Errorf("key log has no %s:\n%s", label, log)
				}
			}
		})
	}
}
