package tui

import (
	"strings"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// nbHyphen stands in for "-" while text is wrapped: the wrappers of
// charmbracelet/x/ansi (and lipgloss.Wrap on them) always break after a
// hyphen, which cut host names ("mx-" / "backup.example") in two.
const nbHyphen = "\u2011" // NON-BREAKING HYPHEN, one cell wide as "-" is

// wrapText wraps text to w cells at spaces only: a host name, a path or
// "http/1.1" stays whole on its line; only a word longer than a whole line
// is broken, where the line ends but never inside an escape of
// wire.SafeText (`\x1b` stays whole). It is the one wrapper of the
// screens' prose and values.
func wrapText(text string, w int) string {
	w = max(w, 1)
	text = strings.ReplaceAll(text, "-", nbHyphen)
	text = breakLongWords(text, w)
	return strings.ReplaceAll(lipgloss.Wrap(text, w, " "), nbHyphen, "-")
}

// breakLongWords breaks each word wider than w cells into lines of at most
// w cells at escape boundaries (wrapEscaped), so that the wrapper, which
// would break it anywhere, finds it already broken. A word holding styling
// (an ANSI sequence) is left to the wrapper.
func breakLongWords(text string, w int) string {
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		words := strings.Split(line, " ")
		changed := false
		for j, word := range words {
			if ansi.StringWidth(word) > w && !strings.Contains(word, "\x1b") {
				words[j] = strings.Join(wrapEscaped(word, w), "\n")
				changed = true
			}
		}
		if changed {
			lines[i] = strings.Join(words, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// wrapEscaped cuts text made by wire.SafeText into lines of at most w cells
// without splitting an escape (`\x1b`, `\u009b`, `\U0010ffff`, `\r`, `\\`)
// or a character: the hex and escape output a hostile peer controls wraps
// where a reader can still tell what each escape was.
func wrapEscaped(text string, w int) []string {
	w = max(w, 1)
	var lines []string
	var cur strings.Builder
	curW := 0
	for i := 0; i < len(text); {
		n := escapeLen(text[i:])
		if n == 0 {
			_, n = utf8.DecodeRuneInString(text[i:])
		}
		unit := text[i : i+n]
		uw := ansi.StringWidth(unit)
		if curW+uw > w && curW > 0 {
			lines = append(lines, cur.String())
			cur.Reset()
			curW = 0
		}
		cur.WriteString(unit)
		curW += uw
		i += n
	}
	return append(lines, cur.String())
}

// escapeLen is the length of the wire.SafeText escape text starts with, or
// 0: `\\`, `\r`, `\n`, `\t`, `\xHH`, `\uHHHH`, `\UHHHHHHHH`. A backslash
// that starts none of them is SafeText's literal one (IMAP's \Seen): it
// stays with the character after it, so that no line ends in a backslash
// that reads as the start of an escape.
func escapeLen(text string) int {
	if len(text) < 2 || text[0] != '\\' {
		return 0
	}
	hexRun := func(n int) int {
		if len(text) < 2+n {
			return 0
		}
		for _, c := range []byte(text[2 : 2+n]) {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return 0
			}
		}
		return 2 + n
	}
	switch text[1] {
	case '\\', 'r', 'n', 't':
		return 2
	case 'x':
		return hexRun(2)
	case 'u':
		return hexRun(4)
	case 'U':
		return hexRun(8)
	}
	_, size := utf8.DecodeRuneInString(text[1:])
	return 1 + size
}
