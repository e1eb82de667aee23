package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// The detail pane: a bordered box whose text (the selected event
// explained, or a scenario's story) scrolls in a bubbles viewport, with a
// footer that says where it stands and what the main keys do. What the text
// says is the screen's (detail_content.go); the pane renders it when what
// it shows changes.

// detailKind is what the detail pane explains.
type detailKind int

const (
	detailNone  detailKind = iota // no row selected: a placeholder
	detailEvent                   // the selected timeline row
	detailStory                   // a scenario's story
)

// detailSubject identifies the pane's text: a new subject starts at its
// top.
type detailSubject struct {
	kind        detailKind
	first, last int // for detailEvent: the events of the selected row, as far as revealed
}

// detailPane is the detail pane's model.
type detailPane struct {
	c  *Common
	vp viewport.Model

	// subject is what the text shows; stale says it must be rendered again
	// although the subject is the same (new events, another lens, a new
	// theme).
	subject detailSubject
	stale   bool
	// hint is the footer's text after the scroll position.
	hint string

	width, height int // of the box, border included
}

func newDetailPane(c *Common) *detailPane {
	vp := viewport.New()
	// Keys come from the one KeyMap (Update); the viewport's own (space,
	// f, b, u, d, hjkl…) belong to other parts of the screen.
	vp.KeyMap = viewport.KeyMap{}
	return &detailPane{c: c, vp: vp, stale: true}
}

// inner is the size of the text area: the box less its border, the
// padding either side and the footer line.
func (p *detailPane) inner() (w, h int) { return max(1, p.width-4), max(1, p.height-3) }

// SetSize sets the size of the box, border included. A new width wraps the
// text anew.
func (p *detailPane) SetSize(width, height int) {
	oldW, _ := p.inner()
	p.width, p.height = width, height
	w, h := p.inner()
	if w != oldW {
		p.stale = true
	}
	p.vp.SetWidth(w)
	p.vp.SetHeight(h)
	p.vp.SetYOffset(p.vp.YOffset()) // within the new height
}

// invalidate has the text rendered again at the next show.
func (p *detailPane) invalidate() { p.stale = true }

// show sets what the pane explains. When that changed (or the text is
// stale), render builds the text for the pane's inner width; each line is
// cut to the width, and the pane starts at its top.
func (p *detailPane) show(subject detailSubject, render func(width int) string) {
	if subject == p.subject && !p.stale {
		return
	}
	w, _ := p.inner()
	lines := strings.Split(render(w), "\n")
	for i, line := range lines {
		// Cut here, where the text is made; the viewport pads to the
		// width as it draws.
		lines[i] = ansi.Truncate(line, w, "…")
	}
	p.vp.SetContentLines(lines)
	p.vp.GotoTop()
	p.subject, p.stale = subject, false
}

// scroll moves the text by n lines, within it.
func (p *detailPane) scroll(n int) {
	if n < 0 {
		p.vp.ScrollUp(-n)
	} else {
		p.vp.ScrollDown(n)
	}
}

// Update scrolls: J/K by half the pane, the wheel (the screen sends it
// only when the pointer is over the pane) by three lines. ok says the
// message was the pane's.
func (p *detailPane) Update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		_, h := p.inner()
		switch {
		case key.Matches(msg, p.c.Keys.DetailUp):
			p.scroll(-max(1, h/2))
		case key.Matches(msg, p.c.Keys.DetailDown):
			p.scroll(max(1, h/2))
		default:
			return nil, false
		}
		return nil, true
	case tea.MouseWheelMsg:
		switch msg.Mouse().Button {
		case tea.MouseWheelUp:
			p.scroll(-p.vp.MouseWheelDelta)
		case tea.MouseWheelDown:
			p.scroll(p.vp.MouseWheelDelta)
		default:
			return nil, false
		}
		return nil, true
	}
	return nil, false
}

// scrollable says whether the text is longer than the pane.
func (p *detailPane) scrollable() bool { return p.vp.TotalLineCount() > p.vp.Height() }

// percent is how far the pane has scrolled, 0 to 100.
func (p *detailPane) percent() int {
	return 100 * p.vp.YOffset() / max(1, p.vp.TotalLineCount()-p.vp.Height())
}

// View draws the box: the border by hand, around the viewport's lines
// (already cut to the width) and the footer.
func (p *detailPane) View() string {
	st := p.c.Styles
	w, h := p.inner()
	var parts []string
	if p.scrollable() {
		parts = append(parts, fmt.Sprintf("%3d%% · J/K scroll", p.percent()))
	}
	if p.hint != "" {
		parts = append(parts, p.hint)
	}
	footer := st.Muted.Render(padTo(ansi.Truncate(strings.Join(parts, " · "), w, "…"), w))

	b := lipgloss.RoundedBorder()
	edge := lipgloss.NewStyle().Foreground(st.Border.GetBorderTopForeground())
	side, rside := edge.Render(b.Left), edge.Render(b.Right)
	out := make([]string, 0, h+3)
	out = append(out, edge.Render(b.TopLeft+strings.Repeat(b.Top, w+2)+b.TopRight))
	for _, line := range strings.Split(p.vp.View(), "\n") {
		out = append(out, side+" "+line+" "+rside)
	}
	out = append(out, side+" "+footer+" "+rside)
	out = append(out, edge.Render(b.BottomLeft+strings.Repeat(b.Bottom, w+2)+b.BottomRight))
	return strings.Join(out, "\n")
}

// ShortHelp lists the scroll keys.
func (p *detailPane) ShortHelp() []key.Binding {
	return []key.Binding{p.c.Keys.DetailUp, p.c.Keys.DetailDown}
}

// FullHelp lists the scroll keys in one column.
func (p *detailPane) FullHelp() [][]key.Binding { return [][]key.Binding{p.ShortHelp()} }
