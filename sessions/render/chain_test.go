package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestChainViewNarrow: at 80 columns a fingerprint does not fit beside its
// name, so the text view splits it in its middle (two 32-digit halves on
// consecutive lines, which read back as the whole) instead of cutting it
// where the line ends; at 100 columns it stays whole.
func TestChainViewNarrow(t *testing.T) {
	st := &wire.TLSState{Version: "TLS 1.3", Verified: true, VerifyMethod: "lab CA", Chain: fixtureChain()}
	ev := wire.Event{Kind: wire.KindTLSState, Dir: wire.Local, Layer: wire.LayerTLS, Visible: wire.VisibleEndpoints, TLS: st, Text: "TLS 1.3"}
	fp := st.Chain.Certs[0].SHA256
	for _, tc := range []struct {
		width int
		want  string
	}{
		{80, "SHA-256       " + fp[:32] + "\n" + strings.Repeat(" ", ruleIndent+6+chainLabel) + fp[32:] + "\n"},
		{100, "SHA-256       " + fp + "\n"},
	} {
		var b bytes.Buffer
		if err := Text(&b, []wire.Event{ev}, Options{Width: tc.width, Annotations: fixtureAnnotations}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), tc.want) {
			t.Errorf("width %d: fingerprint not laid out as %q:\n%s", tc.width, tc.want, b.String())
		}
		for _, l := range strings.Split(b.String(), "\n") {
			if len([]rune(l)) > tc.width {
				t.Errorf("width %d: line of %d columns: %q", tc.width, len([]rune(l)), l)
			}
		}
	}
}

// TestChainViewProblems: each problem shows its mark (✗ fails the chain, ⚠
// weakens one that verified), its words and its annotation's title, and the
// first time a key appears its prose with what to change; a chain without
// problems shows none.
func TestChainViewProblems(t *testing.T) {
	ch := fixtureChain()
	ch.Problems = []certs.Problem{
		{Kind: certs.Expired, Annotation: certs.Expired.Key(), Cert: 1, Fatal: true},
		{Kind: certs.WeakKey, Annotation: certs.WeakKey.Key(), Cert: 0},
	}
	ch.Certs[0].KeyType, ch.Certs[0].KeyBits, ch.Certs[0].Curve = "RSA", 1024, ""
	ch.CheckedAt = ch.Certs[1].NotAfter.Add(72 * 3600e9)
	st := &wire.TLSState{Version: "TLS 1.3", VerifyMethod: "lab CA", VerifyError: "x509: expired", Chain: ch}
	ev := wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone, TLS: st,
		Text: "verify certificate: x509: expired", Annotation: certs.Expired.Key()}
	lookup := func(key string) (content.Annotation, bool) {
		switch key {
		case certs.Expired.Key():
			return content.Annotation{Key: key, Title: "Certificate expired", Text: "Too old.", Fix: "Renew it.",
				Refs: []content.Ref{{RFC: 5280, Section: "4.1.2.5"}}}, true
		case certs.WeakKey.Key():
			return content.Annotation{Key: key, Title: "Weak server key", Text: "Too short.", Fix: "Make a new key.",
				Refs: []content.Ref{{RFC: 9325, Section: "4.5"}}}, true
		}
		return fixtureAnnotations(key)
	}
	var b bytes.Buffer
	if err := Text(&b, []wire.Event{ev, ev}, Options{Width: 200, Annotations: lookup}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"certificate chain for mail.lab.test, 2 certificates sent, checked against lab CA: NOT verified",
		"✗ the intermediate [1] expired on 2026-04-30 12:00 UTC, 3 days before the check — Certificate expired",
		"⚠ the leaf [0] has an RSA key of 1024 bits; at least 2048 are required — Weak server key",
		"→ What to change: Renew it.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "→ What to change: Renew it."); n != 1 {
		t.Errorf("what to change shown %d times for two events; want once", n)
	}
}
