package main

import (
	"fmt"

	"github.com/mailwire/mailwire/tui"
	"github.com/spf13/pflag"
)

// themeUsage is --theme's usage, the same on every command that draws the
// terminal interface (the root, connect, scan).
const themeUsage = "colours: dark, light or high-contrast (default: the terminal's background, else COLORFGBG, else dark)"

// addThemeFlag adds --theme; the configuration file's theme reaches it
// too (configFlags gives a setting to every command with its flag).
func addThemeFlag(fl *pflag.FlagSet, v *string) { fl.StringVar(v, "theme", "", themeUsage) }

// parseTheme reads --theme's value; a word that is no theme is a usage
// error (exit status 2), checked before anything is dialed.
func parseTheme(v string) (tui.Theme, error) {
	t, err := tui.ParseTheme(v)
	if err != nil {
		return t, usageError(fmt.Errorf("--theme: %w", err))
	}
	return t, nil
}
