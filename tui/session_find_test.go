package tui

import (
	"encoding/base64"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/wire"
)

// clipboard runs cmd and returns what it asks the terminal to put on its
// clipboard (bubbletea's SetClipboard, written as OSC 52).
func clipboard(t *testing.T, cmd tea.Cmd) string {
	t.Helper()
	if cmd == nil {
		t.Fatal("no command: nothing copied")
	}
	msg := cmd()
	v := reflect.ValueOf(msg)
	if fmt.Sprintf("%T", msg) != "tea.setClipboardMsg" || v.Kind() != reflect.String {
		t.Fatalf("the command sent %T, not a clipboard write", msg)
	}
	return v.String()
}

// selectedText is the text of the selected row.
func selectedText(m *Model) string {
	var s *sessionScreen
	switch scr := m.screens[screenSession].(type) {
	case *sessionScreen:
		s = scr
	case *promptScreen:
		s = scr.sessionScreen
	}
	r, ok := s.tl.selected()
	if !ok {
		return ""
	}
	text, _, _ := s.tl.rowText(r.first, r.last)
	return text
}

// header2 is the session header's second line, plain.
func header2(m *Model) string {
	lines := strings.Split(plain(m), "\n")
	return lines[1]
}

// TestSearch: / opens a search field that takes every key as text (q does
// not quit), the selection follows the first match as it is typed, enter
// keeps the search and says how many rows match, the rows mark their
// matches, n and N go round them, esc clears the search and only then
// leaves the screen.
func TestSearch(t *testing.T) {
	m := newSessionModel(t, 120, 40, &fakeSessions{evs: fixture587()})
	s := session(m)
	mustUpdate(t, m, keyCode(tea.KeyHome))
	mustUpdate(t, m, keyText('/'))
	if !m.typing() {
		t.Fatal("the search field does not take the keys")
	}
	for _, r := range "ehlo q?" {
		mustUpdate(t, m, keyText(r))
		if m.quitting || m.help.ShowAll {
			t.Fatalf("%q was the root's while typed into the search", r)
		}
	}
	if got := s.find.input.Value(); got != "ehlo q?" {
		t.Fatalf("typed %q", got)
	}
	for range 3 {
		mustUpdate(t, m, keyCode(tea.KeyBackspace))
	}
	if !strings.Contains(header2(m), "/ehlo") || !strings.Contains(header2(m), "2 matches") {
		t.Errorf("header while typing: %q", header2(m))
	}
	if bar := helpLines(m); len(bar) != 1 || !strings.HasPrefix(bar[0], "enter keep the search • esc clear it • f1 help • ctrl+c quit") {
		t.Errorf("help bar while typing: %q", bar)
	}
	if got := selectedText(m); got != "EHLO client.mailwire.invalid" {
		t.Errorf("the selection did not follow the first match: %q", got)
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if m.typing() || s.find.query != "ehlo" {
		t.Fatalf("enter: typing %v, query %q", m.typing(), s.find.query)
	}
	if h := header2(m); !strings.Contains(h, `"ehlo": 1 of 2`) {
		t.Errorf("after enter: %q", h)
	}
	// The matches are marked: underlined (and coloured) in the rows.
	match := s.c.Styles.Match.Render("EHLO")
	if !strings.Contains(m.View().Content, match) {
		t.Errorf("the match is not marked in the rows")
	}
	first := s.tl.sel
	mustUpdate(t, m, keyText('n'))
	if s.tl.sel <= first || !strings.HasPrefix(selectedText(m), "EHLO") {
		t.Errorf("n went to %q", selectedText(m))
	}
	if h := header2(m); !strings.Contains(h, "2 of 2") {
		t.Errorf("after n: %q", h)
	}
	mustUpdate(t, m, keyText('n'))
	if s.tl.sel != first || !strings.Contains(header2(m), "wrapped") {
		t.Errorf("n at the last match: row %d, %q", s.tl.sel, header2(m))
	}
	mustUpdate(t, m, keyText('N'))
	if s.tl.sel <= first {
		t.Errorf("N from the first match did not wrap to the last")
	}
	// The password is masked in the rows, so a search does not find it.
	mustUpdate(t, m, keyText('/'))
	for range 4 {
		mustUpdate(t, m, keyCode(tea.KeyBackspace))
	}
	for _, r := range base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))[:12] {
		mustUpdate(t, m, keyText(r))
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if !strings.Contains(header2(m), "no row matches") {
		t.Errorf("the masked password was found: %q", header2(m))
	}
	// esc clears the search, then leaves.
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if s.find.query != "" || m.active != screenSession {
		t.Fatalf("esc: query %q, screen %d", s.find.query, m.active)
	}
	if strings.Contains(m.View().Content, "\x1b[4") {
		t.Errorf("marks stayed after the search was cleared")
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenPorts {
		t.Errorf("the second esc did not leave: screen %d", m.active)
	}
}

// TestSearchEscWhileTyping: esc in the field drops the search and puts the
// selection back where it was.
func TestSearchEscWhileTyping(t *testing.T) {
	m := newSessionModel(t, 80, 24, &fakeSessions{evs: fixture587()})
	s := session(m)
	before := s.tl.sel
	mustUpdate(t, m, keyText('/'))
	for _, r := range "starttls" {
		mustUpdate(t, m, keyText(r))
	}
	if s.tl.sel == before {
		t.Fatal("no match selected while typing")
	}
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if s.tl.sel != before || s.find.query != "" || m.typing() || m.active != screenSession {
		t.Errorf("esc while typing: row %d (was %d), query %q, screen %d", s.tl.sel, before, s.find.query, m.active)
	}
}

// TestJumps: e, u and v go to the next error, credential and verdict (E, U,
// V back), and say so when there is none.
func TestJumps(t *testing.T) {
	m := newSessionModel(t, 120, 40, &fakeSessions{evs: fixtureCleartextAuth()})
	s := session(m)
	mustUpdate(t, m, keyCode(tea.KeyHome))
	mustUpdate(t, m, keyText('u'))
	if got := s.evs[s.tl.rows[s.tl.sel].first]; got.Credential == nil || got.Credential.Password != "" {
		t.Errorf("u went to %q, want the user name's line", got.Text)
	}
	mustUpdate(t, m, keyText('u'))
	if got := s.evs[s.tl.rows[s.tl.sel].first]; got.Credential == nil || got.Credential.Password == "" {
		t.Errorf("u again went to %q, want the password's line", got.Text)
	}
	mustUpdate(t, m, keyText('e'))
	if got := s.evs[s.tl.rows[s.tl.sel].first]; got.Kind != wire.KindError || !strings.Contains(header2(m), "error") {
		t.Errorf("e went to %q (%q)", got.Text, header2(m))
	}
	mustUpdate(t, m, keyText('U'))
	if got := s.evs[s.tl.rows[s.tl.sel].first]; got.Credential == nil || got.Credential.Password == "" {
		t.Errorf("U went to %q, want the password's line", got.Text)
	}
	mustUpdate(t, m, keyText('v'))
	if h := header2(m); !strings.Contains(h, "no verdict in this session") {
		t.Errorf("v without verdicts: %q", h)
	}

	sc := newScenarioModel(t, 120, 40, &fakeSessions{evs: fixtureMITM()}, mitmRequest())
	mustUpdate(t, sc, keyCode(tea.KeyHome))
	mustUpdate(t, sc, keyText('v'))
	ss := session(sc)
	if got := ss.evs[ss.tl.rows[ss.tl.sel].first]; got.Kind != wire.KindVerdict {
		t.Errorf("v in a scenario went to %q", got.Text)
	}
}

// TestCopyEvent: y copies the selected row with OSC 52: its text as the row
// shows it and its bytes as the pane shows them, sanitized (no control
// byte but the line breaks) and masked as on screen; the header says what
// was copied and how many bytes.
func TestCopyEvent(t *testing.T) {
	m := newSessionModel(t, 120, 40, &fakeSessions{evs: fixture587()})
	selectText(t, m, "AUTH PLAIN")
	got := clipboard(t, mustUpdate(t, m, keyText('y')))
	plainB64 := base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))
	if strings.Contains(got, fixturePassword) || strings.Contains(got, plainB64) || !strings.Contains(got, "AUTH PLAIN ••••••••") {
		t.Errorf("the copy is not masked as the screen:\n%s", got)
	}
	if !strings.Contains(got, `AUTH PLAIN ••••••••\r\n`) {
		t.Errorf("no line as written:\n%s", got)
	}
	for _, c := range got {
		if c < 0x20 && c != '\n' || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			t.Fatalf("control %U in the copy:\n%q", c, got)
		}
	}
	if h := header2(m); !strings.Contains(h, fmt.Sprintf("copied event #%d and its line as written: %d bytes (OSC 52)",
		session(m).evs[session(m).tl.rows[session(m).tl.sel].first].Seq, len(got))) {
		t.Errorf("status: %q", h)
	}
	// Shown, the password is copied as shown.
	mustUpdate(t, m, keyText('p'))
	if got := clipboard(t, mustUpdate(t, m, keyText('y'))); !strings.Contains(got, plainB64) {
		t.Errorf("with passwords shown, the copy is still masked:\n%s", got)
	}
	// An encrypted record in the eavesdropper lens: its bytes in hex.
	mustUpdate(t, m, keyCode(tea.KeyTab))
	selectText(t, m, "encrypted TLS application_data record, 566 bytes")
	got = clipboard(t, mustUpdate(t, m, keyText('y')))
	if !strings.Contains(got, "00000000  17 03 03 02 36") || !strings.Contains(header2(m), "bytes in hex") {
		t.Errorf("record copy:\n%s\n%s", got, header2(m))
	}
	// A peer's escape sequence is copied as text, not as a control.
	var b builder
	b.line(wire.ServerToClient, false, "220 \x1b]52;c;ZXZpbA==\x07 hi\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	h := newSessionModel(t, 80, 24, &fakeSessions{evs: b.evs})
	if got := clipboard(t, mustUpdate(t, h, keyText('y'))); strings.ContainsAny(got, "\x1b\x07") || !strings.Contains(got, `\x1b]52;c;ZXZpbA==\x07`) {
		t.Errorf("hostile line copied as %q", got)
	}
}

// TestZoom: z hides the detail pane, the timeline takes its lines, and z
// brings it back.
func TestZoom(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		m := newSessionModel(t, size[0], size[1], &fakeSessions{evs: fixture587()})
		s := session(m)
		rows, cols := s.layout().listH, s.layout().listW
		mustUpdate(t, m, keyText('z'))
		v := plain(m)
		if strings.Contains(v, "╭") {
			t.Errorf("%v: the detail pane still shows:\n%s", size, v)
		}
		// Below the timeline, or beside it when the screen is wide.
		if got := s.layout(); got.listH != size[1]-headerLines-1-lenHelp(m) || got.listW != size[0] || got.listH*got.listW <= rows*cols {
			t.Errorf("%v: zoomed timeline %d×%d (was %d×%d)", size, got.listW, got.listH, cols, rows)
		}
		if n := strings.Count(v, "\n") + 1; n != size[1] {
			t.Errorf("%v: %d lines", size, n)
		}
		mustUpdate(t, m, keyText('z'))
		if !strings.Contains(plain(m), "╭") || s.layout().listH != rows || s.layout().listW != cols {
			t.Errorf("%v: z did not bring the pane back", size)
		}
	}
}

// lenHelp is the help bar's height.
func lenHelp(m *Model) int { return strings.Count(m.helpView(), "\n") + 1 }

// TestEndpointCopyCommand: y in the endpoint view copies the openssl
// command as one line that a shell reads back as the command's arguments
// (the view's lines, copied whole, held box borders and a CA path broken
// at its slashes); on 443 Y copies curl's. The view shows the command
// with the path whole.
func TestEndpointCopyCommand(t *testing.T) {
	info := fakeLabInfo()
	for _, c := range []struct {
		port int
		alt  bool
		want []string
	}{
		{587, false, []string{"openssl", "s_client", "-connect", "127.0.0.1:10587", "-starttls", "smtp", "-crlf", "-ign_eof",
			"-CAfile", info.CAPath, "-verify_hostname", "mail.lab.test"}},
		{993, false, []string{"openssl", "s_client", "-connect", "127.0.0.1:10993", "-crlf", "-ign_eof",
			"-CAfile", info.CAPath, "-verify_hostname", "mail.lab.test"}},
		{443, true, []string{"curl", "--cacert", info.CAPath, "--resolve", "mail.lab.test:43211:127.0.0.1", "https://mail.lab.test:43211/"}},
	} {
		m := newTestModel(t, 80, 24, &info, nil)
		p := ports(m)
		selectPortFor(t, m, c.port)
		mustUpdate(t, m, keyText('e'))
		k := keyText('y')
		if c.alt {
			k = keyText('Y')
		}
		got := clipboard(t, mustUpdate(t, m, k))
		if strings.Contains(got, "\n") || strings.Contains(got, "│") || strings.Contains(got, "\\") {
			t.Errorf("%d: not one plain line: %q", c.port, got)
		}
		if err := exec.Command("sh", "-n", "-c", got).Run(); err != nil {
			t.Errorf("%d: sh -n: %v: %q", c.port, err, got)
		}
		// The shell reads back exactly the arguments.
		out, err := exec.Command("sh", "-c", `f() { for a; do printf '%s\n' "$a"; done; }; f `+got).Output()
		if err != nil || strings.Join(c.want, "\n")+"\n" != string(out) {
			t.Errorf("%d: the shell reads %q (%v), want %q", c.port, out, err, c.want)
		}
		if !strings.Contains(p.detailFooter(76), fmt.Sprintf("one line: %d bytes (OSC 52)", len(got))) {
			t.Errorf("%d: status %q", c.port, ansi.Strip(p.detailFooter(76)))
		}
		// The view: the CA path whole on its line, continuations at the
		// lines' ends.
		view := ansi.Strip(p.endpointView(60))
		if !strings.Contains(view, "'"+info.CAPath+"'") {
			t.Errorf("%d: the CA path is not whole in the view:\n%s", c.port, view)
		}
	}
}

// selectPortFor moves the port table's selection to port.
func selectPortFor(t *testing.T, m *Model, port int) {
	t.Helper()
	p := ports(m)
	for r := range p.rows {
		for c := range 2 {
			if p.portAt(r, c) == port {
				p.row, p.col = r, c
				return
			}
		}
	}
	t.Fatalf("no port %d", port)
}

// TestCommandLines: a group wider than the line breaks between its
// arguments with a continuation, never inside one, and the lines read
// back as the command.
func TestCommandLines(t *testing.T) {
	c := opensslCommand("127.0.0.1:10587", fakeLabInfo(), "smtp", true)
	for w := 20; w <= 100; w++ {
		lines := commandLines(c, w)
		joined := strings.Join(lines, "\n")
		out, err := exec.Command("sh", "-c", `f() { for a; do printf '%s\n' "$a"; done; }; f `+joined).Output()
		if err != nil || string(out) != strings.Join(c.argv(), "\n")+"\n" {
			t.Fatalf("%d: lines %q read back as %q (%v)", w, lines, out, err)
		}
	}
}

// TestSearchInTypedSession: on a typed session's timeline (shift+tab), /
// searches as on any session: the field takes q and esc, and esc with a
// search in force clears it before it goes back to the prompt.
func TestSearchInTypedSession(t *testing.T) {
	m := newPromptTestModel(t, 120, 40, "smtp", &fakePrompts{})
	s := promptOf(m)
	mustUpdate(t, m, keyShiftTab)
	mustUpdate(t, m, keyText('/'))
	if !m.typing() {
		t.Fatal("the search field does not take the keys")
	}
	typeText(t, m, "q hi")
	if m.quitting || s.find.input.Value() != "q hi" {
		t.Fatalf("typed %q, quitting %v", s.find.input.Value(), m.quitting)
	}
	for range 4 {
		mustUpdate(t, m, keyCode(tea.KeyBackspace))
	}
	typeText(t, m, "hi")
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	if !s.onTimeline || s.find.query != "hi" || !strings.HasPrefix(selectedText(m), "220 hi") {
		t.Fatalf("enter: on timeline %v, query %q, selected %q", s.onTimeline, s.find.query, selectedText(m))
	}
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if !s.onTimeline || s.find.query != "" {
		t.Fatalf("esc with a search: on timeline %v, query %q", s.onTimeline, s.find.query)
	}
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	if s.onTimeline {
		t.Error("the second esc did not go back to the prompt")
	}
}
