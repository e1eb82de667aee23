package sessions

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// scriptedConn is the client's end of a connection to a server that
// answers with resp whatever the client sends, then closes: reads return
// resp at most chunk bytes at a time (as a network may split it), writes
// are accepted and dropped. It needs no goroutine and no socket, so a
// fuzzer can run an HTTP/1.1 session thousands of times a second.
type scriptedConn struct {
	r     io.Reader
	chunk int
}

func (c *scriptedConn) Read(p []byte) (int, error) {
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	return c.r.Read(p)
}
func (c *scriptedConn) Write(p []byte) (int, error) { return len(p), nil }
func (c *scriptedConn) Close() error                { return nil }
func (c *scriptedConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *scriptedConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
}
func (c *scriptedConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptedConn) SetWriteDeadline(time.Time) error { return nil }

// fuzzHTTPSOptions are the options of an HTTPS session whose connection
// dial returns. Timeouts are short: a fuzz input must never hang.
func fuzzHTTPSOptions(mode TLSMode, roots *x509.CertPool, dial func() net.Conn) Options {
	return Options{
		Target: "127.0.0.1:8080", Proto: protocol.HTTPS, TLSMode: mode, Role: RoleWeb,
		ServerName: "mail.lab.test", Verify: wire.VerifyPool, RootCAs: roots,
		ReadTimeout: 2 * time.Second, SessionTimeout: 5 * time.Second,
		Dial: func(context.Context, string, string) (net.Conn, error) { return dial(), nil },
	}
}

// checkFuzzStream asserts what every stream must hold, however hostile the
// server: Seq from 1 without gaps, one close event and it is last, an error
// event exactly when Run failed, every line the server sent cut from what it
// sent (read holds the bytes the client read inside the connection) and no
// server event larger than maxRaw.
func checkFuzzStream(t *testing.T, evs []wire.Event, runErr error, read []byte, maxRaw int) {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Kind != wire.KindClose {
		t.Fatalf("stream does not end with a close event:\n%s", dump(evs))
	}
	nErr := 0
	for i, ev := range evs {
		if ev.Seq != i+1 {
			t.Fatalf("event %d has Seq %d", i, ev.Seq)
		}
		if ev.Kind == wire.KindClose && i != len(evs)-1 {
			t.Fatalf("close event %d before the end", i)
		}
		if ev.Kind == wire.KindError {
			nErr++
		}
		// Only protocol bytes: TLS records are the dissector's (FuzzDissect).
		if ev.Dir != wire.ServerToClient || (ev.Kind != wire.KindLine && ev.Kind != wire.KindNote) ||
			(ev.Layer != wire.LayerCleartext && ev.Layer != wire.LayerDecrypted) {
			continue
		}
		if len(ev.Raw) > maxRaw {
			t.Fatalf("event %d (%s) keeps %d bytes, over %d", i, ev.Annotation, len(ev.Raw), maxRaw)
		}
		if !bytes.Contains(read, ev.Raw) {
			t.Fatalf("event %d (%s) Raw %q is not from what the server sent", i, ev.Annotation, ev.Raw)
		}
	}
	if (runErr != nil) != (nErr > 0) {
		t.Fatalf("Run returned %v with %d error events", runErr, nErr)
	}
}

// sameStream compares two runs of one input event by event, leaving out
// what depends on how far the client happened to read ahead (the note on
// unread bytes, the byte counts of the close event) or on the clock (the
// connect event's latency).
func sameStream(a, b []wire.Event) error {
	keep := func(evs []wire.Event) []wire.Event {
		var out []wire.Event
		for _, ev := range evs {
			if ev.Annotation != "session.note.unread_bytes" {
				out = append(out, ev)
			}
		}
		return out
	}
	a, b = keep(a), keep(b)
	if len(a) != len(b) {
		return fmt.Errorf("%d events, then %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind == wire.KindConnect || (x.Kind == wire.KindClose && y.Kind == wire.KindClose) {
			continue
		}
		// An error's text may count the bytes the reader held ("line too
		// long: 4591 bytes"); its kind and explanation may not change.
		if x.Kind == wire.KindError && y.Kind == wire.KindError && x.Annotation == y.Annotation {
			continue
		}
		if x.Kind != y.Kind || x.Dir != y.Dir || x.Annotation != y.Annotation || x.Text != y.Text || !bytes.Equal(x.Raw, y.Raw) {
			return fmt.Errorf("event %d: %s %q %q, then %s %q %q", i, x.Annotation, x.Text, x.Raw, y.Annotation, y.Text, y.Raw)
		}
	}
	return nil
}

// FuzzHTTP1Response plays the HTTPS driver's HTTP/1.1 client (RFC 9112)
// against a server that sends resp: the status line and header reader,
// 1xx handling, chunked, Content-Length and close-delimited body previews.
// The session runs without TLS so that each input costs no handshake; the
// reader is the same. Sending resp whole or one byte at a time must give
// the same events.
func FuzzHTTP1Response(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\nContent-Length: 99999999999999999999\n\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nffffffffffffffff\r\n",
		"HTTP/1.1 301 \r\nLocation: /x\r\nBad Header\r\n\r\n",
		"HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", 120) + "\r\n",
		"HTTP/1.1 200 OK\r\nX: " + strings.Repeat("v", 5000) + "\r\n\r\n",
		"HTTP/1.1 999 Nope\r\n\r\n", "+OK POP3 ready\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 \x1b[31mred\x1b[0m\r\nX-E: \x1b]52;c;aGk=\x07\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	roots := x509.NewCertPool()
	f.Fuzz(func(t *testing.T, resp []byte) {
		runs := make([][]wire.Event, 2)
		for i, chunk := range []int{0, 1} {
			var evs []wire.Event
			err := Run(context.Background(), fuzzHTTPSOptions(TLSNone, roots, func() net.Conn {
				return &scriptedConn{r: bytes.NewReader(resp), chunk: chunk}
			}), func(ev wire.Event) { evs = append(evs, ev) })
			// A response section is at most httpMaxHeaders plus one line
			// (DefaultMaxLineLength); a body preview at most httpPreview.
			checkFuzzStream(t, evs, err, resp, httpMaxHeaders+protocol.DefaultMaxLineLength)
			responses := 0
			for _, ev := range evs {
				switch ev.Annotation {
				case "http.response":
					responses++
					if ev.Line == nil || len(ev.Line.Code) != 3 || !strings.HasPrefix(string(ev.Raw), "HTTP/1.") ||
						len(ev.Also) == 0 || ev.Also[0] != statusAnn(int(atoiOr(ev.Line.Code))) {
						t.Fatalf("response event %+v", ev)
					}
				case "http.body":
					if len(ev.Raw) > httpPreview {
						t.Fatalf("body preview of %d bytes", len(ev.Raw))
					}
				}
			}
			if err == nil && (responses == 0 || responses > 5) {
				t.Fatalf("session succeeded with %d response events", responses)
			}
			runs[i] = evs
		}
		if err := sameStream(runs[0], runs[1]); err != nil {
			t.Fatalf("one byte at a time changed the session: %v\n%s\n---\n%s", err, dump(runs[0]), dump(runs[1]))
		}
	})
}

func atoiOr(s string) int64 {
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// h2Frames writes HTTP/2 frames (RFC 9113 §4.1) with x/net's Framer, for
// seeds.
func h2Frames(write func(fr *http2.Framer, hpack func(...string) []byte)) []byte {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	write(fr, func(kv ...string) []byte {
		var blk bytes.Buffer
		enc := hpack.NewEncoder(&blk)
		for i := 0; i+1 < len(kv); i += 2 {
			_ = enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return blk.Bytes()
	})
	return b.Bytes()
}

// FuzzHTTP2Frames plays the HTTPS driver's HTTP/2 client (RFC 9113) against
// a server that completes a TLS handshake choosing ALPN "h2", then sends
// frames (whatever bytes the fuzzer makes) and a close_notify, while it
// reads and drops whatever the client sends. The client's frame handling
// runs as in a real session: SETTINGS and PING answered, HPACK decoded,
// DATA previewed, RST_STREAM and GOAWAY reported.
func FuzzHTTP2Frames(f *testing.F) {
	seeds := [][]byte{
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
			fr.WriteSettingsAck()
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true,
				BlockFragment: h(":status", "200", "content-type", "text/plain")})
			fr.WriteData(1, true, []byte("hello h2"))
		}),
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteSettings()
			fr.WritePing(false, [8]byte{1, 2, 3})
			fr.WriteWindowUpdate(0, 1000)
			fr.WritePriority(1, http2.PriorityParam{Weight: 3})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: h(":status", "103", "link", "</a.css>")})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: true, BlockFragment: h(":status", "204")})
		}),
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			blk := h(":status", "200", "x-long", strings.Repeat("v", 40))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:10]})
			fr.WriteContinuation(1, true, blk[10:])
			fr.WriteDataPadded(1, false, bytes.Repeat([]byte("y"), 3000), make([]byte, 7))
		}),
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: h("content-type", "text/plain")})
		}),
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, BlockFragment: h(":status", "500")})
			fr.WriteRSTStream(1, http2.ErrCodeInternal)
		}),
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteGoAway(1, http2.ErrCodeNo, []byte("bye \x1b[2J"))
			fr.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, nil)
		}),
		h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, EndHeaders: true, BlockFragment: h(":path", "/p")})
			fr.WriteRawFrame(0xfa, 0, 0, []byte("unknown type"))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, EndHeaders: true, EndStream: true, BlockFragment: h(":status", "200")})
		}),
		{0, 0x40, 0x01, byte(http2.FrameData), 0, 0, 0, 0, 1}, // a frame over SETTINGS_MAX_FRAME_SIZE
		{0, 0, 8, byte(http2.FramePing), 0, 0, 0, 0},          // cut short
	}
	for _, s := range seeds {
		f.Add(s)
	}
	pki := validPKI(f)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{pki.cert}, NextProtos: []string{"h2"}}
	f.Fuzz(func(t *testing.T, frames []byte) {
		evs, err := runH2Frames(t, srvCfg, pki.pool, frames)
		if find(evs, 0, isKind(wire.KindTLSState)) < 0 {
			t.Fatalf("no TLS session:\n%s", dump(evs))
		}
		// A frame event holds one frame: its 9-byte header and at most
		// h2MaxFrameSize of payload (RFC 9113 §4.1, §4.2), or a header
		// block in HEADERS and CONTINUATION frames, at most h2MaxRead.
		checkFuzzStream(t, evs, err, frames, h2MaxRead)
		frameEvents, sawResponse := 0, false
		for _, ev := range evs {
			if ev.Kind != wire.KindLine || ev.Dir != wire.ServerToClient {
				continue
			}
			frameEvents++
			if ev.Layer != wire.LayerDecrypted || ev.Line == nil || ev.Line.Proto != protocol.HTTP {
				t.Fatalf("frame event %+v", ev)
			}
			switch ev.Annotation {
			case "http.h2.response":
				sawResponse = true
				if len(ev.Line.Code) != 3 {
					t.Fatalf("response without a status: %+v", ev)
				}
			case "http.body":
				if len(ev.Raw) > 10+httpPreview {
					t.Fatalf("body preview of %d bytes", len(ev.Raw))
				}
			}
		}
		if frameEvents > h2MaxFrames {
			t.Fatalf("%d frames read, over %d", frameEvents, h2MaxFrames)
		}
		if err == nil && !sawResponse {
			t.Fatalf("session succeeded without a response:\n%s", dump(evs))
		}
	})
}

// runH2Frames runs an HTTPS session against serveH2Frames and returns the
// client's events and Run's error. It fails t when the server fails or
// does not finish.
func runH2Frames(t *testing.T, cfg *tls.Config, roots *x509.CertPool, frames []byte) ([]wire.Event, error) {
	t.Helper()
	srvDone := make(chan error, 1)
	var evs []wire.Event
	err := Run(context.Background(), fuzzHTTPSOptions(TLSImplicit, roots, func() net.Conn {
		cli, srv := net.Pipe()
		go func() { srvDone <- serveH2Frames(srv, cfg, frames) }()
		return cli
	}), func(ev wire.Event) { evs = append(evs, ev) })
	select {
	case serr := <-srvDone:
		if serr != nil {
			t.Fatalf("server: %v\n%s", serr, dump(evs))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("server did not finish\n%s", dump(evs))
	}
	return evs, err
}

// serveH2Frames is the fuzz server: TLS with ALPN h2 on conn, then frames,
// then close_notify (RFC 8446 §6.1), so the client reads to a clean end of
// stream and can still write its acknowledgements, which are drained.
func serveH2Frames(conn net.Conn, cfg *tls.Config, frames []byte) error {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(8 * time.Second))
	tc := tls.Server(conn, cfg)
	if err := tc.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	drained := make(chan struct{})
	go func() {
		// tc is never read again: the client's bytes are taken raw.
		_, _ = io.Copy(io.Discard, conn)
		close(drained)
	}()
	// A write error means the client gave up reading (a malformed frame
	// ends the session) and closed; that is its business.
	if _, err := tc.Write(frames); err == nil {
		_ = tc.CloseWrite()
	}
	<-drained
	return nil
}

// TestHTTP1CloseDelimitedBodyInPieces is FuzzHTTP1Response's first finding:
// a body without Content-Length or chunked coding (RFC 9112 §6.3) that
// arrived in a later read than the header section and ended before the
// preview was full failed with "unexpected EOF", instead of being shown.
func TestHTTP1CloseDelimitedBodyInPieces(t *testing.T) {
	resp := "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close"
	for _, chunk := range []int{0, 1, 7} {
		var evs []wire.Event
		err := Run(context.Background(), fuzzHTTPSOptions(TLSNone, x509.NewCertPool(), func() net.Conn {
			return &scriptedConn{r: strings.NewReader(resp), chunk: chunk}
		}), func(ev wire.Event) { evs = append(evs, ev) })
		if err != nil {
			t.Fatalf("chunk %d: %v\n%s", chunk, err, dump(evs))
		}
		body := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "http.body" })
		if body < 0 || string(evs[body].Raw) != "until close" || !strings.Contains(evs[body].Text, "until the server closes") {
			t.Errorf("chunk %d: body %d\n%s", chunk, body, dump(evs))
		}
	}
}

// TestHTTP2ContinuationFlood: a server that follows HEADERS with endless
// empty CONTINUATION frames (CERT VU#421644) used to make one event, and
// the client's memory, grow with everything it sent (900 KB here, without
// bound in a longer session): FuzzHTTP2Frames's bound on an event's Raw
// fails on this input. The read now stops at h2MaxRead.
func TestHTTP2ContinuationFlood(t *testing.T) {
	frames := h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h(":status", "200")})
		for range 100000 {
			fr.WriteContinuation(1, false, nil)
		}
		fr.WriteContinuation(1, true, nil)
	})
	pki := validPKI(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{pki.cert}, NextProtos: []string{"h2"}}
	evs, err := runH2Frames(t, cfg, pki.pool, frames)
	if !errors.Is(err, protocol.ErrTooManyLines) {
		t.Fatalf("Run: %v, want ErrTooManyLines\n%s", err, dump(evs))
	}
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && len(ev.Raw) > h2MaxRead {
			t.Errorf("event %d (%s) keeps %d bytes", ev.Seq, ev.Annotation, len(ev.Raw))
		}
	}
	if e := errorEvent(evs); e == nil || e.Err.Explain != ExplainReplyTooLong {
		t.Errorf("error event %+v", e)
	}
}

// TestHTTP2NoFinalResponse is FuzzHTTP2Frames's finding: DATA with
// END_STREAM on stream 1 before any HEADERS (testdata b860906db19800a3), or
// only a 1xx HEADERS ending the stream, made the session succeed without a
// response. RFC 9113 §8.1: such a response is malformed.
func TestHTTP2NoFinalResponse(t *testing.T) {
	pki := validPKI(t)
	cfg := &tls.Config{Certificates: []tls.Certificate{pki.cert}, NextProtos: []string{"h2"}}
	for name, frames := range map[string][]byte{
		"DATA first": h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteData(1, true, []byte("00000000"))
		}),
		"1xx ends the stream": h2Frames(func(fr *http2.Framer, h func(...string) []byte) {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, EndHeaders: true, EndStream: true, BlockFragment: h(":status", "103")})
		}),
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := runH2Frames(t, cfg, pki.pool, frames)
			if !errors.Is(err, protocol.ErrMalformedReply) {
				t.Errorf("Run: %v, want ErrMalformedReply\n%s", err, dump(evs))
			}
		})
	}
}
