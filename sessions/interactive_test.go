package sessions

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The interactive driver against scripted servers: what the lab cannot be
// made to do on cue (bytes arriving unprompted, a server that says
// nothing, an injection after STARTTLS's "go ahead").

func interactiveTestOptions(addr string, pki testPKI, proto string) Options {
	o := testOptions(addr, pki, TLSStartTLS, RoleSubmission)
	o.Proto = proto
	o.Username, o.Password, o.To, o.Fetch = "", "", "", false
	return o
}

// promptRun starts a session through StartPrompt and collects its events;
// wait blocks until an event matching pred arrives (or fails the test).
type promptRun struct {
	t   *testing.T
	p   *Prompt
	evs []wire.Event
	end chan struct{}
}

func startPromptRun(t *testing.T, o Options, io InteractiveOptions) *promptRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	r := &promptRun{t: t, p: StartPrompt(ctx, o, io), end: make(chan struct{})}
	return r
}

// wait reads events until one matches pred.
func (r *promptRun) wait(what string, pred func(wire.Event) bool) {
	r.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-r.p.Events():
			if !ok {
				r.t.Fatalf("stream ended waiting for %s\n%s", what, dump(r.evs))
			}
			r.evs = append(r.evs, ev)
			if pred(ev) {
				return
			}
		case <-timeout:
			r.t.Fatalf("no %s\n%s", what, dump(r.evs))
		}
	}
}

// rest reads the stream to its end.
func (r *promptRun) rest() []wire.Event {
	r.t.Helper()
	r.wait("the close event", isKind(wire.KindClose))
	for ev := range r.p.Events() {
		r.evs = append(r.evs, ev)
	}
	checkStream(r.t, r.evs)
	return r.evs
}

func (r *promptRun) send(line string) {
	r.t.Helper()
	if err := r.p.Send(Input{Line: line}); err != nil {
		r.t.Fatalf("send %q: %v", line, err)
	}
}

// The server speaks without being asked: a greeting before anything is
// typed, and a 421 while the user is idle. Reading never waits for input.
func TestInteractiveUnpromptedSMTP(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("220 mail.lab.test ESMTP"); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		return f.say("421 4.4.2 mail.lab.test Error: timeout exceeded")
	})
	r := startPromptRun(t, interactiveTestOptions(srv.addr, pki, protocol.SMTP), InteractiveOptions{})
	evs := r.rest()
	srv.wait(t)
	if i := find(evs, 0, isLine(wire.ServerToClient, "421")); i < 0 {
		t.Fatalf("no 421\n%s", dump(evs))
	}
	e := errorEvent(evs)
	if e == nil || e.Err.Explain != "smtp.reply.421" {
		t.Errorf("error %+v, want the 421's explanation\n%s", e, dump(evs))
	}
	if find(evs, 0, isKind(wire.KindLine)) >= 0 && find(evs, 0, isLine(wire.ClientToServer, "")) >= 0 {
		t.Errorf("the client sent something nobody typed\n%s", dump(evs))
	}
}

// IMAP untagged data while the user types nothing, then LOGOUT.
func TestInteractiveUnpromptedIMAP(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("* OK ready"); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		if err := f.say("* 3 EXISTS"); err != nil {
			return err
		}
		if _, err := f.expect("z9 LOGOUT"); err != nil {
			return err
		}
		return f.say("* BYE bye", "z9 OK LOGOUT completed")
	})
	r := startPromptRun(t, interactiveTestOptions(srv.addr, pki, protocol.IMAP), InteractiveOptions{})
	r.wait("the unprompted EXISTS", isLine(wire.ServerToClient, "* 3 EXISTS"))
	if ev := r.evs[len(r.evs)-1]; ev.Annotation != "imap.data.exists" {
		t.Errorf("EXISTS annotated %q", ev.Annotation)
	}
	r.send("z9 LOGOUT")
	evs := r.rest()
	srv.wait(t)
	if e := errorEvent(evs); e != nil {
		t.Errorf("error %+v\n%s", e, dump(evs))
	}
	if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
		t.Errorf("close %q: LOGOUT was answered", c.Text)
	}
}

// A person may think longer than the read timeout: an idle session is
// not ended by mailwire.
func TestInteractiveIdleOutlastsReadTimeout(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("220 hi"); err != nil {
			return err
		}
		if _, err := f.expect("QUIT"); err != nil {
			return err
		}
		return f.say("221 bye")
	})
	o := interactiveTestOptions(srv.addr, pki, protocol.SMTP)
	o.ReadTimeout = 100 * time.Millisecond
	r := startPromptRun(t, o, InteractiveOptions{})
	r.wait("the greeting", isLine(wire.ServerToClient, "220"))
	time.Sleep(500 * time.Millisecond)
	r.send("QUIT")
	evs := r.rest()
	srv.wait(t)
	if e := errorEvent(evs); e != nil {
		t.Errorf("error %+v\n%s", e, dump(evs))
	}
}

// The server hangs up on an idle client: explained, and a failure.
func TestInteractiveServerClosesIdle(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("+OK hi"); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		return nil // closes
	})
	r := startPromptRun(t, interactiveTestOptions(srv.addr, pki, protocol.POP3), InteractiveOptions{})
	evs := r.rest()
	srv.wait(t)
	n := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == AnnInteractiveServerClosed })
	e := errorEvent(evs)
	if n < 0 || e == nil || e.Err.Explain != ExplainClosedEarly || e.Seq < evs[n].Seq {
		t.Fatalf("note %d, error %+v\n%s", n, e, dump(evs))
	}
	// The idle time as people read it (wire.FormatDuration): "0.00 ms",
	// not Go's "0s".
	if !regexp.MustCompile(`, [0-9.:]+ (ms|s|min|h) after the client's last line`).MatchString(evs[n].Text) {
		t.Errorf("note: %s", evs[n].Text)
	}
}

// Lockstep: a line the server does not answer waits at most ReplyWait,
// with a note, and the next line goes.
func TestInteractiveLockstepNoReply(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("220 hi"); err != nil {
			return err
		}
		if _, err := f.expect("NOOP"); err != nil {
			return err
		}
		if _, err := f.expect("QUIT"); err != nil {
			return err
		}
		return f.say("250 late", "221 bye")
	})
	in := make(chan Input, 2)
	in <- Input{Line: "NOOP"}
	in <- Input{Line: "QUIT"}
	close(in)
	o := interactiveTestOptions(srv.addr, pki, protocol.SMTP)
	o.Driver = InteractiveDriver{Input: in, Opts: InteractiveOptions{Lockstep: true, ReplyWait: 150 * time.Millisecond}}
	start := time.Now()
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, dump(evs))
	}
	n := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == AnnInteractiveNoReply })
	q := find(evs, 0, isLine(wire.ClientToServer, "QUIT"))
	if n < 0 || q < n || time.Since(start) > 3*time.Second {
		t.Errorf("no-reply note %d, QUIT %d\n%s", n, q, dump(evs))
	}
}

// The lines of a message get no answer of their own: lockstep does not
// wait on them (RFC 5321 §4.1.1.4).
func TestInteractiveDataLines(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		steps := []struct{ want, say string }{{"MAIL FROM:", "250 ok"}, {"RCPT TO:", "250 ok"}, {"DATA", "354 go"}}
		if err := f.say("220 hi"); err != nil {
			return err
		}
		for _, s := range steps {
			if _, err := f.expect(s.want); err != nil {
				return err
			}
			if err := f.say(s.say); err != nil {
				return err
			}
		}
		if _, err := f.readData(); err != nil {
			return err
		}
		if err := f.say("250 queued"); err != nil {
			return err
		}
		if _, err := f.expect("QUIT"); err != nil {
			return err
		}
		return f.say("221 bye")
	})
	in := make(chan Input, 10)
	for _, l := range []string{"MAIL FROM:<a@b.test>", "RCPT TO:<c@d.test>", "DATA", "Subject: hi", "", "AUTH PLAIN AGEAYg==", ".", "QUIT"} {
		in <- Input{Line: l}
	}
	close(in)
	o := interactiveTestOptions(srv.addr, pki, protocol.SMTP)
	o.Driver = InteractiveDriver{Input: in, Opts: InteractiveOptions{Lockstep: true, ReplyWait: 2 * time.Second}}
	start := time.Now()
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil || time.Since(start) > time.Second {
		t.Fatalf("%v, took %v\n%s", err, time.Since(start), dump(evs))
	}
	for _, ev := range evs {
		if ev.Dir != wire.ClientToServer || ev.Kind != wire.KindLine {
			continue
		}
		body := slices.Contains([]string{"Subject: hi\r\n", "\r\n", "AUTH PLAIN AGEAYg==\r\n", ".\r\n"}, string(ev.Raw))
		if body != (ev.Annotation == "smtp.data.content") {
			t.Errorf("%q annotated %q", ev.Raw, ev.Annotation)
		}
	}
	if last := find(evs, 0, isLine(wire.ServerToClient, "250 queued")); last < 0 {
		t.Errorf("no answer to the end of the message\n%s", dump(evs))
	}
}

// STARTTLS typed by hand upgrades the live connection; bytes the server
// pipelined after its "go ahead" are discarded and reported, never read
// as a reply inside TLS (RFC 3207 §4.2).
func TestInteractiveSTARTTLSInjection(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("220 hi"); err != nil {
			return err
		}
		if _, err := f.expect("STARTTLS"); err != nil {
			return err
		}
		if err := f.say("220 go ahead", "250 injected"); err != nil {
			return err
		}
		f.r.Reset(f.conn) // the injected line was the server's, not the client's
		if err := f.startTLS(); err != nil {
			return err
		}
		if _, err := f.expect("EHLO"); err != nil {
			return err
		}
		if err := f.say("250-mail.lab.test", "250 AUTH PLAIN"); err != nil {
			return err
		}
		if _, err := f.expect("QUIT"); err != nil {
			return err
		}
		return f.say("221 bye")
	})
	in := make(chan Input, 3)
	for _, l := range []string{"STARTTLS", "EHLO me.test", "QUIT"} {
		in <- Input{Line: l}
	}
	close(in)
	o := interactiveTestOptions(srv.addr, pki, protocol.SMTP)
	o.Driver = InteractiveDriver{Input: in, Opts: InteractiveOptions{Lockstep: true}}
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, dump(evs))
	}
	inj := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "smtp.note.response_injection_discarded" })
	b := find(evs, 0, isKind(wire.KindBoundary))
	st := find(evs, 0, isKind(wire.KindTLSState))
	if inj < 0 || b < inj || st < b || !evs[st].TLS.Verified || !strings.Contains(string(evs[inj].Raw), "250 injected") {
		t.Errorf("injection %d, boundary %d, state %d\n%s", inj, b, st, dump(evs))
	}
	if find(evs, 0, isLine(wire.ServerToClient, "250 injected")) >= 0 {
		t.Errorf("the injected line was read as a reply\n%s", dump(evs))
	}
	ehlo := find(evs, b, isLine(wire.ServerToClient, "250-mail.lab.test"))
	if ehlo < 0 || evs[ehlo].Layer != wire.LayerDecrypted || !slices.Contains(evs[ehlo].Line.Capabilities, "AUTH PLAIN") {
		t.Errorf("EHLO inside TLS %d\n%s", ehlo, dump(evs))
	}
}

// POP3 AUTH typed by hand in two steps: the server's "+ " is a
// continuation request (RFC 5034 §4), and the credential is decoded from
// the line that answers it.
func TestInteractivePOP3Continuation(t *testing.T) {
	pki := validPKI(t)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00correct-horse"))
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		for _, s := range []struct{ want, say string }{{"", "+OK hi"}, {"AUTH PLAIN", "+ "}, {plain, "+OK logged in"}, {"QUIT", "+OK bye"}} {
			if s.want != "" {
				if _, err := f.expect(s.want); err != nil {
					return err
				}
			}
			if err := f.say(s.say); err != nil {
				return err
			}
		}
		return nil
	})
	in := make(chan Input, 3)
	for _, l := range []string{"AUTH PLAIN", plain, "QUIT"} {
		in <- Input{Line: l}
	}
	close(in)
	o := interactiveTestOptions(srv.addr, pki, protocol.POP3)
	o.Driver = InteractiveDriver{Input: in, Opts: InteractiveOptions{Lockstep: true, ReplyWait: time.Second}}
	evs, err := run(t, o)
	srv.wait(t)
	if err != nil {
		t.Fatalf("%v\n%s", err, dump(evs))
	}
	c := find(evs, 0, isLine(wire.ServerToClient, "+ "))
	if c < 0 || evs[c].Annotation != "pop3.continuation" {
		t.Fatalf("continuation %d\n%s", c, dump(evs))
	}
	l := find(evs, c, isLine(wire.ClientToServer, plain))
	if l < 0 || evs[l].Credential == nil || evs[l].Credential.Password != "correct-horse" || evs[l].Annotation != "pop3.cmd.auth" {
		t.Errorf("the answer to the challenge: %+v\n%s", evs[l], dump(evs))
	}
	if find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == ExplainMalformed }) >= 0 {
		t.Errorf("the continuation was taken for a malformed response\n%s", dump(evs))
	}
}

// Prompt.Exposes follows the exchange: after AUTH LOGIN's challenges the
// second line is the password.
func TestPromptExposes(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		for _, s := range []struct{ want, say string }{{"", "220 hi"}, {"AUTH LOGIN", "334 VXNlcm5hbWU6"}, {"bGVhcm5lcg==", "334 UGFzc3dvcmQ6"}, {"*", "501 cancelled"}, {"QUIT", "221 bye"}} {
			if s.want != "" {
				if _, err := f.expect(s.want); err != nil {
					return err
				}
			}
			if err := f.say(s.say); err != nil {
				return err
			}
		}
		return nil
	})
	r := startPromptRun(t, interactiveTestOptions(srv.addr, pki, protocol.SMTP), InteractiveOptions{ConfirmCleartext: true})
	r.wait("the greeting", isLine(wire.ServerToClient, "220"))
	pass := base64.StdEncoding.EncodeToString([]byte("correct-horse"))
	if cr := r.p.Exposes("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00u\x00p"))); cr == nil || cr.Password != "p" {
		t.Errorf("AUTH PLAIN before TLS: %+v", cr)
	}
	if cr := r.p.Exposes("EHLO x"); cr != nil {
		t.Errorf("EHLO: %+v", cr)
	}
	r.send("AUTH LOGIN")
	r.wait("the first challenge", isLine(wire.ServerToClient, "334 VXN"))
	waitState(t, func() bool { return r.p.Exposes("bGVhcm5lcg==") == nil })
	r.send("bGVhcm5lcg==")
	r.wait("the second challenge", isLine(wire.ServerToClient, "334 UGF"))
	waitState(t, func() bool { cr := r.p.Exposes(pass); return cr != nil && cr.Password == "correct-horse" })
	r.send("*")
	r.wait("the cancel's answer", isLine(wire.ServerToClient, "501"))
	r.send("QUIT")
	evs := r.rest()
	srv.wait(t)
	if e := errorEvent(evs); e != nil {
		t.Errorf("error %+v", e)
	}
	if err := r.p.Send(Input{Line: "NOOP"}); !errors.Is(err, ErrSessionEnded) {
		t.Errorf("Send after the end: %v", err)
	}
}

// waitState waits for the driver to publish its state after an event.
func waitState(t *testing.T, ok func() bool) {
	t.Helper()
	for range 200 {
		if ok() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Error("the prompt's state did not follow")
}

func TestHelperLines(t *testing.T) {
	b := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	h := AuthHelp{User: "tim", Password: "tanstaaftanstaaf", Tag: "a4"}
	for _, c := range []struct {
		proto, mech string
		saslIR      bool
		want        []authStep
	}{
		// RFC 4616 §4's example: "\0tim\0tanstaaftanstaaf".
		{protocol.SMTP, "plain", false, []authStep{{line: "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm"}}},
		{protocol.SMTP, "LOGIN", false, []authStep{{line: "AUTH LOGIN"}, {line: b("tim")}, {line: b("tanstaaftanstaaf")}}},
		{protocol.POP3, "PLAIN", false, []authStep{{line: "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm"}}},
		{protocol.POP3, "USER", false, []authStep{{line: "USER tim"}, {line: "PASS tanstaaftanstaaf", afterOK: true}}},
		{protocol.IMAP, "LOGIN", false, []authStep{{line: `a4 LOGIN "tim" "tanstaaftanstaaf"`}}},
		{protocol.IMAP, "PLAIN", true, []authStep{{line: "a4 AUTHENTICATE PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm"}}},
		{protocol.IMAP, "PLAIN", false, []authStep{{line: "a4 AUTHENTICATE PLAIN"}, {line: "AHRpbQB0YW5zdGFhZnRhbnN0YWFm"}}},
	} {
		h.Mechanism = c.mech
		got, err := helperLines(c.proto, h, c.saslIR)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s %s: %+v, %v; want %+v", c.proto, c.mech, got, err, c.want)
		}
	}
	q, _ := helperLines(protocol.IMAP, AuthHelp{Mechanism: "LOGIN", User: `a"b`, Password: `c\d`, Tag: "t"}, false)
	if q[0].line != `t LOGIN "a\"b" "c\\d"` {
		t.Errorf("IMAP quoting: %q", q[0].line)
	}
	for _, bad := range []AuthHelp{
		{Mechanism: "CRAM-MD5", User: "u", Password: "p"},
		{Mechanism: "PLAIN", User: "", Password: "p"},
		{Mechanism: "PLAIN", User: "u", Password: "p\r\nQUIT"},
		{Mechanism: "PLAIN", User: "u\x00v", Password: "p"},
	} {
		if _, err := helperLines(protocol.SMTP, bad, false); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := helperLines(protocol.SMTP, AuthHelp{Mechanism: "USER", User: "u", Password: "p"}, false); err == nil {
		t.Error("USER is POP3's")
	}
}

func TestReadLines(t *testing.T) {
	read := func(in string, limit int) []Input {
		ch := make(chan Input)
		go readLines(context.Background(), strings.NewReader(in), limit, ch)
		var out []Input
		for x := range ch {
			out = append(out, x)
		}
		return out
	}
	got := read("EHLO a\r\nSTARTTLS\n\nQUIT", 64)
	want := []string{"EHLO a", "STARTTLS", "", "QUIT"}
	if len(got) != len(want) {
		t.Fatalf("%+v", got)
	}
	for i := range want {
		if got[i].Line != want[i] || got[i].Err != nil {
			t.Errorf("line %d: %+v, want %q", i, got[i], want[i])
		}
	}
	got = read("EHLO a\r\n"+strings.Repeat("x", 100)+"\r\nQUIT\r\n", 64)
	if len(got) != 2 || got[0].Line != "EHLO a" || got[1].Err == nil || !strings.Contains(got[1].Err.Error(), "longer than 62 bytes") {
		t.Errorf("too long: %+v", got)
	}
}

// A note about a line never quotes it: the line may carry a password.
func TestInteractiveNoReplyNoteHidesLine(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("* OK ready"); err != nil {
			return err
		}
		if _, err := f.expect(`a1 LOGIN`); err != nil {
			return err
		}
		f.drain() // never answers
		return nil
	})
	in := make(chan Input, 1)
	in <- Input{Line: `a1 LOGIN "learner" "s3cret-pass"`, ConfirmCleartext: true}
	close(in)
	o := interactiveTestOptions(srv.addr, pki, protocol.IMAP)
	o.Driver = InteractiveDriver{Input: in, Opts: InteractiveOptions{Lockstep: true, ReplyWait: 100 * time.Millisecond}}
	evs, _ := run(t, o)
	srv.wait(t)
	n := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == AnnInteractiveNoReply })
	if n < 0 || !strings.Contains(evs[n].Text, "a1 LOGIN") {
		t.Fatalf("no note naming the command\n%s", dump(evs))
	}
	for _, ev := range evs {
		if ev.Kind != wire.KindLine && strings.Contains(ev.Text, "s3cret-pass") {
			t.Errorf("%s %q quotes the password", ev.Kind, ev.Text)
		}
	}
}

// A typed IMAP session keeps within the budget what a literal of any size
// brings, as the scripted session does: a 3 MiB literal (over the strict
// reader's 1 MiB) is read and counted, the event keeps Budget.Literal
// bytes of it and says how many crossed, and the session goes on.
func TestInteractiveIMAPHugeLiteral(t *testing.T) {
	pki := validPKI(t)
	const size = 3 << 20
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		if err := f.say("* OK ready"); err != nil {
			return err
		}
		if _, err := f.expect("a1 FETCH"); err != nil {
			return err
		}
		if err := f.write([]byte(fmt.Sprintf("* 1 FETCH (BODY[] {%d}\r\n", size))); err != nil {
			return err
		}
		if err := f.write(bytes.Repeat([]byte("x"), size)); err != nil {
			return err
		}
		if err := f.say(")", "a1 OK FETCH completed"); err != nil {
			return err
		}
		if _, err := f.expect("a2 LOGOUT"); err != nil {
			return err
		}
		return f.say("* BYE bye", "a2 OK LOGOUT completed")
	})
	o := interactiveTestOptions(srv.addr, pki, protocol.IMAP)
	r := startPromptRun(t, o, InteractiveOptions{})
	r.wait("the greeting", isLine(wire.ServerToClient, "* OK ready"))
	r.send("a1 FETCH 1 BODY[]")
	r.wait("the FETCH completion", isLine(wire.ServerToClient, "a1 OK"))
	r.send("a2 LOGOUT")
	evs := r.rest()
	srv.wait(t)
	if e := errorEvent(evs); e != nil {
		t.Fatalf("error %+v", e)
	}
	i := find(evs, 0, isLine(wire.ServerToClient, "* 1 FETCH"))
	if i < 0 {
		t.Fatalf("no FETCH response\n%s", dump(evs))
	}
	budget := wire.DefaultBudget()
	if ev := evs[i]; ev.RawLen < size || len(ev.Raw) > budget.EventBytes {
		t.Errorf("FETCH event keeps %d bytes, says %d crossed; want at most %d kept of more than %d", len(ev.Raw), ev.RawLen, budget.EventBytes, size)
	}
}
