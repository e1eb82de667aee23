package sessions_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// End-to-end: the interactive driver (mailwire connect's prompt and piped
// mode) against the lab's servers.

// interactiveOptions are lab options for a session driven by typed lines:
// no credentials in the options (the helper gets them from the input), a
// short reply wait.
func interactiveOptions(t *testing.T, l *lab.Lab, port int) sessions.Options {
	t.Helper()
	o := labOptions(t, l, port)
	o.Username, o.Password, o.To, o.Fetch = "", "", "", false
	return o
}

// playLines runs an interactive session in lockstep over the given inputs,
// then EOF.
func playLines(t *testing.T, o sessions.Options, io sessions.InteractiveOptions, inputs ...sessions.Input) ([]wire.Event, error) {
	t.Helper()
	in := make(chan sessions.Input, len(inputs))
	for _, x := range inputs {
		in <- x
	}
	close(in)
	o.Driver = sessions.InteractiveDriver{Input: in, Opts: io}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs, err := sessions.Collect(ctx, o)
	checkEventAnnotations(t, evs) // every key the session wrote resolves in content
	return evs, err
}

func lines(ss ...string) []sessions.Input {
	out := make([]sessions.Input, len(ss))
	for i, s := range ss {
		out[i] = sessions.Input{Line: s}
	}
	return out
}

// sentLines are the lines the client put on the wire, as sent.
func sentLines(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer {
			out = append(out, strings.TrimSuffix(string(ev.Raw), "\r\n"))
		}
	}
	return out
}

func hasNote(evs []wire.Event, ann string) bool {
	return slices.ContainsFunc(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindNote && ev.Annotation == ann })
}

func errorsOf(evs []wire.Event) []wire.Event {
	var out []wire.Event
	for _, ev := range evs {
		if ev.Kind == wire.KindError {
			out = append(out, ev)
		}
	}
	return out
}

// reply returns the first server line event whose text starts with prefix
// after event index from, and its index.
func replyAfter(evs []wire.Event, from int, prefix string) (int, *wire.Event) {
	for i := from; i < len(evs); i++ {
		ev := &evs[i]
		if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && strings.HasPrefix(ev.Text, prefix) {
			return i, ev
		}
	}
	return -1, nil
}

// assertSecretsHidden fails when a form of the password is in a byte an
// observer on the path could read.
func assertSecretsHidden(t *testing.T, evs []wire.Event, user, password string) {
	t.Helper()
	for _, ev := range evs {
		if ev.Visible != wire.VisibleAnyone {
			continue
		}
		for _, s := range secretsOf(user, password) {
			if bytes.Contains(ev.Raw, s) || strings.Contains(ev.Text, string(s)) {
				t.Errorf("event %d (%s %q) carries the password in cleartext", ev.Seq, ev.Kind, ev.Text)
			}
		}
	}
}

func TestInteractiveLabSMTP(t *testing.T) {
	l := startLab(t)
	for _, mech := range []string{protocol.AuthPlain, protocol.AuthLogin} {
		t.Run(mech, func(t *testing.T) {
			o := interactiveOptions(t, l, 587)
			in := lines("EHLO me.test", "STARTTLS", "EHLO me.test")
			in = append(in, sessions.Input{Auth: &sessions.AuthHelp{Mechanism: mech, User: lab.DemoUser, Password: lab.DemoPassword}})
			in = append(in, lines("QUIT")...)
			evs, err := playLines(t, o, sessions.InteractiveOptions{Lockstep: true}, in...)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			// Exactly what was typed, and the helper's lines, nothing else.
			want := []string{"EHLO me.test", "STARTTLS", "EHLO me.test"}
			if mech == protocol.AuthPlain {
				want = append(want, "AUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==")
			} else {
				want = append(want, "AUTH LOGIN", "bGVhcm5lcg==", "Y29ycmVjdC1ob3JzZQ==")
			}
			want = append(want, "QUIT")
			if got := sentLines(evs); !slices.Equal(got, want) {
				t.Errorf("sent %q, want %q\n%s", got, want, text(evs))
			}
			b := annotated(evs, "tls.boundary.starttls")
			st := annotated(evs, "tls.state")
			if b == nil || st == nil || !st.TLS.Verified {
				t.Fatalf("no verified STARTTLS\n%s", text(evs))
			}
			if !hasNote(evs, sessions.AnnInteractiveAfterSTARTTLS) {
				t.Errorf("no note on asking EHLO again inside TLS\n%s", text(evs))
			}
			// Both EHLO replies carry their capabilities; STARTTLS is
			// offered outside TLS only, AUTH inside only.
			i, first := replyAfter(evs, 0, "250-")
			_, second := replyAfter(evs, int(b.Seq), "250-")
			if first == nil || second == nil || !slices.Contains(first.Line.Capabilities, "STARTTLS") ||
				!slices.ContainsFunc(second.Line.Capabilities, func(c string) bool { return strings.HasPrefix(c, "AUTH ") }) {
				t.Errorf("EHLO capabilities %v then %v\n%s", first, second, text(evs))
			}
			_ = i
			var cred *wire.Credential
			for _, ev := range evs {
				if ev.Credential != nil && ev.Credential.Password != "" {
					cred = ev.Credential
					if !slices.Contains(ev.Also, sessions.AnnInteractiveAuthHelper) {
						t.Errorf("the helper's line is not marked as the helper's: %v", ev.Also)
					}
				}
			}
			if cred == nil || cred.OnWire || cred.Username != lab.DemoUser || cred.Password != lab.DemoPassword {
				t.Errorf("credential %+v, want the demo login, inside TLS", cred)
			}
			if _, ok := replyAfter(evs, 0, "235"); ok == nil {
				t.Errorf("no 235\n%s", text(evs))
			}
			if errs := errorsOf(evs); len(errs) > 0 {
				t.Errorf("errors: %v", errs)
			}
			if c := evs[len(evs)-1]; c.Kind != wire.KindClose || !strings.HasPrefix(c.Text, "client closed the connection;") {
				t.Errorf("close %q: want a client that ended the protocol", c.Text)
			}
			if fs := sessions.Findings(evs); len(fs) > 0 {
				t.Errorf("findings %+v", fs)
			}
			assertSecretsHidden(t, evs, lab.DemoUser, lab.DemoPassword)
		})
	}
}

func TestInteractiveLabPOP3STLS(t *testing.T) {
	l := startLab(t)
	o := interactiveOptions(t, l, 110)
	in := lines("CAPA", "STLS", "CAPA")
	in = append(in, sessions.Input{Auth: &sessions.AuthHelp{Mechanism: "USER", User: lab.DemoUser, Password: lab.DemoPassword}})
	in = append(in, lines("STAT", "QUIT")...)
	evs, err := playLines(t, o, sessions.InteractiveOptions{Lockstep: true}, in...)
	if err != nil {
		t.Fatalf("%v\n%s", err, text(evs))
	}
	want := []string{"CAPA", "STLS", "CAPA", "USER learner", "PASS correct-horse", "STAT", "QUIT"}
	if got := sentLines(evs); !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q\n%s", got, want, text(evs))
	}
	if st := annotated(evs, "tls.state"); st == nil || !st.TLS.Verified {
		t.Fatalf("no verified TLS\n%s", text(evs))
	}
	// CAPA is read as the multi-line response it is (RFC 2449 §5).
	n := 0
	for _, ev := range evs {
		if ev.Line != nil && ev.Dir == wire.ServerToClient && len(ev.Line.Capabilities) > 0 {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d CAPA responses with capabilities, want 2\n%s", n, text(evs))
	}
	if g := annotated(evs, "pop3.greeting"); g == nil {
		t.Errorf("no greeting\n%s", text(evs))
	}
	if errs := errorsOf(evs); len(errs) > 0 {
		t.Errorf("errors: %v", errs)
	}
	assertSecretsHidden(t, evs, lab.DemoUser, lab.DemoPassword)
}

func TestInteractiveLabIMAPSTARTTLS(t *testing.T) {
	l := startLab(t)
	for _, mech := range []string{"LOGIN", protocol.AuthPlain} {
		t.Run(mech, func(t *testing.T) {
			o := interactiveOptions(t, l, 143)
			in := lines("a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY")
			in = append(in, sessions.Input{Auth: &sessions.AuthHelp{Mechanism: mech, User: lab.DemoUser, Password: lab.DemoPassword, Tag: "a4"}})
			in = append(in, lines("a5 LOGOUT")...)
			evs, err := playLines(t, o, sessions.InteractiveOptions{Lockstep: true}, in...)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			sent := sentLines(evs)
			if len(sent) < 5 || sent[0] != "a1 CAPABILITY" || sent[1] != "a2 STARTTLS" || sent[2] != "a3 CAPABILITY" ||
				!strings.HasPrefix(sent[3], "a4 ") || sent[len(sent)-1] != "a5 LOGOUT" {
				t.Errorf("sent %q\n%s", sent, text(evs))
			}
			if st := annotated(evs, "tls.state"); st == nil || !st.TLS.Verified {
				t.Fatalf("no verified TLS\n%s", text(evs))
			}
			if _, ok := replyAfter(evs, 0, "a4 OK"); ok == nil {
				t.Errorf("the login was not accepted\n%s", text(evs))
			}
			if errs := errorsOf(evs); len(errs) > 0 {
				t.Errorf("errors: %v", errs)
			}
			if c := evs[len(evs)-1]; !strings.HasPrefix(c.Text, "client closed the connection;") {
				t.Errorf("close %q", c.Text)
			}
			assertSecretsHidden(t, evs, lab.DemoUser, lab.DemoPassword)
		})
	}
}

// Implicit TLS: the handshake comes before the greeting and the prompt.
func TestInteractiveLabImplicit(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		port  int
		lines []string
	}{
		{465, []string{"EHLO me.test", "QUIT"}},
		{995, []string{"CAPA", "QUIT"}},
		{993, []string{"x CAPABILITY", "y LOGOUT"}},
	} {
		evs, err := playLines(t, interactiveOptions(t, l, tc.port), sessions.InteractiveOptions{Lockstep: true}, lines(tc.lines...)...)
		if err != nil {
			t.Fatalf("%d: %v\n%s", tc.port, err, text(evs))
		}
		b := annotated(evs, "tls.boundary.implicit")
		first, _ := replyAfter(evs, 0, "")
		if b == nil || first < 0 || int(b.Seq) > int(evs[first].Seq) || evs[first].Layer != wire.LayerDecrypted {
			t.Errorf("%d: TLS does not come first\n%s", tc.port, text(evs))
		}
		if !slices.Equal(sentLines(evs), tc.lines) {
			t.Errorf("%d: sent %q", tc.port, sentLines(evs))
		}
	}
}

// The helper sends no password before TLS against a server that is not
// the lab (AllowCleartextAuth off), and says why; a line typed by hand
// goes, after a warning, or is held until confirmed.
func TestInteractiveCleartextPasswords(t *testing.T) {
	l := startLab(t)
	helper := sessions.Input{Auth: &sessions.AuthHelp{Mechanism: protocol.AuthPlain, User: lab.DemoUser, Password: lab.DemoPassword}}
	typed := "AUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ=="

	t.Run("helper refuses", func(t *testing.T) {
		evs, err := playLines(t, interactiveOptions(t, l, 587), sessions.InteractiveOptions{Lockstep: true},
			sessions.Input{Line: "EHLO me.test"}, helper, sessions.Input{Line: "QUIT"})
		if err != nil {
			t.Fatalf("%v\n%s", err, text(evs))
		}
		if got := sentLines(evs); !slices.Equal(got, []string{"EHLO me.test", "QUIT"}) {
			t.Errorf("sent %q", got)
		}
		if !hasNote(evs, sessions.AnnInteractiveHelperRefused) {
			t.Errorf("no refusal note\n%s", text(evs))
		}
		assertSecretsHidden(t, evs, lab.DemoUser, lab.DemoPassword)
	})
	t.Run("helper on the lab", func(t *testing.T) {
		o := interactiveOptions(t, l, 25)
		o.AllowCleartextAuth = true // the lab's demo password is public
		evs, _ := playLines(t, o, sessions.InteractiveOptions{Lockstep: true},
			sessions.Input{Line: "EHLO me.test"}, helper, sessions.Input{Line: "QUIT"})
		if got := sentLines(evs); len(got) != 3 || !strings.HasPrefix(got[1], "AUTH PLAIN ") {
			t.Errorf("sent %q\n%s", got, text(evs))
		}
		if !hasNote(evs, sessions.AnnInteractiveCleartext) {
			t.Errorf("no warning before the cleartext password\n%s", text(evs))
		}
	})
	t.Run("typed, warned", func(t *testing.T) {
		evs, _ := playLines(t, interactiveOptions(t, l, 25), sessions.InteractiveOptions{Lockstep: true},
			lines("EHLO me.test", typed, "QUIT")...)
		w := annotated(evs, sessions.AnnInteractiveCleartext)
		var line *wire.Event
		for i := range evs {
			if evs[i].Credential != nil && evs[i].Credential.Password != "" {
				line = &evs[i]
			}
		}
		if w == nil || line == nil || w.Seq > line.Seq || !line.Credential.OnWire {
			t.Fatalf("warning %v before the line %v\n%s", w, line, text(evs))
		}
		fs := sessions.Findings(evs)
		if len(fs) != 1 || fs[0].Kind != sessions.FindingCleartextCredential {
			t.Errorf("findings %+v, want the cleartext credential", fs)
		}
	})
	t.Run("typed, held", func(t *testing.T) {
		io := sessions.InteractiveOptions{Lockstep: true, ConfirmCleartext: true}
		evs, _ := playLines(t, interactiveOptions(t, l, 25), io, lines("EHLO me.test", typed, "QUIT")...)
		if got := sentLines(evs); !slices.Equal(got, []string{"EHLO me.test", "QUIT"}) {
			t.Errorf("sent %q", got)
		}
		if !hasNote(evs, sessions.AnnInteractiveCleartextHeld) {
			t.Errorf("no held note\n%s", text(evs))
		}
		evs, _ = playLines(t, interactiveOptions(t, l, 25), io,
			sessions.Input{Line: "EHLO me.test"}, sessions.Input{Line: typed, ConfirmCleartext: true}, sessions.Input{Line: "QUIT"})
		if got := sentLines(evs); len(got) != 3 || got[1] != typed {
			t.Errorf("confirmed: sent %q", got)
		}
	})
}

// EOF on the input ends the session politely: the last answer is read,
// nothing is sent that was not typed, TLS ends with close_notify.
func TestInteractiveEOFEndsPolitely(t *testing.T) {
	l := startLab(t)
	evs, err := playLines(t, interactiveOptions(t, l, 587), sessions.InteractiveOptions{Lockstep: true},
		lines("EHLO me.test", "STARTTLS", "EHLO me.test")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, text(evs))
	}
	if got := sentLines(evs); !slices.Equal(got, []string{"EHLO me.test", "STARTTLS", "EHLO me.test"}) {
		t.Errorf("sent %q", got)
	}
	n := annotated(evs, sessions.AnnInteractiveInputEnded)
	last, _ := replyAfter(evs, 0, "250 ")
	for i := last + 1; i < len(evs); i++ {
		if _, r := replyAfter(evs, i, "250"); r != nil {
			last = i
		}
	}
	if n == nil || last < 0 || n.Seq < evs[last].Seq {
		t.Errorf("the note comes before the last answer was read\n%s", text(evs))
	}
	// After the note: the client's close_notify, an encrypted record.
	alert := false
	for _, ev := range evs {
		if ev.Seq > n.Seq && ev.Dir == wire.ClientToServer && (ev.Kind == wire.KindEncrypted || ev.Kind == wire.KindRecord) {
			alert = true
		}
	}
	if !alert {
		t.Errorf("no TLS record from the client after the end of input (close_notify)\n%s", text(evs))
	}
	if c := evs[len(evs)-1]; c.Kind != wire.KindClose || !strings.Contains(c.Text, "without ending the protocol") {
		t.Errorf("close %q", c.Text)
	}
}

// Piped lines: StreamLines reads them from a reader, CRLF or LF, the last
// one without a line end.
func TestInteractiveStreamLinesLab(t *testing.T) {
	l := startLab(t)
	o := interactiveOptions(t, l, 25)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var evs []wire.Event
	for ev := range sessions.StreamLines(ctx, o, strings.NewReader("EHLO me.test\r\nSTARTTLS\nEHLO me.test\r\nQUIT"), sessions.InteractiveOptions{Lockstep: true}) {
		evs = append(evs, ev)
	}
	if got := sentLines(evs); !slices.Equal(got, []string{"EHLO me.test", "STARTTLS", "EHLO me.test", "QUIT"}) {
		t.Errorf("sent %q\n%s", got, text(evs))
	}
	if errs := errorsOf(evs); len(errs) > 0 || annotated(evs, "tls.state") == nil {
		t.Errorf("errors %v\n%s", errs, text(evs))
	}
}

// Every key the interactive driver writes leads to its own prose.
func TestInteractiveKeysHaveEntries(t *testing.T) {
	for _, k := range append(sessions.InteractiveAnnotationKeys(), "pop3.continuation", "smtp.cmd.unknown", "pop3.cmd.unknown", "imap.cmd.unknown") {
		assertOwnEntry(t, k)
	}
}
