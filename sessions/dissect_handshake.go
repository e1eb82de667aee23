package sessions

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"

	"github.com/mailwire/mailwire/sessions/certs"
)

// One parse function per handshake message, in the manner of Go's
// crypto/tls/handshake_messages.go. Each reads a cryptobyte.String (which
// bounds every length prefix by the bytes actually present, so a hostile
// length can never make us allocate or read past the message) and returns
// the fields an observer can read.

// errMalformed marks a message whose structure does not parse.
var errMalformed = errors.New("malformed")

// hrrRandom is the special ServerHello.random that marks a
// HelloRetryRequest, RFC 8446 §4.1.3: SHA-256("HelloRetryRequest").
var hrrRandom = []byte{
	0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
}

// Downgrade sentinels in the last 8 bytes of ServerHello.random, RFC 8446 §4.1.3.
var (
	downgradeTLS12 = []byte("DOWNGRD\x01")
	downgradeTLS11 = []byte("DOWNGRD\x00")
)

// msgResult is what a parse function produces.
type msgResult struct {
	typ    string // overrides the handshake type name (hello_retry_request)
	text   string // summary after the message name
	fields []Field
}

func (r *msgResult) add(name, value, ann string) {
	r.fields = append(r.fields, Field{Name: name, Value: value, Annotation: ann})
}

// handshakeMessage decodes one complete handshake message (header included).
func (d *Dissector) handshakeMessage(st *dirState, msg []byte) Event {
	typ := msg[0]
	body := cryptobyte.String(msg[4:])
	r := &msgResult{}
	var err error
	switch typ {
	case hsClientHello:
		err = d.parseClientHello(body, r)
	case hsServerHello:
		err = d.parseServerHello(body, r)
	case hsCertificate:
		err = d.parseCertificate(body, r)
	case hsServerKeyExchange:
		err = d.parseServerKeyExchange(body, r)
	case hsCertificateRequest:
		err = d.parseCertificateRequest(body, r)
	case hsServerHelloDone:
		err = parseEmpty(body, r, "the server's first flight is complete (RFC 5246 §7.4.5)")
	case hsHelloRequest:
		err = parseEmpty(body, r, "the server asks the client to renegotiate (RFC 5246 §7.4.1.1)")
	case hsClientKeyExchange:
		err = d.parseClientKeyExchange(body, r)
	case hsNewSessionTicket:
		err = d.parseNewSessionTicket(body, r)
	case hsCertificateStatus:
		err = parseCertificateStatus(body, r)
	default:
		r.notDecoded(body)
	}
	return handshakeEvent(st.dir, msg, r, err, false)
}

// notDecoded records a message mailwire has no parser for: its length only.
func (r *msgResult) notDecoded(body cryptobyte.String) {
	r.add("length", plural(len(body), "byte"), "")
	r.text = "not decoded"
}

// handshakeEvent is the event of one handshake message (header included),
// built from what its parser produced. A parse error is reported on the
// event rather than returned: the message framing was intact, so
// dissection goes on with the next message. encrypted marks a TLS 1.3
// message decrypted with the session's key log (RFC 8446 §4.3 onwards):
// on the wire it travelled inside encrypted records, so only the
// endpoints could read it.
func handshakeEvent(dir Direction, msg []byte, r *msgResult, err error, encrypted bool) Event {
	typ := msg[0]
	name := handshakeTypeName(typ)
	if r.typ != "" {
		name = r.typ
	}
	ev := Event{
		Kind: KindHandshake, Dir: dir, Layer: LayerTLS, Visible: VisibleMetadata,
		Raw: msg, Annotation: "tls.handshake." + name,
		Handshake: &Handshake{Type: name, Fields: r.fields, Encrypted: encrypted},
	}
	title := messageTitle(name, typ)
	if encrypted {
		ev.Layer, ev.Visible = LayerDecrypted, VisibleEndpoints
		title += " (decrypted with the session's key log)"
	}
	if err != nil {
		ev.Handshake.Fields = append(ev.Handshake.Fields, Field{Name: "error", Value: err.Error(), Annotation: annErrMalformed})
		ev.Also = []string{annErrMalformed}
		ev.Text = title + ": malformed: " + err.Error()
		return ev
	}
	ev.Text = title
	if r.text != "" {
		ev.Text += ": " + r.text
	}
	return ev
}

// messageTitle is the conventional CamelCase name used in prose.
func messageTitle(name string, typ uint8) string {
	if name == "unknown" {
		return fmt.Sprintf("unknown handshake message (type %d)", typ)
	}
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

func parseEmpty(body cryptobyte.String, r *msgResult, text string) error {
	if !body.Empty() {
		return fmt.Errorf("%w: expected an empty body, got %d bytes", errMalformed, len(body))
	}
	r.text = text
	return nil
}

// parseClientHello decodes RFC 8446 §4.1.2 (and RFC 5246 §7.4.1.2).
func (d *Dissector) parseClientHello(s cryptobyte.String, r *msgResult) error {
	var vers uint16
	var random, sid, suites, comp []byte
	if !s.ReadUint16(&vers) || !s.ReadBytes(&random, 32) ||
		!readUint8Prefixed(&s, &sid) || !readUint16Prefixed(&s, &suites) || !readUint8Prefixed(&s, &comp) {
		return fmt.Errorf("%w ClientHello header", errMalformed)
	}
	r.add("legacy_version", versionHex(vers), "")
	r.add("random", hex.EncodeToString(random), "")
	r.add("session id", sessionIDText(sid), "")
	d.clientSID = bytes.Clone(sid)
	if len(suites)%2 != 0 {
		return fmt.Errorf("%w cipher_suites: odd length %d", errMalformed, len(suites))
	}
	var names []string
	for i := 0; i+1 < len(suites); i += 2 {
		names = append(names, cipherSuiteName(uint16(suites[i])<<8|uint16(suites[i+1])))
	}
	r.add("cipher suites", fmt.Sprintf("%d: %s", len(names), joinNames(names)), "")
	r.add("compression methods", compressionText(comp), "")

	var summary []string
	err := d.parseExtensions(&s, hsClientHello, false, r, func(id uint16, text string) {
		switch id {
		case extServerName:
			summary = append(summary, "SNI "+d.sum.SNI)
		case extALPN:
			summary = append(summary, "ALPN "+strings.Join(d.sum.ALPNOffered, ", "))
		case extSupportedVersions:
			summary = append(summary, "offers "+text)
		case extEncryptedClientHello:
			summary = append(summary, "ECH")
		}
	})
	if err != nil {
		return err
	}
	if len(summary) == 0 {
		summary = append(summary, "offers "+versionName(vers))
	}
	if d.sum.HelloRetryRequest {
		summary = append(summary, "the second ClientHello, answering the HelloRetryRequest")
	}
	r.text = strings.Join(summary, "; ")
	return nil
}

// parseServerHello decodes RFC 8446 §4.1.3, including the HelloRetryRequest
// form (same message, special random, RFC 8446 §4.1.4).
func (d *Dissector) parseServerHello(s cryptobyte.String, r *msgResult) error {
	var vers, suite uint16
	var random, sid []byte
	var comp uint8
	if !s.ReadUint16(&vers) || !s.ReadBytes(&random, 32) || !readUint8Prefixed(&s, &sid) ||
		!s.ReadUint16(&suite) || !s.ReadUint8(&comp) {
		return fmt.Errorf("%w ServerHello header", errMalformed)
	}
	hrr := bytes.Equal(random, hrrRandom)
	r.add("legacy_version", versionHex(vers), "")
	if hrr {
		r.typ = "hello_retry_request"
		r.add("random", "HelloRetryRequest marker, SHA-256(\"HelloRetryRequest\") (RFC 8446 §4.1.3)", annHRR)
	} else {
		r.add("random", hex.EncodeToString(random), "")
	}
	switch tail := random[24:]; {
	case bytes.Equal(tail, downgradeTLS12):
		r.add("downgrade sentinel", "DOWNGRD followed by the byte 0x01: the server supports TLS 1.3 but negotiates TLS 1.2 (RFC 8446 §4.1.3)", annDowngrade)
	case bytes.Equal(tail, downgradeTLS11):
		r.add("downgrade sentinel", "DOWNGRD followed by the byte 0x00: the server supports TLS 1.2 or later but negotiates TLS 1.1 or below (RFC 8446 §4.1.3)", annDowngrade)
	}
	r.add("session id", sessionIDText(sid), "")
	r.add("cipher suite", cipherSuiteName(suite), "")
	r.add("compression method", compressionText([]byte{comp}), "")

	chosen := vers
	var group, alpn string
	var psk bool
	d.lastVersion, d.lastGroup = 0, ""
	err := d.parseExtensions(&s, hsServerHello, hrr, r, func(id uint16, text string) {
		if strings.HasPrefix(text, "malformed") {
			return
		}
		switch id {
		case extSupportedVersions:
			chosen = d.lastVersion
		case extKeyShare:
			group = d.lastGroup
		case extALPN:
			alpn = text
		case extPreSharedKey:
			psk = true
		}
	})
	if err != nil {
		return err
	}
	d.version, d.cipher = chosen, suite
	d.sum.Version, d.sum.CipherSuite = versionName(chosen), cipherSuiteName(suite)
	if hrr {
		d.sum.HelloRetryRequest = true
		r.text = "the server wants a key share for " + group + " and a new ClientHello (RFC 8446 §4.1.4)"
		if group == "" {
			r.text = "the server wants a new ClientHello (RFC 8446 §4.1.4)"
		}
		return nil
	}
	d.shSeen = true
	if group != "" {
		d.sum.Group = group
	}
	if alpn != "" {
		d.sum.ALPNChosen = alpn
	}
	parts := []string{versionName(chosen), cipherSuiteName(suite)}
	if group != "" {
		parts = append(parts, "key share "+group)
	}
	if alpn != "" {
		parts = append(parts, "ALPN "+alpn)
	}
	if chosen == verTLS13 {
		d.sum.Resumed = psk
		if psk {
			parts = append(parts, "resuming with a PSK")
		}
		parts = append(parts, "everything after this is encrypted (RFC 8446 §2)")
	} else if len(sid) > 0 && bytes.Equal(sid, d.clientSID) {
		// RFC 5246 §7.4.1.3: an echoed session ID means an abbreviated handshake.
		d.sum.Resumed = true
		parts = append(parts, "resuming the client's session (abbreviated handshake)")
	}
	r.text = strings.Join(parts, ", ")
	return nil
}

// parseExtensions decodes an extensions block (RFC 8446 §4.2) if present;
// each extension becomes one field, and seen is told its id and value.
func (d *Dissector) parseExtensions(s *cryptobyte.String, msgType uint8, hrr bool, r *msgResult, seen func(id uint16, text string)) error {
	if s.Empty() {
		return nil // extensions are optional before TLS 1.3 (RFC 5246 §7.4.1.2)
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return fmt.Errorf("%w extensions block", errMalformed)
	}
	for !exts.Empty() {
		var id uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&id) || !exts.ReadUint16LengthPrefixed(&data) {
			return fmt.Errorf("%w extension list", errMalformed)
		}
		name, text := d.extension(id, data, msgType, hrr)
		r.add(name, text, "tls.ext."+extensionKeyName(id))
		if seen != nil {
			seen(id, text)
		}
	}
	return nil
}

// extension decodes one extension's data; it returns the field name and a
// value, "malformed (N bytes)" when the data does not parse.
func (d *Dissector) extension(id uint16, data cryptobyte.String, msgType uint8, hrr bool) (string, string) {
	name := extensionDisplayName(id)
	client := msgType == hsClientHello
	raw := len(data)
	malformed := fmt.Sprintf("malformed (%s)", plural(raw, "byte"))
	switch id {
	case extServerName:
		name = "SNI"
		if !client {
			if data.Empty() {
				return name, "acknowledged: the server used the name (RFC 6066 §3)"
			}
			return name, malformed
		}
		// RFC 6066 §3: a list of (name_type, HostName); only host_name(0) exists.
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return name, malformed
		}
		var names []string
		for !list.Empty() {
			var typ uint8
			var host []byte
			if !list.ReadUint8(&typ) || !readUint16Prefixed(&list, &host) {
				return name, malformed
			}
			names = append(names, string(host))
		}
		if len(names) > 0 {
			d.sum.SNI = names[0]
		}
		return name, joinNames(names)
	case extALPN:
		name = "ALPN"
		// RFC 7301 §3.1: ProtocolNameList; the server's holds exactly one.
		var list cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
			return name, malformed
		}
		var protos []string
		for !list.Empty() {
			var p []byte
			if !readUint8Prefixed(&list, &p) {
				return name, malformed
			}
			protos = append(protos, string(p))
		}
		if client {
			d.sum.ALPNOffered = protos
		}
		return name, joinNames(protos)
	case extSupportedGroups:
		ids, ok := readUint16List(&data)
		if !ok || !data.Empty() {
			return name, malformed
		}
		return name, mapJoin(ids, groupName)
	case extSignatureAlgorithms, extSigAlgsCert, extDelegatedCredential:
		ids, ok := readUint16List(&data)
		if !ok || !data.Empty() {
			return name, malformed
		}
		return name, mapJoin(ids, sigSchemeName)
	case extECPointFormats:
		var list []byte
		if !readUint8Prefixed(&data, &list) || !data.Empty() {
			return name, malformed
		}
		var f []string
		for _, p := range list {
			f = append(f, map[uint8]string{0: "uncompressed", 1: "ansiX962_compressed_prime", 2: "ansiX962_compressed_char2"}[p])
			if f[len(f)-1] == "" {
				f[len(f)-1] = fmt.Sprintf("unknown(%d)", p)
			}
		}
		return name, joinNames(f)
	case extKeyShare:
		return name, d.keyShare(data, msgType, hrr, malformed)
	case extSupportedVersions:
		if client {
			// RFC 8446 §4.2.1: a list, most preferred first.
			var list cryptobyte.String
			if !data.ReadUint8LengthPrefixed(&list) || !data.Empty() || len(list)%2 != 0 {
				return name, malformed
			}
			var vs []string
			for !list.Empty() {
				var v uint16
				list.ReadUint16(&v)
				vs = append(vs, versionName(v))
			}
			return name, joinNames(vs)
		}
		var v uint16
		if !data.ReadUint16(&v) || !data.Empty() {
			return name, malformed
		}
		d.lastVersion = v
		return name, versionName(v) + " (selected)"
	case extPSKModes:
		var list []byte
		if !readUint8Prefixed(&data, &list) || !data.Empty() {
			return name, malformed
		}
		var m []string
		for _, p := range list {
			switch p {
			case 0:
				m = append(m, "psk_ke")
			case 1:
				m = append(m, "psk_dhe_ke")
			default:
				m = append(m, fmt.Sprintf("unknown(%d)", p))
			}
		}
		return name, joinNames(m)
	case extRenegotiationInfo:
		// RFC 5746 §3.2: empty on the initial handshake.
		var v []byte
		if !readUint8Prefixed(&data, &v) || !data.Empty() {
			return name, malformed
		}
		if len(v) == 0 {
			return name, "empty: initial handshake, secure renegotiation supported (RFC 5746)"
		}
		return name, fmt.Sprintf("%s of verify data: a renegotiation (RFC 5746 §3.5)", plural(len(v), "byte"))
	case extExtendedMasterSecret, extEncryptThenMAC, extPostHandshakeAuth, extNextProtoNeg:
		if !data.Empty() && id != extNextProtoNeg {
			return name, malformed
		}
		return name, "present"
	case extSessionTicket:
		// RFC 5077 §3.2: empty asks for a ticket; non-empty presents one.
		switch {
		case !client && raw == 0:
			return name, "empty: the server will send a NewSessionTicket"
		case raw == 0:
			return name, "empty: the client asks for a ticket"
		}
		return name, fmt.Sprintf("%s ticket: the client tries to resume", plural(raw, "byte"))
	case extStatusRequest:
		if !client {
			if raw == 0 {
				return name, "the server will staple an OCSP response"
			}
			return name, plural(raw, "byte")
		}
		var typ uint8
		if !data.ReadUint8(&typ) {
			return name, malformed
		}
		if typ == 1 {
			return name, "OCSP stapling requested (RFC 6066 §8)"
		}
		return name, fmt.Sprintf("status type %d", typ)
	case extSCT:
		if client && raw == 0 {
			return name, "Certificate Transparency SCTs requested (RFC 6962 §3.3.1)"
		}
		return name, plural(raw, "byte") + " of SCTs"
	case extPreSharedKey:
		if !client {
			var sel uint16
			if !data.ReadUint16(&sel) || !data.Empty() {
				return name, malformed
			}
			return name, fmt.Sprintf("identity %d selected: resumption accepted (RFC 8446 §4.2.11)", sel)
		}
		// RFC 8446 §4.2.11: identities, then binders; the identity is an
		// opaque ticket an observer can link across connections.
		var ids, binders cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&ids) || !data.ReadUint16LengthPrefixed(&binders) || !data.Empty() {
			return name, malformed
		}
		var sizes []string
		for !ids.Empty() {
			var id []byte
			var age uint32
			if !readUint16Prefixed(&ids, &id) || !ids.ReadUint32(&age) {
				return name, malformed
			}
			sizes = append(sizes, plural(len(id), "byte"))
		}
		return name, fmt.Sprintf("%d identities (%s) and binders: the client tries to resume", len(sizes), joinNames(sizes))
	case extEarlyData:
		if msgType == hsNewSessionTicket {
			var max uint32
			if !data.ReadUint32(&max) || !data.Empty() {
				return name, malformed
			}
			return name, fmt.Sprintf("up to %d bytes of 0-RTT data allowed", max)
		}
		if client {
			d.earlyData = true
			return name, "0-RTT data follows, encrypted but replayable (RFC 8446 §8)"
		}
		return name, "present"
	case extCookie:
		var c []byte
		if !readUint16Prefixed(&data, &c) || !data.Empty() {
			return name, malformed
		}
		return name, plural(len(c), "byte") + " (RFC 8446 §4.2.2)"
	case extEncryptedClientHello:
		return name, d.ech(data, client, malformed)
	case extRecordSizeLimit:
		var n uint16
		if !data.ReadUint16(&n) || !data.Empty() {
			return name, malformed
		}
		return name, fmt.Sprintf("%d bytes (RFC 8449)", n)
	case extMaxFragmentLength:
		var n uint8
		if !data.ReadUint8(&n) || !data.Empty() || n < 1 || n > 4 {
			return name, malformed
		}
		return name, fmt.Sprintf("%d bytes (RFC 6066 §4)", 1<<(8+n))
	case extCompressCertificate:
		ids, ok := readUint16ListU8(&data)
		if !ok || !data.Empty() {
			return name, malformed
		}
		return name, mapJoin(ids, func(v uint16) string {
			switch v {
			case 1:
				return "zlib"
			case 2:
				return "brotli"
			case 3:
				return "zstd"
			}
			return fmt.Sprintf("unknown(%d)", v)
		})
	case extPadding:
		return name, plural(raw, "byte") + " of padding (RFC 7685)"
	case extHeartbeat:
		var mode uint8
		if !data.ReadUint8(&mode) || !data.Empty() {
			return name, malformed
		}
		switch mode {
		case 1:
			return name, "peer_allowed_to_send (RFC 6520)"
		case 2:
			return name, "peer_not_allowed_to_send (RFC 6520)"
		}
		return name, fmt.Sprintf("mode %d", mode)
	}
	if isGREASE(id) {
		return name, plural(raw, "byte") + ": a reserved value to keep servers tolerant (RFC 8701)"
	}
	return name, plural(raw, "byte")
}

// keyShare decodes key_share (RFC 8446 §4.2.8): a list in the ClientHello,
// one entry in the ServerHello, only the selected group in a HelloRetryRequest.
func (d *Dissector) keyShare(data cryptobyte.String, msgType uint8, hrr bool, malformed string) string {
	if hrr {
		var g uint16
		if !data.ReadUint16(&g) || !data.Empty() {
			return malformed
		}
		d.lastGroup = groupName(g)
		return "selected group " + d.lastGroup
	}
	readEntry := func(s *cryptobyte.String) (string, bool) {
		var g uint16
		var key []byte
		if !s.ReadUint16(&g) || !readUint16Prefixed(s, &key) {
			return "", false
		}
		d.lastGroup = groupName(g)
		return fmt.Sprintf("%s (%s)", groupName(g), plural(len(key), "byte")), true
	}
	if msgType != hsClientHello {
		e, ok := readEntry(&data)
		if !ok || !data.Empty() {
			return malformed
		}
		return e
	}
	var list cryptobyte.String
	if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() {
		return malformed
	}
	var entries []string
	for !list.Empty() {
		e, ok := readEntry(&list)
		if !ok {
			return malformed
		}
		entries = append(entries, e)
	}
	return joinNames(entries)
}

// ech decodes encrypted_client_hello (RFC 9849 §5): the outer ClientHello
// carries the real one encrypted, so the SNI an observer reads is the public name.
func (d *Dissector) ech(data cryptobyte.String, client bool, malformed string) string {
	if !client {
		return plural(len(data), "byte") + " of retry configurations or confirmation"
	}
	var typ uint8
	if !data.ReadUint8(&typ) {
		return malformed
	}
	d.sum.ECHOffered = true
	if typ == 1 {
		return "inner marker"
	}
	var kdf, aead uint16
	var cfg uint8
	var enc, payload []byte
	if typ != 0 || !data.ReadUint16(&kdf) || !data.ReadUint16(&aead) || !data.ReadUint8(&cfg) ||
		!readUint16Prefixed(&data, &enc) || !readUint16Prefixed(&data, &payload) || !data.Empty() {
		return malformed
	}
	return fmt.Sprintf("outer: config id %d, %s encrypted inner ClientHello (the real SNI is hidden)", cfg, plural(len(payload), "byte"))
}

// addCertFields adds one certificate's fields (subject, issuer, SAN,
// validity, key; RFC 5280 §4.1) under the name prefix p and returns its
// subject, or "(unparseable)" after noting why the DER did not parse. TLS
// 1.2 Certificate (RFC 5246 §7.4.2) and TLS 1.3 Certificate entries (RFC
// 8446 §4.4.2) carry the same X.509 DER.
func addCertFields(r *msgResult, p string, der []byte) string {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		r.add(p+"der", fmt.Sprintf("%s, unparseable: %v", plural(len(der), "byte"), err), annCertUnparseable)
		return "(unparseable)"
	}
	f := certs.Facts(cert)
	r.add(p+"subject", f.Subject, annCertSubject)
	r.add(p+"issuer", f.Issuer, annCertIssuer)
	if san := f.NamesText(); san != "" {
		r.add(p+"SAN", san, annCertSAN)
	}
	r.add(p+"validity", f.NotBefore.Format(time.RFC3339)+" to "+f.NotAfter.Format(time.RFC3339), annCertValidity)
	r.add(p+"key", f.KeyText(), annCertKey)
	return f.Subject
}

// parseCertificate decodes the Certificate message: RFC 5246 §7.4.2 for
// TLS ≤ 1.2 (in TLS 1.3, RFC 8446 §4.4.2, it is encrypted and only seen
// plaintext if a key log recovered it).
func (d *Dissector) parseCertificate(s cryptobyte.String, r *msgResult) error {
	if d.version == verTLS13 {
		var ctx []byte
		if !readUint8Prefixed(&s, &ctx) {
			return fmt.Errorf("%w certificate_request_context", errMalformed)
		}
	}
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return fmt.Errorf("%w certificate_list", errMalformed)
	}
	var subjects []string
	for i := 0; !list.Empty(); i++ {
		var der []byte
		if !readUint24Prefixed(&list, &der) {
			return fmt.Errorf("%w certificate entry %d", errMalformed, i)
		}
		if d.version == verTLS13 {
			var exts []byte
			if !readUint16Prefixed(&list, &exts) {
				return fmt.Errorf("%w certificate entry %d extensions", errMalformed, i)
			}
		}
		subjects = append(subjects, addCertFields(r, fmt.Sprintf("certificate[%d] ", i), der))
	}
	if d.version != verTLS13 {
		d.sum.CertificateVisible = true
		d.sum.Certificates = subjects
	}
	if len(subjects) == 0 {
		r.text = "empty: no certificate"
		return nil
	}
	r.text = fmt.Sprintf("%s, leaf %s: readable by anyone on the path (TLS 1.3 would encrypt it, RFC 8446 §4.4.2)",
		plural(len(subjects), "certificate"), subjects[0])
	return nil
}

// parseServerKeyExchange decodes RFC 8422 §5.4 (ECDHE) or RFC 5246 §7.4.3
// (DHE); which one follows from the cipher suite the ServerHello chose.
func (d *Dissector) parseServerKeyExchange(s cryptobyte.String, r *msgResult) error {
	suite := cipherSuiteName(d.cipher)
	ecdhe := strings.Contains(suite, "ECDHE") || (!strings.Contains(suite, "DHE") && len(s) > 0 && s[0] == 3)
	var summary string
	if ecdhe {
		var curveType uint8
		var curve uint16
		var point []byte
		if !s.ReadUint8(&curveType) || curveType != 3 || !s.ReadUint16(&curve) || !readUint8Prefixed(&s, &point) {
			return fmt.Errorf("%w ECDHE parameters (only named_curve exists, RFC 8422 §5.4)", errMalformed)
		}
		d.sum.Group = groupName(curve)
		r.add("curve", groupName(curve), "")
		r.add("public key", plural(len(point), "byte"), "")
		summary = "ECDHE with " + groupName(curve)
	} else {
		var p, g, y []byte
		if !readUint16Prefixed(&s, &p) || !readUint16Prefixed(&s, &g) || !readUint16Prefixed(&s, &y) {
			return fmt.Errorf("%w DHE parameters", errMalformed)
		}
		grp := fmt.Sprintf("DH %d-bit", bitLen(p))
		d.sum.Group = grp
		r.add("group", grp, "")
		r.add("public key", plural(len(y), "byte"), "")
		summary = "DHE with a " + grp + " group"
	}
	if d.version >= verTLS12 {
		var alg uint16
		if !s.ReadUint16(&alg) {
			return fmt.Errorf("%w signature algorithm", errMalformed)
		}
		r.add("signature algorithm", sigSchemeName(alg), "")
		summary += ", signed with " + sigSchemeName(alg)
	}
	var sig []byte
	if !readUint16Prefixed(&s, &sig) || !s.Empty() {
		return fmt.Errorf("%w signature", errMalformed)
	}
	r.add("signature", plural(len(sig), "byte"), "")
	r.text = summary
	return nil
}

func bitLen(b []byte) int {
	for i, c := range b {
		if c != 0 {
			n := (len(b) - i) * 8
			for m := byte(0x80); c&m == 0; m >>= 1 {
				n--
			}
			return n
		}
	}
	return 0
}

// parseCertificateRequest decodes RFC 5246 §7.4.4.
func (d *Dissector) parseCertificateRequest(s cryptobyte.String, r *msgResult) error {
	var types []byte
	if !readUint8Prefixed(&s, &types) {
		return fmt.Errorf("%w certificate_types", errMalformed)
	}
	var tn []string
	for _, t := range types {
		n := map[uint8]string{1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh", 64: "ecdsa_sign"}[t]
		if n == "" {
			n = fmt.Sprintf("unknown(%d)", t)
		}
		tn = append(tn, n)
	}
	r.add("certificate types", joinNames(tn), "")
	if d.version >= verTLS12 {
		ids, ok := readUint16List(&s)
		if !ok {
			return fmt.Errorf("%w supported_signature_algorithms", errMalformed)
		}
		r.add("signature algorithms", mapJoin(ids, sigSchemeName), "")
	}
	var cas cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&cas) || !s.Empty() {
		return fmt.Errorf("%w certificate_authorities", errMalformed)
	}
	var names []string
	for !cas.Empty() {
		var dn []byte
		if !readUint16Prefixed(&cas, &dn) {
			return fmt.Errorf("%w distinguished name", errMalformed)
		}
		var rdn pkix.RDNSequence
		if rest, err := asn1.Unmarshal(dn, &rdn); err != nil || len(rest) > 0 {
			names = append(names, fmt.Sprintf("(unparseable, %s)", plural(len(dn), "byte")))
			continue
		}
		var n pkix.Name
		n.FillFromRDNSequence(&rdn)
		names = append(names, n.String())
	}
	r.add("certificate authorities", joinNames(names), "")
	r.text = "the server asks for a client certificate"
	return nil
}

// parseClientKeyExchange decodes RFC 5246 §7.4.7: an ECDHE point (RFC 8422
// §5.7), a DH public value, or an RSA-encrypted premaster secret.
func (d *Dissector) parseClientKeyExchange(s cryptobyte.String, r *msgResult) error {
	suite := cipherSuiteName(d.cipher)
	var key []byte
	switch {
	case strings.Contains(suite, "ECDHE") || (!strings.Contains(suite, "_RSA_WITH") && !strings.Contains(suite, "DHE") && len(s) > 0 && int(s[0]) == len(s)-1):
		if !readUint8Prefixed(&s, &key) || !s.Empty() {
			return fmt.Errorf("%w ECDHE public key", errMalformed)
		}
		r.add("public key", plural(len(key), "byte")+" (ECDHE)", "")
		r.text = "the client's ECDHE public key"
	case strings.HasPrefix(suite, "TLS_RSA_"):
		if !readUint16Prefixed(&s, &key) || !s.Empty() {
			return fmt.Errorf("%w encrypted premaster secret", errMalformed)
		}
		r.add("encrypted premaster secret", plural(len(key), "byte"), annRSAKeyTransport)
		r.text = "RSA key transport: whoever gets the server's private key later can decrypt this session (no forward secrecy)"
	default:
		if !readUint16Prefixed(&s, &key) || !s.Empty() {
			return fmt.Errorf("%w DH public value", errMalformed)
		}
		r.add("public key", plural(len(key), "byte")+" (DHE)", "")
		r.text = "the client's DHE public value"
	}
	return nil
}

// parseNewSessionTicket decodes RFC 5077 §3.3 (TLS ≤ 1.2) or RFC 8446
// §4.6.1 (TLS 1.3, only seen plaintext when recovered from a key log).
func (d *Dissector) parseNewSessionTicket(s cryptobyte.String, r *msgResult) error {
	var lifetime uint32
	var ticket []byte
	if !s.ReadUint32(&lifetime) {
		return fmt.Errorf("%w ticket lifetime", errMalformed)
	}
	if d.version == verTLS13 {
		var ageAdd uint32
		var nonce []byte
		if !s.ReadUint32(&ageAdd) || !readUint8Prefixed(&s, &nonce) || !readUint16Prefixed(&s, &ticket) {
			return fmt.Errorf("%w NewSessionTicket", errMalformed)
		}
		r.add("lifetime", fmt.Sprintf("%d s", lifetime), "")
		r.add("ticket", plural(len(ticket), "byte"), "")
		return d.parseExtensions(&s, hsNewSessionTicket, false, r, nil)
	}
	if !readUint16Prefixed(&s, &ticket) || !s.Empty() {
		return fmt.Errorf("%w ticket", errMalformed)
	}
	r.add("lifetime hint", fmt.Sprintf("%d s", lifetime), "")
	r.add("ticket", plural(len(ticket), "byte"), "")
	r.text = fmt.Sprintf("%s ticket sent in the clear: an observer can link the client's next connection to this one", plural(len(ticket), "byte"))
	return nil
}

// parseCertificateStatus decodes RFC 6066 §8: a stapled OCSP response.
func parseCertificateStatus(s cryptobyte.String, r *msgResult) error {
	var typ uint8
	var resp []byte
	if !s.ReadUint8(&typ) || !readUint24Prefixed(&s, &resp) || !s.Empty() {
		return fmt.Errorf("%w CertificateStatus", errMalformed)
	}
	st := fmt.Sprintf("type %d", typ)
	if typ == 1 {
		st = "ocsp"
	}
	r.add("status type", st, "")
	r.add("response", plural(len(resp), "byte"), "")
	r.text = "a stapled " + st + " response, " + plural(len(resp), "byte")
	return nil
}

// Small helpers over cryptobyte.

func readUint8Prefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint8LengthPrefixed((*cryptobyte.String)(out))
}

func readUint16Prefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint16LengthPrefixed((*cryptobyte.String)(out))
}

func readUint24Prefixed(s *cryptobyte.String, out *[]byte) bool {
	return s.ReadUint24LengthPrefixed((*cryptobyte.String)(out))
}

// readUint16List reads a uint16-length-prefixed list of uint16.
func readUint16List(s *cryptobyte.String) ([]uint16, bool) {
	var list cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&list) || len(list)%2 != 0 {
		return nil, false
	}
	return drainUint16(list), true
}

// readUint16ListU8 reads a uint8-length-prefixed list of uint16.
func readUint16ListU8(s *cryptobyte.String) ([]uint16, bool) {
	var list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&list) || len(list)%2 != 0 {
		return nil, false
	}
	return drainUint16(list), true
}

func drainUint16(list cryptobyte.String) []uint16 {
	ids := make([]uint16, 0, len(list)/2)
	for !list.Empty() {
		var v uint16
		list.ReadUint16(&v)
		ids = append(ids, v)
	}
	return ids
}

func mapJoin(ids []uint16, name func(uint16) string) string {
	names := make([]string, len(ids))
	for i, v := range ids {
		names[i] = name(v)
	}
	return joinNames(names)
}

func versionHex(v uint16) string { return fmt.Sprintf("%s (0x%04x)", versionName(v), v) }

func sessionIDText(sid []byte) string {
	if len(sid) == 0 {
		return "empty"
	}
	return plural(len(sid), "byte")
}

func compressionText(methods []byte) string {
	var m []string
	for _, c := range methods {
		if c == 0 {
			m = append(m, "null")
		} else {
			m = append(m, fmt.Sprintf("%d (compression: CRIME-prone, RFC 7457 §2.6)", c))
		}
	}
	return joinNames(m)
}
