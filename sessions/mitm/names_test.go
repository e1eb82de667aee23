package mitm_test

import (
	"regexp"
	"testing"

	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/protocol"
)

// TestAttackNamesSayWhatTheyDo: no attack is named by a reply code (on
// IMAP, "starttls-454" sent NO: 454 is an SMTP code), and the former
// names still resolve to the attacks they meant.
func TestAttackNamesSayWhatTheyDo(t *testing.T) {
	code := regexp.MustCompile(`[0-9]{3}`)
	for _, proto := range []string{protocol.SMTP, protocol.POP3, protocol.IMAP} {
		for _, implicit := range []bool{false, true} {
			for _, a := range mitm.Attacks(proto, implicit) {
				if code.MatchString(string(a)) {
					t.Errorf("%s: attack %q is named by a reply code", proto, a)
				}
				if got := mitm.Canonical(string(a)); got != string(a) {
					t.Errorf("Canonical(%q) = %q", a, got)
				}
			}
		}
	}
	for old, want := range map[string]mitm.Attack{
		"starttls-454": mitm.StripRefuse,
		"starttls-501": mitm.StripRefuseSyntax,
		"starttls-502": mitm.StripRefuseUnimplemented,
		"ehlo-502":     mitm.StripRefuseEHLO,
		"no-such":      "no-such",
	} {
		if got := mitm.Canonical(old); got != string(want) {
			t.Errorf("Canonical(%q) = %q, want %q", old, got, want)
		}
	}
}
