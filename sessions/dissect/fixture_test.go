package dissect

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/wire"
)

// The TLS fixtures under testdata/tls are transcripts of real crypto/tls
// handshakes over loopback, captured by TestGenerateTLSFixtures when run with
// -update-fixtures. They hold only what crossed the wire (public
// certificates, encrypted records); the keys die with the test.
//
// Format: a sequence of chunks, each 1 byte direction ('C' client→server,
// 'S' server→client), 4 bytes big-endian length, then the bytes, in the
// order the client wrote or read them (so cross-direction causality holds).

var updateFixtures = func() *bool {
	// Another test file in this package may define the same flag.
	if f := flag.Lookup("update-fixtures"); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			if b, ok := g.Get().(bool); ok {
				return &b
			}
		}
	}
	return flag.Bool("update-fixtures", false, "regenerate testdata fixtures")
}()

type chunk struct {
	dir  wire.Direction
	data []byte
}

// recordingConn records what the client writes and reads, in order.
type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	chunks []chunk
}

func (c *recordingConn) add(dir wire.Direction, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chunks = append(c.chunks, chunk{dir, bytes.Clone(b)})
}

func (c *recordingConn) Write(b []byte) (int, error) {
	c.add(wire.ClientToServer, b)
	return c.Conn.Write(b)
}

func (c *recordingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.add(wire.ServerToClient, b[:n])
	}
	return n, err
}

func writeTranscript(path string, chunks []chunk) error {
	var buf bytes.Buffer
	for _, c := range chunks {
		d := byte('C')
		if c.dir == wire.ServerToClient {
			d = 'S'
		}
		buf.WriteByte(d)
		buf.Write(binary.BigEndian.AppendUint32(nil, uint32(len(c.data))))
		buf.Write(c.data)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func readTranscript(t testing.TB, name string) []chunk {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "tls", name))
	if err != nil {
		t.Fatalf("read fixture %s: %v (regenerate with go test -run TestGenerateTLSFixtures -update-fixtures ./sessions/)", name, err)
	}
	var out []chunk
	r := bufio.NewReader(bytes.NewReader(raw))
	for {
		d, err := r.ReadByte()
		if errors.Is(err, io.EOF) {
			return out
		}
		var n uint32
		if err := binary.Read(r, binary.BigEndian, &n); err != nil || n > 1<<24 {
			t.Fatalf("fixture %s: bad chunk length (%v)", name, err)
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			t.Fatalf("fixture %s: short chunk: %v", name, err)
		}
		dir := wire.ClientToServer
		if d == 'S' {
			dir = wire.ServerToClient
		}
		out = append(out, chunk{dir, data})
	}
}

// fixtureCerts makes a throwaway CA and a leaf for mail.lab.test.
func fixtureCerts(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notBefore := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	notAfter := notBefore.AddDate(10, 0, 0)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailwire fixture CA", Organization: []string{"mailwire"}},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mail.lab.test"},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: []string{"mail.lab.test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey}, pool
}

// captureHandshake runs a crypto/tls client and server over loopback TCP,
// exchanges one SMTP-like line each way and closes with close_notify.
func captureHandshake(t *testing.T, cert tls.Certificate, pool *x509.CertPool, client, server *tls.Config) []chunk {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	server.Certificates = []tls.Certificate{cert}
	server.NextProtos = []string{"h2", "http/1.1"}
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := tls.Server(c, server)
		if _, err := tc.Write([]byte("220 mail.lab.test ESMTP\r\n")); err != nil {
			srvErr <- fmt.Errorf("server write: %w", err)
			return
		}
		line := make([]byte, 64)
		n, err := tc.Read(line)
		if err != nil {
			srvErr <- fmt.Errorf("server read: %w", err)
			return
		}
		if _, err := tc.Write([]byte("250 hello " + string(line[5:n]))); err != nil {
			srvErr <- fmt.Errorf("server write: %w", err)
			return
		}
		_, err = tc.Read(line) // the client's close_notify
		if !errors.Is(err, io.EOF) {
			srvErr <- fmt.Errorf("server waiting for close_notify: %v", err)
			return
		}
		srvErr <- tc.Close()
	}()

	raw, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	rc := &recordingConn{Conn: raw}
	client.ServerName = "mail.lab.test"
	client.NextProtos = []string{"h2", "http/1.1"}
	client.RootCAs = pool
	tc := tls.Client(rc, client)
	buf := make([]byte, 256)
	if _, err := tc.Read(buf); err != nil {
		t.Fatalf("client read greeting: %v", err)
	}
	if _, err := tc.Write([]byte("EHLO client.lab.test\r\n")); err != nil {
		t.Fatalf("client write: %v", err)
	}
	if _, err := tc.Read(buf); err != nil {
		t.Fatalf("client read reply: %v", err)
	}
	if err := tc.Close(); err != nil {
		t.Fatalf("client close: %v", err)
	}
	if err := <-srvErr; err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.chunks
}

func TestGenerateTLSFixtures(t *testing.T) {
	if !*updateFixtures {
		t.Skip("run with -update-fixtures to regenerate testdata/tls")
	}
	cert, pool := fixtureCerts(t)
	cases := []struct {
		name           string
		client, server *tls.Config
	}{
		{"tls13.bin", &tls.Config{}, &tls.Config{}},
		{"tls12.bin", &tls.Config{}, &tls.Config{
			MaxVersion:   tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
		}},
		// Go's client sends a key share only for its most preferred group
		// (x25519; since Go 1.24 it ignores the order of CurvePreferences);
		// the server accepts only P-256, which the client lists as supported
		// but sent no share for, so it must ask again (RFC 8446 §4.1.4).
		{"tls13_hrr.bin",
			&tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256, tls.X25519}},
			&tls.Config{CurvePreferences: []tls.CurveID{tls.CurveP256}}},
	}
	if err := os.MkdirAll(filepath.Join("testdata", "tls"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		chunks := captureHandshake(t, cert, pool, c.client, c.server)
		if err := writeTranscript(filepath.Join("testdata", "tls", c.name), chunks); err != nil {
			t.Fatal(err)
		}
	}
}
