package monitor

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/http2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Reading one direction of a watched connection: lines in the clear, then
// (from the dissector's Plaintext) the lines inside TLS. Bytes arrive in
// whatever chunks the server's reads and writes had, so each reader is a
// small push parser: a line, a multi-line reply or body, or a counted
// literal, each bounded (maxLine; a body or literal keeps Budget.Literal
// bytes and counts the rest).

// maxLine bounds one line a reader assembles: the lab's own MaxLineLength
// default is 2,000 (RFC 5321 §4.5.3.1.6 allows 1,000), IMAP commands run
// longer.
const maxLine = 8 << 10

type readMode int

const (
	modeLine  readMode = iota // lines, each an event (or part of a reply)
	modeBody                  // lines up to a line holding a single dot (SMTP DATA, POP3 multi-line)
	modeCount                 // count bytes: an IMAP literal, a BDAT chunk
)

// reader is one direction's parser.
type reader struct {
	c   *conn
	dir wire.Direction
	tls bool

	line []byte // the line being assembled
	long int64  // bytes of an over-long line passed over
	mode readMode
	left int64 // modeCount: bytes still to come

	// acc is the event being assembled (a multi-line reply, a body, a
	// command with literals); accN the bytes it stands for.
	acc   []byte
	accN  int64
	accOn bool

	out   []wire.Event // events completed by the current feed
	h2buf []byte       // HTTP/2 frames not yet whole (https)
	h2pre bool         // the HTTP/2 preface was seen
}

func newReader(c *conn, dir wire.Direction) *reader { return &reader{c: c, dir: dir} }

// feed takes bytes as they crossed the wire.
func (r *reader) feed(b []byte) {
	c := r.c
	for len(b) > 0 {
		if r.tls {
			c.emitAll(c.diss.Feed(r.dir, b))
			c.versionNote()
			return
		}
		if r.dir == wire.ClientToServer && c.startAsked && len(r.line) == 0 && r.mode == modeLine && looksLikeTLS(b) {
			// The client's ClientHello after STARTTLS: TLS from here on.
			if !c.goAhead {
				c.boundary()
			}
			c.startTLS(lab.TLSStartTLS)
			continue
		}
		n := r.consume(b, wire.LayerCleartext)
		b = b[n:]
		c.emitAll(r.take())
	}
}

// plain takes application data decrypted from TLS and returns the events
// it completes, for the dissector to place after the record.
func (r *reader) plain(b []byte) []wire.Event {
	if r.c.proto == protocol.HTTPS {
		return r.http(b)
	}
	for len(b) > 0 {
		b = b[r.consume(b, wire.LayerDecrypted):]
	}
	return r.take()
}

func (r *reader) take() []wire.Event {
	out := r.out
	r.out = nil
	return out
}

// toTLS turns the direction to TLS: what was half read in the clear is
// passed on as it is.
func (r *reader) toTLS() {
	r.end()
	r.c.emitAll(r.take())
	r.tls = true
	r.mode = modeLine
}

// end passes on a half-read line or event when the stream ends or
// changes layer.
func (r *reader) end() {
	layer := wire.LayerCleartext
	if r.tls {
		layer = wire.LayerDecrypted
	}
	if len(r.line) > 0 {
		r.accumulate(r.line)
		r.line = r.line[:0]
	}
	if r.accOn {
		r.finish(layer, "", nil)
	}
	if r.tls {
		return
	}
	r.c.emitAll(r.take())
}

// consume reads from b as the mode says and returns how much it used.
func (r *reader) consume(b []byte, layer wire.Layer) int {
	if r.mode == modeCount {
		n := int(min(r.left, int64(len(b))))
		r.accumulate(b[:n])
		r.left -= int64(n)
		if r.left == 0 {
			r.mode = modeLine
			r.countDone(layer)
		}
		return n
	}
	i := bytes.IndexByte(b, '\n')
	part := b
	if i >= 0 {
		part = b[:i+1]
	}
	if room := maxLine - len(r.line); len(part) > room {
		r.long += int64(len(part) - room)
		part = part[:room]
	}
	r.line = append(r.line, part...)
	if i < 0 {
		return len(b)
	}
	line := r.line
	r.line = nil
	if r.long > 0 {
		r.accN += r.long
		r.long = 0
	}
	if r.dir == wire.ClientToServer {
		r.clientLine(line, layer)
	} else {
		r.serverLine(line, layer)
	}
	return i + 1
}

// accumulate adds bytes to the event being assembled, keeping at most the
// budget's Literal bytes.
func (r *reader) accumulate(b []byte) {
	r.accOn = true
	r.accN += int64(len(b))
	if room := r.c.m.opts.Budget.Literal - len(r.acc); room > 0 {
		r.acc = append(r.acc, b[:min(room, len(b))]...)
	}
}

// finish completes the event being assembled.
func (r *reader) finish(layer wire.Layer, ann string, line *wire.Line, also ...string) *wire.Event {
	_, vis := wire.LineLayer(layer == wire.LayerDecrypted)
	if line == nil {
		line = &wire.Line{}
	}
	line.Proto = r.c.lineProto()
	ev := wire.Event{Kind: wire.KindLine, Dir: r.dir, Layer: layer, Visible: vis, Raw: r.acc,
		Text: wire.LineText(r.acc), Annotation: ann, Also: also, Line: line}
	if r.accN > int64(len(r.acc)) {
		ev.RawLen = r.accN
	}
	r.acc, r.accN, r.accOn = nil, 0, false
	r.out = append(r.out, ev)
	return &r.out[len(r.out)-1]
}

// lineProto is Line.Proto of the connection's lines.
func (c *conn) lineProto() string {
	if c.proto == protocol.HTTPS {
		return protocol.HTTP
	}
	return c.proto
}

// boundary emits the STARTTLS boundary.
func (c *conn) boundary() {
	c.goAhead = true
	c.emit(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Annotation: "tls.boundary.starttls", Text: sessions.StartTLSBoundaryText(c.proto)})
}

// lineState is what the readers of both directions share: the command
// being answered and what its answer changes.
type lineState struct {
	verb     string // the last command's verb
	arg      bool   // it had an argument (POP3 LIST/UIDL answer one line then)
	imapTag  string // the tag of an IMAP STARTTLS
	authing  bool   // an AUTH (AUTHENTICATE) exchange is under way
	cont     bool   // the server asked for its continuation (SASL)
	greeted  bool   // the server's greeting was read
	cred     protocol.CredentialState
	dataNext bool // SMTP: DATA sent, a 354 starts the body
}

// clientLine handles one line the client sent.
func (r *reader) clientLine(line []byte, layer wire.Layer) {
	c := r.c
	st := &c.st
	if r.mode == modeBody {
		if isDotLine(line) {
			r.accumulate(line)
			r.mode = modeLine
			r.finish(layer, "smtp.data.content", nil)
			return
		}
		r.accumulate(line)
		return
	}
	r.accumulate(line)
	if n, ok := protocol.AnnouncedLiteral(string(line)); ok && c.proto == protocol.IMAP {
		// A literal follows (RFC 9051 §4.3): it belongs to this command.
		r.mode, r.left = modeCount, n
		if n == 0 {
			r.mode = modeLine
		}
		return
	}
	raw := r.acc
	verb, ann := protocol.ClientCommand(c.proto, raw)
	if st.cont {
		verb, ann = "", c.proto+".cmd."+strings.ToLower(authVerb(c.proto))
	}
	st.cont = false
	cred := protocol.DecodeCredential(c.proto, raw, &st.cred)
	if cred != nil {
		cred.OnWire = layer == wire.LayerCleartext
	}
	if verb != "" {
		st.verb, st.arg = verb, len(bytes.Fields(raw)) > argIndex(c.proto)+1
		st.authing = verb == authVerb(c.proto)
	}
	switch {
	case verb == protocol.StartTLSVerb(c.proto) && layer == wire.LayerCleartext:
		c.startAsked = true
		if c.proto == protocol.IMAP {
			st.imapTag = string(bytes.Fields(raw)[0])
		}
	case verb == "DATA" && c.proto == protocol.SMTP:
		st.dataNext = true
	case verb == "BDAT" && c.proto == protocol.SMTP:
		// RFC 3030 §2: BDAT size [LAST], then size octets of message.
		if f := bytes.Fields(raw); len(f) >= 2 {
			if n, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil && n > 0 {
				ev := r.finish(layer, ann, &wire.Line{Command: verb})
				ev.Credential = cred
				r.mode, r.left = modeCount, n
				return
			}
		}
	}
	ev := r.finish(layer, ann, &wire.Line{Command: verb})
	ev.Credential = cred
}

// countDone ends a counted stretch: a BDAT chunk is an event of its own;
// an IMAP literal goes on with the rest of its command's line.
func (r *reader) countDone(layer wire.Layer) {
	if r.c.proto == protocol.SMTP && r.dir == wire.ClientToServer {
		r.finish(layer, "smtp.data.content", nil)
	}
}

// authVerb is the command whose continuation a SASL response is.
func authVerb(proto string) string {
	if proto == protocol.IMAP {
		return "AUTHENTICATE"
	}
	return "AUTH"
}

// argIndex is where a command's first argument is: after the tag in IMAP.
func argIndex(proto string) int {
	if proto == protocol.IMAP {
		return 1
	}
	return 0
}

// isDotLine says whether line ends a body: a single dot (RFC 5321
// §4.1.1.4, RFC 1939 §3).
func isDotLine(line []byte) bool {
	return bytes.Equal(line, []byte(".\r\n")) || bytes.Equal(line, []byte(".\n"))
}

// serverLine handles one line the server wrote.
func (r *reader) serverLine(line []byte, layer wire.Layer) {
	c := r.c
	st := &c.st
	st.cred.ServerLine(c.proto, line)
	if r.mode == modeBody {
		r.accumulate(line)
		if isDotLine(line) {
			r.mode = modeLine
			r.reply(layer)
		}
		return
	}
	r.accumulate(line)
	switch c.proto {
	case protocol.SMTP:
		// RFC 5321 §4.2.1: "xyz-" continues a reply, "xyz " ends it.
		if len(line) >= 4 && line[3] == '-' && isCode(line[:3]) {
			return
		}
	case protocol.POP3:
		if bytes.HasPrefix(line, []byte("+OK")) && pop3Multi(st.verb, st.arg) && r.accN == int64(len(line)) {
			r.mode = modeBody
			return
		}
	case protocol.IMAP:
		if n, ok := protocol.AnnouncedLiteral(string(line)); ok && n > 0 {
			r.mode, r.left = modeCount, n
			return
		}
	}
	r.reply(layer)
}

func isCode(b []byte) bool {
	return len(b) == 3 && b[0] >= '1' && b[0] <= '5' && b[1] >= '0' && b[1] <= '9' && b[2] >= '0' && b[2] <= '9'
}

// pop3Multi says whether a positive answer to verb is multi-line (RFC
// 1939 §5, RFC 2449 §5, RFC 5034 §4 for AUTH without a mechanism).
func pop3Multi(verb string, arg bool) bool {
	switch verb {
	case "CAPA", "RETR", "TOP":
		return true
	case "LIST", "UIDL", "AUTH":
		return !arg
	}
	return false
}

// reply completes a server response and applies what it changes.
func (r *reader) reply(layer wire.Layer) {
	c := r.c
	st := &c.st
	raw := r.acc
	code, ann, also := protocol.ServerLineInfo(c.proto, raw)
	ann = protocol.KeyInTLS(ann, layer == wire.LayerDecrypted)
	if !st.greeted {
		// The first thing a mail server says (RFC 5321 §4.2, RFC 1939 §4,
		// RFC 9051 §7.1), again after implicit TLS starts it.
		st.greeted = true
		if ann != "" {
			also = append([]string{ann}, also...)
		}
		ann = c.proto + ".greeting"
	}
	caps, keys := protocol.ServerCapabilities(c.proto, st.verb, raw)
	first := wire.LineText(raw)
	r.finish(layer, ann, &wire.Line{Code: code, Capabilities: caps}, append(also, keys...)...)
	// A continuation request (SMTP 334, RFC 4954 §4; "+" in POP3 and
	// IMAP, RFC 5034 §4, RFC 9051 §7.5) inside an AUTH exchange: the
	// client's next line is its SASL response. Anything else ends it.
	isCont := c.proto == protocol.SMTP && strings.HasPrefix(first, "334") ||
		c.proto != protocol.SMTP && (strings.HasPrefix(first, "+ ") || first == "+")
	st.cont = st.authing && isCont
	if !isCont {
		st.authing = false
	}
	verb := st.verb
	st.verb = ""
	if c.proto == protocol.IMAP && strings.HasPrefix(first, "* ") {
		st.verb = verb // untagged data: the command is still being answered
	}
	switch {
	case verb == protocol.StartTLSVerb(c.proto) && layer == wire.LayerCleartext && startTLSAccepted(c.proto, st.imapTag, first):
		c.emitAll(r.take())
		c.boundary()
	case verb == "DATA" && strings.HasPrefix(first, "354") && st.dataNext:
		c.c2s.mode = modeBody
	}
	if !strings.HasPrefix(first, "354") {
		st.dataNext = false
	}
}

// startTLSAccepted says whether first is the server's go-ahead: 220 (RFC
// 3207 §4), +OK (RFC 2595 §4), the STARTTLS command's tagged OK (RFC 9051
// §6.2.1).
func startTLSAccepted(proto, tag, first string) bool {
	switch proto {
	case protocol.SMTP:
		return strings.HasPrefix(first, "220")
	case protocol.POP3:
		return strings.HasPrefix(first, "+OK")
	case protocol.IMAP:
		return tag != "" && strings.HasPrefix(first, tag+" OK")
	}
	return false
}

// http reads decrypted HTTPS: HTTP/1.1 messages as their first line
// (RFC 9112 §3, §4), HTTP/2 as frames (RFC 9113 §4.1), bounded.
func (r *reader) http(b []byte) []wire.Event {
	ev := func(raw []byte, text, ann string, fr *wire.Frame) {
		r.out = append(r.out, wire.Event{Kind: wire.KindLine, Dir: r.dir, Layer: wire.LayerDecrypted,
			Visible: wire.VisibleEndpoints, Raw: bytes.Clone(raw), Text: text, Annotation: ann,
			Line: &wire.Line{Proto: protocol.HTTP, Frame: fr}})
	}
	const preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" // RFC 9113 §3.4
	if r.dir == wire.ClientToServer && !r.h2pre && bytes.HasPrefix(b, []byte(preface)) {
		r.h2pre = true
		r.c.s2c.h2pre = true
		ev(b[:len(preface)], "HTTP/2 connection preface", "http.h2.preface", nil)
		b = b[len(preface):]
	}
	if !r.h2pre {
		ann := "http.body"
		switch {
		case r.dir == wire.ClientToServer && bytes.Contains(firstLineOf(b), []byte(" HTTP/1.")):
			ann = "http.request"
		case r.dir == wire.ServerToClient && bytes.HasPrefix(b, []byte("HTTP/1.")):
			ann = "http.response"
		}
		ev(b, wire.LineText(b), ann, nil)
		return r.take()
	}
	const maxFrameBuf = 64 << 10
	r.h2buf = append(r.h2buf, b...)
	for len(r.h2buf) >= 9 {
		fr := wire.ParseFrameHeader(r.h2buf, func(t uint8) string { return http2.FrameType(t).String() })
		n := 9 + fr.Length
		if n > maxFrameBuf {
			r.h2buf = nil // larger than any frame the lab sends: stop reading frames
			break
		}
		if len(r.h2buf) < n {
			break
		}
		ev(r.h2buf[:n], fmt.Sprintf("HTTP/2 %s frame, stream %d, %d bytes", fr.Type, fr.Stream, fr.Length),
			"http.h2.frame."+strings.ToLower(fr.Type), fr)
		r.h2buf = r.h2buf[n:]
	}
	if len(r.h2buf) == 0 {
		r.h2buf = nil
	}
	return r.take()
}

func firstLineOf(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i]
	}
	return b
}
