package mitm_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

var implicitPorts = []struct {
	port    int
	success string // the server's answer to the login
}{{465, "235"}, {993, "OK"}, {995, "+OK"}}

// A verifying client refuses the attacker's certificate: the session
// fails on the unknown issuer and no credential is sent anywhere.
func TestOwnCertRefused(t *testing.T) {
	l := startLab(t)
	for _, pc := range implicitPorts {
		t.Run(strconv.Itoa(pc.port), func(t *testing.T) {
			p, rec := startProxy(t, l, pc.port, mitm.OwnCertificate)
			evs, pevs, err := runThrough(t, p, rec, clientOptions(t, l, p, pc.port, sessions.TLSImplicit))
			if err == nil {
				t.Fatal("session succeeded with the attacker's certificate")
			}
			if got := explainOf(evs); !slices.Contains(got, certs.UnknownAuthority.Key()) {
				t.Errorf("client errors explain %v, want %q", got, certs.UnknownAuthority.Key())
			}
			assertNoCredential(t, evs, pevs)
			if !hasAnnotation(pevs, "attack.own_cert.presented") || !hasAnnotation(pevs, "attack.own_cert.refused") {
				t.Error("the proxy did not note that it presented its certificate and was refused")
			}
			if hasKind(pevs, wire.KindConnect) {
				t.Error("the attacker connected to the server although the client refused it")
			}
		})
	}
}

// A client that does not verify completes the handshake with the
// attacker, who then reads the password and relays the session.
func TestOwnCertAcceptedWithoutVerification(t *testing.T) {
	l := startLab(t)
	for _, pc := range implicitPorts {
		t.Run(strconv.Itoa(pc.port), func(t *testing.T) {
			p, rec := startProxy(t, l, pc.port, mitm.OwnCertificate)
			o := clientOptions(t, l, p, pc.port, sessions.TLSImplicit)
			o.Verify = wire.VerifyOff
			evs, pevs, err := runThrough(t, p, rec, o)
			if err != nil {
				t.Fatalf("session through the attacker failed: %v", err)
			}
			var st *wire.TLSState
			for _, ev := range evs {
				if ev.TLS != nil {
					st = ev.TLS
				}
			}
			if st == nil || st.Verified || len(st.PeerChain) == 0 || st.PeerChain[len(st.PeerChain)-1] != "CN=mailwire attacker CA (not trusted by anyone)" {
				t.Errorf("client TLS state %+v; want the attacker's chain, unverified", st)
			}
			if !hasAnnotation(pevs, "attack.own_cert.accepted") {
				t.Error("no attack.own_cert.accepted note")
			}
			var read bool
			for _, ev := range pevs {
				if ev.Credential != nil && ev.Credential.Password == lab.DemoPassword && !ev.Credential.OnWire &&
					ev.Layer == wire.LayerDecrypted {
					read = true
				}
			}
			if !read {
				t.Error("the attacker's events show no password read")
			}
			if !slices.ContainsFunc(pevs, func(ev wire.Event) bool {
				return ev.Line != nil && ev.Dir == wire.ServerToClient && ev.Line.Code == pc.success
			}) {
				t.Errorf("no %q from the server relayed", pc.success)
			}
			// The client's own leg stays encrypted to anyone else on the path.
			if got := credentials(evs); len(got) == 0 || got[0].Credential.OnWire {
				t.Errorf("client credential events %v; want one, not on the wire", got)
			}
		})
	}
}

// The attacker that breaks the connection learns nothing and the client
// sends nothing: the session fails early, closed by the peer.
func TestBreakResets(t *testing.T) {
	l := startLab(t)
	for _, pc := range implicitPorts {
		t.Run(strconv.Itoa(pc.port), func(t *testing.T) {
			p, rec := startProxy(t, l, pc.port, mitm.Break)
			evs, pevs, err := runThrough(t, p, rec, clientOptions(t, l, p, pc.port, sessions.TLSImplicit))
			if err == nil {
				t.Fatal("session succeeded through a breaking attacker")
			}
			if got := explainOf(evs); !slices.Contains(got, sessions.ExplainClosedEarly) {
				t.Errorf("client errors explain %v, want %q", got, sessions.ExplainClosedEarly)
			}
			assertNoCredential(t, evs, pevs)
			var note *wire.Event
			for i := range pevs {
				if pevs[i].Annotation == "attack.break.reset" {
					note = &pevs[i]
				}
			}
			if note == nil || len(note.Raw) != 5 || note.Raw[0] != 22 {
				t.Errorf("break note %+v; want the ClientHello's record header", note)
			}
		})
	}
}

// Passing the bytes through leaves the session intact, and the attacker
// sees only what any observer sees: records and cleartext handshake
// metadata, never a line or a credential.
func TestPassthroughSeesOnlyRecords(t *testing.T) {
	l := startLab(t)
	for _, pc := range implicitPorts {
		t.Run(strconv.Itoa(pc.port), func(t *testing.T) {
			p, rec := startProxy(t, l, pc.port, mitm.Passthrough)
			_, pevs, err := runThrough(t, p, rec, clientOptions(t, l, p, pc.port, sessions.TLSImplicit))
			if err != nil {
				t.Fatalf("session through a passive relay failed: %v", err)
			}
			var records, encrypted int
			for _, ev := range pevs {
				switch {
				case ev.Kind == wire.KindLine || ev.Credential != nil || ev.Layer == wire.LayerDecrypted:
					t.Errorf("the attacker read content: %q", ev.Text)
				case ev.Kind == wire.KindHandshake && ev.Handshake != nil && ev.Handshake.Encrypted:
					t.Errorf("the attacker decrypted a handshake message: %q", ev.Text)
				case ev.Kind == wire.KindRecord:
					records++
				case ev.Kind == wire.KindEncrypted:
					encrypted++
				}
			}
			if records == 0 || encrypted < 4 {
				t.Errorf("%d records and %d encrypted records seen; want the whole session's", records, encrypted)
			}
			if !hasAnnotation(pevs, "attack.passthrough") {
				t.Error("no attack.passthrough note")
			}
		})
	}
}

func TestAttacksAndConfig(t *testing.T) {
	for _, tc := range []struct {
		proto    string
		implicit bool
		want     int
	}{
		{protocol.SMTP, false, 6}, {protocol.POP3, false, 3}, {protocol.IMAP, false, 4},
		{protocol.SMTP, true, 3}, {protocol.IMAP, true, 3}, {protocol.POP3, true, 3},
		{protocol.HTTPS, true, 0}, {"gopher", false, 0},
	} {
		if got := mitm.Attacks(tc.proto, tc.implicit); len(got) != tc.want {
			t.Errorf("Attacks(%s, %v) = %v, want %d of them", tc.proto, tc.implicit, got, tc.want)
		}
	}
	for _, cfg := range []mitm.Config{
		{Upstream: "127.0.0.1:1", Proto: protocol.SMTP, Attack: mitm.StripPreauth},    // IMAP only
		{Upstream: "127.0.0.1:1", Proto: protocol.IMAP, Attack: mitm.StripRefuseEHLO}, // SMTP only
		{Upstream: "127.0.0.1:1", Proto: protocol.SMTP, Attack: mitm.OwnCertificate},  // implicit only
		{Upstream: "127.0.0.1:1", Proto: protocol.SMTP, Implicit: true, Attack: mitm.StripRemove},
		{Upstream: "nowhere", Proto: protocol.SMTP, Attack: mitm.StripRemove},
	} {
		if p, err := mitm.Start(t.Context(), cfg); err == nil {
			p.Close()
			t.Errorf("Start(%+v) succeeded; want an error", cfg)
		}
	}
}
