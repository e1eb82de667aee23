package tui

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The hostile-server suite through the session screen (issue 5 §1): the
// events of a real session against every lab.HostileCase are delivered to
// the screen, every row is selected in turn in both lenses (so each
// event's detail pane is rendered), and no frame may carry a control byte
// from the peer. The engine and printer side is sessions/hostile_test.go.

// viewSGR matches the SGR sequences lipgloss styles the view with.
var viewSGR = regexp.MustCompile(`\x1b\[[0-9;:]*m`)

// liveControl describes the first thing in frame, outside the view's own
// SGR styling, that a terminal would act on: ESC, BEL, another C0 control
// but LF and TAB, DEL, a C1 rune, or invalid UTF-8 (a raw 0x9b is invalid
// UTF-8). "" means the frame is inert.
func liveControl(frame string) string {
	s := viewSGR.ReplaceAllString(frame, "")
	if !utf8.ValidString(s) {
		return "invalid UTF-8"
	}
	for i, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
			return fmt.Sprintf("control U+%04X at %d: %q", r, i, s[max(0, i-60):min(len(s), i+60)])
		}
	}
	return ""
}

func assertInertView(t *testing.T, what, frame string) bool {
	t.Helper()
	if msg := liveControl(frame); msg != "" {
		t.Errorf("%s: %s", what, msg)
		return false
	}
	return true
}

// TestLiveControlCatches: the check above can fail.
func TestLiveControlCatches(t *testing.T) {
	for _, bad := range []string{
		"ok \x1b]52;c;Zm9v\x07", "\x1b[2J", "title\x07", "nul\x00", "\u009b31m", "raw \x9b", "\x1b[200~", "del\x7f", "cr\r",
	} {
		if liveControl(bad) == "" {
			t.Errorf("%q passed as inert", bad)
		}
	}
	for _, good := range []string{"\x1b[1;38;5;202mstyled\x1b[m \\x1b]52 shown escaped\n\tnext", "• ═ ⋯ →"} {
		if msg := liveControl(good); msg != "" {
			t.Errorf("%q: %s", good, msg)
		}
	}
}

func hostileEvents(t *testing.T, c lab.HostileCase) []wire.Event {
	t.Helper()
	s, err := lab.StartHostile(context.Background(), c.Name, lab.HostileOptions{
		MaxConns: 1, Lifetime: 20 * time.Second, ConnTimeout: 10 * time.Second, TrickleInterval: 40 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	o := sessions.Options{
		Target: s.Addr(), Proto: c.Proto, TLSMode: sessions.TLSMode(c.TLS),
		ServerName: lab.Hostname, Verify: wire.VerifyPool, RootCAs: s.RootCAs(),
		Username: lab.DemoUser, Password: lab.DemoPassword,
		// Short limits: the outcomes are tested in package sessions;
		// here only what reaches the screen matters.
		DialTimeout: time.Second, ReadTimeout: 200 * time.Millisecond, SessionTimeout: time.Second,
	}
	evs, _ := sessions.Collect(context.Background(), o)
	return evs
}

func TestSessionScreenHostile(t *testing.T) {
	cases := lab.HostileCases()
	if testing.Short() {
		cases = cases[:10]
	}
	// Sessions in parallel first; the screen then sequentially, since the
	// test's command pump gives each command only 100ms.
	streams := make([][]wire.Event, len(cases))
	t.Run("sessions", func(t *testing.T) {
		for i, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				t.Parallel()
				streams[i] = hostileEvents(t, c)
			})
		}
	})
	for i, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			evs := streams[i]
			if len(evs) == 0 {
				t.Fatal("no events")
			}
			f := &fakeSessions{evs: evs}
			m := newSessionModel(t, 120, 40, f)
			s := session(m)
			// The screen ends as the session did: failed on an error
			// event, whose text (sanitized) is on screen when selected.
			want, errText := stateDone, ""
			for _, ev := range evs {
				if ev.Kind == wire.KindError {
					want, errText = stateFailed, wire.SafeString(ev.Text)
					break
				}
			}
			if s.state != want || len(s.evs) != len(evs) {
				t.Fatalf("state %v with %d of %d events; want %v", s.state, len(s.evs), len(evs), want)
			}
			errShown := errText == ""
			for _, lensName := range []string{"endpoint", "eavesdropper"} {
				// Every row of the first 150 (a long stream of records:
				// the rest are alike), then the last ones.
				mustUpdate(t, m, keyText('g'))
				for i := 0; i <= len(s.tl.rows); i++ {
					if i == 150 && len(s.tl.rows) > 160 {
						mustUpdate(t, m, keyText('G'))
						i = len(s.tl.rows) - 2
					}
					frame := m.View().Content
					if !assertInertView(t, lensName, frame) {
						return
					}
					if !errShown && strings.Contains(flatten(frame), errText[:min(len(errText), 40)]) {
						errShown = true
					}
					mustUpdate(t, m, keyCode(tea.KeyDown))
				}
				mustUpdate(t, m, keyCode(tea.KeyTab)) // the other lens
			}
			if !errShown {
				t.Errorf("the error %q is never on screen", errText)
			}
			// Passwords shown: still nothing live from the peer.
			mustUpdate(t, m, keyText('p'))
			assertInertView(t, "reveal", m.View().Content)
		})
	}
}
