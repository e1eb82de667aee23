package tui

import (
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/render"
)

// TestSessionLabel: a session without TLS sends no ClientHello, so no
// SNI (RFC 6066 §3) and no certificate check, whatever name it was
// given; with TLS the label is TargetLabel's. The connect form labelled a
// --tls none session "SNI mx.example.org, certificate: system roots".
func TestSessionLabel(t *testing.T) {
	for _, tc := range []struct{ mode, name, verify, want string }{
		{"none", "mx.example.org", "system roots", "no SNI, no certificate"},
		{"none", "127.0.0.1", "", "no SNI, no certificate"},
		{"starttls", "mx.example.org", "system roots", "SNI mx.example.org, certificate: system roots"},
		{"opportunistic", "mx.example.org", "", "SNI mx.example.org"}, // TLS when offered: the name then
		{"implicit", "::1", "CA file", "no SNI for an IP address, certificate: CA file"},
	} {
		if got := SessionLabel(tc.mode, tc.name, tc.verify); got != tc.want {
			t.Errorf("SessionLabel(%q, %q, %q) = %q, want %q", tc.mode, tc.name, tc.verify, got, tc.want)
		}
	}

	// The connect form's request, its TLS mode set to none.
	c := &Common{Styles: NewStyles(true), Keys: DefaultKeyMap()}
	f := newFormScreen(c, openFormMsg{have: true, req: SessionRequest{Target: "mx.example.org:25", Proto: "smtp", TLSMode: "none"}})
	req, err := f.request()
	if err != nil {
		t.Fatal(err)
	}
	if req.TLSMode != "none" || req.Label != "no SNI, no certificate" {
		t.Errorf("form request: mode %q, label %q", req.TLSMode, req.Label)
	}
}

// TestReplayLabelNoTLS: a replay of a session without TLS is labelled as
// the live one was, even from a recording that names a server (written
// before headers left it out for --tls none).
func TestReplayLabelNoTLS(t *testing.T) {
	h := render.RecordingHeader{Target: "mx.example.org:25", Port: 25, Proto: "smtp", TLSMode: "none",
		Options: render.RecordingOptions{ServerName: "mx.example.org", Verify: "system roots"}}
	for _, h := range []render.RecordingHeader{h, {Target: h.Target, Port: 25, Proto: "smtp", TLSMode: "none"}} {
		if req := ReplayRequest(h, "x.jsonl"); !strings.HasPrefix(req.Label, "no SNI, no certificate, recorded ") {
			t.Errorf("replay label %q", req.Label)
		}
	}
}
