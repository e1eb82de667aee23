package scenario

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// compare: the same kind of work done three ways, one after another —
// submission on 587 with STARTTLS (RFC 3207), submission on 465 with
// implicit TLS (RFC 8314 §3.3) and a web request on 443 (RFC 9110 §4.2.2) —
// and a table, computed from the events alone, of what each one lets
// anyone on the path read and how much it costs before encryption starts.
func init() {
	register(Scenario{
		Name:    "compare",
		Summary: SummaryCompare,
		play:    playCompare,
	})
}

// Leg names of compare: the canonical port each session ran on.
const (
	LegCompare587 = "587"
	LegCompare465 = "465"
	LegCompare443 = "443"
)

// comparePorts lists compare's sessions in the order they run.
var comparePorts = []struct {
	port int
	leg  string
	what string
}{
	{587, LegCompare587, "mail submission on port 587: cleartext first, then STARTTLS (RFC 3207, RFC 6409)"},
	{465, LegCompare465, "mail submission on port 465: TLS from the first byte (RFC 8314 §3.3)"},
	{443, LegCompare443, "a web request on port 443: TLS from the first byte, as every browser does (RFC 9110 §4.2.2)"},
}

func playCompare(r *Run) error {
	ran := 0
	for _, p := range comparePorts {
		o, err := r.Options(p.port)
		if err != nil {
			// An Env without this port (a peer that serves mail only):
			// the table simply has no column for it.
			r.Note("", fmt.Sprintf("port %d left out of the comparison: %v", p.port, err), "scenario.leg")
			continue
		}
		r.StartLeg(p.leg, p.what)
		// A failed session still belongs in the table: its row shows how
		// far it got and the error.
		_, _ = r.Session(p.leg, o)
		ran++
	}
	if ran == 0 {
		return fmt.Errorf("compare: none of the ports 587, 465, 443 has a server in this environment")
	}
	t := Compare(r.Events())
	r.Result("", "compare", t.Safe(), t.Summary(), t.Evidence()...)
	return nil
}

// CompareRow is what one leg of a stream showed an observer on the path.
// Every field is computed from the leg's events; Evidence names them.
type CompareRow struct {
	Leg   string `json:"leg"`
	Proto string `json:"proto,omitempty"` // smtp, pop3, imap, http: from the leg's lines
	// Boundary is how TLS began on the leg, as an observer saw it.
	Boundary lens.Boundary `json:"boundary"`

	// CleartextBytes counts the protocol bytes anyone on the path read
	// before the boundary (or in the whole leg when TLS never began): the
	// Raw of every on-wire, VisibleAnyone event (lines, and bytes a server
	// injected after its STARTTLS reply), both directions. TCP and TLS
	// headers are not counted.
	CleartextBytes int `json:"cleartext_bytes"`
	// CleartextC2S and CleartextS2C split CleartextBytes by direction.
	CleartextC2S int `json:"cleartext_c2s"`
	CleartextS2C int `json:"cleartext_s2c"`
	// HandshakeClearBytes counts the TLS records that crossed in the clear
	// (ClientHello, ServerHello, change_cipher_spec, alerts; record
	// headers included): metadata, not protocol content.
	HandshakeClearBytes int `json:"handshake_clear_bytes"`
	// RoundTrips counts, before the boundary, the client's cleartext
	// turns that the server answered: a client→server line followed by a
	// server→client one. The server's greeting, which the client only
	// waits for, is not a round trip of its own.
	RoundTrips int `json:"round_trips"`
	// ToEncrypted is the time from the TCP connect event to the first
	// encrypted record event (either direction), from the events' At; -1
	// when there was none.
	ToEncrypted time.Duration `json:"to_encrypted_ns"`

	// Greeting is the server's first cleartext line (SMTP 220, POP3 +OK,
	// IMAP * OK), GreetingHost the domain an SMTP greeting names (RFC 5321
	// §4.2: "220 " Domain …).
	Greeting     string `json:"greeting,omitempty"`
	GreetingHost string `json:"greeting_host,omitempty"`
	// ClientName is the name the client announced in cleartext (EHLO/HELO).
	ClientName string `json:"client_name,omitempty"`
	// Capabilities is the last capability list the server advertised in
	// cleartext (EHLO keywords, CAPA, CAPABILITY).
	Capabilities []string `json:"capabilities,omitempty"`
	// CredentialsInClear: a password crossed the wire readable.
	CredentialsInClear bool `json:"credentials_in_clear,omitempty"`

	// SNI and ALPNOffered are read from the ClientHello as it crossed the
	// wire (RFC 6066 §3, RFC 7301 §3.1); ALPNChosen only when the server's
	// choice also crossed in the clear (a TLS 1.2 ServerHello; TLS 1.3
	// hides it in EncryptedExtensions, RFC 8446 §4.3.1).
	SNI         string `json:"sni,omitempty"`
	ALPNOffered string `json:"alpn_offered,omitempty"`
	ALPNChosen  string `json:"alpn_chosen,omitempty"`
	TLSVersion  string `json:"tls_version,omitempty"` // from the tls-state event

	// Downgradeable: an attacker on the path can keep the session in
	// cleartext. True when TLS began with STARTTLS after cleartext
	// capabilities (whoever removes STARTTLS from them wins, RFC 3207 §6)
	// or never began; false for implicit TLS, where there is no cleartext
	// phase to tamper with (RFC 8314 §3).
	Downgradeable bool   `json:"downgradeable"`
	DowngradeWhy  string `json:"downgrade_why"`

	// CertCheck says who checks the server's certificate and how, from the
	// tls-state event's VerifyMethod and Verified, the opportunistic note
	// (tls.verify.opportunistic) and the leg's protocol (HTTP: a browser).
	CertCheck    string `json:"cert_check"`
	CertVerified bool   `json:"cert_verified"`

	// Err is the leg's first error, if it failed.
	Err string `json:"error,omitempty"`
	// Evidence: the Seqs of the connect, the cleartext lines, the
	// boundary, the ClientHello, the first encrypted record and the
	// tls-state event.
	Evidence []int `json:"evidence,omitempty"`
}

// CompareTable is the compare scenario's table, one row per leg.
type CompareTable struct {
	Rows []CompareRow `json:"rows"`
}

// Compare computes the table from a stream: one row per leg, in the order
// the legs first appear; a stream without legs (one plain session) gives
// one row with an empty Leg. It is pure, so the scenario's verdict, the TUI
// and the printers compute the same table from the same events.
func Compare(evs []wire.Event) CompareTable {
	legs := wire.Legs(evs)
	if len(legs) == 0 {
		legs = []string{""}
	}
	var t CompareTable
	for _, leg := range legs {
		f := analyzeLeg(wire.OnLeg(evs, leg))
		if !f.network {
			continue
		}
		t.Rows = append(t.Rows, f.row(leg))
	}
	return t
}

// Safe says whether no row let an observer read protocol content or
// strip TLS.
func (t CompareTable) Safe() bool {
	for _, r := range t.Rows {
		if r.CleartextBytes > 0 || r.Downgradeable || r.Err != "" {
			return false
		}
	}
	return len(t.Rows) > 0
}

// Evidence is every row's evidence, in stream order.
func (t CompareTable) Evidence() []int {
	var out []int
	for _, r := range t.Rows {
		out = append(out, r.Evidence...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Summary says in one paragraph what the table shows (the compare
// verdict's text).
func (t CompareTable) Summary() string {
	var parts []string
	for _, r := range t.Rows {
		parts = append(parts, r.summary())
	}
	if len(parts) == 0 {
		return "no session ran, so there is nothing to compare"
	}
	return strings.Join(parts, "; ") + "."
}

func (r CompareRow) summary() string {
	var b strings.Builder
	name := r.Leg
	if name == "" {
		name = "the session"
	}
	switch r.Boundary {
	case lens.BoundaryStartTLS:
		fmt.Fprintf(&b, "%s (STARTTLS): %d cleartext bytes in %d round trips before TLS", name, r.CleartextBytes, r.RoundTrips)
	case lens.BoundaryImplicit:
		kind := "implicit TLS"
		if r.Proto == protocol.HTTP {
			kind = "HTTPS"
		}
		fmt.Fprintf(&b, "%s (%s): %d cleartext bytes, TLS from the first byte", name, kind, r.CleartextBytes)
	default:
		fmt.Fprintf(&b, "%s (no TLS): all %d bytes in cleartext", name, r.CleartextBytes)
	}
	if r.ToEncrypted >= 0 {
		fmt.Fprintf(&b, ", first encrypted record %s after connect", wire.FormatDuration(r.ToEncrypted))
	}
	if leak := r.Leaked(); len(leak) > 0 {
		fmt.Fprintf(&b, ", %s readable", strings.Join(leak, ", "))
	}
	if r.Downgradeable {
		b.WriteString(", downgradeable by anyone on the path")
	} else {
		b.WriteString(", not downgradeable")
	}
	if r.Err != "" {
		fmt.Fprintf(&b, ", failed: %s", r.Err)
	}
	return b.String()
}

// Leaked lists, shortly, what the row let anyone on the path read.
func (r CompareRow) Leaked() []string {
	var out []string
	if r.CredentialsInClear {
		out = append(out, "the password")
	}
	if r.GreetingHost != "" {
		out = append(out, "server name "+r.GreetingHost+" (greeting)")
	} else if r.Greeting != "" {
		out = append(out, "the greeting")
	}
	if r.ClientName != "" {
		out = append(out, "client name "+r.ClientName+" (EHLO)")
	}
	if n := len(r.Capabilities); n > 0 {
		out = append(out, fmt.Sprintf("%d capabilities", n))
	}
	if r.SNI != "" {
		out = append(out, "SNI "+r.SNI)
	}
	if r.ALPNOffered != "" {
		out = append(out, "ALPN "+r.ALPNOffered)
	}
	return out
}

// legFacts is what one leg's events show; the compare rows and the hops
// are built from it. What an observer on the leg's path learned is the
// lens's observation; the rest is what the endpoint knew (its TLS state
// and certificate check, its error).
type legFacts struct {
	network bool // the leg connected (or tried to): it has a connect or a dial error
	proto   string

	// seen is what a passive observer of the leg learned (lens.Observe).
	seen lens.Observation

	tls           *wire.TLSState
	opportunistic bool // a tls.verify.opportunistic note
	attacker      bool // the attacker's own leg to the server: it is the client here
	err           string

	evidence []int
	tlsSeq   int
}

func analyzeLeg(evs []wire.Event) legFacts {
	var f legFacts
	leg := ""
	if len(evs) > 0 {
		leg = evs[0].Leg
	}
	ob := lens.NewObserver(leg)
	for _, ev := range evs {
		ob.Add(ev)
		if ev.Line != nil && f.proto == "" {
			f.proto = ev.Line.Proto
		}
		if ev.Leg == wire.LegAttackerServer {
			f.attacker = true
		}
		switch ev.Kind {
		case wire.KindConnect:
			f.network = true
		case wire.KindTLSState:
			if f.tls == nil && ev.TLS != nil {
				f.tls, f.tlsSeq = ev.TLS, ev.Seq
			}
		case wire.KindNote:
			if ev.Annotation == "tls.verify.opportunistic" {
				f.opportunistic = true
			}
		case wire.KindError:
			if f.err == "" {
				f.err = ev.Text
				if ev.Err != nil {
					f.err = ev.Err.Op + ": " + ev.Err.Message
				}
				if ev.Err != nil && ev.Err.Op == "dial" {
					f.network = true
				}
			}
		}
	}
	f.seen = ob.Observation()
	if !f.seen.TLSBegun() {
		// Without TLS the whole conversation was cleartext: what counts
		// is what crossed, and no turn was "before encryption" more than
		// another; the round trips are all of them.
		f.seen.ToEncrypted = -1
	}
	f.evidence = slices.Clone(f.seen.Evidence)
	if f.tlsSeq != 0 {
		f.evidence = append(f.evidence, f.tlsSeq)
		slices.Sort(f.evidence)
	}
	return f
}

// certCheck says who checked the certificate, and whether it held.
func (f legFacts) certCheck() (string, bool) {
	st := f.tls
	if st == nil {
		if !f.seen.TLSBegun() {
			return "nobody: no TLS", false
		}
		return "nobody: the handshake did not complete", false
	}
	who := "the mail client"
	if f.proto == protocol.HTTP || f.proto == protocol.HTTPS {
		who = "the browser (here mailwire as one)"
	}
	switch {
	case f.attacker && st.VerifyMethod == string(wire.VerifyOff):
		// On its own leg the attacker is the client; it connects to the
		// real server and has no reason to doubt it.
		return "the attacker, as this leg's client: not checked (it has no reason to)", false
	case st.VerifyMethod == string(wire.VerifyOff):
		return who + ": verification off, anyone could impersonate the server", false
	case f.opportunistic && st.Verified:
		return fmt.Sprintf("the sending MTA, opportunistic: verified (%s) but not enforced", st.VerifyMethod), true
	case f.opportunistic:
		return "the sending MTA, opportunistic: failed and not enforced", false
	case st.Verified:
		return fmt.Sprintf("%s, against %s: verified", who, st.VerifyMethod), true
	}
	return fmt.Sprintf("%s, against %s: FAILED", who, st.VerifyMethod), false
}

func (f legFacts) row(leg string) CompareRow {
	o := f.seen
	r := CompareRow{
		Leg: leg, Proto: f.proto, Boundary: o.Boundary,
		CleartextBytes: o.Cleartext.Total(), CleartextC2S: o.Cleartext.C2S, CleartextS2C: o.Cleartext.S2C,
		HandshakeClearBytes: o.Handshake.Total(), RoundTrips: o.RoundTrips, ToEncrypted: o.ToEncrypted,
		Greeting: o.Greeting, GreetingHost: o.GreetingHost, ClientName: o.ClientName,
		Capabilities: o.Capabilities, CredentialsInClear: len(o.Credentials) > 0,
		SNI: strings.Join(o.SNI, ", "), ALPNOffered: strings.Join(o.ALPNOffered, ", "), ALPNChosen: o.ALPNChosen,
		Err: f.err, Evidence: slices.Clone(f.evidence),
	}
	if f.tls != nil {
		r.TLSVersion = f.tls.Version
	}
	switch o.Boundary {
	case lens.BoundaryStartTLS:
		r.Downgradeable = true
		what := "cleartext capabilities"
		if len(o.Capabilities) == 0 {
			what = "a cleartext exchange"
		}
		// RFC 3207 §6 describes the attack for SMTP; RFC 2595, for IMAP
		// and POP3, answers it with a mode that requires TLS (§2.2).
		cite := "RFC 3207 §6"
		if f.proto == protocol.IMAP || f.proto == protocol.POP3 {
			cite = "only a client that requires TLS resists it, RFC 2595 §2.2"
		}
		r.DowngradeWhy = "yes: TLS began with STARTTLS after " + what + ", which anyone on the path can rewrite (" + cite + ")"
	case lens.BoundaryImplicit:
		r.DowngradeWhy = "no: TLS from the first byte, nothing in cleartext to tamper with (RFC 8314 §3)"
	default:
		r.Downgradeable = true
		r.DowngradeWhy = "already down: the session never left cleartext"
	}
	r.CertCheck, r.CertVerified = f.certCheck()
	return r
}

// firstLine returns the first line of b without its terminator, made safe
// for display and cut at 200 bytes (a line may be up to the session's
// MaxLineLength; the table only needs to show what it was).
func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return wire.Truncate(wire.SafeString(strings.TrimRight(string(b), "\r")), 200)
}
