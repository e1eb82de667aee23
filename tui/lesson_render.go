package tui

import (
	"fmt"
	"image/color"
	"strings"

	"charm.land/glamour/v2"
	gansi "charm.land/glamour/v2/ansi"
	gstyles "charm.land/glamour/v2/styles"
	"charm.land/lipgloss/v2"

	"github.com/mailwire/mailwire/content"
)

// Lessons are Markdown (package content) rendered with glamour in the
// terminal's theme. Glamour has a dark, a light and a notty style; the
// theme picks the dark or light one for its layout (margins, bullets,
// heading marks, block quotes) and paints it with the theme's own colours,
// the ones Styles uses everywhere else: the body in Text's, headings in
// Heading's, code in Code's, rules in Muted's. So a lesson reads like the
// rest of the screen, high-contrast included, and keeps the contrast
// TestContrast measures for those styles; glamour's own palette (a
// 244-grey code block on a 236-grey background) would not. Without
// colour (NO_COLOR, or output that is not a terminal) it is glamour's
// notty style: plain text with Markdown's marks.

// lessonMargin is the left and right margin of a rendered lesson, in
// columns: glamour's default is 2, one is enough inside a screen.
const lessonMargin = 1

// quoteMark is the mark before each line of a block quote (an annotation
// a lesson quotes), and quoteMarkPlain its NO_COLOR form. Glamour counts
// a quote's indent in marks, not cells, so a two-cell mark ("│ ", its
// own) makes the quoted lines one cell too wide: it wraps them again and
// the last word of a line lands on a line of its own, without the mark.
// A one-cell mark keeps the widths right; the left eighth block leaves a
// gap before the text.
const (
	quoteMark      = "▏"
	quoteMarkPlain = "|"
)

// lessonStyle is the glamour style of a theme.
func lessonStyle(st Styles, noColor bool) gansi.StyleConfig {
	margin := uint(lessonMargin)
	if noColor {
		cfg := gstyles.NoTTYStyleConfig
		cfg.Document.Margin = &margin
		mark := quoteMarkPlain
		cfg.BlockQuote.IndentToken = &mark
		return cfg
	}
	cfg := gstyles.DarkStyleConfig
	if !st.IsDark {
		cfg = gstyles.LightStyleConfig
	}
	text, heading, code, muted := hexColor(st.Text), hexColor(st.Heading), hexColor(st.Code), hexColor(st.Muted)
	yes := true
	// Only pointers are replaced below, never written through: the
	// StyleConfig values of package styles stay as they are.
	cfg.Document.Color = text
	cfg.Document.BackgroundColor = nil
	cfg.Document.Margin = &margin
	cfg.Heading.Color = heading
	cfg.H1 = gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: heading, Bold: &yes}}
	cfg.H6.Color = heading
	cfg.Code = gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: code}}
	cfg.CodeBlock = gansi.StyleCodeBlock{StyleBlock: gansi.StyleBlock{StylePrimitive: gansi.StylePrimitive{Color: code}, Margin: &margin}}
	cfg.Link = gansi.StylePrimitive{Color: heading, Underline: &yes}
	cfg.LinkText = gansi.StylePrimitive{Color: text, Bold: &yes}
	cfg.HorizontalRule.Color = muted
	cfg.BlockQuote.Color = text
	mark := quoteMark
	cfg.BlockQuote.IndentToken = &mark
	cfg.Table.Color = text
	cfg.Image, cfg.ImageText = gansi.StylePrimitive{Color: heading}, gansi.StylePrimitive{Color: muted, Format: "Image: {{.text}} →"}
	cfg.DefinitionDescription.Color = text
	return cfg
}

// hexColor is a style's foreground as glamour takes it, "#RRGGBB"; nil
// when the style sets none.
func hexColor(s lipgloss.Style) *string {
	c := s.GetForeground() // lipgloss.NoColor when the style sets none
	if _, none := c.(lipgloss.NoColor); none {
		return nil
	}
	r, g, b, _ := color.RGBAModel.Convert(c).RGBA()
	hex := fmt.Sprintf("#%02X%02X%02X", r>>8, g>>8, b>>8)
	return &hex
}

// renderMarkdown renders Markdown at width columns, margins included.
func renderMarkdown(md string, width int, st Styles, noColor bool) (string, error) {
	wrap := max(width-2*lessonMargin, 20)
	r, err := glamour.NewTermRenderer(glamour.WithStyles(lessonStyle(st, noColor)), glamour.WithWordWrap(wrap))
	if err != nil {
		return "", fmt.Errorf("lesson renderer: %w", err)
	}
	out, err := r.Render(md)
	if err != nil {
		return "", fmt.Errorf("render lesson: %w", err)
	}
	return strings.Trim(out, "\n"), nil
}

// LessonMarkdown is a lesson as `mailwire lesson NAME` prints it, as
// Markdown: the lesson, its "Try it" links as the commands that open them,
// its sources.
func LessonMarkdown(l content.Lesson) string {
	var b strings.Builder
	b.WriteString(l.BodyMarkdown())
	b.WriteString("\n\n## Try it\n\n")
	for i, t := range l.Try {
		fmt.Fprintf(&b, "%d. %s:  \n   `%s`\n", i+1, t.Text, t.Link.Command())
	}
	b.WriteString("\n" + l.SourcesMarkdown())
	return b.String()
}

// LessonText is LessonMarkdown rendered at width columns in theme (dark
// or light where the theme follows the terminal, as isDark says); in
// glamour's notty style when noColor.
func LessonText(l content.Lesson, width int, theme Theme, isDark, noColor bool) (string, error) {
	return renderMarkdown(LessonMarkdown(l), width, ThemeStyles(theme, isDark), noColor)
}
