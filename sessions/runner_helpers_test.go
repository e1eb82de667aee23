package sessions

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// testPKI is a CA and a server certificate made for one test.
type testPKI struct {
	pool *x509.CertPool
	cert tls.Certificate
}

// newTestPKI issues a leaf for names, valid from notBefore to notAfter.
func newTestPKI(t testing.TB, names []string, notBefore, notAfter time.Time) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailwire test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return testPKI{pool: pool, cert: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}}
}

func validPKI(t testing.TB) testPKI {
	return newTestPKI(t, []string{"mail.lab.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// fakeConn is the server side of one scripted connection.
type fakeConn struct {
	conn    net.Conn
	r       *bufio.Reader
	cert    tls.Certificate
	oneByte bool // write replies one byte at a time
}

func (f *fakeConn) say(lines ...string) error {
	b := []byte(strings.Join(lines, "\r\n") + "\r\n")
	return f.write(b)
}

func (f *fakeConn) write(b []byte) error {
	f.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if !f.oneByte {
		_, err := f.conn.Write(b)
		return err
	}
	for i := range b {
		if _, err := f.conn.Write(b[i : i+1]); err != nil {
			return err
		}
		if tc, ok := f.conn.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
	}
	return nil
}

// expect reads one line and checks its prefix (case-sensitive).
func (f *fakeConn) expect(prefix string) (string, error) {
	f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := f.r.ReadString('\n')
	if err != nil {
		return line, fmt.Errorf("expecting %q: %w", prefix, err)
	}
	if !strings.HasPrefix(line, prefix) {
		return line, fmt.Errorf("expecting %q, got %q", prefix, line)
	}
	return line, nil
}

// readData reads a DATA body up to the lone "." line.
func (f *fakeConn) readData() ([]byte, error) {
	var body []byte
	for {
		line, err := f.expect("")
		if err != nil {
			return body, err
		}
		if line == ".\r\n" {
			return body, nil
		}
		body = append(body, line...)
	}
}

// startTLS runs a real TLS server handshake on the raw connection.
func (f *fakeConn) startTLS() error {
	if f.r.Buffered() > 0 {
		return fmt.Errorf("client sent %d bytes before the handshake", f.r.Buffered())
	}
	tc := tls.Server(f.conn, &tls.Config{Certificates: []tls.Certificate{f.cert}})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("server handshake: %w", err)
	}
	f.conn, f.r = tc, bufio.NewReader(tc)
	return nil
}

// drain reads until the client closes.
func (f *fakeConn) drain() {
	f.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.Copy(io.Discard, f.r)
}

type fakeServer struct {
	addr string
	ln   net.Listener
	done chan error
}

// startFake serves one connection with script. implicit wraps it in TLS
// first.
func startFake(t testing.TB, pki testPKI, implicit, oneByte bool, script func(f *fakeConn) error) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{addr: ln.Addr().String(), ln: ln, done: make(chan error, 1)}
	go func() {
		c, err := ln.Accept()
		ln.Close()
		if err != nil {
			s.done <- err
			return
		}
		defer c.Close()
		f := &fakeConn{conn: c, r: bufio.NewReader(c), cert: pki.cert, oneByte: oneByte}
		if implicit {
			if err := f.startTLS(); err != nil {
				s.done <- err
				return
			}
		}
		s.done <- script(f)
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *fakeServer) wait(t testing.TB) {
	t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("fake server: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("fake server did not finish")
	}
}

// wireRecorder captures every byte on the wire, independently of the tap.
type wireRecorder struct {
	net.Conn
	mu      sync.Mutex
	in, out bytes.Buffer
}

func (w *wireRecorder) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.mu.Lock()
	w.in.Write(p[:n])
	w.mu.Unlock()
	return n, err
}

func (w *wireRecorder) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	w.mu.Lock()
	w.out.Write(p[:n])
	w.mu.Unlock()
	return n, err
}

func recordingDialer(rec **wireRecorder) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		*rec = &wireRecorder{Conn: c}
		return *rec, nil
	}
}

// testOptions are options for a session against a fake server, playing
// the whole demo dialogue (a message sent, the mailbox read), which the
// fake servers' scripts expect.
func testOptions(addr string, pki testPKI, mode TLSMode, role Role) Options {
	return Options{
		Target: addr, Proto: protocol.SMTP, TLSMode: mode, Role: role,
		EHLOName: "client.test", ServerName: "mail.lab.test",
		Verify: wire.VerifyPool, RootCAs: pki.pool,
		Username: "learner", Password: "correct-horse",
		To: "learner@mail.lab.test", Fetch: true,
		ReadTimeout: 3 * time.Second, SessionTimeout: 10 * time.Second,
	}
}

func run(t testing.TB, o Options) ([]wire.Event, error) {
	t.Helper()
	evs, err := Collect(context.Background(), o)
	checkStream(t, evs)
	return evs, err
}

// checkStream asserts what holds for every stream: Seq from 1 without
// gaps, At never going back, exactly one close event and it is last.
func checkStream(t testing.TB, evs []wire.Event) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Errorf("event %d has Seq %d", i, ev.Seq)
		}
		if i > 0 && ev.At < evs[i-1].At {
			t.Errorf("event %d: At went back (%v < %v)", i, ev.At, evs[i-1].At)
		}
		if ev.Kind == wire.KindClose && i != len(evs)-1 {
			t.Errorf("close event at %d of %d", i, len(evs))
		}
		if ev.Kind == wire.KindError && (ev.Err == nil || ev.Err.Op == "" || ev.Err.Message == "") {
			t.Errorf("error event %d without ErrorInfo: %+v", i, ev)
		}
	}
	if last := evs[len(evs)-1]; last.Kind != wire.KindClose {
		t.Errorf("last event is %s %q, want close", last.Kind, last.Text)
	}
}

// find returns the first event matching pred after index from, or -1.
func find(evs []wire.Event, from int, pred func(wire.Event) bool) int {
	for i := max(from, 0); i < len(evs); i++ {
		if pred(evs[i]) {
			return i
		}
	}
	return -1
}

func isLine(dir wire.Direction, prefix string) func(wire.Event) bool {
	return func(ev wire.Event) bool {
		return ev.Kind == wire.KindLine && ev.Dir == dir && bytes.HasPrefix(ev.Raw, []byte(prefix))
	}
}

func isKind(k wire.Kind) func(wire.Event) bool {
	return func(ev wire.Event) bool { return ev.Kind == k }
}

// errorEvent returns the session's first error (not a dissector finding).
func errorEvent(evs []wire.Event) *wire.Event {
	for i := range evs {
		if evs[i].Kind == wire.KindError && evs[i].Dir == wire.Local { // not the dissector's
			return &evs[i]
		}
	}
	return nil
}

func dump(evs []wire.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&b, "%3d %-9s %-5s %-9s %-9s %-40s %s\n", ev.Seq, ev.Kind, ev.Dir, ev.Layer, ev.Visible,
			ev.Annotation, wire.SafeString(ev.Text))
	}
	return b.String()
}

// runFailing plays o against srv and checks that the session fails, in
// bounded time (a hostile or broken server must never hang a session),
// with an error event of the given op and explain key. It returns the
// events and that error event.
func runFailing(t *testing.T, srv *fakeServer, o Options, op, explain string) ([]wire.Event, *wire.Event) {
	t.Helper()
	start := time.Now()
	evs, err := run(t, o)
	srv.wait(t)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	var se *SessionError
	if !errors.As(err, &se) {
		t.Fatalf("Run returned %v, want a *SessionError\n%s", err, dump(evs))
	}
	e := errorEvent(evs)
	if e == nil || e.Err.Op != op || e.Err.Explain != explain || se.Explain != explain {
		t.Fatalf("want error op %q explain %q; got %+v\n%s", op, explain, e, dump(evs))
	}
	return evs, e
}
