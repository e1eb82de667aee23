package scan

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// A server that caps its connections turns some of a scan's away with
// "not now" (Exim past smtp_accept_max answers 421, in cleartext even on
// 465). The scan asks again (its probes, its session, its scenarios), so
// the report is the port's, complete, not the server's load: before, the
// turned-away session or scenario was graded as the port's answer and
// the turned-away probes left suites untested.
func TestScanServerBusy(t *testing.T) {
	l := startLab(t)
	o := labOptions(l)
	var keep []Port
	for _, p := range o.Ports {
		if p.Canonical == 587 || p.Canonical == 465 || p.Canonical == 110 {
			keep = append(keep, p)
		}
	}
	o.Ports = keep
	busy := map[int][]byte{
		587: []byte("421 Too many concurrent SMTP connections; please try again later.\r\n"),
		465: []byte("421 Too many concurrent SMTP connections; please try again later.\r\n"),
		110: []byte("-ERR [SYS/TEMP] too many connections\r\n"),
	}
	canonical := map[string]int{}
	for _, p := range keep {
		canonical[p.Addr] = p.Canonical
	}
	away := turnAway(t)
	var n, turned atomic.Int64
	var d net.Dialer
	o.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The first connections each port sees, and every third after,
		// up to 60: more than the scan opens at once.
		if i := n.Add(1); i <= 12 || i <= 60 && i%3 == 0 {
			turned.Add(1)
			return d.DialContext(ctx, network, away(busy[canonical[addr]]))
		}
		return d.DialContext(ctx, network, addr)
	}
	rep := Scan(context.Background(), o)
	if turned.Load() < 12 {
		t.Fatalf("only %d connections turned away", turned.Load())
	}
	for _, p := range []int{587, 465, 110} {
		hasFinding(t, rep.Findings, p, "ok "+KeyModeExpected, "ok "+KeyVersionsOK, "ok "+KeyCertOK)
		lacksFinding(t, rep.Findings, p, KeyIncomplete)
		for _, e := range port(rep, p).Errors {
			t.Errorf("port %d: error %s", p, wire.SafeString(e))
		}
	}
	for _, p := range []int{587, 110} {
		hasFinding(t, rep.Findings, p, "ok "+KeyStartTLSOffered, "ok "+KeyLoginRefused, "ok "+KeyInjectionSafe)
	}
	lacksFinding(t, rep.Findings, 465, KeyALPNUnknown)
	if t.Failed() {
		t.Logf("findings:\n%s", dump(rep.Findings))
	}
}

// turnAway returns a function that gives the address of a loopback
// listener answering every connection with line, then closing it, as a
// server over its connection limit does (one listener per line).
func turnAway(t *testing.T) func(line []byte) string {
	var mu sync.Mutex
	addrs := map[string]string{}
	return func(line []byte) string {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := addrs[string(line)]; ok {
			return a
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Error(err)
			return ""
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Write(line)
				c.Close()
			}
		}()
		addrs[string(line)] = ln.Addr().String()
		return ln.Addr().String()
	}
}
