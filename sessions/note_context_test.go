package sessions

import (
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestNoteFitsContext530: a 530 read inside TLS is explained as the server
// asking the client to authenticate first (RFC 4954 §6), and so is the
// error it ends the session with; the note for AUTH or MAIL before TLS
// (RFC 3207 §4) was shown for it. Before TLS, 530 keeps that note.
func TestNoteFitsContext530(t *testing.T) {
	if got := protocol.KeyInTLS("smtp.reply.530", false); got != "smtp.reply.530" {
		t.Errorf("before TLS: %q", got)
	}
	if got := protocol.KeyInTLS("smtp.reply.250", true); got != "smtp.reply.250" {
		t.Errorf("250 inside TLS: %q", got)
	}
	if a, ok := content.Lookup("smtp.reply.530.in_tls"); !ok || a.Key != "smtp.reply.530.in_tls" {
		t.Fatalf("no entry of its own for 530 inside TLS: %q, %v", a.Key, ok)
	}

	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("220 mail.lab.test ESMTP"); err != nil {
			return err
		}
		if _, err := f.expect("EHLO"); err != nil {
			return err
		}
		if err := f.say("250-mail.lab.test", "250 STARTTLS"); err != nil {
			return err
		}
		if _, err := f.expect("STARTTLS"); err != nil {
			return err
		}
		if err := f.say("220 2.0.0 Ready to start TLS"); err != nil {
			return err
		}
		if err := f.startTLS(); err != nil {
			return err
		}
		if _, err := f.expect("EHLO"); err != nil {
			return err
		}
		if err := f.say("250-mail.lab.test", "250 AUTH PLAIN"); err != nil {
			return err
		}
		if _, err := f.expect("MAIL"); err != nil {
			return err
		}
		if err := f.say("530 5.7.0 Authentication required"); err != nil {
			return err
		}
		if _, err := f.expect("QUIT"); err != nil {
			return err
		}
		return f.say("221 2.0.0 Bye")
	})
	o := testOptions(srv.addr, pki, TLSStartTLS, RoleSubmission)
	o.Username, o.Password, o.Fetch = "", "", false
	evs, _ := run(t, o)
	srv.wait(t)
	i := find(evs, 0, func(ev wire.Event) bool { return ev.Kind == wire.KindLine && ev.Line != nil && ev.Line.Code == "530" })
	if i < 0 {
		t.Fatalf("no 530\n%s", dump(evs))
	}
	if ev := evs[i]; ev.Layer != wire.LayerDecrypted || ev.Annotation != "smtp.reply.530.in_tls" {
		t.Errorf("530 inside TLS: layer %s, annotation %q\n%s", ev.Layer, ev.Annotation, dump(evs))
	}
	if e := errorEvent(evs); e == nil || e.Err.Explain != "smtp.reply.530.in_tls" {
		t.Errorf("the session's error: %+v\n%s", e, dump(evs))
	}
}
