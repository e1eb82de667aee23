package tui

import (
	"fmt"
	"image/color"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles holds every style of the TUI under a semantic name. Build it with
// NewStyles or ThemeStyles; the root rebuilds it when the terminal reports
// its background colour (tea.BackgroundColorMsg) or, when it does not,
// from COLORFGBG.
//
// No style relies on colour alone: under NO_COLOR the terminal keeps bold
// and reverse, so the selected cell (reverse) and headings (bold) stay
// visible. Every text colour reaches WCAG AA contrast, 4.5:1, against its
// background in the dark and light themes and AAA, 7:1, in the
// high-contrast ones, before and after a 256-colour terminal rounds it
// (TestContrast); the boxes' borders, which are not text, reach 3:1
// (WCAG 1.4.11). No style is faint: a terminal draws faint text at a
// fraction of its colour that nobody can know, so its contrast could not
// be promised.
type Styles struct {
	IsDark bool
	// Theme is the theme the styles were built for (never ThemeAuto).
	Theme Theme

	Title    lipgloss.Style // the screen title
	Heading  lipgloss.Style // a section heading inside a pane
	Muted    lipgloss.Style // secondary text: hints, N/A cells, legends
	Text     lipgloss.Style // body text
	Code     lipgloss.Style // commands to copy
	Border   lipgloss.Style // boxes around the table and panes
	Header   lipgloss.Style // table column headers
	Selected lipgloss.Style // the selected table cell

	// Wire semantics, shared with the session screens to come.
	Cleartext lipgloss.Style // bytes anyone on the path can read
	Handshake lipgloss.Style // TLS handshake, readable metadata
	Encrypted lipgloss.Style // bytes only the endpoints can read

	// Session screen.
	Boundary lipgloss.Style // the rule where the connection turns into TLS
	Step     lipgloss.Style // the marker of the current step (step mode)
	Dim      lipgloss.Style // rows of little interest in a lens (encrypted records)
	Lens     lipgloss.Style // the lens banner in the session header
	Match    lipgloss.Style // a search match in the timeline

	// Presenter mode (presenter.go): the step's headline, a band of
	// reversed cells in bold that stays a band under NO_COLOR and on a
	// washed-out projector, and the narration under it, in bold.
	Headline  lipgloss.Style
	Narration lipgloss.Style

	// Scenarios. A verdict is told by its text too ("✓ SAFE", "⚠ UNSAFE"),
	// not by colour alone; the badge is reversed so it stands out in
	// NO_COLOR as well.
	VerdictSafe   lipgloss.Style // the badge of a verdict where nothing leaked
	VerdictUnsafe lipgloss.Style // the badge of a verdict where something did
	VerdictInfo   lipgloss.Style // the badge of an informational scenario's result
	Leg           lipgloss.Style // the leg tag of a row in a multi-leg stream

	Warning lipgloss.Style // something the user should notice
	Error   lipgloss.Style // something failed
	OK      lipgloss.Style // something works

	Help  help.Styles
	Input textinput.Styles // the prompt's and the connect form's fields
}

// Theme names a set of colours. ThemeAuto follows the terminal: its answer
// to the background colour query, else COLORFGBG, else dark.
type Theme string

const (
	ThemeAuto         Theme = ""
	ThemeDark         Theme = "dark"
	ThemeLight        Theme = "light"
	ThemeHighContrast Theme = "high-contrast" // on the terminal's background, dark or light
)

// Themes lists the themes a user can choose (--theme), for help and
// completion.
func Themes() []Theme { return []Theme{ThemeDark, ThemeLight, ThemeHighContrast} }

// ParseTheme reads a theme's name; "" and "auto" mean ThemeAuto.
func ParseTheme(s string) (Theme, error) {
	switch t := Theme(strings.ToLower(strings.TrimSpace(s))); t {
	case ThemeAuto, "auto":
		return ThemeAuto, nil
	case ThemeDark, ThemeLight, ThemeHighContrast:
		return t, nil
	}
	return "", fmt.Errorf("unknown theme %q (want dark, light or high-contrast)", s)
}

// fixedDark says whether the theme decides the background on its own:
// dark and light do, auto and high-contrast follow the terminal.
func (t Theme) fixedDark() (isDark, fixed bool) {
	switch t {
	case ThemeDark:
		return true, true
	case ThemeLight:
		return false, true
	}
	return false, false
}

// palette is the colours of one theme on one background. sel and lens
// are a cell's pair: the text colour and the cell's, drawn reversed so
// that NO_COLOR keeps them apart from the text around.
type palette struct {
	fg, muted, accent, border                        color.Color
	cleartext, handshake, encrypted, warning, danger color.Color
	selText, selCell                                 color.Color
	lensText, lensCell                               color.Color
	match                                            color.Color
}

func rgb(s string) color.Color { return lipgloss.Color(s) }

// The palettes: GitHub Primer's colours, darkened (light) or lightened
// (dark) where they fell short of 4.5:1 on the lightest dark and the
// darkest light background a terminal commonly has (contrastBackgrounds).
var (
	paletteDark = palette{
		fg: rgb("#E6EDF3"), muted: rgb("#9DA7B3"), accent: rgb("#79C0FF"), border: rgb("#768390"),
		cleartext: rgb("#E3B341"), handshake: rgb("#D2A8FF"), encrypted: rgb("#56D364"),
		warning: rgb("#FFA657"), danger: rgb("#FF7B72"),
		selText: rgb("#0D1117"), selCell: rgb("#79C0FF"),
		lensText: rgb("#0D1117"), lensCell: rgb("#E6EDF3"),
		match: rgb("#E3B341"),
	}
	paletteLight = palette{
		fg: rgb("#1F2328"), muted: rgb("#57606A"), accent: rgb("#0550AE"), border: rgb("#6E7781"),
		cleartext: rgb("#7D4E00"), handshake: rgb("#6639BA"), encrypted: rgb("#116329"),
		warning: rgb("#953800"), danger: rgb("#A40E26"),
		selText: rgb("#FFFFFF"), selCell: rgb("#0550AE"),
		lensText: rgb("#FFFFFF"), lensCell: rgb("#1F2328"),
		match: rgb("#7D4E00"),
	}
	paletteHighContrastDark = palette{
		fg: rgb("#FFFFFF"), muted: rgb("#D0D7DE"), accent: rgb("#A5D6FF"), border: rgb("#B1BAC4"),
		cleartext: rgb("#F8E3A1"), handshake: rgb("#E2C5FF"), encrypted: rgb("#7EE787"),
		warning: rgb("#FFC680"), danger: rgb("#FFC1BA"),
		selText: rgb("#000000"), selCell: rgb("#FFFFFF"),
		lensText: rgb("#000000"), lensCell: rgb("#FFFFFF"),
		match: rgb("#F8E3A1"),
	}
	paletteHighContrastLight = palette{
		fg: rgb("#000000"), muted: rgb("#32383F"), accent: rgb("#0000AF"), border: rgb("#424A53"),
		cleartext: rgb("#4D2D00"), handshake: rgb("#3E1F79"), encrypted: rgb("#024C1A"),
		warning: rgb("#702C00"), danger: rgb("#86061D"),
		selText: rgb("#FFFFFF"), selCell: rgb("#000000"),
		lensText: rgb("#FFFFFF"), lensCell: rgb("#000000"),
		match: rgb("#4D2D00"),
	}
)

// paletteFor is the theme's palette on a dark or light background.
func paletteFor(t Theme, isDark bool) palette {
	if d, fixed := t.fixedDark(); fixed {
		isDark = d
	}
	switch {
	case t == ThemeHighContrast && isDark:
		return paletteHighContrastDark
	case t == ThemeHighContrast:
		return paletteHighContrastLight
	case isDark:
		return paletteDark
	}
	return paletteLight
}

// NewStyles builds the default theme's styles for a dark or light
// background.
func NewStyles(isDark bool) Styles { return ThemeStyles(ThemeAuto, isDark) }

// ThemeStyles builds a theme's styles; isDark says the terminal's
// background where the theme follows it (auto, high-contrast).
func ThemeStyles(t Theme, isDark bool) Styles {
	if d, fixed := t.fixedDark(); fixed {
		isDark = d
	}
	if t == ThemeAuto {
		t = ThemeDark
		if !isDark {
			t = ThemeLight
		}
	}
	p := paletteFor(t, isDark)
	fg := func(c color.Color) lipgloss.Style { return lipgloss.NewStyle().Foreground(c) }
	cell := func(text, cell color.Color) lipgloss.Style {
		// Reverse: the terminal draws the text in the background colour
		// given here on a cell of the foreground colour, and under
		// NO_COLOR (colours dropped) still reverses the cell.
		return lipgloss.NewStyle().Reverse(true).Bold(true).Foreground(cell).Background(text)
	}
	return Styles{
		IsDark:    isDark,
		Theme:     t,
		Title:     fg(p.accent).Bold(true),
		Heading:   fg(p.accent).Bold(true),
		Muted:     fg(p.muted),
		Text:      fg(p.fg),
		Code:      fg(p.handshake),
		Border:    lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(p.border),
		Header:    fg(p.fg).Bold(true),
		Selected:  cell(p.selText, p.selCell),
		Cleartext: fg(p.cleartext),
		Handshake: fg(p.handshake),
		Encrypted: fg(p.encrypted),
		Boundary:  fg(p.handshake).Bold(true),
		Step:      fg(p.warning).Bold(true),
		Dim:       fg(p.muted),
		Lens:      cell(p.lensText, p.lensCell),
		Match:     fg(p.match).Bold(true).Underline(true),
		Headline:  cell(p.selText, p.selCell),
		Narration: fg(p.fg).Bold(true),
		Warning:   fg(p.warning).Bold(true),

		VerdictSafe:   fg(p.encrypted).Bold(true).Reverse(true),
		VerdictUnsafe: fg(p.danger).Bold(true).Reverse(true),
		VerdictInfo:   fg(p.accent).Bold(true).Reverse(true),
		Leg:           fg(p.accent),
		Error:         fg(p.danger).Bold(true),
		OK:            fg(p.encrypted),
		Help:          helpStyles(p),
		Input:         inputStyles(p),
	}
}

// helpStyles are the help bar's: keys in the body colour, what they do
// and the separators muted (bubbles' defaults are about 2:1).
func helpStyles(p palette) help.Styles {
	key := lipgloss.NewStyle().Foreground(p.fg)
	desc := lipgloss.NewStyle().Foreground(p.muted)
	return help.Styles{
		Ellipsis:       desc,
		ShortKey:       key,
		ShortDesc:      desc,
		ShortSeparator: desc,
		FullKey:        key,
		FullDesc:       desc,
		FullSeparator:  desc,
	}
}

// inputStyles are the text fields': bubbles' defaults draw the prompt and
// a blurred field in ANSI colour 7, light grey, also on a light
// background.
func inputStyles(p palette) textinput.Styles {
	state := textinput.StyleState{
		Text:        lipgloss.NewStyle().Foreground(p.fg),
		Placeholder: lipgloss.NewStyle().Foreground(p.muted),
		Suggestion:  lipgloss.NewStyle().Foreground(p.muted),
		Prompt:      lipgloss.NewStyle().Foreground(p.accent),
	}
	blurred := state
	blurred.Text = lipgloss.NewStyle().Foreground(p.muted)
	s := textinput.DefaultStyles(true)
	s.Focused, s.Blurred = state, blurred
	s.Cursor.Color = p.fg
	return s
}

// colorFGBGIsDark reads the COLORFGBG variable that rxvt, Konsole and
// others set ("15;0": white on black; "0;default;15"): its last field is
// the background's ANSI colour, 0–6 and 8 dark, 7 and 9–15 light, as
// Vim and termenv read it. ok is false when it says nothing usable.
func colorFGBGIsDark(v string) (isDark, ok bool) {
	fields := strings.Split(v, ";")
	if len(fields) < 2 {
		return false, false
	}
	var bg int
	if _, err := fmt.Sscanf(fields[len(fields)-1], "%d", &bg); err != nil || bg < 0 || bg > 15 {
		return false, false
	}
	if fmt.Sprint(bg) != fields[len(fields)-1] {
		return false, false // "15x", "+7"
	}
	return bg <= 6 || bg == 8, true
}
