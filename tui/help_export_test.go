package tui

import (
	"strings"
	"testing"
)

// The session screen's help bar names the export menu (x), which only the
// full help listed, beside ? help and q quit: at 80×24 on a session and in
// step mode from 120 columns, on a scenario from 120 columns; a shared
// program (mailwire serve), where exports are off, does not offer it.
func TestHelpBarNamesExport(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}, {160, 48}} {
		screens := helpScreens(t, size[0], size[1])
		for _, name := range []string{"session", "step", "scenario"} {
			if name != "session" && size[0] < 120 {
				continue // their own keys come first; the full help has x
			}
			bar := strings.TrimRight(helpLines(screens[name])[0], " ")
			if !strings.Contains(bar, "x export…") || !strings.HasSuffix(bar, "? help • q quit") {
				t.Errorf("%s %v: help bar %q", name, size, bar)
			}
		}
	}
	m := newSessionModel(t, 160, 48, &fakeSessions{evs: fixture587()})
	m.common.Keys.Export.SetEnabled(false)
	if bar := helpLines(m)[0]; strings.Contains(bar, "export") {
		t.Errorf("export off, yet the help bar offers it: %q", bar)
	}
}
