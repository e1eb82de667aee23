package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
)

// The lesson screen: one lesson of package content, rendered with glamour
// (lesson_render.go) and scrolled in a bubbles viewport, with its "Try
// it" links below the text. l opens it from any screen on that screen's
// topic (lessonTopics); tab and shift+tab choose a link, enter or its
// number opens it (followLink), esc goes back to the screen it was opened
// from.

// openLessonMsg asks the root to open a lesson: name, at the heading
// anchor ("" for the top), over the screen from.
type openLessonMsg struct {
	name, anchor string
	from         screenID
}

type lessonScreen struct {
	c       *Common
	lesson  content.Lesson
	anchor  string   // the heading to show first ("" the top)
	from    screenID // where esc goes back to
	noColor bool     // NO_COLOR or no colours: glamour's notty style

	vp   viewport.Model
	sel  int // the selected "Try it" link
	text lessonText
	// status says why the last link could not be opened, until the next
	// key; empty, the footer shows what enter would open.
	status string

	width, height int
	placed        bool // scrolled to the anchor once
}

// lessonText is the rendered lesson of one width and theme: the body and
// the sources by glamour, and the line where each link starts.
type lessonText struct {
	key           string
	body, sources string
	err           error
}

func newLessonScreen(c *Common, l content.Lesson, anchor string, from screenID, noColor bool) *lessonScreen {
	vp := viewport.New(viewport.WithWidth(defaultWidth), viewport.WithHeight(defaultHeight))
	// The text is wrapped to the width: nothing to scroll sideways, and
	// l is the lesson key everywhere.
	vp.KeyMap.Left.SetEnabled(false)
	vp.KeyMap.Right.SetEnabled(false)
	vp.SetHorizontalStep(0)
	s := &lessonScreen{c: c, lesson: l, anchor: anchor, from: from, noColor: noColor, vp: vp,
		width: defaultWidth, height: defaultHeight}
	s.refresh()
	return s
}

func (s *lessonScreen) Init() tea.Cmd { return nil }

// SetSize lays the lesson out again at the new width.
func (s *lessonScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.vp.SetWidth(max(width, 1))
	s.vp.SetHeight(max(height-2, 1)) // the header and the footer
	s.refresh()
}

// lessonMaxWidth is the widest a lesson's text is laid out on a wide
// screen: longer lines are hard to follow.
const lessonMaxWidth = 100

// textWidth is the width the lesson's text is laid out at.
func (s *lessonScreen) textWidth() int { return min(s.width, lessonMaxWidth) }

// render renders the lesson at the screen's width and theme, once per
// width and theme.
func (s *lessonScreen) render() lessonText {
	st := s.c.Styles
	w := s.textWidth()
	k := fmt.Sprintf("%d/%s/%v/%v", w, st.Theme, st.IsDark, s.noColor)
	if s.text.key == k {
		return s.text
	}
	t := lessonText{key: k}
	// The header names the lesson: the body starts with its text.
	t.body, t.err = renderMarkdown(s.lesson.Body, w, st, s.noColor)
	if t.err == nil {
		t.sources, t.err = renderMarkdown(s.lesson.SourcesMarkdown(), w, st, s.noColor)
	}
	s.text = t
	return t
}

// refresh puts the rendered lesson and its links into the viewport, and
// the first time scrolls to the anchor.
func (s *lessonScreen) refresh() {
	t := s.render()
	if t.err != nil {
		s.vp.SetContent(s.c.Styles.Error.Render(wrapText(t.err.Error(), max(s.textWidth()-2, 10))))
		return
	}
	links, _ := s.links()
	s.vp.SetContent(t.body + "\n\n" + links + "\n\n" + t.sources)
	if !s.placed {
		s.placed = true
		s.vp.SetYOffset(s.anchorLine(t.body))
	}
}

// links renders the "Try it" section: a heading and one numbered line per
// link (wrapped), the selected one marked. at is the first line of each
// link, counted from the top of the whole text.
func (s *lessonScreen) links() (text string, at []int) {
	st := s.c.Styles
	first := lipgloss.Height(s.text.body) + 1 // the blank line after the body
	pad := strings.Repeat(" ", lessonMargin)
	lines := []string{pad + st.Heading.Render("Try it") + st.Muted.Render("  (tab chooses, enter opens)")}
	w := max(s.textWidth()-2*lessonMargin-4, 20)
	for i, t := range s.lesson.Try {
		at = append(at, first+len(lines))
		mark, style := "  ", st.Text
		if i == s.sel {
			mark, style = "› ", st.Selected
		}
		for j, l := range strings.Split(wrapText(t.Text, w), "\n") {
			lead := fmt.Sprintf("%d ", i+1)
			if j > 0 {
				lead = "  "
			}
			if len(s.lesson.Try) > 9 && i >= 9 {
				lead = "  " // only 1–9 have a key
			}
			lines = append(lines, pad+mark+st.Muted.Render(lead)+style.Render(l))
			mark = "  "
		}
	}
	return strings.Join(lines, "\n"), at
}

// anchorLine is the line of the rendered body where the anchor heading
// is, 0 when there is none.
func (s *lessonScreen) anchorLine(body string) int {
	if s.anchor == "" {
		return 0
	}
	for i, l := range strings.Split(body, "\n") {
		if strings.Contains(ansi.Strip(l), s.anchor) {
			return i
		}
	}
	return 0
}

// Update scrolls, chooses and opens links, and goes back.
func (s *lessonScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.BackgroundColorMsg:
		s.refresh() // the root has new Styles in Common
		return s, nil
	case tea.KeyPressMsg:
		return s, s.key(msg)
	case tea.MouseWheelMsg:
		var cmd tea.Cmd
		s.vp, cmd = s.vp.Update(msg)
		return s, cmd
	}
	return s, nil
}

func (s *lessonScreen) key(msg tea.KeyPressMsg) tea.Cmd {
	k := s.c.Keys
	s.status = ""
	switch {
	case key.Matches(msg, k.Back):
		return func() tea.Msg { return switchScreenMsg{to: s.from} }
	case key.Matches(msg, k.NextLink), key.Matches(msg, k.PrevLink):
		if n := len(s.lesson.Try); n > 0 {
			step := 1
			if key.Matches(msg, k.PrevLink) {
				step = n - 1
			}
			s.sel = (s.sel + step) % n
			s.refresh()
			_, at := s.links()
			s.vp.EnsureVisible(at[s.sel], 0, 0)
		}
		return nil
	case key.Matches(msg, k.Open):
		if s.sel < len(s.lesson.Try) {
			return s.follow(s.lesson.Try[s.sel].Link)
		}
		return nil
	case key.Matches(msg, k.Number):
		if i := int(msg.Code - '1'); i >= 0 && i < len(s.lesson.Try) {
			s.sel = i
			s.refresh()
			return s.follow(s.lesson.Try[i].Link)
		}
		return nil
	case key.Matches(msg, k.Top):
		s.vp.GotoTop()
		return nil
	case key.Matches(msg, k.Bottom):
		s.vp.GotoBottom()
		return nil
	}
	var cmd tea.Cmd
	s.vp, cmd = s.vp.Update(msg)
	return cmd
}

// View is the header, the lesson and the footer.
func (s *lessonScreen) View() string {
	st := s.c.Styles
	where := fmt.Sprintf("%d%%", int(s.vp.ScrollPercent()*100+0.5))
	title := "Lesson: " + s.lesson.Title
	room := max(s.width-ansi.StringWidth(where)-2, 1)
	head := st.Title.Render(ansi.Truncate(title, room, "…"))
	gap := max(s.width-lipgloss.Width(head)-ansi.StringWidth(where), 1)
	header := head + strings.Repeat(" ", gap) + st.Muted.Render(where)
	return lipgloss.JoinVertical(lipgloss.Left, header, s.vp.View(), s.footer())
}

// footer says what enter would open, as the command that opens it, or why
// the last link could not be opened.
func (s *lessonScreen) footer() string {
	st := s.c.Styles
	if s.status != "" {
		return st.Warning.Render(ansi.Truncate(s.status, max(s.width, 1), "…"))
	}
	if s.sel >= len(s.lesson.Try) {
		return ""
	}
	l := s.lesson.Try[s.sel].Link
	line := fmt.Sprintf("link %d of %d · %s", s.sel+1, len(s.lesson.Try), l.Command())
	return st.Muted.Render(ansi.Truncate(line, max(s.width, 1), "…"))
}

// ShortHelp lists the lesson's keys for the help bar.
func (s *lessonScreen) ShortHelp() []key.Binding {
	k := s.c.Keys
	open := k.Open
	open.SetHelp("enter/1–9", "open link")
	return []key.Binding{k.NextLink, open, k.Up, k.Down, k.Back}
}

// FullHelp lists every key of the lesson.
func (s *lessonScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	open := k.Open
	open.SetHelp("enter/1–9", "open link")
	pages := key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "page up/down"))
	return [][]key.Binding{{k.NextLink, k.PrevLink, open}, {k.Up, k.Down, pages, k.Top, k.Bottom}, {k.Back}}
}
