package protocol

import (
	"math"
	"testing"
)

func TestAnnouncedLiteral(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		ok   bool
	}{
		{"a1 LOGIN {7}\r\n", 7, true},
		{"* 1 FETCH (BODY[] {1024}", 1024, true},
		{"a2 APPEND INBOX {12+}\r\n", 12, true},
		{"a3 APPEND INBOX ~{5}\n", 5, true},
		{"* 1 FETCH (BODY[] {99999999999999999999}\r\n", math.MaxInt64, true},
		{"a4 LOGIN {}\r\n", 0, false},
		{"a5 LOGIN {-5}\r\n", 0, false},
		{"a6 LOGIN {+5}\r\n", 0, false},
		{"a7 LOGIN {5} x\r\n", 0, false},
		{"a8 NOOP\r\n", 0, false},
		{"}", 0, false},
	} {
		n, ok := AnnouncedLiteral(tc.line)
		if n != tc.n || ok != tc.ok {
			t.Errorf("AnnouncedLiteral(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}
