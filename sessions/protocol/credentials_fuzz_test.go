package protocol

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// FuzzDecodeCredential feeds DecodeCredential two kinds of input.
//
// script is an arbitrary conversation: one line per "\n"; a line starting
// with "S:" is a server line (CredentialState.ServerLine), any other a
// client line. Whatever it holds, decoding must not panic, must name a
// known mechanism, and every decoded string must come from the lines seen
// (it is never longer than the longest line so far; IMAP LOGIN and POP3
// USER/PASS values are cut from the line itself).
//
// user and pass are a login the drivers would send (Options refuses CR, LF
// and NUL in a user name, CR and LF in a password): each way a driver
// encodes it (SMTP AUTH PLAIN and AUTH LOGIN, RFC 4954 §4; IMAP LOGIN,
// RFC 9051 §6.2.3; POP3 USER/PASS, RFC 1939 §7) must decode back to exactly
// user and pass, and RedactSecrets must leave neither the password nor its
// encoded form in the event's Raw or Text.
func FuzzDecodeCredential(f *testing.F) {
	b := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		proto      byte
		script     string
		user, pass string
	}{
		{0, "AUTH PLAIN " + b("\x00learner\x00correct-horse") + "\r\n", "learner", "correct-horse"},
		{0, "AUTH LOGIN\r\nS:334 VXNlcm5hbWU6\r\n" + b("learner") + "\r\nS:334 UGFzc3dvcmQ6\r\n" + b("pw") + "\r\n", "u", "p w"},
		{0, "AUTH LOGIN\r\n*\r\n" + b("x") + "\r\n", "a@b.test", `"quoted\"`},
		{0, "AUTH PLAIN\r\nS:535 no\r\n" + b("\x00u\x00p") + "\r\n", "", ""},
		{1, "USER learner\r\nPASS correct horse\r\n", "learner", " lead space"},
		{1, "AUTH PLAIN =\r\nS:+ \r\n" + b("a\x00b\x00c") + "\r\n", "u", "\x00nul"},
		{2, "a1 LOGIN \"learner\" \"pa ss\\\"w\\\\d\"\r\n", "learner", `pa ss"w\d`},
		{2, "a1 LOGIN {7}\r\n", "x", "y"},
		{2, "a2 AUTHENTICATE PLAIN\r\nS:+ \r\n" + b("\x00u\x00p") + "\r\n", "ünï", "pässwörd"},
		{2, "a3 login a\"b\" c\r\nLOGIN\r\n", "", "LOGIN"},
	} {
		f.Add(tc.proto, []byte(tc.script), tc.user, tc.pass)
	}
	protos := []string{SMTP, POP3, IMAP}
	f.Fuzz(func(t *testing.T, proto byte, script []byte, user, pass string) {
		p := protos[int(proto)%len(protos)]
		var st CredentialState
		longest := 0
		for _, line := range bytes.SplitAfter(script, []byte("\n")) {
			if s, ok := bytes.CutPrefix(line, []byte("S:")); ok {
				st.ServerLine(p, s)
				continue
			}
			longest = max(longest, len(line))
			cr := DecodeCredential(p, line, &st)
			if cr == nil {
				continue
			}
			switch cr.Mechanism {
			case "AUTH PLAIN", "AUTH LOGIN", "LOGIN", "USER/PASS":
			default:
				t.Fatalf("%q: unknown mechanism %q", line, cr.Mechanism)
			}
			if len(cr.Username) > longest || len(cr.Password) > longest {
				t.Fatalf("%q: decoded %+v is longer than any line", line, cr)
			}
			if cr.Mechanism == "USER/PASS" && cr.Password != "" && !bytes.Contains(line, []byte(cr.Password)) {
				t.Fatalf("%q: PASS %q is not from the line", line, cr.Password)
			}
			if cr.Mechanism == "LOGIN" && len(cr.Username)+len(cr.Password) > len(line) {
				t.Fatalf("%q: LOGIN %+v", line, cr)
			}
		}

		// What the drivers send for a valid login.
		if strings.ContainsAny(user, "\r\n\x00") || strings.ContainsAny(pass, "\r\n") {
			return
		}
		type exchange struct {
			proto, mech string
			lines       []string
			secret      int    // index of the line that carries the password
			keep        string // the start of that line redaction keeps
			encoded     string // the password as the line carries it
		}
		plain := b("\x00" + user + "\x00" + pass)
		exs := []exchange{
			{SMTP, "AUTH PLAIN", []string{"AUTH PLAIN " + plain + "\r\n"}, 0, "AUTH PLAIN ", plain},
			{SMTP, "AUTH LOGIN", []string{"AUTH LOGIN\r\n", b(user) + "\r\n", b(pass) + "\r\n"}, 2, "", b(pass)},
			{IMAP, "LOGIN", []string{"a4 LOGIN " + IMAPQuote(user) + " " + IMAPQuote(pass) + "\r\n"}, 0,
				"a4 LOGIN " + IMAPQuote(user) + " ", IMAPQuote(pass)},
		}
		// POP3 (RFC 1939 §7): USER takes one argument, so surrounding
		// spaces are not part of it, and PASS needs a non-blank password.
		if user == strings.TrimSpace(user) && strings.TrimSpace(user) != "" && strings.TrimSpace(pass) != "" {
			exs = append(exs, exchange{POP3, "USER/PASS", []string{"USER " + user + "\r\n", "PASS " + pass + "\r\n"}, 1, "PASS ", pass})
		}
		for _, ex := range exs {
			var st CredentialState
			var got *wire.Credential
			for i, l := range ex.lines {
				cr := DecodeCredential(ex.proto, []byte(l), &st)
				if i == ex.secret {
					got = cr
				}
			}
			if got == nil || got.Mechanism != ex.mech || got.Username != user || got.Password != pass {
				t.Fatalf("%s %q: decoded %+v, want user %q password %q", ex.proto, ex.lines, got, user, pass)
			}
			if pass == "" {
				continue
			}
			line := ex.lines[ex.secret]
			red, changed := RedactSecrets([]wire.Event{{Raw: []byte(line), Text: wire.LineText([]byte(line)), Credential: got}})
			if !changed[0] || red[0].Credential.Password == pass {
				t.Fatalf("%s %q: not redacted: %+v", ex.proto, line, red[0])
			}
			// The secret must be gone, unless it also spells part of what
			// redaction rightly keeps (the verb, the user name).
			for _, s := range []string{red[0].Text, string(red[0].Raw)} {
				for _, secret := range []string{pass, ex.encoded} {
					if strings.Contains(s, secret) && !strings.Contains(ex.keep+Mask(pass)+"\r\n", secret) {
						t.Fatalf("%s %q: redacted %q still holds %q", ex.proto, line, s, secret)
					}
				}
			}
		}
	})
}
