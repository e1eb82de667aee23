package sessions_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Nothing with side effects unless asked: without Options.To an SMTP
// session sends no message, without Options.Fetch a POP3 or IMAP session
// reads nothing, and Options.StopAfter ends a session on purpose, cleanly.

// clientCommands lists the verbs the client sent, in order.
func clientCommands(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Line != nil && ev.Line.Command != "" {
			out = append(out, ev.Line.Command)
		}
	}
	return out
}

// checkClean: no error, the protocol's goodbye answered, the close says
// the client ended it.
func checkClean(t *testing.T, evs []wire.Event, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("session failed: %v\n%s", err, text(evs))
	}
	for _, ev := range evs {
		if ev.Kind == wire.KindError {
			t.Fatalf("error event %q\n%s", ev.Text, text(evs))
		}
	}
	last := evs[len(evs)-1]
	if last.Kind != wire.KindClose || !strings.HasPrefix(last.Text, "client closed the connection;") {
		t.Errorf("close %q, want the client's own end\n%s", last.Text, text(evs))
	}
}

func TestLabNoSideEffectsUnlessAsked(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		port int
		want []string // the client's commands, in order
		note string   // the note saying what was left out
	}{
		{25, []string{"EHLO", "STARTTLS", "EHLO", "QUIT"}, "smtp.note.no_message"},
		{587, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"}, "smtp.note.no_message"},
		{465, []string{"EHLO", "AUTH", "QUIT"}, "smtp.note.no_message"},
		{110, []string{"CAPA", "STLS", "CAPA", "USER", "PASS", "QUIT"}, "pop3.note.no_fetch"},
		{995, []string{"CAPA", "USER", "PASS", "QUIT"}, "pop3.note.no_fetch"},
		{143, []string{"CAPABILITY", "STARTTLS", "CAPABILITY", "LOGIN", "LOGOUT"}, "imap.note.no_fetch"},
		{993, []string{"CAPABILITY", "LOGIN", "LOGOUT"}, "imap.note.no_fetch"},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.To, o.Fetch = "", false
			evs, err := sessions.Collect(context.Background(), o)
			checkClean(t, evs, err)
			if got := clientCommands(evs); !slices.Equal(got, tc.want) {
				t.Errorf("client sent %q, want %q\n%s", got, tc.want, text(evs))
			}
			if annotated(evs, tc.note) == nil {
				t.Errorf("no %s note\n%s", tc.note, text(evs))
			}
			if f := sessions.Findings(evs); len(f) != 0 {
				t.Errorf("findings on a healthy session: %+v", f)
			}
		})
	}
	// Without credentials a submission session does not AUTH either:
	// greeting, EHLO, STARTTLS, EHLO, QUIT.
	t.Run("587 without credentials", func(t *testing.T) {
		o := labOptions(t, l, 587)
		o.To, o.Fetch, o.Username, o.Password = "", false, "", ""
		evs, err := sessions.Collect(context.Background(), o)
		checkClean(t, evs, err)
		if got, want := clientCommands(evs), []string{"EHLO", "STARTTLS", "EHLO", "QUIT"}; !slices.Equal(got, want) {
			t.Errorf("client sent %q, want %q", got, want)
		}
		if n := annotated(evs, "smtp.note.no_credentials"); n == nil || strings.Contains(n.Text, "relay") || strings.Contains(n.Text, "user") {
			t.Errorf("no-credentials note %+v: without a message there is nothing to relay", n)
		}
	})
	// A user name without a password (mailwire connect --user, no
	// $MAILWIRE_PASSWORD): no login either, and the note says a user was
	// given, not that there were no credentials.
	for _, port := range []int{587, 143, 110} {
		t.Run(strconv.Itoa(port)+" user without a password", func(t *testing.T) {
			o := labOptions(t, l, port)
			o.To, o.Fetch, o.Username, o.Password, o.UserWithoutPassword = "", false, "", "", "me\x1b[2J"
			evs, err := sessions.Collect(context.Background(), o)
			checkClean(t, evs, err)
			n := annotated(evs, o.Proto+".note.no_credentials")
			if n == nil || !strings.HasPrefix(n.Text, "user me") || !strings.Contains(n.Text, "given without a password: not ") ||
				strings.Contains(n.Text, "no credentials") || strings.Contains(n.Text, "\x1b") {
				t.Errorf("note %+v", n)
			}
			for _, c := range clientCommands(evs) {
				if c == "AUTH" || c == "USER" || c == "PASS" || strings.HasSuffix(c, "LOGIN") {
					t.Errorf("client sent %s", c)
				}
			}
		})
	}
}

func TestLabStopAfter(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		port  int
		stage sessions.Stage
		want  []string
	}{
		{587, sessions.StageConnect, []string{"QUIT"}},
		{587, sessions.StageTLS, []string{"EHLO", "STARTTLS", "EHLO", "QUIT"}},
		{587, sessions.StageAuth, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"}},
		{465, sessions.StageConnect, []string{"QUIT"}},
		{465, sessions.StageTLS, []string{"EHLO", "QUIT"}},
		{25, sessions.StageAuth, []string{"EHLO", "STARTTLS", "EHLO", "QUIT"}},
		{110, sessions.StageConnect, []string{"QUIT"}},
		{110, sessions.StageTLS, []string{"CAPA", "STLS", "CAPA", "QUIT"}},
		{110, sessions.StageAuth, []string{"CAPA", "STLS", "CAPA", "USER", "PASS", "QUIT"}},
		{995, sessions.StageTLS, []string{"CAPA", "QUIT"}},
		{143, sessions.StageConnect, []string{"LOGOUT"}},
		{143, sessions.StageTLS, []string{"CAPABILITY", "STARTTLS", "CAPABILITY", "LOGOUT"}},
		{143, sessions.StageAuth, []string{"CAPABILITY", "STARTTLS", "CAPABILITY", "LOGIN", "LOGOUT"}},
		{993, sessions.StageAuth, []string{"CAPABILITY", "LOGIN", "LOGOUT"}},
		{443, sessions.StageTLS, nil},
	} {
		t.Run(strconv.Itoa(tc.port)+"/"+string(tc.stage), func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.StopAfter = tc.stage // the demo (To, Fetch) is set, and must not run
			evs, err := sessions.Collect(context.Background(), o)
			checkClean(t, evs, err)
			if got := clientCommands(evs); !slices.Equal(got, tc.want) {
				t.Errorf("client sent %q, want %q\n%s", got, tc.want, text(evs))
			}
			n := annotated(evs, sessions.ExplainStoppedOnRequest)
			if n == nil || !strings.Contains(n.Text, "after the "+string(tc.stage)+" stage") {
				t.Fatalf("stop note %+v\n%s", n, text(evs))
			}
			if tc.stage == sessions.StageTLS && annotated(evs, "tls.state") == nil {
				t.Errorf("stopped after tls without TLS\n%s", text(evs))
			}
		})
	}
	// Without TLS the tls stage ends where TLS would have begun.
	t.Run("587 none/tls", func(t *testing.T) {
		o := labOptions(t, l, 587)
		o.TLSMode, o.StopAfter = sessions.TLSNone, sessions.StageTLS
		evs, err := sessions.Collect(context.Background(), o)
		checkClean(t, evs, err)
		if got, want := clientCommands(evs), []string{"EHLO", "QUIT"}; !slices.Equal(got, want) {
			t.Errorf("client sent %q, want %q", got, want)
		}
		if n := annotated(evs, sessions.ExplainStoppedOnRequest); n == nil || !strings.Contains(n.Text, "did not start TLS") {
			t.Errorf("stop note %+v", n)
		}
	})
}

func TestStopAfterValidation(t *testing.T) {
	for _, tc := range []struct {
		o    sessions.Options
		want string
	}{
		{sessions.Options{Target: "h:587", StopAfter: "data"}, `stop after "data"`},
		{sessions.Options{Target: "h:443", Proto: protocol.HTTPS, StopAfter: sessions.StageAuth}, "HTTPS has no login"},
	} {
		err := tc.o.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
	for _, st := range sessions.Stages {
		if err := (sessions.Options{Target: "h:587", StopAfter: st}).Validate(); err != nil {
			t.Errorf("stage %q: %v", st, err)
		}
	}
}
