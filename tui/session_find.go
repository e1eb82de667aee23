package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The session screen's conveniences: search and jumps (the finder), copy
// (y) and zoom (z). What the last of these keys did is the screen's
// status, in the header's second line until the next key.

// typing says whether the search field (or the prompt for a recording's
// file name) has the keys: the root then keeps only ctrl+c and F1 for
// itself, / and q being text.
func (s *sessionScreen) typing() bool { return s.find.typing || s.save.open }

// findKey gives a key to the finder; ok says it took it.
func (s *sessionScreen) findKey(msg tea.KeyPressMsg) (tea.Cmd, bool) {
	before := s.tl.sel
	cmd, ok, status := s.find.Update(msg)
	if !ok {
		return nil, false
	}
	if status != "" {
		s.status = status
	}
	if s.tl.sel != before {
		s.story = false // the user looks at events now
	}
	return cmd, true
}

// toggleZoom hides the detail pane (the timeline takes the screen) or
// shows it again.
func (s *sessionScreen) toggleZoom() {
	s.zoom = !s.zoom
	s.invalidate()
	s.resizeParts()
	s.tl.clampScroll()
	if s.zoom {
		s.status = "zoom: the timeline takes the screen · z shows the detail pane"
	} else {
		s.status = "the detail pane is back"
	}
}

// copySelected copies the selected row to the clipboard with OSC 52 (the
// terminal's clipboard, also over ssh): its text as the row shows it and
// its bytes as the detail pane shows them, sanitized and masked as they
// are on screen, and says what it copied.
func (s *sessionScreen) copySelected() tea.Cmd {
	r, ok := s.tl.selected()
	if !ok || s.story {
		s.status = "nothing to copy: select an event (↑/↓)"
		return nil
	}
	text, what := s.rowCopy(r)
	s.status = fmt.Sprintf("copied %s: %s (OSC 52)", what, plural(len(text), "byte"))
	return tea.SetClipboard(text)
}

// rowCopy is the text y copies of a row, and what to call it in the
// status line.
func (s *sessionScreen) rowCopy(r row) (string, string) {
	ev := s.event(r.first)
	text, title, warn := s.tl.rowText(r.first, r.last)
	var b strings.Builder
	head := strings.Join([]string{strings.TrimSpace(render.Elapsed(ev)), render.Arrow(ev.Dir), rowBadge(s.evs, r.first, r.last), text}, " ")
	switch {
	case warn != "":
		head += "  " + warn
	case title != "" && !strings.HasPrefix(text, title):
		head += "  — " + title
	}
	b.WriteString(head + "\n")
	if r.first != r.last {
		for i := r.first; i <= r.last && i < r.first+maxRunList; i++ {
			e := &s.evs[i]
			b.WriteString(render.Elapsed(*e) + " " + render.Arrow(e.Dir) + " " + wireText(*e) + "\n")
		}
		return b.String(), fmt.Sprintf("the run of %s", plural(r.last-r.first+1, "record"))
	}
	what := "event #" + strconv.Itoa(ev.Seq)
	raw, form := lensBytes(s.lens, &ev)
	if len(raw) == 0 {
		return b.String(), what
	}
	switch form {
	case bytesWritten:
		for _, l := range strings.SplitAfter(string(raw), "\n") {
			if l != "" {
				b.WriteString(wire.SafeString(l) + "\n")
			}
		}
		what += " and its line as written"
	case bytesFrame:
		f := ev.Line.Frame
		fmt.Fprintf(&b, "HTTP/2 frame: type %s, flags %s, stream %d, length %d\n", wire.SafeString(f.Type),
			strings.Join(append(f.FlagNames(), fmt.Sprintf("0x%02x", f.Flags)), " "), f.Stream, f.Length)
		if lines := render.FrameLines(ev); lines != nil {
			b.WriteString(strings.Join(lines, "\n") + "\n")
			what += " and its content"
		} else {
			b.WriteString(wire.SafeHexDump(f.Payload(raw)[:min(len(f.Payload(raw)), maxHexBytes)], 16))
			what += " and its payload in hex"
		}
	default:
		b.WriteString(wire.SafeHexDump(raw[:min(len(raw), maxHexBytes)], 16))
		what += " and its bytes in hex"
	}
	return b.String(), what
}

// findHelp is the full help's column of the conveniences: four short
// lines for eleven keys, narrow enough to go beside the others at 80
// columns.
func (s *sessionScreen) findHelp() []key.Binding {
	k := s.c.Keys
	first := func(bs ...key.Binding) []string {
		var out []string
		for _, b := range bs {
			out = append(out, b.Keys()[0])
		}
		return out
	}
	return []key.Binding{
		key.NewBinding(key.WithKeys(first(k.Search, k.NextMatch, k.PrevMatch)...), key.WithHelp("/ n N", "search, next, prev")),
		key.NewBinding(key.WithKeys(first(k.NextError, k.NextCredential, k.NextVerdict)...), key.WithHelp("e u v", "error/login/verdict")),
		key.NewBinding(key.WithKeys(first(k.PrevError, k.PrevCredential, k.PrevVerdict)...), key.WithHelp("E U V", "the same, backwards")),
		key.NewBinding(key.WithKeys(first(k.Copy, k.Zoom)...), key.WithHelp("y z", "copy, zoom")),
	}
}
