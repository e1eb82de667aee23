package wire

import "fmt"

// FormatSize shows a byte count as people read one: "812 bytes",
// "37.2 KiB", "4.1 MiB", "1.3 GiB" (binary units, IEC 80000-13). It is how
// mailwire says how big a file it wrote is (a recording, an export); the
// transcripts count a session's bytes exactly (GroupDigits).
func FormatSize(n int64) string {
	switch {
	case n == 1:
		return "1 byte"
	case n < 1<<10:
		return fmt.Sprintf("%d bytes", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}
