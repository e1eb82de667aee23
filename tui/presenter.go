package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Presenter mode (issue 15 §2): the session screen laid out for a
// workshop's projector. It is step mode (stepper.go) with:
//
//   - the high-contrast theme, program-wide (the root owns the styles);
//   - the narration of the step on screen at the top, in large type: what
//     crossed the wire and who could read it, drawn from the annotations
//     (content/annotations) as the lens (sessions/lens, through
//     visibility.go) has them;
//   - the timeline below it, the whole width; the detail pane hidden until
//     z asks for it (zoom, session_find.go);
//   - the instructor's keys: next and previous, which take a presentation
//     clicker's page down and page up too, auto-play (a), the lens on the
//     same step (tab), and esc, which leaves presenter mode before it
//     leaves the screen (a clicker's slideshow button sends F5, then esc).
//
// "Large type": a terminal cannot change its font size, and a figlet-like
// font of 5–6 rows per letter fits about ten letters in 80 columns, so an
// annotation's title (often 50 letters) would take 30 rows. The headline is
// a band instead: a reversed cell the whole width and three rows high, its
// title in bold, which a projector shows as a solid bar that reads from the
// back of the room and survives NO_COLOR (reverse and bold are attributes,
// not colours). The narration under it is bold, wrapped to the full width.
//
// Presenter mode is Common.Present, for the whole program (--present, or
// P on the session screen): a session opened while presenting opens in
// presenter mode too.

// presentMsg turns presenter mode on or off. The session screen sends it
// (P, F5, esc); the root, which owns the styles, switches the theme and
// passes it on to every screen.
type presentMsg struct{ on bool }

// presentCmd asks for presenter mode on or off.
func presentCmd(on bool) tea.Cmd { return func() tea.Msg { return presentMsg{on: on} } }

// themeStyles are theme t's styles, or in presenter mode the high-contrast
// theme's: on the terminal's background, or on the background t fixes
// (--theme light on a projector gives the light high-contrast palette).
func themeStyles(t Theme, present, isDark bool) Styles {
	if present {
		if d, fixed := t.fixedDark(); fixed {
			isDark = d
		}
		t = ThemeHighContrast
	}
	return ThemeStyles(t, isDark)
}

// setPresent turns presenter mode on or off for the whole program: the
// theme, then every screen (the session screen lays itself out again).
func (m *Model) setPresent(on bool) tea.Cmd {
	m.common.Present = on
	restyle := m.setBackground(m.common.Styles.IsDark)
	return tea.Batch(restyle, m.forwardAll(presentMsg{on: on}))
}

// presenting lays the session screen out for presenter mode, or back:
// on, step mode starts (at the first step, unless a step is on screen
// already) and the detail pane hides; off, the detail pane is back and
// step mode stays where the instructor left it.
func (s *sessionScreen) presenting(on bool) {
	s.zoom = on
	if on && !s.step.on {
		s.stepped(func() { s.step.setMode(true) })
	}
	s.invalidate()
	s.resizeParts()
	s.tl.clampScroll()
}

// presenterKey takes the instructor's keys in presenter mode: next and
// previous step (a clicker's page down and up, space, the arrows), and
// esc, which leaves presenter mode first. ok says the key was one of them.
func (s *sessionScreen) presenterKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.PresentNext):
		s.stepped(s.step.forward)
	case key.Matches(msg, k.PresentPrev):
		s.stepped(s.step.back)
	case key.Matches(msg, k.Back):
		return presentCmd(false), true
	default:
		return nil, false
	}
	return nil, true
}

// presenterHelp is the help bar in presenter mode: the instructor's keys,
// in fewer words the narrower the screen, so that all of them fit from 80
// columns on (with the root's global keys).
func (s *sessionScreen) presenterHelp() []key.Binding {
	k := s.c.Keys
	next, prev, auto, lensKey, panes, leave := k.PresentNext, k.PresentPrev, k.Auto, k.Lens, k.Zoom, k.Present
	shown := map[bool]string{true: "show", false: "hide"}[s.zoom]
	switch {
	case s.width >= 140:
		next.SetHelp("pgdn/space/→", "next")
		prev.SetHelp("pgup/←", "back")
		auto.SetHelp("a", "auto-play")
		lensKey.SetHelp("tab", "switch lens")
		panes.SetHelp("z", shown+" details")
		leave.SetHelp("P/esc", "leave presenter")
	case s.width >= 105:
		next.SetHelp("pgdn/→", "next")
		prev.SetHelp("pgup/←", "back")
		auto.SetHelp("a", "auto-play")
		lensKey.SetHelp("tab", "lens")
		panes.SetHelp("z", "details")
		leave.SetHelp("P/esc", "exit")
	default:
		// Next and previous as one entry: "→/← step".
		next = key.NewBinding(key.WithKeys(append(next.Keys(), prev.Keys()...)...), key.WithHelp("→/←", "step"))
		prev.SetEnabled(false)
		auto.SetHelp("a", "play")
		lensKey.SetHelp("tab", "lens")
		panes.SetHelp("z", "panes")
		leave.SetHelp("P", "exit")
	}
	if s.step.auto {
		auto.SetHelp("a", "stop")
	}
	out := []key.Binding{next, prev, auto, lensKey, panes, leave}
	if !prev.Enabled() {
		out = append(out[:1], out[2:]...)
	}
	return out
}

// presenterFullHelp is the full help's first column in presenter mode.
func (s *sessionScreen) presenterFullHelp() []key.Binding {
	k := s.c.Keys
	leave := k.Present
	leave.SetHelp("P/esc", "leave presenter mode")
	return []key.Binding{k.PresentNext, k.PresentPrev, k.Auto, k.Faster, k.Slower, k.Lens, k.Zoom, leave}
}

// narration is what the presenter's block says of the step on screen,
// every part already sanitized.
type narration struct {
	what     string // the event as its timeline row shows it, with its direction
	badge    string // who reads it (lens.Badge)
	ev       wire.Event
	headline string // the annotation's title
	says     string // one or two sentences of its prose
	who      string // who could read it: the wire annotation's title, when the headline is not it
	warn     string // a password anyone on the path could read: the risk, in the annotation's words
}

// narrate says what the step on screen is (outside step mode: the
// selected row). Of its events it tells the first the lens shows and does
// not dim (the command, not the records that carried it), else the first
// it shows; false when there is none yet.
func (s *sessionScreen) narrate() (narration, bool) {
	from, to := s.step.current()
	if from == to {
		r, ok := s.tl.selected()
		if !ok {
			return narration{}, false
		}
		from, to = r.first, min(r.last+1, s.step.revealed())
	}
	at := -1
	for i := from; i < to; i++ {
		ev := &s.evs[i]
		if !lensShows(s.lens, ev) {
			continue
		}
		if at < 0 {
			at = i
		}
		if !lensDims(s.lens, ev) {
			at = i
			break
		}
	}
	if at < 0 {
		return narration{}, false
	}
	ev := s.event(at)
	text, _, _ := s.tl.rowText(at, at) // as its row says it: a verdict's mark, an error's ✗
	n := narration{ev: ev, badge: lens.Badge(ev), what: render.Arrow(ev.Dir) + "  " + text}
	if ev.Leg != "" {
		n.what = legName(ev.Leg) + "  " + n.what
	}
	a, ok := narrationAnnotation(s.lens, ev)
	if ok {
		n.headline, n.says = a.Title, a.Lead(2)
		if len(n.says) > 240 {
			n.says = a.Lead(1) // two long sentences are a paragraph, not a caption
		}
	}
	if w, ok := content.Lookup(lens.WireAnnotation(ev)); ok && w.Key != a.Key {
		n.who = w.Title
	}
	for i := from; i < to; i++ {
		if c := s.evs[i].Credential; c != nil && c.Password != "" && lens.Eavesdropper.ShowsCredential(s.evs[i]) {
			if w, ok := content.Lookup("wire.credentials"); ok {
				n.warn = w.Risk
			}
		}
	}
	if ev.Kind == wire.KindError && n.headline == "" {
		n.headline = "✗ " + wire.SafeString(ev.Text)
	}
	return n, true
}

// narrationAnnotation is the annotation that narrates ev in the lens: an
// error's explanation; a verdict's own; else what the lens explains it
// with, its own meaning where the lens reads it, else what crossed the
// wire (visibility.go).
func narrationAnnotation(l lens.Lens, ev wire.Event) (content.Annotation, bool) {
	switch {
	case ev.Kind == wire.KindError && ev.Err != nil:
		return content.Lookup(ev.Err.Explain)
	case ev.Kind == wire.KindVerdict:
		return content.Lookup(ev.Annotation)
	}
	ex := lensExplains(l, ev)
	if a, ok := content.Lookup(ex.own); ok && ex.own != "" {
		return a, true
	}
	return content.Lookup(ex.wire)
}

// presenterBlock caches the presenter's block as last rendered: it is laid
// out (its height) on every message and drawn on every frame.
type presenterBlock struct {
	key   presenterCacheKey
	valid bool
	lines []string
}

// presenterCacheKey is what the block's lines depend on besides the lens,
// passwords and theme, whose changes invalidate it (sessionScreen.invalidate).
type presenterCacheKey struct{ from, to, sel, n, w, maxH int }

func (b *presenterBlock) invalidate() { b.valid = false }

// presenterMaxH is the most lines the presenter's block may take.
func (s *sessionScreen) presenterMaxH() int {
	return max(s.height, headerLines+6) - headerLines - minPresenterBody
}

// presenterLines is the presenter's block at the screen's width, at most
// maxH lines: none unless presenting, or under the scenario panel.
func (s *sessionScreen) presenterLines(maxH int) []string {
	if !s.c.Present || s.panel.open || maxH <= 0 {
		return nil
	}
	from, to := s.step.current()
	k := presenterCacheKey{from: from, to: to, sel: s.tl.sel, n: len(s.evs), w: max(s.width, 20), maxH: maxH}
	if s.pres.valid && s.pres.key == k {
		return s.pres.lines
	}
	s.pres.key, s.pres.valid = k, true
	s.pres.lines = s.renderPresenter(k.w, maxH)
	return s.pres.lines
}

// renderPresenter draws the block: the event and its badge; the headline's
// band; the narration; who could read it and the password warning. Where
// maxH is short, the band loses its padding rows, then the narration its
// last lines.
func (s *sessionScreen) renderPresenter(w, maxH int) []string {
	st := s.c.Styles
	n, ok := s.narrate()
	if !ok {
		return fitLines(strings.Split(s.explain.placeholder(w-2), "\n"), w, maxH)
	}
	badge := " " + n.badge + " "
	what := ansi.Truncate(n.what, max(1, w-ansi.StringWidth(badge)-3), "…")
	top := st.Text.Render(" "+what) + strings.Repeat(" ", max(1, w-ansi.StringWidth(what)-ansi.StringWidth(badge)-1)) +
		s.tl.badgeStyleOf(&n.ev, n.badge).Render(badge)
	band := []string{}
	if n.headline != "" {
		for _, l := range strings.Split(wrapText(keepCitations(n.headline), w-4), "\n") {
			band = append(band, st.Headline.Render(padTo("  "+l, w)))
		}
	}
	pad := st.Headline.Render(strings.Repeat(" ", w))
	var says []string
	if n.says != "" {
		for _, l := range strings.Split(wrapText(keepCitations(n.says), w-4), "\n") {
			says = append(says, "  "+st.Narration.Render(l))
		}
	}
	var tail []string
	if n.who != "" {
		tail = append(tail, "  "+s.tl.badgeStyleOf(&n.ev, n.badge).Render(ansi.Truncate("On the wire: "+n.who, w-2, "…")))
	}
	if n.warn != "" {
		tail = append(tail, "  "+st.Warning.Render(ansi.Truncate("⚠ "+n.warn, w-2, "…")))
	}
	lines := []string{top}
	room := maxH - 1 - len(band) - len(tail) - 1 // the blank line above the timeline
	if len(band) > 0 && room-len(says) >= 2 {
		band = append(append([]string{pad}, band...), pad)
		room -= 2
	}
	if room < len(says) {
		says = says[:max(0, room)]
		if len(says) > 0 {
			says[len(says)-1] += st.Narration.Render("…")
		}
	}
	lines = append(append(append(lines, band...), says...), tail...)
	return fitLines(append(lines, ""), w, maxH)
}

// fitLines cuts lines to w cells and at most maxH lines.
func fitLines(lines []string, w, maxH int) []string {
	lines = lines[:min(len(lines), maxH)]
	for i, l := range lines {
		if ansi.StringWidth(l) > w {
			lines[i] = ansi.Truncate(l, w, "…")
		}
	}
	return lines
}
