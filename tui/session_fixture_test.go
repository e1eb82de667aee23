package tui

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// fixturePassword is the demo password the fixtures log in with; tests
// assert it (and its base64 forms) never reaches the screen masked.
const fixturePassword = "correct-horse"

// builder assembles a session's events with Seq and At filled in, the way
// the runner emits them.
type builder struct {
	evs []wire.Event
	leg string // set on every event added (a scenario's connection)
}

func (b *builder) add(ev wire.Event) *wire.Event {
	if ev.Leg == "" {
		ev.Leg = b.leg
	}
	ev.Seq = len(b.evs) + 1
	ev.At = time.Duration(len(b.evs)+1) * 137 * time.Microsecond
	b.evs = append(b.evs, ev)
	return &b.evs[len(b.evs)-1]
}

// line adds a protocol line: cleartext before TLS, decrypted inside it.
func (b *builder) line(dir wire.Direction, inTLS bool, raw, ann string, l wire.Line) *wire.Event {
	layer, vis := wire.LayerCleartext, wire.VisibleAnyone
	if inTLS {
		layer, vis = wire.LayerDecrypted, wire.VisibleEndpoints
	}
	l.Proto = "smtp"
	// The runner's Text is the line without CRLF; a multi-line reply's
	// first line.
	text, _, _ := strings.Cut(raw, "\r\n")
	return b.add(wire.Event{Kind: wire.KindLine, Dir: dir, Layer: layer, Visible: vis,
		Raw: []byte(raw), Text: text, Annotation: ann, Line: &l})
}

// record adds a cleartext TLS record header event with n payload bytes.
func (b *builder) record(dir wire.Direction, typ string, ct byte, n int) {
	raw := append([]byte{ct, 3, 3, byte(n >> 8), byte(n)}, make([]byte, n)...)
	b.add(wire.Event{Kind: wire.KindRecord, Dir: dir, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: raw, Text: fmt.Sprintf("TLS record: %s, %d bytes", typ, n), Annotation: "tls.record." + typ,
		Record: &wire.Record{ContentType: typ, Version: "TLS 1.2", Length: n}})
}

// encrypted adds an application_data record whose payload only the
// endpoints can read.
func (b *builder) encrypted(dir wire.Direction, n int) {
	raw := append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, make([]byte, n)...)
	for i := 5; i < len(raw); i++ {
		raw[i] = byte(i * 37)
	}
	b.add(wire.Event{Kind: wire.KindEncrypted, Dir: dir, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
		Raw: raw, Text: fmt.Sprintf("encrypted application_data, %d bytes", n), Annotation: "tls.record.application_data",
		Record: &wire.Record{ContentType: "application_data", Version: "TLS 1.2", Length: n}})
}

// fixture587 is a submission session on 587 as the lab gives it: greeting,
// EHLO, STARTTLS, a TLS 1.3 handshake (certificate encrypted), EHLO again,
// AUTH PLAIN inside TLS, QUIT.
// fixtureClientHello and fixtureServerHello are the typed messages of the
// fixtures' hellos, which the eavesdropper's view and the scenario
// comparison read (the display fields above are what the dissector made of
// them): SNI mail.lab.test, the ALPN protocol if any, TLS 1.3 and 1.2
// offered; TLS 1.3 with TLS_AES_128_GCM_SHA256 and x25519 chosen.
func fixtureClientHello(alpn string) *tlsmsg.ClientHello {
	exts := []tlsmsg.Extension{{ID: 0, Length: 18, Names: []string{"mail.lab.test"}}} // server_name
	if alpn != "" {
		exts = append(exts, tlsmsg.Extension{ID: 16, Length: 3 + len(alpn), Names: []string{alpn}}) // ALPN
	}
	exts = append(exts, tlsmsg.Extension{ID: 43, Length: 5, Codes: []uint16{tlsmsg.VersionTLS13, tlsmsg.VersionTLS12}}) // supported_versions
	return &tlsmsg.ClientHello{LegacyVersion: tlsmsg.VersionTLS12, CipherSuites: []uint16{0x1301}, CompressionMethods: tlsmsg.ByteCodes{0}, Extensions: exts}
}

func fixtureServerHello() *tlsmsg.ServerHello {
	return &tlsmsg.ServerHello{LegacyVersion: tlsmsg.VersionTLS12, CipherSuite: 0x1301, Extensions: []tlsmsg.Extension{
		{ID: 51, Length: 36, KeyShares: []tlsmsg.KeyShare{{Group: 29, KeyLength: 32}}}, // key_share
		{ID: 43, Length: 2, Codes: []uint16{tlsmsg.VersionTLS13}},                      // supported_versions
	}}
}

func fixture587() []wire.Event {
	var b builder
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.connect", Text: "connected to 127.0.0.1:10587 (127.0.0.1:10587) in 210µs"})
	b.line(s2c, false, "220 mail.lab.test ESMTP Service Ready\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "EHLO client.mailwire.invalid\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	ehlo := b.line(s2c, false, "250-Hello client.mailwire.invalid\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 10240000\r\n",
		"smtp.reply.250", wire.Line{Code: "250", Capabilities: []string{"PIPELINING", "STARTTLS", "SIZE 10240000"}})
	ehlo.Also = []string{"smtp.ext.pipelining", "smtp.ext.starttls", "smtp.ext.size"}
	b.line(c2s, false, "STARTTLS\r\n", "smtp.cmd.starttls", wire.Line{Command: "STARTTLS"})
	b.line(s2c, false, "220 2.0.0 Ready to start TLS\r\n", "smtp.reply.220", wire.Line{Code: "220", Enhanced: "2.0.0"})
	b.add(wire.Event{Kind: wire.KindBoundary, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Annotation: "tls.boundary.starttls", Text: "STARTTLS accepted: from the next byte on, the connection is TLS (RFC 3207 §4)"})
	b.record(c2s, "handshake", 22, 250)
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: c2s, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{1, 0, 0, 4, 3, 3, 0, 0}, Text: "ClientHello: SNI mail.lab.test; offers TLS 1.3, TLS 1.2",
		Annotation: "tls.handshake.client_hello", Handshake: &tlsmsg.Handshake{Type: "client_hello", MsgType: 1, Fields: []tlsmsg.Field{
			{Name: "legacy_version", Value: "TLS 1.2 (0x0303)"},
			{Name: "SNI", Value: "mail.lab.test", Annotation: "tls.ext.server_name", Metadata: true},
			{Name: "ALPN", Value: "smtp", Annotation: "tls.ext.application_layer_protocol_negotiation", Metadata: true},
			{Name: "supported_versions", Value: "TLS 1.3, TLS 1.2", Annotation: "tls.ext.supported_versions", Metadata: true},
		}, ClientHello: fixtureClientHello("smtp")}})
	b.record(s2c, "handshake", 22, 122)
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: s2c, Layer: wire.LayerTLS, Visible: wire.VisibleMetadata,
		Raw: []byte{2, 0, 0, 2, 3, 3}, Text: "ServerHello: TLS 1.3, TLS_AES_128_GCM_SHA256",
		Annotation: "tls.handshake.server_hello", Handshake: &tlsmsg.Handshake{Type: "server_hello", MsgType: 2, Fields: []tlsmsg.Field{
			{Name: "cipher suite", Value: "TLS_AES_128_GCM_SHA256", Metadata: true},
			{Name: "supported_versions", Value: "TLS 1.3", Annotation: "tls.ext.supported_versions", Metadata: true},
		}, ServerHello: fixtureServerHello()}})
	b.record(s2c, "change_cipher_spec", 20, 1)
	b.encrypted(s2c, 566)
	b.add(wire.Event{Kind: wire.KindHandshake, Dir: s2c, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
		Raw: []byte{11, 0, 0, 0}, Text: "Certificate (decrypted with the session's key log): CN=mail.lab.test",
		Annotation: "tls.handshake.certificate", Handshake: &tlsmsg.Handshake{Type: "certificate", Encrypted: true, Fields: []tlsmsg.Field{
			{Name: "certificate[0] subject", Value: "CN=mail.lab.test,O=mailwire lab", Annotation: "tls.cert.subject"},
		}}})
	b.encrypted(s2c, 53)
	b.record(c2s, "change_cipher_spec", 20, 1)
	b.encrypted(c2s, 53)
	b.add(wire.Event{Kind: wire.KindTLSState, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleEndpoints,
		Annotation: "tls.state", Text: "TLS 1.3, TLS_AES_128_GCM_SHA256, certificate verified (lab CA)",
		TLS: &wire.TLSState{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "mail.lab.test",
			PeerChain: []string{"CN=mail.lab.test,O=mailwire lab"}, Verified: true, VerifyMethod: "lab CA"}})
	b.line(c2s, true, "EHLO client.mailwire.invalid\r\n", "smtp.cmd.ehlo", wire.Line{Command: "EHLO"})
	b.encrypted(c2s, 47)
	b.encrypted(s2c, 96)
	b.line(s2c, true, "250-Hello client.mailwire.invalid\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10240000\r\n", "smtp.reply.250",
		wire.Line{Code: "250", Capabilities: []string{"AUTH PLAIN LOGIN", "SIZE 10240000"}})
	plain := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))
	auth := b.line(c2s, true, "AUTH PLAIN "+plain+"\r\n", "smtp.cmd.auth", wire.Line{Command: "AUTH"})
	auth.Credential = &wire.Credential{Mechanism: "AUTH PLAIN", Username: "learner", Password: fixturePassword}
	b.encrypted(c2s, 62)
	b.encrypted(s2c, 54)
	b.line(s2c, true, "235 2.7.0 Authentication successful\r\n", "smtp.reply.235", wire.Line{Code: "235", Enhanced: "2.7.0"})
	b.line(c2s, true, "QUIT\r\n", "smtp.cmd.quit", wire.Line{Command: "QUIT"})
	b.encrypted(c2s, 23)
	b.encrypted(s2c, 32)
	b.line(s2c, true, "221 2.0.0 Bye\r\n", "smtp.reply.221", wire.Line{Code: "221", Enhanced: "2.0.0"})
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.close", Text: "client closed the connection; 1062 bytes sent, 1675 received"})
	return b.evs
}

// fixtureCleartextAuth never starts TLS and logs in with AUTH LOGIN in the
// clear, then the server drops the connection: a failed session with a
// password on the wire.
func fixtureCleartextAuth() []wire.Event {
	var b builder
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.connect", Text: "connected to 127.0.0.1:10025 (127.0.0.1:10025) in 180µs"})
	b.line(s2c, false, "220 mail.lab.test ESMTP\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.line(c2s, false, "AUTH LOGIN\r\n", "smtp.cmd.auth", wire.Line{Command: "AUTH"})
	b.line(s2c, false, "334 VXNlcm5hbWU6\r\n", "smtp.reply.334", wire.Line{Code: "334"})
	u := b.line(c2s, false, "bGVhcm5lcg==\r\n", "smtp.cmd.auth", wire.Line{})
	u.Credential = &wire.Credential{Mechanism: "AUTH LOGIN", Username: "learner", OnWire: true}
	b.line(s2c, false, "334 UGFzc3dvcmQ6\r\n", "smtp.reply.334", wire.Line{Code: "334"})
	p := b.line(c2s, false, base64.StdEncoding.EncodeToString([]byte(fixturePassword))+"\r\n", "smtp.cmd.auth", wire.Line{})
	p.Credential = &wire.Credential{Mechanism: "AUTH LOGIN", Username: "learner", Password: fixturePassword, OnWire: true}
	b.line(s2c, false, "421 4.3.2 going away\r\n", "smtp.reply.421", wire.Line{Code: "421", Enhanced: "4.3.2"})
	b.add(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
		Annotation: "net.closed_early", Text: "session: read reply: EOF",
		Err: &wire.ErrorInfo{Op: "session", Message: "read reply: EOF", Explain: "net.closed_early"}})
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata,
		Annotation: "tcp.close", Text: "server closed the connection; 80 bytes sent, 120 received"})
	return b.evs
}

// fakeSessions is an OpenSession that plays canned events and records what
// it was asked.
type fakeSessions struct {
	mu    sync.Mutex
	evs   []wire.Event
	err   error
	reqs  []SessionRequest
	ctxs  []context.Context
	chans []chan wire.Event
	hold  bool // leave the channel open (a session still running)
}

func (f *fakeSessions) open(ctx context.Context, req SessionRequest) (<-chan wire.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	f.ctxs = append(f.ctxs, ctx)
	if f.err != nil {
		return nil, f.err
	}
	ch := make(chan wire.Event, len(f.evs))
	for _, ev := range f.evs {
		ch <- ev
	}
	if !f.hold {
		close(ch)
	}
	f.chans = append(f.chans, ch)
	return ch, nil
}

// newSessionModel returns a root model of size w×h with the lab up and a
// session on port 587 opened from the port table, all its events delivered.
func newSessionModel(t testing.TB, w, h int, f *fakeSessions) *Model {
	t.Helper()
	info := fakeLabInfo()
	m := newModel(Options{
		StartLab:    func(context.Context) (LabInfo, error) { return info, nil },
		OpenSession: f.open,
	})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	mustUpdate(t, m, labResultMsg{info: info})
	mustUpdate(t, m, keyCode(tea.KeyDown)) // 587
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenSession {
		t.Fatalf("enter on 587 did not open the session screen")
	}
	return m
}

func mustUpdate(t testing.TB, m *Model, msg tea.Msg) tea.Cmd {
	t.Helper()
	got, cmd := m.Update(msg)
	if got != m {
		t.Fatalf("Update returned a different model %T", got)
	}
	return cmd
}

// pump runs cmd and every command that follows from it, feeding their
// messages to the model, as the program would. A command that does not
// return within a short time (an auto-play tick, a wait on an open channel)
// is dropped: tests send those messages themselves.
func pump(t testing.TB, m *Model, cmd tea.Cmd) {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for n := 0; len(queue) > 0; n++ {
		if n > 100000 {
			t.Fatal("pump: commands never end")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		done := make(chan tea.Msg, 1)
		go func() { done <- c() }()
		var msg tea.Msg
		select {
		case msg = <-done:
		case <-time.After(100 * time.Millisecond):
			continue
		}
		switch msg := msg.(type) {
		case nil:
		case spinner.TickMsg:
			// A running session's spinner ticks for as long as it
			// runs: tests send ticks themselves.
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			queue = append(queue, mustUpdate(t, m, msg))
		}
	}
}

func session(m *Model) *sessionScreen { return m.screens[screenSession].(*sessionScreen) }
