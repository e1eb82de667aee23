package sessions

import "testing"

// An error names its operation once, whatever its case.
func TestWithOp(t *testing.T) {
	for _, tc := range [][3]string{
		{"read greeting", "read greeting: server replied 421", "read greeting: server replied 421"},
		{"auth", "AUTH: server replied 535 Incorrect authentication data", "AUTH: server replied 535 Incorrect authentication data"},
		{"auth", "authentication broke", "auth: authentication broke"},
		{"tls handshake", "remote error: tls: internal error", "tls handshake: remote error: tls: internal error"},
		{"", "x", "x"},
	} {
		if got := withOp(tc[0], tc[1]); got != tc[2] {
			t.Errorf("withOp(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
