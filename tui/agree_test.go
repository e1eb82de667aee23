package tui

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The session screen's side of issue 10's property (the printers' side is
// in sessions/render): in the eavesdropper lens, at every event of a lab
// session on every port and TLS version and of every scenario, the "learned
// so far" pane says what the lens observed up to that event on that
// event's connection, in render.Learned's words, and the screen shows no
// line that only the endpoints read.
func TestEavesdropperPaneAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("runs sessions and scenarios against the lab")
	}
	dir := t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	env := scenario.LabEnv(l, dir)
	env.ReadTimeout, env.SessionTimeout = 5*time.Second, 30*time.Second

	streams := map[string][]wire.Event{}
	for _, port := range []int{587, 465, 143, 993, 110, 995, 25, 443} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			ep, _ := l.Endpoint(port)
			o, err := sessions.OptionsForPort(ep.Addr, port)
			if err != nil {
				t.Fatal(err)
			}
			o.ServerName, o.Verify, o.RootCAs = lab.Hostname, wire.VerifyPool, l.RootCAs()
			o.Username, o.Password, o.EHLOName = lab.DemoUser, lab.DemoPassword, lab.DemoClientName
			o.To, o.Fetch, o.MaxTLS = env.Recipient, true, ver
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%d: %v", port, err)
			}
			streams[fmt.Sprintf("%d %s", port, tls.VersionName(ver))] = evs
		}
	}
	for _, name := range []string{"too-early", "strip-opportunistic", "implicit-under-attack", "compare"} {
		evs, err := scenario.Collect(context.Background(), scenario.Request{Name: name, Env: env})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		streams[name] = evs
	}

	for name, evs := range streams {
		t.Run(name, func(t *testing.T) {
			m := newSessionModel(t, 160, 48, &fakeSessions{evs: evs})
			s := session(m)
			mustUpdate(t, m, keyCode(tea.KeyTab))
			if s.lens != lens.Eavesdropper {
				t.Fatal("not in the eavesdropper lens")
			}
			secrets := endpointOnlyLines(evs)
			mustUpdate(t, m, keyCode(tea.KeyHome))
			for n := range s.tl.rows {
				if n > 0 {
					mustUpdate(t, m, keyCode(tea.KeyDown))
				}
				ev := s.evs[s.tl.rows[s.tl.sel].first]
				plain(m) // render: the pane's text follows the selection
				pane := strings.Join(strings.Fields(ansi.Strip(s.detail.vp.GetContent())), " ")
				if ev.Kind == wire.KindVerdict {
					continue // a verdict explains itself, not the path
				}
				if !strings.Contains(pane, "learned so far") {
					t.Fatalf("at #%d (%s) the pane has no observation:\n%s", ev.Seq, ev.Kind, pane)
				}
				ob := observe(evs, ev.Seq, observerLeg(s.legs.list, &ev))
				for _, item := range render.Learned(ob, wire.SafeString) {
					if !strings.Contains(pane, strings.Join(strings.Fields(item), " ")) {
						t.Fatalf("at #%d (%s) the pane lacks %q:\n%s", ev.Seq, ev.Kind, item, pane)
					}
				}
				screen := plain(m)
				for _, sec := range secrets {
					if strings.Contains(screen, sec) {
						t.Fatalf("at #%d the eavesdropper screen shows %q, which only the endpoints read", ev.Seq, sec)
					}
				}
			}
		})
	}
}

// endpointOnlyLines are distinctive lines only the endpoints read: inside
// TLS, and never in the clear on any connection of the stream.
func endpointOnlyLines(evs []wire.Event) []string {
	clear := map[string]bool{}
	for _, ev := range evs {
		if lens.Readable(ev) {
			for _, l := range strings.Split(string(ev.Raw), "\r\n") {
				clear[l] = true
			}
		}
	}
	var out []string
	for _, ev := range evs {
		if ev.Kind != wire.KindLine || ev.Layer != wire.LayerDecrypted {
			continue
		}
		for _, l := range strings.Split(string(ev.Raw), "\r\n") {
			// Whole lines short enough to show uncut on a 160-column row.
			if len(l) >= 16 && len(l) <= 70 && !clear[l] && wire.SafeString(l) == l {
				out = append(out, l)
			}
		}
	}
	return out
}
