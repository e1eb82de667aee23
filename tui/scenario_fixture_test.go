package tui

import (
	"encoding/base64"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Scenario streams built by hand, as package scenario merges them: every
// event of a connection tagged with its leg, Seq numbered across the
// stream, a verdict at the end that cites its evidence by Seq.

var (
	c2s = wire.ClientToServer
	s2c = wire.ServerToClient
)

func (b *builder) legNote(text string) {
	b.add(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
		Annotation: "scenario.leg", Text: text})
}

func (b *builder) connect(addr string) {
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.connect", Text: "connected to " + addr})
}

func (b *builder) close(text string) {
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.close", Text: text})
}

func (b *builder) note(leg, ann, text string) {
	b.add(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
		Leg: leg, Annotation: ann, Text: text})
}

func (b *builder) verdict(name, outcome string, safe bool, text string, evidence ...int) {
	b.add(wire.Event{Kind: wire.KindVerdict, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
		Annotation: "verdict." + outcome, Text: text,
		Verdict: &wire.Verdict{Scenario: name, Outcome: outcome, Safe: safe, Evidence: evidence,
			// As package scenario emits them (Run.Result).
			Informational: name == "compare" || name == "hops"}})
}

// tlsHandshake adds a TLS 1.3 handshake as the wire shows it: boundary,
// ClientHello with SNI (and ALPN), ServerHello, the encrypted rest, and
// the client's TLS state.
func (b *builder) tlsHandshake(implicit bool, alpn string, verified bool, method string) {
	ann, text := "tls.boundary.starttls", "STARTTLS accepted: from the next byte on, the connection is TLS (RFC 3207 §4)"
	if implicit {
		ann, text = "tls.boundary.implicit", "implicit TLS: the connection is TLS from its first byte (RFC 8314 §3)"
	}
	b.add(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Annotation: ann, Text: text})
	b.record(c2s, "handshake", 22, 250)
	fields := []tlsmsg.Field{{Name: "SNI", Value: "mail.lab.test", Annotation: "tls.ext.server_name", Metadata: true}}
	if alpn != "" {
		fields = append(fields, tlsmsg.Field{Name: "ALPN", Value: alpn, Annotation: "tls.ext.application_layer_protocol_negotiation", Metadata: true})
	}
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: c2s, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{1, 0, 0, 4, 3, 3, 0, 0}, Text: "ClientHello: SNI mail.lab.test",
		Annotation: "tls.handshake.client_hello", Handshake: &tlsmsg.Handshake{Type: "client_hello", MsgType: 1, Fields: fields,
			ClientHello: fixtureClientHello(alpn)}})
	b.record(s2c, "handshake", 22, 122)
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: s2c, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{2, 0, 0, 2, 3, 3}, Text: "ServerHello: TLS 1.3, TLS_AES_128_GCM_SHA256",
		Annotation: "tls.handshake.server_hello", Handshake: &tlsmsg.Handshake{Type: "server_hello", MsgType: 2,
			ServerHello: fixtureServerHello()}})
	b.encrypted(s2c, 566)
	b.encrypted(c2s, 53)
	state := "TLS 1.3, TLS_AES_128_GCM_SHA256, certificate verified (" + method + ")"
	if !verified {
		state = "TLS 1.3, TLS_AES_128_GCM_SHA256, certificate NOT verified (" + method + ")"
	}
	b.add(wire.Event{Kind: wire.KindTLSState, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleEndpoints,
		Annotation: "tls.state", Text: state,
		TLS: &wire.TLSState{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "mail.lab.test",
			Verified: verified, VerifyMethod: method}})
}

// fixtureMITM is strip-opportunistic as the lab plays it: an attacker
// between client and server removes STARTTLS from the EHLO reply, the
// opportunistic client goes on in cleartext and logs in; the password
// crosses both legs readable. The verdict cites the two AUTH lines.
func fixtureMITM() []wire.Event {
	var b builder
	ca, as := wire.LegClientAttacker, wire.LegAttackerServer
	b.legNote("the client connects to what it believes is the server: the attacker, who opens its own connection onward")
	b.leg = ca
	b.connect("127.0.0.1:20587 (the attacker)")
	b.leg = as
	b.connect("127.0.0.1:10587 (the server)")
	b.line(s2c, false, "220 mail.lab.test ESMTP Service Ready\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.leg = ca
	b.line(s2c, false, "220 mail.lab.test ESMTP Service Ready\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "EHLO client.mailwire.invalid\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	b.leg = as
	b.line(c2s, false, "EHLO client.mailwire.invalid\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	b.line(s2c, false, "250-mail.lab.test\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", "smtp.reply.250",
		wire.Line{Code: "250", Capabilities: []string{"STARTTLS", "AUTH PLAIN"}})
	b.note(as, "attack.strip", "the attacker removed STARTTLS from the EHLO reply before relaying it")
	b.leg = ca
	b.line(s2c, false, "250-mail.lab.test\r\n250 AUTH PLAIN\r\n", "smtp.reply.250",
		wire.Line{Code: "250", Capabilities: []string{"AUTH PLAIN"}})
	b.note(ca, "scenario.opportunistic-cleartext", "no STARTTLS offered: the opportunistic client goes on in cleartext")
	plain := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))
	auth1 := b.line(c2s, false, "AUTH PLAIN "+plain+"\r\n", "smtp.cmd.auth", wire.Line{Command: "AUTH"})
	auth1.Credential = &wire.Credential{Mechanism: "AUTH PLAIN", Username: "learner", Password: fixturePassword, OnWire: true}
	b.leg = as
	auth2 := b.line(c2s, false, "AUTH PLAIN "+plain+"\r\n", "smtp.cmd.auth", wire.Line{Command: "AUTH"})
	auth2.Credential = &wire.Credential{Mechanism: "AUTH PLAIN", Username: "learner", Password: fixturePassword, OnWire: true}
	b.line(s2c, false, "235 2.7.0 Authentication successful\r\n", "smtp.reply.235", wire.Line{Code: "235", Enhanced: "2.7.0"})
	b.leg = ca
	b.line(s2c, false, "235 2.7.0 Authentication successful\r\n", "smtp.reply.235", wire.Line{Code: "235", Enhanced: "2.7.0"})
	b.line(c2s, false, "QUIT\r\n", "smtp.cmd.quit", wire.Line{Command: "QUIT"})
	b.close("client closed the connection")
	b.leg = as
	b.close("attacker closed the connection")
	b.leg = ""
	b.verdict("strip-opportunistic", "credentials-leaked", false,
		"the password crossed both legs in cleartext: STARTTLS was stripped and the client went on without it", auth1.Seq, auth2.Seq)
	return b.evs
}

// fixtureCompare is compare: the same login on 587 (STARTTLS), 465
// (implicit TLS) and an HTTPS request on 443.
func fixtureCompare() []wire.Event {
	var b builder
	b.leg = "587"
	b.legNote("submission on 587: cleartext, then STARTTLS")
	b.connect("127.0.0.1:10587")
	b.line(s2c, false, "220 mail.lab.test ESMTP Service Ready\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "EHLO client.mailwire.invalid\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	b.line(s2c, false, "250-mail.lab.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n", "smtp.reply.250",
		wire.Line{Code: "250", Capabilities: []string{"PIPELINING", "STARTTLS", "SIZE 10240000"}})
	b.line(c2s, false, "STARTTLS\r\n", "smtp.cmd.starttls", wire.Line{Command: "STARTTLS"})
	b.line(s2c, false, "220 2.0.0 Ready to start TLS\r\n", "smtp.reply.220", wire.Line{Code: "220", Enhanced: "2.0.0"})
	b.tlsHandshake(false, "", true, "lab CA")
	b.line(c2s, true, "QUIT\r\n", "smtp.cmd.quit", wire.Line{Command: "QUIT"})
	b.close("client closed the connection")

	b.leg = "465"
	b.legNote("submission on 465: implicit TLS")
	b.connect("127.0.0.1:10465")
	b.tlsHandshake(true, "", true, "lab CA")
	b.line(s2c, true, "220 mail.lab.test ESMTP Service Ready\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, true, "QUIT\r\n", "smtp.cmd.quit", wire.Line{Command: "QUIT"})
	b.close("client closed the connection")

	b.leg = "443"
	b.legNote("a web request on 443: TLS from the first byte")
	b.connect("127.0.0.1:10443")
	b.tlsHandshake(true, "h2, http/1.1", true, "lab CA")
	get := b.line(c2s, true, "GET / HTTP/1.1\r\n", "http.request", wire.Line{Command: "GET"})
	get.Line.Proto = protocol.HTTP
	b.close("client closed the connection")

	b.leg = ""
	t := scenario.Compare(b.evs)
	b.verdict("compare", "compare", t.Safe(), t.Summary(), t.Evidence()...)
	return b.evs
}

// fixtureHops is hops: submission on 587 with TLS, relay on 25 in
// cleartext, local delivery, retrieval on 993 with implicit TLS.
func fixtureHops() []wire.Event {
	var b builder
	b.leg = scenario.LegHopSubmission
	b.legNote("the author's client submits the message to its provider")
	b.connect("127.0.0.1:10587")
	b.line(s2c, false, "220 mail.lab.test ESMTP\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "STARTTLS\r\n", "smtp.cmd.starttls", wire.Line{Command: "STARTTLS"})
	b.line(s2c, false, "220 2.0.0 Ready to start TLS\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.tlsHandshake(false, "", true, "lab CA")
	b.close("client closed the connection")

	b.leg = scenario.LegHopRelay
	b.legNote("the provider's MTA relays it to the recipient's MX, which offers no STARTTLS")
	b.connect("127.0.0.1:20025")
	b.line(s2c, false, "220 mx.lab.test ESMTP\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "EHLO mail.lab.test\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	b.line(s2c, false, "250 mx.lab.test\r\n", "smtp.reply.250", wire.Line{Code: "250"})
	b.note(scenario.LegHopRelay, "scenario.opportunistic-cleartext", "no STARTTLS offered: the relay goes on in cleartext")
	b.line(c2s, false, "MAIL FROM:<learner@mail.lab.test>\r\n", "smtp.cmd.mail", wire.Line{Command: "MAIL"})
	b.line(s2c, false, "250 2.0.0 OK\r\n", "smtp.reply.250", wire.Line{Code: "250"})
	b.close("client closed the connection")

	b.leg = scenario.LegHopDelivery
	b.note(scenario.LegHopDelivery, "scenario.leg", "the MX delivers the message into the recipient's mailbox")

	b.leg = scenario.LegHopRetrieval
	b.legNote("the recipient's client reads it over IMAP with implicit TLS")
	b.connect("127.0.0.1:20993")
	b.tlsHandshake(true, "imap", true, "lab CA")
	ok := b.line(s2c, true, "* OK [CAPABILITY IMAP4rev2] ready\r\n", "imap.greeting", wire.Line{})
	ok.Line.Proto = protocol.IMAP
	b.close("client closed the connection")

	b.leg = ""
	hops := scenario.Hops(b.evs)
	b.verdict("hops", "hops", false, "the relay hop on port 25 crossed in cleartext: anyone on that path read the whole message", scenario.HopEvidence(hops)...)
	return b.evs
}
