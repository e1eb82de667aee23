package lab

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEndpointsOrderAndShape(t *testing.T) {
	l := startLab(t, nil)
	want := []struct {
		port           int
		proto, tlsMode string
		purpose        string
	}{
		{25, "smtp", "starttls", "transfer"},
		{587, "smtp", "starttls", "submission"},
		{465, "smtp", "implicit", "submission"},
		{110, "pop3", "starttls", "retrieval"},
		{995, "pop3", "implicit", "retrieval"},
		{143, "imap", "starttls", "retrieval"},
		{993, "imap", "implicit", "retrieval"},
		{443, "https", "implicit", "web"},
	}
	eps := l.Endpoints()
	if len(eps) != len(want) {
		t.Fatalf("got %d endpoints, want %d", len(eps), len(want))
	}
	seen := map[string]bool{}
	for i, w := range want {
		e := eps[i]
		if e.Canonical != w.port || e.Proto != w.proto || e.TLS != w.tlsMode || e.Purpose != w.purpose {
			t.Errorf("endpoint %d = %+v, want %+v", i, e, w)
		}
		host, port, err := net.SplitHostPort(e.Addr)
		if err != nil || host != "127.0.0.1" || port == "0" {
			t.Errorf("endpoint %d addr %q", w.port, e.Addr)
		}
		if seen[e.Addr] {
			t.Errorf("address %s used twice", e.Addr)
		}
		seen[e.Addr] = true
		if got, ok := l.Endpoint(w.port); !ok || got != e {
			t.Errorf("Endpoint(%d) = %+v, %v", w.port, got, ok)
		}
	}
	if _, ok := l.Endpoint(26); ok {
		t.Error("Endpoint(26) found")
	}
}

func TestCAIsReusedAndPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	l1 := startLab(t, func(o *Options) { o.StateDir = dir })
	pem1 := l1.CACertPEM()
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := startLab(t, func(o *Options) { o.StateDir = dir })
	if !bytes.Equal(pem1, l2.CACertPEM()) {
		t.Fatal("second Start made a new CA instead of reusing the first")
	}
	if l2.CAPath() != filepath.Join(dir, caCertFile) {
		t.Errorf("CAPath = %q", l2.CAPath())
	}
	onDisk, err := os.ReadFile(l2.CAPath())
	if err != nil || !bytes.Equal(onDisk, pem1) {
		t.Fatalf("CA file differs from CACertPEM (err %v)", err)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, err %v; want 0700", st.Mode().Perm(), err)
	}
	for _, name := range []string{caCertFile, caKeyFile} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, err %v; want 0600", name, st.Mode().Perm(), err)
		}
	}
	// Only the two files: no temporary file left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("state dir holds %d entries, want 2", len(entries))
	}
}

func TestCAConcurrentFirstRun(t *testing.T) {
	dir := t.TempDir()
	var wg sync.WaitGroup
	cas := make([]*authority, 4)
	errs := make([]error, 4)
	for i := range cas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cas[i], errs[i] = loadOrCreateCA(dir)
		}()
	}
	wg.Wait()
	for i := range cas {
		if errs[i] != nil {
			t.Fatalf("run %d: %v", i, errs[i])
		}
		if !bytes.Equal(cas[i].certPEM, cas[0].certPEM) {
			t.Fatalf("run %d got a different CA", i)
		}
	}
}

func TestCACorruptIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, caCertFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "delete") {
		t.Fatalf("corrupt CA: err = %v, want an error telling to delete it", err)
	}
}

func TestServerCertificate(t *testing.T) {
	l := startLab(t, nil)
	for _, port := range []int{465, 995, 993, 443} {
		for _, name := range []string{Hostname, "localhost", "127.0.0.1"} {
			cfg := &tls.Config{RootCAs: l.RootCAs(), ServerName: name}
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: wireTimeout}, "tcp", addr(t, l, port), cfg)
			if err != nil {
				t.Errorf("port %d as %s: %v", port, name, err)
				continue
			}
			st := c.ConnectionState()
			if st.Version < tls.VersionTLS12 {
				t.Errorf("port %d: TLS version %x", port, st.Version)
			}
			c.Close()
		}
	}
	// A client with the system roots must not trust the lab.
	c, err := tls.Dial("tcp", addr(t, l, 465), &tls.Config{ServerName: Hostname})
	if err == nil {
		c.Close()
		t.Error("lab certificate verified without the lab CA")
	}
	// TLS 1.1 is refused (RFC 8996).
	c, err = tls.Dial("tcp", addr(t, l, 465), &tls.Config{RootCAs: l.RootCAs(), ServerName: Hostname, MaxVersion: tls.VersionTLS11})
	if err == nil {
		c.Close()
		t.Error("TLS 1.1 accepted")
	}
}

func TestServerCertificateOpenSSLStrict(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	l := startLab(t, nil)
	c, err := tls.Dial("tcp", addr(t, l, 993), clientTLS(l))
	if err != nil {
		t.Fatal(err)
	}
	chain := c.ConnectionState().PeerCertificates
	c.Close()
	if len(chain) != 2 {
		t.Fatalf("server sent %d certificates; want the leaf and the intermediate", len(chain))
	}
	leaf := chain[0]
	dir := t.TempDir()
	leafPath, interPath := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "intermediate.pem")
	for path, c := range map[string][]byte{leafPath: leaf.Raw, interPath: chain[1].Raw} {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"verify", "-x509_strict", "-CAfile", l.CAPath(), "-untrusted", interPath, leafPath},
		{"verify", "-x509_strict", "-purpose", "sslserver", "-verify_hostname", Hostname, "-CAfile", l.CAPath(), "-untrusted", interPath, leafPath},
		{"verify", "-x509_strict", "-verify_ip", "127.0.0.1", "-CAfile", l.CAPath(), "-untrusted", interPath, leafPath},
		{"verify", "-x509_strict", "-CAfile", l.CAPath(), interPath},
		{"verify", "-x509_strict", "-CAfile", l.CAPath(), l.CAPath()},
	} {
		out, err := exec.Command(openssl, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OK") {
			t.Errorf("openssl %v: %v\n%s", args, err, out)
		}
	}
	if !leaf.NotAfter.Before(time.Now().Add(serverCertLifetime + time.Hour)) {
		t.Errorf("leaf valid until %v", leaf.NotAfter)
	}
}

func TestServerCertificateCoversListenName(t *testing.T) {
	l := startLab(t, func(o *Options) { o.ListenHost = "localhost" })
	c, err := tls.Dial("tcp", addr(t, l, 465), clientTLS(l))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	leaf := c.ConnectionState().PeerCertificates[0]
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	cert, err := l.ca.issueServerCert("127.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Leaf.VerifyHostname("127.0.0.7"); err != nil {
		t.Errorf("IP listen host not covered: %v", err)
	}
	cert, err = l.ca.issueServerCert("mail.example.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.Leaf.VerifyHostname("mail.example.test"); err != nil {
		t.Errorf("DNS listen host not covered: %v", err)
	}
}

func TestHTTPS(t *testing.T) {
	l := startLab(t, nil)
	tr := &http.Transport{TLSClientConfig: clientTLS(l), ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: wireTimeout}
	resp, err := client.Get("https://" + addr(t, l, 443) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Errorf("status %d proto %s, want 200 HTTP/2.0", resp.StatusCode, resp.Proto)
	}
	if !bytes.Contains(body, []byte("mailwire lab HTTPS endpoint, for comparison with mail&#39;s TLS modes")) &&
		!bytes.Contains(body, []byte("mailwire lab HTTPS endpoint, for comparison with mail's TLS modes")) {
		t.Errorf("page does not say what it is:\n%s", body)
	}
	if !bytes.Contains(body, []byte(addr(t, l, 993))) {
		t.Error("page does not list the endpoints")
	}

	// http/1.1 is offered too.
	cfg := clientTLS(l)
	cfg.NextProtos = []string{"http/1.1"}
	c, err := tls.Dial("tcp", addr(t, l, 443), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN %q, want http/1.1", p)
	}
	c.Close()

	resp, err = client.Get("https://" + addr(t, l, 443) + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: status %d", resp.StatusCode)
	}

	// The mail ports do not offer ALPN h2.
	cfg = clientTLS(l)
	cfg.NextProtos = []string{"h2", "http/1.1"}
	c, err = tls.Dial("tcp", addr(t, l, 993), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "" {
		t.Errorf("993 negotiated ALPN %q", p)
	}
	c.Close()
}

func TestCloseStopsEverything(t *testing.T) {
	l := startLab(t, nil)
	w := dialWire(t, addr(t, l, 25))
	w.smtpReply()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	w.expectClosed(2 * time.Second)
	for _, e := range l.Endpoints() {
		if c, err := net.DialTimeout("tcp", e.Addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%d still accepts after Close", e.Canonical)
		}
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestContextCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	l, err := Start(ctx, Options{AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a := addr(t, l, 587)
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", a, time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("lab still listening after cancel")
		}
		time.Sleep(20 * time.Millisecond)
	}
	l.Close()
}

func TestPortOffsetAndFallback(t *testing.T) {
	// Occupy a port and point 25+offset at it.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	offset := busyPort - 25

	_, err = Start(context.Background(), Options{PortOffset: offset, StateDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start succeeded on a busy port without FallbackFreePort")
	}

	l := startLab(t, func(o *Options) {
		o.AnyPort = false
		o.PortOffset = offset
		o.FallbackFreePort = true
	})
	if got := addr(t, l, 25); got == busy.Addr().String() {
		t.Errorf("25 listens on the busy port")
	}
	// The other ports got canonical+offset when it was free and valid.
	for _, e := range l.Endpoints() {
		_, p, _ := net.SplitHostPort(e.Addr)
		port, _ := strconv.Atoi(p)
		if want := e.Canonical + offset; want <= 65535 && e.Canonical != 25 && port != want {
			// Another test may hold that port; only log.
			t.Logf("%d listens on %d, not %d", e.Canonical, port, want)
		}
	}

	// An offset that makes every port invalid still starts with fallback.
	l2 := startLab(t, func(o *Options) {
		o.AnyPort = false
		o.PortOffset = 70000
		o.FallbackFreePort = true
	})
	if len(l2.Endpoints()) != 8 {
		t.Fatal("fallback lab incomplete")
	}
}

func TestOnConnect(t *testing.T) {
	var mu sync.Mutex
	var logs []ConnLog
	l := startLab(t, func(o *Options) {
		o.OnConnect = func(c ConnLog) {
			mu.Lock()
			logs = append(logs, c)
			mu.Unlock()
		}
	})
	w := dialWire(t, addr(t, l, 143))
	w.line()
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 || logs[0].Endpoint.Canonical != 143 || logs[0].Rejected ||
		logs[0].Client != w.conn.LocalAddr().String() || time.Since(logs[0].Time) > time.Minute {
		t.Fatalf("logs = %+v", logs)
	}
}

func TestLimitsValidated(t *testing.T) {
	bad := DefaultLimits()
	bad.MaxConns = -1
	if _, err := Start(context.Background(), Options{AnyPort: true, StateDir: t.TempDir(), Limits: bad}); err == nil {
		t.Fatal("MaxConns -1 accepted")
	}
	bad = DefaultLimits()
	bad.MaxMessageBytes = mailboxByteCap + 1
	if _, err := Start(context.Background(), Options{AnyPort: true, StateDir: t.TempDir(), Limits: bad}); err == nil {
		t.Fatal("MaxMessageBytes over the mailbox cap accepted")
	}
	// The defaults respect each protocol's floor for an autologout timer:
	// SMTP 5 min (RFC 5321 §4.5.3.2.7), POP3 10 min (RFC 1939 §3), IMAP
	// 30 min (RFC 9051 §5.4).
	d := DefaultLimits()
	for proto, floor := range map[string]time.Duration{ProtoSMTP: 5 * time.Minute, ProtoPOP3: 10 * time.Minute, ProtoIMAP: 30 * time.Minute} {
		if got := d.idleFor(proto); got < floor {
			t.Errorf("%s idle timeout %v, below the RFC's %v", proto, got, floor)
		}
	}
	// Zero fields take the defaults.
	got := Limits{IdleTimeout: time.Second}.withDefaults()
	want := DefaultLimits()
	want.IdleTimeout = time.Second
	if got != want {
		t.Fatalf("withDefaults = %+v, want %+v", got, want)
	}
}

func TestEnsureCAMatchesLab(t *testing.T) {
	dir := t.TempDir()
	pemBytes, path, err := EnsureCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	l := startLab(t, func(o *Options) { o.StateDir = dir })
	if !bytes.Equal(pemBytes, l.CACertPEM()) || path != l.CAPath() {
		t.Fatal("EnsureCA and the lab disagree on the CA")
	}
}
