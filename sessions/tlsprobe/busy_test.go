package tlsprobe

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// A server that turns connections away with "not now" (Exim's 421 past
// smtp_accept_max, in cleartext even on its implicit-TLS port; POP3's
// -ERR [SYS/TEMP]; IMAP's BYE [UNAVAILABLE]) is asked again after a
// pause: its answer is about its load, not about TLS. Before, the first
// such answer was the probe's result, and a scan of a default Exim
// reported most suites untested and 465 as "not-tls".
func TestProbeRetriesBusy(t *testing.T) {
	old := busyPause
	busyPause = time.Millisecond
	t.Cleanup(func() { busyPause = old })
	accepts := map[uint16][]uint16{VersionTLS12: {0xc02f}}
	hello := Hello{Version: VersionTLS12, Suites: []uint16{0xc02f}}
	for _, tc := range []struct {
		name, busyLine string
		target         func(addr string) Target
		front          func(net.Conn, *bufio.Reader) bool
	}{
		{"implicit smtp 421", "421 Too many concurrent SMTP connections; please try again later.\r\n",
			func(a string) Target { return Target{Addr: a} }, nil},
		{"implicit imap BYE", "* BYE [UNAVAILABLE] busy\r\n",
			func(a string) Target { return Target{Addr: a} }, nil},
		{"starttls smtp 421", "421 4.7.0 fake.test Error: too many connections\r\n",
			func(a string) Target { return Target{Addr: a, Proto: "smtp", StartTLS: true} }, smtpFront("220 go ahead\r\n", "")},
		{"starttls pop3 SYS/TEMP", "-ERR [SYS/TEMP] busy\r\n",
			func(a string) Target { return Target{Addr: a, Proto: "pop3", StartTLS: true} },
			func(c net.Conn, r *bufio.Reader) bool {
				c.Write([]byte("+OK ready\r\n"))
				if line, _ := r.ReadString('\n'); line != "STLS\r\n" {
					return false
				}
				c.Write([]byte("+OK go\r\n"))
				return true
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, &fakeServer{accepts: accepts, preamble: tc.front, busyLine: tc.busyLine})
			s := NewScanner(Options{})

			// A host that turned every probe away so far (closed to this
			// client, not over a limit): one retry, then the answer.
			f.busy.Store(1 << 30)
			a, err := s.Probe(context.Background(), tc.target(f.addr()), hello, false)
			if !Busy(a, err) || s.HostAnswered(f.addr()) {
				t.Fatalf("a host that never answered: %+v, %v; want a busy outcome", a, err)
			}
			if n := f.conns.Load(); n != 2 {
				t.Errorf("%d connections to a host that never answered, want 2", n)
			}

			// Once it answered, the scan's own load is what it turns
			// away: up to BusyRetries more tries.
			f.busy.Store(0)
			if a, err := s.Probe(context.Background(), tc.target(f.addr()), hello, false); err != nil || !a.Hello {
				t.Fatalf("%+v, %v", a, err)
			}
			f.busy.Store(BusyRetries)
			f.conns.Store(0)
			a, err = s.Probe(context.Background(), tc.target(f.addr()), hello, false)
			if err != nil || !a.Hello || a.Suite != 0xc02f {
				t.Fatalf("after %d busy answers: %+v, %v", BusyRetries, a, err)
			}
			if n := f.conns.Load(); n != BusyRetries+1 {
				t.Errorf("%d connections, want %d", n, BusyRetries+1)
			}

			// Always busy: the probe ends after its retries and says so.
			f.busy.Store(1 << 30)
			f.conns.Store(0)
			a, err = s.Probe(context.Background(), tc.target(f.addr()), hello, false)
			if !Busy(a, err) {
				t.Errorf("an always-busy server: %+v, %v; want a busy outcome", a, err)
			}
			if n := f.conns.Load(); n != BusyRetries+1 {
				t.Errorf("%d connections, want %d", n, BusyRetries+1)
			}
		})
	}
}

// A refusal that is not "not now" is the answer at once: no retry.
func TestProbeNoRetryOnRefusal(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: map[uint16][]uint16{VersionTLS12: {0xc02f}}, busyLine: "554 5.7.1 go away\r\n"})
	f.busy.Store(1 << 30)
	a, err := NewScanner(Options{}).Probe(context.Background(), Target{Addr: f.addr()}, Hello{Version: VersionTLS12, Suites: []uint16{0xc02f}}, false)
	if err != nil || a.Refusal == nil || a.Refusal.Kind != RefusedNotTLS || a.Refusal.Busy {
		t.Fatalf("%+v, %v", a, err)
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	var pe *PreambleError
	if errors.As(err, &pe) {
		t.Errorf("preamble error %v", pe)
	}
}

// A preamble that times out before any reply says so without an empty
// quote: OpenSMTPD 6.8 stalled some greetings past the probe's limit, and
// the scan showed `greeting: read tcp …: i/o timeout (after "")`.
func TestPreambleSilentError(t *testing.T) {
	f := newFakeServer(t, &fakeServer{accepts: map[uint16][]uint16{VersionTLS12: {0xc02f}},
		preamble: func(c net.Conn, r *bufio.Reader) bool { r.ReadString('\n'); return false }})
	s := NewScanner(Options{ProbeTimeout: 200 * time.Millisecond})
	_, err := s.Probe(context.Background(), Target{Addr: f.addr(), Proto: "smtp", StartTLS: true},
		Hello{Version: VersionTLS12, Suites: []uint16{0xc02f}}, false)
	if err == nil || !strings.HasPrefix(err.Error(), "greeting: ") || strings.Contains(err.Error(), `(after "")`) {
		t.Fatalf("error %v", err)
	}
}

// Once a host said it is busy, the Scanner asks it fewer at once: a
// quarter of PerHost (against Exim's smtp_accept_max, retries alone
// still ran out).
func TestBusyHostCalmed(t *testing.T) {
	s := NewScanner(Options{PerHost: 8})
	tg := Target{Addr: "127.0.0.1:1"}
	take := func() (func(), bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		release, err := s.acquire(ctx, tg)
		return release, err == nil
	}
	var held []func()
	for range 8 {
		r, ok := take()
		if !ok {
			t.Fatal("PerHost slots not available")
		}
		held = append(held, r)
	}
	for _, r := range held {
		r()
	}
	held = nil
	s.calmHost(tg)
	for range 2 {
		r, ok := take()
		if !ok {
			t.Fatal("a calmed host gives no slot at all")
		}
		held = append(held, r)
	}
	if r, ok := take(); ok {
		r()
		t.Error("a calmed host gave a third slot of PerHost 8 (want a quarter)")
	}
	for _, r := range held {
		r()
	}
}

// A host that turns every probe away: each version is untested
// (Incomplete, with the reason), not refused: scan graded such a port
// "No TLS version is accepted".
func TestScanAlwaysBusy(t *testing.T) {
	old := busyPause
	busyPause = time.Millisecond
	t.Cleanup(func() { busyPause = old })
	f := newFakeServer(t, &fakeServer{accepts: map[uint16][]uint16{VersionTLS12: {0xc02f}},
		busyLine: "421 Too many concurrent SMTP connections; please try again later.\r\n"})
	f.busy.Store(1 << 30)
	r := NewScanner(Options{}).Scan(context.Background(), Target{Addr: f.addr()})
	for _, v := range r.Versions {
		if v.Supported || v.Refusal != nil || !v.Incomplete || len(v.Errors) == 0 || !strings.Contains(v.Errors[0], "turned the probe away") {
			t.Errorf("%s: supported %v, refusal %v, incomplete %v, errors %v", v.Name, v.Supported, v.Refusal, v.Incomplete, v.Errors)
		}
	}
}
