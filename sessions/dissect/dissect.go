package dissect

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The TLS dissector turns the bytes a wire.Tap recorded into the record and
// handshake events a passive observer on the path could decode. What is
// encrypted stays opaque, and the events say so. The one exception is
// opt-in (UseKeyLog, keylog.go): with the session's own TLS 1.3 handshake
// secrets it also shows, after each opaque record, the handshake messages
// it carried, marked as readable by the endpoints only.

const (
	recordHeaderLen = 5 // RFC 8446 §5.1: type(1) legacy_record_version(2) length(2)

	// maxRecordPayload is the largest record payload any TLS version permits:
	// RFC 5246 §6.2.3 allows TLSCiphertext up to 2^14+2048; RFC 8446 §5.2 is
	// tighter (2^14+256) but an observer does not know the version up front.
	maxRecordPayload = 1<<14 + 2048

	// maxHandshakeMsg caps one reassembled handshake message. The protocol
	// allows 2^24-1 bytes (RFC 8446 §4); real certificate chains are a few KiB.
	maxHandshakeMsg = 64 << 10

	// maxHandshakeBuf caps the reassembly buffer: one capped message still
	// pending plus one record payload is the most a valid stream needs.
	maxHandshakeBuf = 4 + maxHandshakeMsg + maxRecordPayload

	// mismatchSample is how much of a non-TLS stream an error event keeps.
	mismatchSample = 64
)

// Dissector decodes one TLS connection. It keeps state across both
// directions: the ServerHello decides the version, and the version decides
// which later records are encrypted. It is not safe for concurrent use.
type Dissector struct {
	c2s, s2c dirState

	// What the dissector needs to know across messages; what an observer
	// learned is in the typed messages of the events (Handshake).
	msgs tlsmsg.Parser // the handshake messages so far: version, cipher suite, …

	// AfterSTARTTLS: the connection turned into TLS in band (STARTTLS,
	// STLS), so cleartext from the server where its ServerHello belongs is
	// not a port mix-up but a server that accepted STARTTLS and then did
	// not speak TLS (RFC 3207 §4, RFC 2595 §4). Set by the Conversation.
	AfterSTARTTLS bool

	// Plaintext, with a NewTrafficKeyLog in UseKeyLog, receives the
	// application data of a TLS 1.3 connection, decrypted, per direction
	// in order (the lab monitor's, keylog.go); the events it returns join
	// the stream right after the record that carried the data.
	Plaintext func(dir wire.Direction, b []byte) []wire.Event

	// Key log decryption (keylog.go); all zero unless UseKeyLog was called.
	keylog       *KeyLog
	clientRandom []byte      // from the first ClientHello, to match key log lines
	cands        []int       // indexes of decryption candidates in the current Feed's events
	held         []heldEvent // events held back until a secret arrives
	heldBytes    int
}

// dirState is the per-direction parser state.
type dirState struct {
	dir wire.Direction
	buf []byte // an incomplete record, header included (≤ 5+maxRecordPayload)
	hs  []byte // handshake bytes from plaintext records, not yet a whole message
	// skip is how many bytes of a handshake message over maxHandshakeMsg
	// are still to come: they are passed over, not reassembled, and
	// dissection goes on after them.
	skip    int
	records int  // complete records seen
	dead    bool // stop: the stream is not TLS or broke a hard limit

	// A stream that is not TLS: collect up to mismatchSample bytes (or one
	// line) to say what it looks like instead.
	bad    bool
	sample []byte

	ccs        bool // this direction sent ChangeCipherSpec
	afterCCS   int  // TLS ≤ 1.2: records after ChangeCipherSpec
	afterSH13  int  // TLS 1.3: application_data records after the ServerHello
	earlyCount int  // TLS 1.3: application_data records before the ServerHello

	dec hsDecrypt // TLS 1.3 handshake decryption with a key log
}

// New returns a Dissector for one TLS connection.
func New() *Dissector {
	return &Dissector{c2s: dirState{dir: wire.ClientToServer}, s2c: dirState{dir: wire.ServerToClient}}
}

func (d *Dissector) state(dir wire.Direction) *dirState {
	switch dir {
	case wire.ClientToServer:
		return &d.c2s
	case wire.ServerToClient:
		return &d.s2c
	}
	return nil
}

// Feed takes bytes observed in one direction, in order, in arbitrary chunks,
// and returns the events they complete, with Seq and At left zero. The result
// does not depend on how a stream is chunked. Bytes for Local are ignored.
// With a key log (UseKeyLog), events after an encrypted record whose secret
// has not arrived yet come back from a later Feed or Flush.
func (d *Dissector) Feed(dir wire.Direction, b []byte) []wire.Event {
	st := d.state(dir)
	if st == nil {
		return nil
	}
	return d.settle(d.feed(st, b))
}

func (d *Dissector) feed(st *dirState, b []byte) []wire.Event {
	var out []wire.Event
	for len(b) > 0 && !st.dead {
		if st.bad {
			b = d.collectBad(st, b, &out)
			continue
		}
		if len(st.buf) == 0 && len(b) >= recordHeaderLen {
			// Fast path: parse straight from the caller's slice, copying
			// only what an event keeps.
			switch checkHeader(b[:recordHeaderLen]) {
			case headerNotTLS:
				st.bad = true
				continue
			case headerTooLong:
				out = append(out, d.tooLong(st, b[:recordHeaderLen]))
				return out
			}
			total := recordHeaderLen + recordLen(b)
			if len(b) >= total {
				out = d.record(st, b[:total], out)
				b = b[total:]
				continue
			}
		}
		// Slow path: accumulate a partial record in st.buf, checking the
		// header as soon as each of its bytes arrives.
		if len(st.buf) < recordHeaderLen {
			take := min(recordHeaderLen-len(st.buf), len(b))
			st.buf = append(st.buf, b[:take]...)
			b = b[take:]
			switch checkHeader(st.buf) {
			case headerNotTLS:
				st.bad = true
				st.sample, st.buf = st.buf, nil
				d.maybeEmitBad(st, &out)
				continue
			case headerTooLong:
				out = append(out, d.tooLong(st, st.buf))
				return out
			}
			if len(st.buf) < recordHeaderLen {
				continue
			}
		}
		total := recordHeaderLen + recordLen(st.buf)
		take := min(total-len(st.buf), len(b))
		st.buf = append(st.buf, b[:take]...)
		b = b[take:]
		if len(st.buf) == total {
			out = d.record(st, st.buf, out)
			st.buf = st.buf[:0]
		}
	}
	return out
}

// Flush reports what is left when a direction's stream ends: a stream that
// was not TLS and ended before a full line or 64 bytes, or a record or
// handshake message cut short. Feed ignores that direction afterwards. Any
// events held for a key log secret are released first: it will not come.
func (d *Dissector) Flush(dir wire.Direction) []wire.Event {
	st := d.state(dir)
	if st == nil {
		return nil
	}
	held := d.drain(true)
	return append(held, d.flush(st)...)
}

func (d *Dissector) flush(st *dirState) []wire.Event {
	if st.dead {
		return nil
	}
	st.dead = true
	switch {
	case st.bad && len(st.sample) > 0:
		return []wire.Event{d.mismatch(st)}
	case len(st.buf) > 0:
		msg := fmt.Sprintf("stream ended inside a TLS record: %d bytes of the header and payload", len(st.buf))
		if len(st.buf) >= recordHeaderLen {
			want := recordHeaderLen + recordLen(st.buf)
			msg = fmt.Sprintf("stream ended inside a TLS %s record: got %d of %d bytes",
				RecordTypeName(st.buf[0]), len(st.buf), want)
		}
		return []wire.Event{errEvent(st.dir, wire.VisibleMetadata, headOf(st.buf, mismatchSample), msg, annErrTruncated)}
	case len(st.hs) > 0:
		msg := fmt.Sprintf("stream ended inside a handshake message: %d bytes of it arrived", len(st.hs))
		return []wire.Event{errEvent(st.dir, wire.VisibleMetadata, headOf(st.hs, mismatchSample), msg, annErrTruncated)}
	}
	return nil
}

type headerCheck int

const (
	headerOK headerCheck = iota
	headerNotTLS
	headerTooLong
)

// checkHeader validates as much of a record header as has arrived, so that a
// non-TLS stream is recognised from its first byte.
func checkHeader(h []byte) headerCheck {
	if len(h) >= 1 && (h[0] < RecordChangeCipherSpec || h[0] > RecordHeartbeat) {
		return headerNotTLS // RFC 8446 §5.1 content types
	}
	if len(h) >= 2 && h[1] != 3 {
		return headerNotTLS // every TLS version, and SSL 3.0, has major version 3
	}
	if len(h) >= recordHeaderLen && recordLen(h) > maxRecordPayload {
		return headerTooLong
	}
	return headerOK
}

func (d *Dissector) tooLong(st *dirState, hdr []byte) wire.Event {
	st.dead = true
	n := recordLen(hdr)
	msg := fmt.Sprintf("TLS %s record declares %d bytes, more than the %d any TLS version allows (RFC 5246 §6.2.3, RFC 8446 §5.2); not dissecting this direction further",
		RecordTypeName(hdr[0]), n, maxRecordPayload)
	return errEvent(st.dir, wire.VisibleMetadata, bytes.Clone(hdr), msg, annErrRecordTooLong)
}

// collectBad gathers the sample of a non-TLS stream and returns what is left
// of b (nothing matters after it: the direction is dead once emitted).
func (d *Dissector) collectBad(st *dirState, b []byte, out *[]wire.Event) []byte {
	take := min(mismatchSample-len(st.sample), len(b))
	if i := bytes.IndexByte(b[:take], '\n'); i >= 0 {
		take = i + 1
	}
	st.sample = append(st.sample, b[:take]...)
	d.maybeEmitBad(st, out)
	return b[take:]
}

// maybeEmitBad emits the mismatch error once the sample holds a full line or
// mismatchSample bytes; the cut depends only on the stream, not on chunking.
func (d *Dissector) maybeEmitBad(st *dirState, out *[]wire.Event) {
	if i := bytes.IndexByte(st.sample, '\n'); i >= 0 {
		st.sample = st.sample[:i+1]
	} else if len(st.sample) < mismatchSample {
		return
	}
	*out = append(*out, d.mismatch(st))
	st.dead = true
}

// mismatch builds the error for a stream that is not TLS, saying what it
// looks like instead.
func (d *Dissector) mismatch(st *dirState) wire.Event {
	s := st.sample
	who := "server"
	if st.dir == wire.ClientToServer {
		who = "client"
	}
	what, key := classifyNonTLS(s, st.dir)
	where := fmt.Sprintf("from the %s, the first bytes are not a TLS record", who)
	switch {
	case st.records > 0:
		// Not a port mix-up, which classifyNonTLS would blame: TLS had
		// begun. A server whose handshake failed often writes its
		// protocol's error reply in the clear after its alert.
		where = fmt.Sprintf("after %s, the %s sent bytes that are not a TLS record", words.Plural(st.records, "TLS record"), who)
		if key == annMismatchCleartext || key == annMismatchHTTP {
			what, key = cleartextKind(s)+", outside TLS", annMismatchAfterTLS
		}
	case d.AfterSTARTTLS && st.dir == wire.ServerToClient:
		// classifyNonTLS would blame a port mix-up (implicit TLS against
		// a STARTTLS port); here the client already did STARTTLS.
		what = "the server accepted STARTTLS (or STLS), then answered the ClientHello with bytes that are not TLS (RFC 3207 §4, RFC 2595 §4)"
		key = annMismatchGarbage
	}
	// The sample goes in as it crossed: the printers make it safe, once.
	msg := fmt.Sprintf("%s: %s (%s)", where, what, wire.Quote(string(s), 48))
	vis := wire.VisibleMetadata
	if key == annMismatchCleartext || key == annMismatchHTTP || key == annMismatchAfterTLS {
		vis = wire.VisibleAnyone
	}
	return errEvent(st.dir, vis, bytes.Clone(s), msg, key)
}

// classifyNonTLS guesses what a stream that should have been TLS is.
func classifyNonTLS(s []byte, dir wire.Direction) (string, string) {
	str := string(s)
	upper := strings.ToUpper(str)
	switch {
	case len(s) >= 3 && s[0]&0x80 != 0 && s[2] == 1:
		// RFC 5246 Appendix E.2: a 2-byte header with the high bit set, then
		// msg_type 1 (client_hello).
		return "an SSL 2.0-format ClientHello, which no current server accepts", annMismatchSSLv2
	case strings.HasPrefix(str, "HTTP/"):
		return "an HTTP response in cleartext", annMismatchHTTP
	case hasAnyPrefix(str, "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT "):
		return "an HTTP request in cleartext", annMismatchHTTP
	case len(s) >= 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]) &&
		(len(s) == 3 || s[3] == ' ' || s[3] == '-' || s[3] == '\r' || s[3] == '\n'):
		return fmt.Sprintf("a cleartext SMTP reply (code %s): the server speaks plain SMTP here, expecting STARTTLS rather than implicit TLS (RFC 8314 §3)", str[:3]), annMismatchCleartext
	case strings.HasPrefix(str, "+OK") || strings.HasPrefix(str, "-ERR"):
		return "a cleartext POP3 response: this port expects STLS rather than implicit TLS (RFC 2595 §4)", annMismatchCleartext
	case hasAnyPrefix(upper, "* OK", "* PREAUTH", "* BYE"):
		return "a cleartext IMAP greeting: this port expects STARTTLS rather than implicit TLS (RFC 3501 §6.2.1)", annMismatchCleartext
	case dir == wire.ClientToServer && hasAnyPrefix(upper, "EHLO", "HELO", "STARTTLS", "STLS", "CAPA", "USER ", "AUTH ", "QUIT"):
		return "a cleartext mail command from the client, sent where the server expects a TLS ClientHello", annMismatchCleartext
	case isMostlyText(s):
		return "readable text in cleartext", annMismatchCleartext
	case len(s) >= 1 && (s[0] < RecordChangeCipherSpec || s[0] > RecordHeartbeat):
		return fmt.Sprintf("byte 0x%02x is not a TLS content type (20–24, RFC 8446 §5.1)", s[0]), annMismatchGarbage
	case len(s) >= 2:
		return fmt.Sprintf("record version major byte is 0x%02x, not 3", s[1]), annMismatchGarbage
	}
	return "unrecognised bytes", annMismatchGarbage
}

// cleartextKind names readable text by its protocol, without saying why
// it is there (classifyNonTLS's reasons hold for a stream's first bytes).
func cleartextKind(s []byte) string {
	str := string(s)
	switch {
	case strings.HasPrefix(str, "HTTP/") || hasAnyPrefix(str, "GET ", "POST ", "HEAD ", "PUT ", "OPTIONS ", "CONNECT "):
		return "cleartext HTTP"
	case len(s) >= 3 && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[2]):
		return fmt.Sprintf("a cleartext SMTP reply (code %s)", str[:3])
	case strings.HasPrefix(str, "+OK") || strings.HasPrefix(str, "-ERR"):
		return "a cleartext POP3 response"
	case strings.HasPrefix(str, "* "):
		return "a cleartext IMAP response"
	}
	return "readable text in cleartext"
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isMostlyText(s []byte) bool {
	if len(s) < 4 {
		return false
	}
	for _, c := range s {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			return false
		}
	}
	return true
}

func headOf(b []byte, n int) []byte { return bytes.Clone(b[:min(n, len(b))]) }

func errEvent(dir wire.Direction, vis wire.Visibility, raw []byte, msg, key string) wire.Event {
	return wire.Event{
		Kind: wire.KindError, Dir: dir, Layer: wire.LayerTLS, Visible: vis, Raw: raw,
		Text: msg, Annotation: key,
		Err: &wire.ErrorInfo{Op: "dissect", Message: msg, Explain: key},
	}
}

// record handles one complete record; rec may alias the caller's buffer.
func (d *Dissector) record(st *dirState, rec []byte, out []wire.Event) []wire.Event {
	st.records++
	raw := bytes.Clone(rec)
	typ := raw[0]
	payload := raw[recordHeaderLen:]
	hdr := &wire.Record{
		ContentType: RecordTypeName(typ),
		Version:     tlsmsg.VersionName(uint16(raw[1])<<8 | uint16(raw[2])),
		Length:      len(payload),
	}

	// Which records are encrypted: in TLS 1.3 every protected record is
	// disguised as application_data (RFC 8446 §5.2); before 1.3 everything a
	// direction sends after its ChangeCipherSpec is (RFC 5246 §7.1).
	encrypted := typ == RecordApplicationData ||
		(st.ccs && d.msgs.Version != tlsmsg.VersionTLS13 && typ != RecordChangeCipherSpec)

	if len(st.hs) > 0 && (encrypted || typ != RecordHandshake) {
		// RFC 8446 §5.1: handshake messages must not be interleaved with
		// other record types.
		msg := fmt.Sprintf("a %s record interrupted a handshake message (%d bytes pending); the partial message is dropped (RFC 8446 §5.1)",
			hdr.ContentType, len(st.hs))
		out = append(out, errEvent(st.dir, wire.VisibleMetadata, headOf(st.hs, mismatchSample), msg, annErrInterleaved))
		st.hs = st.hs[:0]
	}

	if encrypted {
		out = append(out, d.encryptedRecord(st, typ, raw, hdr))
		if d.decryptCandidate(st, typ) {
			d.cands = append(d.cands, len(out)-1)
		}
		return out
	}

	ev := wire.Event{
		Kind: wire.KindRecord, Dir: st.dir, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: raw, Record: hdr, Annotation: "tls.record." + hdr.ContentType,
		Text: fmt.Sprintf("TLS record: %s, %s", hdr.ContentType, words.Plural(len(payload), "byte")),
	}
	switch typ {
	case RecordHandshake:
		if len(payload) == 0 {
			ev.Text += " (empty: RFC 8446 §5.1 forbids zero-length handshake fragments)"
			ev.Also = []string{annRecordEmpty}
		}
		out = append(out, ev)
		return d.handshakeBytes(st, payload, out)
	case RecordAlert:
		if len(payload) != 2 {
			// RFC 8446 §5.1: alerts are two bytes and never fragmented.
			ev.Text += ": malformed alert (an alert is 2 bytes: level, description)"
			ev.Annotation, ev.Also = annAlertMalformed, []string{"tls.record.alert"}
			return append(out, ev)
		}
		hdr.Alert = &tlsmsg.Alert{Level: payload[0], Description: payload[1]}
		ev.Text += ": " + hdr.Alert.String()
		ev.Annotation, ev.Also = "tls.alert."+tlsmsg.AlertDescriptionName(payload[1]), []string{"tls.record.alert"}
		return append(out, ev)
	case RecordChangeCipherSpec:
		st.ccs = true
		switch d.msgs.Version {
		case tlsmsg.VersionTLS13:
			ev.Text += ": a dummy for middlebox compatibility, it changes nothing in TLS 1.3 (RFC 8446 Appendix D.4)"
			ev.Annotation = annCCSCompat
		case 0:
			ev.Text += ": the sender switches to encrypted records (RFC 5246 §7.1), or in TLS 1.3 a compatibility dummy (RFC 8446 Appendix D.4)"
		default:
			ev.Text += ": from the next record on, this direction is encrypted (RFC 5246 §7.1)"
		}
		if !bytes.Equal(payload, []byte{1}) {
			ev.Text += " (malformed: the payload must be the single byte 0x01)"
		}
		return append(out, ev)
	}
	return append(out, ev) // heartbeat (RFC 6520), or application_data handled above
}

// encryptedAlertLen is the length of a TLS 1.3 record carrying one alert
// under an AEAD with a 16-byte tag (AES-GCM, ChaCha20-Poly1305): 2 bytes of
// alert, 1 byte of real content type and the tag (RFC 8446 §5.2), without
// padding. No handshake message is that short.
const encryptedAlertLen = 2 + 1 + 16

// encryptedRecord describes a record whose payload only the endpoints can
// read. An observer sees type and length; by position it can sometimes say
// more, and the text is careful to say how sure that is.
func (d *Dissector) encryptedRecord(st *dirState, typ uint8, raw []byte, hdr *wire.Record) wire.Event {
	n := words.Plural(hdr.Length, "byte")
	text := fmt.Sprintf("encrypted %s, %s", hdr.ContentType, n)
	ann := annEncAppData
	switch {
	case typ == RecordApplicationData && d.msgs.Version == tlsmsg.VersionTLS13 && d.msgs.ServerHelloSeen:
		st.afterSH13++
		switch {
		case st.afterSH13 == 1 && st.dir == wire.ServerToClient:
			text += ": the server's encrypted handshake, starting with EncryptedExtensions (RFC 8446 §4.3.1); TLS 1.3 hides the real content type (RFC 8446 §5.2)"
			ann = annEncHandshake
		case st.afterSH13 == 1 && st.dir == wire.ClientToServer && hdr.Length == encryptedAlertLen:
			// A client that rejects the server's certificate answers its
			// flight with an alert instead of Finished (RFC 8446 §6.2),
			// and an encrypted alert has a size of its own.
			text += ": by its size, 19 bytes (a 2-byte alert, the hidden content type and a 16-byte tag), probably an alert instead of the client's Finished: the client ended the handshake (RFC 8446 §5.2, §6.2)"
			ann = annEncAlert
		case st.afterSH13 == 1 && st.dir == wire.ClientToServer:
			text += ": probably the client's Finished (or its Certificate, if the server asked for one; RFC 8446 §4.4)"
			ann = annEncFinished
		default:
			text += ": encrypted handshake or application data; TLS 1.3 hides which (RFC 8446 §5.2)"
			ann = annEncUndetermined
		}
	case typ == RecordApplicationData && !d.msgs.ServerHelloSeen && st.dir == wire.ClientToServer && d.msgs.EarlyData:
		st.earlyCount++
		text += ": 0-RTT early data, sent before the server answered (RFC 8446 §4.2.10)"
		ann = annEncEarlyData
	case typ == RecordApplicationData:
		// TLS ≤ 1.2, or a version not yet known.
	case typ == RecordHandshake:
		st.afterCCS++
		if st.afterCCS == 1 {
			text += ": probably the encrypted Finished, the first message after ChangeCipherSpec (RFC 5246 §7.4.9)"
			ann = annEncFinished
		} else {
			text += ": an encrypted handshake message (renegotiation, RFC 5746)"
			ann = annEncHandshake
		}
		return encEvent(st.dir, raw, hdr, text, ann)
	case typ == RecordAlert:
		text += ": level and description are hidden (at the end of a session usually close_notify, RFC 5246 §7.2.1)"
		ann = annEncAlert
	case typ == RecordHeartbeat:
		ann = annEncHeartbeat
	}
	if st.ccs && d.msgs.Version != tlsmsg.VersionTLS13 {
		st.afterCCS++
	}
	return encEvent(st.dir, raw, hdr, text, ann)
}

func encEvent(dir wire.Direction, raw []byte, hdr *wire.Record, text, ann string) wire.Event {
	return wire.Event{
		Kind: wire.KindEncrypted, Dir: dir, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
		Raw: raw, Record: hdr, Text: text, Annotation: ann,
	}
}

// handshakeBytes reassembles handshake messages from plaintext record
// payloads (RFC 8446 §5.1: a message may span records, and a record may
// hold several messages) and decodes each complete one.
func (d *Dissector) handshakeBytes(st *dirState, payload []byte, out []wire.Event) []wire.Event {
	if len(st.hs)+len(payload) > maxHandshakeBuf {
		st.dead = true
		msg := fmt.Sprintf("handshake reassembly would exceed %d bytes; not dissecting this direction further", maxHandshakeBuf)
		return append(out, errEvent(st.dir, wire.VisibleMetadata, headOf(st.hs, mismatchSample), msg, annErrBuffer))
	}
	if st.skip > 0 {
		k := min(st.skip, len(payload))
		st.skip -= k
		payload = payload[k:]
	}
	st.hs = append(st.hs, payload...)
	rest := st.hs
	for len(rest) >= 4 {
		n := int(rest[1])<<16 | int(rest[2])<<8 | int(rest[3])
		if n > maxHandshakeMsg {
			// A limit of the dissector's own, not the peer's fault (a
			// client may well accept the message): a note, and the
			// message is passed over as it arrives.
			msg := fmt.Sprintf("%s message of %s bytes, more than the %s bytes the dissector reassembles: not decoded here; its records are shown, and dissection goes on after it",
				tlsmsg.TypeName(rest[0]), wire.GroupDigits(int64(n)), wire.GroupDigits(maxHandshakeMsg))
			out = append(out, wire.Event{Kind: wire.KindNote, Dir: st.dir, Layer: wire.LayerNote, Visible: wire.VisibleNone,
				Raw: headOf(rest, 4), Text: msg, Annotation: annErrHSTooLong})
			have := len(rest) - 4
			if have >= n {
				rest = rest[4+n:]
				continue
			}
			st.skip = n - have
			rest = rest[len(rest):]
			break
		}
		if len(rest) < 4+n {
			break
		}
		msg := bytes.Clone(rest[:4+n])
		if d.clientRandom == nil && st.dir == wire.ClientToServer {
			// Key log lines name their connection by this random.
			d.clientRandom = clientRandomOf(msg)
		}
		out = append(out, handshakeEvent(st.dir, msg, d.msgs.Parse(msg)))
		rest = rest[4+n:]
	}
	// Move the pending tail to the front, but only when a message was
	// consumed: copying on every record would make a message split into
	// many tiny records (which RFC 8446 §5.1 allows) cost quadratic time.
	if consumed := len(st.hs) - len(rest); consumed > 0 {
		st.hs = append(st.hs[:0], rest...)
	}
	return out
}

// recordLen reads the length field of a record header (h has ≥ 5 bytes).
func recordLen(h []byte) int { return int(h[3])<<8 | int(h[4]) }

// handshakeEvent is the event of one handshake message (header included):
// its display fields and text come from tlsmsg.Describe. A parse error
// is reported on the event rather than returned: the message framing was
// intact, so dissection goes on with the next message. A message decrypted
// with the session's key log (h.Encrypted, RFC 8446 §4.3 onwards)
// travelled inside encrypted records, so only the endpoints could read it.
func handshakeEvent(dir wire.Direction, msg []byte, h *tlsmsg.Handshake) wire.Event {
	var text string
	h.Fields, text = tlsmsg.Describe(h, dir == wire.ClientToServer)
	ev := wire.Event{
		Kind: wire.KindHandshake, Dir: dir, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: msg, Text: text, Annotation: "tls.handshake." + h.Type, Handshake: h,
	}
	if h.Encrypted {
		ev.Layer, ev.Visible = wire.LayerDecrypted, wire.VisibleEndpoints
	}
	if h.Error != "" {
		ev.Also = []string{tlsmsg.KeyMalformed}
	}
	return ev
}
