package scenario

import (
	"crypto/tls"
	"fmt"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// tls12-vs-13: the same session twice, forced to TLS 1.2 and to TLS 1.3.
// With 1.2 the server's Certificate message travels in the clear (RFC 5246
// §7.4.2), so anyone on the path reads who the server is; with 1.3 everything
// after the ServerHello is encrypted (RFC 8446 §2), so the certificate is
// hidden; the SNI in the ClientHello is visible in both (RFC 6066 §3).
func init() {
	register(Scenario{
		Name:        "tls12-vs-13",
		Ports:       []int{465, 587, 993, 143, 995, 110, 25, 443},
		SetsVersion: true,
		play:        playTLSVersions,
	})
}

// Leg names of tls12-vs-13.
const (
	LegTLS12 = "TLS 1.2"
	LegTLS13 = "TLS 1.3"
)

func playTLSVersions(r *Run) error {
	for _, v := range []struct {
		leg     string
		version uint16
	}{{LegTLS12, tls.VersionTLS12}, {LegTLS13, tls.VersionTLS13}} {
		o, err := r.Options(r.Req.Port)
		if err != nil {
			return err
		}
		o.MinTLS, o.MaxTLS = v.version, v.version
		r.StartLeg(v.leg, fmt.Sprintf("the same session on port %d, with the client allowing only %s", r.Req.Port, v.leg))
		evs, _ := r.Session(v.leg, o)
		tlsVersionVerdict(r, v.leg, evs)
	}
	return nil
}

// tlsVersionVerdict says what an eavesdropper learnt of the server's
// certificate and name on one leg.
func tlsVersionVerdict(r *Run, leg string, evs []wire.Event) {
	st := TLSStateOf(evs)
	if st == nil {
		r.Verdict(leg, "handshake-failed", true, "no TLS session was established, so there is nothing to compare", errorSeqs(evs)...)
		return
	}
	sni, sniSeq := ServerName(evs)
	var clear []int
	for _, ev := range Handshakes(evs, "certificate") {
		if lens.OnWire(ev) {
			clear = append(clear, ev.Seq)
		}
	}
	sniText := "no SNI was sent"
	if sni != "" {
		sniText = fmt.Sprintf("the server name %s was readable in the ClientHello's SNI", sni)
	}
	if len(clear) > 0 {
		r.Verdict(leg, "certificate-visible", false,
			fmt.Sprintf("the server's certificate crossed the wire in the clear, so anyone on the path read who the server is; %s", sniText),
			append(clear, nonZero(sniSeq)...)...)
		return
	}
	r.Verdict(leg, "certificate-hidden", true,
		fmt.Sprintf("the certificate travelled encrypted, hidden from the path; but %s", sniText),
		nonZero(sniSeq)...)
}

func nonZero(seq int) []int {
	if seq == 0 {
		return nil
	}
	return []int{seq}
}

func errorSeqs(evs []wire.Event) []int {
	if e := FirstError(evs); e != nil {
		return []int{e.Seq}
	}
	return nil
}
