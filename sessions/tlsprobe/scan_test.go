package tlsprobe

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func ids(s []Suite) []uint16 {
	out := make([]uint16, len(s))
	for i, x := range s {
		out[i] = x.ID
	}
	return out
}

func sorted(s []uint16) []uint16 {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// A server of the old school: TLS 1.0 to 1.2, anonymous, export, RC4,
// 3DES and NULL suites among the good ones, and TLS 1.3.
var oldSchool = map[uint16][]uint16{
	VersionTLS10: {0xc014, 0x0039, 0x0035, 0x000a, 0x0005},
	VersionTLS12: {0xc030, 0xc02f, 0xcca8, 0x009f, 0xc014, 0x0039, 0x0035, 0x000a, 0x0005, 0x0004,
		0x00a7, 0x003a, 0xc019, 0x0018, 0x0003, 0x0014, 0x0002, 0xc010, 0x0064, 0xc0a2},
	VersionTLS13: {0x1302, 0x1301, 0x1303},
}

func TestScanFindsEverySuite(t *testing.T) {
	for _, order := range []string{"server", "client"} {
		t.Run(order, func(t *testing.T) {
			f := newFakeServer(t, &fakeServer{accepts: oldSchool, clientOrder: order == "client"})
			s := NewScanner(Options{PerHost: 4})
			r := s.Scan(context.Background(), Target{Addr: f.addr()})
			if r.Error != "" {
				t.Fatal(r.Error)
			}
			accepted := 0
			for _, v := range r.Versions {
				want, ok := oldSchool[v.Version]
				if v.Supported != ok || v.Incomplete {
					t.Errorf("%s: supported %v, incomplete %v %v", v.Name, v.Supported, v.Incomplete, v.Errors)
				}
				if !slices.Equal(sorted(ids(v.Suites)), sorted(want)) {
					t.Errorf("%s: found %04x, want %04x", v.Name, sorted(ids(v.Suites)), sorted(want))
				}
				accepted += len(want)
				if ok && len(want) > 1 && v.Order != Order(order) {
					t.Errorf("%s: order %q, want %q", v.Name, v.Order, order)
				}
				if ok && order == "server" && v.Preferred != want[0] {
					t.Errorf("%s: preferred %04x, want %04x", v.Name, v.Preferred, want[0])
				}
			}
			// TLS 1.1 gets the server's highest below it; SSL 3.0 an alert.
			if v := r.Version(VersionTLS11); v.Refusal == nil || v.Refusal.Kind != RefusedOtherVersion || v.Refusal.Version != VersionTLS10 {
				t.Errorf("TLS 1.1: %+v", v.Refusal)
			}
			if v := r.Version(VersionSSL30); v.Refusal == nil || v.Refusal.Kind != RefusedAlert || v.Refusal.Alert != 70 {
				t.Errorf("SSL 3.0: %+v", v.Refusal)
			}
			// One probe per accepted suite, one refusal per part, the
			// version probes and two order probes per version: nowhere
			// near one per candidate (over 300).
			budget := accepted + 5 + 3*4 + 3*2
			if r.Probes > budget || int(f.conns.Load()) != r.Probes {
				t.Errorf("%d probes (%d connections), budget %d", r.Probes, f.conns.Load(), budget)
			}
			// The anonymous suites come without a chain, the others with
			// the one chain.
			v12 := r.Version(VersionTLS12)
			for _, s := range v12.Suites {
				if s.Anonymous() != (s.Chain == -1) {
					t.Errorf("%s: chain %d", s.Name, s.Chain)
				}
			}
			if len(r.Chains) != 1 || r.Chains[0].Facts == nil || r.Chains[0].Facts.Certs[0].Subject != "CN=probe.test" {
				t.Errorf("chains %+v", r.Chains)
			}
		})
	}
}

func TestScanOrder(t *testing.T) {
	accepts := map[uint16][]uint16{VersionTLS12: {0xc02f, 0xcca8, 0xc030, 0xc013}, VersionTLS13: {0x1301, 0x1303}}
	for _, tc := range []struct {
		name string
		f    func() *fakeServer
		want Order
		v13  Order
	}{
		{"server", func() *fakeServer { return &fakeServer{} }, OrderServer, OrderServer},
		{"client", func() *fakeServer { return &fakeServer{clientOrder: true} }, OrderClient, OrderClient},
		// A ChaCha20 exception is still the server's order; with only
		// two suites, one ChaCha20, it cannot be told from the client's.
		{"chacha first", func() *fakeServer { return &fakeServer{chachaFirst: true} }, OrderServer, OrderClient},
		{"last offered", func() *fakeServer { return &fakeServer{lastOffered: true} }, OrderMixed, OrderMixed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := tc.f()
			fs.accepts = accepts
			f := newFakeServer(t, fs)
			r := NewScanner(Options{Versions: []uint16{VersionTLS12, VersionTLS13}}).Scan(context.Background(), Target{Addr: f.addr()})
			if got := r.Version(VersionTLS12).Order; got != tc.want {
				t.Errorf("TLS 1.2 order %q, want %q", got, tc.want)
			}
			if got := r.Version(VersionTLS13).Order; got != tc.v13 {
				t.Errorf("TLS 1.3 order %q, want %q", got, tc.v13)
			}
		})
	}
	// One suite: no order to speak of.
	f := newFakeServer(t, &fakeServer{accepts: map[uint16][]uint16{VersionTLS12: {0xc02f}}})
	r := NewScanner(Options{Versions: []uint16{VersionTLS12}}).Scan(context.Background(), Target{Addr: f.addr()})
	if v := r.Version(VersionTLS12); v.Order != OrderUnknown || len(v.Suites) != 1 {
		t.Errorf("%+v", v)
	}
}

// TestScanCloseRefusal: a server that refuses by closing (Dovecot) is
// enumerated as fully as one that alerts.
func TestScanCloseRefusal(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: oldSchool, closeToRefuse: true})
	r := NewScanner(Options{}).Scan(context.Background(), Target{Addr: f.addr()})
	if v := r.Version(VersionSSL30); v.Refusal == nil || v.Refusal.Kind != RefusedClosed {
		t.Errorf("SSL 3.0: %+v", v.Refusal)
	}
	if v := r.Version(VersionTLS12); v.Incomplete || len(v.Suites) != len(oldSchool[VersionTLS12]) {
		t.Errorf("TLS 1.2: %d suites, incomplete %v %v", len(v.Suites), v.Incomplete, v.Errors)
	}
}

// TestScanLyingServer: a server that chooses a suite it was not offered
// stops the enumeration, which says so, instead of looping.
func TestScanLyingServer(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: map[uint16][]uint16{VersionTLS12: oldSchool[VersionTLS12]}, lies: true})
	r := NewScanner(Options{Versions: []uint16{VersionTLS12}, PerHost: 2}).Scan(context.Background(), Target{Addr: f.addr()})
	v := r.Version(VersionTLS12)
	if !v.Supported || !v.Incomplete || len(v.Errors) == 0 || !strings.Contains(strings.Join(v.Errors, " "), "not offered") {
		t.Errorf("%+v", v)
	}
	if r.Probes > 10 {
		t.Errorf("%d probes", r.Probes)
	}
}

func TestScanSilentServer(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: oldSchool, silent: true})
	start := time.Now()
	r := NewScanner(Options{ProbeTimeout: 300 * time.Millisecond}).Scan(context.Background(), Target{Addr: f.addr()})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("took %v", took)
	}
	for _, v := range r.Versions {
		if v.Supported || v.Refusal == nil || v.Refusal.Kind != RefusedTimeout {
			t.Errorf("%s: %+v", v.Name, v.Refusal)
		}
	}
}

// countingDialer counts the connections a Scanner holds open at once.
type countingDialer struct {
	open, max atomic.Int64
}

type countedConn struct {
	net.Conn
	d    *countingDialer
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.d.open.Add(-1) })
	return c.Conn.Close()
}

func (d *countingDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	n := d.open.Add(1)
	for m := d.max.Load(); n > m && !d.max.CompareAndSwap(m, n); m = d.max.Load() {
	}
	return &countedConn{Conn: c, d: d}, nil
}

func TestScanBudgetAndBounds(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: oldSchool})
	d := &countingDialer{}
	r := NewScanner(Options{MaxProbes: 12, PerHost: 3, Dial: d.dial}).Scan(context.Background(), Target{Addr: f.addr()})
	if r.Probes > 12 || f.conns.Load() > 12 {
		t.Errorf("%d probes, %d connections; budget 12", r.Probes, f.conns.Load())
	}
	if v := r.Version(VersionTLS12); !v.Incomplete {
		t.Errorf("TLS 1.2 not marked incomplete: %+v", v)
	}
	if m := d.max.Load(); m > 3 || m < 2 {
		t.Errorf("%d connections open at once, PerHost 3", m)
	}

	// Two scans of one host share its bound; Total bounds all hosts.
	f2 := newFakeServer(t, &fakeServer{accepts: oldSchool})
	d2 := &countingDialer{}
	s := NewScanner(Options{PerHost: 2, Total: 8, Dial: d2.dial})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { s.Scan(context.Background(), Target{Addr: f2.addr()}) })
	}
	wg.Wait()
	if m := d2.max.Load(); m != 2 {
		t.Errorf("%d connections open at once to one host, PerHost 2", m)
	}
	d3 := &countingDialer{}
	s = NewScanner(Options{PerHost: 8, Total: 3, Dial: d3.dial})
	for _, a := range []string{f.addr(), f2.addr(), strings.Replace(f.addr(), "127.0.0.1", "localhost", 1)} {
		wg.Go(func() { s.Scan(context.Background(), Target{Addr: a}) })
	}
	wg.Wait()
	if m := d3.max.Load(); m != 3 {
		t.Errorf("%d connections open at once, Total 3", m)
	}

	// PerAddr: two ports of one host each get at most their share of it.
	d4 := &countingDialer{}
	byAddr := map[string]*atomic.Int64{f.addr(): {}, f2.addr(): {}}
	peak := map[string]*atomic.Int64{f.addr(): {}, f2.addr(): {}}
	s = NewScanner(Options{PerHost: 8, PerAddr: 2, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := byAddr[addr].Add(1)
		for m := peak[addr].Load(); n > m && !peak[addr].CompareAndSwap(m, n); m = peak[addr].Load() {
		}
		c, err := d4.dial(ctx, network, addr)
		if err != nil {
			byAddr[addr].Add(-1)
			return nil, err
		}
		return &addrConn{Conn: c, n: byAddr[addr]}, nil
	}})
	for _, a := range []string{f.addr(), f2.addr()} {
		wg.Go(func() { s.Scan(context.Background(), Target{Addr: a}) })
	}
	wg.Wait()
	for a, p := range peak {
		if p.Load() > 2 || p.Load() < 1 {
			t.Errorf("%s: %d connections open at once, PerAddr 2", a, p.Load())
		}
	}
}

// addrConn counts its address's open connections down on Close.
type addrConn struct {
	net.Conn
	n    *atomic.Int64
	once sync.Once
}

func (c *addrConn) Close() error {
	c.once.Do(func() { c.n.Add(-1) })
	return c.Conn.Close()
}

func TestScanCancelled(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: oldSchool, silent: true})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := NewScanner(Options{ProbeTimeout: time.Minute}).Scan(ctx, Target{Addr: f.addr()})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("a cancelled scan took %v", took)
	}
	for _, v := range r.Versions {
		if v.Supported {
			t.Errorf("%s supported", v.Name)
		}
	}
}

func TestScanClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := NewScanner(Options{}).Scan(context.Background(), Target{Addr: addr})
	if r.Error == "" || r.Versions != nil || !strings.Contains(r.Error, "connect") {
		t.Errorf("error %q, versions %v", r.Error, r.Versions)
	}
}

// Scripted STARTTLS dialogues in front of the fake TLS server.

func smtpFront(starttls string, inject string) func(net.Conn, *bufio.Reader) bool {
	return func(c net.Conn, r *bufio.Reader) bool {
		c.Write([]byte("220 fake.test ESMTP\r\n"))
		line, _ := r.ReadString('\n')
		if !strings.HasPrefix(line, "EHLO [127.0.0.1]") {
			c.Write([]byte("501 bad EHLO " + line))
			return false
		}
		c.Write([]byte("250-fake.test\r\n250 STARTTLS\r\n"))
		if line, _ = r.ReadString('\n'); line != "STARTTLS\r\n" {
			return false
		}
		c.Write([]byte(starttls + inject))
		return strings.HasPrefix(starttls, "220")
	}
}

func TestScanStartTLS(t *testing.T) {
	accepts := map[uint16][]uint16{VersionTLS12: {0xc02f, 0x00a7}}
	for _, tc := range []struct {
		name  string
		proto string
		front func(net.Conn, *bufio.Reader) bool
		err   string
	}{
		{"smtp", "smtp", smtpFront("220 go ahead\r\n", ""), ""},
		// Bytes after the go-ahead are not the server's TLS answer.
		{"smtp injection", "smtp", smtpFront("220 go ahead\r\n", "250 injected\r\n"), ""},
		{"smtp refused", "smtp", smtpFront("454 4.7.0 TLS not available\r\n", ""), `STARTTLS: the server answered "454 4.7.0 TLS not available\r\n"`},
		{"smtp greeting 554", "smtp", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("554 go away\r\n"))
			return false
		}, "greeting"},
		{"imap", "imap", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"))
			if line, _ := r.ReadString('\n'); line != "a STARTTLS\r\n" {
				return false
			}
			c.Write([]byte("* CAPABILITY IMAP4rev1 STARTTLS\r\na OK Begin TLS\r\n"))
			return true
		}, ""},
		{"imap preauth", "imap", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("* PREAUTH welcome\r\n"))
			return false
		}, "greeting"},
		{"imap refused", "imap", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("* OK ready\r\n"))
			r.ReadString('\n')
			c.Write([]byte("a NO no TLS today\r\n"))
			return false
		}, "STARTTLS"},
		{"pop3", "pop3", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("+OK ready\r\n"))
			if line, _ := r.ReadString('\n'); line != "STLS\r\n" {
				return false
			}
			c.Write([]byte("+OK Begin TLS\r\n"))
			return true
		}, ""},
		{"pop3 refused", "pop3", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("+OK ready\r\n"))
			r.ReadString('\n')
			c.Write([]byte("-ERR not here\r\n"))
			return false
		}, "STLS"},
		{"cleartext flood", "smtp", func(c net.Conn, r *bufio.Reader) bool {
			c.Write([]byte("220-" + strings.Repeat("x", 100<<10)))
			return false
		}, "greeting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, &fakeServer{accepts: accepts, preamble: tc.front})
			r := NewScanner(Options{Versions: []uint16{VersionTLS12}, ProbeTimeout: 2 * time.Second}).
				Scan(context.Background(), Target{Addr: f.addr(), Proto: tc.proto, StartTLS: true})
			if tc.err != "" {
				if !strings.Contains(r.Error, tc.err) {
					t.Errorf("error %q, want %q", r.Error, tc.err)
				}
				return
			}
			if r.Error != "" {
				t.Fatal(r.Error)
			}
			if v := r.Version(VersionTLS12); !slices.Equal(sorted(ids(v.Suites)), []uint16{0x00a7, 0xc02f}) {
				t.Errorf("suites %04x", ids(v.Suites))
			}
		})
	}
}

func TestScanALPN(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: map[uint16][]uint16{VersionTLS12: {0xc02f}, VersionTLS13: {0x1301}}})
	r := NewScanner(Options{ALPN: true}).Scan(context.Background(), Target{Addr: f.addr()})
	// Offered with TLS 1.2, where the choice is visible.
	if r.ALPN == nil || r.ALPN.Version != VersionTLS12 || !r.ALPN.WentOn || r.ALPN.Strict || r.ALPN.Offered != UnknownALPN {
		t.Errorf("%+v", r.ALPN)
	}
}

func TestProbeEvents(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: oldSchool})
	var mu sync.Mutex
	purposes := map[string]int{}
	r := NewScanner(Options{OnProbe: func(e ProbeEvent) {
		mu.Lock()
		defer mu.Unlock()
		purposes[e.Purpose]++
		if e.Answer == nil && e.Err == nil || e.Offered == 0 {
			t.Errorf("event %+v", e)
		}
	}}).Scan(context.Background(), Target{Addr: f.addr()})
	total := 0
	for _, n := range purposes {
		total += n
	}
	if total != r.Probes || purposes["version"] != 5 || purposes["order"] != 6 || purposes["suites"] == 0 {
		t.Errorf("events %v, probes %d", purposes, r.Probes)
	}
}
