package tui

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// timeline returns the plain text of the timeline rows on screen (the
// left-hand part of each line when the detail pane is beside it).
func timeline(m *Model) string {
	s := session(m)
	l := s.layout()
	lines := strings.Split(plain(m), "\n")
	var out []string
	for y := l.listY; y < l.listY+l.listH && y < len(lines); y++ {
		out = append(out, ansi.Cut(lines[y], 0, l.listW))
	}
	return strings.Join(out, "\n")
}

func TestSessionEventsArrive(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	m := newSessionModel(t, 160, 48, f)
	s := session(m)
	if len(f.reqs) != 1 {
		t.Fatalf("OpenSession called %d times, want 1", len(f.reqs))
	}
	want := SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls", Label: "lab"}
	if f.reqs[0] != want {
		t.Errorf("request %+v, want %+v", f.reqs[0], want)
	}
	if s.state != stateDone || len(s.evs) != len(f.evs) {
		t.Fatalf("state %v with %d events, want done with %d", s.state, len(s.evs), len(f.evs))
	}
	v := plain(m)
	for _, want := range []string{
		"SMTP 587 · STARTTLS → 127.0.0.1:10587 (lab) · done in 4.25 ms · 31 events",
		"ENDPOINT LENS",
		"220 mail.lab.test ESMTP Service Ready",
		"CLEARTEXT", "HANDSHAKE", "ENCRYPTED",
		"STARTTLS: from here on, TLS",
		"250-Hello client.mailwire.invalid (+3 lines)",
		"⋯ 2 TLS records, 143 bytes (1 C→S, 1 S→C)", // records collapsed in the endpoint lens
	} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
	// Following the stream: the last event is selected.
	if s.tl.sel != len(s.tl.rows)-1 {
		t.Errorf("selected row %d of %d, want the last", s.tl.sel, len(s.tl.rows))
	}
	// The boundary is a full-width rule.
	for _, line := range strings.Split(timeline(m), "\n") {
		if strings.Contains(line, "from here on") && strings.Count(line, "═") < 40 {
			t.Errorf("boundary rule too short: %q", line)
		}
	}
}

func TestSessionBatchesEvents(t *testing.T) {
	ch := make(chan wire.Event, 3*maxBatch)
	for i := range 3 * maxBatch {
		ch <- wire.Event{Seq: i + 1, Kind: wire.KindNote, Text: "x"}
	}
	msg := waitEvents(7, ch)().(sessionEventsMsg)
	if msg.id != 7 || len(msg.evs) != maxBatch || msg.done {
		t.Fatalf("first batch: id %d, %d events, done %v; want 7, %d, false", msg.id, len(msg.evs), msg.done, maxBatch)
	}
	close(ch)
	n := len(msg.evs)
	for !msg.done {
		msg = waitEvents(7, ch)().(sessionEventsMsg)
		n += len(msg.evs)
	}
	if n != 3*maxBatch {
		t.Errorf("got %d events in all, want %d", n, 3*maxBatch)
	}
}

func TestSessionSelection(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	m := newSessionModel(t, 80, 24, f)
	s := session(m)
	last := len(s.tl.rows) - 1
	steps := []struct {
		msg  tea.Msg
		want int
	}{
		{keyCode(tea.KeyHome), 0},
		{keyCode(tea.KeyDown), 1},
		{keyText('j'), 2},
		{keyCode(tea.KeyUp), 1},
		{keyCode(tea.KeyPgDown), 1 + s.layout().listH - 1},
		{keyCode(tea.KeyEnd), last},
		{keyCode(tea.KeyPgUp), last - (s.layout().listH - 1)},
		{keyText('g'), 0},
		{keyCode(tea.KeyUp), 0},
		{tea.MouseWheelMsg{Button: tea.MouseWheelDown, Y: 5}, 3},
		{tea.MouseWheelMsg{Button: tea.MouseWheelUp, Y: 5}, 0},
	}
	for i, st := range steps {
		mustUpdate(t, m, st.msg)
		if s.tl.sel != st.want {
			t.Fatalf("step %d (%v): selected %d, want %d", i, st.msg, s.tl.sel, st.want)
		}
		if s.tl.sel < s.tl.top || s.tl.sel >= s.tl.top+s.layout().listH {
			t.Fatalf("step %d: selection %d off screen (top %d)", i, s.tl.sel, s.tl.top)
		}
	}
	// A click on the third timeline row selects it; the detail pane
	// follows.
	l := s.layout()
	mustUpdate(t, m, tea.MouseClickMsg{Button: tea.MouseLeft, X: 10, Y: l.listY + 2})
	if s.tl.sel != s.tl.top+2 {
		t.Fatalf("click: selected %d, want %d", s.tl.sel, s.tl.top+2)
	}
	if !strings.Contains(plain(m), "EHLO: client introduces itself") {
		t.Errorf("detail pane does not explain the selected EHLO:\n%s", plain(m))
	}
	// A click on the detail pane selects nothing.
	mustUpdate(t, m, tea.MouseClickMsg{Button: tea.MouseLeft, X: 10, Y: l.detailY + 3})
	if s.tl.sel != s.tl.top+2 {
		t.Errorf("click on the detail pane moved the selection to %d", s.tl.sel)
	}
}

// selectText selects the first row whose text contains sub.
func selectText(t *testing.T, m *Model, sub string) {
	t.Helper()
	s := session(m)
	for i, r := range s.tl.rows[:s.tl.visible()] {
		text, _, _ := s.tl.rowText(r.first, r.last)
		if strings.Contains(text, sub) {
			mustUpdate(t, m, keyCode(tea.KeyHome))
			for range i {
				mustUpdate(t, m, keyCode(tea.KeyDown))
			}
			return
		}
	}
	t.Fatalf("no row contains %q", sub)
}

func TestSessionLensToggle(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	m := newSessionModel(t, 160, 48, f)
	s := session(m)
	selectText(t, m, "ClientHello")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if s.lens != lens.Eavesdropper {
		t.Fatal("tab did not switch to the eavesdropper lens")
	}
	if ev := s.evs[s.tl.rows[s.tl.sel].first]; ev.Kind != wire.KindHandshake || ev.Handshake.Type != "client_hello" {
		t.Errorf("selection moved to %v across the lens change", ev.Text)
	}
	v := plain(m)
	tl := timeline(m)
	for _, want := range []string{"EAVESDROPPER LENS", "client_hello in the clear: SNI mail.lab.test", "encrypted TLS application_data record, 566 bytes",
		"00000000", "What the observer has learned so far", "server name the client asked for (SNI, RFC 6066 §3):"} {
		if !strings.Contains(v, want) && !strings.Contains(flatten(v), want) {
			t.Errorf("eavesdropper view lacks %q:\n%s", want, v)
		}
	}
	// Decrypted lines, the TLS state and encrypted handshake messages are
	// not on the wire.
	for _, hidden := range []string{"AUTH PLAIN", "235 2.7.0", "221 2.0.0 Bye", "TLS 1.3, TLS_AES_128_GCM_SHA256, certificate verified", "Certificate (decrypted"} {
		if strings.Contains(tl, hidden) {
			t.Errorf("eavesdropper timeline shows %q:\n%s", hidden, tl)
		}
	}
	// Cleartext stays readable.
	if !strings.Contains(tl, "EHLO client.mailwire.invalid") {
		t.Errorf("eavesdropper timeline lacks the cleartext EHLO:\n%s", tl)
	}
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if s.lens != lens.Endpoint || !strings.Contains(plain(m), "ENDPOINT LENS") {
		t.Error("tab did not switch back to the endpoint lens")
	}
}

func TestSessionPasswordMasked(t *testing.T) {
	plainB64 := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))
	loginB64 := base64.StdEncoding.EncodeToString([]byte(fixturePassword))
	secrets := []string{fixturePassword, plainB64, loginB64}
	hexOf := func(s string) string { // as SafeHexDump groups it: "63 6f 72 …"
		h := hex.EncodeToString([]byte(s[:6]))
		var parts []string
		for i := 0; i < len(h); i += 2 {
			parts = append(parts, h[i:i+2])
		}
		return strings.Join(parts, " ")
	}
	check := func(t *testing.T, v string, wantShown bool) {
		t.Helper()
		for _, sec := range secrets {
			shown := strings.Contains(v, sec) || strings.Contains(v, hexOf(sec))
			if shown && !wantShown {
				t.Errorf("secret %q readable on the screen:\n%s", sec, v)
			}
		}
	}
	t.Run("inside TLS", func(t *testing.T) {
		m := newSessionModel(t, 160, 48, &fakeSessions{evs: fixture587()})
		selectText(t, m, "AUTH PLAIN")
		v := plain(m)
		check(t, v, false)
		for _, want := range []string{"AUTH PLAIN ••••••••", "sent inside TLS", "(masked: p shows it)", "the bytes show the mask"} {
			if !strings.Contains(v, want) {
				t.Errorf("view lacks %q:\n%s", want, v)
			}
		}
		mustUpdate(t, m, keyText('p'))
		v = plain(m)
		if !strings.Contains(v, plainB64) || !strings.Contains(v, "password: "+fixturePassword) {
			t.Errorf("p did not reveal the password:\n%s", v)
		}
	})
	t.Run("on the wire", func(t *testing.T) {
		m := newSessionModel(t, 160, 48, &fakeSessions{evs: fixtureCleartextAuth()})
		for _, l := range []string{"endpoint", "eavesdropper"} {
			if l == "eavesdropper" {
				mustUpdate(t, m, keyCode(tea.KeyTab))
			}
			selectText(t, m, "••••••••")
			v := plain(m)
			check(t, v, false)
			if !strings.Contains(timeline(m), credOnWire) {
				t.Errorf("%s lens: no %q in the timeline:\n%s", l, credOnWire, v)
			}
			if l == "eavesdropper" && !strings.Contains(v, "e2 80 a2") {
				t.Errorf("eavesdropper hex view does not show the mask bytes:\n%s", v)
			}
		}
		mustUpdate(t, m, keyText('p'))
		v := plain(m)
		if !strings.Contains(v, hexOf(loginB64)) || !strings.Contains(v, "passwords shown") {
			t.Errorf("p did not reveal the bytes as sent:\n%s", v)
		}
	})
}

func TestSessionStepMode(t *testing.T) {
	evs := fixture587()
	m := newSessionModel(t, 160, 48, &fakeSessions{evs: evs})
	s := session(m)
	// Steps: connect+greeting; EHLO+reply; STARTTLS+220; boundary with the
	// ClientHello flight; the server flight; the client flight with the
	// TLS state; EHLO; AUTH; QUIT; close.
	var starts []string
	for _, i := range s.step.starts {
		starts = append(starts, string(evs[i].Kind)+" "+evs[i].Text)
	}
	want := []string{
		"connect connected to 127.0.0.1:10587 (127.0.0.1:10587) in 210µs",
		"line EHLO client.mailwire.invalid",
		"line STARTTLS",
		"boundary STARTTLS accepted: from the next byte on, the connection is TLS (RFC 3207 §4)",
		"record TLS record: handshake, 122 bytes",
		"record TLS record: change_cipher_spec, 1 bytes",
		"line EHLO client.mailwire.invalid",
		"line AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00learner\x00"+fixturePassword)),
		"line QUIT",
		"close client closed the connection; 1062 bytes sent, 1675 received",
	}
	if strings.Join(starts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("steps:\n%s\nwant:\n%s", strings.Join(starts, "\n"), strings.Join(want, "\n"))
	}

	mustUpdate(t, m, keyText('s'))
	if !s.step.on || s.step.revealed() != 2 {
		t.Fatalf("s: step mode %v, %d events revealed; want on, 2", s.step.on, s.step.revealed())
	}
	v := plain(m)
	if !strings.Contains(v, "STEP 1/10") || strings.Contains(timeline(m), "EHLO") {
		t.Errorf("step 1 shows more than the greeting:\n%s", v)
	}
	if !strings.Contains(timeline(m), "▶") {
		t.Errorf("no current-step marker:\n%s", timeline(m))
	}
	mustUpdate(t, m, keyText(' '))
	mustUpdate(t, m, keyCode(tea.KeyRight))
	if s.step.idx != 2 || !strings.Contains(timeline(m), "STARTTLS") || strings.Contains(timeline(m), "from here on") {
		t.Fatalf("after two steps: step %d:\n%s", s.step.idx, timeline(m))
	}
	if ev := s.evs[s.tl.rows[s.tl.sel].first]; ev.Text != "STARTTLS" {
		t.Errorf("the current step's command is not selected: %q", ev.Text)
	}
	mustUpdate(t, m, keyCode(tea.KeyLeft))
	if s.step.idx != 1 {
		t.Errorf("← went to step %d, want 1", s.step.idx)
	}
	// Auto-play: a tick of this play advances; a stale one does nothing.
	cmd := mustUpdate(t, m, keyText('a'))
	if !s.step.auto || cmd == nil {
		t.Fatal("a did not start auto-play")
	}
	gen := s.step.gen
	mustUpdate(t, m, autoTickMsg{id: s.id, gen: gen})
	if s.step.idx != 2 {
		t.Errorf("tick: step %d, want 2", s.step.idx)
	}
	mustUpdate(t, m, autoTickMsg{id: s.id, gen: gen - 1})
	mustUpdate(t, m, autoTickMsg{id: s.id - 1, gen: gen})
	if s.step.idx != 2 {
		t.Errorf("stale ticks advanced to step %d", s.step.idx)
	}
	speed := s.step.speed
	mustUpdate(t, m, keyText('+'))
	if s.step.speed != speed-1 || s.step.gen == gen {
		t.Errorf("+: speed %d gen %d, want %d and a new generation", s.step.speed, s.step.gen, speed-1)
	}
	mustUpdate(t, m, keyText('-'))
	mustUpdate(t, m, keyText('-'))
	if s.step.speed != speed+1 {
		t.Errorf("-: speed %d, want %d", s.step.speed, speed+1)
	}
	for range 20 {
		mustUpdate(t, m, autoTickMsg{id: s.id, gen: s.step.gen})
	}
	if s.step.auto || s.step.idx != len(s.step.starts)-1 {
		t.Errorf("auto-play did not stop at the end: auto %v step %d", s.step.auto, s.step.idx)
	}
	if !strings.Contains(plain(m), "the end") {
		t.Errorf("the last step does not say so:\n%s", plain(m))
	}
	mustUpdate(t, m, keyText('s'))
	if s.step.on || s.tl.visible() != len(s.tl.rows) {
		t.Error("s did not leave step mode with every event shown")
	}
}

func TestSessionStepWhileRunning(t *testing.T) {
	// Events of the current (last) step keep arriving: they are revealed;
	// the next step waits for a key.
	evs := fixture587()
	f := &fakeSessions{evs: evs[:3], hold: true}
	m := newSessionModel(t, 120, 40, f)
	s := session(m)
	mustUpdate(t, m, keyText('s'))
	mustUpdate(t, m, keyText(' ')) // step 2: EHLO, its reply still to come
	if s.step.revealed() != 3 {
		t.Fatalf("revealed %d, want 3", s.step.revealed())
	}
	mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: evs[3:5]}) // reply, STARTTLS
	if s.step.revealed() != 4 || s.state != stateRunning {
		t.Errorf("revealed %d (state %v), want the reply of the current step only", s.step.revealed(), s.state)
	}
	close(f.chans[0])
}

func TestSessionRerunDropsStale(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	m := newSessionModel(t, 80, 24, f)
	s := session(m)
	old := s.id
	pump(t, m, mustUpdate(t, m, keyText('r')))
	if len(f.reqs) != 2 || s.id == old {
		t.Fatalf("r: %d opens, id %d→%d", len(f.reqs), old, s.id)
	}
	if f.ctxs[0].Err() == nil {
		t.Error("the first run's context was not cancelled")
	}
	n := len(s.evs)
	mustUpdate(t, m, sessionEventsMsg{id: old, evs: fixtureCleartextAuth()})
	if len(s.evs) != n || s.state != stateDone {
		t.Errorf("stale events were taken: %d events, state %v", len(s.evs), s.state)
	}
	// A stale open result hands its channel back to be drained.
	ch := make(chan wire.Event, 1)
	ch <- wire.Event{}
	close(ch)
	cmd := mustUpdate(t, m, sessionOpenedMsg{id: old, ch: ch})
	if cmd == nil {
		t.Fatal("a stale open result is not drained")
	}
	cmd()
	if _, ok := <-ch; ok {
		t.Error("the stale channel was not drained")
	}
}

func TestSessionErrors(t *testing.T) {
	t.Run("error event", func(t *testing.T) {
		m := newSessionModel(t, 160, 48, &fakeSessions{evs: fixtureCleartextAuth()})
		s := session(m)
		if s.state != stateFailed {
			t.Errorf("state %v, want failed", s.state)
		}
		selectText(t, m, "✗")
		v := plain(m)
		for _, want := range []string{"failed", "✗ session: read reply: EOF", "message: read reply: EOF"} {
			if !strings.Contains(v, want) {
				t.Errorf("view lacks %q:\n%s", want, v)
			}
		}
	})
	t.Run("open fails", func(t *testing.T) {
		m := newSessionModel(t, 80, 24, &fakeSessions{err: errors.New("the lab has no endpoint for port 587")})
		v := plain(m)
		for _, want := range []string{"failed", "could not start the session", "the lab has no endpoint for port 587"} {
			if !strings.Contains(v, want) {
				t.Errorf("view lacks %q:\n%s", want, v)
			}
		}
	})
	t.Run("no runner", func(t *testing.T) {
		m := newModel(Options{Connect: &SessionRequest{Port: 587, Proto: "smtp"}})
		pump(t, m, m.screens[m.active].Init())
		if !strings.Contains(plain(m), "cannot be run") {
			t.Errorf("no runner: %s", plain(m))
		}
	})
}

func TestSessionEscBack(t *testing.T) {
	f := &fakeSessions{evs: fixture587()[:4], hold: true}
	m := newSessionModel(t, 80, 24, f)
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenPorts {
		t.Fatal("esc did not return to the port table")
	}
	if f.ctxs[0].Err() == nil {
		t.Error("leaving did not cancel the session")
	}
	close(f.chans[0])
	if !strings.Contains(plain(m), "Protocol") {
		t.Errorf("not the port table:\n%s", plain(m))
	}
	// The endpoint view stays reachable with e.
	mustUpdate(t, m, keyText('e'))
	if !strings.Contains(plain(m), "s_client") {
		t.Errorf("e did not show the endpoint view:\n%s", plain(m))
	}
}

func TestConnectStartsOnSession(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	req := SessionRequest{Port: 587, Target: "mx.example.test:587", Proto: "smtp", TLSMode: "starttls", Label: "SNI mx.example.test"}
	m := newModel(Options{OpenSession: f.open, Connect: &req})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	pump(t, m, m.Init())
	if m.active != screenSession || len(f.reqs) != 1 || f.reqs[0] != req {
		t.Fatalf("connect: active %v, requests %+v", m.active, f.reqs)
	}
	if !strings.Contains(plain(m), "mx.example.test:587 (SNI mx.example.test)") {
		t.Errorf("header lacks the target:\n%s", plain(m))
	}
}

// TestSessionHostileEvents feeds events whose every peer-controlled field
// carries terminal controls: the rendered screen, with our own styling
// removed, must hold none of them.
func TestSessionHostileEvents(t *testing.T) {
	nasty := "evil\x1b[2J\x1b]52;c;cHduZWQ=\x07\x9b31m\xc2\x9b\xff\xfe\u202e\r\nnext"
	evs := fixture587()
	for i := range evs {
		ev := &evs[i]
		ev.Text += nasty
		if ev.Raw != nil {
			ev.Raw = append(ev.Raw, nasty...)
		}
		if ev.Line != nil {
			ev.Line.Command += nasty
			ev.Line.Code += nasty
			ev.Line.Capabilities = append(ev.Line.Capabilities, nasty)
		}
		if ev.Handshake != nil {
			ev.Handshake.Type += nasty
			for j := range ev.Handshake.Fields {
				ev.Handshake.Fields[j].Value += nasty
				ev.Handshake.Fields[j].Name += nasty
			}
		}
		if ev.TLS != nil {
			ev.TLS.PeerChain = append(ev.TLS.PeerChain, nasty)
			ev.TLS.VerifyError = nasty
		}
		if ev.Credential != nil {
			ev.Credential.Username += nasty
			ev.Credential.Mechanism += nasty
		}
	}
	evs = append(evs[:len(evs)-1], wire.Event{Seq: 99, Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote,
		Text: nasty, Err: &wire.ErrorInfo{Op: nasty, Message: nasty, Explain: nasty}}, evs[len(evs)-1])
	m := newSessionModel(t, 160, 48, &fakeSessions{evs: evs})
	m.screens[screenSession].(*sessionScreen).req.Target = nasty
	s := session(m)
	for _, l := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
		if s.lens != l {
			mustUpdate(t, m, keyCode(tea.KeyTab))
		}
		for _, reveal := range []bool{false, true} {
			if s.reveal != reveal {
				mustUpdate(t, m, keyText('p'))
			}
			mustUpdate(t, m, keyCode(tea.KeyHome))
			for i := 0; i < len(s.tl.rows); i++ {
				v := withProfile(t, m.View().Content, colorprofile.NoTTY)
				if bad := strings.IndexFunc(v, func(r rune) bool {
					return r == 0x1b || r == 0x07 || r >= 0x80 && r <= 0x9f || r == 0x202e || r == '\ufffd' || r < 0x20 && r != '\n'
				}); bad >= 0 {
					t.Fatalf("lens %d reveal %v row %d: control %q in the view near %q", l, reveal, i, v[bad:bad+1], v[max(0, bad-30):min(len(v), bad+30)])
				}
				mustUpdate(t, m, keyCode(tea.KeyDown))
			}
		}
	}
}

func TestSessionGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		for _, c := range []struct {
			name  string
			evs   func() []wire.Event
			setup func(t *testing.T, m *Model)
		}{
			{"endpoint", fixture587, func(t *testing.T, m *Model) { selectText(t, m, "ClientHello") }},
			{"eavesdropper", fixture587, func(t *testing.T, m *Model) {
				selectText(t, m, "STARTTLS")
				mustUpdate(t, m, keyCode(tea.KeyTab))
			}},
			{"step", fixture587, func(t *testing.T, m *Model) {
				mustUpdate(t, m, keyText('s'))
				for range 3 {
					mustUpdate(t, m, keyText(' '))
				}
			}},
			{"error", fixtureCleartextAuth, func(t *testing.T, m *Model) { selectText(t, m, "✗") }},
		} {
			t.Run(fmt.Sprintf("%s_%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				m := newSessionModel(t, size[0], size[1], &fakeSessions{evs: c.evs()})
				c.setup(t, m)
				golden.RequireEqual(t, withProfile(t, m.View().Content, colorprofile.ANSI256))
			})
		}
	}
	t.Run("no_color_step_80x24", func(t *testing.T) {
		m := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
		mustUpdate(t, m, keyText('s'))
		mustUpdate(t, m, keyText(' '))
		golden.RequireEqual(t, withProfile(t, m.View().Content, colorprofile.Ascii))
	})
}

// TestSessionViewFitsEverySize: no line wider than the terminal, no more
// lines than it has, at sizes from tiny to wide.
func TestSessionViewFitsEverySize(t *testing.T) {
	for _, size := range [][2]int{{20, 8}, {40, 12}, {80, 24}, {119, 30}, {120, 30}, {200, 60}} {
		m := newSessionModel(t, size[0], size[1], &fakeSessions{evs: fixture587()})
		for _, k := range []tea.Msg{nil, keyCode(tea.KeyTab), keyText('s')} {
			if k != nil {
				mustUpdate(t, m, k)
			}
			v := plain(m)
			lines := strings.Split(v, "\n")
			if len(lines) > size[1] {
				t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d: line of width %d: %q", size[0], size[1], w, l)
					break
				}
			}
		}
	}
}

// TestSessionProgramSmoke runs the whole program: enter on 587 opens the
// session screen, the events arrive through the real command loop, the
// lens changes, esc goes back, q quits.
func TestSessionProgramSmoke(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	info := fakeLabInfo()
	opts := Options{
		StartLab:    func(context.Context) (LabInfo, error) { return info, nil },
		OpenSession: f.open,
	}
	tm := teatest.NewTestModel(t, New(opts),
		teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(
			tea.WithEnvironment([]string{"TERM=xterm-256color"}),
			tea.WithColorProfile(colorprofile.ANSI256),
		),
	)
	waitFor := func(what string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			return bytes.Contains(b, []byte(what))
		}, teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
	}
	waitFor("correct-horse")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitFor("from here on, TLS")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyTab})
	waitFor("passive observer") // the renderer sends only what changed: not the E of ENDPOINT
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	waitFor("Explicit TLS")
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
	final := tm.FinalModel(t).(*Model)
	if final.active != screenPorts || len(f.reqs) != 1 {
		t.Errorf("final: screen %v, %d sessions opened", final.active, len(f.reqs))
	}
}

func TestSessionDetailScrolls(t *testing.T) {
	m := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
	s := session(m)
	selectText(t, m, "ClientHello")
	v := plain(m)
	if !strings.Contains(v, "  0% · J/K scroll") {
		t.Fatalf("a long detail pane does not say it scrolls:\n%s", v)
	}
	mustUpdate(t, m, keyText('J'))
	if s.detail.vp.YOffset() == 0 {
		t.Fatal("J did not scroll the detail pane")
	}
	for range 20 {
		mustUpdate(t, m, keyText('J'))
	}
	if s.detail.vp.YOffset() != s.detail.vp.TotalLineCount()-s.detail.vp.Height() || !strings.Contains(plain(m), "100% · J/K scroll") {
		t.Errorf("scrolled to %d of %d lines (pane %d high)", s.detail.vp.YOffset(), s.detail.vp.TotalLineCount(), s.detail.vp.Height())
	}
	l := s.layout()
	mustUpdate(t, m, tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: l.detailX + 5, Y: l.detailY + 2})
	if s.detail.vp.YOffset() != s.detail.vp.TotalLineCount()-s.detail.vp.Height()-3 {
		t.Errorf("wheel over the pane: offset %d", s.detail.vp.YOffset())
	}
	for range 20 {
		mustUpdate(t, m, keyText('K'))
	}
	if s.detail.vp.YOffset() != 0 {
		t.Errorf("K: offset %d, want 0", s.detail.vp.YOffset())
	}
	// A new selection starts at the top of its explanation.
	mustUpdate(t, m, keyText('J'))
	mustUpdate(t, m, keyCode(tea.KeyDown))
	plain(m)
	if s.detail.vp.YOffset() != 0 {
		t.Errorf("new selection kept offset %d", s.detail.vp.YOffset())
	}
}

// TestSessionObserverUpToSelection: the eavesdropper's "learned so far"
// covers the events up to the selected one, not the whole session (issue
// 10: at the TCP connect it listed the whole session's SNI and records),
// and before any protocol byte it does not claim that everything was
// readable (issue 10: step 1 on 465 said "no TLS so far: everything is
// readable").
func TestSessionObserverUpToSelection(t *testing.T) {
	f := &fakeSessions{evs: fixture587()}
	m := newSessionModel(t, 160, 48, f)
	mustUpdate(t, m, keyCode(tea.KeyTab))
	mustUpdate(t, m, keyCode(tea.KeyHome))
	v := detailPaneText(m)
	if !strings.Contains(v, "What the observer has learned so far") {
		t.Fatalf("no observation in the pane:\n%s", plain(m))
	}
	for _, early := range []string{"SNI", "encrypted record", "everything sent was readable", "protocol line"} {
		if strings.Contains(v, early) {
			t.Errorf("at the TCP connect the observer already knows %q:\n%s", early, plain(m))
		}
	}
	if !strings.Contains(v, "No protocol byte has crossed yet") {
		t.Errorf("at the TCP connect the pane does not say nothing crossed yet:\n%s", plain(m))
	}
	mustUpdate(t, m, keyCode(tea.KeyEnd))
	if v := detailPaneText(m); !strings.Contains(v, "SNI, RFC 6066 §3): mail.lab.test") || !strings.Contains(v, "encrypted records") {
		t.Errorf("at the last event the observer has not learned the SNI and the records:\n%s", plain(m))
	}
}

// detailPaneText is the detail pane's text on screen, flattened: what stands
// between the box's borders on the right of each line.
func detailPaneText(m *Model) string {
	var b strings.Builder
	for _, line := range strings.Split(plain(m), "\n") {
		i, j := strings.Index(line, "│"), strings.LastIndex(line, "│")
		if i >= 0 && j > i {
			b.WriteString(line[i+len("│") : j])
			b.WriteString("\n")
		}
	}
	return flatten(b.String())
}
