package scenario_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// compareRow returns the table's row for leg.
func compareRow(t *testing.T, tab scenario.CompareTable, leg string) scenario.CompareRow {
	t.Helper()
	for _, r := range tab.Rows {
		if r.Leg == leg {
			return r
		}
	}
	t.Fatalf("no row for leg %q in %+v", leg, tab)
	return scenario.CompareRow{}
}

func TestCompareLive(t *testing.T) {
	env := labEnv(t)
	evs := play(t, scenario.Request{Name: "compare", Env: env})
	v := wantVerdict(t, evs, "", "compare")
	if !v.Verdict.Informational || v.Verdict.Headline() != "ℹ RESULT" {
		t.Errorf("compare's verdict is not an informational result: %+v", v.Verdict)
	}
	if v.Verdict.Safe {
		t.Errorf("compare is safe although 587 showed its capabilities in the clear: %s", v.Text)
	}
	if got := wire.Legs(evs); !slices.Equal(got, []string{scenario.LegCompare587, scenario.LegCompare465, scenario.LegCompare443}) {
		t.Fatalf("legs %q\n%s", got, dump(evs))
	}
	tab := scenario.Compare(evs)
	if len(tab.Rows) != 3 {
		t.Fatalf("%d rows, want 3: %+v", len(tab.Rows), tab)
	}
	for _, r := range tab.Rows {
		leg := wire.OnLeg(evs, r.Leg)
		// The byte count is what the eavesdropper lens shows, no more.
		if n := len(scenario.EavesdropperBytes(leg)); r.CleartextBytes != n {
			t.Errorf("%s: %d cleartext bytes, the eavesdropper read %d", r.Leg, r.CleartextBytes, n)
		}
		if r.CleartextBytes != r.CleartextC2S+r.CleartextS2C {
			t.Errorf("%s: %d != %d + %d", r.Leg, r.CleartextBytes, r.CleartextC2S, r.CleartextS2C)
		}
		if r.SNI != lab.Hostname {
			t.Errorf("%s: SNI %q, want %q", r.Leg, r.SNI, lab.Hostname)
		}
		if !r.CertVerified || !strings.Contains(r.CertCheck, "verified") {
			t.Errorf("%s: certificate check %q", r.Leg, r.CertCheck)
		}
		if r.ToEncrypted <= 0 {
			t.Errorf("%s: %v to the first encrypted record", r.Leg, r.ToEncrypted)
		}
		if r.HandshakeClearBytes == 0 || r.TLSVersion == "" || r.Err != "" {
			t.Errorf("%s: handshake bytes %d, version %q, error %q", r.Leg, r.HandshakeClearBytes, r.TLSVersion, r.Err)
		}
		for _, s := range r.Evidence {
			if !slices.ContainsFunc(leg, func(ev wire.Event) bool { return ev.Seq == s }) {
				t.Errorf("%s: evidence %d is not on the leg", r.Leg, s)
			}
		}
		if !strings.Contains(v.Text, r.Leg+" (") {
			t.Errorf("verdict does not mention %s: %s", r.Leg, v.Text)
		}
	}
	r587 := compareRow(t, tab, scenario.LegCompare587)
	if r587.Boundary != lens.BoundaryStartTLS || !r587.Downgradeable {
		t.Errorf("587: boundary %q, downgradeable %v", r587.Boundary, r587.Downgradeable)
	}
	if r587.CleartextBytes == 0 || r587.RoundTrips < 2 {
		t.Errorf("587: %d cleartext bytes in %d round trips, want > 0 and >= 2", r587.CleartextBytes, r587.RoundTrips)
	}
	if r587.GreetingHost != lab.Hostname || !slices.Contains(r587.Capabilities, "STARTTLS") || r587.ClientName != env.EHLOName {
		t.Errorf("587: greeting host %q, capabilities %q, client %q", r587.GreetingHost, r587.Capabilities, r587.ClientName)
	}
	if r587.CredentialsInClear {
		t.Error("587: credentials in the clear, but the client waited for TLS")
	}
	for _, leg := range []string{scenario.LegCompare465, scenario.LegCompare443} {
		r := compareRow(t, tab, leg)
		if r.Boundary != lens.BoundaryImplicit || r.Downgradeable {
			t.Errorf("%s: boundary %q, downgradeable %v", leg, r.Boundary, r.Downgradeable)
		}
		if r.CleartextBytes != 0 || r.RoundTrips != 0 || r.Greeting != "" || len(r.Capabilities) != 0 {
			t.Errorf("%s: %d cleartext bytes, %d round trips, greeting %q, capabilities %q before the handshake",
				leg, r.CleartextBytes, r.RoundTrips, r.Greeting, r.Capabilities)
		}
	}
	r443 := compareRow(t, tab, scenario.LegCompare443)
	if !strings.Contains(r443.ALPNOffered, "h2") || !strings.Contains(r443.CertCheck, "browser") {
		t.Errorf("443: ALPN %q, check %q", r443.ALPNOffered, r443.CertCheck)
	}
	if r443.ALPNChosen != "" {
		t.Errorf("443: ALPN choice %q read from the wire, but TLS 1.3 encrypts it", r443.ALPNChosen)
	}
}

// The table is computed from the events: change them and it changes.
func TestCompareFromEvents(t *testing.T) {
	env := labEnv(t)
	evs := play(t, scenario.Request{Name: "compare", Env: env})
	before := compareRow(t, scenario.Compare(evs), scenario.LegCompare587)

	// A longer banner: the count grows by exactly the added bytes, and
	// the host read from it is the new one.
	edited := slices.Clone(evs)
	banner := []byte("220 mx7.example.test ESMTP Postfix (Debian/GNU) ready for you\r\n")
	var grew int
	for i, ev := range edited {
		if ev.Leg == scenario.LegCompare587 && ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient {
			grew = len(banner) - len(ev.Raw)
			edited[i].Raw = banner
			break
		}
	}
	after := compareRow(t, scenario.Compare(edited), scenario.LegCompare587)
	if after.CleartextBytes != before.CleartextBytes+grew || after.CleartextS2C != before.CleartextS2C+grew {
		t.Errorf("banner %+d bytes: cleartext %d -> %d", grew, before.CleartextBytes, after.CleartextBytes)
	}
	if after.GreetingHost != "mx7.example.test" {
		t.Errorf("greeting host %q after the edit", after.GreetingHost)
	}

	// Drop 587's boundary and everything after it but the close: a
	// session that never left cleartext is downgradeable ("already
	// down") and has no encrypted record.
	var plain []wire.Event
	cut := false
	for _, ev := range evs {
		if ev.Leg != scenario.LegCompare587 {
			continue
		}
		if ev.Kind == wire.KindBoundary {
			cut = true
		}
		if !cut || ev.Kind == wire.KindClose {
			plain = append(plain, ev)
		}
	}
	r := compareRow(t, scenario.Compare(plain), scenario.LegCompare587)
	if r.Boundary != lens.BoundaryNone || !r.Downgradeable || r.ToEncrypted >= 0 || r.CertVerified || r.TLSVersion != "" {
		t.Errorf("cleartext-only leg: %+v", r)
	}
	if r.CleartextBytes != before.CleartextBytes {
		t.Errorf("cleartext-only leg: %d bytes, want the %d before the boundary", r.CleartextBytes, before.CleartextBytes)
	}
}

// Round trips and the password, from a hand-built stream: the greeting is
// no round trip, pipelined commands answered together are one.
func TestCompareRoundTrips(t *testing.T) {
	seq := 0
	ev := func(kind wire.Kind, dir wire.Direction, raw string, line *wire.Line) wire.Event {
		seq++
		e := wire.Event{Seq: seq, Kind: kind, Dir: dir, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone, Raw: []byte(raw), Line: line}
		if kind == wire.KindConnect {
			e.Layer, e.Visible, e.Raw = wire.LayerTCP, wire.VisibleMetadata, nil
		}
		return e
	}
	smtp := func(cmd string) *wire.Line { return &wire.Line{Proto: protocol.SMTP, Command: cmd} }
	evs := []wire.Event{
		ev(wire.KindConnect, wire.Local, "", nil),
		ev(wire.KindLine, wire.ServerToClient, "220-mx.example.test hi\r\n220 more\r\n", &wire.Line{Proto: protocol.SMTP, Code: "220"}),
		ev(wire.KindLine, wire.ClientToServer, "EHLO a.example\r\n", smtp("EHLO")),
		ev(wire.KindLine, wire.ServerToClient, "250-mx\r\n250 AUTH PLAIN\r\n", &wire.Line{Proto: protocol.SMTP, Code: "250", Capabilities: []string{"AUTH PLAIN"}}),
		ev(wire.KindLine, wire.ClientToServer, "AUTH PLAIN AHUAcA==\r\n", smtp("AUTH")),
		ev(wire.KindLine, wire.ClientToServer, "MAIL FROM:<a@b>\r\n", smtp("MAIL")),
		ev(wire.KindLine, wire.ServerToClient, "235 ok\r\n", &wire.Line{Proto: protocol.SMTP, Code: "235"}),
		ev(wire.KindLine, wire.ServerToClient, "250 ok\r\n", &wire.Line{Proto: protocol.SMTP, Code: "250"}),
	}
	evs[4].Credential = &wire.Credential{Mechanism: "AUTH PLAIN", Username: "u", Password: "p", OnWire: true}
	tab := scenario.Compare(evs)
	if len(tab.Rows) != 1 {
		t.Fatalf("rows %+v", tab.Rows)
	}
	r := tab.Rows[0]
	if r.RoundTrips != 2 || r.GreetingHost != "mx.example.test" || r.ClientName != "a.example" || !r.CredentialsInClear {
		t.Errorf("%+v", r)
	}
	if !slices.Contains(r.Leaked(), "the password") || tab.Safe() {
		t.Errorf("leaked %q, safe %v", r.Leaked(), tab.Safe())
	}
}

// An environment serving only 587 (a mail server without a web server):
// the table has one column, and the ports left out are said so.
func TestCompareOnlySomePorts(t *testing.T) {
	env := labEnv(t)
	addr, _ := env.Addr(587)
	env.Endpoints, env.Lab = map[int]string{587: addr}, nil
	evs := play(t, scenario.Request{Name: "compare", Env: env})
	wantVerdict(t, evs, "", "compare")
	tab := scenario.Compare(evs)
	if len(tab.Rows) != 1 || tab.Rows[0].Leg != scenario.LegCompare587 {
		t.Fatalf("rows %+v", tab.Rows)
	}
	for _, port := range []string{"465", "443"} {
		if !has(evs, func(ev wire.Event) bool {
			return ev.Kind == wire.KindNote && ev.Leg == "" && strings.Contains(ev.Text, "port "+port+" left out")
		}) {
			t.Errorf("no note on port %s\n%s", port, dump(evs))
		}
	}
}

// The table over a strip scenario's two legs shows the strip itself: the
// server offered STARTTLS to the attacker in the clear, the client never
// saw the offer, and on its own leg the attacker, not a mail client, is
// the one that does not check the certificate.
func TestCompareShowsTheStrip(t *testing.T) {
	env := labEnv(t)
	for _, port := range []int{587, 110, 143} {
		t.Run(fmt.Sprint(port), func(t *testing.T) {
			offer := "STARTTLS"
			if port == 110 {
				offer = "STLS"
			}
			evs := play(t, scenario.Request{Name: "strip-opportunistic", Env: env, Port: port})
			tab := scenario.Compare(evs)
			up := compareRow(t, tab, wire.LegAttackerServer)
			down := compareRow(t, tab, wire.LegClientAttacker)
			if !slices.Contains(up.Capabilities, offer) {
				t.Errorf("attacker↔server capabilities %q lack the server's %s offer", up.Capabilities, offer)
			}
			if len(down.Capabilities) == 0 || slices.Contains(down.Capabilities, offer) {
				t.Errorf("client↔attacker capabilities %q: want the list without %s", down.Capabilities, offer)
			}
			// The downgrade is cited from the protocol's own STARTTLS RFC.
			cite := "RFC 3207"
			if port != 587 {
				cite = "RFC 2595"
			}
			if !up.Downgradeable || !strings.Contains(up.DowngradeWhy, cite) {
				t.Errorf("attacker↔server downgrade %q, want it citing %s", up.DowngradeWhy, cite)
			}
			if !strings.HasPrefix(up.CertCheck, "the attacker") || up.CertVerified {
				t.Errorf("attacker↔server certificate check %q (verified %v)", up.CertCheck, up.CertVerified)
			}
		})
	}
}
