package protocol

import (
	"bytes"
	"strings"

	"github.com/mailwire/mailwire/sessions/wire"
)

// RedactSecrets returns a copy of evs with every password masked, and for
// each event it changed, true at the same index. On an event whose
// Credential carries a password:
//
//   - Credential.Password becomes Mask(password);
//   - in Raw and in Text, the argument that carries the secret is replaced
//     by the mask "••••••••" (UTF-8): the base64 SASL response of AUTH PLAIN
//     (RFC 4616 §2, which also encodes the user name), the base64 password
//     line of AUTH LOGIN, the password argument of IMAP LOGIN (RFC 9051
//     §6.2.3) and everything after "PASS " in POP3 (RFC 1939 §7). The line
//     terminator and the command words stay, so the line still reads as what
//     it was. Raw is then no longer the exact wire bytes.
//
// A line of any other shape has everything after its first word masked.
// The input is not modified.
func RedactSecrets(evs []wire.Event) ([]wire.Event, []bool) {
	out := make([]wire.Event, len(evs))
	changed := make([]bool, len(evs))
	for i, ev := range evs {
		out[i] = ev
		if ev.Credential == nil || ev.Credential.Password == "" {
			continue
		}
		cr := *ev.Credential
		pw := cr.Password
		cr.Password = Mask(pw)
		out[i].Credential = &cr
		out[i].Raw = redactRaw(ev.Raw, cr.Mechanism, pw)
		out[i].Text = redactLine(ev.Text, cr.Mechanism, pw)
		changed[i] = true
	}
	return out, changed
}

// redactRaw masks the secret in each line of raw, keeping terminators.
func redactRaw(raw []byte, mech, pw string) []byte {
	if raw == nil {
		return nil
	}
	var out []byte
	for len(raw) > 0 {
		line := raw
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line = raw[:i+1]
		}
		raw = raw[len(line):]
		body := bytes.TrimRight(line, "\r\n")
		out = append(out, redactLine(string(body), mech, pw)...)
		out = append(out, line[len(body):]...)
	}
	return out
}

// redactLine masks the secret-bearing argument of one client line (without
// its terminator), by the credential's mechanism as DecodeCredential names
// it.
func redactLine(s, mech, pw string) string {
	mask := Mask(pw)
	words := strings.Fields(s)
	var r string
	switch mech {
	case "AUTH PLAIN":
		// "AUTH PLAIN <b64>", "tag AUTHENTICATE PLAIN <b64>", or the bare
		// <b64> continuation line (RFC 4954 §4, RFC 9051 §6.2.2).
		switch {
		case len(words) >= 3 && strings.EqualFold(words[len(words)-2], AuthPlain):
			r = replaceLastWord(s, mask)
		case len(words) == 1:
			r = mask
		}
	case "AUTH LOGIN":
		// The password is always a continuation line of its own.
		if len(words) == 1 {
			r = mask
		}
	case "LOGIN":
		// "tag LOGIN user password": keep the tag, the verb and the user.
		rest := afterWords(s, 2)
		if user := astringLen(rest); user > 0 {
			r = s[:len(s)-len(rest)] + rest[:user] + " " + mask
		}
	case "USER/PASS":
		if len(words) >= 2 && strings.EqualFold(words[0], "PASS") {
			r = s[:strings.Index(s, words[0])+len(words[0])] + " " + mask
		}
	}
	if r == "" {
		// Unknown shape: hide everything after the first word rather than
		// risk printing the secret.
		if len(words) <= 1 {
			return mask
		}
		return words[0] + " " + mask
	}
	return r
}

func replaceLastWord(s, with string) string {
	t := strings.TrimRight(s, " \t")
	i := strings.LastIndexAny(t, " \t")
	return t[:i+1] + with
}

// astringLen returns the length of the IMAP astring at the start of s
// (RFC 9051 §4.3: an atom, or a quoted string with backslash escapes), or 0.
func astringLen(s string) int {
	if s == "" || s[0] == '{' {
		return 0
	}
	if s[0] == '"' {
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return 0
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return i
	}
	return len(s)
}
