package sessions

import "testing"

func TestDotStuff(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\r\nb\r\n", "a\r\nb\r\n.\r\n"},
		{"a\nb", "a\r\nb\r\n.\r\n"},
		{".hidden\n..two\nend.\n", "..hidden\r\n...two\r\nend.\r\n.\r\n"},
		{".", "..\r\n.\r\n"},
		{"", "\r\n.\r\n"},
	} {
		if got := string(dotStuff([]byte(tc.in))); got != tc.want {
			t.Errorf("dotStuff(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
