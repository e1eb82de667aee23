package mitm_test

import (
	"bytes"
	"slices"
	"strconv"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// stripCase is one attack on one STARTTLS port.
type stripCase struct {
	port   int
	attack mitm.Attack
	// required is the Explain key a client that requires TLS fails with.
	required string
	// leaks: an opportunistic client logs in through the attacker, who
	// reads the password; success is what the server answers the login.
	leaks   bool
	success string
}

var stripCases = []stripCase{
	{587, mitm.StripRemove, sessions.ExplainNoStartTLS, true, "235"},
	{587, mitm.StripReplace, sessions.ExplainNoStartTLS, true, "235"},
	{587, mitm.StripRefuse, "smtp.reply.454", true, "235"},
	{587, mitm.StripRefuseSyntax, "smtp.reply.501", true, "235"},
	{587, mitm.StripRefuseUnimplemented, "smtp.reply.502", true, "235"},
	// Without EHLO there is no AUTH advert, and mailwire's client does
	// not log in blind; the message itself still goes in cleartext (25).
	{587, mitm.StripRefuseEHLO, sessions.ExplainNoStartTLS, false, ""},
	{110, mitm.StripRemove, sessions.ExplainNoStartTLS, true, "+OK"},
	{110, mitm.StripReplace, sessions.ExplainNoStartTLS, true, "+OK"},
	{110, mitm.StripRefuse, "pop3.code.sys/temp", true, "+OK"},
	{143, mitm.StripRemove, sessions.ExplainNoStartTLS, true, "OK"},
	{143, mitm.StripReplace, sessions.ExplainNoStartTLS, true, "OK"},
	{143, mitm.StripRefuse, "imap.status.no", true, "OK"},
	// After PREAUTH the client sends no password at all.
	{143, mitm.StripPreauth, sessions.ExplainPreauth, false, ""},
}

func (c stripCase) name() string { return strconv.Itoa(c.port) + "/" + string(c.attack) }

// Every strip attack is in Attacks for its protocol, and every attack
// Attacks lists for a STARTTLS protocol is tested.
func TestStripCasesCoverAttacks(t *testing.T) {
	for _, proto := range []struct {
		name string
		port int
	}{{protocol.SMTP, 587}, {protocol.POP3, 110}, {protocol.IMAP, 143}} {
		for _, a := range mitm.Attacks(proto.name, false) {
			if !slices.ContainsFunc(stripCases, func(c stripCase) bool { return c.port == proto.port && c.attack == a }) {
				t.Errorf("%s: attack %s has no test case", proto.name, a)
			}
		}
	}
}

// A client that requires TLS stops at the attack: it fails with the
// missing offer or the refusal, and no credential crosses either leg.
func TestStripRequiredTLSRefuses(t *testing.T) {
	l := startLab(t)
	for _, tc := range stripCases {
		t.Run(tc.name(), func(t *testing.T) {
			p, rec := startProxy(t, l, tc.port, tc.attack)
			evs, pevs, err := runThrough(t, p, rec, clientOptions(t, l, p, tc.port, sessions.TLSStartTLS))
			if err == nil {
				t.Fatal("session succeeded through the attacker; want a refusal")
			}
			if got := explainOf(evs); !slices.Contains(got, tc.required) {
				t.Errorf("client errors explain %v, want %q", got, tc.required)
			}
			assertNoCredential(t, evs, pevs)
			if hasKind(evs, wire.KindTLSState) {
				t.Error("the client's leg reached TLS; the attacker should have kept it in cleartext")
			}
			// The attacker's own leg did reach TLS: the server saw nothing odd.
			if !hasKind(pevs, wire.KindTLSState) || !hasAnnotation(pevs, "attack.upstream.tls") {
				t.Error("the attacker's leg did not upgrade to TLS")
			}
			// The client leaves politely or just closes; either way the
			// attacker ends its session with the server.
			if !hasKind(pevs, wire.KindClose) {
				t.Error("no close event from the proxy")
			}
		})
	}
}

// A client that tolerates cleartext (opportunistic) logs in through the
// attacker: the password crosses the client's leg in cleartext, the
// attacker reads it and relays it inside its own TLS, and the server
// accepts the login.
func TestStripOpportunisticLeaks(t *testing.T) {
	l := startLab(t)
	for _, tc := range stripCases {
		t.Run(tc.name(), func(t *testing.T) {
			p, rec := startProxy(t, l, tc.port, tc.attack)
			o := clientOptions(t, l, p, tc.port, sessions.TLSOpportunistic)
			o.AllowCleartextAuth = true // a careless mail client
			evs, pevs, err := runThrough(t, p, rec, o)
			if hasKind(evs, wire.KindTLSState) {
				t.Error("the client's leg reached TLS")
			}
			if !hasAnnotation(evs, sessions.ExplainOpportunisticCleartext) {
				t.Error("the client did not note that it goes on in cleartext")
			}
			assertServerOfferSeen(t, pevs, tc.port)
			if !tc.leaks {
				assertNoCredential(t, evs, pevs)
				return
			}
			if err != nil {
				t.Fatalf("session through the attacker failed: %v", err)
			}
			assertLeak(t, evs, pevs, tc.success)
		})
	}
}

// assertServerOfferSeen checks that the attacker's leg carries the
// capability list the server sent it in cleartext, upgrade offer included,
// as a driver's events would: parsed, with each entry's annotation key.
func assertServerOfferSeen(t *testing.T, pevs []wire.Event, port int) {
	t.Helper()
	offer, key := "STARTTLS", "smtp.ext.starttls"
	switch port {
	case 110:
		offer, key = "STLS", "pop3.capa.stls"
	case 143:
		key = "imap.cap.starttls"
	}
	for _, ev := range pevs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Layer == wire.LayerCleartext &&
			ev.Line != nil && slices.Contains(ev.Line.Capabilities, offer) {
			if !slices.Contains(ev.Also, key) {
				t.Errorf("the server's offer %q is parsed but its key %s is missing: %v", ev.Text, key, ev.Also)
			}
			return
		}
	}
	t.Errorf("no cleartext server event on the attacker's leg lists %s among its capabilities", offer)
}

func assertLeak(t *testing.T, evs, pevs []wire.Event, success string) {
	t.Helper()
	var onClientWire bool
	for _, ev := range credentials(evs) {
		if ev.Credential.OnWire && ev.Layer == wire.LayerCleartext && ev.Credential.Password == lab.DemoPassword {
			onClientWire = true
		}
	}
	if !onClientWire {
		t.Error("the password did not cross the client's leg in cleartext")
	}
	read := -1
	for i, ev := range pevs {
		if ev.Credential != nil && ev.Credential.Password == lab.DemoPassword {
			if ev.Credential.OnWire || ev.Layer != wire.LayerDecrypted || ev.Dir != wire.ClientToServer {
				t.Errorf("attacker's credential event: on wire %v, layer %s, dir %s; want inside its TLS, client to server",
					ev.Credential.OnWire, ev.Layer, ev.Dir)
			}
			read = i
			break
		}
	}
	if read < 0 {
		t.Fatal("the attacker's events show no password read")
	}
	if !hasAnnotation(pevs, "attack.credentials") {
		t.Error("no attack.credentials note")
	}
	accepted := false
	for _, ev := range pevs[read+1:] {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Line != nil && ev.Line.Code == success {
			accepted = true
			break
		}
	}
	if !accepted {
		t.Errorf("the server's %q to the login was not relayed", success)
	}
}

// The notes say what the attacker changed, and the client saw exactly
// what the note says the attacker wrote.
func TestStripNotesMatchWhatClientSaw(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		port   int
		attack mitm.Attack
		note   string
		want   string // in the note's Raw and the client's cleartext
	}{
		{587, mitm.StripRemove, "attack.strip.removed", "250 AUTH PLAIN LOGIN"},
		{587, mitm.StripReplace, "attack.strip.replaced", "250-XXXXXXXA\r\n"},
		{587, mitm.StripRefuse, "attack.strip.refused", "454 4.7.0 TLS not available"},
		{587, mitm.StripRefuseEHLO, "attack.strip.ehlo_refused", "502 5.5.2"},
		{110, mitm.StripReplace, "attack.strip.replaced", "\r\nXXXX\r\n"},
		{110, mitm.StripRemove, "attack.strip.removed", "SASL PLAIN"},
		{143, mitm.StripReplace, "attack.strip.replaced", " XXXXXXXX "},
		{143, mitm.StripRefuse, "attack.strip.auth_added", "AUTH=PLAIN"},
		{143, mitm.StripPreauth, "attack.strip.preauth", "* PREAUTH [CAPABILITY "},
	} {
		t.Run(strconv.Itoa(tc.port)+"/"+string(tc.attack), func(t *testing.T) {
			p, rec := startProxy(t, l, tc.port, tc.attack)
			evs, pevs, _ := runThrough(t, p, rec, clientOptions(t, l, p, tc.port, sessions.TLSOpportunistic))
			var note *wire.Event
			for i := range pevs {
				if pevs[i].Annotation == tc.note {
					note = &pevs[i]
					break
				}
			}
			if note == nil {
				t.Fatalf("no %s note", tc.note)
			}
			if !bytes.Contains(note.Raw, []byte(tc.want)) {
				t.Errorf("note raw %q does not contain %q", note.Raw, tc.want)
			}
			saw := false
			for _, ev := range evs {
				if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && bytes.Equal(ev.Raw, note.Raw) {
					saw = true
				}
			}
			if !saw {
				t.Errorf("the client never received the note's bytes %q", note.Raw)
			}
			// Nothing the attacker writes to the client is counted as
			// crossing the wire twice: its notes stay out of the lens.
			for _, ev := range pevs {
				if ev.Kind == wire.KindNote && lens.OnWire(ev) {
					t.Errorf("note %q counts as wire bytes", ev.Text)
				}
			}
		})
	}
}

// On port 25 an MTA with opportunistic TLS delivers the message in
// cleartext through the attacker, who reads it; even with no EHLO at all.
func TestStripTransferMessageRead(t *testing.T) {
	l := startLab(t)
	for _, a := range []mitm.Attack{mitm.StripRemove, mitm.StripRefuseEHLO} {
		t.Run(string(a), func(t *testing.T) {
			p, rec := startProxy(t, l, 25, a)
			o := clientOptions(t, l, p, 25, sessions.TLSOpportunistic)
			o.Username, o.Password = "", ""
			o.From, o.To = "sender@client.mailwire.invalid", "learner@"+lab.Hostname
			o.Message = []byte("Subject: quarterly numbers\r\n\r\nThe secret is 42.\r\n")
			evs, pevs, err := runThrough(t, p, rec, o)
			if err != nil {
				t.Fatalf("delivery through the attacker failed: %v", err)
			}
			if a == mitm.StripRefuseEHLO && !slices.ContainsFunc(evs, func(ev wire.Event) bool {
				return ev.Line != nil && ev.Line.Command == "HELO"
			}) {
				t.Error("the client did not fall back to HELO")
			}
			body := -1
			for i, ev := range pevs {
				if ev.Annotation == "smtp.data.content" && bytes.Contains(ev.Raw, []byte("The secret is 42.")) {
					body = i
				}
			}
			if body < 0 {
				t.Fatal("the attacker's events do not show the message body")
			}
			if !slices.ContainsFunc(pevs[body:], func(ev wire.Event) bool {
				return ev.Line != nil && ev.Dir == wire.ServerToClient && ev.Line.Code == "250"
			}) {
				t.Error("the server's 250 after the message was not relayed")
			}
		})
	}
}
