package tui

import (
	"strings"

	"charm.land/lipgloss/v2"
)

// nbHyphen stands in for "-" while text is wrapped: the wrappers of
// charmbracelet/x/ansi (and lipgloss.Wrap on them) always break after a
// hyphen, which cut host names ("mx-" / "backup.example") in two.
const nbHyphen = "\u2011" // NON-BREAKING HYPHEN, one cell wide as "-" is

// wrapText wraps text to w cells at spaces only: a host name, a path or
// "http/1.1" stays whole on its line; only a word longer than a whole line
// is broken, where the line ends. It is the one wrapper of the screens'
// prose and values.
func wrapText(text string, w int) string {
	text = strings.ReplaceAll(text, "-", nbHyphen)
	return strings.ReplaceAll(lipgloss.Wrap(text, max(w, 1), " "), nbHyphen, "-")
}
