package scenario

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The machine-in-the-middle scenarios: the client connects to an attacker
// (package mitm) on loopback, which opens its own connection to the real
// server. The client's events are on wire.LegClientAttacker, the
// attacker's on wire.LegAttackerServer.
//
//   - strip-opportunistic: the attacker removes STARTTLS (or refuses it, or
//     forces HELO, or greets with PREAUTH) and the client, which uses TLS
//     only when offered, goes on in cleartext (RFC 3207 §6, RFC 7435).
//   - strip-required: the same attacker against a client that requires TLS
//     (RFC 8314 §5.2, RFC 2595 §2.2): it refuses, nothing leaks.
//   - implicit-under-attack: on 465/993/995 there is nothing to strip; the
//     attacker can present its own certificate, break the connection or
//     pass the bytes through (RFC 8314 §3).
func init() {
	stripPorts := []int{587, 25, 143, 110}
	register(Scenario{
		Name: "strip-opportunistic", Ports: stripPorts, Variants: attackNames(protocol.SMTP, false),
		variantsFor: stripVariants, play: func(r *Run) error { return playStrip(r, false) },
	})
	register(Scenario{
		Name: "strip-required", Ports: stripPorts, Variants: attackNames(protocol.SMTP, false),
		variantsFor: stripVariants, play: func(r *Run) error { return playStrip(r, true) },
	})
	register(Scenario{
		Name: "implicit-under-attack", Ports: []int{465, 993, 995},
		Variants: attackNames(protocol.SMTP, true), play: playImplicitAttack,
	})
}

func attackNames(proto string, implicit bool) []string {
	var out []string
	for _, a := range mitm.Attacks(proto, implicit) {
		out = append(out, string(a))
	}
	return out
}

// stripVariants: the attacks that apply to a port's protocol.
func stripVariants(port int) []string {
	o, err := sessions.OptionsForPort("127.0.0.1:1", port)
	if err != nil {
		return nil
	}
	return attackNames(o.Proto, false)
}

// proxyWait bounds the wait for the attacker's connections to end once the
// client is done.
const proxyWait = 10 * time.Second

// throughAttacker runs the client's session (o, whose Target is replaced)
// through a machine in the middle in front of the real server of port.
func throughAttacker(r *Run, port int, attack mitm.Attack, implicit bool, o sessions.Options) ([]wire.Event, error) {
	upstream, ok := r.Req.Env.Addr(port)
	if !ok {
		return nil, fmt.Errorf("no server for port %d", port)
	}
	p, err := mitm.Start(r.Context(), mitm.Config{
		Upstream: upstream, Proto: o.Proto, Implicit: implicit, Attack: attack,
		ServerName: r.Req.Env.ServerName, Emit: r.Emit,
	})
	if err != nil {
		return nil, fmt.Errorf("start the attacker: %w", err)
	}
	defer p.Close()
	o.Target = p.Addr()
	r.StartLeg(wire.LegClientAttacker, fmt.Sprintf("the client connects to port %d; an attacker on the path (%s) answers and opens its own connection to the server (%s)", port, attack, upstream))
	_, _ = r.Session(wire.LegClientAttacker, o)
	ctx, cancel := context.WithTimeout(r.Context(), proxyWait)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		r.Note(wire.LegAttackerServer, "the attacker's connection did not end in time: "+err.Error(), "attack.error")
	}
	return r.Events(), nil
}

func playStrip(r *Run, required bool) error {
	o, err := r.Options(r.Req.Port)
	if err != nil {
		return err
	}
	if required {
		o.TLSMode = sessions.TLSStartTLS
	} else {
		// A client that uses TLS when it is offered, and logs in when it
		// is not: what RFC 8314 §5.2 tells mail clients not to be.
		o.TLSMode, o.AllowCleartextAuth = sessions.TLSOpportunistic, true
	}
	evs, err := throughAttacker(r, r.Req.Port, mitm.Attack(r.Req.Variant), false, o)
	if err != nil {
		return err
	}
	stripVerdict(r, evs)
	return nil
}

// stripVerdict judges what crossed the client's leg in cleartext.
func stripVerdict(r *Run, evs []wire.Event) {
	client := wire.OnLeg(evs, wire.LegClientAttacker)
	attackerRead := 0
	for _, ev := range wire.OnLeg(evs, wire.LegAttackerServer) {
		if ev.Credential != nil && ev.Credential.Password != "" {
			attackerRead = ev.Seq
			break
		}
	}
	if leaked := CredentialsOnWire(client); len(leaked) > 0 {
		text := "the client logged in over the stripped connection: " + r.passwordWord() + " crossed the wire in cleartext"
		if attackerRead != 0 {
			text += ", and the attacker read it and passed it on to the server over its own TLS connection"
			leaked = append(leaked, attackerRead)
		}
		r.Verdict("", OutcomeCredentialsLeaked, false, text, leaked...)
		return
	}
	if data := cleartextData(client); len(data) > 0 {
		r.Verdict("", "message-leaked", false,
			"the message crossed the wire in cleartext: the attacker read it, and could have changed it, before relaying it", data...)
		return
	}
	tls := TLSStateOf(client)
	went := opportunisticNotes(client)
	switch {
	case tls == nil && len(went) > 0 && preauthGreeting(client) != 0:
		r.Verdict("", "preauth-accepted", false,
			"the client accepted a PREAUTH greeting in cleartext and went on without TLS, in a session the attacker controls",
			append([]int{preauthGreeting(client)}, went...)...)
	case tls == nil && len(went) > 0:
		r.Verdict("", "cleartext-session", false,
			"the client went on without TLS: no password or message crossed, but every command it sent was readable", went...)
	case tls == nil:
		// Refused only if the client stopped at the TLS step itself (its
		// own check: no STARTTLS offered, STARTTLS refused, PREAUTH); a
		// connection that failed earlier proves nothing about the client.
		e := FirstError(client)
		if e != nil && e.Err != nil && (e.Err.Op == "starttls" || e.Err.Op == "stls") {
			r.Verdict("", "refused-without-tls", true,
				"the client required TLS, did not get it, and stopped before sending anything secret (RFC 8314 §5.2)", e.Seq)
			return
		}
		r.Verdict("", "connection-broken", true,
			"the session ended before TLS for another reason than the client's own check: nothing secret crossed, but this run shows nothing about the client's refusal", errorSeqs(client)...)
	default:
		var seqs []int
		for _, ev := range client {
			if ev.Kind == wire.KindTLSState {
				seqs = append(seqs, ev.Seq)
			}
		}
		r.Verdict("", "nothing-leaked", true, "the client's session was encrypted end to end with the attacker unable to read it", seqs...)
	}
}

// preauthGreeting returns the Seq of a PREAUTH greeting the client read in
// cleartext (RFC 9051 §7.1.4), or 0.
func preauthGreeting(evs []wire.Event) int {
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Annotation == "imap.greeting" &&
			ev.Visible == wire.VisibleAnyone && strings.HasPrefix(strings.ToUpper(ev.Text), "* PREAUTH") {
			return ev.Seq
		}
	}
	return 0
}

// cleartextData returns the Seq of message bodies sent before TLS.
func cleartextData(evs []wire.Event) []int {
	var out []int
	for _, ev := range evs {
		if ev.Annotation == "smtp.data.content" && ev.Visible == wire.VisibleAnyone {
			out = append(out, ev.Seq)
		}
	}
	return out
}

func opportunisticNotes(evs []wire.Event) []int {
	var out []int
	for _, ev := range evs {
		if ev.Annotation == sessions.ExplainOpportunisticCleartext {
			out = append(out, ev.Seq)
		}
	}
	return out
}
