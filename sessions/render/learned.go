package render

import (
	"fmt"
	"strings"

	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Learned words what a passive observer learned, one fact an item: the
// phrasing of a lens.Observation for every renderer (the text and Markdown
// summaries, the session screen's "learned so far" pane), so that they say
// the same facts in the same words. The facts themselves come from the
// lens; nothing here decides what an observer can see. quote formats a
// value that came from the peer or the path for the output: it must
// sanitize (wire.SafeString), and may code-quote (Markdown).
func Learned(o lens.Observation, quote func(string) string) []string {
	if !o.Connected {
		return []string{"Nothing yet: the connection has not opened."}
	}
	out := []string{"The addresses and ports of both ends, and the timing and size of everything sent."}
	switch {
	case o.ClearLines > 0:
		s := fmt.Sprintf("%s in the clear (%s)", words.Plural(o.ClearLines, "protocol line"), words.Plural(o.Cleartext.Total(), "byte"))
		if len(o.Commands) > 0 {
			s += ", including the client's " + quoteAll(o.Commands, quote)
		}
		out = append(out, s+": readable and changeable by anyone on the path.")
	case o.Boundary == lens.BoundaryImplicit:
		out = append(out, "No protocol line in the clear: TLS started with the first byte (implicit TLS).")
	}
	if o.Injected > 0 {
		out = append(out, fmt.Sprintf("%s the server sent after accepting STARTTLS, before TLS: discarded by the client, but an attacker could have put them there.", words.Plural(o.Injected, "byte")))
	}
	for _, c := range o.Credentials {
		out = append(out, credentialLearned(c, quote))
	}
	out = append(out, handshakeLearned(o, quote)...)
	switch {
	case o.EncryptedRecords > 0:
		out = append(out, fmt.Sprintf("%s (%s): only their type, length and timing.",
			words.Plural(o.EncryptedRecords, "encrypted record"), words.Plural(o.Encrypted.Total(), "byte")))
	case o.TLSBegun():
		out = append(out, "TLS has begun: nothing encrypted has crossed yet.")
	case o.ClearLines > 0:
		out = append(out, "No TLS so far: everything sent was readable.")
	default:
		out = append(out, "No protocol byte has crossed yet.")
	}
	return out
}

// credentialLearned says what an observer read of a login sent in the
// clear. Only SASL (SMTP and POP3 AUTH, IMAP AUTHENTICATE) wraps the
// secret in base64 (RFC 4616, RFC 4954 §4); IMAP LOGIN and POP3 PASS carry
// it as typed (RFC 9051 §6.2.3, RFC 1939 §7).
func credentialLearned(c lens.ClearCredential, quote func(string) string) string {
	s := "⚠ Credentials in the clear: " + quote(c.Mechanism)
	if c.Username != "" {
		s += ", user " + quote(c.Username)
	}
	if c.Password {
		s += ", and the password"
	}
	s += ". Anyone on the path can read and reuse them"
	if strings.HasPrefix(c.Mechanism, "AUTH") {
		s += " (base64 is an encoding, not encryption)"
	}
	return s + "."
}

// handshakeLearned says what the handshake messages sent in the clear
// told the observer.
func handshakeLearned(o lens.Observation, quote func(string) string) []string {
	var out []string
	if len(o.SNI) > 0 {
		s := "The server name the client asked for (SNI, RFC 6066 §3): " + quoteAll(o.SNI, quote)
		if o.ECHOffered {
			s += " (the outer, public name: the client offered Encrypted Client Hello, RFC 9849)"
		}
		out = append(out, s+".")
	}
	if len(o.ALPNOffered) > 0 {
		s := "The application protocols it offered (ALPN, RFC 7301): " + quoteAll(o.ALPNOffered, quote)
		if o.ALPNChosen != "" {
			s += "; the server chose " + quote(o.ALPNChosen)
		}
		out = append(out, s+".")
	}
	if o.HelloRetryRequest {
		out = append(out, "The server asked for another key share (HelloRetryRequest, RFC 8446 §4.1.4).")
	}
	if o.ServerHello != "" {
		out = append(out, "The negotiated parameters, from the cleartext ServerHello: "+quote(o.ServerHello)+".")
	}
	switch {
	case len(o.Certificates) > 0:
		out = append(out, "The server's certificate, sent in the clear before TLS 1.3 (RFC 5246 §7.4.2): "+quoteAll(o.Certificates, quote)+".")
	case o.CertificateHidden:
		out = append(out, "Not the server's certificate: TLS 1.3 encrypts it (RFC 8446 §4.4.2).")
	}
	if len(o.Alerts) > 0 {
		out = append(out, "Alerts in the clear: "+quoteAll(o.Alerts, quote)+".")
	}
	return out
}

// LearnedPerLeg is what an observer learned on each connection of a stream,
// in the order the connections first appear: one observation per leg (an
// observer sits on one path), or one for a stream without legs.
func LearnedPerLeg(evs []wire.Event) []lens.Observation {
	var ls legObservers
	for _, ev := range evs {
		ls.add(ev)
	}
	return ls.observations()
}

// legObservers observe each connection of a stream as it goes by, so that
// a printer of a live stream keeps one observation per connection instead
// of every event.
type legObservers struct {
	legs []string
	by   map[string]*lens.Observer
}

func (ls *legObservers) add(ev wire.Event) {
	if ls.by == nil {
		ls.by = map[string]*lens.Observer{"": lens.NewObserver("")}
	}
	ob, ok := ls.by[ev.Leg]
	if !ok {
		ob = lens.NewObserver(ev.Leg)
		ls.by[ev.Leg] = ob
		ls.legs = append(ls.legs, ev.Leg)
	}
	ob.Add(ev)
}

// observations are the connections' observations; a stream without legs
// has one, of the whole stream.
func (ls *legObservers) observations() []lens.Observation {
	if len(ls.legs) == 0 {
		whole := lens.NewObserver("")
		if ls.by != nil {
			whole = ls.by[""]
		}
		return []lens.Observation{whole.Observation()}
	}
	out := make([]lens.Observation, 0, len(ls.legs))
	for _, leg := range ls.legs {
		out = append(out, ls.by[leg].Observation())
	}
	return out
}

func quoteAll(list []string, quote func(string) string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = quote(s)
	}
	return strings.Join(q, ", ")
}
