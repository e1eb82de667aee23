package tui

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/wire"
)

// events100k is a long session: the fixture's exchange repeated until there
// are n events, with increasing times and sequence numbers.
func events100k(n int) []wire.Event {
	base := fixture587()
	evs := make([]wire.Event, 0, n)
	for len(evs) < n {
		for _, ev := range base[7 : len(base)-1] { // from the boundary on: TLS and lines
			if len(evs) == n {
				break
			}
			ev.Seq = len(evs) + 1
			ev.At = sessionsDuration(len(evs))
			evs = append(evs, ev)
		}
	}
	return evs
}

// BenchmarkSessionScreen100k measures one frame with 100k events in the
// model: a key press that moves the selection, then View. Rows are cached
// and only the visible ones are rendered, so the cost must not grow with
// the session.
func BenchmarkSessionScreen100k(b *testing.B) {
	for _, size := range [][2]int{{80, 24}, {160, 48}} {
		b.Run(sizeName(size), func(b *testing.B) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			f := &fakeSessions{evs: events100k(100_000)}
			m := newSessionModel(b, size[0], size[1], f)
			s := session(m)
			if len(s.evs) != 100_000 {
				b.Fatalf("%d events in the model", len(s.evs))
			}
			mustUpdate(b, m, keyCode(tea.KeyHome))
			for range s.layout().listH * 3 {
				mustUpdate(b, m, keyCode(tea.KeyDown))
			}
			up, down := keyCode(tea.KeyUp), keyCode(tea.KeyDown)
			// Memory held with 100k events: the events themselves (in the
			// fake and the model) plus the screen's rows and caches.
			runtime.GC()
			runtime.ReadMemStats(&after)
			heldMiB := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
			b.ResetTimer()
			for i := range b.N {
				k := down
				if i/50%2 == 1 {
					k = up
				}
				m.Update(k)
				_ = m.View()
			}
			b.ReportMetric(heldMiB, "MiB-held")
			runtime.KeepAlive(f)
		})
	}
}

func sizeName(s [2]int) string { return fmt.Sprintf("%dx%d", s[0], s[1]) }

func sessionsDuration(i int) time.Duration { return time.Duration(i) * 53 * time.Microsecond }
