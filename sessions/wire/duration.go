package wire

import (
	"fmt"
	"time"
)

// FormatDuration shows a duration as people read one, with about three
// significant digits and its unit: "0.87 ms", "8.70 ms", "48.4 ms",
// "870 ms", "20.0 s", "2:05 min". It is the one way mailwire writes a
// duration for people (the timeline, the text and Markdown transcripts, the
// compare table); machine formats (JSON) keep nanoseconds.
//
// Loopback sessions take well under a millisecond per step, so short
// durations keep two decimals; a session that waits on a timeout reads in
// seconds, not "20001.28ms". The widest result below an hour is 8 cells.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		// -math.MinInt64 overflows back to itself: take the largest
		// magnitude instead (a duration read from a hostile JSON file).
		return "-" + FormatDuration(max(-d, -(d+1)))
	}
	ms := float64(d) / float64(time.Millisecond)
	// Each bound is where the shorter form would round up to the next
	// one ("9.995 ms" is "10.0 ms", not "10.00 ms").
	switch {
	case ms < 9.995:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 99.95:
		return fmt.Sprintf("%.1f ms", ms)
	case ms < 999.5:
		return fmt.Sprintf("%.0f ms", ms)
	case ms < 59_950:
		return fmt.Sprintf("%.1f s", ms/1000)
	}
	s := int64(d.Round(time.Second) / time.Second)
	if s < 3600 {
		return fmt.Sprintf("%d:%02d min", s/60, s%60)
	}
	return fmt.Sprintf("%d:%02d:%02d h", s/3600, s/60%60, s%60)
}
