package tui

import (
	"bytes"
	"context"
	"errors"
	"image/color"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
)

func fakeLabInfo() LabInfo {
	return LabInfo{
		Endpoints: map[int]string{
			25: "127.0.0.1:10025", 587: "127.0.0.1:10587", 465: "127.0.0.1:10465",
			110: "127.0.0.1:10110", 995: "127.0.0.1:10995", 143: "127.0.0.1:10143",
			993: "127.0.0.1:10993", 443: "127.0.0.1:43211", // 10443 was taken: a fallback port
		},
		ListenHost: "127.0.0.1",
		CAPath:     "/tmp/mailwire lab/ca.pem", // a space, to exercise shell quoting
		Hostname:   "mail.lab.test",
		User:       "learner",
		Password:   "correct-horse",
	}
}

var errLab = errors.New("listen tcp 127.0.0.1:10025: bind: address already in use")

// newTestModel returns a root model of the given size whose lab has already
// reported info (or err, if not nil). lab == nil leaves it starting.
func newTestModel(t *testing.T, w, h int, lab *LabInfo, err error) *Model {
	t.Helper()
	opts := Options{StartLab: func(context.Context) (LabInfo, error) { return LabInfo{}, nil }}
	m := newModel(opts)
	update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	switch {
	case err != nil:
		update(t, m, labResultMsg{err: err})
	case lab != nil:
		update(t, m, labResultMsg{info: *lab})
	}
	return m
}

func update(t *testing.T, m *Model, msg tea.Msg) tea.Cmd {
	t.Helper()
	got, cmd := m.Update(msg)
	if got != m {
		t.Fatalf("Update returned a different model %T", got)
	}
	return cmd
}

func keyCode(code rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: code} }

func keyText(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

func ports(m *Model) *portsScreen { return m.screens[screenPorts].(*portsScreen) }

// plain renders the view with colour and attributes stripped.
func plain(m *Model) string { return ansi.Strip(m.View().Content) }

// withProfile renders the view as a terminal of the given profile would
// receive it, which pins colours for golden files.
func withProfile(t *testing.T, s string, p colorprofile.Profile) string {
	t.Helper()
	var buf bytes.Buffer
	w := colorprofile.NewWriter(&buf, nil)
	w.Profile = p
	if _, err := w.WriteString(s); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// flatten turns wrapped pane text back into running prose: lines joined with
// spaces (or nothing after a hyphen or slash the wrapper broke at), no-break
// spaces made plain, runs of spaces collapsed.
func flatten(s string) string {
	s = strings.ReplaceAll(ansi.Strip(s), "\u00a0", " ")
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(strings.Trim(line, "│"))
		if line == "" {
			continue
		}
		if b.Len() > 0 {
			last := b.String()[b.Len()-1]
			if last != '-' && last != '/' {
				b.WriteByte(' ')
			}
		}
		b.WriteString(line)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func lightBackground() tea.BackgroundColorMsg { return tea.BackgroundColorMsg{Color: color.White} }
