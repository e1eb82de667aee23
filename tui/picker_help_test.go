package tui

import (
	"strings"
	"testing"
)

// a's help says what a does from here: the full list from a port's list,
// and back to the port's list from the full one, as the header says (the
// bar said "a all scenarios" over the full list too).
func TestPickerAllKeyHelp(t *testing.T) {
	m := newPickerTestModel(t, 80, 24, &fakeSessions{})
	mustUpdate(t, m, keyText('j')) // 587
	pump(t, m, mustUpdate(t, m, keyText('S')))
	if bar := helpLines(m)[0]; !strings.Contains(bar, "a all scenarios") {
		t.Errorf("port's list: help bar %q", bar)
	}
	mustUpdate(t, m, keyText('a'))
	bar := helpLines(m)[0]
	if !strings.Contains(bar, "a only port 587") || strings.Contains(bar, "all scenarios") {
		t.Errorf("full list: help bar %q", bar)
	}
	if !strings.Contains(plain(m), "a: only port 587") {
		t.Errorf("full list: header\n%s", plain(m))
	}
}
