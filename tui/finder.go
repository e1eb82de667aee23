package tui

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/wire"
)

// The finder: / searches the timeline's rows as the screen shows them (in
// the lens, with passwords masked unless shown), n and N go to the next
// and previous match, esc clears; e, u and v (E, U, V backwards) go to the
// next error, credential or verdict. It is a part of the session screen
// (session.go): it moves the timeline's selection and tells the screen
// what happened in a status line.

// maxSearchRows bounds the rows a search counts its matches in, so a key
// typed into a search of 100k events stays quick; n and N still find
// matches past it.
const maxSearchRows = 10000

// finder is the search and jump part of the session screen.
type finder struct {
	c  *Common
	d  *sessionData
	tl *timelineModel

	input  textinput.Model
	typing bool   // the search field has the keys
	query  string // the search in force ("" none)
	origin int    // the row selected when the search began, where matches are sought from while typing

	// count caches the number of matching rows for query over the first
	// countRows rows in countGen of the timeline.
	count, countRows, countGen int
	countQuery                 string
}

func newFinder(c *Common, d *sessionData, tl *timelineModel) *finder {
	in := textinput.New()
	in.Prompt = "/"
	in.Placeholder = "search the timeline"
	in.CharLimit = 200
	in.SetStyles(c.Styles.Input)
	return &finder{c: c, d: d, tl: tl, input: in}
}

// restyle follows the theme.
func (f *finder) restyle() { f.input.SetStyles(f.c.Styles.Input) }

// jump is a key that moves to the next row of a kind, and what it says.
type jump struct {
	next, prev key.Binding
	what       string
	is         func(ev *wire.Event) bool
}

func (f *finder) jumps() []jump {
	k := f.c.Keys
	return []jump{
		{k.NextError, k.PrevError, "error", func(ev *wire.Event) bool { return ev.Kind == wire.KindError }},
		{k.NextCredential, k.PrevCredential, "credential", func(ev *wire.Event) bool { return ev.Credential != nil }},
		{k.NextVerdict, k.PrevVerdict, "verdict", func(ev *wire.Event) bool { return ev.Kind == wire.KindVerdict }},
	}
}

// Update takes the finder's keys: the search field's while it is typed
// in, else /, n, N, esc (with a search in force) and the jumps. status is
// what to tell the user; moved says the selection moved.
func (f *finder) Update(msg tea.Msg) (cmd tea.Cmd, ok bool, status string) {
	km, isKey := msg.(tea.KeyPressMsg)
	if !isKey {
		return nil, false, ""
	}
	if f.typing {
		return f.typed(km)
	}
	k := f.c.Keys
	switch {
	case key.Matches(km, k.Search):
		f.typing = true
		f.origin = f.tl.sel
		f.input.SetValue(f.query)
		f.input.CursorEnd()
		return f.input.Focus(), true, ""
	case f.query != "" && key.Matches(km, k.Back):
		f.setQuery("")
		return nil, true, "search cleared"
	case f.query != "" && key.Matches(km, k.NextMatch):
		return nil, true, f.step(1)
	case f.query != "" && key.Matches(km, k.PrevMatch):
		return nil, true, f.step(-1)
	}
	for _, j := range f.jumps() {
		switch {
		case key.Matches(km, j.next):
			return nil, true, f.jumpTo(j, 1)
		case key.Matches(km, j.prev):
			return nil, true, f.jumpTo(j, -1)
		}
	}
	return nil, false, ""
}

// typed handles a key while the search field has the focus: enter keeps
// the search, esc drops it, anything else edits it and the selection
// follows the first match from where the search began.
func (f *finder) typed(km tea.KeyPressMsg) (tea.Cmd, bool, string) {
	switch km.String() {
	case "enter":
		f.typing = false
		f.input.Blur()
		f.setQuery(f.input.Value())
		if f.query == "" {
			return nil, true, ""
		}
		return nil, true, f.summary()
	case "esc":
		f.typing = false
		f.input.Blur()
		f.setQuery("")
		f.tl.sel = f.origin
		f.tl.clampScroll()
		return nil, true, "search cleared"
	}
	var cmd tea.Cmd
	f.input, cmd = f.input.Update(km)
	f.setQuery(f.input.Value())
	if f.query != "" {
		if i, ok := f.find(f.origin, 1, true); ok {
			f.selectRow(i)
		}
	}
	return cmd, true, ""
}

// setQuery puts a search in force: the timeline marks its matches.
func (f *finder) setQuery(q string) {
	if q == f.query {
		return
	}
	f.query = q
	f.tl.setQuery(q)
}

// matches says whether row i shows the search: its text, title or
// warning, as the row shows them (masked, sanitized, in the lens).
func (f *finder) matches(i int) bool {
	r := f.tl.rows[i]
	text, title, warn := f.tl.rowText(r.first, r.last)
	return containsFold(text, f.query) || containsFold(title, f.query) || containsFold(warn, f.query)
}

// find looks for the next row (dir 1) or the previous one (dir -1) that
// matches, from row from (itself when inclusive), wrapping around.
func (f *finder) find(from, dir int, inclusive bool) (int, bool) {
	return f.scan(from, dir, inclusive, f.matches)
}

// scan looks for a row among the visible ones for which is says true,
// from row from in direction dir, wrapping around once.
func (f *finder) scan(from, dir int, inclusive bool, is func(i int) bool) (int, bool) {
	n := f.tl.visible()
	if n == 0 {
		return 0, false
	}
	start := from
	if !inclusive {
		start = from + dir
	}
	for k := range n {
		i := ((start+dir*k)%n + n) % n
		if is(i) {
			return i, true
		}
	}
	return 0, false
}

// step goes to the next or previous match and says where it is.
func (f *finder) step(dir int) string {
	i, ok := f.find(f.tl.sel, dir, false)
	if !ok {
		return fmt.Sprintf("no row matches %q", f.query)
	}
	wrapped := (dir > 0 && i <= f.tl.sel) || (dir < 0 && i >= f.tl.sel)
	f.selectRow(i)
	s := f.summary()
	if wrapped {
		s += " · wrapped"
	}
	return s
}

// summary says how many rows match and which of them is selected.
func (f *finder) summary() string {
	n := f.matchCount()
	if n == 0 {
		return fmt.Sprintf("no row matches %q", f.query)
	}
	more := ""
	if f.countRows < f.tl.visible() {
		more = "+"
	}
	at := 0
	if f.tl.sel < f.countRows && f.matches(f.tl.sel) {
		for i := 0; i <= f.tl.sel; i++ {
			if f.matches(i) {
				at++
			}
		}
	}
	if at == 0 {
		return fmt.Sprintf("%q: %d%s matching rows · n/N next/previous · esc clears", f.query, n, more)
	}
	return fmt.Sprintf("%q: %d of %d%s · n/N next/previous · esc clears", f.query, at, n, more)
}

// matchCount counts the matching rows, up to maxSearchRows rows, once per
// search and timeline.
func (f *finder) matchCount() int {
	rows := min(f.tl.visible(), maxSearchRows)
	if f.countQuery == f.query && f.countRows == rows && f.countGen == f.tl.gen {
		return f.count
	}
	f.count = 0
	for i := range rows {
		if f.matches(i) {
			f.count++
		}
	}
	f.countQuery, f.countRows, f.countGen = f.query, rows, f.tl.gen
	return f.count
}

// jumpTo goes to the next or previous row that shows an event of j's kind.
func (f *finder) jumpTo(j jump, dir int) string {
	i, ok := f.scan(f.tl.sel, dir, false, func(i int) bool {
		r := f.tl.rows[i]
		for e := r.first; e <= r.last; e++ {
			if j.is(&f.d.evs[e]) {
				return true
			}
		}
		return false
	})
	if !ok {
		return "no " + j.what + " in this session"
	}
	wrapped := (dir > 0 && i <= f.tl.sel) || (dir < 0 && i >= f.tl.sel)
	f.selectRow(i)
	if wrapped {
		if dir > 0 {
			return "the first " + j.what + " (wrapped)"
		}
		return "the last " + j.what + " (wrapped)"
	}
	return j.what
}

// selectRow selects row i and stops following the stream.
func (f *finder) selectRow(i int) {
	f.tl.sel, f.tl.follow = i, false
	f.tl.clampScroll()
}

// View is the search field and its count, for the header.
func (f *finder) View() string {
	st := f.c.Styles
	out := f.input.View()
	if f.query != "" {
		out += st.Muted.Render("  " + f.countText() + " · enter keeps · esc clears")
	} else {
		out += st.Muted.Render("  enter keeps · esc clears")
	}
	return out
}

// countText is how many rows match, for the field.
func (f *finder) countText() string {
	n := f.matchCount()
	more := ""
	if f.countRows < f.tl.visible() {
		more = "+"
	}
	if n == 1 && more == "" {
		return "1 match"
	}
	return fmt.Sprintf("%d%s matches", n, more)
}

// typingHelp lists the keys of the search field.
func (f *finder) typingHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep the search")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear it")),
	}
}

// ShortHelp lists the search key.
func (f *finder) ShortHelp() []key.Binding { return []key.Binding{f.c.Keys.Search} }

// FullHelp lists the search and jump keys in one column.
func (f *finder) FullHelp() [][]key.Binding {
	k := f.c.Keys
	return [][]key.Binding{{k.Search, k.NextMatch, k.PrevMatch, k.NextError, k.NextCredential, k.NextVerdict}}
}

// foldRanges finds the places where q occurs in s, ignoring case (simple
// Unicode case folding, as strings.EqualFold), as byte ranges of s that
// do not overlap.
func foldRanges(s, q string) [][2]int {
	if q == "" {
		return nil
	}
	var out [][2]int
	for i := 0; i < len(s); {
		if end, ok := foldPrefix(s[i:], q); ok {
			out = append(out, [2]int{i, i + end})
			i += max(end, 1)
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return out
}

// foldPrefix says whether s starts with q, ignoring case, and where in s
// the match ends.
func foldPrefix(s, q string) (int, bool) {
	i := 0
	for _, qr := range q {
		if i >= len(s) {
			return 0, false
		}
		sr, size := utf8.DecodeRuneInString(s[i:])
		if !equalFoldRune(sr, qr) {
			return 0, false
		}
		i += size
	}
	return i, true
}

// equalFoldRune says whether a and b are the same letter but for case
// (strings.EqualFold's rule), without allocating.
func equalFoldRune(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		lower := func(r rune) rune {
			if 'A' <= r && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}
		return lower(a) == lower(b)
	}
	for r := unicode.SimpleFold(a); r != a; r = unicode.SimpleFold(r) {
		if r == b {
			return true
		}
	}
	return false
}

// containsFold says whether s holds q, ignoring case.
func containsFold(s, q string) bool {
	if q == "" || s == "" {
		return false
	}
	for i := 0; i < len(s); {
		if _, ok := foldPrefix(s[i:], q); ok {
			return true
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return false
}
