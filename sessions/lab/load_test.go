package lab

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

func loadOptions(l *Lab) LoadOptions {
	return LoadOptions{
		Target:   "",
		TLS:      clientTLS(l),
		User:     DemoUser,
		Password: DemoPassword,
		Timeout:  20 * time.Second,
	}
}

// TestLoadHeldTogether: with its caps raised, the lab holds 100
// authenticated STARTTLS sessions open at the same moment (Hold proves
// they overlap), then serves 200 more, without one failure.
func TestLoadHeldTogether(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.MaxConns = 150
		o.Limits.MaxConnsPerClient = 150
	})
	o := loadOptions(l)
	o.Target = addr(t, l, 587)
	o.Concurrency, o.Sessions, o.Hold = 100, 300, true
	r, err := RunLoad(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 300 || r.Failed != 0 {
		t.Fatalf("ok %d, failed %d: %v", r.OK, r.Failed, r.Errors)
	}
	if r.PeakOpen != 100 {
		t.Errorf("peak open %d, want all 100 held together", r.PeakOpen)
	}
	if r.Rate <= 0 || r.P50 <= 0 || r.Max < r.P99 || r.P99 < r.P50 || r.PeakHeap == 0 {
		t.Errorf("implausible figures: %+v", r)
	}
	waitFor(t, func() bool { return l.conns.openCount() == 0 })
}

// TestLoadPerClientCap: the lab's default per-client cap (16) refuses a
// 40-session burst from one address with its 421, and the generator counts
// each refusal by its words; spreading the sources over 127.0.0.x instead
// stays under the cap without raising it.
func TestLoadPerClientCap(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxConns = 100 })
	o := loadOptions(l)
	o.Target = addr(t, l, 587)
	o.Concurrency, o.Sessions, o.Hold = 40, 40, true
	o.HoldTimeout = 5 * time.Second

	r, err := RunLoad(context.Background(), o)
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
	r, err = RunLoad(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 40 || r.PeakOpen != 40 {
		t.Fatalf("over 4 addresses: ok %d, peak %d, errors %v", r.OK, r.PeakOpen, r.Errors)
	}
}

func TestLoadCountsRefusals(t *testing.T) {
	l := startLab(t, nil)
	o := loadOptions(l)
	o.Target = addr(t, l, 587)
	o.Password = "wrong"
	o.Concurrency, o.Sessions = 4, 8
	r, err := RunLoad(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	const want = "AUTH: 535 5.7.8 Error: authentication failed: authentication failure"
	if r.OK != 0 || r.Errors[want] != 8 {
		t.Fatalf("ok %d, errors %v", r.OK, r.Errors)
	}
}

func TestLoadOptionsChecked(t *testing.T) {
	for _, o := range []LoadOptions{
		{},
		{Target: "127.0.0.1:1", Concurrency: 1, Sessions: 1},
		{Target: "127.0.0.1:1", Sessions: 1, TLS: &tls.Config{ServerName: Hostname}},
	} {
		if _, err := RunLoad(context.Background(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// TestLoadHostileServer: the lean client bounds what it reads and keeps a
// server's bytes out of its report.
func TestLoadHostileServer(t *testing.T) {
	cases := []struct {
		name, send, want string
	}{
		{"long line", strings.Repeat("2", 5000) + "\r\n", "greeting: reply line too long"},
		{"endless reply", strings.Repeat("220-more\r\n", 200), "greeting: reply longer than 100 lines"},
		{"not a reply", "hello there\r\n", `greeting: malformed reply "hello there"`},
		{"escape sequences", "554 \x1b]52;c;cHduZWQ=\x07 go away\r\n", "greeting: 554 ?]52;c;cHduZWQ=? go away"},
		{"silence then close", "", "greeting: EOF"},
		{"cut mid-line", "220 half", "greeting: unexpected EOF"},
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
			}()
			r, err := RunLoad(context.Background(), LoadOptions{
				Target: ln.Addr().String(), Concurrency: 1, Sessions: 1,
				TLS: &tls.Config{ServerName: Hostname}, Timeout: 5 * time.Second,
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
