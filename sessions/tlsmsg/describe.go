package tlsmsg

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/internal/words"
)

// The one place where the dissector's display strings are made: the
// fields and the one-line text of each handshake message, from its typed
// value (messages.go). Parsers make no strings, and no consumer
// reads meaning back out of these: they read the typed values.
//
// Every function here accepts any value, including one read back from a
// JSON file, without panicking.

// Describe returns the display fields of a handshake message and
// the event's text: its title ("ClientHello"), and after a colon what it
// says, or why it did not parse. fromClient says which side sent it.
func Describe(h *Handshake, fromClient bool) ([]Field, string) {
	d := describer{meta: !h.Encrypted, failed: h.Error != ""}
	var text string
	switch {
	case h.ClientHello != nil:
		text = d.clientHello(h.ClientHello)
	case h.ServerHello != nil:
		text = d.serverHello(h.ServerHello)
	case h.Certificate != nil:
		text = d.certificate(h.Certificate, h.Encrypted)
	case h.ServerKeyExchange != nil:
		text = d.serverKeyExchange(h.ServerKeyExchange)
	case h.CertificateRequest != nil:
		text = d.certificateRequest(h.CertificateRequest)
	case h.ServerHelloDone != nil:
		text = "the server's first flight is complete (RFC 5246 §7.4.5)"
	case h.HelloRequest != nil:
		text = "the server asks the client to renegotiate (RFC 5246 §7.4.1.1)"
	case h.ClientKeyExchange != nil:
		text = d.clientKeyExchange(h.ClientKeyExchange)
	case h.NewSessionTicket != nil:
		text = d.newSessionTicket(h.NewSessionTicket)
	case h.CertificateStatus != nil:
		text = d.certificateStatus(h.CertificateStatus)
	case h.EncryptedExtensions != nil:
		text = d.encryptedExtensions(h.EncryptedExtensions)
	case h.CertificateVerify != nil:
		text = d.certificateVerify(h.CertificateVerify)
	case h.Finished != nil:
		text = d.finished(h.Finished, fromClient)
	case h.NotDecoded != nil:
		d.add("length", words.Plural(h.NotDecoded.Length, "byte"), "")
		text = "not decoded"
	}
	title := messageTitle(h.Type, h.MsgType)
	if h.Encrypted {
		title += " (decrypted with the session's key log)"
	}
	if h.Error != "" {
		d.add("error", h.Error, KeyMalformed)
		return d.fields, title + ": malformed: " + h.Error
	}
	if text != "" {
		title += ": " + text
	}
	return d.fields, title
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

// describer collects the fields of one message.
type describer struct {
	fields []Field
	// meta: the message crossed the wire in the clear, so the fields an
	// observer learns from it are marked Metadata.
	meta bool
	// failed: the message did not parse; the parts after the one that
	// broke were not decoded and are not shown.
	failed bool
}

func (d *describer) add(name, value, ann string) {
	d.fields = append(d.fields, Field{Name: name, Value: value, Annotation: ann})
}

// addMeta adds a field a passive observer learns from a cleartext message.
func (d *describer) addMeta(name, value, ann string) {
	d.fields = append(d.fields, Field{Name: name, Value: value, Annotation: ann, Metadata: d.meta})
}

// extensions adds one field per extension, each name prefixed with p.
func (d *describer) extensions(p string, exts []Extension, msgType uint8, hrr bool) {
	for _, e := range exts {
		name, text := describeExtension(e, msgType, hrr)
		f := Field{Name: p + name, Value: text, Annotation: "tls.ext." + extensionKeyName(e.ID)}
		switch e.ID {
		case ExtServerName, ExtALPN, ExtSupportedVersions:
			f.Metadata = d.meta
		}
		d.fields = append(d.fields, f)
	}
}

func (d *describer) clientHello(m *ClientHello) string {
	d.add("legacy_version", versionHex(m.LegacyVersion), "")
	d.add("random", hex.EncodeToString(m.Random), "")
	d.add("session id", sessionIDText(m.SessionID), "")
	d.add("cipher suites", fmt.Sprintf("%d: %s", len(m.CipherSuites), mapJoin(m.CipherSuites, cipherSuiteName)), "")
	d.add("compression methods", compressionText(m.CompressionMethods), "")
	d.extensions("", m.Extensions, TypeClientHello, false)

	var summary []string
	for _, e := range m.Extensions {
		switch e.ID {
		case ExtServerName:
			summary = append(summary, "SNI "+firstOr(e, extensionText(e, TypeClientHello, false)))
		case ExtALPN:
			v := strings.Join(e.Names, ", ")
			if e.Malformed {
				v = extensionText(e, TypeClientHello, false)
			}
			summary = append(summary, "ALPN "+v)
		case ExtSupportedVersions:
			summary = append(summary, "offers "+extensionText(e, TypeClientHello, false))
		case ExtEncryptedClientHello:
			summary = append(summary, "ECH")
		}
	}
	if len(summary) == 0 {
		summary = append(summary, "offers "+versionName(m.LegacyVersion))
	}
	if m.AfterHelloRetryRequest {
		summary = append(summary, "the second ClientHello, answering the HelloRetryRequest")
	}
	return strings.Join(summary, "; ")
}

// firstOr is the first name of a well-formed extension, else alt.
func firstOr(e Extension, alt string) string {
	if !e.Malformed && len(e.Names) > 0 {
		return e.Names[0]
	}
	return alt
}

func (d *describer) serverHello(m *ServerHello) string {
	hrr := m.IsHelloRetryRequest()
	d.add("legacy_version", versionHex(m.LegacyVersion), "")
	if hrr {
		d.add("random", "HelloRetryRequest marker, SHA-256(\"HelloRetryRequest\") (RFC 8446 §4.1.3)", annHRR)
	} else {
		d.add("random", hex.EncodeToString(m.Random), "")
	}
	switch m.Downgrade() {
	case VersionTLS12:
		d.add("downgrade sentinel", "DOWNGRD followed by the byte 0x01: the server supports TLS 1.3 but negotiates TLS 1.2 (RFC 8446 §4.1.3)", annDowngrade)
	case VersionTLS11:
		d.add("downgrade sentinel", "DOWNGRD followed by the byte 0x00: the server supports TLS 1.2 or later but negotiates TLS 1.1 or below (RFC 8446 §4.1.3)", annDowngrade)
	}
	d.add("session id", sessionIDText(m.SessionID), "")
	d.addMeta("cipher suite", cipherSuiteName(m.CipherSuite), "")
	d.add("compression method", compressionText([]byte{m.CompressionMethod}), "")
	d.extensions("", m.Extensions, TypeServerHello, hrr)
	return serverHelloText(m)
}

// serverHelloText is what a ServerHello says in one line: the version,
// cipher suite, key share group and ALPN the server chose, and whether it
// resumes; for a HelloRetryRequest, what it asks for.
func serverHelloText(m *ServerHello) string {
	group, hasGroup := m.KeyShareGroup()
	if m.IsHelloRetryRequest() {
		if !hasGroup {
			return "the server wants a new ClientHello (RFC 8446 §4.1.4)"
		}
		return "the server wants a key share for " + groupName(group) + " and a new ClientHello (RFC 8446 §4.1.4)"
	}
	v := m.SelectedVersion()
	parts := []string{versionName(v), cipherSuiteName(m.CipherSuite)}
	if hasGroup {
		parts = append(parts, "key share "+groupName(group))
	}
	if e := findExtension(m.Extensions, ExtALPN); e != nil {
		parts = append(parts, "ALPN "+joinNames(e.Names))
	}
	switch {
	case v == VersionTLS13:
		if m.PSKAccepted() {
			parts = append(parts, "resuming with a PSK")
		}
		parts = append(parts, "everything after this is encrypted (RFC 8446 §2)")
	case m.EchoedSessionID:
		parts = append(parts, "resuming the client's session (abbreviated handshake)")
	}
	return strings.Join(parts, ", ")
}

// Summary is the ServerHello's one line as the dissector shows it: the
// version, cipher suite, key share group and ALPN chosen, and whether the
// server resumes; for a HelloRetryRequest, what it asks for.
func (m *ServerHello) Summary() string { return serverHelloText(m) }

// describeExtension returns one extension's field name and value.
func describeExtension(e Extension, msgType uint8, hrr bool) (string, string) {
	name := extensionDisplayName(e.ID)
	switch e.ID {
	case ExtServerName:
		name = "SNI"
	case ExtALPN:
		name = "ALPN"
	}
	return name, extensionText(e, msgType, hrr)
}

// extensionText is the display value of one extension in the message
// that carries it (msgType; hrr for a HelloRetryRequest).
func extensionText(e Extension, msgType uint8, hrr bool) string {
	switch text := extensionTexts[e.ID]; {
	case e.Malformed:
		return fmt.Sprintf("malformed (%s)", words.Plural(e.Length, "byte"))
	case text != nil:
		return text(e, extAt{msgType, hrr})
	case isGREASE(e.ID):
		return words.Plural(e.Length, "byte") + ": a reserved value to keep servers tolerant (RFC 8701)"
	}
	return words.Plural(e.Length, "byte")
}

// extensionTexts show a well-formed extension's value, keyed by extension
// number; one without an entry shows its length.
var extensionTexts = map[uint16]func(e Extension, at extAt) string{
	ExtServerName: func(e Extension, at extAt) string {
		if !at.client() {
			return "acknowledged: the server used the name (RFC 6066 §3)"
		}
		return joinNames(e.Names)
	},
	ExtALPN:                 func(e Extension, _ extAt) string { return joinNames(e.Names) },
	ExtSupportedGroups:      func(e Extension, _ extAt) string { return mapJoin(e.Codes, groupName) },
	ExtSignatureAlgorithms:  sigSchemesText,
	ExtSigAlgsCert:          sigSchemesText,
	ExtDelegatedCredential:  sigSchemesText,
	ExtECPointFormats:       func(e Extension, _ extAt) string { return mapJoin(e.Codes, pointFormatName) },
	ExtPSKModes:             func(e Extension, _ extAt) string { return mapJoin(e.Codes, pskModeName) },
	ExtCompressCertificate:  func(e Extension, _ extAt) string { return mapJoin(e.Codes, certCompressionName) },
	ExtKeyShare:             keyShareText,
	ExtSupportedVersions:    supportedVersionsText,
	ExtRenegotiationInfo:    renegotiationInfoText,
	ExtExtendedMasterSecret: presentText,
	ExtEncryptThenMAC:       presentText,
	ExtPostHandshakeAuth:    presentText,
	ExtNextProtoNeg:         presentText,
	ExtSessionTicket:        sessionTicketText,
	ExtStatusRequest:        statusRequestText,
	ExtSCT: func(e Extension, at extAt) string {
		if at.client() && e.Length == 0 {
			return "Certificate Transparency SCTs requested (RFC 6962 §3.3.1)"
		}
		return words.Plural(e.Length, "byte") + " of SCTs"
	},
	ExtPreSharedKey: pskText,
	ExtEarlyData:    earlyDataText,
	ExtCookie: func(e Extension, _ extAt) string {
		return words.Plural(int(e.Value), "byte") + " (RFC 8446 §4.2.2)"
	},
	ExtEncryptedClientHello: echText,
	ExtRecordSizeLimit: func(e Extension, _ extAt) string {
		return fmt.Sprintf("%d bytes (RFC 8449)", e.Value)
	},
	ExtMaxFragmentLength: func(e Extension, _ extAt) string {
		return fmt.Sprintf("%d bytes (RFC 6066 §4)", 1<<(8+min(e.Value, 24)))
	},
	ExtPadding: func(e Extension, _ extAt) string {
		return words.Plural(e.Length, "byte") + " of padding (RFC 7685)"
	},
	ExtHeartbeat: heartbeatText,
}

func presentText(Extension, extAt) string { return "present" }

func sigSchemesText(e Extension, _ extAt) string { return mapJoin(e.Codes, sigSchemeName) }

// keyShareText shows key_share (RFC 8446 §4.2.8): the client's entries,
// the server's one, or the group a HelloRetryRequest asks for.
func keyShareText(e Extension, at extAt) string {
	if at.hrr {
		return "selected group " + mapJoin(e.Codes, groupName)
	}
	entries := make([]string, len(e.KeyShares))
	for i, k := range e.KeyShares {
		entries[i] = fmt.Sprintf("%s (%s)", groupName(k.Group), words.Plural(k.KeyLength, "byte"))
	}
	return joinNames(entries)
}

func supportedVersionsText(e Extension, at extAt) string {
	if at.client() {
		return mapJoin(e.Codes, versionName)
	}
	return mapJoin(e.Codes, versionName) + " (selected)"
}

// renegotiationInfoText shows RFC 5746 §3.2: empty on the initial handshake.
func renegotiationInfoText(e Extension, _ extAt) string {
	if e.Value == 0 {
		return "empty: initial handshake, secure renegotiation supported (RFC 5746)"
	}
	return fmt.Sprintf("%s of verify data: a renegotiation (RFC 5746 §3.5)", words.Plural(int(e.Value), "byte"))
}

// sessionTicketText shows RFC 5077 §3.2: empty asks for a ticket;
// non-empty presents one.
func sessionTicketText(e Extension, at extAt) string {
	switch {
	case !at.client() && e.Length == 0:
		return "empty: the server will send a NewSessionTicket"
	case e.Length == 0:
		return "empty: the client asks for a ticket"
	}
	return fmt.Sprintf("%s ticket: the client tries to resume", words.Plural(e.Length, "byte"))
}

func statusRequestText(e Extension, at extAt) string {
	switch {
	case !at.client() && e.Length == 0:
		return "the server will staple an OCSP response"
	case !at.client():
		return words.Plural(e.Length, "byte")
	case e.Value == 1:
		return "OCSP stapling requested (RFC 6066 §8)"
	}
	return fmt.Sprintf("status type %d", e.Value)
}

func pskText(e Extension, at extAt) string {
	if !at.client() {
		return fmt.Sprintf("identity %d selected: resumption accepted (RFC 8446 §4.2.11)", e.Value)
	}
	sizes := make([]string, len(e.IdentityLengths))
	for i, n := range e.IdentityLengths {
		sizes[i] = words.Plural(n, "byte")
	}
	return fmt.Sprintf("%d identities (%s) and binders: the client tries to resume", len(sizes), joinNames(sizes))
}

func earlyDataText(e Extension, at extAt) string {
	switch {
	case at.msg == TypeNewSessionTicket:
		return fmt.Sprintf("up to %d bytes of 0-RTT data allowed", e.Value)
	case at.client():
		return "0-RTT data follows, encrypted but replayable (RFC 8446 §8)"
	}
	return "present"
}

func echText(e Extension, at extAt) string {
	switch {
	case !at.client() || e.ECH == nil:
		return words.Plural(e.Length, "byte") + " of retry configurations or confirmation"
	case e.ECH.Type == 1:
		return "inner marker"
	}
	return fmt.Sprintf("outer: config id %d, %s encrypted inner ClientHello (the real SNI is hidden)", e.ECH.ConfigID, words.Plural(e.ECH.PayloadLength, "byte"))
}

func heartbeatText(e Extension, _ extAt) string {
	switch e.Value {
	case 1:
		return "peer_allowed_to_send (RFC 6520)"
	case 2:
		return "peer_not_allowed_to_send (RFC 6520)"
	}
	return fmt.Sprintf("mode %d", e.Value)
}

// certificate adds one field per certificate fact and, in TLS 1.3, the
// request context and each certificate's extensions.
func (d *describer) certificate(m *Certificate, encrypted bool) string {
	tls13 := m.Version == VersionTLS13
	if tls13 {
		if len(m.RequestContext) == 0 {
			d.add("request context", "empty", "")
		} else {
			d.add("request context", words.Plural(len(m.RequestContext), "byte")+" (answers a post-handshake CertificateRequest)", "")
		}
	}
	var leaf string
	for i, e := range m.Entries {
		p := fmt.Sprintf("certificate[%d] ", i)
		subject := d.certFields(p, e.DER)
		if i == 0 {
			leaf = subject
		}
		if tls13 {
			d.extensions(p, e.Extensions, TypeCertificate, false)
		}
	}
	switch {
	case len(m.Entries) == 0:
		return "empty: no certificate"
	case encrypted:
		return fmt.Sprintf("%s, leaf %s: encrypted on the wire in TLS 1.3 (RFC 8446 §4.4.2), an observer does not see it",
			words.Plural(len(m.Entries), "certificate"), leaf)
	}
	return fmt.Sprintf("%s, leaf %s: readable by anyone on the path (TLS 1.3 would encrypt it, RFC 8446 §4.4.2)",
		words.Plural(len(m.Entries), "certificate"), leaf)
}

// certFields adds one certificate's fields (subject, issuer, SAN,
// validity, key; RFC 5280 §4.1) under the name prefix p, from the facts
// package certs finds in it, and returns its subject, or "(unparseable)"
// after noting why the DER did not parse. TLS 1.2 Certificate (RFC 5246
// §7.4.2) and TLS 1.3 Certificate entries (RFC 8446 §4.4.2) carry the
// same X.509 DER.
func (d *describer) certFields(p string, der []byte) string {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		d.add(p+"der", fmt.Sprintf("%s, unparseable: %v", words.Plural(len(der), "byte"), err), annCertUnparseable)
		return "(unparseable)"
	}
	f := certs.Facts(c)
	d.addMeta(p+"subject", f.Subject, annCertSubject)
	d.addMeta(p+"issuer", f.Issuer, annCertIssuer)
	if san := f.NamesText(); san != "" {
		d.addMeta(p+"SAN", san, annCertSAN)
	}
	d.add(p+"validity", f.NotBefore.Format(time.RFC3339)+" to "+f.NotAfter.Format(time.RFC3339), annCertValidity)
	d.add(p+"key", f.KeyText(), annCertKey)
	return f.Subject
}

func (d *describer) serverKeyExchange(m *ServerKeyExchange) string {
	var summary string
	if m.KeyExchange == KeyExchangeECDHE {
		d.add("curve", groupName(m.Curve), "")
		d.add("public key", words.Plural(m.PublicKeyLength, "byte"), "")
		summary = "ECDHE with " + groupName(m.Curve)
	} else {
		grp := fmt.Sprintf("DH %d-bit", m.DHPrimeBits)
		d.add("group", grp, "")
		d.add("public key", words.Plural(m.PublicKeyLength, "byte"), "")
		summary = "DHE with a " + grp + " group"
	}
	if d.failed {
		return summary // the signature did not parse
	}
	if m.Anonymous {
		d.add("signature", "none: an anonymous suite sends its parameters unsigned (RFC 5246 §7.4.3)", "")
		return summary + ", unsigned: nothing authenticates the server"
	}
	if m.Version >= VersionTLS12 {
		d.add("signature algorithm", sigSchemeName(m.SignatureAlgorithm), "")
		summary += ", signed with " + sigSchemeName(m.SignatureAlgorithm)
	}
	d.add("signature", words.Plural(m.SignatureLength, "byte"), "")
	return summary
}

func (d *describer) certificateRequest(m *CertificateRequest) string {
	if m.Version == VersionTLS13 {
		d.add("request context", words.Plural(len(m.RequestContext), "byte"), "")
		d.extensions("", m.Extensions, TypeCertificateRequest, false)
		return "the server asks for a client certificate (RFC 8446 §4.3.2)"
	}
	tn := make([]string, len(m.CertificateTypes))
	for i, t := range m.CertificateTypes {
		tn[i] = certTypeName(t)
	}
	d.add("certificate types", joinNames(tn), "")
	if m.Version >= VersionTLS12 && (!d.failed || m.SignatureAlgorithms != nil) {
		d.add("signature algorithms", mapJoin(m.SignatureAlgorithms, sigSchemeName), "")
	}
	if d.failed {
		return "" // the list of authorities did not parse
	}
	names := make([]string, len(m.CertificateAuthorities))
	for i, dn := range m.CertificateAuthorities {
		var rdn pkix.RDNSequence
		if rest, err := asn1.Unmarshal(dn, &rdn); err != nil || len(rest) > 0 {
			names[i] = fmt.Sprintf("(unparseable, %s)", words.Plural(len(dn), "byte"))
			continue
		}
		var n pkix.Name
		n.FillFromRDNSequence(&rdn)
		names[i] = n.String()
	}
	d.add("certificate authorities", joinNames(names), "")
	return "the server asks for a client certificate"
}

func (d *describer) clientKeyExchange(m *ClientKeyExchange) string {
	switch m.KeyExchange {
	case KeyExchangeECDHE:
		d.add("public key", words.Plural(m.KeyLength, "byte")+" (ECDHE)", "")
		return "the client's ECDHE public key"
	case KeyExchangeRSA:
		d.add("encrypted premaster secret", words.Plural(m.KeyLength, "byte"), annRSAKeyTransport)
		return "RSA key transport: whoever gets the server's private key later can decrypt this session (no forward secrecy)"
	}
	d.add("public key", words.Plural(m.KeyLength, "byte")+" (DHE)", "")
	return "the client's DHE public value"
}

func (d *describer) newSessionTicket(m *NewSessionTicket) string {
	if m.Version == VersionTLS13 {
		d.add("lifetime", fmt.Sprintf("%d s", m.Lifetime), "")
		d.add("ticket", words.Plural(m.TicketLength, "byte"), "")
		d.extensions("", m.Extensions, TypeNewSessionTicket, false)
		return ""
	}
	d.add("lifetime hint", fmt.Sprintf("%d s", m.Lifetime), "")
	d.add("ticket", words.Plural(m.TicketLength, "byte"), "")
	return fmt.Sprintf("%s ticket sent in the clear: an observer can link the client's next connection to this one", words.Plural(m.TicketLength, "byte"))
}

func (d *describer) certificateStatus(m *CertificateStatus) string {
	st := fmt.Sprintf("type %d", m.StatusType)
	if m.StatusType == 1 {
		st = "ocsp"
	}
	d.add("status type", st, "")
	d.add("response", words.Plural(len(m.Response), "byte"), "")
	return "a stapled " + st + " response, " + words.Plural(len(m.Response), "byte")
}

func (d *describer) encryptedExtensions(m *EncryptedExtensions) string {
	d.extensions("", m.Extensions, TypeEncryptedExtensions, false)
	var summary []string
	for _, e := range m.Extensions {
		if e.ID == ExtALPN {
			summary = append(summary, "ALPN "+extensionText(e, TypeEncryptedExtensions, false))
		}
	}
	if len(m.Extensions) == 0 {
		summary = append(summary, "no extensions")
	} else {
		summary = append(summary, words.Plural(len(m.Extensions), "extension"))
	}
	return joinNames(summary) + ": hidden from an observer, unlike TLS 1.2's ServerHello extensions (RFC 8446 §4.3.1)"
}

func (d *describer) certificateVerify(m *CertificateVerify) string {
	d.add("signature scheme", sigSchemeName(m.Algorithm), "")
	d.add("signature", words.Plural(m.SignatureLength, "byte"), "")
	return fmt.Sprintf("signed with %s over the handshake so far: proof that the sender holds the certificate's private key (RFC 8446 §4.4.3)", sigSchemeName(m.Algorithm))
}

func (d *describer) finished(m *Finished, fromClient bool) string {
	sender := "server"
	if fromClient {
		sender = "client"
	}
	d.add("verify_data", words.Plural(len(m.VerifyData), "byte"), "")
	return fmt.Sprintf("%s of verify_data, an HMAC over the whole handshake (RFC 8446 §4.4.4); after it the %s uses its application traffic key, which mailwire does not take from the key log: the protocol inside is shown from the endpoint's own view",
		words.Plural(len(m.VerifyData), "byte"), sender)
}

// String names an alert's level and description as the dissector shows
// them: "fatal handshake_failure".
func (a Alert) String() string { return describeAlert(a) }

// describeAlert names an alert's level and description: "fatal
// handshake_failure", "warning unknown(199)" (RFC 8446 §6).
func describeAlert(a Alert) string {
	level := fmt.Sprintf("level(%d)", a.Level)
	switch a.Level {
	case 1:
		level = "warning"
	case 2:
		level = "fatal"
	}
	desc := alertName(a.Description)
	if desc == "unknown" {
		desc = fmt.Sprintf("unknown(%d)", a.Description)
	}
	return level + " " + desc
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
	return words.Plural(len(sid), "byte")
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
