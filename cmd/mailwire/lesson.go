package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/tui"
)

// lessonWidth is the width a lesson is printed at when the terminal does
// not say, and the widest it is laid out at: lines longer than that are
// hard to read whatever the terminal's width.
const lessonWidth = 80

// lessonFlags are the flags of `mailwire lesson`.
type lessonFlags struct {
	theme string
	width int
}

// newLessonCmd builds `mailwire lesson [NAME]`: the list of lessons, or one
// lesson, rendered on a terminal and as Markdown otherwise.
func newLessonCmd() *cobra.Command {
	var f lessonFlags
	cmd := &cobra.Command{
		Use:   "lesson [NAME]",
		Short: "List the lessons, or read one",
		Long: "The lessons explain the why behind what the sessions show: the mail ports and\n" +
			"their history, explicit and implicit TLS, what STARTTLS gets wrong, mail TLS\n" +
			"and HTTPS, DANE, DNSSEC, MTA-STS, the STARTTLS policy list, and choosing TLS\n" +
			"versions and ciphers. Without NAME it lists them. With NAME it prints that\n" +
			"lesson: rendered for the terminal (in its theme; NO_COLOR: plain), or as\n" +
			"Markdown when the output is not a terminal. Each lesson ends with the\n" +
			"commands that try it. In the terminal interface, l opens the lesson on the\n" +
			"screen's topic.",
		Example:      "  mailwire lesson\n  mailwire lesson starttls\n  mailwire lesson dane > dane.md",
		Args:         usageArgs(cobra.MaximumNArgs(1)),
		ValidArgs:    content.LessonOrder,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			theme, err := tui.ParseTheme(f.theme)
			if err != nil {
				return usageError(fmt.Errorf("--theme: %w", err))
			}
			if f.width < 0 {
				return usageError(fmt.Errorf("--width %d: want a number of columns", f.width))
			}
			if len(args) == 0 {
				return listLessons(cmd.OutOrStdout())
			}
			l, ok := content.LessonByName(args[0])
			if !ok {
				return usageError(fmt.Errorf("no lesson %q (want one of %s)", args[0], strings.Join(content.LessonOrder, ", ")))
			}
			return printLesson(cmd.InOrStdin(), cmd.OutOrStdout(), l, theme, f.width)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.theme, "theme", "", "colours: dark, light or high-contrast (default: the terminal's background, else dark)")
	fl.IntVar(&f.width, "width", 0, fmt.Sprintf("wrap at this many columns (default: the terminal's width, at most %d)", lessonWidth))
	return cmd
}

// listLessons prints every lesson's name, title and summary.
func listLessons(out io.Writer) error {
	all, err := content.Lessons()
	if err != nil {
		return err
	}
	width := 0
	for _, l := range all {
		width = max(width, len(l.Name))
	}
	indent := strings.Repeat(" ", width+2)
	for _, l := range all {
		// The summary under the title, wrapped to 80 columns.
		summary := lipgloss.Wrap(l.Summary, lessonWidth-len(indent), "")
		fmt.Fprintf(out, "%-*s  %s\n%s%s\n", width, l.Name, l.Title, indent, strings.ReplaceAll(summary, "\n", "\n"+indent))
	}
	fmt.Fprintln(out, "\nRead one with: mailwire lesson NAME")
	return nil
}

// printLesson prints one lesson: rendered with glamour on a terminal, in
// its theme (glamour's notty style under NO_COLOR); as Markdown to
// anything else, for a file or a pipe.
func printLesson(in io.Reader, out io.Writer, l content.Lesson, theme tui.Theme, width int) error {
	file, ok := out.(*os.File)
	if !ok || !term.IsTerminal(file.Fd()) {
		_, err := io.WriteString(out, tui.LessonMarkdown(l))
		return err
	}
	if width == 0 {
		width = lessonWidth
		if cols, _, err := term.GetSize(file.Fd()); err == nil && cols > 0 {
			width = min(cols, lessonWidth)
		}
	}
	noColor := os.Getenv("NO_COLOR") != ""
	isDark := true
	if inFile, ok := in.(*os.File); ok && theme == tui.ThemeAuto && !noColor && term.IsTerminal(inFile.Fd()) {
		isDark = lipgloss.HasDarkBackground(inFile, file)
	}
	text, err := tui.LessonText(l, width, theme, isDark, noColor)
	if err != nil {
		return err
	}
	// Downsample the colours to what the terminal supports.
	w := colorprofile.NewWriter(file, os.Environ())
	_, err = io.WriteString(w, text+"\n")
	return err
}
