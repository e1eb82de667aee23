package wire

import (
	"math"
	"testing"
	"time"
)

// TestFormatDuration pins how durations read: about three significant
// digits and a unit, never "20001.28ms" (issue 12).
func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.00 ms"},
		{870 * time.Microsecond, "0.87 ms"},
		{220 * time.Microsecond, "0.22 ms"},
		{8700 * time.Microsecond, "8.70 ms"},
		{9996 * time.Microsecond, "10.0 ms"}, // rounds up into the next form
		{48440 * time.Microsecond, "48.4 ms"},
		{99960 * time.Microsecond, "100 ms"},
		{870 * time.Millisecond, "870 ms"},
		{999600 * time.Microsecond, "1.0 s"},
		{20001280 * time.Microsecond, "20.0 s"},
		{59960 * time.Millisecond, "1:00 min"},
		{125 * time.Second, "2:05 min"},
		{3725 * time.Second, "1:02:05 h"},
		{-870 * time.Microsecond, "-0.87 ms"},
		{math.MinInt64, "-2562047:47:16 h"}, // a hostile JSON file's At

	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		if got := FormatDuration(tc.d); tc.d >= 0 && tc.d < time.Hour && len([]rune(got)) > 8 {
			t.Errorf("FormatDuration(%v) = %q: wider than the 8 cells of the time column", tc.d, got)
		}
	}
}
