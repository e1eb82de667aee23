package wire

import "testing"

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1: "1 byte", 812: "812 bytes", 1023: "1023 bytes", 1024: "1.0 KiB",
		38075: "37.2 KiB", 4 << 20: "4.0 MiB", 3 << 30: "3.0 GiB", -5: "-5 bytes",
	} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
