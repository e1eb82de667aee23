package sessions

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// serveTLSWithALPN runs the server side of a handshake offering protos.
func serveTLSWithALPN(f *fakeConn, protos ...string) error {
	tc := tls.Server(f.conn, &tls.Config{Certificates: []tls.Certificate{f.cert}, NextProtos: protos})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("server handshake: %w", err)
	}
	f.conn, f.r = tc, bufio.NewReader(tc)
	return nil
}

func httpsOptions(addr string, pki testPKI) Options {
	o := testOptions(addr, pki, TLSImplicit, RoleWeb)
	o.Proto, o.ALPN = protocol.HTTPS, DefaultHTTPSALPN
	return o
}

// http1Script answers the request with resp after checking its lines.
func http1Script(serverALPN []string, resp string) func(f *fakeConn) error {
	return func(f *fakeConn) error {
		if err := serveTLSWithALPN(f, serverALPN...); err != nil {
			return err
		}
		_, port, _ := net.SplitHostPort(f.conn.LocalAddr().String())
		for _, want := range []string{"GET / HTTP/1.1\r\n", "Host: mail.lab.test:" + port + "\r\n",
			"User-Agent: mailwire\r\n", "Accept: */*\r\n", "Connection: close\r\n", "\r\n"} {
			if _, err := f.expect(want); err != nil {
				return err
			}
		}
		err := f.write([]byte(resp))
		return ignoreNetErr(err)
	}
}

func TestHTTPS1(t *testing.T) {
	long := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name      string
		alpn      []string // the server's
		resp      string
		wantALPN  string
		wantCode  string
		wantBody  string
		wantNotes string
	}{
		{"content-length", []string{"http/1.1"},
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n" + long,
			"http.alpn.http/1.1", "200", long, "Content-Length 5000"},
		{"chunked", []string{"http/1.1"},
			"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
			"http.alpn.http/1.1", "404", "hello", "chunked, 1 chunk"},
		{"close-delimited, no ALPN", nil,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nshort body",
			"http.alpn.none", "200", "short body", "until the server closes"},
		{"1xx first", []string{"http/1.1"},
			"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
			"http.alpn.http/1.1", "200", "ok", "Content-Length 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, http1Script(tc.alpn, tc.resp))
			o := httpsOptions(srv.addr, pki)
			evs, err := run(t, o)
			srv.wait(t)
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, dump(evs))
			}
			defer func() {
				if t.Failed() {
					t.Log("\n" + dump(evs))
				}
			}()
			assertTLSUpgrade(t, evs, 1)
			st := find(evs, 0, isKind(wire.KindTLSState))
			alpn := find(evs, st, isKind(wire.KindNote))
			if alpn != st+1 || evs[alpn].Annotation != tc.wantALPN {
				t.Errorf("ALPN note %d: %+v", alpn, evs[alpn])
			}
			req := find(evs, st, isLine(wire.ClientToServer, "GET / HTTP/1.1\r\n"))
			if req < 0 || evs[req].Annotation != "http.request" || evs[req].Line.Proto != protocol.HTTP || evs[req].Line.Command != "GET" {
				t.Fatalf("request: %d", req)
			}
			resp := find(evs, req, func(ev wire.Event) bool { return ev.Annotation == "http.response" && ev.Line.Code == tc.wantCode })
			if resp < 0 || !strings.Contains(strings.Join(evs[resp].Also, ","), "http.status."+tc.wantCode) ||
				!bytes.HasSuffix(evs[resp].Raw, []byte("\r\n\r\n")) {
				t.Fatalf("response: %d", resp)
			}
			body := find(evs, resp, func(ev wire.Event) bool { return ev.Annotation == "http.body" })
			if body < 0 || string(evs[body].Raw) != tc.wantBody || !strings.Contains(evs[body].Text, tc.wantNotes) {
				t.Errorf("body: %d", body)
			}
			if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
				t.Errorf("close: %q", c.Text)
			}
		})
	}
}

// h2Script serves one HTTP/2 connection with net/http's server and
// handler: the connection, already TLS with h2 agreed by ALPN, is the one
// its listener accepts, and the script returns once it is closed.
func h2Script(h http.HandlerFunc) func(f *fakeConn) error {
	return func(f *fakeConn) error {
		if err := serveTLSWithALPN(f, "h2", "http/1.1"); err != nil {
			return err
		}
		f.conn.SetDeadline(time.Now().Add(5 * time.Second))
		l := &oneConnListener{conn: f.conn, done: make(chan struct{})}
		srv := &http.Server{Handler: h, ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				l.close()
			}
		}}
		_ = srv.Serve(l) // net/http speaks HTTP/2 on a *tls.Conn that agreed on h2
		return nil
	}
}

// oneConnListener accepts its one connection, then waits until the
// server is done with it.
type oneConnListener struct {
	conn     net.Conn
	accepted bool
	done     chan struct{}
	once     sync.Once
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	if !l.accepted {
		l.accepted = true
		return l.conn, nil // unwrapped: net/http looks for the *tls.Conn
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConnListener) close()         { l.once.Do(func() { close(l.done) }) }
func (l *oneConnListener) Close() error   { l.close(); return nil }
func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

func TestHTTPS2(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, h2Script(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.URL.Path != "/" || r.UserAgent() != "mailwire" || !strings.HasPrefix(r.Host, "mail.lab.test:") {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Test", "yes")
		fmt.Fprint(w, "hello h2")
	}))
	o := httpsOptions(srv.addr, pki)
	var rec *wireRecorder
	o.Dial = recordingDialer(&rec)
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	defer func() {
		if t.Failed() {
			t.Log("\n" + dump(evs))
		}
	}()
	assertTLSUpgrade(t, evs, 1)
	st := find(evs, 0, isKind(wire.KindTLSState))
	if evs[st].TLS.ALPN != "h2" || evs[st+1].Annotation != "http.alpn.h2" {
		t.Errorf("ALPN: %q, note %q", evs[st].TLS.ALPN, evs[st+1].Annotation)
	}
	pre := find(evs, st, isLine(wire.ClientToServer, http2.ClientPreface))
	if pre < 0 || evs[pre].Annotation != "http.h2.preface" {
		t.Fatalf("no preface")
	}
	req := find(evs, pre, func(ev wire.Event) bool { return ev.Annotation == "http.h2.request" })
	if req < 0 || evs[req].Line.Command != "GET" || evs[req].Line.Proto != protocol.HTTP ||
		!strings.Contains(evs[req].Text, ":method GET, :scheme https, :authority mail.lab.test:") ||
		evs[req].Raw[3] != byte(http2.FrameHeaders) {
		t.Fatalf("request: %d", req)
	}
	if f := evs[req].Line.Frame; f == nil || f.Type != "HEADERS" || f.Stream != 1 ||
		strings.Join(f.FlagNames(), ",") != "END_STREAM,END_HEADERS" || f.Length != len(evs[req].Raw)-9 {
		t.Errorf("request frame header: %+v", f)
	}
	resp := find(evs, req, func(ev wire.Event) bool { return ev.Annotation == "http.h2.response" })
	if resp < 0 || evs[resp].Dir != wire.ServerToClient || evs[resp].Line.Code != "200" ||
		!strings.Contains(strings.Join(evs[resp].Also, ","), "http.status.200") || !strings.Contains(evs[resp].Text, "x-test: yes") {
		t.Fatalf("response: %d", resp)
	}
	body := find(evs, resp, func(ev wire.Event) bool { return ev.Annotation == "http.body" })
	if body < 0 || !bytes.HasSuffix(evs[body].Raw, []byte("hello h2")) {
		t.Errorf("body: %d", body)
	}
	// Every frame's event has its header decoded, and a DATA frame's
	// content is the body's bytes without the header (RFC 9113 §4.1, §6.1).
	if f := evs[body].Line.Frame; f == nil || f.Type != "DATA" || f.Stream != 1 || string(f.Payload(evs[body].Raw)) != "hello h2" {
		t.Errorf("DATA frame: %+v", f)
	}
	for _, ev := range evs[pre+1:] {
		if ev.Kind == wire.KindLine && (ev.Line.Frame == nil || ev.Line.Frame.Length != int(ev.Raw[0])<<16|int(ev.Raw[1])<<8|int(ev.Raw[2])) {
			t.Errorf("frame event without its header: %q", ev.Text)
		}
	}
	if evs[pre].Line.Frame != nil {
		t.Errorf("the preface is not a frame: %+v", evs[pre].Line.Frame)
	}
	// The server's SETTINGS is acknowledged.
	if find(evs, st, func(ev wire.Event) bool { return ev.Dir == wire.ClientToServer && ev.Text == "SETTINGS ACK" }) < 0 {
		t.Errorf("no SETTINGS ACK")
	}
	if find(evs, body, func(ev wire.Event) bool {
		return ev.Dir == wire.ClientToServer && ev.Annotation == "http.h2.frame.goaway"
	}) < 0 {
		t.Errorf("no GOAWAY")
	}
	if e := errorEvent(evs); e != nil {
		t.Errorf("error: %+v", e.Err)
	}
	if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
		t.Errorf("close: %q", c.Text)
	}
	if testing.Verbose() {
		t.Log("\n" + dump(evs))
	}
	// Every decrypted client frame is exactly what went into TLS: their
	// concatenation is the client's HTTP/2 byte stream.
	var out bytes.Buffer
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer {
			out.Write(ev.Raw)
		}
	}
	if !bytes.HasPrefix(out.Bytes(), []byte(http2.ClientPreface)) {
		t.Errorf("client stream does not start with the preface")
	}
	fr := http2.NewFramer(nil, bytes.NewReader(out.Bytes()[len(http2.ClientPreface):]))
	n := 0
	for ; ; n++ {
		if _, err := fr.ReadFrame(); err != nil {
			break
		}
	}
	if n < 4 { // SETTINGS, HEADERS, SETTINGS ACK, GOAWAY
		t.Errorf("client events hold %d whole frames", n)
	}
}

func TestHTTPS2PreviewCancels(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, h2Script(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("y"), 100<<10))
	}))
	evs, err := run(t, httpsOptions(srv.addr, pki))
	srv.wait(t)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, dump(evs))
	}
	kept := 0
	for _, ev := range evs {
		if ev.Annotation == "http.body" {
			kept += len(ev.Raw) - 9
		}
	}
	if kept != httpPreview {
		t.Errorf("kept %d body bytes, want %d\n%s", kept, httpPreview, dump(evs))
	}
	if find(evs, 0, func(ev wire.Event) bool {
		return ev.Annotation == "http.h2.frame.rst_stream" && ev.Dir == wire.ClientToServer
	}) < 0 {
		t.Errorf("no RST_STREAM\n%s", dump(evs))
	}
}

func TestHTTPSFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  func(f *fakeConn) error
		mode    TLSMode
		op      string
		explain string
	}{
		{"malformed status line", http1Script([]string{"http/1.1"}, "HTTP/1.1 OK\r\n\r\n"), TLSImplicit, "read response", ExplainMalformed},
		{"not HTTP", http1Script([]string{"http/1.1"}, "+OK POP3 ready\r\n"), TLSImplicit, "read response", ExplainMalformed},
		{"close before response", http1Script([]string{"http/1.1"}, ""), TLSImplicit, "read response", ExplainClosedEarly},
		{"too many headers", http1Script([]string{"http/1.1"}, "HTTP/1.1 200 OK\r\n"+strings.Repeat("X-A: b\r\n", 500)+"\r\n"),
			TLSImplicit, "read response", ExplainReplyTooLong},
		{"h2 stream reset", h2Script(func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) }),
			TLSImplicit, "read response", "http.h2.frame.rst_stream"},
		{"STARTTLS asked", func(f *fakeConn) error { f.drain(); return nil }, TLSStartTLS, "options", ExplainOptions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, tc.script)
			o := httpsOptions(srv.addr, pki)
			o.TLSMode = tc.mode
			runFailing(t, srv, o, tc.op, tc.explain)
		})
	}
}

// A server's malformed status line and header field go into the error as
// they crossed, quoted once (wire.Quote): the printers escape the text on
// its way to a screen, so %q as well showed an ESC as `\\x1b`.
func TestHTTPSMalformedQuotedOnce(t *testing.T) {
	for name, resp := range map[string]string{
		"status line":  "\x1b[31mHTTP/1.1\t200 OK\r\n\r\n",
		"header field": "HTTP/1.1 200 OK\r\n\x1b[31mbad\theader\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			pki := validPKI(t)
			srv := startFake(t, pki, false, false, http1Script([]string{"http/1.1"}, resp))
			_, e := runFailing(t, srv, httpsOptions(srv.addr, pki), "read response", ExplainMalformed)
			shown := wire.SafeString(e.Text)
			if !strings.Contains(shown, `"\x1b[31m`) || strings.Contains(shown, `\\`) {
				t.Errorf("shown as %s", shown)
			}
		})
	}
}
