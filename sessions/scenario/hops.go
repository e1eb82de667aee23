package scenario

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// hops: one message's path through the mail system, each hop its own
// connection with its own TLS (RFC 5598 §2 names the roles): the mail
// client submits to its server (MSA, port 587, STARTTLS and AUTH, RFC
// 6409); that server's MTA relays to the recipient's MX on port 25 with
// opportunistic STARTTLS (RFC 3207, RFC 7435); the MX's MDA writes it into
// the mailbox (no network); the recipient's client fetches it over IMAP on
// 993 (RFC 8314 §3). Two lab instances on loopback play the two domains.
// Next to it, HTTPS's single hop from browser to server.
func init() {
	register(Scenario{
		Name:     "hops",
		Variants: []string{HopsOpportunistic, HopsStripped},
		NeedsLab: true,
		Summary:  SummaryHops,
		play:     playHops,
	})
}

// Variants of hops.
const (
	// HopsOpportunistic: the relay hop uses STARTTLS, as offered.
	HopsOpportunistic = "opportunistic"
	// HopsStripped: a machine in the middle on the relay hop removes
	// STARTTLS from the MX's capabilities; the MTA, opportunistic, relays
	// in cleartext (RFC 3207 §6), and the message arrives all the same.
	HopsStripped = "stripped"
)

// LegHopAttacker is the attacker's own connection to the MX in the
// stripped variant.
const LegHopAttacker = "attacker" + legArrow + "MX (25)"

// HopsDomain is the recipient's domain, served by the second lab.
const HopsDomain = "other.lab.test"

// HopsSubject is the Subject of the scenario's message, so that it can be found again.
const HopsSubject = "mailwire hops: one message, four hops"

func playHops(r *Run) error {
	if err := hopsPath(r); err != nil {
		return err
	}
	// hopsPath has closed both labs, which waits for the relay: every
	// event of the path is in before the verdict is computed.
	return hopsVerdict(r)
}

// hopsPath runs the hops as far as they go; a hop that fails ends the path
// (its session reported why) and leaves the verdict to say how far the
// message got.
func hopsPath(r *Run) error {
	env := r.Req.Env
	if env.Lab == nil || env.StateDir == "" {
		return fmt.Errorf("hops: needs the lab (two lab instances on loopback play the sender's and the recipient's domains)")
	}
	ctx := r.Context()
	bounds := env.SessionTimeout
	if bounds <= 0 {
		bounds = sessions.DefaultSessionTimeout
	}
	// Lab B: the recipient's domain. It shares the Env lab's state
	// directory, so the same CA vouches for it.
	labB, err := lab.Start(ctx, lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: env.StateDir,
		LocalDomains: []string{HopsDomain}})
	if err != nil {
		return fmt.Errorf("hops: starting the recipient's lab: %w", err)
	}
	defer labB.Close()
	mx, ok := labB.Endpoint(25)
	if !ok {
		return fmt.Errorf("hops: the recipient's lab has no port 25")
	}
	relayTarget := mx.Addr
	if r.Req.Variant == HopsStripped {
		p, err := mitm.Start(ctx, mitm.Config{Upstream: mx.Addr, Proto: protocol.SMTP, Attack: mitm.StripRemove,
			ServerName: env.ServerName, Emit: r.EmitLeg(LegHopAttacker), Timeout: env.ReadTimeout, SessionTimeout: bounds})
		if err != nil {
			return fmt.Errorf("hops: the machine in the middle: %w", err)
		}
		defer p.Close()
		relayTarget = p.Addr()
	}

	// Lab A: the sender's domain, relaying mail for HopsDomain with
	// mailwire's own engine, after it has answered the submission's DATA.
	relayed := make(chan error, 1)
	deliver := func(dctx context.Context, m lab.Envelope) error {
		err := relayHop(dctx, r, relayTarget, m)
		select {
		case relayed <- err:
		default:
		}
		return err
	}
	labA, err := lab.Start(ctx, lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: env.StateDir,
		Relay: &lab.Relay{Domain: HopsDomain, Deliver: deliver}})
	if err != nil {
		return fmt.Errorf("hops: starting the sender's lab: %w", err)
	}
	defer labA.Close()

	// Hop 1: submission.
	msa, ok := labA.Endpoint(587)
	if !ok {
		return fmt.Errorf("hops: the sender's lab has no port 587")
	}
	o, err := env.options(msa.Addr, 587)
	if err != nil {
		return err
	}
	o.To = "learner@" + HopsDomain
	o.Message = hopsMessage(o.To)
	r.StartLeg(LegHopSubmission, fmt.Sprintf("the mail client (MUA) submits a message for %s to its own server (MSA) on port 587: STARTTLS, then AUTH (RFC 6409, RFC 3207)", o.To))
	subm, _ := r.Session(LegHopSubmission, o)
	if acceptedData(subm) == nil {
		// The MSA did not take the message (the session reported why):
		// there is no path to follow. Once it has, a later failure
		// (QUIT) does not stop the message.
		return nil
	}

	// Hop 2 runs inside lab A, started by the submission's DATA.
	wait := time.NewTimer(bounds)
	defer wait.Stop()
	select {
	case err = <-relayed:
	case <-wait.C:
		err = fmt.Errorf("the relay did not finish within %v", bounds)
		r.Error("hops relay", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		return nil
	}

	// Hop 3: local delivery, as the relay hop's own events show it.
	accepted := acceptedData(wire.OnLeg(r.Events(), LegHopRelay))
	if accepted == nil {
		return nil
	}
	r.Note(LegHopDelivery, fmt.Sprintf("the recipient's server accepted the message (%s) and its MDA wrote it into %s's mailbox: a step on one machine, no network (RFC 5598 §4.3.3)",
		wire.Quote(accepted.Text, 80), "learner"), "scenario.leg")

	// Hop 4: retrieval from the recipient's server.
	imaps, ok := labB.Endpoint(993)
	if !ok {
		return fmt.Errorf("hops: the recipient's lab has no port 993")
	}
	if o, err = env.options(imaps.Addr, 993); err != nil {
		return err
	}
	o.Fetch = true // reading the message is the hop
	r.StartLeg(LegHopRetrieval, "the recipient's mail client (MUA) reads the mailbox on its server over IMAP, TLS from the first byte (RFC 8314 §3)")
	_, _ = r.Session(LegHopRetrieval, o)

	// Next to it: the web's single hop.
	if web, ok := labB.Endpoint(443); ok {
		if o, err = env.options(web.Addr, 443); err == nil {
			r.StartLeg(LegHopWeb, "for comparison, a web page: the browser talks to the web server directly, one hop, TLS from the first byte")
			_, _ = r.Session(LegHopWeb, o)
		}
	}
	return nil
}

// relayHop is lab A's MTA relaying one queued message to the MX: mailwire's
// own SMTP session in the transfer role, with opportunistic TLS, as MTAs
// do on port 25 (RFC 5321 §2.3.10, RFC 7435 §1).
func relayHop(dctx context.Context, r *Run, target string, m lab.Envelope) error {
	if len(m.To) != 1 {
		return fmt.Errorf("hops relay: %d recipients, the scenario sends to one", len(m.To))
	}
	o, err := r.Req.Env.options(target, 25)
	if err != nil {
		return err
	}
	o.TLSMode, o.Role = sessions.TLSOpportunistic, sessions.RoleTransfer
	o.Username, o.Password = "", ""
	o.EHLOName = lab.Hostname // the MTA announces its own name (RFC 5321 §4.1.1.1)
	o.From, o.To, o.Message = m.From, m.To[0], m.Data
	r.StartLeg(LegHopRelay, "the sender's server (MTA) relays the message to the recipient's MX on port 25: STARTTLS if offered, certificate reported but not enforced (RFC 3207, RFC 7435)")
	// The session ends with the scenario or with the lab's own bound on
	// a delivery, whichever comes first.
	ctx, cancel := context.WithCancel(dctx)
	defer cancel()
	stop := context.AfterFunc(r.Context(), cancel)
	defer stop()
	return sessions.Run(ctx, o, r.EmitLeg(LegHopRelay))
}

// acceptedData returns the server's reply accepting the message data on a
// leg (the 250 after the DATA content, RFC 5321 §4.1.1.4), or nil.
func acceptedData(evs []wire.Event) *wire.Event {
	sent := false
	for i, ev := range evs {
		if ev.Kind != wire.KindLine || ev.Line == nil {
			continue
		}
		switch {
		case ev.Dir == wire.ClientToServer:
			sent = ev.Annotation == "smtp.data.content"
		case sent && ev.Dir == wire.ServerToClient && ev.Line.Code == "250":
			return &evs[i]
		}
	}
	return nil
}

// hopsMessage is the message the scenario sends (RFC 5322).
func hopsMessage(to string) []byte {
	return []byte("From: learner@" + lab.Hostname + "\r\n" +
		"To: " + to + "\r\n" +
		"Subject: " + HopsSubject + "\r\n" +
		"Date: " + time.Now().UTC().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <hops." + strconv.FormatInt(time.Now().UnixNano(), 36) + "@" + lab.Hostname + ">\r\n" +
		"\r\n" +
		"Each hop of this message's path had its own TLS session, or none.\r\n")
}

// hopsVerdict computes the path from the events so far and emits the
// verdict.
func hopsVerdict(r *Run) error {
	hops := Hops(r.Events())
	text, safe := hopsSummary(hops)
	r.Result("", "hops", safe, text, HopEvidence(hops)...)
	return nil
}

// legArrow joins a hop's two ends in its name, here and in every
// rendering of the path (hopName).
const legArrow = "→"

// Leg names of hops: each names the hop's two ends and its canonical port,
// "From→To (port)" (legArrow); the local delivery has no network and no
// port.
const (
	LegHopSubmission = "MUA" + legArrow + "MSA (587)"
	LegHopRelay      = "MTA" + legArrow + "MX (25)"
	LegHopDelivery   = "MDA"
	LegHopRetrieval  = "MX" + legArrow + "MUA (993)"
	LegHopWeb        = "browser" + legArrow + "web (443)"
)

// The TLS column of a Hop when it is not a TLS version.
const (
	HopCleartext = "cleartext"
	HopLocal     = "no network"
)

// The certificate column of a Hop.
const (
	CertVerified    = "verified"     // checked, and the session depended on it
	CertNotEnforced = "not enforced" // checked and reported, but the session would go on anyway (RFC 7435)
	CertNotChecked  = "not checked"  // no TLS, or verification turned off
	CertFailed      = "failed"       // checked and failed
)

// Hop is one step of a message's path, computed from one leg's events.
type Hop struct {
	Leg string `json:"leg"`
	// From and To are the two ends, read from the leg's name ("MUA→MSA
	// (587)"); Port is the canonical port in it, 0 for a local step.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	Port int    `json:"port,omitempty"`
	// Network: the hop crossed a network (it has a connect event).
	Network bool `json:"network"`
	// TLS is the version the tls-state event reports ("TLS 1.3"),
	// HopCleartext when the hop never began TLS, HopLocal without network.
	TLS string `json:"tls"`
	// Encrypted: the hop's TLS handshake completed (a tls-state event), so
	// what it carried after crossed encrypted.
	Encrypted bool `json:"encrypted"`
	// Boundary is how TLS began on the hop ("" for a local step).
	Boundary lens.Boundary `json:"boundary,omitempty"`
	// Cert is CertVerified, CertNotEnforced, CertNotChecked or CertFailed
	// ("" for a local step); CertDetail says who checked, against what.
	Cert       string `json:"cert,omitempty"`
	CertDetail string `json:"cert_detail,omitempty"`
	// Observer says what anyone on this hop's path reads.
	Observer string `json:"observer"`
	// Received holds the Received: trace headers (RFC 5321 §4.4) found in
	// the message this hop carried, as its endpoint sent it: each server
	// on the way adds one, naming the hop and whether it used TLS.
	Received []string `json:"received,omitempty"`
	// Err is the hop's first error.
	Err      string `json:"error,omitempty"`
	Evidence []int  `json:"evidence,omitempty"`
}

// Hops computes a message's path from a stream: one Hop per leg, in the
// order the legs first appear. Like Compare it is pure: the verdict, the
// TUI and the printers draw the same path from the same events.
func Hops(evs []wire.Event) []Hop {
	var out []Hop
	for _, leg := range wire.Legs(evs) {
		out = append(out, hopOf(leg, wire.OnLeg(evs, leg)))
	}
	return out
}

// hopEnds reads "From→To (port)" (or "From->To (port)"); a leg named
// otherwise (the local delivery) keeps its name as From.
func hopEnds(leg string) (from, to string, port int) {
	name := leg
	if i := strings.LastIndex(name, " ("); i >= 0 && strings.HasSuffix(name, ")") {
		if p, err := strconv.Atoi(name[i+2 : len(name)-1]); err == nil && p > 0 && p < 65536 {
			port = p
			name = name[:i]
		}
	}
	for _, arrow := range []string{legArrow, "->"} {
		if a, b, ok := strings.Cut(name, arrow); ok {
			return strings.TrimSpace(a), strings.TrimSpace(b), port
		}
	}
	if leg == LegHopDelivery {
		// RFC 5598 §4.3.3: the MDA hands the message from the MX to the
		// recipient's mailbox.
		return "MX", "mailbox", 0
	}
	return name, "", port
}

func hopOf(leg string, evs []wire.Event) Hop {
	f := analyzeLeg(evs)
	h := Hop{Leg: leg, Network: f.network, Boundary: f.seen.Boundary, Err: f.err}
	h.From, h.To, h.Port = hopEnds(leg)
	h.Received = receivedHeaders(evs)
	if !f.network {
		h.TLS, h.Boundary = HopLocal, ""
		h.Observer = "nothing: no network, the message is written into the mailbox on the same machine"
		for _, ev := range evs {
			h.Evidence = append(h.Evidence, ev.Seq)
		}
		return h
	}
	h.Evidence = append(h.Evidence, f.evidence...)
	switch {
	case f.tls != nil:
		h.TLS, h.Encrypted = f.tls.Version, true
	case !f.seen.TLSBegun():
		h.TLS = HopCleartext
	default:
		// STARTTLS or implicit TLS began but the handshake did not
		// finish: nothing was protected, and nothing more was sent.
		h.TLS = "handshake failed"
	}
	h.CertDetail, _ = f.certCheck()
	switch {
	case f.tls == nil || f.tls.VerifyMethod == string(wire.VerifyOff):
		h.Cert = CertNotChecked
	case f.opportunistic:
		h.Cert = CertNotEnforced
	case f.tls.Verified:
		h.Cert = CertVerified
	default:
		h.Cert = CertFailed
	}
	h.Observer = f.observer()
	return h
}

// observer says what anyone on a network hop's path reads.
func (f legFacts) observer() string {
	// The same readable items as the compare table's, plus the message
	// itself, which only a hop carrying one can show.
	what := f.row("").Leaked()
	if f.seen.EnvelopeInClear {
		at := 0
		if len(f.seen.Credentials) > 0 {
			at = 1 // after "the password", as the most sensitive first
		}
		what = slices.Insert(what, at, "sender, recipients and the whole message")
	}
	clear := f.seen.Cleartext.Total()
	switch {
	case !f.seen.TLSBegun() && len(what) == 0:
		return fmt.Sprintf("all %d bytes of the conversation", clear)
	case !f.seen.TLSBegun():
		return fmt.Sprintf("everything (%d bytes): %s", clear, strings.Join(what, ", "))
	case f.tls == nil:
		return strings.Join(append(what, "then the failed handshake"), ", ")
	}
	what = append(what, "then only encrypted records (sizes, timing)")
	return strings.Join(what, ", ")
}

// receivedHeaders returns the Received: headers of the message data a leg
// carried (an SMTP DATA content line, decrypted or in the clear), unfolded
// (RFC 5322 §2.2.3), made safe for display and bounded.
func receivedHeaders(evs []wire.Event) []string {
	const maxHeaders, maxLen = 20, 300
	var out []string
	for _, ev := range evs {
		if ev.Kind != wire.KindLine || ev.Dir != wire.ClientToServer || ev.Annotation != "smtp.data.content" {
			continue
		}
		// Only the header section: up to the first empty line (RFC 5322 §2.1).
		head := ev.Raw
		if i := bytes.Index(head, []byte("\r\n\r\n")); i >= 0 {
			head = head[:i+2]
		} else if i := bytes.Index(head, []byte("\n\n")); i >= 0 {
			head = head[:i+1]
		}
		var cur []byte
		flush := func() {
			if len(cur) > 0 && len(out) < maxHeaders {
				out = append(out, wire.Truncate(wire.SafeString(string(cur)), maxLen))
			}
			cur = nil
		}
		for _, line := range bytes.Split(head, []byte("\n")) {
			line = bytes.TrimRight(line, "\r")
			folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
			switch {
			case folded && cur != nil:
				cur = append(cur, ' ')
				cur = append(cur, bytes.TrimSpace(line)...)
			case len(line) > 9 && bytes.EqualFold(line[:9], []byte("received:")):
				flush()
				cur = append([]byte(nil), line...)
			default:
				flush()
			}
		}
		flush()
	}
	return out
}

// hopsSummary is the hops verdict's text, and whether every network hop
// of the message's path was protected by TLS with an enforced certificate
// check. The web hop (LegHopWeb) is not on the message's path: it is
// described after it, for comparison.
func hopsSummary(hops []Hop) (string, bool) {
	var parts, readable, forgeable, attacker, web []string
	network, protected := 0, 0
	for _, h := range hops {
		desc := fmt.Sprintf("%s: %s", h.Leg, h.TLS)
		if h.Cert != "" {
			desc += ", certificate " + h.Cert
		}
		if h.Err != "" {
			desc += ", failed"
		}
		if h.Leg == LegHopWeb {
			web = append(web, desc)
			continue
		}
		parts = append(parts, desc)
		if h.From == "attacker" {
			// The attacker's own connection onward is the other half of
			// the hop it sits on: counted there, described here.
			attacker = append(attacker, h.Leg)
			continue
		}
		if !h.Network {
			continue
		}
		network++
		tlsOK := h.Encrypted && h.Err == ""
		switch {
		case !tlsOK:
			readable = append(readable, h.Leg)
		case h.Cert != CertVerified:
			forgeable = append(forgeable, h.Leg)
			protected++
		default:
			protected++
		}
	}
	if network == 0 {
		return "no hop of the message's path ran, so there is nothing to draw", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "TLS protected %d of %d network hops of the message's path (%s). ", protected, network, strings.Join(parts, "; "))
	b.WriteString("Each hop is its own TLS session and decides for itself whether to use TLS; the servers in between read the whole message: TLS protects the hops, not the message")
	if len(readable) > 0 {
		fmt.Fprintf(&b, "; anyone on the path of %s read it", strings.Join(readable, ", "))
	}
	if len(forgeable) > 0 {
		fmt.Fprintf(&b, "; on %s the certificate was not enforced, so an attacker on the path could strip STARTTLS or answer in the server's place", strings.Join(forgeable, ", "))
	}
	if len(attacker) > 0 {
		fmt.Fprintf(&b, "; the attacker passed the message on over its own connection (%s), so the recipient's server saw nothing wrong", strings.Join(attacker, ", "))
	}
	b.WriteString(". Only end-to-end encryption of the message itself (S/MIME, OpenPGP) protects it across every hop")
	if len(web) > 0 {
		fmt.Fprintf(&b, ". HTTPS, by comparison, is a single hop from browser to server (%s)", strings.Join(web, "; "))
	}
	b.WriteString(".")
	return b.String(), len(readable) == 0 && len(forgeable) == 0
}

// HopEvidence is every hop's evidence.
func HopEvidence(hops []Hop) []int {
	var out []int
	for _, h := range hops {
		out = append(out, h.Evidence...)
	}
	return out
}
