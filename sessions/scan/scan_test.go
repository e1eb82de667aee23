package scan

import (
	"bufio"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
)

func startLab(t testing.TB) *lab.Lab {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Options{AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// labOptions scans every endpoint of l, as `mailwire scan --lab` does.
func labOptions(l *lab.Lab) Options {
	o := Options{Host: lab.Hostname, ServerName: lab.Hostname, Roots: l.RootCAs(), Timeout: 30 * time.Second}
	for _, e := range l.Endpoints() {
		o.Ports = append(o.Ports, Port{Canonical: e.Canonical, Addr: e.Addr})
	}
	return o
}

// grades returns "grade key" of the findings of port.
func grades(fs []Finding, port int) []string {
	var out []string
	for _, f := range fs {
		if f.Port == port {
			out = append(out, string(f.Grade)+" "+f.Key)
		}
	}
	return out
}

func hasFinding(t *testing.T, fs []Finding, port int, want ...string) {
	t.Helper()
	got := grades(fs, port)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("port %d: findings %v lack %q", port, got, w)
		}
	}
}

func lacksFinding(t *testing.T, fs []Finding, port int, key string) {
	t.Helper()
	for _, f := range fs {
		if f.Port == port && f.Key == key {
			t.Errorf("port %d: unexpected %s %s: %s", port, f.Grade, f.Key, f.Detail)
		}
	}
}

func port(rep *Report, p int) *PortReport {
	for _, pr := range rep.Ports {
		if pr.Port == p {
			return pr
		}
	}
	return nil
}

// TestScanLab scans the lab's eight ports: each speaks its mode, STARTTLS
// is offered where it belongs, logins before TLS are refused by policy,
// the injection is discarded, TLS 1.2 and 1.3 with Go's suites, one
// certificate everywhere, and live progress for every port.
func TestScanLab(t *testing.T) {
	l := startLab(t)
	o := labOptions(l)
	var mu sync.Mutex
	done := map[int]bool{}
	probes := map[int]int{}
	o.OnProgress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Step == "done" {
			done[p.Port] = true
		}
		probes[p.Port] = max(probes[p.Port], p.Probes)
	}
	rep := Scan(context.Background(), o)
	if rep.Worst != Warn {
		t.Errorf("worst %s; findings:\n%s", rep.Worst, dump(rep.Findings))
	}
	for _, p := range []int{25, 587, 465, 110, 995, 143, 993, 443} {
		pr := port(rep, p)
		if pr == nil || pr.State != StateOpen {
			t.Fatalf("port %d: %+v", p, pr)
		}
		hasFinding(t, rep.Findings, p, "ok "+KeyModeExpected, "ok "+KeyVersionsOK, "ok "+KeyCertOK, "ok "+KeyOrderServer)
		if !done[p] || probes[p] < 10 {
			t.Errorf("port %d: progress done %v, %d probes", p, done[p], probes[p])
		}
		if pr.Negotiated == nil || pr.Negotiated.Version != "TLS 1.3" || pr.Chain == nil || len(pr.chainDER) < 1 {
			t.Errorf("port %d: negotiated %+v, chain %v, %d DER", p, pr.Negotiated, pr.Chain != nil, len(pr.chainDER))
		}
	}
	for _, p := range []int{25, 587, 110, 143} {
		hasFinding(t, rep.Findings, p, "ok "+KeyStartTLSOffered, "ok "+KeyCapabilities, "ok "+KeyInjectionSafe)
	}
	for _, p := range []int{587, 110, 143} {
		hasFinding(t, rep.Findings, p, "ok "+KeyLoginRefused)
		if lp := port(rep, p).Login; lp == nil || !lp.Tested || !strings.HasPrefix(lp.User, "mailwire-decoy-") {
			t.Errorf("port %d: login probe %+v", p, lp)
		}
	}
	hasFinding(t, rep.Findings, 143, "ok "+KeyLoginDisabled)
	if pr := port(rep, 587); !slices.Contains(pr.CapsAdded, "AUTH PLAIN LOGIN") || !slices.Contains(pr.CapsGone, "STARTTLS") {
		t.Errorf("587 capabilities: added %v, gone %v", pr.CapsAdded, pr.CapsGone)
	}
	// ALPN: Go's server refuses an unknown protocol only where it has
	// protocols of its own (443, h2 and http/1.1).
	hasFinding(t, rep.Findings, 443, "ok "+KeyALPNStrict)
	hasFinding(t, rep.Findings, 465, "warn "+KeyALPNLenient)
	lacksFinding(t, rep.Findings, 587, KeyALPNStrict)
	// Go's TLS 1.2 suites for an ECDSA key: the three of Mozilla's list
	// and two CBC-SHA.
	hasFinding(t, rep.Findings, 587, "warn "+KeySuiteOutside)
	hasFinding(t, rep.Findings, 25, "ok "+KeySuiteOutside)
	// ok on 25 only because its TLS is opportunistic, and it says so; the
	// same finding on 587 does not.
	tolerated := Title(KeyToleratedOn25)
	for _, f := range rep.Findings {
		if f.Key == KeySuiteOutside && (f.Port == 25) != strings.HasSuffix(f.Detail, "; "+tolerated) {
			t.Errorf("port %d %s: detail %q", f.Port, f.Key, f.Detail)
		}
	}
	if len(rep.Certificates) != 1 || len(rep.Certificates[0].Ports) != 8 {
		t.Errorf("certificates %+v", rep.Certificates)
	}
	hasFinding(t, rep.Findings, 0, "ok "+KeyCertPorts)
	for _, f := range rep.Findings {
		if f.Title == f.Key || f.Source == "" || f.Detail == "" {
			t.Errorf("finding without words: %+v", f)
		}
	}
}

func dump(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(string(f.Grade) + " " + f.Key + " " + f.Detail + "\n")
	}
	return b.String()
}

// TestScanLabModes: the lab's careless and vulnerable endpoints are
// graded bad, and ports that speak the other mode are told apart.
func TestScanLabModes(t *testing.T) {
	l := startLab(t)
	auth, err := l.AddEndpoint(587, lab.ModeCleartextAuth)
	if err != nil {
		t.Fatal(err)
	}
	authIMAP, err := l.AddEndpoint(143, lab.ModeCleartextAuth)
	if err != nil {
		t.Fatal(err)
	}
	vuln, err := l.AddEndpoint(25, lab.ModeInjectionVulnerable)
	if err != nil {
		t.Fatal(err)
	}
	implicit, _ := l.Endpoint(465)
	starttls, _ := l.Endpoint(587)
	o := Options{Host: lab.Hostname, ServerName: lab.Hostname, Roots: l.RootCAs(), Timeout: 30 * time.Second,
		Ports: []Port{{587, auth.Addr}, {143, authIMAP.Addr}, {25, vuln.Addr}}}
	rep := Scan(context.Background(), o)
	hasFinding(t, rep.Findings, 587, "bad "+KeyLoginChecked)
	hasFinding(t, rep.Findings, 143, "bad "+KeyLoginChecked, "warn "+KeyNoLoginDis)
	hasFinding(t, rep.Findings, 25, "bad "+KeyInjectionAnswered)
	if rep.Worst != Bad {
		t.Errorf("worst %s", rep.Worst)
	}
	for _, f := range rep.Findings {
		if f.Key == KeyLoginChecked && (f.Show == nil || f.Show.Scenario != "too-early") {
			t.Errorf("%s shows %+v", f.Key, f.Show)
		}
		if f.Key == KeyInjectionAnswered && (f.Show == nil || f.Show.Scenario != "command-injection") {
			t.Errorf("%s shows %+v", f.Key, f.Show)
		}
	}

	// The implicit-TLS port scanned as 587 and the STARTTLS port as 465.
	o.Ports = []Port{{587, implicit.Addr}, {465, starttls.Addr}}
	o.ReadTimeout = 2 * time.Second
	rep = Scan(context.Background(), o)
	hasFinding(t, rep.Findings, 587, "warn "+KeyModeTLSOnStartTLS)
	hasFinding(t, rep.Findings, 465, "bad "+KeyModeCleartextOnImplict)
	if pr := port(rep, 587); pr.Mode != ModeTLS {
		t.Errorf("587 on an implicit port: mode %q", pr.Mode)
	}
}

// fakeSMTP serves a scripted SMTP server on loopback: greeting, EHLO (the
// lines given), and 502 to anything else but QUIT.
func fakeSMTP(t *testing.T, ehlo ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				c.Write([]byte("220 fake.test ESMTP \x1b[31mred\x1b[0m\r\n"))
				br := bufio.NewReader(c)
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
					case "EHLO":
						for i, l := range ehlo {
							sep := "-"
							if i == len(ehlo)-1 {
								sep = " "
							}
							c.Write([]byte("250" + sep + l + "\r\n"))
						}
					case "QUIT":
						c.Write([]byte("221 bye\r\n"))
						return
					default:
						c.Write([]byte("502 5.5.1 not implemented\r\n"))
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestScanNoSTARTTLS: a server without STARTTLS is bad on 25 and 587, its
// control bytes never reach the report, and what could not be tested
// says so.
func TestScanNoSTARTTLS(t *testing.T) {
	addr := fakeSMTP(t, "fake.test", "PIPELINING", "AUTH PLAIN")
	o := Options{Host: "127.0.0.1", Ports: []Port{{25, addr}, {587, addr}}, Timeout: 20 * time.Second, ReadTimeout: 3 * time.Second}
	rep := Scan(context.Background(), o)
	for _, p := range []int{25, 587} {
		hasFinding(t, rep.Findings, p, "bad "+KeyStartTLSMissing, "warn "+KeyInjectionUntested, "warn "+KeyVersionUnknown)
		pr := port(rep, p)
		if pr.StartTLS == nil || *pr.StartTLS || strings.ContainsRune(pr.Greeting, 0x1b) {
			t.Errorf("port %d: starttls %v, greeting %q", p, pr.StartTLS, pr.Greeting)
		}
	}
	// The decoy login before TLS got 502: a refusal of the command.
	hasFinding(t, rep.Findings, 587, "ok "+KeyLoginRefused)
	for _, f := range rep.Findings {
		if strings.ContainsAny(f.Detail, "\x1b\x00\r\n") {
			t.Errorf("control bytes in %s: %q", f.Key, f.Detail)
		}
	}
}

// TestScanClosedAndUnreachable: a closed port is reported closed, a port
// that never answers is unreachable within the scan's time limit.
func TestScanClosedAndUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	var d net.Dialer
	o := Options{Host: "127.0.0.1", Ports: []Port{{587, closed}, {993, "127.0.0.1:1"}},
		Timeout: 4 * time.Second, ReadTimeout: time.Second, ProbeTimeout: time.Second,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr == "127.0.0.1:1" {
				<-ctx.Done() // a firewall that drops packets
				return nil, ctx.Err()
			}
			return d.DialContext(ctx, network, addr)
		}}
	start := time.Now()
	rep := Scan(context.Background(), o)
	if el := time.Since(start); el > 8*time.Second {
		t.Errorf("scan took %v with a 4 s limit", el)
	}
	if pr := port(rep, 587); pr.State != StateClosed {
		t.Errorf("closed port: %+v", pr)
	}
	if pr := port(rep, 993); pr.State != StateUnreachable {
		t.Errorf("silent port: %+v", pr)
	}
	hasFinding(t, rep.Findings, 587, "ok "+KeyPortClosed)
	hasFinding(t, rep.Findings, 993, "warn "+KeyPortUnreachable)
	if len(grades(rep.Findings, 587)) != 1 {
		t.Errorf("a closed port has more than one finding: %v", grades(rep.Findings, 587))
	}
}

// TestLimiterBounds: the sessions' connections to a host never exceed
// their share, and waiting for a slot does not eat the dial's time.
func TestLimiterBounds(t *testing.T) {
	var open, peak atomic.Int64
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		n := open.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		a, b := net.Pipe()
		go func() { b.Close() }()
		return a, nil
	}
	l := newLimiter(context.Background(), 3, 3, time.Second, dial)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
			defer cancel()
			time.Sleep(2 * time.Millisecond) // the dial's own limit has passed
			c, err := l.Dial(ctx, "tcp", "x:1")
			if err != nil {
				t.Error(err)
				return
			}
			time.Sleep(5 * time.Millisecond)
			open.Add(-1)
			c.Close()
			c.Close() // twice gives the slot back once
		})
	}
	wg.Wait()
	if peak.Load() > 3 {
		t.Errorf("%d connections open at once, bound 3", peak.Load())
	}
	cancelled, cancel := context.WithCancel(context.Background())
	l = newLimiter(cancelled, 1, 1, time.Second, dial)
	c, _ := l.Dial(context.Background(), "tcp", "x:1")
	cancel()
	if _, err := l.Dial(context.Background(), "tcp", "x:1"); !errors.Is(err, context.Canceled) {
		t.Errorf("a full limiter of a cancelled scan: %v", err)
	}
	c.Close()
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{}, {Ports: []Port{{2525, "127.0.0.1:2525"}}}, {Ports: []Port{{25, "no-port"}}}} {
		if o.Validate() == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if err := (Options{Host: "mail.example.org"}).Validate(); err != nil {
		t.Error(err)
	}
	ps := HostPorts("2001:db8::1", true)
	if len(ps) != 8 || ps[7].Addr != "[2001:db8::1]:443" || ps[0].Canonical != 25 {
		t.Errorf("%+v", ps)
	}
}
