package protocol

import "testing"

func TestBusy(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		// Exim past smtp_accept_max, as it greets (also in cleartext on 465).
		{"421 Too many concurrent SMTP connections; please try again later.\r\n", true},
		{"421-mx.example busy\r\n421 try later\r\n", true},
		{"421\r\n", true},
		{"421 4.7.0 mx.example Error: too many connections from 192.0.2.1\r\n", true},
		{"-ERR [SYS/TEMP] Too many connections\r\n", true},
		{"-err [sys/temp] busy\r\n", true},
		{"* BYE [UNAVAILABLE] Server busy\r\n", true},
		{"* bye [unavailable]\r\n", true},
		// Not busy: greetings, permanent refusals, other codes.
		{"220 mx.example ESMTP\r\n", false},
		{"554 5.7.1 go away\r\n", false},
		{"4210 nonsense\r\n", false},
		{"-ERR [SYS/PERM] disabled\r\n", false},
		{"-ERR [IN-USE] locked\r\n", false},
		{"* BYE Autologout\r\n", false},
		{"* OK [CAPABILITY IMAP4rev1] ready\r\n", false},
		{"+OK ready\r\n", false},
		{"\x16\x03\x03\x00\x02", false},
		{"", false},
	} {
		if got := Busy([]byte(tc.line)); got != tc.want {
			t.Errorf("Busy(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func FuzzBusy(f *testing.F) {
	for _, s := range []string{"421 x\r\n", "-ERR [SYS/TEMP] x", "* BYE [UNAVAILABLE] x", "* BYE [", "-ERR [", "421"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		Busy(b) // must not panic on any input
	})
}
