package render

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"sync"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Fixtures for the printer tests, built in code so that they are stable
// (fixed times, no random bytes from a real handshake) and hold no real
// certificate. They follow the shape of real lab sessions (see
// sessions/runner_lab_test.go): the same kinds, layers, annotations and texts.

const fixturePassword = "correct-horse"

// fixtureAnnotations is a fixed dictionary, so that goldens do not change
// when the prose in package content does.
func fixtureAnnotations(key string) (content.Annotation, bool) {
	a, ok := map[string]content.Annotation{
		"smtp.reply.220": {Title: "220 Service ready", Text: "The server is ready. As the answer to STARTTLS it means: start the TLS handshake now.",
			Refs: []content.Ref{{RFC: 5321, Section: "4.2.3"}, {RFC: 3207, Section: "4"}}},
		"smtp.cmd.ehlo": {Title: "EHLO: the client introduces itself", Text: "The server answers with the extensions it supports; before TLS an attacker can read and change this list.",
			Refs: []content.Ref{{RFC: 5321, Section: "4.1.1.1"}}},
		"smtp.reply.250":        {Title: "250 OK", Text: "The command succeeded.", Refs: []content.Ref{{RFC: 5321, Section: "4.2.3"}}},
		"smtp.cmd.starttls":     {Title: "STARTTLS: turn this connection into TLS", Text: "Everything before this was cleartext.", Refs: []content.Ref{{RFC: 3207, Section: "4"}}},
		"tls.boundary.starttls": {Title: "STARTTLS: the same connection turns into TLS", Text: "From the next byte on, the connection carries TLS records.", Refs: []content.Ref{{RFC: 3207, Section: "4"}}},
		"tls.record.handshake":  {Title: "TLS record: handshake", Text: "A record carrying handshake messages, cleartext before the keys are in place.", Refs: []content.Ref{{RFC: 8446, Section: "5.1"}}},
		"tls.handshake.client_hello": {Title: "ClientHello", Text: "The client's opening message. It always travels in cleartext.",
			Refs: []content.Ref{{RFC: 8446, Section: "4.1.2"}}},
		"tls.handshake.certificate": {Title: "Certificate", Text: "In TLS 1.2 the chain crosses the wire in cleartext.", Refs: []content.Ref{{RFC: 5246, Section: "7.4.2"}}},
		"tls.encrypted.application_data": {Title: "Encrypted application data", Text: "An observer sees only the length.",
			Refs: []content.Ref{{RFC: 8446, Section: "5.2"}}},
		"tls.state": {Title: "What the client knows after the handshake", Text: "Version, cipher suite and the verified chain.", Refs: []content.Ref{{RFC: 8446, Section: "4"}}},
		"smtp.cmd.auth": {Title: "AUTH: authenticate", Text: "With PLAIN and LOGIN the password is only base64-encoded.",
			Risk: "Before TLS anyone on the path can decode the password.", Refs: []content.Ref{{RFC: 4954, Section: "4"}, {RFC: 4616, Section: "2"}}},
		"smtp.reply.334":   {Title: "334 AUTH continue", Text: "The server asks for the next base64 line.", Refs: []content.Ref{{RFC: 4954, Section: "4"}}},
		"smtp.reply.235":   {Title: "235 Authentication successful", Text: "The session is authenticated.", Refs: []content.Ref{{RFC: 4954, Section: "6"}}},
		"smtp.reply.421":   {Title: "421 Service not available", Text: "The server is closing the connection.", Refs: []content.Ref{{RFC: 5321, Section: "4.2.3"}}},
		"smtp.cmd.quit":    {Title: "QUIT", Text: "End the session.", Refs: []content.Ref{{RFC: 5321, Section: "4.1.1.10"}}},
		"net.closed_early": {Title: "The server closed the connection", Text: "The server hung up before the session ended.", Refs: []content.Ref{{RFC: 5321, Section: "3.8"}}},
		"smtp.note.response_injection_discarded": {Title: "Bytes injected before TLS were discarded", Text: "Anything sent after the go-ahead but before TLS is unauthenticated.",
			Refs: []content.Ref{{RFC: 3207, Section: "4.2"}}},
		"wire.cleartext":   {Title: "Cleartext", Text: "Anyone on the path reads these bytes.", Refs: []content.Ref{{RFC: 8314, Section: "1"}}},
		"wire.metadata":    {Title: "Handshake metadata", Text: "An observer sees the server name and, before TLS 1.3, the certificate.", Refs: []content.Ref{{RFC: 8446, Section: "4.1.2"}}},
		"wire.encrypted":   {Title: "Encrypted", Text: "Only type and length are visible.", Refs: []content.Ref{{RFC: 8446, Section: "5.2"}}},
		"wire.credentials": {Title: "Credentials readable on the wire", Text: "Base64 is not encryption.", Risk: "Anyone on the path can read this password.", Refs: []content.Ref{{RFC: 8314, Section: "5.2"}}},
	}[key]
	a.Key = key
	return a, ok
}

// fixtureLeafDER is a certificate for the fixture's Certificate message:
// Ed25519 keys from fixed seeds sign deterministically (RFC 8032 §5.1.6),
// so the DER, and the JSON golden that carries it, never changes.
var fixtureLeafDER = sync.OnceValue(func() []byte {
	caKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	leafKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, ed25519.SeedSize))
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailwire lab CA", Organization: []string{"mailwire lab"}},
		NotBefore: when, NotAfter: when.AddDate(10, 0, 0), IsCA: true, BasicConstraintsValid: true}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "mail.lab.test", Organization: []string{"mailwire lab"}},
		NotBefore: when, NotAfter: when.AddDate(1, 0, 0), DNSNames: []string{"mail.lab.test"}}
	der, err := x509.CreateCertificate(nil, leaf, ca, leafKey.Public(), caKey)
	if err != nil {
		panic(err)
	}
	return der
})

type fixtureBuilder struct {
	evs []wire.Event
	at  time.Duration
}

func (b *fixtureBuilder) add(ev wire.Event) *wire.Event {
	b.at += 1250 * time.Microsecond
	ev.Seq = len(b.evs) + 1
	ev.At = b.at
	b.evs = append(b.evs, ev)
	return &b.evs[len(b.evs)-1]
}

func (b *fixtureBuilder) line(dir wire.Direction, tlsOn bool, raw, ann string, l wire.Line) *wire.Event {
	layer, vis := wire.LayerCleartext, wire.VisibleAnyone
	if tlsOn {
		layer, vis = wire.LayerDecrypted, wire.VisibleEndpoints
	}
	if l.Proto == "" {
		l.Proto = protocol.SMTP
	}
	return b.add(wire.Event{Kind: wire.KindLine, Dir: dir, Layer: layer, Visible: vis, Raw: []byte(raw),
		Text: wire.LineText([]byte(raw)), Annotation: ann, Line: &l})
}

func (b *fixtureBuilder) encrypted(dir wire.Direction, n int) {
	raw := append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, make([]byte, n)...)
	for i := 5; i < len(raw); i++ {
		raw[i] = byte(i * 37) // stand-in ciphertext, fixed
	}
	b.add(wire.Event{Kind: wire.KindEncrypted, Dir: dir, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints, Raw: raw,
		Text: "encrypted application_data, " + words.Plural(n, "byte"), Annotation: "tls.encrypted.application_data",
		Record: &wire.Record{ContentType: "application_data", Version: "TLS 1.2", Length: n}})
}

func (b *fixtureBuilder) record(dir wire.Direction, n int) {
	b.add(wire.Event{Kind: wire.KindRecord, Dir: dir, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{22, 3, 1, byte(n >> 8), byte(n)}, Text: "TLS record: handshake, " + words.Plural(n, "byte"),
		Annotation: "tls.record.handshake", Record: &wire.Record{ContentType: "handshake", Version: "TLS 1.0", Length: n}})
}

// fixture587 is a submission session on 587: STARTTLS, TLS 1.2 (so the
// certificate is on the wire), AUTH PLAIN inside TLS, QUIT.
func fixture587() []wire.Event {
	var b fixtureBuilder
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Annotation: "tcp.connect",
		Text: "connected to 127.0.0.1:10587 (127.0.0.1:10587) in 210µs"})
	b.line(wire.ServerToClient, false, "220 mail.lab.test ESMTP Service Ready\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(wire.ClientToServer, false, "EHLO client.test\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	ehlo := b.line(wire.ServerToClient, false, "250-Hello client.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n", "smtp.reply.250",
		wire.Line{Code: "250", Capabilities: []string{"PIPELINING", "STARTTLS", "SIZE 10240000"}})
	ehlo.Also = []string{"smtp.ext.pipelining", "smtp.ext.starttls", "smtp.ext.size"}
	b.line(wire.ClientToServer, false, "STARTTLS\r\n", "smtp.cmd.starttls", wire.Line{Command: "STARTTLS"})
	b.line(wire.ServerToClient, false, "220 2.0.0 Ready to start TLS\r\n", "smtp.reply.220", wire.Line{Code: "220", Enhanced: "2.0.0"})
	b.add(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata, Annotation: "tls.boundary.starttls",
		Text: "STARTTLS accepted: from the next byte on, the connection is TLS (RFC 3207 §4)"})
	b.record(wire.ClientToServer, 180)
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: wire.ClientToServer, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{1, 0, 0, 4, 3, 3, 0, 0}, Text: "ClientHello: SNI mail.lab.test; offers TLS 1.2", Annotation: "tls.handshake.client_hello",
		Handshake: &tlsmsg.Handshake{Type: "client_hello", MsgType: tlsmsg.TypeClientHello, Fields: []tlsmsg.Field{
			{Name: "legacy_version", Value: "TLS 1.2 (0x0303)"},
			{Name: "cipher suites", Value: "2: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
			{Name: "SNI", Value: "mail.lab.test", Annotation: "tls.ext.server_name", Metadata: true},
			{Name: "supported_versions", Value: "TLS 1.2", Annotation: "tls.ext.supported_versions", Metadata: true},
		}, ClientHello: &tlsmsg.ClientHello{
			LegacyVersion: tlsmsg.VersionTLS12, CipherSuites: []uint16{0xc02b, 0xc02f}, CompressionMethods: tlsmsg.ByteCodes{0},
			Extensions: []tlsmsg.Extension{
				{ID: tlsmsg.ExtServerName, Length: 18, Names: []string{"mail.lab.test"}},
				{ID: tlsmsg.ExtSupportedVersions, Length: 3, Codes: []uint16{tlsmsg.VersionTLS12}},
			},
		}}})
	b.record(wire.ServerToClient, 512)
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: wire.ServerToClient, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{2, 0, 0, 2, 3, 3}, Text: "ServerHello: TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Annotation: "tls.handshake.server_hello",
		Handshake: &tlsmsg.Handshake{Type: "server_hello", MsgType: tlsmsg.TypeServerHello,
			Fields:      []tlsmsg.Field{{Name: "cipher suite", Value: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Metadata: true}},
			ServerHello: &tlsmsg.ServerHello{LegacyVersion: tlsmsg.VersionTLS12, CipherSuite: 0xc02b}}})
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: wire.ServerToClient, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{11, 0, 0, 0}, Annotation: "tls.handshake.certificate",
		Text: "Certificate: 1 certificate, leaf CN=mail.lab.test,O=mailwire lab: readable by anyone on the path (TLS 1.3 would encrypt it, RFC 8446 §4.4.2)",
		Handshake: &tlsmsg.Handshake{Type: "certificate", MsgType: tlsmsg.TypeCertificate, Fields: []tlsmsg.Field{
			{Name: "certificate[0] subject", Value: "CN=mail.lab.test,O=mailwire lab", Annotation: "tls.cert.subject", Metadata: true},
			{Name: "certificate[0] issuer", Value: "CN=mailwire lab CA,O=mailwire lab", Annotation: "tls.cert.issuer", Metadata: true},
			{Name: "certificate[0] key", Value: "ECDSA P-256", Annotation: "tls.cert.key"},
		}, Certificate: &tlsmsg.Certificate{Version: tlsmsg.VersionTLS12, Entries: []tlsmsg.CertificateEntry{{DER: fixtureLeafDER()}}}}})
	b.encrypted(wire.ServerToClient, 40)
	b.add(wire.Event{Kind: wire.KindTLSState, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleEndpoints, Annotation: "tls.state",
		Text: "TLS 1.2, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, certificate verified (lab CA)",
		TLS: &wire.TLSState{Version: "TLS 1.2", CipherSuite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", ServerName: "mail.lab.test",
			PeerChain: fixtureChain().Subjects(), Verified: true, VerifyMethod: "lab CA", Chain: fixtureChain()}})
	b.line(wire.ClientToServer, true, "EHLO client.test\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	b.encrypted(wire.ClientToServer, 42)
	b.encrypted(wire.ServerToClient, 96)
	b.line(wire.ServerToClient, true, "250-Hello client.test\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10240000\r\n", "smtp.reply.250",
		wire.Line{Code: "250", Capabilities: []string{"AUTH PLAIN LOGIN", "SIZE 10240000"}})
	plain := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))
	auth := b.line(wire.ClientToServer, true, "AUTH PLAIN "+plain+"\r\n", "smtp.cmd.auth", wire.Line{Command: "AUTH"})
	auth.Credential = &wire.Credential{Mechanism: "AUTH PLAIN", Username: "learner", Password: fixturePassword}
	b.encrypted(wire.ClientToServer, 69)
	b.encrypted(wire.ServerToClient, 60)
	b.line(wire.ServerToClient, true, "235 2.0.0 Authentication succeeded\r\n", "smtp.reply.235", wire.Line{Code: "235", Enhanced: "2.0.0"})
	b.line(wire.ClientToServer, true, "QUIT\r\n", "smtp.cmd.quit", wire.Line{Command: "QUIT"})
	b.encrypted(wire.ClientToServer, 30)
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Annotation: "tcp.close",
		Text: "client closed the connection; 1062 bytes sent, 1675 received"})
	return b.evs
}

// fixtureCleartextAuth is a session that never starts TLS and logs in with
// AUTH LOGIN in the clear (a server that allows it, the client told to),
// then the server injects bytes and drops the connection.
func fixtureCleartextAuth() []wire.Event {
	var b fixtureBuilder
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Annotation: "tcp.connect",
		Text: "connected to 127.0.0.1:10025 (127.0.0.1:10025) in 180µs"})
	b.line(wire.ServerToClient, false, "220 mail.lab.test ESMTP\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(wire.ClientToServer, false, "AUTH LOGIN\r\n", "smtp.cmd.auth", wire.Line{Command: "AUTH"})
	b.line(wire.ServerToClient, false, "334 VXNlcm5hbWU6\r\n", "smtp.reply.334", wire.Line{Code: "334"})
	u := b.line(wire.ClientToServer, false, "bGVhcm5lcg==\r\n", "smtp.cmd.auth", wire.Line{})
	u.Credential = &wire.Credential{Mechanism: "AUTH LOGIN", Username: "learner", OnWire: true}
	b.line(wire.ServerToClient, false, "334 UGFzc3dvcmQ6\r\n", "smtp.reply.334", wire.Line{Code: "334"})
	p := b.line(wire.ClientToServer, false, base64.StdEncoding.EncodeToString([]byte(fixturePassword))+"\r\n", "smtp.cmd.auth", wire.Line{})
	p.Credential = &wire.Credential{Mechanism: "AUTH LOGIN", Username: "learner", Password: fixturePassword, OnWire: true}
	b.line(wire.ServerToClient, false, "421 4.3.2 going away\r\n", "smtp.reply.421", wire.Line{Code: "421", Enhanced: "4.3.2"})
	b.add(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone, Annotation: "net.closed_early",
		Text: "session: read reply: EOF", Err: &wire.ErrorInfo{Op: "session", Message: "read reply: EOF", Explain: "net.closed_early"}})
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Annotation: "tcp.close",
		Text: "server closed the connection; 80 bytes sent, 120 received"})
	return b.evs
}

// fixtureChain is the lab's chain as certs.Analyze describes it: a leaf
// and the intermediate that issued it, verified up to the lab root.
func fixtureChain() *certs.Chain {
	checked := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &certs.Chain{Name: "mail.lab.test", CheckedAt: checked, Anchor: "CN=mailwire lab CA,O=mailwire lab",
		Certs: []certs.Cert{{
			Subject: "CN=mail.lab.test,O=mailwire lab", Issuer: "CN=mailwire lab intermediate CA,O=mailwire lab",
			Serial: "5eed", DNSNames: []string{"mail.lab.test", "localhost"}, IPAddresses: []string{"127.0.0.1", "::1"},
			NotBefore: checked.Add(-time.Hour), NotAfter: checked.Add(30 * 24 * time.Hour),
			KeyType: "ECDSA", KeyBits: 256, Curve: "P-256", SignatureAlgorithm: "ECDSA-SHA256",
			SHA256:     "6a1b7f3c0e2d4c5b8a9f00112233445566778899aabbccddeeff001122334455",
			SPKISHA256: "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0",
			IssuerURLs: []string{"http://ca.lab.test/intermediate.der"},
		}, {
			Subject: "CN=mailwire lab intermediate CA,O=mailwire lab", Issuer: "CN=mailwire lab CA,O=mailwire lab",
			Serial: "1a7e", NotBefore: checked.Add(-time.Hour), NotAfter: checked.Add(60 * 24 * time.Hour),
			KeyType: "ECDSA", KeyBits: 256, Curve: "P-256", SignatureAlgorithm: "ECDSA-SHA256", CA: true,
			SHA256:     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			SPKISHA256: "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100",
		}}}
}
