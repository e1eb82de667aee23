package tui

import (
	"strings"
	"testing"
)

// On a wide screen the list of findings is as wide as its longest title
// needs, up to half the screen: at 160 columns every title shows whole
// (they were cut at 56 cells while the detail had 100); at 120 the list
// takes half.
func TestScanListWidth(t *testing.T) {
	for _, size := range [][2]int{{160, 48}, {120, 40}} {
		m := newScanModel(t, size[0], size[1], &fakeScans{rep: scanFixture(t)}, &fakeSessions{})
		s := m.screens[m.active].(*scanScreen)
		l := s.layout()
		if want := min(max(56, s.widestFinding()), size[0]/2); l.listW != want {
			t.Errorf("%v: list %d cells wide, want %d", size, l.listW, want)
		}
		if size[0] < 160 {
			continue
		}
		view := plain(m)
		for _, f := range s.findings[s.top:min(len(s.findings), s.top+l.listRows)] {
			if !strings.Contains(view, findingLine(f)) {
				t.Errorf("%v: finding cut: %q", size, findingLine(f))
			}
		}
	}
}
