package sessions

import (
	"slices"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/protocol"
)

// TestOptionsForEveryCanonicalPort: every port of content's table gives
// Options in the engine's own terms (a protocol with a driver, a TLS mode
// and a role the engine knows), and another port is refused with the list.
func TestOptionsForEveryCanonicalPort(t *testing.T) {
	for _, p := range content.CanonicalPorts() {
		o, err := OptionsForPort("127.0.0.1:1", p.Port)
		if err != nil {
			t.Fatalf("port %d: %v", p.Port, err)
		}
		if !slices.Contains([]string{protocol.SMTP, protocol.POP3, protocol.IMAP, protocol.HTTPS}, o.Proto) ||
			!slices.Contains([]TLSMode{TLSStartTLS, TLSImplicit}, o.TLSMode) ||
			!slices.Contains([]Role{RoleTransfer, RoleSubmission, RoleRetrieval, RoleWeb}, o.Role) {
			t.Errorf("port %d: %s, %s, %s is not in the engine's terms", p.Port, o.Proto, o.TLSMode, o.Role)
		}
		if _, err := o.withDefaults(); err != nil {
			t.Errorf("port %d: %v", p.Port, err)
		}
	}
	if _, err := OptionsForPort("127.0.0.1:1", 2525); err == nil ||
		err.Error() != "port 2525: not a mail port mailwire knows (25, 587, 465, 110, 995, 143, 993, 443)" {
		t.Errorf("2525: %v", err)
	}
}
