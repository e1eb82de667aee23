package protocol

import (
	"slices"
	"testing"
	"unicode/utf8"
)

func TestServerCapabilities(t *testing.T) {
	tests := []struct {
		name, proto, verb, raw string
		caps, keys             []string
	}{
		{"ehlo", SMTP, "EHLO",
			"250-mail.lab.test greets you\r\n250-STARTTLS\r\n250-size 1000\r\n250 PIPELINING\r\n",
			[]string{"STARTTLS", "SIZE 1000", "PIPELINING"},
			[]string{"smtp.ext.starttls", "smtp.ext.size", "smtp.ext.pipelining"}},
		{"ehlo refused", SMTP, "EHLO", "502 5.5.2 no\r\n", nil, nil},
		{"not an ehlo reply", SMTP, "RCPT", "250-a\r\n250 STARTTLS\r\n", nil, nil},
		{"ehlo cut short", SMTP, "EHLO", "250-a\r\n250-STARTTLS\r\n", nil, nil},
		{"capa", POP3, "CAPA", "+OK list\r\nSTLS\r\nsasl PLAIN LOGIN\r\n.\r\n",
			[]string{"STLS", "SASL PLAIN LOGIN"}, []string{"pop3.capa.stls", "pop3.capa.sasl"}},
		{"capa refused", POP3, "CAPA", "-ERR no\r\n", nil, nil},
		{"not a capa response", POP3, "LIST", "+OK\r\n1 2\r\n.\r\n", nil, nil},
		{"imap data", IMAP, "", "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\na OK done\r\n",
			[]string{"IMAP4REV1", "STARTTLS", "LOGINDISABLED"},
			[]string{"imap.cap.imap4rev1", "imap.cap.starttls", "imap.cap.logindisabled"}},
		{"imap greeting code", IMAP, "", "* OK [CAPABILITY IMAP4rev2 STARTTLS] ready\r\n",
			[]string{"IMAP4REV2", "STARTTLS"}, []string{"imap.cap.imap4rev2", "imap.cap.starttls"}},
		{"imap none", IMAP, "", "* OK ready\r\n", nil, nil},
		{"http", HTTPS, "", "HTTP/1.1 200 OK\r\n", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			caps, keys := ServerCapabilities(tc.proto, tc.verb, []byte(tc.raw))
			if !slices.Equal(caps, tc.caps) || !slices.Equal(keys, tc.keys) {
				t.Errorf("got %q %q, want %q %q", caps, keys, tc.caps, tc.keys)
			}
		})
	}
}

// FuzzServerCapabilities: the proxy hands it whatever a server sent.
func FuzzServerCapabilities(f *testing.F) {
	f.Add(SMTP, "EHLO", []byte("250-x\r\n250 STARTTLS\r\n"))
	f.Add(POP3, "CAPA", []byte("+OK\r\nSTLS\r\n.\r\n"))
	f.Add(IMAP, "", []byte("* CAPABILITY IMAP4rev1 {3}\r\nabc\r\n* OK [CAPABILITY X] y\r\n"))
	f.Fuzz(func(t *testing.T, proto, verb string, raw []byte) {
		caps, keys := ServerCapabilities(proto, verb, raw)
		if len(caps) != len(keys) {
			t.Fatalf("%d capabilities, %d keys", len(caps), len(keys))
		}
		for _, k := range keys {
			if utf8.ValidString(string(raw)) && !utf8.ValidString(k) {
				t.Fatalf("invalid key %q from valid input", k)
			}
		}
	})
}

func TestServerLineInfo(t *testing.T) {
	tests := []struct {
		proto, raw, code, ann string
		also                  []string
	}{
		{SMTP, "454 4.7.0 TLS not available\r\n", "454", "smtp.reply.454", []string{"smtp.enhanced.4.7.0"}},
		{SMTP, "250-mail.lab.test\r\n250-STARTTLS\r\n", "250", "smtp.reply.250", nil}, // cut short
		{SMTP, "hello\r\n", "", "", nil},
		{POP3, "-ERR [SYS/TEMP] busy\r\n", "-ERR", "pop3.code.sys/temp", []string{"pop3.reply.err"}},
		{POP3, "+OK\r\nSTLS\r\n.\r\n", "+OK", "pop3.reply.ok", nil},
		{POP3, "* OK\r\n", "", "", nil},
		{IMAP, "a OK [CAPABILITY IMAP4rev2] done\r\n", "OK", "imap.code.capability", []string{"imap.status.ok"}},
		{IMAP, "* 3 EXISTS\r\n", "*", "imap.data.exists", nil},
		{IMAP, "+ go ahead\r\n", "+", "imap.continuation", nil},
		{IMAP, "(garbage\r\n", "", "", nil},
		{IMAP, "a2 OK Logged in", "OK", "imap.status.ok", nil}, // a line split off a batch, without its end
		{SMTP, "421 4.7.0 bye", "421", "smtp.reply.421", []string{"smtp.enhanced.4.7.0"}},
	}
	for _, tc := range tests {
		code, ann, also := ServerLineInfo(tc.proto, []byte(tc.raw))
		if code != tc.code || ann != tc.ann || !slices.Equal(also, tc.also) {
			t.Errorf("%s %q: got %q %q %q, want %q %q %q", tc.proto, tc.raw, code, ann, also, tc.code, tc.ann, tc.also)
		}
	}
}

// TestKeywordKeepsWhatIsNoKeyword: a keyword is upper-cased for matching,
// but bytes that cannot be a keyword (an escape sequence, C1, invalid
// UTF-8) are kept as sent, so the escaped form shows the server's bytes.
func TestKeywordKeepsWhatIsNoKeyword(t *testing.T) {
	for in, want := range map[string]string{
		"starttls":       "STARTTLS",
		"auth=plain":     "AUTH=PLAIN",
		"\x1b[31mred":    "\x1b[31mred",
		"\u009b31m":      "\u009b31m",
		"x\xffy":         "x\xffy",
		"8bitmime":       "8BITMIME",
		"size\x00hidden": "size\x00hidden",
	} {
		if got := Keyword(in); got != want {
			t.Errorf("Keyword(%q) = %q, want %q", in, got, want)
		}
	}
	caps := ParseEHLO([]string{"hostile", "\x1b[31mSTARTTLS", "pipelining"})
	if caps[0] != "\x1b[31mSTARTTLS" || caps[1] != "PIPELINING" {
		t.Errorf("ParseEHLO: %q", caps)
	}
}

func TestCapabilityDiff(t *testing.T) {
	added, removed := CapabilityDiff(
		[]string{"PIPELINING", "STARTTLS", "SIZE 10240000", "CHUNKING"},
		[]string{"PIPELINING", "AUTH PLAIN LOGIN", "SIZE 10240000", "CHUNKING"})
	if !slices.Equal(added, []string{"AUTH PLAIN LOGIN"}) || !slices.Equal(removed, []string{"STARTTLS"}) {
		t.Errorf("added %q, removed %q", added, removed)
	}
	if a, r := CapabilityDiff([]string{"X"}, []string{"X"}); a != nil || r != nil {
		t.Errorf("no change: %q %q", a, r)
	}
}
