package tlsprobe

import (
	"context"
	"sync"
	"testing"

	"github.com/mailwire/mailwire/sessions/internal/peers"
	"github.com/mailwire/mailwire/sessions/lab"
)

// The scan's cost: a full version and suite probe (every version, every
// suite, both orders, ALPN) of one port, and of a host's seven mail ports
// at once, sharing one Scanner's bounds as `mailwire scan` does. Each
// reports the connections it made per scan (probes/op).
//
//	go test -run XXX -bench Scan -benchtime 5x ./sessions/tlsprobe/
//	MAILWIRE_PEERS=127.0.0.2 go test -run XXX -bench ScanPeers -benchtime 5x ./sessions/tlsprobe/

func benchScan(b *testing.B, targets []Target, opts Options) {
	b.ReportAllocs()
	probes := 0
	for b.Loop() {
		s := NewScanner(opts)
		var wg sync.WaitGroup
		results := make([]*PortResult, len(targets))
		for i, t := range targets {
			wg.Go(func() { results[i] = s.Scan(context.Background(), t) })
		}
		wg.Wait()
		for _, r := range results {
			if r.Error != "" {
				b.Fatalf("%s: %s", r.Target.Addr, r.Error)
			}
			probes += r.Probes
		}
	}
	b.ReportMetric(float64(probes)/float64(b.N), "probes/op")
}

func labMailTargets(b *testing.B) ([]Target, Options) {
	l := startLab(b)
	var ts []Target
	for _, e := range l.Endpoints() {
		if e.Proto != lab.ProtoHTTPS {
			ts = append(ts, labTarget(e))
		}
	}
	return ts, Options{Roots: l.RootCAs(), ALPN: true}
}

func BenchmarkScanLabPort(b *testing.B) {
	ts, opts := labMailTargets(b)
	for _, t := range ts {
		if t.Addr != "" && t.Proto == lab.ProtoSMTP && t.StartTLS {
			benchScan(b, []Target{t}, opts)
			return
		}
	}
}

func BenchmarkScanLabSeven(b *testing.B) {
	ts, opts := labMailTargets(b)
	benchScan(b, ts, opts)
}

func peerTargets(p peers.Peers) []Target {
	var ts []Target
	for _, pp := range peerPorts {
		ts = append(ts, Target{Addr: p.Addr(pp.port), Proto: pp.proto, StartTLS: pp.starttls, ServerName: peers.ServerName})
	}
	return ts
}

func BenchmarkScanPeersPort587(b *testing.B) {
	p := peers.Find(b)
	benchScan(b, peerTargets(p)[1:2], Options{Roots: p.Roots, ALPN: true})
}

func BenchmarkScanPeersPort993(b *testing.B) {
	p := peers.Find(b)
	benchScan(b, peerTargets(p)[6:7], Options{Roots: p.Roots, ALPN: true})
}

func BenchmarkScanPeersSeven(b *testing.B) {
	p := peers.Find(b)
	benchScan(b, peerTargets(p), Options{Roots: p.Roots, ALPN: true})
}
