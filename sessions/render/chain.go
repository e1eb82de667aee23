package render

import (
	"fmt"
	"strings"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The chain view of the printers: what a TLS state (or a handshake that
// stopped on the certificate) says about the server's certificate chain,
// per certificate and per problem. The text and Markdown printers lay it
// out; this file decides what it holds. Every string from a certificate is
// sanitized here, before either printer sees it.

// ChainView is a chain ready to show: what the text and Markdown printers
// and the session screen's detail pane lay out, each its own way.
type ChainView struct {
	Heading string // the whole verdict in one line, for the text printer
	// The heading's parts, for a renderer that sets them apart: the name
	// checked, how many certificates were sent, against what they were
	// checked, the verdict, and the trusted root the chain led to.
	Name, Method, Anchor string
	Sent                 int
	Verified             bool
	Certs                []ChainCert
	Problems             []ChainProblem
}

// ChainCert is one certificate: a title ("[0] CN=…") and its facts, in
// order: all of them (Fields, for Markdown), and the compact set a
// terminal shows (Brief).
type ChainCert struct {
	Title         string
	Fields, Brief []ChainField
}

// ChainField is one fact; Peer says its value comes from the certificate
// (a name, a fingerprint), not from mailwire's own words; Halves says it is
// one long word (a fingerprint) that a narrow view may split in the middle
// rather than cut where the line ends.
type ChainField struct {
	Name, Value  string
	Peer, Halves bool
}

// ChainProblem is one problem: its words and its annotation key.
type ChainProblem struct {
	Fatal bool
	Text  string // certs.Chain.Describe, sanitized
	Key   string
}

// NewChainView returns the chain view of t, or nil when t carries no chain.
func NewChainView(t *wire.TLSState) *ChainView {
	if t == nil || t.Chain == nil {
		return nil
	}
	ch := t.Chain
	v := &ChainView{Name: wire.SafeString(ch.Name), Method: wire.SafeString(t.VerifyMethod), Anchor: wire.SafeString(ch.Anchor),
		Sent: len(ch.Certs) + ch.MoreCerts, Verified: t.Verified}
	var h strings.Builder
	h.WriteString("certificate chain")
	if ch.Name != "" {
		h.WriteString(" for " + wire.SafeString(ch.Name))
	}
	fmt.Fprintf(&h, ", %s sent", words.Plural(len(ch.Certs)+ch.MoreCerts, "certificate"))
	switch t.VerifyMethod {
	case "":
	case string(wire.VerifyOff):
		// Not enforced, but still checked (against the system roots, or
		// the pool the session was given), so the verdict is shown.
		h.WriteString(", verification off but checked anyway")
	default:
		h.WriteString(", checked against " + wire.SafeString(t.VerifyMethod))
	}
	switch {
	case t.Verified && ch.Anchor != "":
		h.WriteString(": verified, up to the trusted root " + wire.SafeString(ch.Anchor))
	case t.Verified:
		h.WriteString(": verified")
	default:
		h.WriteString(": NOT verified")
	}
	v.Heading = h.String()
	for i, c := range ch.Certs {
		v.Certs = append(v.Certs, certViewOf(ch, i, c))
	}
	if ch.MoreCerts > 0 {
		v.Certs = append(v.Certs, ChainCert{Title: fmt.Sprintf("… and %s more, not shown", words.Plural(ch.MoreCerts, "certificate"))})
	}
	for _, p := range ch.Problems {
		v.Problems = append(v.Problems, ChainProblem{Fatal: p.Fatal, Text: wire.SafeString(ch.Describe(p)), Key: p.Annotation})
	}
	return v
}

func certViewOf(ch *certs.Chain, i int, c certs.Cert) ChainCert {
	title := fmt.Sprintf("[%d] %s", i, wire.SafeString(c.Subject))
	switch {
	case c.SelfSigned && c.CA:
		title += " (root CA, self-signed)"
	case c.SelfSigned:
		title += " (self-signed)"
	case c.CA:
		title += " (CA)"
	}
	names := wire.SafeString(c.NamesText())
	if names == "" {
		names = "none"
	}
	scts := "none"
	switch {
	case c.SCTsMalformed:
		scts = "present but malformed"
	case len(c.SCTs) > 0:
		scts = words.Plural(len(c.SCTs), "SCT") + " (Certificate Transparency)"
	}
	staple := "no"
	if c.MustStaple {
		staple = "yes: the server must staple an OCSP response"
	}
	ext := "no SCTs, no OCSP must-staple"
	switch {
	case scts != "none" && c.MustStaple:
		ext = scts + "; OCSP must-staple"
	case scts != "none":
		ext = scts + "; no OCSP must-staple"
	case c.MustStaple:
		ext = "no SCTs; OCSP must-staple"
	}
	f := []ChainField{
		{"names", names, true, false},
		{"issuer", wire.SafeString(c.Issuer), true, false},
		{"valid", fmt.Sprintf("%s to %s (%s)", c.NotBefore.UTC().Format("2006-01-02 15:04"),
			c.NotAfter.UTC().Format("2006-01-02 15:04 UTC"), ch.Validity(i)), false, false},
		{"key", wire.SafeString(c.KeyText()), false, false},
		{"signature", wire.SafeString(c.SignatureAlgorithm), false, false},
		{"SHA-256", c.SHA256, true, true},
		{"SPKI SHA-256", c.SPKISHA256, true, true},
		{"serial", wire.SafeString(c.Serial), true, false},
		{"SCTs", scts, false, false},
		{"must-staple", staple, false, false},
	}
	brief := []ChainField{
		f[0], f[1], f[2],
		{"key", f[3].Value + ", signed " + f[4].Value, false, false},
		f[5], f[6],
		{"extensions", ext, false, false},
	}
	if names == "none" && c.CA {
		brief = brief[1:] // a CA names no host; "names: none" would only add a line
	}
	if len(c.IssuerURLs) > 0 {
		u := ChainField{"issuer URL", wire.SafeString(strings.Join(c.IssuerURLs, ", ")), true, false}
		f, brief = append(f, u), append(brief, u)
	}
	return ChainCert{Title: title, Fields: f, Brief: brief}
}

// Mark is the sign before a problem: ✗ when it fails the chain,
// ⚠ for a weakness of a chain that verified.
func (p ChainProblem) Mark() string {
	if p.Fatal {
		return "✗"
	}
	return "⚠"
}
