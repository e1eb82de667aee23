package lab

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The hostile servers themselves: the table is well-formed, each server
// does what its row says, and every server stops (by count, by time, on
// Close) without leaving a goroutine behind. What mailwire makes of each
// case is tested in package sessions (hostile_test.go).

func startHostile(t *testing.T, name string, mod func(*HostileOptions)) *HostileServer {
	t.Helper()
	o := HostileOptions{MaxConns: 4, Lifetime: 20 * time.Second, ConnTimeout: 5 * time.Second, TrickleInterval: 50 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	s, err := StartHostile(context.Background(), name, o)
	if err != nil {
		t.Fatalf("StartHostile %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func dialHostile(t *testing.T, s *HostileServer) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func TestHostileTable(t *testing.T) {
	cases := HostileCases()
	seen := map[string]bool{}
	points := map[string]bool{PointGreeting: true, PointCapabilities: true, PointStartTLSReply: true, PointHandshake: true, PointAfterTLS: true}
	for _, c := range cases {
		if seen[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		seen[c.Name] = true
		if !strings.HasPrefix(c.Name, c.Proto) {
			t.Errorf("%s: name does not start with its protocol %s", c.Name, c.Proto)
		}
		if c.TLS != hostileStartTLS && c.TLS != hostileImplicit {
			t.Errorf("%s: TLS mode %q", c.Name, c.TLS)
		}
		if !points[c.Point] {
			t.Errorf("%s: point %q", c.Name, c.Point)
		}
		if c.Does == "" || c.act == 0 {
			t.Errorf("%s: no action or description", c.Name)
		}
		if c.Point == PointHandshake && c.act == actInject {
			t.Errorf("%s: nothing to inject into at the handshake", c.Name)
		}
		if (c.act == actInject || c.act == actReplace || c.act == actReplaceClose || c.act == actGarbage) && c.payload == "" {
			t.Errorf("%s: no payload", c.Name)
		}
		if c.Port() == 0 {
			t.Errorf("%s: no canonical port", c.Name)
		}
	}
	// The matrix the issue asks for: every payload and behaviour at every
	// cleartext point and after TLS, on SMTP.
	for _, pt := range []string{PointGreeting, PointCapabilities, PointStartTLSReply, PointAfterTLS} {
		for _, p := range hostilePayloads {
			if !seen["smtp-"+pt+"-"+p.name] {
				t.Errorf("no case smtp-%s-%s", pt, p.name)
			}
		}
		for _, b := range hostileBehaviours {
			if !seen["smtp-"+pt+"-"+b.name] {
				t.Errorf("no case smtp-%s-%s", pt, b.name)
			}
		}
	}
	list := HostileCaseList()
	if n := strings.Count(list, "\n"); n != len(AllHostileCases()) {
		t.Errorf("HostileCaseList has %d lines for %d cases", n, len(cases))
	}
	if _, err := StartHostile(context.Background(), "no-such-case", HostileOptions{}); err == nil {
		t.Error("StartHostile accepted an unknown case")
	}
}

// TestHostileEveryCaseStartsAndStops: each server starts, takes one
// connection, and Close ends it at once, even mid-case.
func TestHostileEveryCaseStartsAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, c := range HostileCases() {
		s, err := StartHostile(context.Background(), c.Name, HostileOptions{Lifetime: 10 * time.Second, TrickleInterval: 10 * time.Millisecond})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		switch {
		case err == nil:
			_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, _ = conn.Read(make([]byte, 64))
			defer conn.Close()
		case !errors.Is(err, syscall.ECONNRESET):
			// A reset right after accept can reach the dialer first.
			t.Fatalf("%s: %v", c.Name, err)
		}
		start := time.Now()
		s.Close()
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: Close took %v", c.Name, d)
		}
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails if the goroutine count does not come back to about
// n: a hostile server must not leave anything running.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > n+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHostileStopsAfterMaxConns(t *testing.T) {
	s := startHostile(t, "smtp-greeting-421", func(o *HostileOptions) { o.MaxConns = 2 })
	for i := 0; i < 2; i++ {
		c := dialHostile(t, s)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "421 ") {
			t.Fatalf("connection %d: %q, %v", i, line, err)
		}
	}
	select {
	case <-s.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("server still running after MaxConns connections")
	}
	if s.Played() != 2 {
		t.Errorf("Played = %d", s.Played())
	}
	if c, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		c.Close()
		t.Error("a stopped server still accepts")
	}
}

func TestHostileStopsAfterLifetime(t *testing.T) {
	s := startHostile(t, "smtp-greeting-silence", func(o *HostileOptions) { o.Lifetime = 200 * time.Millisecond })
	c := dialHostile(t, s)
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("silence case sent something")
	}
	select {
	case <-s.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("server outlived its Lifetime")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("stopped after %v", d)
	}
}

func TestHostileLongLine(t *testing.T) {
	s := startHostile(t, "smtp-greeting-long-line", nil)
	c := dialHostile(t, s)
	r := bufio.NewReaderSize(c, 64<<10)
	n := 0
	for {
		frag, err := r.ReadSlice('\n')
		n += len(frag)
		if err == nil {
			break
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			t.Fatalf("after %d bytes: %v", n, err)
		}
	}
	if n < hostileLongLine {
		t.Errorf("line of %d bytes; want over %d", n, hostileLongLine)
	}
}

func TestHostileEndlessIsBoundedByTheServerToo(t *testing.T) {
	s := startHostile(t, "smtp-greeting-endless", nil)
	c := dialHostile(t, s)
	if _, err := io.CopyN(io.Discard, c, hostileEndlessMax); err != nil {
		t.Fatalf("endless reply stopped early: %v", err)
	}
	// Then the server stops sending (and holds the connection): at most
	// the rest of its last chunk arrives.
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	extra, err := io.Copy(io.Discard, c)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("after the endless reply: %v; want a timeout", err)
	}
	if extra > 64<<10 {
		t.Errorf("%d bytes past the bound", extra)
	}
}

func TestHostileTrickle(t *testing.T) {
	const every = 40 * time.Millisecond
	s := startHostile(t, "smtp-greeting-trickle", func(o *HostileOptions) { o.TrickleInterval = every })
	// The clock starts before the dial: the server may write its first byte
	// before dialHostile returns, and the guarantee is only that byte 5
	// leaves at least 4 intervals after byte 1.
	start := time.Now()
	c := dialHostile(t, s)
	buf := make([]byte, 8)
	got, reads := 0, 0
	for got < 5 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got += n
		reads++
	}
	if d := time.Since(start); d < 4*every {
		t.Errorf("5 bytes in %v: not trickling", d)
	}
	// A reader descheduled past an interval may see two bytes at once, so
	// only a greeting that arrived (almost) whole is a failure.
	if reads < 3 {
		t.Errorf("5 bytes in %d reads: a trickle sends one byte at a time", reads)
	}
}

func TestHostileReset(t *testing.T) {
	s := startHostile(t, "smtp-capabilities-reset", nil)
	c := dialHostile(t, s)
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, "EHLO client.example\r\n"); err != nil {
		t.Fatal(err)
	}
	_, err := r.ReadString('\n')
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("after EHLO: %v; want a reset", err)
	}
}

// TestHostileCertificates: each certificate case presents what it says, and
// only that is wrong with it.
func TestHostileCertificates(t *testing.T) {
	for name, check := range map[string]func(*x509.Certificate) string{
		"smtp-handshake-expired": func(c *x509.Certificate) string {
			if !c.NotAfter.Before(time.Now()) {
				return "not expired"
			}
			return ""
		},
		"smtp-handshake-not-yet-valid": func(c *x509.Certificate) string {
			if !c.NotBefore.After(time.Now()) {
				return "already valid"
			}
			return ""
		},
		"smtp-handshake-wrong-host": func(c *x509.Certificate) string {
			if c.VerifyHostname(Hostname) == nil || c.VerifyHostname("127.0.0.1") == nil {
				return "valid for the lab's names"
			}
			return ""
		},
		"smtp-handshake-self-signed": func(c *x509.Certificate) string {
			if c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil || c.Issuer.String() != c.Subject.String() {
				return "not self-signed"
			}
			return ""
		},
		"smtp-handshake-rsa-1024": func(c *x509.Certificate) string {
			if k, ok := c.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 1024 {
				return "not a 1024-bit RSA key"
			}
			return ""
		},
		"smtp-handshake-escapes": func(c *x509.Certificate) string {
			if !strings.Contains(c.Subject.CommonName, "\x1b]0;") {
				return "no escape in the subject"
			}
			return ""
		},
		"smtp-handshake-missing-intermediate": func(c *x509.Certificate) string {
			if c.Issuer.CommonName != "mailwire hostile intermediate CA" || len(c.IssuingCertificateURL) != 1 {
				return "not issued by the hostile intermediate, or no AIA URL"
			}
			return ""
		},
		"smtp-handshake-sha1": func(c *x509.Certificate) string {
			if c.SignatureAlgorithm != x509.ECDSAWithSHA1 {
				return "signed with " + c.SignatureAlgorithm.String()
			}
			return ""
		},
		"smtp-handshake-ct": func(c *x509.Certificate) string {
			for _, e := range c.Extensions {
				if e.Id.String() == "1.3.6.1.4.1.11129.2.4.2" {
					return ""
				}
			}
			return "no SCT list extension"
		},
	} {
		t.Run(name, func(t *testing.T) {
			s := startHostile(t, name, nil)
			c := dialHostile(t, s)
			r := bufio.NewReader(c)
			for _, cmd := range []string{"", "EHLO client.example\r\n", "STARTTLS\r\n"} {
				if cmd != "" {
					io.WriteString(c, cmd)
				}
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						t.Fatal(err)
					}
					if len(line) < 4 || line[3] != '-' {
						break
					}
				}
			}
			var leaf *x509.Certificate
			sent := 0
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: Hostname,
				VerifyConnection: func(cs tls.ConnectionState) error {
					leaf, sent = cs.PeerCertificates[0], len(cs.PeerCertificates)
					return nil
				}})
			if err := tc.Handshake(); err != nil {
				t.Fatal(err)
			}
			if msg := check(leaf); msg != "" {
				t.Error(msg)
			}
			if sent != 1 {
				t.Errorf("server sent %d certificates; every case sends its leaf alone", sent)
			}
			// Verified against the case's CA and name, only the intended
			// flaw remains (or none, for rsa-1024, escapes and ct).
			_, err := leaf.Verify(x509.VerifyOptions{Roots: s.RootCAs(), DNSName: Hostname})
			wantErr := name != "smtp-handshake-rsa-1024" && name != "smtp-handshake-escapes" && name != "smtp-handshake-ct"
			if (err != nil) != wantErr {
				t.Errorf("verify: %v; want an error: %v", err, wantErr)
			}
		})
	}
}

func TestHostileTLS10Only(t *testing.T) {
	s := startHostile(t, "smtp-handshake-tls10-only", nil)
	c := dialHostile(t, s)
	r := bufio.NewReader(c)
	for _, cmd := range []string{"", "EHLO client.example\r\n", "STARTTLS\r\n"} {
		if cmd != "" {
			io.WriteString(c, cmd)
		}
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if len(line) < 4 || line[3] != '-' {
				break
			}
		}
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if v := tc.ConnectionState().Version; v != tls.VersionTLS10 {
		t.Errorf("negotiated %s", tls.VersionName(v))
	}
}
