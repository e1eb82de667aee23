package tlsprobe

import (
	"slices"
	"testing"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// TestCandidatesAreTheRegistry: the probes offer every suite of the
// engine's one registry (tlsmsg.Suites), each once, TLS 1.3's apart, and
// never a signalling value, TLS_NULL_WITH_NULL_NULL or GREASE.
func TestCandidatesAreTheRegistry(t *testing.T) {
	all := append(LegacySuites(), TLS13Suites()...)
	if len(all) != len(tlsmsg.Suites()) || len(TLS13Suites()) != 5 {
		t.Fatalf("%d candidates (%d TLS 1.3), registry %d", len(all), len(TLS13Suites()), len(tlsmsg.Suites()))
	}
	seen := map[uint16]bool{}
	for _, id := range all {
		s, ok := Info(id)
		if !ok || seen[id] {
			t.Errorf("0x%04x: in the registry %v, offered twice %v", id, ok, seen[id])
		}
		seen[id] = true
		if s.TLS13 != slices.Contains(TLS13Suites(), id) {
			t.Errorf("%s offered with the wrong versions", s.Name)
		}
	}
	for _, id := range []uint16{0x0000, 0x00ff, 0x5600, 0x0a0a} {
		if seen[id] {
			t.Errorf("0x%04x offered", id)
		}
	}
}
