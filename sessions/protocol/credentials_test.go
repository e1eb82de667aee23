package protocol

import (
	"encoding/base64"
	"testing"
)

func b64s(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestDecodeCredential(t *testing.T) {
	type want struct {
		mech, user, pass string
	}
	for _, tc := range []struct {
		name  string
		proto string
		lines []string
		want  []*want // one per line; nil = no credential on that line
	}{
		{"smtp AUTH PLAIN initial response", SMTP,
			[]string{"AUTH PLAIN " + b64s("\x00learner\x00correct-horse") + "\r\n"},
			[]*want{{"AUTH PLAIN", "learner", "correct-horse"}}},
		{"smtp AUTH PLAIN with authzid", SMTP,
			[]string{"auth plain " + b64s("admin\x00learner\x00pw") + "\r\n"},
			[]*want{{"AUTH PLAIN", "learner", "pw"}}},
		{"smtp AUTH PLAIN continuation", SMTP,
			[]string{"AUTH PLAIN\r\n", b64s("\x00u\x00p") + "\r\n"},
			[]*want{nil, {"AUTH PLAIN", "u", "p"}}},
		{"smtp AUTH LOGIN", SMTP,
			[]string{"AUTH LOGIN\r\n", b64s("learner") + "\r\n", b64s("s3cret") + "\r\n", "MAIL FROM:<a@b>\r\n"},
			[]*want{nil, {"AUTH LOGIN", "learner", ""}, {"AUTH LOGIN", "learner", "s3cret"}, nil}},
		{"smtp AUTH LOGIN initial response", SMTP,
			[]string{"AUTH LOGIN " + b64s("learner") + "\r\n", b64s("pw") + "\r\n"},
			[]*want{{"AUTH LOGIN", "learner", ""}, {"AUTH LOGIN", "learner", "pw"}}},
		{"cancelled exchange", SMTP,
			[]string{"AUTH LOGIN\r\n", "*\r\n", b64s("not a password") + "\r\n"},
			[]*want{nil, nil, nil}},
		{"bad base64", SMTP,
			[]string{"AUTH PLAIN !!!\r\n"}, []*want{nil}},
		{"plain without NULs", SMTP,
			[]string{"AUTH PLAIN " + b64s("justtext") + "\r\n"}, []*want{nil}},
		{"ordinary commands", SMTP,
			[]string{"EHLO x\r\n", "MAIL FROM:<a@b>\r\n", "PASS word\r\n"}, []*want{nil, nil, nil}},
		{"imap LOGIN literals, the command whole", IMAP,
			[]string{"a1 LOGIN {7}\r\nlearner {13+}\r\ncorrect-horse\r\n", "a2 LOGIN \"u\" {4}\r\np\r\nw\r\n"},
			[]*want{{"LOGIN", "learner", "correct-horse"}, {"LOGIN", "u", "p\r\nw"}}},
		{"imap LOGIN literal cut short", IMAP,
			[]string{"a1 LOGIN {7}\r\n", "a2 LOGIN {99}\r\nlearner pw\r\n"},
			[]*want{nil, nil}},
		{"imap LOGIN atoms", IMAP,
			[]string{"a1 LOGIN learner correct-horse\r\n"},
			[]*want{{"LOGIN", "learner", "correct-horse"}}},
		{"imap LOGIN quoted", IMAP,
			[]string{`LOGIN1 login "learner" "pa ss\"w\\d"` + "\r\n"},
			[]*want{{"LOGIN", "learner", `pa ss"w\d`}}},
		{"imap AUTHENTICATE PLAIN", IMAP,
			[]string{"a2 AUTHENTICATE PLAIN\r\n", b64s("\x00u\x00p") + "\r\n"},
			[]*want{nil, {"AUTH PLAIN", "u", "p"}}},
		{"imap literal not decoded", IMAP,
			[]string{"a1 LOGIN {7}\r\n"}, []*want{nil}},
		{"pop3 USER PASS", POP3,
			[]string{"USER learner\r\n", "PASS correct horse\r\n"},
			[]*want{{"USER/PASS", "learner", ""}, {"USER/PASS", "learner", "correct horse"}}},
		{"pop3 AUTH PLAIN", POP3,
			[]string{"AUTH PLAIN " + b64s("\x00u\x00p") + "\r\n"},
			[]*want{{"AUTH PLAIN", "u", "p"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st CredentialState
			for i, l := range tc.lines {
				got := DecodeCredential(tc.proto, []byte(l), &st)
				w := tc.want[i]
				switch {
				case w == nil && got != nil:
					t.Errorf("line %d %q: unexpected %+v", i, l, got)
				case w != nil && got == nil:
					t.Errorf("line %d %q: nothing decoded", i, l)
				case w != nil && (got.Mechanism != w.mech || got.Username != w.user || got.Password != w.pass):
					t.Errorf("line %d %q: got %+v want %+v", i, l, got, w)
				}
			}
		})
	}
}

func TestCredentialExchangeEndsOnServerReply(t *testing.T) {
	var st CredentialState
	DecodeCredential(SMTP, []byte("AUTH LOGIN\r\n"), &st)
	st.ServerLine(SMTP, []byte("504 5.5.4 Unrecognized authentication type\r\n"))
	// "QUIT" is valid base64: without the reset it would read as a user name.
	if cr := DecodeCredential(SMTP, []byte("QUIT\r\n"), &st); cr != nil {
		t.Errorf("QUIT decoded as %+v", cr)
	}
	DecodeCredential(IMAP, []byte("a1 AUTHENTICATE PLAIN\r\n"), &st)
	st.ServerLine(IMAP, []byte("+ \r\n"))
	if cr := DecodeCredential(IMAP, []byte(b64s("\x00u\x00p")+"\r\n"), &st); cr == nil || cr.Password != "p" {
		t.Errorf("continuation after '+': %+v", cr)
	}
}

func TestMask(t *testing.T) {
	if Mask("") != "" || Mask("a") != Mask("a much longer password") || Mask("x") == "x" {
		t.Error("Mask must hide the secret and its length")
	}
}
