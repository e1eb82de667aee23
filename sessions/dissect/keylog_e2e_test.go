package dissect

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End to end over loopback: a real crypto/tls client, with its key log,
// against a crypto/tls server (and openssl s_server for the suites Go's
// server will not pick), dissected exactly as the runner does it.

const e2eHost = "mail.lab.test"

// testCert makes a self-signed ECDSA certificate for e2eHost.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: e2eHost},
		DNSNames:  []string{e2eHost},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:        true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, certPEM, keyPEM
}

// dissectClient runs a crypto/tls client against addr through a wire.Tap
// feeding a Dissector with the client's key log, as Conversation does;
// then exchange runs on the established connection.
func dissectClient(t *testing.T, addr string, cfg *tls.Config, exchange func(*tls.Conn) error) []wire.Event {
	t.Helper()
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	d := New()
	kl := NewKeyLog()
	d.UseKeyLog(kl)
	var (
		mu  sync.Mutex
		evs []wire.Event
	)
	tap := wire.NewTap(raw, time.Now(), func(dir wire.Direction, _ time.Duration, b []byte) {
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, d.Feed(dir, b)...)
	})
	cfg.KeyLogWriter = kl
	tc := tls.Client(tap, cfg)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	if exchange != nil {
		if err := exchange(tc); err != nil {
			t.Fatalf("exchange: %v", err)
		}
	}
	tc.Close()
	mu.Lock()
	defer mu.Unlock()
	evs = append(evs, d.Flush(wire.ClientToServer)...)
	evs = append(evs, d.Flush(wire.ServerToClient)...)
	return evs
}

// goServer serves one TLS connection per accept on 127.0.0.1: it sends a
// line and reads until the client closes.
func goServer(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
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
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(c, "220 hello inside TLS\r\n"); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, io.LimitReader(c, 1<<20))
			}()
		}
	}()
	return ln.Addr().String()
}

func readGreeting(tc *tls.Conn) error {
	_, err := bufio.NewReader(tc).ReadString('\n')
	return err
}

// checkTLS13Flight asserts the shape of a TLS 1.3 stream: after the
// ServerHello, each encrypted record is followed by what it carried, the
// server's EncryptedExtensions … Finished then the client's messages, and
// nothing after either side's Finished is decrypted.
func checkTLS13Flight(t *testing.T, evs []wire.Event, wantServer, wantClient []string) {
	t.Helper()
	checkDecrypted(t, evs)
	var want []string
	for _, m := range wantServer {
		want = append(want, "s2c "+m)
	}
	for _, m := range wantClient {
		want = append(want, "c2s "+m)
	}
	got := decryptedShape(evs)
	// The server's messages come before the client's in the stream, but
	// compare per direction: the order across directions is the wire's.
	split := func(s []string, dir string) (out []string) {
		for _, x := range s {
			if strings.HasPrefix(x, dir) {
				out = append(out, x)
			}
		}
		return out
	}
	for _, dir := range []string{"s2c", "c2s"} {
		if g, w := split(got, dir), split(want, dir); !reflect.DeepEqual(g, w) {
			t.Errorf("%s decrypted %v, want %v\n%s", dir, g, w, strings.Join(eventTexts(evs), "\n"))
		}
	}
	sh := indexEvent(evs, func(e wire.Event) bool { return e.Kind == wire.KindHandshake && e.Handshake.Type == "server_hello" })
	if sh < 0 {
		t.Fatalf("no ServerHello")
	}
	for i, e := range evs {
		if e.Kind == wire.KindHandshake && e.Handshake.Encrypted && i < sh {
			t.Errorf("decrypted event before the ServerHello: %q", e.Text)
		}
		if e.Kind == wire.KindHandshake && e.Handshake.Encrypted && e.Visible != wire.VisibleEndpoints {
			t.Errorf("decrypted event %q visible to %s", e.Text, e.Visible)
		}
	}
	// After each side's Finished: only opaque records of that direction.
	for _, dir := range []wire.Direction{wire.ServerToClient, wire.ClientToServer} {
		fin := -1
		for i, e := range evs {
			if e.Dir == dir && e.Kind == wire.KindHandshake && e.Handshake.Type == "finished" {
				fin = i
			}
		}
		if fin < 0 {
			t.Errorf("%s: no decrypted Finished", dir)
			continue
		}
		for _, e := range evs[fin+1:] {
			if e.Dir == dir && e.Layer == wire.LayerDecrypted {
				t.Errorf("%s: decrypted after Finished: %q", dir, e.Text)
			}
		}
	}
	for _, e := range evs {
		if e.Kind == wire.KindNote || e.Kind == wire.KindError {
			t.Errorf("unexpected %s: %s", e.Kind, e.Text)
		}
	}
}

func indexEvent(evs []wire.Event, f func(wire.Event) bool) int {
	for i, e := range evs {
		if f(e) {
			return i
		}
	}
	return -1
}

func eventTexts(evs []wire.Event) []string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e.Dir) + " " + string(e.Kind) + " " + e.Text
	}
	return s
}

func TestKeyLogLoopbackGoServer(t *testing.T) {
	cert, pool, _, _ := testCert(t)
	serverFlight := []string{"encrypted_extensions", "certificate", "certificate_verify", "finished"}
	for _, tc := range []struct {
		name       string
		clientAuth bool
		alpn       []string
		wantServer []string
		wantClient []string
	}{
		{"server auth", false, nil, serverFlight, []string{"finished"}},
		{"ALPN", false, []string{"smtp"}, serverFlight, []string{"finished"}},
		{"client certificate", true, nil,
			[]string{"encrypted_extensions", "certificate_request", "certificate", "certificate_verify", "finished"},
			[]string{"certificate", "certificate_verify", "finished"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, NextProtos: tc.alpn}
			if tc.clientAuth {
				scfg.ClientAuth, scfg.ClientCAs = tls.RequireAndVerifyClientCert, pool
			}
			addr := goServer(t, scfg)
			ccfg := &tls.Config{ServerName: e2eHost, RootCAs: pool, NextProtos: tc.alpn}
			if tc.clientAuth {
				ccfg.Certificates = []tls.Certificate{cert}
			}
			evs := dissectClient(t, addr, ccfg, func(c *tls.Conn) error {
				if err := readGreeting(c); err != nil {
					return err
				}
				_, err := io.WriteString(c, "EHLO client.test\r\n")
				return err
			})
			checkTLS13Flight(t, evs, tc.wantServer, tc.wantClient)
			if s := lastServerHello(t, evs).CipherSuite; s != 0x1301 && s != 0x1303 {
				t.Errorf("suite %s", tlsmsg.CipherSuiteName(s))
			}
			var certEv wire.Event
			for _, e := range evs {
				if e.Dir == wire.ServerToClient && e.Kind == wire.KindHandshake && e.Handshake.Type == "certificate" {
					certEv = e
				}
			}
			if certEv.Handshake == nil {
				t.Fatal("no decrypted server certificate")
			}
			if v := field(t, certEv, "certificate[0] subject"); v != "CN="+e2eHost {
				t.Errorf("subject %q", v)
			}
			if v := field(t, certEv, "certificate[0] SAN"); v != "DNS:"+e2eHost {
				t.Errorf("SAN %q", v)
			}
			if tc.alpn != nil {
				ee := findHandshake(t, evs, "encrypted_extensions")
				if v := field(t, ee, "ALPN"); v != "smtp" {
					t.Errorf("EncryptedExtensions ALPN %q", v)
				}
				if m := message(t, evs, getEE); m.ALPN() != "smtp" || lastServerHello(t, evs).ALPN() != "" {
					t.Error("the ALPN choice is not in EncryptedExtensions alone")
				}
			}
			// The server's several encrypted records were each decrypted
			// with the next sequence number (RFC 8446 §5.3): Go's server
			// sends one message per record.
			n := 0
			for _, e := range evs {
				if e.Dir == wire.ServerToClient && e.Kind == wire.KindEncrypted {
					n++
				}
			}
			if n < len(tc.wantServer) {
				t.Errorf("only %d encrypted server records", n)
			}
		})
	}
}

// TestKeyLogLoopbackOpenSSL covers the suites Go's server never picks
// against a Go client on AES hardware: TLS_AES_256_GCM_SHA384 (SHA-384
// secrets and keys) and TLS_CHACHA20_POLY1305_SHA256.
func TestKeyLogLoopbackOpenSSL(t *testing.T) {
	bin, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	_, pool, certPEM, keyPEM := testCert(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, suite := range []string{"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"} {
		t.Run(suite, func(t *testing.T) {
			addr := startOpenSSLServer(t, bin, certFile, keyFile, suite)
			evs := dissectClient(t, addr, &tls.Config{ServerName: e2eHost, RootCAs: pool}, nil)
			if s := tlsmsg.CipherSuiteName(lastServerHello(t, evs).CipherSuite); s != suite {
				t.Fatalf("negotiated %s, want %s", s, suite)
			}
			checkTLS13Flight(t, evs,
				[]string{"encrypted_extensions", "certificate", "certificate_verify", "finished"}, []string{"finished"})
			fin := findHandshake(t, evs, "finished")
			want := "32 bytes"
			if suite == "TLS_AES_256_GCM_SHA384" {
				want = "48 bytes"
			}
			if v := field(t, fin, "verify_data"); v != want {
				t.Errorf("verify_data %s, want %s", v, want)
			}
		})
	}
}

// startOpenSSLServer runs openssl s_server on a free loopback port with
// only the given TLS 1.3 suite, and stops it when the test ends.
func startOpenSSLServer(t *testing.T, bin, certFile, keyFile, suite string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "s_server", "-accept", addr, "-cert", certFile, "-key", keyFile,
		"-tls1_3", "-ciphersuites", suite, "-naccept", "1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	stdin, err := cmd.StdinPipe() // held open: s_server quits on stdin EOF
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := false
		for sc.Scan() {
			if !ok && strings.HasPrefix(sc.Text(), "ACCEPT") {
				ok = true
				ready <- true
			}
		}
		if !ok {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Skip("openssl s_server did not start (no TLS 1.3 or suite support?)")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("openssl s_server did not start within 10s")
	}
	return addr
}
