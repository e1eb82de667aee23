package sessions_test

import (
	"context"
	"crypto/tls"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestLabKeyLog: mailwire's own sessions against the lab decrypt their TLS
// 1.3 handshake from the session's key log (Conversation sets
// tls.Config.KeyLogWriter), on STARTTLS and implicit-TLS ports alike, and
// nothing after the Finished messages; TLS 1.2 sessions are unchanged.
func TestLabKeyLog(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		name string
		port int
		max  uint16
	}{
		{"465 implicit", 465, 0}, {"587 STARTTLS", 587, 0}, {"993 implicit", 993, 0}, {"587 TLS 1.2", 587, tls.VersionTLS12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.MaxTLS = tc.max
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			var got []string
			var cert *wire.Event
			for i, e := range evs {
				if e.Kind == wire.KindNote && strings.HasPrefix(e.Annotation, "tls.keylog.") {
					t.Errorf("note: %s", e.Text)
				}
				if e.Kind != wire.KindHandshake || !e.Handshake.Encrypted {
					continue
				}
				got = append(got, string(e.Dir)+" "+e.Handshake.Type)
				if e.Layer != wire.LayerDecrypted || e.Visible != wire.VisibleEndpoints {
					t.Errorf("%q: layer %s, visible %s", e.Text, e.Layer, e.Visible)
				}
				if e.Dir == wire.ServerToClient && e.Handshake.Type == "certificate" {
					cert = &evs[i]
				}
			}
			if tc.max == tls.VersionTLS12 {
				if len(got) != 0 {
					t.Fatalf("TLS 1.2 session shows decrypted messages %v", got)
				}
				return
			}
			want := []string{"s2c encrypted_extensions", "s2c certificate", "s2c certificate_verify", "s2c finished", "c2s finished"}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("decrypted %v, want %v\n%s", got, want, text(evs))
			}
			var subj, san string
			for _, f := range cert.Handshake.Fields {
				switch f.Name {
				case "certificate[0] subject":
					subj = f.Value
				case "certificate[0] SAN":
					san = f.Value
				}
			}
			if !strings.Contains(subj, lab.Hostname) || !strings.Contains(san, "DNS:"+lab.Hostname) {
				t.Errorf("leaf subject %q SAN %q, want %s", subj, san, lab.Hostname)
			}
			// Protocol lines inside TLS are still the endpoint's view, and
			// the records after the handshake stay opaque.
			last := 0
			for i, e := range evs {
				if e.Kind == wire.KindHandshake && e.Handshake.Encrypted {
					last = i
				}
			}
			for _, e := range evs[last+1:] {
				if e.Kind == wire.KindHandshake {
					t.Errorf("handshake event after the client's Finished: %q", e.Text)
				}
			}
			if testing.Verbose() && tc.port == 465 {
				t.Logf("\n%s", text(evs))
			}
		})
	}
}

// TestLabKeyLogVerifyFailure: when the certificate fails verification the
// client's fatal alert travels under its handshake key (RFC 8446 §6.2); the
// key log shows it, right after the server's decrypted certificate.
func TestLabKeyLogVerifyFailure(t *testing.T) {
	l := startLab(t)
	o := labOptions(t, l, 465)
	o.ServerName = "wrong.example"
	evs, err := sessions.Collect(context.Background(), o)
	if err == nil {
		t.Fatalf("verification of %s passed\n%s", o.ServerName, text(evs))
	}
	var got []string
	for _, e := range evs {
		switch {
		case e.Kind == wire.KindHandshake && e.Handshake.Encrypted:
			got = append(got, string(e.Dir)+" "+e.Handshake.Type)
		case e.Layer == wire.LayerDecrypted && e.Kind == wire.KindNote:
			got = append(got, string(e.Dir)+" "+e.Annotation)
		}
	}
	want := []string{"s2c encrypted_extensions", "s2c certificate", "s2c certificate_verify", "s2c finished", "c2s tls.alert.bad_certificate"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("decrypted %v, want %v\n%s", got, want, text(evs))
	}
}
