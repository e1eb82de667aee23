package sessions

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

func init() { RegisterDriver(protocol.HTTPS, HTTPSDriver{}) }

// HTTPSDriver fetches "/" once, for comparison with mail's TLS modes:
// implicit TLS (RFC 2818, RFC 8314 §3 works the same way) with ALPN
// (RFC 7301), then one GET. Lines carry Proto "http".
//
// What it speaks follows the server's ALPN choice:
//
//   - "http/1.1" or none: HTTP/1.1 (RFC 9112) written and read by hand, so
//     every decrypted line is the bytes as sent and read;
//   - "h2": HTTP/2 (RFC 9113) with golang.org/x/net/http2's Framer and
//     HPACK, on this goroutine: the preface, SETTINGS, one HEADERS request,
//     the response's frames. Each frame is one event whose Raw is the frame
//     as sent or read (binary: HPACK-compressed headers) and whose Text
//     shows it decoded (":method GET, :path /, …"). net/http's client
//     would hide the frames and emit from its own goroutines.
//
// Over HTTP/1.1 the whole body is read and the budget's Literal kept
// (http1Client.body); over HTTP/2 a preview of httpPreview bytes, after
// which the stream is cancelled (RFC 9113 §8.7).
type HTTPSDriver struct{}

// DefaultHTTPSALPN is what an HTTPS session should offer (RFC 7301 §3.1),
// in order of preference.
var DefaultHTTPSALPN = []string{"h2", "http/1.1"}

// HTTPError is a malformed HTTP response or an HTTP/2 stream or connection
// error from the server.
type HTTPError struct {
	Op   string
	Text string
}

func (e *HTTPError) Error() string { return e.Op + ": " + e.Text }

const (
	httpPreview    = 2048     // body bytes kept
	httpMaxHeaders = 16 << 10 // header block (HTTP/2 MAX_HEADER_LIST_SIZE, RFC 9113 §6.5.2)
	h2MaxFrames    = 200      // frames read before giving up on the response
	// h2MaxFrameSize is the default SETTINGS_MAX_FRAME_SIZE (RFC 9113
	// §6.5.2): a server must not send larger frames unless told.
	h2MaxFrameSize = 16384
	httpUserAgent  = "mailwire"
)

// Play runs the session.
func (HTTPSDriver) Play(c *Conversation) error {
	o := c.Options()
	if o.TLSMode.usesSTARTTLS() {
		return c.Fail("options", errors.New("HTTPS has no STARTTLS: use implicit TLS (RFC 2818 §2) or none"), ExplainOptions)
	}
	alpn := ""
	if cs, ok := c.ConnectionState(); ok {
		alpn = cs.NegotiatedProtocol
		c.Note(alpnText(alpn, o.ALPN), "http.alpn."+alpnKey(alpn), nil)
	}
	// HTTPS has no greeting: connect and tls both end once the connection
	// (and TLS) is up, before any request; TLS's close_notify ends it
	// (RFC 8446 §6.1). Options refuse auth for HTTPS.
	reached := "the TLS handshake is done; no HTTP request is sent"
	if !c.TLSActive() {
		reached = "the connection is open; no HTTP request is sent"
	}
	if c.stopAfter(StageConnect, reached) || c.stopAfter(StageTLS, reached) {
		c.Ended()
		return nil
	}
	switch alpn {
	case "h2":
		return (&h2Client{c: c, o: o}).play()
	case "", "http/1.1":
		return (&http1Client{c: c, o: o}).play()
	}
	return c.Fail("alpn", fmt.Errorf("the server chose ALPN protocol %s, which this client does not speak", wire.Quote(alpn, 64)), ExplainOptions)
}

func alpnKey(p string) string {
	if p == "" {
		return "none"
	}
	return strings.ToLower(p)
}

func alpnText(chosen string, offered []string) string {
	if len(offered) == 0 {
		return "no ALPN offered (RFC 7301): speaking HTTP/1.1, the default; HTTP/2 over TLS needs ALPN \"h2\" (RFC 9113 §3.2)"
	}
	if chosen == "" {
		return fmt.Sprintf("offered ALPN %s, the server chose none: speaking HTTP/1.1 (RFC 7301 §3.2)", strings.Join(offered, ", "))
	}
	return fmt.Sprintf("offered ALPN %s, the server chose %s (RFC 7301 §3.2). The offer travels in cleartext in the ClientHello; in TLS 1.3 the choice comes back encrypted, in EncryptedExtensions",
		strings.Join(offered, ", "), wire.Quote(chosen, 64))
}

// authority is the Host header / :authority (RFC 9110 §7.2): the server
// name, with the port when it is not 443.
func authority(o Options) string {
	_, port, _ := net.SplitHostPort(o.Target)
	if port == "" || port == "443" {
		return o.ServerName
	}
	return net.JoinHostPort(o.ServerName, port)
}

func statusAnn(code int) string { return "http.status." + strconv.Itoa(code) }

// http1Client speaks HTTP/1.1 (RFC 9112).
type http1Client struct {
	c *Conversation
	o Options
}

func (h *http1Client) play() error {
	req := "GET / HTTP/1.1\r\n" +
		"Host: " + authority(h.o) + "\r\n" +
		"User-Agent: " + httpUserAgent + "\r\n" +
		"Accept: */*\r\n" +
		// RFC 9112 §9.6: the server closes after this response, so a body
		// of unknown length ends with the connection.
		"Connection: close\r\n\r\n"
	if err := h.c.Send([]byte(req), wire.Line{Proto: protocol.HTTP, Command: "GET"}, "http.request"); err != nil {
		return h.c.Fail("send request", err, "")
	}
	// RFC 9110 §15.2: 1xx responses come before the final one.
	for range 5 {
		code, hdr, err := h.response()
		if err != nil {
			return err
		}
		if code >= 200 {
			if err := h.body(hdr); err != nil {
				return err
			}
			h.c.Ended()
			return nil
		}
	}
	return h.c.Fail("read response", fmt.Errorf("%w: more than 5 informational (1xx) responses", protocol.ErrMalformedReply), "")
}

// response reads a status line and header fields (RFC 9112 §4, §5) and
// emits them as one event.
func (h *http1Client) response() (int, map[string]string, error) {
	lr := h.c.Reader()
	var raw []byte
	fail := func(err error) (int, map[string]string, error) {
		if len(raw) > 0 {
			h.c.Received(raw, wire.Line{Proto: protocol.HTTP}, "http.response.incomplete")
		}
		return 0, nil, h.c.Fail("read response", err, "")
	}
	line, err := lr.ReadLine()
	if err != nil {
		return fail(err)
	}
	raw = append(raw, line...)
	status := protocol.TrimEOL(line)
	// status-line = HTTP-version SP status-code SP [ reason-phrase ]
	ver, rest, _ := strings.Cut(status, " ")
	codeStr, _, _ := strings.Cut(rest, " ")
	code, cerr := strconv.Atoi(codeStr)
	if !strings.HasPrefix(ver, "HTTP/1.") || len(codeStr) != 3 || cerr != nil || code < 100 || code > 599 {
		return fail(fmt.Errorf("%w: %s is not an HTTP/1.x status line (RFC 9112 §4)", protocol.ErrMalformedReply, wire.Quote(status, 40)))
	}
	hdr := map[string]string{}
	for n := 0; ; n++ {
		if n > h.o.MaxReplyLines || len(raw) > httpMaxHeaders {
			return fail(fmt.Errorf("%w: header section over %d fields or %d bytes", protocol.ErrTooManyLines, h.o.MaxReplyLines, httpMaxHeaders))
		}
		line, err := lr.ReadLine()
		if err != nil {
			return fail(err)
		}
		raw = append(raw, line...)
		l := protocol.TrimEOL(line)
		if l == "" {
			break
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fail(fmt.Errorf("%w: %s is not a header field (RFC 9112 §5)", protocol.ErrMalformedReply, wire.Quote(l, 40)))
		}
		hdr[strings.ToLower(name)] = strings.TrimSpace(value)
	}
	h.c.Received(raw, wire.Line{Proto: protocol.HTTP, Code: codeStr}, "http.response", statusAnn(code))
	return code, hdr, nil
}

// body reads the whole body (RFC 9112 §6.3), to the end that its framing
// says: Content-Length, the last chunk, or the server's close. It keeps
// the first bytes, up to the budget's Literal, and counts the rest, so a
// body of any size costs bounded memory and the connection ends clean,
// with nothing left in flight.
func (h *http1Client) body(hdr map[string]string) error {
	lr := h.c.Reader()
	keep := wire.Limit(h.o.Budget.Literal)
	var (
		kept  []byte
		total int64
		desc  string
	)
	read := func(n int64) error {
		b, got, err := lr.ReadKeep(n, keep-len(kept))
		kept = append(kept, b...)
		total += got
		return err
	}
	switch {
	case strings.Contains(strings.ToLower(hdr["transfer-encoding"]), "chunked"):
		// RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF chunk-data CRLF,
		// until a chunk of size 0, then the trailer section and CRLF.
		chunks := 0
		for ; ; chunks++ {
			line, err := lr.ReadLine()
			if err != nil {
				return h.c.Fail("read body", err, "")
			}
			sizeStr, _, _ := strings.Cut(protocol.TrimEOL(line), ";")
			size, err := strconv.ParseInt(strings.TrimSpace(sizeStr), 16, 64)
			if err != nil || size < 0 {
				return h.c.Fail("read body", fmt.Errorf("%w: chunk size %s (RFC 9112 §7.1)", protocol.ErrMalformedReply, wire.Quote(protocol.TrimEOL(line), 20)), "")
			}
			if size == 0 {
				break
			}
			if err := read(size); err != nil {
				return h.c.Fail("read body", err, "")
			}
			if line, err := lr.ReadLine(); err != nil || protocol.TrimEOL(line) != "" {
				if err == nil {
					err = fmt.Errorf("%w: no CRLF after a chunk's data (RFC 9112 §7.1)", protocol.ErrMalformedReply)
				}
				return h.c.Fail("read body", err, "")
			}
		}
		for n := 0; ; n++ { // the trailer section (RFC 9112 §7.1.2)
			line, err := lr.ReadLine()
			if err != nil {
				return h.c.Fail("read body", err, "")
			}
			if protocol.TrimEOL(line) == "" {
				break
			}
			if n > h.o.MaxReplyLines {
				return h.c.Fail("read body", fmt.Errorf("%w: trailer section over %d fields", protocol.ErrTooManyLines, h.o.MaxReplyLines), "")
			}
		}
		desc = fmt.Sprintf("chunked, %s", words.Plural(chunks, "chunk"))
	case hdr["content-length"] != "":
		cl, err := strconv.ParseInt(hdr["content-length"], 10, 64)
		if err != nil || cl < 0 {
			return h.c.Fail("read body", fmt.Errorf("%w: Content-Length %s (RFC 9110 §8.6)", protocol.ErrMalformedReply, wire.Quote(hdr["content-length"], 20)), "")
		}
		if err := read(cl); err != nil {
			return h.c.Fail("read body", err, "")
		}
		desc = "Content-Length " + strconv.FormatInt(cl, 10)
	default:
		// RFC 9112 §6.3 (8): the body is what arrives before the close.
		if err := read(-1); err != nil {
			return h.c.Fail("read body", err, "")
		}
		desc = "until the server closes"
	}
	if total == 0 {
		return nil
	}
	h.emitBody(kept, total, desc)
	if total > int64(len(kept)) {
		h.c.Note(fmt.Sprintf("body of %s bytes: the first %s are kept and shown (--max-literal); the rest was read and counted, not kept",
			wire.GroupDigits(total), wire.GroupDigits(int64(len(kept)))), wire.BudgetKeyLiteral, nil)
	}
	return nil
}

func (h *http1Client) emitBody(b []byte, total int64, desc string) {
	layer, vis := h.c.lineLayer()
	ev := wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: layer, Visible: vis, Raw: b,
		Text:       fmt.Sprintf("body: %s bytes (%s)", wire.GroupDigits(total), desc),
		Annotation: "http.body", Line: &wire.Line{Proto: protocol.HTTP}}
	if total > int64(len(b)) {
		ev.RawLen = total
	}
	h.c.Emit(ev)
}

// h2Client speaks HTTP/2 (RFC 9113) for one request on stream 1.
type h2Client struct {
	c  *Conversation
	o  Options
	fr *http2.Framer
	// in collects the bytes of the frame being read; next describes the
	// frame being written (the Framer writes each frame in one Write).
	in   []byte
	next h2Out
}

type h2Out struct {
	text, ann string
	line      wire.Line
	also      []string
}

// h2MaxRead bounds the bytes one ReadFrame may take: one frame (RFC 9113
// §4.1, §4.2), or a header block in HEADERS and CONTINUATION frames (§6.10).
// The Framer bounds a header block's decoded size (MaxHeaderListSize), but
// not how many CONTINUATION frames that add nothing to it (empty ones) it
// reads, so without this a hostile server could make one block, kept in
// h.in for its event, grow until the session times out: the CONTINUATION
// flood (CERT VU#421644).
const h2MaxRead = 9 + h2MaxFrameSize + 2*httpMaxHeaders

// Read feeds the Framer from the TLS connection, with the per-read
// deadline, and keeps the bytes so that each frame's event has them.
func (h *h2Client) Read(p []byte) (int, error) {
	if len(h.in) >= h2MaxRead {
		return 0, fmt.Errorf("%w: one HTTP/2 frame or header block over %d bytes (RFC 9113 §6.10)", protocol.ErrTooManyLines, h2MaxRead)
	}
	p = p[:min(len(p), h2MaxRead-len(h.in))]
	h.c.setDeadline(h.c.tap.SetReadDeadline)
	n, err := h.c.conn.Read(p)
	h.in = append(h.in, p[:n]...)
	return n, err
}

// Write emits the frame's event, then writes it (as Conversation.Send
// does, so the encrypted record that carries it follows its event).
func (h *h2Client) Write(p []byte) (int, error) {
	line := h.next.line
	line.Proto = protocol.HTTP
	if string(p) != http2.ClientPreface {
		line.Frame = wire.ParseFrameHeader(p, h2FrameType) // one frame per Write
	}
	layer, vis := h.c.lineLayer()
	h.c.Emit(wire.Event{Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: layer, Visible: vis, Raw: bytes.Clone(p),
		Text: h.next.text, Annotation: h.next.ann, Also: h.next.also, Line: &line})
	h.next = h2Out{}
	h.c.setDeadline(h.c.tap.SetWriteDeadline)
	return h.c.conn.Write(p)
}

func (h *h2Client) write(out h2Out, f func() error) error {
	h.next = out
	if err := f(); err != nil {
		return h.c.Fail("send "+strings.ToLower(strings.Fields(out.text)[0]), err, "")
	}
	return nil
}

func (h *h2Client) play() error {
	h.fr = http2.NewFramer(h, h)
	h.fr.SetMaxReadFrameSize(h2MaxFrameSize)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = httpMaxHeaders

	// RFC 9113 §3.4: the client preface, then a SETTINGS frame. Push is
	// refused (§6.5.2): the session fetches one page.
	if err := h.write(h2Out{text: "PRI * HTTP/2.0 connection preface (RFC 9113 §3.4)", ann: "http.h2.preface"},
		func() error { _, err := h.Write([]byte(http2.ClientPreface)); return err }); err != nil {
		return err
	}
	settings := []http2.Setting{{ID: http2.SettingEnablePush, Val: 0}, {ID: http2.SettingMaxHeaderListSize, Val: httpMaxHeaders}}
	if err := h.write(h2Out{text: "SETTINGS " + settingsText(settings), ann: "http.h2.frame.settings"},
		func() error { return h.fr.WriteSettings(settings...) }); err != nil {
		return err
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
		{Name: ":authority", Value: authority(h.o)}, {Name: ":path", Value: "/"},
		{Name: "user-agent", Value: httpUserAgent}, {Name: "accept", Value: "*/*"},
	}
	for _, f := range fields {
		_ = enc.WriteField(f) // writes to a bytes.Buffer cannot fail
	}
	if err := h.write(h2Out{text: "HEADERS stream 1 (END_STREAM, END_HEADERS): " + fieldsText(fields),
		ann: "http.h2.request", also: []string{"http.h2.frame.headers"}, line: wire.Line{Command: "GET"}},
		func() error {
			return h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true})
		}); err != nil {
		return err
	}
	if err := h.readResponse(); err != nil {
		return err
	}
	// RFC 9113 §6.8: a graceful shutdown; the client opened no stream
	// the server could have started, so the last stream id is 0.
	if err := h.write(h2Out{text: "GOAWAY last stream 0, NO_ERROR", ann: "http.h2.frame.goaway"},
		func() error { return h.fr.WriteGoAway(0, http2.ErrCodeNo, nil) }); err != nil {
		return err
	}
	h.c.Ended()
	return nil
}

// readResponse reads frames until stream 1 ends or the body preview is
// full, answering SETTINGS and PING as RFC 9113 §6.5.3 and §6.7 require.
func (h *h2Client) readResponse() error {
	gotHeaders, preview := false, 0
	for range h2MaxFrames {
		h.in = h.in[:0]
		f, err := h.fr.ReadFrame()
		if err != nil {
			if len(h.in) > 0 {
				h.received(bytes.Clone(h.in), "incomplete or invalid frame", "http.h2.frame.invalid", wire.Line{})
			}
			if mh, ok := f.(*http2.MetaHeadersFrame); ok && mh != nil && mh.Truncated {
				// x/net ends the connection with PROTOCOL_ERROR when a
				// header block (HEADERS and its CONTINUATIONs) runs past
				// the list size this client announced: a size limit,
				// not a grammar error (the CONTINUATION floods).
				err = fmt.Errorf("%w: a header block over the %d bytes this client announced in SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2)",
					protocol.ErrTooManyLines, httpMaxHeaders)
			} else {
				err = h2Err(err)
			}
			return h.c.Fail("read response", err, "")
		}
		raw := bytes.Clone(h.in)
		hd := f.Header()
		desc := fmt.Sprintf("%s stream %d%s", hd.Type, hd.StreamID, flagsText(hd))
		ann := "http.h2.frame." + strings.ToLower(hd.Type.String())
		switch f := f.(type) {
		case *http2.SettingsFrame:
			var s []http2.Setting
			_ = f.ForeachSetting(func(st http2.Setting) error { s = append(s, st); return nil })
			h.received(raw, desc+": "+settingsText(s), ann, wire.Line{})
			if !f.IsAck() {
				if err := h.write(h2Out{text: "SETTINGS ACK", ann: ann}, h.fr.WriteSettingsAck); err != nil {
					return err
				}
			}
		case *http2.PingFrame:
			h.received(raw, desc, ann, wire.Line{})
			if !f.IsAck() {
				if err := h.write(h2Out{text: "PING ACK", ann: ann}, func() error { return h.fr.WritePing(true, f.Data) }); err != nil {
					return err
				}
			}
		case *http2.MetaHeadersFrame:
			code := f.PseudoValue("status")
			line, also := wire.Line{}, []string(nil)
			if f.StreamID == 1 && !gotHeaders {
				n, err := strconv.Atoi(code)
				if err != nil || len(code) != 3 {
					h.received(raw, desc+": "+fieldsText(f.Fields), ann, wire.Line{})
					return h.c.Fail("read response", fmt.Errorf("%w: response without a valid :status (RFC 9113 §8.3.2)", protocol.ErrMalformedReply), "")
				}
				line.Code = code
				also = []string{ann, statusAnn(n)}
				ann = "http.h2.response"
				gotHeaders = n >= 200 // 1xx: a final response follows (RFC 9113 §8.1)
			}
			h.received(raw, desc+": "+fieldsText(f.Fields), ann, line, also...)
			if f.StreamEnded() && f.StreamID == 1 {
				if !gotHeaders {
					// RFC 9113 §8.1: a 1xx response never ends the stream;
					// the final response is still owed.
					return h.c.Fail("read response", fmt.Errorf("%w: stream 1 ended without a final response (RFC 9113 §8.1)", protocol.ErrMalformedReply), "")
				}
				return nil
			}
		case *http2.DataFrame:
			if f.StreamID == 1 && !gotHeaders {
				// RFC 9113 §8.1: a response is a HEADERS frame (with the
				// final :status), then DATA; content without one is
				// malformed, not a response.
				h.received(raw, fmt.Sprintf("%s: %d bytes before any final response HEADERS", desc, len(f.Data())), ann, wire.Line{})
				return h.c.Fail("read response", fmt.Errorf("%w: DATA on stream 1 before the response's HEADERS (RFC 9113 §8.1)", protocol.ErrMalformedReply), "")
			}
			data := f.Data()
			keep := min(len(data), max(httpPreview-preview, 0))
			text := fmt.Sprintf("%s: %d bytes", desc, len(data))
			if keep < len(data) {
				text += fmt.Sprintf(", first %d kept", keep)
				head := 9 // frame header (RFC 9113 §4.1), then the pad length if padded (§6.1)
				if hd.Flags.Has(http2.FlagDataPadded) {
					head++
				}
				raw = raw[:min(len(raw), head+keep)]
			}
			preview += len(data)
			h.received(raw, text, "http.body", wire.Line{}, ann)
			if f.StreamEnded() && f.StreamID == 1 {
				return nil
			}
			if preview >= httpPreview && f.StreamID == 1 {
				// Enough: cancel the stream rather than read the rest (§8.7).
				return h.write(h2Out{text: "RST_STREAM stream 1, CANCEL: the preview is full", ann: "http.h2.frame.rst_stream"},
					func() error { return h.fr.WriteRSTStream(1, http2.ErrCodeCancel) })
			}
		case *http2.RSTStreamFrame:
			h.received(raw, fmt.Sprintf("%s: %v", desc, f.ErrCode), ann, wire.Line{})
			if f.StreamID == 1 {
				return h.c.Fail("read response", &HTTPError{Op: "stream 1", Text: "reset by the server: " + f.ErrCode.String()}, ann)
			}
		case *http2.GoAwayFrame:
			h.received(raw, fmt.Sprintf("%s: last stream %d, %v %s", desc, f.LastStreamID, f.ErrCode,
				wire.Truncate(string(f.DebugData()), 60)), ann, wire.Line{})
			if f.LastStreamID < 1 || f.ErrCode != http2.ErrCodeNo {
				return h.c.Fail("read response", &HTTPError{Op: "goaway", Text: "the server is closing the connection: " + f.ErrCode.String()}, ann)
			}
		default:
			// WINDOW_UPDATE, PRIORITY, unknown frame types (ignored, §5.5).
			h.received(raw, desc, ann, wire.Line{})
		}
	}
	return h.c.Fail("read response", fmt.Errorf("%w: no end of the response after %d frames", protocol.ErrTooManyLines, h2MaxFrames), "")
}

func (h *h2Client) received(raw []byte, text, ann string, line wire.Line, also ...string) {
	line.Proto = protocol.HTTP
	line.Frame = wire.ParseFrameHeader(raw, h2FrameType)
	layer, vis := h.c.lineLayer()
	h.c.Emit(wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: layer, Visible: vis, Raw: raw,
		Text: text, Annotation: ann, Also: also, Line: &line})
}

// h2FrameType names a frame type as x/net/http2 does (RFC 9113 §6;
// "UNKNOWN_FRAME_TYPE_n" for others, §5.5).
func h2FrameType(t uint8) string { return http2.FrameType(t).String() }

// h2Err maps the Framer's errors onto the package's, so Explain finds them.
func h2Err(err error) error {
	var ce http2.ConnectionError
	var se http2.StreamError
	switch {
	case errors.Is(err, http2.ErrFrameTooLarge):
		return fmt.Errorf("%w: HTTP/2 frame over %d bytes (RFC 9113 §4.2)", protocol.ErrLineTooLong, h2MaxFrameSize)
	case errors.As(err, &ce), errors.As(err, &se):
		return fmt.Errorf("%w: HTTP/2: %v", protocol.ErrMalformedReply, err)
	}
	return err
}

func flagsText(hd http2.FrameHeader) string {
	var f []string
	switch hd.Type {
	case http2.FrameData:
		if hd.Flags.Has(http2.FlagDataEndStream) {
			f = append(f, "END_STREAM")
		}
	case http2.FrameHeaders:
		if hd.Flags.Has(http2.FlagHeadersEndStream) {
			f = append(f, "END_STREAM")
		}
		if hd.Flags.Has(http2.FlagHeadersEndHeaders) {
			f = append(f, "END_HEADERS")
		}
	case http2.FrameSettings, http2.FramePing:
		if hd.Flags.Has(http2.FlagSettingsAck) {
			f = append(f, "ACK")
		}
	}
	if len(f) == 0 {
		return ""
	}
	return " (" + strings.Join(f, ", ") + ")"
}

func settingsText(s []http2.Setting) string {
	if len(s) == 0 {
		return "(none)"
	}
	parts := make([]string, len(s))
	for i, st := range s {
		parts[i] = st.String()
	}
	return strings.Join(parts, ", ")
}

func fieldsText(fields []hpack.HeaderField) string {
	parts := make([]string, 0, len(fields))
	for _, f := range fields {
		sep := ": "
		if strings.HasPrefix(f.Name, ":") {
			sep = " "
		}
		parts = append(parts, f.Name+sep+f.Value)
	}
	return strings.Join(parts, ", ")
}
