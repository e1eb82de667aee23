package dissect

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"

	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Decrypting TLS 1.3's encrypted handshake with the session's own key log.
//
// mailwire is the client of its own sessions, so crypto/tls can hand it the
// handshake traffic secrets of the very connection it dissects
// (tls.Config.KeyLogWriter, NSS key log format). With them the dissector
// decrypts the records that carry EncryptedExtensions, Certificate,
// CertificateVerify and Finished (RFC 8446 §4.3, §4.4) and shows them as
// they really travelled, each right after the opaque record an observer saw.
//
// It stops at each side's Finished: after it that side protects its records
// with the application traffic secret (RFC 8446 §7.1), which KeyLog throws
// away on arrival. mailwire's sessions show the protocol lines inside TLS
// from the client's own view instead. The one exception is the lab
// monitor (sessions/monitor): it watches the lab's servers from outside
// them, so it has no endpoint's view to read; its KeyLog keeps the
// application traffic secrets too (NewTrafficKeyLog), and its dissector
// hands the application data it decrypts to Dissector.Plaintext. The
// secrets live only in memory; nothing is written to disk.

// Key log labels (NSS key log format) for the handshake traffic secrets;
// crypto/tls writes them when it processes the ServerHello
// (handshake_client_tls13.go, establishHandshakeKeys).
const (
	keyLogClientHandshake = "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
	keyLogServerHandshake = "SERVER_HANDSHAKE_TRAFFIC_SECRET"
	// The first application traffic secrets (RFC 8446 §7.1), kept by a
	// NewTrafficKeyLog only.
	keyLogClientTraffic = "CLIENT_TRAFFIC_SECRET_0"
	keyLogServerTraffic = "SERVER_TRAFFIC_SECRET_0"
)

const (
	// maxKeyLogLine bounds one key log line: the longest real one is a
	// 31-byte label, 64 hex digits of client random and 96 of a SHA-384
	// secret.
	maxKeyLogLine = 512
	// maxKeyLogEntries bounds how many handshake secrets a KeyLog keeps:
	// one connection logs two (RFC 8446 §7.1 derives them once, even after
	// a HelloRetryRequest).
	maxKeyLogEntries = 8
	// maxHeldBytes bounds the records (and the events around them) the
	// dissector holds back while it waits for a secret to arrive.
	maxHeldBytes = 64 << 10
)

// Annotation keys for the decryption notes (prose in package content).
const (
	annKeyLogFailed   = "tls.keylog.decrypt_failed"
	annKeyLogNoSecret = "tls.keylog.no_secret"
)

// KeyLogAnnotationKeys lists the annotation keys the key log decryption
// adds to the dissector's (AnnotationKeys); decrypted messages
// themselves use the tls.handshake.*, tls.ext.*, tls.cert.* and
// tls.alert.* keys of their cleartext counterparts.
func KeyLogAnnotationKeys() []string {
	return []string{annKeyLogFailed, annKeyLogNoSecret}
}

// KeyLog receives a connection's key log from crypto/tls
// (tls.Config.KeyLogWriter) and keeps only the TLS 1.3 handshake traffic
// secrets. It is safe for concurrent use; Write never fails, because an
// error from a KeyLogWriter would abort the handshake.
type KeyLog struct {
	traffic bool // keep the application traffic secrets too
	mu      sync.Mutex
	lines   KeyLogLines
	entries []keyLogEntry
}

type keyLogEntry struct {
	label  string
	random []byte // the ClientHello random, 32 bytes
	secret []byte
}

// NewKeyLog returns an empty KeyLog.
func NewKeyLog() *KeyLog { return &KeyLog{} }

// NewTrafficKeyLog returns an empty KeyLog that also keeps the first
// application traffic secrets, for a dissector with a Plaintext receiver.
func NewTrafficKeyLog() *KeyLog { return &KeyLog{traffic: true} }

// Write takes key log bytes in any chunking. Lines with other labels
// (application traffic secrets, TLS 1.2's CLIENT_RANDOM, exporter secrets),
// comments and malformed lines are dropped.
func (k *KeyLog) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lines.Feed(p, k.addLine)
	return len(p), nil
}

// KeyLogLines assembles the lines of a key log written in any chunking,
// for KeyLog and for whoever routes key log lines (the lab monitor). A
// line longer than any key log line can be is dropped whole, up to its
// newline, so that a writer cannot make it hold more than that.
type KeyLogLines struct {
	partial []byte // an incomplete line, ≤ maxKeyLogLine
	skip    bool   // discarding an over-long line up to its newline
}

// Feed passes each line p completes (with what earlier writes left) to
// line, without its newline; line must not keep the slice.
func (s *KeyLogLines) Feed(p []byte, line func([]byte)) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		if !s.skip {
			if len(s.partial)+len(chunk) > maxKeyLogLine {
				s.skip, s.partial = true, s.partial[:0]
			} else {
				s.partial = append(s.partial, chunk...)
			}
		}
		if i < 0 {
			break
		}
		if !s.skip {
			line(s.partial)
		}
		s.skip, s.partial = false, s.partial[:0]
	}
}

// addLine parses one line of the NSS key log format:
// "<label> <client_random hex> <secret hex>".
func (k *KeyLog) addLine(line []byte) {
	f := bytes.Fields(line)
	if len(f) != 3 || len(k.entries) >= maxKeyLogEntries {
		return
	}
	label := string(f[0])
	switch label {
	case keyLogClientHandshake, keyLogServerHandshake:
	case keyLogClientTraffic, keyLogServerTraffic:
		if !k.traffic {
			return
		}
	default:
		return
	}
	random, err1 := hex.DecodeString(string(f[1]))
	secret, err2 := hex.DecodeString(string(f[2]))
	if err1 != nil || err2 != nil || len(random) != 32 || len(secret) == 0 || len(secret) > 64 {
		return
	}
	k.entries = append(k.entries, keyLogEntry{label: label, random: random, secret: secret})
}

// secret returns the secret logged under label for the connection whose
// ClientHello carried random; a line for another connection never matches.
func (k *KeyLog) secret(label string, random []byte) []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, e := range k.entries {
		if e.label == label && bytes.Equal(e.random, random) {
			return bytes.Clone(e.secret)
		}
	}
	return nil
}

// tls13Suite is what record protection needs from a TLS 1.3 cipher suite
// (RFC 8446 Appendix B.4).
type tls13Suite struct {
	keyLen int
	hash   func() hash.Hash
	aead   func(key []byte) (cipher.AEAD, error)
}

func aesGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// tls13Suites are the suites mailwire can decrypt; the CCM suites
// (0x1304, 0x1305) are not offered by crypto/tls.
var tls13Suites = map[uint16]tls13Suite{
	0x1301: {16, sha256.New, aesGCM},               // TLS_AES_128_GCM_SHA256
	0x1302: {32, sha512.New384, aesGCM},            // TLS_AES_256_GCM_SHA384
	0x1303: {32, sha256.New, chacha20poly1305.New}, // TLS_CHACHA20_POLY1305_SHA256
}

// hkdfExpandLabel is HKDF-Expand-Label of RFC 8446 §7.1:
//
//	struct {
//	    uint16 length = Length;
//	    opaque label<7..255> = "tls13 " + Label;
//	    opaque context<0..255> = Context;
//	} HkdfLabel;
func hkdfExpandLabel(h func() hash.Hash, secret []byte, label string, context []byte, length int) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte("tls13 "))
		b.AddBytes([]byte(label))
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(context) })
	info, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("HkdfLabel %q: %w", label, err)
	}
	return hkdf.Expand(h, secret, string(info), length)
}

// trafficKeys derives the record protection key and iv from a traffic
// secret (RFC 8446 §7.3): both with an empty context, the iv always 12
// bytes for the AEADs of TLS 1.3 (RFC 8446 §5.3).
func trafficKeys(s tls13Suite, secret []byte) (key, iv []byte, err error) {
	if len(secret) != s.hash().Size() {
		return nil, nil, fmt.Errorf("secret is %d bytes, the suite's hash needs %d", len(secret), s.hash().Size())
	}
	if key, err = hkdfExpandLabel(s.hash, secret, "key", nil, s.keyLen); err != nil {
		return nil, nil, err
	}
	if iv, err = hkdfExpandLabel(s.hash, secret, "iv", nil, 12); err != nil {
		return nil, nil, err
	}
	return key, iv, nil
}

// hsDecrypt is one direction's decryption state: its handshake, then with
// a Plaintext receiver its application data.
type hsDecrypt struct {
	aead cipher.AEAD
	iv   []byte
	// app: the direction's Finished was seen and its records are under
	// the application traffic secret now (secret, for a KeyUpdate).
	app    bool
	secret []byte
	seq    uint64 // records decrypted with this key (RFC 8446 §5.3)
	hs     []byte // decrypted handshake bytes not yet a whole message
	// done: this direction's handshake keys are behind us (its Finished was
	// seen), or decryption stopped (failure, no secret). Its records stay opaque.
	done bool
}

// heldEvent is an event the dissector holds back to keep wire order while
// it waits for a secret; cand marks an encrypted record it may decrypt.
type heldEvent struct {
	ev   wire.Event
	cand bool
}

// UseKeyLog lets the dissector decrypt TLS 1.3's encrypted handshake with
// the handshake traffic secrets that arrive in k (see KeyLog). Records that
// arrive before their secret are held back, with every event after them,
// until it does (at most maxHeldBytes), so the stream stays in wire order.
func (d *Dissector) UseKeyLog(k *KeyLog) { d.keylog = k }

// decryptCandidate says whether an encrypted record may carry handshake
// messages this dissector can recover.
func (d *Dissector) decryptCandidate(st *dirState, typ uint8) bool {
	return d.keylog != nil && typ == RecordApplicationData && d.msgs.Version == tlsmsg.VersionTLS13 && d.msgs.ServerHelloSeen && !st.dec.done
}

// settle passes a Feed's events through the hold queue: candidates are
// decrypted once their direction's secret is known, and nothing overtakes
// a record still waiting for one.
func (d *Dissector) settle(out []wire.Event) []wire.Event {
	if len(d.cands) == 0 && len(d.held) == 0 {
		return out
	}
	ci := 0
	for i, ev := range out {
		cand := ci < len(d.cands) && d.cands[ci] == i
		if cand {
			ci++
		}
		d.held = append(d.held, heldEvent{ev: ev, cand: cand})
		d.heldBytes += len(ev.Raw)
	}
	d.cands = d.cands[:0]
	return d.drain(false)
}

// drain releases held events in order, decrypting candidates. final (the
// stream ended) or too many held bytes means: stop waiting for secrets.
func (d *Dissector) drain(final bool) []wire.Event {
	if len(d.held) == 0 {
		return nil
	}
	giveUp := final || d.heldBytes > maxHeldBytes
	var res []wire.Event
	i := 0
	for ; i < len(d.held); i++ {
		h := d.held[i]
		if !h.cand {
			res = append(res, h.ev)
			continue
		}
		st := d.state(h.ev.Dir)
		if !st.dec.done && st.dec.aead == nil {
			if note, ok := d.keyDirection(st); !ok {
				if note == nil && !giveUp {
					break // wait for the secret
				}
				st.dec.done = true
				if note == nil {
					n := d.noSecretNote(st, final)
					note = &n
				}
				res = append(res, h.ev, *note)
				continue
			}
		}
		res = append(res, h.ev)
		if !st.dec.done {
			res = d.decryptRecord(st, h.ev.Raw, res)
		}
	}
	d.held = append(d.held[:0], d.held[i:]...)
	d.heldBytes = 0
	for _, h := range d.held {
		d.heldBytes += len(h.ev.Raw)
	}
	return res
}

// keyDirection sets up a direction's handshake key from the key log. ok
// false with a nil note means: the secret has not arrived yet; with a note:
// it cannot be used (the note says why).
func (d *Dissector) keyDirection(st *dirState) (*wire.Event, bool) {
	if d.clientRandom == nil {
		return nil, false
	}
	label := keyLogServerHandshake
	if st.dir == wire.ClientToServer {
		label = keyLogClientHandshake
	}
	if st.dec.app {
		label = keyLogServerTraffic
		if st.dir == wire.ClientToServer {
			label = keyLogClientTraffic
		}
	}
	secret := d.keylog.secret(label, d.clientRandom)
	if secret == nil {
		return nil, false
	}
	fail := func(why string) (*wire.Event, bool) {
		n := keyLogNote(st.dir, fmt.Sprintf("cannot decrypt the %s's encrypted handshake: %s", side(st.dir), why), annKeyLogFailed)
		return &n, false
	}
	suite, ok := tls13Suites[d.msgs.CipherSuite]
	if !ok {
		return fail(fmt.Sprintf("cipher suite %s is not one mailwire decrypts", tlsmsg.CipherSuiteName(d.msgs.CipherSuite)))
	}
	key, iv, err := trafficKeys(suite, secret)
	if err != nil {
		return fail(label + ": " + err.Error())
	}
	aead, err := suite.aead(key)
	if err != nil {
		return fail(err.Error())
	}
	st.dec.aead, st.dec.iv, st.dec.secret = aead, iv, secret
	return nil, true
}

func side(dir wire.Direction) string {
	if dir == wire.ClientToServer {
		return "client"
	}
	return "server"
}

func keyLogNote(dir wire.Direction, text, ann string) wire.Event {
	return wire.Event{Kind: wire.KindNote, Dir: dir, Layer: wire.LayerNote, Visible: wire.VisibleNone, Text: text, Annotation: ann}
}

func (d *Dissector) noSecretNote(st *dirState, final bool) wire.Event {
	why := "the connection ended"
	if !final {
		why = fmt.Sprintf("more than %d bytes waited for it", maxHeldBytes)
	}
	if d.clientRandom == nil {
		why = "no ClientHello random was seen to match the key log against"
	}
	return keyLogNote(st.dir, fmt.Sprintf("the %s's handshake traffic secret for this connection never arrived in the key log (%s): its encrypted handshake stays opaque",
		side(st.dir), why), annKeyLogNoSecret)
}

// decryptRecord opens one TLS 1.3 record with the direction's handshake
// key (RFC 8446 §5.2) and appends the handshake messages it carried.
func (d *Dissector) decryptRecord(st *dirState, raw []byte, out []wire.Event) []wire.Event {
	dec := &st.dec
	n := dec.seq
	dec.seq++
	key := "handshake"
	if dec.app {
		key = "application traffic"
	}
	stop := func(why string) []wire.Event {
		dec.done = true
		return append(out, keyLogNote(st.dir, fmt.Sprintf("%s record %d under the %s key: %s; not decrypting this direction further",
			side(st.dir), n, key, why), annKeyLogFailed))
	}
	payload := raw[recordHeaderLen:]
	if len(payload) < dec.aead.Overhead()+1 {
		return stop(fmt.Sprintf("%s is shorter than the %d-byte tag plus a content type", words.Plural(len(payload), "byte"), dec.aead.Overhead()))
	}
	// RFC 8446 §5.3: the nonce is the iv XORed with the 64-bit record
	// sequence number, left-padded with zeros; §5.2: the additional data is
	// the record header.
	nonce := bytes.Clone(dec.iv)
	for i := range 8 {
		nonce[len(nonce)-1-i] ^= byte(n >> (8 * i))
	}
	plain, err := dec.aead.Open(nil, nonce, payload, raw[:recordHeaderLen])
	if err != nil {
		return stop("the AEAD tag does not verify (" + err.Error() + ")")
	}
	// RFC 8446 §5.4: TLSInnerPlaintext is content, the real content type,
	// then zero padding.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return stop("the plaintext is all padding, with no content type (RFC 8446 §5.4)")
	}
	content, typ := plain[:i], plain[i]
	switch typ {
	case RecordHandshake:
		return d.decryptedHandshakeBytes(st, content, out)
	case RecordAlert:
		dec.done = true
		return append(out, decryptedAlert(st.dir, content, key))
	case RecordApplicationData:
		if dec.app {
			return append(out, d.Plaintext(st.dir, content)...)
		}
	}
	return stop(fmt.Sprintf("it carries %s, which the handshake key never protects (RFC 8446 §2)", RecordTypeName(typ)))
}

// decryptedAlert describes an alert sent under the handshake key, e.g. the
// client's bad_certificate, or under the application traffic key (key).
func decryptedAlert(dir wire.Direction, content []byte, key string) wire.Event {
	ev := wire.Event{Kind: wire.KindNote, Dir: dir, Layer: wire.LayerDecrypted, Visible: wire.VisibleEndpoints, Raw: bytes.Clone(content)}
	if len(content) != 2 {
		ev.Text, ev.Annotation = "decrypted alert: malformed (an alert is 2 bytes: level, description)", annAlertMalformed
		return ev
	}
	a := tlsmsg.Alert{Level: content[0], Description: content[1]}
	ev.Text, ev.Annotation = "decrypted alert, sent under the "+key+" key: "+a.String(), "tls.alert."+tlsmsg.AlertDescriptionName(a.Description)
	return ev
}

// decryptedHandshakeBytes reassembles decrypted handshake messages (one
// may span records, RFC 8446 §5.1) and decodes each.
func (d *Dissector) decryptedHandshakeBytes(st *dirState, content []byte, out []wire.Event) []wire.Event {
	dec := &st.dec
	if len(dec.hs)+len(content) > maxHandshakeBuf {
		dec.done = true
		return append(out, keyLogNote(st.dir, fmt.Sprintf("decrypted handshake reassembly would exceed %d bytes; not decrypting this direction further", maxHandshakeBuf), annKeyLogFailed))
	}
	dec.hs = append(dec.hs, content...)
	rest := dec.hs
	for len(rest) >= 4 && !dec.done {
		n := int(rest[1])<<16 | int(rest[2])<<8 | int(rest[3])
		if n > maxHandshakeMsg {
			dec.done = true
			return append(out, keyLogNote(st.dir, fmt.Sprintf("decrypted %s message declares %d bytes, more than the %d-byte limit; not decrypting this direction further",
				tlsmsg.TypeName(rest[0]), n, maxHandshakeMsg), annKeyLogFailed))
		}
		if len(rest) < 4+n {
			break
		}
		msg := bytes.Clone(rest[:4+n])
		rest = rest[4+n:]
		out = append(out, handshakeEvent(st.dir, msg, d.msgs.ParseDecrypted(msg, d.verifyDataLen())))
		switch {
		case msg[0] == tlsmsg.TypeFinished && !dec.app && d.Plaintext != nil && d.keylog.traffic:
			// RFC 8446 §7.2: after its Finished a side switches to the
			// application traffic key; the lab monitor follows it.
			dec.app, dec.aead, dec.seq = true, nil, 0
			rest = d.appPhase(st, rest, &out)
			out[len(out)-1].Text = fmt.Sprintf("Finished (decrypted with the server's key log): %s of verify_data, an HMAC over the whole handshake (RFC 8446 §4.4.4); after it the %s uses its application traffic key (RFC 8446 §7.2), which the key log has too: the lines inside follow, decrypted",
				words.Plural(len(msg)-4, "byte"), side(st.dir))
		case msg[0] == tlsmsg.TypeFinished:
			// mailwire's own sessions read their lines as the client.
			dec.done = true
		case msg[0] == tlsmsg.TypeKeyUpdate && dec.app:
			out = d.keyUpdate(st, out)
		}
	}
	dec.hs = append(dec.hs[:0], rest...)
	if dec.done {
		dec.hs = nil
	}
	return out
}

// appPhase is called when a direction turns to its application traffic
// key: a handshake message after Finished in the same record cannot be
// (RFC 8446 §5.1: a key change happens at a record boundary).
func (d *Dissector) appPhase(st *dirState, rest []byte, out *[]wire.Event) []byte {
	if len(rest) > 0 {
		*out = append(*out, keyLogNote(st.dir, fmt.Sprintf("%s after the %s's Finished in the same record, where the key changes (RFC 8446 §5.1); dropped",
			words.Plural(len(rest), "byte"), side(st.dir)), annKeyLogFailed))
	}
	return nil
}

// keyUpdate moves a direction to its next application traffic secret
// (RFC 8446 §7.2: application_traffic_secret_N+1 =
// HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length)), its record
// sequence starting again from 0 (§5.3).
func (d *Dissector) keyUpdate(st *dirState, out []wire.Event) []wire.Event {
	dec := &st.dec
	suite := tls13Suites[d.msgs.CipherSuite]
	fail := func(err error) []wire.Event {
		dec.done = true
		return append(out, keyLogNote(st.dir, fmt.Sprintf("cannot follow the %s's KeyUpdate: %v; not decrypting this direction further", side(st.dir), err), annKeyLogFailed))
	}
	next, err := hkdfExpandLabel(suite.hash, dec.secret, "traffic upd", nil, suite.hash().Size())
	if err != nil {
		return fail(err)
	}
	key, iv, err := trafficKeys(suite, next)
	if err != nil {
		return fail(err)
	}
	aead, err := suite.aead(key)
	if err != nil {
		return fail(err)
	}
	dec.aead, dec.iv, dec.secret, dec.seq = aead, iv, next, 0
	return out
}

// ClientRandom is the random of the connection's ClientHello (RFC 8446
// §4.1.2), which names its lines in a key log; nil until it was seen.
func (d *Dissector) ClientRandom() []byte { return d.clientRandom }

// Version is the TLS version the ServerHello chose (tlsmsg.VersionTLS13,
// …), 0 until it was seen.
func (d *Dissector) Version() uint16 { return d.msgs.Version }

// verifyDataLen is the size of a Finished's verify_data under the
// negotiated suite: its hash's (RFC 8446 §4.4.4); 0 for a suite mailwire
// does not decrypt.
func (d *Dissector) verifyDataLen() int {
	if suite, ok := tls13Suites[d.msgs.CipherSuite]; ok {
		return suite.hash().Size()
	}
	return 0
}

// clientRandomOf returns the random of a ClientHello message (header
// included): legacy_version(2) then random(32), RFC 8446 §4.1.2; nil if
// the message is too short to hold one.
func clientRandomOf(msg []byte) []byte {
	if len(msg) < 4+2+32 || msg[0] != tlsmsg.TypeClientHello {
		return nil
	}
	return bytes.Clone(msg[6:38])
}
