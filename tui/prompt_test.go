package tui

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// fakePrompt is a typed session's handle that records what it is sent.
type fakePrompt struct {
	mu     sync.Mutex
	ins    []sessions.Input
	closed bool
	expose func(line string) *wire.Credential
}

func (f *fakePrompt) Send(in sessions.Input) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return sessions.ErrPromptClosed
	}
	f.ins = append(f.ins, in)
	return nil
}

func (f *fakePrompt) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
}

func (f *fakePrompt) Exposes(line string) *wire.Credential {
	if f.expose == nil {
		return nil
	}
	return f.expose(line)
}

func (f *fakePrompt) sent() []sessions.Input {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sessions.Input(nil), f.ins...)
}

// fakePrompts is an OpenPrompt whose sessions hold their streams open with
// a greeting.
type fakePrompts struct {
	mu      sync.Mutex
	reqs    []SessionRequest
	handles []*fakePrompt
	chans   []chan wire.Event
	expose  func(line string) *wire.Credential
}

func (f *fakePrompts) open(ctx context.Context, req SessionRequest) (PromptHandle, <-chan wire.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := &fakePrompt{expose: f.expose}
	ch := make(chan wire.Event, 4)
	ch <- wire.Event{Seq: 1, Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP,
		Visible: wire.VisibleMetadata, Annotation: "tcp.connect", Text: "connected to " + req.Target}
	ch <- wire.Event{Seq: 2, Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerCleartext,
		Visible: wire.VisibleAnyone, Raw: []byte("220 hi\r\n"), Text: "220 hi", Annotation: "smtp.reply.220",
		Line: &wire.Line{Proto: "smtp", Code: "220"}}
	f.reqs = append(f.reqs, req)
	f.handles = append(f.handles, h)
	f.chans = append(f.chans, ch)
	return h, ch, nil
}

func (f *fakePrompts) last() *fakePrompt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.handles[len(f.handles)-1]
}

// newPromptTestModel is mailwire connect on a typed session of proto, at
// w×h, with its greeting shown.
func newPromptTestModel(t *testing.T, w, h int, proto string, f *fakePrompts) *Model {
	t.Helper()
	req := SessionRequest{Port: 587, Target: "mx.example.test:587", Proto: proto, TLSMode: "starttls",
		Label: "SNI mx.example.test", Prompt: true, User: "learner"}
	if proto == protocol.IMAP {
		req.Port, req.Target = 143, "mx.example.test:143"
	}
	m := newModel(Options{OpenPrompt: f.open, Connect: &req, RecentFile: filepath.Join(t.TempDir(), "recent.json")})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	pump(t, m, m.Init())
	if _, ok := m.screens[screenSession].(*promptScreen); !ok || m.active != screenSession {
		t.Fatalf("connect did not open a typed session: %T", m.screens[screenSession])
	}
	if !strings.Contains(plain(m), "220 hi") {
		t.Fatalf("the greeting is not shown:\n%s", plain(m))
	}
	return m
}

func promptOf(m *Model) *promptScreen { return m.screens[screenSession].(*promptScreen) }

func typeText(t *testing.T, m *Model, s string) {
	t.Helper()
	for _, r := range s {
		mustUpdate(t, m, keyText(r)) // its command is the cursor's blink
	}
}

var (
	keyShiftTab = tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	keyCtrlA    = tea.KeyPressMsg{Code: 'a', Mod: tea.ModCtrl}
	keyCtrlC    = tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	keyCtrlD    = tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}
)

// Nothing typed at the prompt is taken as a mailwire command: q, r, ?
// and every other key the screens use are text, and go to the server.
func TestPromptNoKeyboardTraps(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 80, 24, protocol.SMTP, f)
	s := promptOf(m)
	lens := s.lens
	typed := "q r ? Q R S s l p c e i a f j k g G + - 1 h"
	typeText(t, m, typed)
	if m.quitting || m.help.ShowAll || s.lens != lens || s.step.on || s.reveal || m.active != screenSession {
		t.Fatalf("a key acted for mailwire: quitting %v, help %v, lens %v, step %v, reveal %v, screen %v",
			m.quitting, m.help.ShowAll, s.lens != lens, s.step.on, s.reveal, m.active)
	}
	if got := s.prompt.input.Value(); got != typed {
		t.Fatalf("prompt holds %q, want %q", got, typed)
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if in := f.last().sent(); len(in) != 1 || in[0].Line != typed {
		t.Fatalf("sent %+v, want the line as typed", in)
	}
	// A line starting with Q or R is protocol text too (openssl issue 27443).
	for _, line := range []string{"QUIT", "RSET", "R"} {
		typeText(t, m, line)
		mustUpdate(t, m, keyCode(tea.KeyEnter))
	}
	if in := f.last().sent(); len(in) != 4 || in[1].Line != "QUIT" || in[2].Line != "RSET" || in[3].Line != "R" {
		t.Errorf("sent %+v", in)
	}
	// The help bar shows the keys that are not text.
	if v := plain(m); !strings.Contains(v, "f1 help") || !strings.Contains(v, "ctrl+c quit") || strings.Contains(v, "? help") {
		t.Errorf("help bar while typing:\n%s", v)
	}
	// F1 and ctrl+c stay mailwire's.
	mustUpdate(t, m, keyCode(tea.KeyF1))
	if !m.help.ShowAll {
		t.Error("F1 did not open the help")
	}
	if cmd := mustUpdate(t, m, keyCtrlC); cmd == nil || !m.quitting {
		t.Error("ctrl+c did not quit")
	}
}

func TestPromptHistory(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 120, 40, protocol.SMTP, f)
	p := promptOf(m).prompt
	for _, l := range []string{"EHLO a.test", "NOOP", "AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00u\x00secret"))} {
		typeText(t, m, l)
		mustUpdate(t, m, keyCode(tea.KeyEnter))
	}
	typeText(t, m, "draft")
	for _, want := range []string{"NOOP", "EHLO a.test", "EHLO a.test"} { // the AUTH line is not kept
		mustUpdate(t, m, keyCode(tea.KeyUp))
		if got := p.input.Value(); got != want {
			t.Fatalf("up: %q, want %q", got, want)
		}
	}
	for _, want := range []string{"NOOP", "draft", "draft"} {
		mustUpdate(t, m, keyCode(tea.KeyDown))
		if got := p.input.Value(); got != want {
			t.Fatalf("down: %q, want %q", got, want)
		}
	}
}

func TestPromptCompletion(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 120, 40, protocol.SMTP, f)
	p := promptOf(m).prompt
	typeText(t, m, "eh")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if got := p.input.Value(); got != "EHLO " {
		t.Errorf("eh⇥ = %q", got)
	}
	p.input.SetValue("")
	typeText(t, m, "r")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if !strings.Contains(p.note, "RCPT TO:<") || !strings.Contains(p.note, "RSET") {
		t.Errorf("r⇥ lists %q", p.note)
	}
	mustUpdate(t, m, keyCode(tea.KeyTab))
	first := p.input.Value()
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if second := p.input.Value(); first == second || !strings.HasPrefix(first, "R") || !strings.HasPrefix(second, "R") {
		t.Errorf("tab again goes through the candidates: %q then %q", first, second)
	}
	if promptOf(m).lens != lens.Endpoint {
		t.Error("tab at the prompt changed the lens")
	}

	// IMAP: the next tag comes with the command.
	f = &fakePrompts{}
	m = newPromptTestModel(t, 120, 40, protocol.IMAP, f)
	p = promptOf(m).prompt
	typeText(t, m, "cap")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if got := p.input.Value(); got != "a1 CAPABILITY" {
		t.Errorf("cap⇥ = %q", got)
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	typeText(t, m, "logo")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if got := p.input.Value(); got != "a2 LOGOUT" {
		t.Errorf("logo⇥ after a1 = %q", got)
	}
	p.input.SetValue("x7 sel")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if got := p.input.Value(); got != "x7 SELECT INBOX" {
		t.Errorf("a typed tag is kept: %q", got)
	}
}

// A line that would put a password on the wire before TLS waits for a
// second enter; esc keeps it unsent.
func TestPromptConfirmsCleartextPassword(t *testing.T) {
	f := &fakePrompts{expose: func(line string) *wire.Credential {
		if strings.HasPrefix(line, "AUTH PLAIN ") {
			return &wire.Credential{Mechanism: "AUTH PLAIN", Username: "u", Password: "p"}
		}
		return nil
	}}
	m := newPromptTestModel(t, 80, 24, protocol.SMTP, f)
	line := "AUTH PLAIN AHUAcA=="
	typeText(t, m, line)
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	p := promptOf(m).prompt
	if len(f.last().sent()) != 0 || p.mode != promptConfirm || !strings.Contains(plain(m), "not TLS") {
		t.Fatalf("sent %+v, mode %v\n%s", f.last().sent(), p.mode, plain(m))
	}
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if len(f.last().sent()) != 0 || p.mode != promptTyping || p.input.Value() != line || m.active != screenSession {
		t.Fatalf("esc: sent %+v, mode %v, line %q, screen %v", f.last().sent(), p.mode, p.input.Value(), m.active)
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if in := f.last().sent(); len(in) != 1 || in[0].Line != line || !in[0].ConfirmCleartext {
		t.Errorf("confirmed: sent %+v", in)
	}
}

// The AUTH helper asks for the password in a masked field and hands the
// session a login; the screen never shows the password.
func TestPromptAuthHelper(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 80, 24, protocol.IMAP, f)
	p := promptOf(m).prompt
	mustUpdate(t, m, keyCtrlA)
	if p.mode != promptAuth || p.auth.field != 2 {
		t.Fatalf("ctrl+a: mode %v field %d", p.mode, p.auth.field)
	}
	if !strings.Contains(plain(m), "not TLS yet") {
		t.Errorf("no warning that the helper refuses before TLS:\n%s", plain(m))
	}
	typeText(t, m, "q?r-secret")
	if v := plain(m); strings.Contains(v, "q?r-secret") || !strings.Contains(v, "••••") {
		t.Fatalf("the password field is not masked:\n%s", v)
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	in := f.last().sent()
	if len(in) != 1 || in[0].Auth == nil || in[0].Auth.Mechanism != "LOGIN" || in[0].Auth.User != "learner" ||
		in[0].Auth.Password != "q?r-secret" || in[0].Auth.Tag != "a1" {
		t.Fatalf("sent %+v", in)
	}
	if p.mode != promptTyping || p.auth.pass.Value() != "" || m.quitting {
		t.Errorf("after sending: mode %v, password kept %q", p.mode, p.auth.pass.Value())
	}
	// The next tag moved on; esc closes the helper without sending.
	mustUpdate(t, m, keyCtrlA)
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if len(f.last().sent()) != 1 || p.mode != promptTyping || m.active != screenSession {
		t.Errorf("esc in the helper: sent %d, mode %v, screen %v", len(f.last().sent()), p.mode, m.active)
	}
	typeText(t, m, "logo")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if got := p.input.Value(); got != "a2 LOGOUT" {
		t.Errorf("tag after the helper's a1: %q", got)
	}
}

// shift+tab gives the timeline the focus and its keys; shift+tab or esc
// gives it back. ctrl+d ends the input.
func TestPromptFocusAndEnd(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 120, 40, protocol.SMTP, f)
	s := promptOf(m)
	mustUpdate(t, m, keyShiftTab)
	if !s.onTimeline || m.typing() {
		t.Fatal("shift+tab did not move to the timeline")
	}
	mustUpdate(t, m, keyCode(tea.KeyTab))
	if s.lens == lens.Endpoint {
		t.Error("tab on the timeline did not change the lens")
	}
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if s.onTimeline || m.active != screenSession {
		t.Fatal("esc on the timeline did not come back to the prompt")
	}
	mustUpdate(t, m, keyCtrlD)
	if !f.last().closed {
		t.Error("ctrl+d did not end the input")
	}
}

// esc at the prompt leads to the connect form with the session's values;
// enter there connects again, and the target is remembered (0600).
func TestPromptEscToForm(t *testing.T) {
	f := &fakePrompts{}
	m := newPromptTestModel(t, 80, 24, protocol.SMTP, f)
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenForm {
		t.Fatalf("esc: screen %v, want the form", m.active)
	}
	if !f.handles[0].closed {
		t.Error("leaving did not end the typed session's input")
	}
	form := m.screens[screenForm].(*formScreen)
	if form.inputs[fieldHost].Value() != "mx.example.test" || form.inputs[fieldPort].Value() != "587" ||
		form.inputs[fieldUser].Value() != "learner" || formProtos[form.proto] != "smtp" {
		t.Fatalf("form not filled in:\n%s", plain(m))
	}
	// The form's fields are text too: q is a letter of a host name.
	form.inputs[fieldHost].SetValue("")
	typeText(t, m, "qmail.example.test")
	if m.quitting || form.inputs[fieldHost].Value() != "qmail.example.test" {
		t.Fatalf("host %q, quitting %v", form.inputs[fieldHost].Value(), m.quitting)
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenSession || len(f.reqs) != 2 || f.reqs[1].Target != "qmail.example.test:587" || !f.reqs[1].Prompt {
		t.Fatalf("enter: screen %v, requests %+v", m.active, f.reqs)
	}
	st, err := os.Stat(m.common.recentFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("recent file: %v, mode %v", err, st)
	}
	list, err := loadRecent(m.common.recentFile)
	if err != nil || len(list) < 1 || list[0].Host != "qmail.example.test" {
		t.Errorf("recent %+v, %v", list, err)
	}
}

// The typed session and the connect form fit 80×24 and 120×40: every line
// within the width, the help bar one line ending with the keys that are
// not text, the full help (F1) within the height.
func TestPromptScreensFit(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, name := range []string{"prompt", "auth helper", "timeline focus", "form"} {
			f := &fakePrompts{}
			m := newPromptTestModel(t, size[0], size[1], protocol.IMAP, f)
			end := "f1 help • ctrl+c quit"
			switch name {
			case "auth helper":
				mustUpdate(t, m, keyCtrlA)
			case "timeline focus":
				mustUpdate(t, m, keyShiftTab)
				end = "? help • q quit"
			case "form":
				pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
			}
			bar := helpLines(m)
			if len(bar) != 1 || !strings.HasSuffix(strings.TrimRight(bar[0], " "), end) {
				t.Errorf("%s %v: help bar %q", name, size, bar)
			}
			toggle := keyCode(tea.KeyF1)
			if !m.typing() {
				toggle = keyText('?')
			}
			for _, full := range []bool{false, true} {
				if full {
					mustUpdate(t, m, toggle)
				}
				v := plain(m)
				for _, l := range strings.Split(v, "\n") {
					if ansi.StringWidth(l) > size[0] {
						t.Errorf("%s %v: line wider than the screen: %q", name, size, l)
					}
				}
				if n := strings.Count(v, "\n") + 1; n > size[1] {
					t.Errorf("%s %v (full help %v): %d lines", name, size, full, n)
				}
			}
		}
	}
}
