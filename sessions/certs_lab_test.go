package sessions_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End to end, each certificate case of issue 9 §3: a lab server presents
// the certificate, a mailwire session checks it, and the outcome is
// asserted in types (the chain's problems, which certificate they
// concern, the error's key) and in words (what the text and Markdown
// printers show: the facts, the annotation's title, what to change).

// problemList is a chain's problems as "kind@cert", "!" marking fatal ones.
func problemList(ch *certs.Chain) []string {
	var out []string
	for _, p := range ch.Problems {
		s := fmt.Sprintf("%s@%d", p.Kind, p.Cert)
		if p.Fatal {
			s = "!" + s
		}
		out = append(out, s)
	}
	return out
}

// chainOf returns the TLS state that carries the server's chain: the
// tls-state event's, or the error event's when the client refused it.
func chainOf(evs []wire.Event) *wire.TLSState {
	for _, ev := range evs {
		if ev.TLS != nil && ev.TLS.Chain != nil {
			return ev.TLS
		}
	}
	return nil
}

// printed renders evs as text (endpoint lens, wide enough that a sentence
// of the chain view stays on one line) and as Markdown.
func printed(t *testing.T, evs []wire.Event) (string, string) {
	t.Helper()
	var txt, md bytes.Buffer
	if err := render.Text(&txt, evs, render.Options{Width: 400}); err != nil {
		t.Fatal(err)
	}
	if err := render.Markdown(&md, evs, render.Options{}); err != nil {
		t.Fatal(err)
	}
	return txt.String(), md.String()
}

type certCase struct {
	name     string
	hostile  string          // a lab hostile case, or "" for the lab itself
	verify   wire.VerifyMode // how the session checks
	problems []string        // problemList of the chain
	explain  string          // the error's key; "" when the session completes
	off      bool            // verification off: the session completes, unverified
	sent     int             // certificates the server sent
	words    []string        // in the text output
}

func TestCertificateCasesEndToEnd(t *testing.T) {
	cases := []certCase{
		{name: "ok, the lab with its intermediate", verify: wire.VerifyPool, sent: 2,
			words: []string{"certificate chain for mail.lab.test, 2 certificates sent, checked against lab CA: verified, up to the trusted root CN=mailwire lab CA,O=mailwire lab",
				"[1] CN=mailwire lab intermediate CA,O=mailwire lab (CA)", "issuer URL    " + lab.IntermediateURL, "ECDSA P-256, signed ECDSA-SHA256"}},
		{name: "unknown authority, the lab against the system roots", verify: wire.VerifySystem, sent: 2,
			problems: []string{"!unknown_authority@1"}, explain: "tls.verify.unknown_authority",
			words: []string{"the intermediate [1] was issued by CN=mailwire lab CA,O=mailwire lab, which is not among the trusted roots and which the server did not send",
				"Certificate signed by an unknown authority", "What to change: Use a certificate from a CA clients trust"}},
		{name: "expired", hostile: "smtp-handshake-expired", verify: wire.VerifyPool, sent: 1,
			problems: []string{"!expired@0"}, explain: "tls.verify.expired",
			words: []string{"the leaf [0] expired on", "days before the check", "Certificate expired", "What to change: Renew the certificate"}},
		{name: "not yet valid", hostile: "smtp-handshake-not-yet-valid", verify: wire.VerifyPool, sent: 1,
			problems: []string{"!not_yet_valid@0"}, explain: "tls.verify.not_yet_valid",
			words: []string{"the leaf [0] is valid only from", "Certificate not yet valid", "What to change: Check the clocks"}},
		{name: "wrong name", hostile: "smtp-handshake-wrong-host", verify: wire.VerifyPool, sent: 1,
			problems: []string{"!hostname@0"}, explain: "tls.verify.hostname",
			words: []string{"the leaf [0] is not valid for mail.lab.test: it covers DNS:wrong-host.example",
				"Certificate does not match the host name", "What to change: Install a certificate whose subjectAltName lists"}},
		{name: "self-signed", hostile: "smtp-handshake-self-signed", verify: wire.VerifyPool, sent: 1,
			problems: []string{"!self_signed@0"}, explain: "tls.verify.self_signed",
			words: []string{"the leaf [0] is self-signed", "(self-signed)", "Self-signed certificate", "What to change: Replace it"}},
		{name: "missing intermediate", hostile: "smtp-handshake-missing-intermediate", verify: wire.VerifyPool, sent: 1,
			problems: []string{"!incomplete_chain@0"}, explain: "tls.verify.incomplete_chain",
			words: []string{"the leaf [0] was issued by CN=mailwire hostile intermediate CA,O=mailwire lab, whose certificate the server did not send; the leaf says it is published at http://ca.lab.test/mailwire-hostile-intermediate.der",
				"Incomplete chain: the intermediate is missing", "What to change: Configure the full chain"}},
		{name: "SHA-1", hostile: "smtp-handshake-sha1", verify: wire.VerifyPool, sent: 1,
			problems: []string{"!sha1_signature@0"}, explain: "tls.verify.sha1_signature",
			words: []string{"the leaf [0] is signed with ECDSA-SHA1, which current clients refuse to check",
				"Certificate signed with SHA-1", "What to change: Have the certificate"}},
		{name: "weak key", hostile: "smtp-handshake-rsa-1024", verify: wire.VerifyPool, sent: 1,
			problems: []string{"weak_key@0"},
			words: []string{"verified, up to the trusted root CN=mailwire lab CA,O=mailwire lab", "RSA 1024 bits",
				"the leaf [0] has an RSA key of 1024 bits; at least 2048 are required", "Weak server key", "What to change: Make a new key"}},
		{name: "expired, verification off", hostile: "smtp-handshake-expired", verify: wire.VerifyOff, off: true, sent: 1,
			problems: []string{"!expired@0"},
			words: []string{"verification off but checked anyway: NOT verified",
				"certificate NOT verified (off): the leaf [0] expired on",
				"And the certificate did fail verification: the leaf [0] expired on", "What to change: Renew the certificate"}},
		{name: "ok with SCTs", hostile: "smtp-handshake-ct", verify: wire.VerifyPool, sent: 1,
			words: []string{"verified, up to the trusted root", "2 SCTs (Certificate Transparency); no OCSP must-staple"}},
		{name: "unknown authority, a leaf from a private root", hostile: "smtp-handshake-ct", verify: wire.VerifySystem, sent: 1,
			problems: []string{"!unknown_authority@0"}, explain: "tls.verify.unknown_authority",
			words: []string{"the leaf [0] was issued by CN=mailwire lab CA,O=mailwire lab, which is not among the trusted roots"}},
	}
	l := startLab(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var o sessions.Options
			if tc.hostile == "" {
				o = labOptions(t, l, 465)
				o.To, o.Fetch = "", false
			} else {
				s, err := lab.StartHostile(context.Background(), tc.hostile, lab.HostileOptions{MaxConns: 1, Lifetime: 30 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { s.Close() })
				o = sessions.Options{Target: s.Addr(), Proto: protocol.SMTP, TLSMode: sessions.TLSStartTLS,
					Role: sessions.RoleSubmission, ServerName: lab.Hostname, RootCAs: s.RootCAs(),
					ReadTimeout: 3 * time.Second, SessionTimeout: 15 * time.Second}
			}
			o.Verify = tc.verify
			if o.Verify == wire.VerifySystem {
				o.RootCAs = nil
			}
			evs, err := sessions.Collect(context.Background(), o)
			txt, md := printed(t, evs)
			defer func() {
				if t.Failed() {
					t.Log("\n" + txt)
				}
			}()
			st := chainOf(evs)
			if st == nil {
				t.Fatalf("no event carries the chain (err %v)", err)
			}
			ch := st.Chain
			if got := problemList(ch); !slices.Equal(got, tc.problems) {
				t.Errorf("problems %v; want %v", got, tc.problems)
			}
			if len(ch.Certs) != tc.sent || !slices.Equal(st.PeerChain, ch.Subjects()) {
				t.Errorf("%d certificates, peer chain %q", len(ch.Certs), st.PeerChain)
			}
			if st.Verified != (tc.explain == "" && !tc.off) || ch.Verified() != st.Verified || (st.VerifyError == "") != st.Verified {
				t.Errorf("verified %v (chain %v), verify error %q", st.Verified, ch.Verified(), st.VerifyError)
			}
			e := firstError(evs)
			switch {
			case tc.explain == "" && (err != nil || e != nil):
				t.Errorf("session failed: %v", err)
			case tc.explain != "" && (e == nil || e.Err.Explain != tc.explain || e.Annotation != tc.explain || e.TLS != st):
				t.Errorf("error event %+v; want %s, carrying the chain", e, tc.explain)
			}
			for _, w := range tc.words {
				if !strings.Contains(txt, w) {
					t.Errorf("text output lacks %q", w)
				}
			}
			if !strings.Contains(md, "## Certificate chain") || !strings.Contains(md, "| SPKI SHA-256 | `"+ch.Certs[0].SPKISHA256+"` |") {
				t.Error("Markdown has no chain section with the leaf's facts")
			}
			for _, p := range ch.Problems {
				// Markdown lists each problem under its title, in words
				// (certificate strings in code spans), and what to change
				// with the annotation's prose.
				a, _ := content.Lookup(p.Annotation)
				mark := "✗"
				if !p.Fatal {
					mark = "⚠"
				}
				if !strings.Contains(md, "- "+mark+" **"+a.Title+"**: `"+ch.Describe(p)+"`") {
					t.Errorf("Markdown does not list %s under its title", p.Annotation)
				}
				if a.Fix != "" && !strings.Contains(md, "**What to change:** "+a.Fix) {
					t.Errorf("Markdown lacks what to change for %s", p.Annotation)
				}
				if !p.Fatal && !slices.ContainsFunc(evs, func(ev wire.Event) bool {
					return ev.Kind == wire.KindNote && ev.Annotation == p.Annotation
				}) {
					t.Errorf("no note for %s, which did not stop the session", p.Annotation)
				}
			}
			// The chain survives the JSON round trip whole.
			var js bytes.Buffer
			if err := render.JSON(&js, evs, render.Options{}); err != nil {
				t.Fatal(err)
			}
			back, err := wire.ReadJSON(&js, 1000, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if bst := chainOf(back); bst == nil || !slices.Equal(problemList(bst.Chain), tc.problems) ||
				bst.Chain.Certs[0].SHA256 != ch.Certs[0].SHA256 || !bst.Chain.CheckedAt.Equal(ch.CheckedAt) {
				t.Error("the chain did not survive PrintJSON and ReadJSON")
			}
		})
	}
}
