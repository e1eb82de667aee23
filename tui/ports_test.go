package tui

import (
	"context"
	"fmt"
	"image/color"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/content"
)

func TestKeyboardNavigation(t *testing.T) {
	info := fakeLabInfo()
	m := newTestModel(t, 80, 24, &info, nil)
	steps := []struct {
		key  tea.KeyPressMsg
		want int
	}{
		{keyCode(tea.KeyRight), 25},  // SMTP has no implicit port: stay
		{keyCode(tea.KeyUp), 25},     // top row: stay
		{keyCode(tea.KeyDown), 587},  // explicit column kept
		{keyCode(tea.KeyRight), 465}, // to implicit
		{keyText('j'), 995},          // implicit column kept
		{keyText('j'), 993},
		{keyCode(tea.KeyDown), 443},
		{keyCode(tea.KeyDown), 443}, // bottom row: stay
		{keyText('h'), 443},         // HTTPS has no explicit port: stay
		{keyText('k'), 993},
		{keyCode(tea.KeyLeft), 143},
		{keyCode(tea.KeyDown), 443}, // no explicit HTTPS port: land on 443…
		{keyCode(tea.KeyUp), 993},   // …and turning back starts from the column the selection is in
		{keyText('h'), 143},
		{keyText('k'), 110},
		{keyCode(tea.KeyRight), 995},
		{keyText('k'), 465},
		{keyText('k'), 25},  // SMTP: only explicit
		{keyText('j'), 587}, // back down from where the selection is (issue 12)
	}
	for i, s := range steps {
		update(t, m, s.key)
		if got := ports(m).Selected(); got != s.want {
			t.Fatalf("step %d (%s): selected %d, want %d", i, s.key, got, s.want)
		}
	}
}

// cellPos finds where a text is drawn on screen, so clicks are tested
// against the real rendering rather than the layout arithmetic they use.
func cellPos(t *testing.T, m *Model, text string) (x, y int) {
	t.Helper()
	for y, line := range strings.Split(plain(m), "\n") {
		if i := strings.Index(line, text); i >= 0 {
			return ansi.StringWidth(line[:i]), y
		}
	}
	t.Fatalf("%q not on screen:\n%s", text, plain(m))
	return 0, 0
}

func click(x, y int) tea.MouseClickMsg {
	return tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft}
}

func TestMouseClickSelectsCell(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			info := fakeLabInfo()
			m := newTestModel(t, size[0], size[1], &info, nil)
			for _, c := range []struct {
				text string
				dx   int
				want int
			}{
				{"465 → :10465", 3, 465},
				{"143 → :10143", 0, 143},
				{"443 → :43211", 11, 443},
				{"25 → :10025", 1, 25},
				{"HTTPS", 0, 443},      // the protocol name selects the row
				{"Submission", 2, 587}, // purpose: the row, in the last chosen column… (explicit, from 25)
			} {
				x, y := cellPos(t, m, c.text)
				update(t, m, click(x+c.dx, y))
				if got := ports(m).Selected(); got != c.want {
					t.Errorf("click on %q at (%d,%d): selected %d, want %d", c.text, x+c.dx, y, got, c.want)
				}
			}
			// Clicking the "—" of SMTP's implicit column selects SMTP's port.
			x, y := cellPos(t, m, "SMTP")
			update(t, m, click(x+colProtocol+colGap+colPort+colGap+2, y))
			if got := ports(m).Selected(); got != 25 {
				t.Errorf("click on SMTP's N/A cell: selected %d, want 25", got)
			}
			// Clicks outside the table change nothing.
			update(t, m, click(0, 0))
			update(t, m, click(size[0]-1, size[1]-1))
			if got := ports(m).Selected(); got != 25 {
				t.Errorf("clicks outside the table moved the selection to %d", got)
			}
			// The right mouse button does not select.
			x, y = cellPos(t, m, "993 → :10993")
			update(t, m, tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseRight})
			if got := ports(m).Selected(); got != 25 {
				t.Errorf("right click selected %d", got)
			}
		})
	}
}

func TestViewFitsEverySize(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {90, 30}, {99, 24}, {100, 24}, {120, 40}, {200, 60}, {80, 50}} {
		for _, lab := range []string{"starting", "ready", "failed"} {
			t.Run(fmt.Sprintf("%dx%d/%s", size[0], size[1], lab), func(t *testing.T) {
				info := fakeLabInfo()
				var m *Model
				switch lab {
				case "starting":
					m = newTestModel(t, size[0], size[1], nil, nil)
				case "ready":
					m = newTestModel(t, size[0], size[1], &info, nil)
				case "failed":
					m = newTestModel(t, size[0], size[1], nil, errLab)
				}
				for _, mode := range []tea.KeyPressMsg{keyCode(tea.KeyEscape), keyCode(tea.KeyEnter), keyText('?')} {
					update(t, m, mode)
					out := m.View().Content
					if h := lipgloss.Height(out); h > size[1] {
						t.Errorf("after %s: %d lines, window has %d", mode, h, size[1])
					}
					for i, line := range strings.Split(out, "\n") {
						if w := ansi.StringWidth(line); w > size[0] {
							t.Errorf("after %s: line %d is %d wide, window is %d: %q", mode, i, w, size[0], ansi.Strip(line))
						}
					}
				}
			})
		}
	}
}

func TestLayoutWideAndNarrow(t *testing.T) {
	info := fakeLabInfo()
	wide := newTestModel(t, 120, 40, &info, nil)
	if !ports(wide).layout().wide {
		t.Fatal("120 columns: detail pane should sit beside the table")
	}
	// Beside: the table's first row and the pane's title share a line.
	if !strings.Contains(plain(wide), "Protocol") || !lineHasBoth(plain(wide), "Protocol", "Port 25:") {
		t.Errorf("120x40: table header and detail title not side by side:\n%s", plain(wide))
	}
	narrow := newTestModel(t, 80, 24, &info, nil)
	if ports(narrow).layout().wide {
		t.Fatal("80 columns: detail pane should sit below the table")
	}
	out := plain(narrow)
	if strings.Index(out, "Port 25:") < strings.Index(out, "HTTPS") {
		t.Errorf("80x24: detail pane not below the table:\n%s", out)
	}
	// Resizing live switches the layout.
	update(t, narrow, tea.WindowSizeMsg{Width: 130, Height: 40})
	if !ports(narrow).layout().wide || !lineHasBoth(plain(narrow), "Protocol", "Port 25:") {
		t.Errorf("after resize to 130x40 the layout did not become wide")
	}
}

func lineHasBoth(s, a, b string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, a) && strings.Contains(l, b) {
			return true
		}
	}
	return false
}

// selectPort moves the selection to port with the keyboard.
func selectPort(t *testing.T, m *Model, port int) {
	t.Helper()
	// Walk to the top, down to the port's row, then to its column.
	for range 6 {
		update(t, m, keyCode(tea.KeyUp))
	}
	for _, row := range content.PortTable() {
		switch port {
		case row.Explicit:
			update(t, m, keyCode(tea.KeyLeft))
		case row.Implicit:
			update(t, m, keyCode(tea.KeyRight))
		default:
			update(t, m, keyCode(tea.KeyDown))
			continue
		}
		break
	}
	if got := ports(m).Selected(); got != port {
		t.Fatalf("could not select port %d (at %d)", port, got)
	}
}

func allPorts() []int {
	var out []int
	for _, r := range content.PortTable() {
		for _, p := range []int{r.Explicit, r.Implicit} {
			if p != 0 {
				out = append(out, p)
			}
		}
	}
	return out
}

func TestDetailPaneForEveryCell(t *testing.T) {
	info := fakeLabInfo()
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		m := newTestModel(t, size[0], size[1], &info, nil)
		for _, port := range allPorts() {
			t.Run(fmt.Sprintf("%dx%d/%d", size[0], size[1], port), func(t *testing.T) {
				selectPort(t, m, port)
				d, ok := content.Port(port)
				if !ok {
					t.Fatalf("no content for %d", port)
				}
				got := flatten(ports(m).detail.GetContent())
				for _, want := range []string{d.Title, d.Purpose, d.HowTLSStarts, d.WhatGoesWrong, d.Policy} {
					want = strings.Join(strings.Fields(want), " ")
					if !strings.Contains(got, want) {
						t.Errorf("pane lacks %q\npane: %s", want, got)
					}
				}
				for _, r := range d.Refs {
					if !strings.Contains(got, r.String()+": "+r.Title) {
						t.Errorf("pane lacks reference %s", r)
					}
				}
				// The exchange on the wire: beside the table when wide, in
				// the pane when narrow.
				where := got
				if size[0] >= wideWidth {
					where = flatten(ports(m).wireBox(tableWidth))
					if !strings.Contains(plain(m), fmt.Sprintf("On the wire, port %d", port)) {
						t.Errorf("wire box not on screen:\n%s", plain(m))
					}
				}
				for _, w := range d.Wire {
					if !strings.Contains(where, strings.Join(strings.Fields(w.Text), " ")) {
						t.Errorf("wire step %q not shown", w.Text)
					}
				}
				// The visible part starts with the title.
				if !strings.Contains(plain(m), firstWords(d.Title, 3)) {
					t.Errorf("title not visible:\n%s", plain(m))
				}
			})
		}
	}
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	return strings.Join(f[:min(n, len(f))], " ")
}

func TestEnterShowsLabEndpoint(t *testing.T) {
	info := fakeLabInfo()
	cases := []struct {
		port int
		want []string
		not  []string
	}{
		{25, []string{"127.0.0.1:10025", "-starttls smtp", "explicit", "STARTTLS after EHLO", "EHLO me"}, []string{"AUTH", "login"}},
		{587, []string{"openssl s_client -connect 127.0.0.1:10587 \\", "-starttls smtp", "-crlf",
			"-CAfile '/tmp/mailwire lab/ca.pem'", "-verify_hostname mail.lab.test",
			"AUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==", "learner / correct-horse"}, nil},
		{465, []string{"127.0.0.1:10465", "implicit", "EHLO me"}, []string{"-starttls"}},
		{110, []string{"-starttls pop3", "STLS", "USER learner", "PASS correct-horse"}, nil},
		{995, []string{"127.0.0.1:10995", "USER learner"}, []string{"-starttls"}},
		{143, []string{"-starttls imap", "b LOGIN learner correct-horse"}, nil},
		{993, []string{"127.0.0.1:10993", "b LOGIN learner correct-horse"}, []string{"-starttls"}},
		{443, []string{"openssl s_client -connect 127.0.0.1:43211", "--resolve mail.lab.test:43211:127.0.0.1",
			"https://mail.lab.test:43211/"}, []string{"-starttls", "-crlf", "LOGIN"}},
	}
	m := newTestModel(t, 120, 40, &info, nil)
	for _, c := range cases {
		t.Run(fmt.Sprint(c.port), func(t *testing.T) {
			selectPort(t, m, c.port)
			update(t, m, keyCode(tea.KeyEnter))
			got := ansi.Strip(ports(m).detail.GetContent())
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("endpoint view lacks %q:\n%s", w, got)
				}
			}
			for _, w := range c.not {
				if strings.Contains(got, w) {
					t.Errorf("endpoint view has %q:\n%s", w, got)
				}
			}
			update(t, m, keyCode(tea.KeyEscape))
			if ports(m).mode != modeExplain || strings.Contains(ansi.Strip(ports(m).detail.GetContent()), "s_client") {
				t.Errorf("esc did not return to the explanation")
			}
		})
	}
	// Moving to another port also leaves the endpoint view.
	update(t, m, keyCode(tea.KeyEnter))
	update(t, m, keyCode(tea.KeyUp))
	if ports(m).mode != modeExplain {
		t.Errorf("moving kept the endpoint view")
	}
}

func TestEnterBeforeOrWithoutLab(t *testing.T) {
	starting := newTestModel(t, 80, 24, nil, nil)
	update(t, starting, keyCode(tea.KeyEnter))
	if got := plain(starting); !strings.Contains(got, "still starting") || !strings.Contains(got, "lab: starting…") {
		t.Errorf("starting lab:\n%s", got)
	}
	failed := newTestModel(t, 80, 24, nil, errLab)
	if got := flatten(plain(failed)); !strings.Contains(got, "lab failed: "+errLab.Error()) {
		t.Errorf("failed lab status not shown:\n%s", plain(failed))
	}
	update(t, failed, keyCode(tea.KeyEnter))
	if got := flatten(ansi.Strip(ports(failed).detail.GetContent())); !strings.Contains(got, errLab.Error()) {
		t.Errorf("failed lab, endpoint view:\n%s", got)
	}
	none := newModel(Options{})
	update(t, none, tea.WindowSizeMsg{Width: 80, Height: 24})
	if got := plain(none); !strings.Contains(got, "lab: not started") {
		t.Errorf("no lab:\n%s", got)
	}
	// Port cells show the plain port until the lab reports its addresses.
	if got := plain(starting); strings.Contains(got, "587 →") || !strings.Contains(got, " 587 ") {
		t.Errorf("port cells before the lab is up:\n%s", got)
	}
}

func TestDetailScrolls(t *testing.T) {
	info := fakeLabInfo()
	m := newTestModel(t, 80, 24, &info, nil)
	p := ports(m)
	if p.detail.TotalLineCount() <= p.detail.Height() {
		t.Fatalf("at 80x24 the explanation should need scrolling (%d lines, %d visible)", p.detail.TotalLineCount(), p.detail.Height())
	}
	update(t, m, keyText('J'))
	if p.detail.YOffset() == 0 {
		t.Fatal("J did not scroll down")
	}
	off := p.detail.YOffset()
	update(t, m, keyCode(tea.KeyPgDown))
	if p.detail.YOffset() <= off {
		t.Fatal("pgdown did not scroll down")
	}
	update(t, m, keyText('K'))
	update(t, m, keyCode(tea.KeyPgUp))
	if p.detail.YOffset() != 0 {
		t.Fatalf("K, pgup: offset %d, want 0", p.detail.YOffset())
	}
	update(t, m, tea.MouseWheelMsg{X: 10, Y: 20, Button: tea.MouseWheelDown})
	if p.detail.YOffset() != 3 {
		t.Fatalf("wheel down: offset %d, want 3", p.detail.YOffset())
	}
	if !strings.Contains(plain(m), "pgdn/J more") {
		t.Errorf("no scroll hint:\n%s", plain(m))
	}
	// A new selection starts at the top.
	update(t, m, keyCode(tea.KeyDown))
	if p.detail.YOffset() != 0 {
		t.Fatalf("new port kept offset %d", p.detail.YOffset())
	}
}

func TestQuitAndHelp(t *testing.T) {
	for _, k := range []tea.KeyPressMsg{keyText('q'), {Code: 'c', Mod: tea.ModCtrl}} {
		m := newTestModel(t, 80, 24, nil, nil)
		cmd := update(t, m, k)
		if cmd == nil {
			t.Fatalf("%s: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s: command is not tea.Quit", k)
		}
	}
	m := newTestModel(t, 120, 40, nil, nil)
	if strings.Contains(plain(m), "scroll up") {
		t.Fatal("full help shown before ?")
	}
	update(t, m, keyText('?'))
	for _, w := range []string{"scroll up", "scroll down", "explicit TLS column", "implicit TLS column", "lab endpoint", "quit"} {
		if !strings.Contains(plain(m), w) {
			t.Errorf("full help lacks %q", w)
		}
	}
	update(t, m, keyText('?'))
	if strings.Contains(plain(m), "scroll up") {
		t.Fatal("? did not close the full help")
	}
	// esc with nothing to go back to does not quit.
	if cmd := update(t, m, keyCode(tea.KeyEscape)); cmd != nil {
		if _, ok := cmd().(tea.QuitMsg); ok {
			t.Fatal("esc quit the program")
		}
	}
}

func TestViewSettings(t *testing.T) {
	m := newTestModel(t, 80, 24, nil, nil)
	v := m.View()
	if !v.AltScreen || v.MouseMode != tea.MouseModeCellMotion || !strings.Contains(v.WindowTitle, "mailwire") {
		t.Errorf("view: alt=%v mouse=%v title=%q", v.AltScreen, v.MouseMode, v.WindowTitle)
	}
}

func TestBackgroundColorRebuildsStyles(t *testing.T) {
	m := newTestModel(t, 80, 24, nil, nil)
	if !m.common.Styles.IsDark {
		t.Fatal("default should be dark")
	}
	dark := m.View().Content
	update(t, m, tea.BackgroundColorMsg{Color: color.White})
	if m.common.Styles.IsDark {
		t.Fatal("white background: still dark styles")
	}
	if m.View().Content == dark {
		t.Fatal("light theme renders the same bytes as dark")
	}
	if ansi.Strip(m.View().Content) != ansi.Strip(dark) {
		t.Fatal("theme change altered the text")
	}
}

func TestInitStartsLab(t *testing.T) {
	type ctxKey struct{}
	ctx := context.WithValue(context.Background(), ctxKey{}, "mine")
	var gotCtx context.Context
	m := newModel(Options{Context: ctx, StartLab: func(c context.Context) (LabInfo, error) {
		gotCtx = c
		return fakeLabInfo(), nil
	}})
	var msgs []tea.Msg
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		default:
			msgs = append(msgs, msg)
		}
	}
	run(m.Init())
	var lab *labResultMsg
	for _, msg := range msgs {
		if l, ok := msg.(labResultMsg); ok {
			lab = &l
		}
	}
	if lab == nil {
		t.Fatalf("Init did not start the lab: %#v", msgs)
	}
	if gotCtx == nil || gotCtx.Value(ctxKey{}) != "mine" {
		t.Error("StartLab did not get Options.Context")
	}
	update(t, m, *lab)
	if m.common.Lab.State != labReady || !strings.Contains(plain(m), "587 → :10587") {
		t.Errorf("lab result not applied:\n%s", plain(m))
	}
}

func TestNoColorKeepsSelectionVisible(t *testing.T) {
	info := fakeLabInfo()
	m := newTestModel(t, 80, 24, &info, nil)
	out := withProfile(t, m.View().Content, colorprofile.Ascii)
	if strings.Contains(out, "38;") || strings.Contains(out, "48;") || basicColour.MatchString(out) {
		t.Errorf("ASCII profile output still has colours: %q", out)
	}
	if !strings.Contains(out, "\x1b[1;7m") && !strings.Contains(out, ";7m") {
		t.Errorf("selected cell lost its reverse attribute without colour:\n%q", out)
	}
}

var basicColour = regexp.MustCompile(`[\[;](3[0-7]|4[0-7]|9[0-7]|10[0-7])[;m]`)

func TestGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		for _, theme := range []string{"dark", "light"} {
			t.Run(fmt.Sprintf("%dx%d_%s", size[0], size[1], theme), func(t *testing.T) {
				info := fakeLabInfo()
				m := newTestModel(t, size[0], size[1], &info, nil)
				if theme == "light" {
					update(t, m, lightBackground())
				}
				update(t, m, keyCode(tea.KeyDown))
				update(t, m, keyCode(tea.KeyRight)) // 465
				golden.RequireEqual(t, withProfile(t, m.View().Content, colorprofile.ANSI256))
			})
		}
	}
	t.Run("endpoint_80x24", func(t *testing.T) {
		info := fakeLabInfo()
		m := newTestModel(t, 80, 24, &info, nil)
		update(t, m, keyCode(tea.KeyDown))
		update(t, m, keyCode(tea.KeyEnter)) // 587
		golden.RequireEqual(t, plain(m))
	})
	t.Run("help_120x40", func(t *testing.T) {
		m := newTestModel(t, 120, 40, nil, errLab)
		update(t, m, keyText('?'))
		golden.RequireEqual(t, plain(m))
	})
}
