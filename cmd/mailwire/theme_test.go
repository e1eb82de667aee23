package main

import (
	"strings"
	"testing"
)

// Every command that draws the terminal interface takes --theme (connect
// and scan had none, so `mailwire connect` on a light terminal could not
// be told), with one usage, and the configuration file's theme reaches
// each; a word that is no theme is a usage error before anything is
// dialed.
func TestThemeOnEveryScreen(t *testing.T) {
	writeConfig(t, "theme = 'light'\n")
	for _, path := range [][]string{nil, {"connect"}, {"scan"}} {
		cmd := applied(t, path)
		if v := flagValue(t, cmd, "theme"); v != "light" {
			t.Errorf("%s: --theme from the file = %q, want light", cmd.CommandPath(), v)
		}
		if u := cmd.Flags().Lookup("theme").Usage; u != themeUsage {
			t.Errorf("%s: --theme's usage is %q", cmd.CommandPath(), u)
		}
		if v := flagValue(t, applied(t, path, "--theme", "high-contrast"), "theme"); v != "high-contrast" {
			t.Errorf("%v: the flag does not win over the file: %q", path, v)
		}
	}
	closed := closedPort(t)
	for _, args := range [][]string{
		{"connect", closed, "--theme", "pink"},
		{"connect", closed, "--theme", "pink", "--format", "json"},
		{"scan", closed, "--theme", "pink"},
	} {
		code, out, errOut := runMailwire(t, args...)
		if code != exitUsage || !strings.Contains(errOut, `--theme: unknown theme "pink"`) {
			t.Errorf("%v: exit status %d\nstdout: %s\nstderr: %s", args, code, out, errOut)
		}
	}
}
