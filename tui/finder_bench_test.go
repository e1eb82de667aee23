package tui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// TestSearchLongSession: a key typed into the search of a 100k-event
// session answers quickly: the count stops at maxSearchRows rows ("+"),
// and n finds a match past them.
func TestSearchLongSession(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100k-event session")
	}
	m := newSessionModel(t, 80, 24, &fakeSessions{})
	s := session(m)
	// The events as one batch (the fake's channel of 100k may not fill
	// within pump's wait on a busy machine).
	mustUpdate(t, m, sessionEventsMsg{id: s.id, evs: events100k(100_000), done: true})
	mustUpdate(t, m, keyCode(tea.KeyHome))
	mustUpdate(t, m, keyText('/'))
	start := time.Now()
	for _, r := range "quit" {
		mustUpdate(t, m, keyText(r))
		_ = m.View()
	}
	mustUpdate(t, m, keyCode(tea.KeyEnter))
	took := time.Since(start)
	if !s.find.matches(s.tl.sel) {
		t.Fatalf("no match selected: %q", selectedText(m))
	}
	if h := header2(m); !containsFold(h, `"quit": 1 of `) || !containsFold(h, "+ ·") {
		t.Errorf("count past the bound: %q", h)
	}
	// Four keys and enter, each counting up to maxSearchRows rows.
	if took > 5*time.Second {
		t.Errorf("typing a search of 100k events took %v", took)
	}
	t.Logf("5 keys into the search of 100k events: %v", took)
	s.tl.sel = s.tl.visible() - 2
	mustUpdate(t, m, keyText('N'))
	if s.tl.sel < maxSearchRows {
		t.Errorf("N from the end found row %d, not one past the counted rows", s.tl.sel)
	}
}
