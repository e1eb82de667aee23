package loadgen

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
)

// startLab starts a lab on free ports with a private state dir; mod may
// change the options first. Only the lab's exported API is used: this
// package is a client.
func startLab(t testing.TB, mod func(*lab.Options)) *lab.Lab {
	t.Helper()
	opts := lab.Options{
		ListenHost: "127.0.0.1",
		AnyPort:    true,
		StateDir:   t.TempDir(),
		Limits:     lab.DefaultLimits(),
	}
	if mod != nil {
		mod(&opts)
	}
	l, err := lab.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return l
}

func target(t testing.TB, l *lab.Lab, canonical int) string {
	t.Helper()
	e, ok := l.Endpoint(canonical)
	if !ok {
		t.Fatalf("no endpoint %d", canonical)
	}
	return e.Addr
}

func labOptions(t testing.TB, l *lab.Lab, canonical int) Options {
	return Options{
		Target:   target(t, l, canonical),
		TLS:      &tls.Config{RootCAs: l.RootCAs(), ServerName: lab.Hostname},
		User:     lab.DemoUser,
		Password: lab.DemoPassword,
		Timeout:  20 * time.Second,
	}
}

// TestLoadHeldTogether: with its caps raised, the lab holds 100
// authenticated STARTTLS sessions open at the same moment (Hold proves
// they overlap), then serves 200 more, without one failure.
func TestLoadHeldTogether(t *testing.T) {
	var accepted, rejected atomic.Int64
	l := startLab(t, func(o *lab.Options) {
		o.Limits.MaxConns = 150
		o.Limits.MaxConnsPerClient = 150
		o.OnConnect = func(c lab.ConnLog) {
			if c.Rejected {
				rejected.Add(1)
			} else {
				accepted.Add(1)
			}
		}
	})
	o := labOptions(t, l, 587)
	o.Concurrency, o.Sessions, o.Hold = 100, 300, true
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 300 || r.Failed != 0 || r.Sessions != 300 {
		t.Fatalf("sessions %d, ok %d, failed %d: %v", r.Sessions, r.OK, r.Failed, r.Errors)
	}
	if r.PeakOpen != 100 {
		t.Errorf("peak open %d, want all 100 held together", r.PeakOpen)
	}
	if r.Rate <= 0 || r.P50 <= 0 || r.Max < r.P99 || r.P99 < r.P50 || r.PeakHeap == 0 {
		t.Errorf("implausible figures: %+v", r)
	}
	if accepted.Load() != 300 || rejected.Load() != 0 {
		t.Errorf("lab accepted %d and rejected %d connections, want 300 and 0", accepted.Load(), rejected.Load())
	}
}

// TestLoadPerClientCap: the lab's default per-client cap (16) refuses a
// 40-session burst from one address with its 421, and the generator counts
// each refusal by its words; spreading the sources over 127.0.0.x instead
// stays under the cap without raising it.
func TestLoadPerClientCap(t *testing.T) {
	l := startLab(t, func(o *lab.Options) { o.Limits.MaxConns = 100 })
	o := labOptions(t, l, 587)
	o.Concurrency, o.Sessions, o.Hold = 40, 40, true
	o.HoldTimeout = 5 * time.Second

	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed == 0 || r.Errors["greeting: 421 4.7.0 Too many connections"] != r.Failed {
		t.Fatalf("from one address: ok %d, failed %d, errors %v; want refusals by the per-client cap", r.OK, r.Failed, r.Errors)
	}
	if r.PeakOpen > 16 {
		t.Errorf("peak open %d over the per-client cap of 16", r.PeakOpen)
	}

	for i := range 4 {
		o.SourceIPs = append(o.SourceIPs, net.IPv4(127, 0, 0, byte(20+i)))
	}
	r, err = Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 40 || r.PeakOpen != 40 {
		t.Fatalf("over 4 addresses: ok %d, peak %d, errors %v", r.OK, r.PeakOpen, r.Errors)
	}
}

func TestLoadCountsRefusals(t *testing.T) {
	l := startLab(t, nil)
	o := labOptions(t, l, 587)
	o.Password = "wrong"
	o.Concurrency, o.Sessions = 4, 8
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	const want = "AUTH: 535 5.7.8 Error: authentication failed: authentication failure"
	if r.OK != 0 || r.Errors[want] != 8 {
		t.Fatalf("ok %d, errors %v", r.OK, r.Errors)
	}
}

// TestFlows runs every flow against the lab on each port it fits, STARTTLS
// and implicit TLS, and checks that each went through to its end.
func TestFlows(t *testing.T) {
	l := startLab(t, nil)
	cases := []struct {
		flow     Flow
		port     int
		implicit bool
	}{
		{SMTPAuth, 587, false},
		{SMTPAuth, 465, true},
		{SMTPSubmit, 587, false},
		{SMTPSubmit, 465, true},
		{IMAPLogin, 143, false},
		{IMAPLogin, 993, true},
		{POP3Login, 110, false},
		{POP3Login, 995, true},
		{HTTPSGet, 443, true},
	}
	for _, tc := range cases {
		t.Run(tc.flow.String()+"/"+target(t, l, tc.port), func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.Flow, o.Implicit = tc.flow, tc.implicit
			o.Rcpt = lab.DemoUser + "@" + lab.Hostname
			// POP3 locks the maildrop for one session (RFC 1939 §4).
			o.Concurrency, o.Sessions = 2, 4
			if tc.flow == POP3Login {
				o.Concurrency = 1
			}
			r, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != 4 {
				t.Fatalf("ok %d of %d: %v", r.OK, r.Sessions, r.Errors)
			}
		})
	}
}

// TestFlowRefusals: each flow names the step a server refused and quotes
// the refusal, never the password.
func TestFlowRefusals(t *testing.T) {
	l := startLab(t, nil)
	cases := []struct {
		flow     Flow
		port     int
		implicit bool
		want     string
	}{
		{IMAPLogin, 993, true, "LOGIN: a2 NO [AUTHENTICATIONFAILED]"},
		{POP3Login, 995, true, "PASS: -ERR [AUTH]"},
		{SMTPSubmit, 465, true, "AUTH: 535 5.7.8"},
	}
	for _, tc := range cases {
		t.Run(tc.flow.String(), func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.Flow, o.Implicit, o.Rcpt = tc.flow, tc.implicit, "x@y"
			o.Password = "not-the-password"
			o.Concurrency, o.Sessions = 1, 1
			r, err := Run(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != 0 || len(r.Errors) != 1 {
				t.Fatalf("ok %d, errors %v", r.OK, r.Errors)
			}
			for k := range r.Errors {
				if !strings.HasPrefix(k, tc.want) || strings.Contains(k, o.Password) {
					t.Errorf("error %q, want it to start %q and not to quote the password", k, tc.want)
				}
			}
		})
	}
}

// TestDurationAndOnSession: a run bounded by time hands out sessions until
// the time is up, pauses between a worker's sessions, and reports each
// session to OnSession.
func TestDurationAndOnSession(t *testing.T) {
	l := startLab(t, nil)
	o := labOptions(t, l, 443)
	o.Flow = HTTPSGet
	o.Concurrency, o.Duration, o.Pause = 2, 600*time.Millisecond, 100*time.Millisecond
	var mu sync.Mutex
	var seen []time.Duration
	o.OnSession = func(_ time.Time, d time.Duration, err error) {
		if err != nil {
			t.Errorf("session: %v", err)
		}
		mu.Lock()
		seen = append(seen, d)
		mu.Unlock()
	}
	t0 := time.Now()
	r, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	if took < o.Duration || took > o.Duration+5*time.Second {
		t.Errorf("ran %v for a duration of %v", took, o.Duration)
	}
	// Two workers, a session and a 100 ms pause each: at most 2×7.
	if r.OK < 2 || r.OK > 14 || len(seen) != r.Sessions {
		t.Errorf("ok %d, sessions %d, OnSession saw %d", r.OK, r.Sessions, len(seen))
	}
}

func TestOptionsChecked(t *testing.T) {
	cfg := &tls.Config{ServerName: lab.Hostname}
	for _, o := range []Options{
		{},
		{Target: "127.0.0.1:1", Concurrency: 1, Sessions: 1},
		{Target: "127.0.0.1:1", Sessions: 1, TLS: cfg},
		{Target: "127.0.0.1:1", Concurrency: 1, TLS: cfg},
		{Target: "127.0.0.1:1", Concurrency: 1, Sessions: -1, Duration: time.Second, TLS: cfg},
		{Target: "127.0.0.1:1", Concurrency: 1, Sessions: 1, TLS: cfg, Flow: SMTPSubmit},
		{Target: "127.0.0.1:1", Concurrency: 1, Sessions: 1, TLS: cfg, Flow: HTTPSGet + 1},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestHostileServer: the lean clients bound what they read and keep a
// server's bytes out of their report.
func TestHostileServer(t *testing.T) {
	cases := []struct {
		name string
		flow Flow
		send string
		want string
	}{
		{"long line", SMTPAuth, strings.Repeat("2", 5000) + "\r\n", "greeting: reply line too long"},
		{"endless reply", SMTPAuth, strings.Repeat("220-more\r\n", 200), "greeting: reply longer than 100 lines"},
		{"not a reply", SMTPAuth, "hello there\r\n", `greeting: malformed reply "hello there"`},
		{"escape sequences", SMTPAuth, "554 \x1b]52;c;cHduZWQ=\x07 go away\r\n", "greeting: 554 ?]52;c;cHduZWQ=? go away"},
		{"invalid UTF-8", SMTPAuth, "554 \xff\xfe\r\n", "greeting: 554 \ufffd"},
		{"silence then close", SMTPAuth, "", "greeting: EOF"},
		{"cut mid-line", SMTPAuth, "220 half", "greeting: unexpected EOF"},
		{"imap bye", IMAPLogin, "* BYE Too many connections\r\n", "greeting: * BYE Too many connections"},
		{"imap endless untagged", IMAPLogin, "* OK hi\r\n" + strings.Repeat("* 1 EXISTS\r\n", 200), "STARTTLS: reply longer than 100 lines"},
		{"imap huge literal", IMAPLogin, "* OK hi\r\n* 1 FETCH (BODY[] {99999999}\r\n", "STARTTLS: literal of 99999999 bytes"},
		{"pop3 refusal", POP3Login, "-ERR [SYS/TEMP] Too many connections\r\n", "greeting: -ERR [SYS/TEMP] Too many connections"},
		{"pop3 data after go-ahead", POP3Login, "+OK hi\r\n+OK go\r\n+OK injected\r\n", "STLS: server sent data after its go-ahead"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				c.Write([]byte(tc.send))
				// Half-close, then read until the client leaves: a
				// client's command arriving at a closed socket would
				// draw a reset instead of the EOF under test.
				c.(*net.TCPConn).CloseWrite()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
			}()
			r, err := Run(context.Background(), Options{
				Flow: tc.flow, Target: ln.Addr().String(), Concurrency: 1, Sessions: 1,
				TLS: &tls.Config{ServerName: lab.Hostname}, Timeout: 5 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			if r.Errors[tc.want] != 1 {
				t.Fatalf("errors %v, want %q", r.Errors, tc.want)
			}
		})
	}
}

// TestHTTPSResponseBounded: a server that never ends its response is cut
// off at maxHTTPResponse.
func TestHTTPSResponseBounded(t *testing.T) {
	c := &cappedReader{r: strings.NewReader(strings.Repeat("x", 10)), left: 4}
	b := make([]byte, 8)
	n, err := c.Read(b)
	if n != 4 || err != nil {
		t.Fatalf("first read %d, %v", n, err)
	}
	if _, err := c.Read(b); err != errResponseTooLong {
		t.Fatalf("read past the cap: %v", err)
	}
}

func TestLatencySampleBounded(t *testing.T) {
	l := latencies{max: 100}
	for i := range 10000 {
		l.add(time.Duration(i+1) * time.Microsecond)
	}
	if len(l.kept) != 100 || l.n != 10000 {
		t.Fatalf("kept %d of %d", len(l.kept), l.n)
	}
	p50, _, _, longest := l.quantiles()
	if longest != 10000*time.Microsecond {
		t.Errorf("max %v, want the exact 10ms", longest)
	}
	// A uniform sample of 100 out of 1..10000: the median lands near 5000
	// (this bound fails with a probability far below 1e-9).
	if p50 < 2500*time.Microsecond || p50 > 7500*time.Microsecond {
		t.Errorf("p50 %v, far from 5ms", p50)
	}
}

func TestHelpers(t *testing.T) {
	for s, want := range map[string]int64{"* 1 FETCH (BODY[] {12}": 12, "{0+}": 0, "a {x}": -1, "no": -1} {
		n, ok := literalSize(s)
		if (want < 0) == ok || (ok && n != want) {
			t.Errorf("literalSize(%q) = %d, %v", s, n, ok)
		}
	}
	if q, ok := imapQuote(`a"b\c`); !ok || q != `"a\"b\\c"` {
		t.Errorf("imapQuote: %q %v", q, ok)
	}
	if _, ok := imapQuote("a\r\nb"); ok {
		t.Error("imapQuote took CRLF")
	}
	if got := printable(strings.Repeat("é", 100)); len(got) > 123 || !strings.HasSuffix(got, "é…") {
		t.Errorf("printable cut %q", got)
	}
	if SMTPAuth.String() != "smtp-auth" || Flow(42).String() != "flow(42)" {
		t.Error("Flow.String")
	}
}
