package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles holds every style of the TUI under a semantic name. Build it with
// NewStyles; the root rebuilds it when the terminal reports its background
// colour (tea.BackgroundColorMsg).
//
// No style relies on colour alone: under NO_COLOR the terminal keeps bold,
// faint and reverse, so the selected cell (reverse) and headings (bold)
// stay visible.
type Styles struct {
	IsDark bool

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

	Help help.Styles
}

// NewStyles builds the styles for a dark or light background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	var (
		fg        = ld(lipgloss.Color("#1F2328"), lipgloss.Color("#E6EDF3"))
		muted     = ld(lipgloss.Color("#6E7781"), lipgloss.Color("#8B949E"))
		accent    = ld(lipgloss.Color("#0550AE"), lipgloss.Color("#79C0FF"))
		border    = ld(lipgloss.Color("#8C959F"), lipgloss.Color("#484F58"))
		cleartext = ld(lipgloss.Color("#9A6700"), lipgloss.Color("#E3B341"))
		handshake = ld(lipgloss.Color("#8250DF"), lipgloss.Color("#D2A8FF"))
		encrypted = ld(lipgloss.Color("#1A7F37"), lipgloss.Color("#56D364"))
		warning   = ld(lipgloss.Color("#BC4C00"), lipgloss.Color("#FFA657"))
		danger    = ld(lipgloss.Color("#CF222E"), lipgloss.Color("#FF7B72"))
	)
	return Styles{
		IsDark:    isDark,
		Title:     lipgloss.NewStyle().Bold(true).Foreground(accent),
		Heading:   lipgloss.NewStyle().Bold(true).Foreground(accent),
		Muted:     lipgloss.NewStyle().Foreground(muted),
		Text:      lipgloss.NewStyle().Foreground(fg),
		Code:      lipgloss.NewStyle().Foreground(handshake),
		Border:    lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(border),
		Header:    lipgloss.NewStyle().Bold(true).Foreground(fg),
		Selected:  lipgloss.NewStyle().Reverse(true).Bold(true),
		Cleartext: lipgloss.NewStyle().Foreground(cleartext),
		Handshake: lipgloss.NewStyle().Foreground(handshake),
		Encrypted: lipgloss.NewStyle().Foreground(encrypted),
		Boundary:  lipgloss.NewStyle().Foreground(handshake).Bold(true),
		Step:      lipgloss.NewStyle().Foreground(warning).Bold(true),
		Dim:       lipgloss.NewStyle().Foreground(muted).Faint(true),
		Lens:      lipgloss.NewStyle().Reverse(true).Bold(true),
		Warning:   lipgloss.NewStyle().Foreground(warning).Bold(true),

		VerdictSafe:   lipgloss.NewStyle().Foreground(encrypted).Bold(true).Reverse(true),
		VerdictUnsafe: lipgloss.NewStyle().Foreground(danger).Bold(true).Reverse(true),
		VerdictInfo:   lipgloss.NewStyle().Foreground(accent).Bold(true).Reverse(true),
		Leg:           lipgloss.NewStyle().Foreground(accent),
		Error:         lipgloss.NewStyle().Foreground(danger).Bold(true),
		OK:            lipgloss.NewStyle().Foreground(encrypted),
		Help:          help.DefaultStyles(isDark),
	}
}
