package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/wire"
)

// playImplicitAttack is implicit-under-attack (registered in strip.go with
// the other machine-in-the-middle scenarios): on 465/993/995 the first byte
// is TLS (RFC 8314 §3), so there is no offer to strip. The attacker can
// present its own certificate (the client's verification fails), break the
// connection (a denial of service), or pass the bytes through (it sees the
// ClientHello and record sizes, nothing else).
func playImplicitAttack(r *Run) error {
	o, err := r.Options(r.Req.Port)
	if err != nil {
		return err
	}
	evs, err := throughAttacker(r, r.Req.Port, mitm.Attack(r.Req.Variant), true, o)
	if err != nil {
		return err
	}
	client := wire.OnLeg(evs, wire.LegClientAttacker)
	if leaked := CredentialsOnWire(client); len(leaked) > 0 {
		r.Verdict("", OutcomeCredentialsLeaked, false, "the password crossed the wire readable", leaked...)
		return nil
	}
	var readable []int
	for _, ev := range client {
		if ev.Kind == wire.KindLine && lens.OnWire(ev) {
			readable = append(readable, ev.Seq)
		}
	}
	if len(readable) > 0 {
		r.Verdict("", "cleartext-session", false, "protocol lines crossed the wire readable", readable...)
		return nil
	}
	e := FirstError(client)
	switch {
	case e != nil && e.Err != nil && strings.HasPrefix(e.Err.Explain, "tls.verify."):
		r.Verdict("", "verification-failed", true,
			"the attacker's certificate failed verification, so the client stopped inside the handshake: no protocol line, no password", e.Seq)
	case e != nil:
		r.Verdict("", "connection-broken", true,
			"the attacker could only break the connection: a denial of service, with nothing disclosed", e.Seq)
	case TLSStateOf(client) == nil:
		r.Verdict("", "connection-broken", true,
			"the session ended without TLS and without an error: nothing was disclosed, and nothing was delivered either")
	default:
		// What the attacker saw is what a passive observer of its own leg
		// learns (the lens): the cleartext ClientHello (RFC 8446 §4.1.2),
		// record headers (RFC 8446 §5.1) and, under TLS 1.2, the
		// certificate (RFC 5246 §7.4.2).
		seen := lens.Observe(evs, len(evs), wire.LegAttackerServer)
		evidence := slices.Clone(seen.Evidence)
		for _, ev := range client {
			if ev.Kind == wire.KindTLSState {
				evidence = append(evidence, ev.Seq)
			}
		}
		what := "record types and sizes"
		if len(seen.SNI) > 0 {
			what += fmt.Sprintf(" and the server name %s", wire.Quote(strings.Join(seen.SNI, ", "), 255))
		}
		if len(seen.Certificates) > 0 {
			what += fmt.Sprintf(", and the server's certificate (%s: TLS %s sends it in the clear)", strings.Join(seen.Certificates, "; "), strings.TrimPrefix(seen.Version, "TLS "))
		}
		r.Verdict("", "only-metadata", true,
			"the session ran encrypted through the attacker, who saw only "+what, evidence...)
	}
	return nil
}
