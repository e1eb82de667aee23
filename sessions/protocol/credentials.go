package protocol

import (
	"bytes"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/wire"
)

// CredentialState carries what DecodeCredential must remember between
// client lines: an AUTH exchange waiting for its continuation, a POP3 USER
// waiting for PASS. The zero value is ready; use one per connection.
type CredentialState struct {
	expect   string // "plain", "login-user", "login-pass" or ""
	username string // from AUTH LOGIN or POP3 USER
}

// ServerLine tells the state about a line the server sent: anything but a
// continuation request (SMTP 334, RFC 4954 §4; "+ " in POP3 and IMAP, RFC
// 5034 §4, RFC 9051 §7.5) ends a pending exchange, so a client command after
// a refused AUTH is never taken for a credential.
func (st *CredentialState) ServerLine(proto string, line []byte) {
	switch {
	case proto == SMTP && bytes.HasPrefix(line, []byte("334")):
	case proto != SMTP && len(line) > 0 && line[0] == '+' && !bytes.HasPrefix(line, []byte("+OK")):
	default:
		st.expect = ""
	}
}

// DecodeCredential recognises a secret in one line a client sent, and
// returns it, or nil. proto is SMTP, POP3 or IMAP. It knows:
//   - AUTH PLAIN with an initial response (RFC 4954 §4, RFC 5034 §4, RFC
//     4959) or in the continuation line after it (RFC 4616 §2);
//   - AUTH LOGIN: the user name and the password as two base64
//     continuations, or the user name as initial response;
//   - IMAP "tag LOGIN user password" (RFC 9051 §6.2.3) and "tag
//     AUTHENTICATE PLAIN" (RFC 9051 §6.2.2);
//   - POP3 USER then PASS (RFC 1939 §7).
//
// Only the client's own lines pass through it, in order: the server cannot
// interleave another command into an exchange, so the state stays right. A
// "*" line cancels an exchange (RFC 4954 §4). OnWire is left false; the
// runner sets it when the line crossed the wire before TLS.
func DecodeCredential(proto string, line []byte, st *CredentialState) *wire.Credential {
	s := strings.TrimRight(string(line), "\r\n")
	if st.expect != "" {
		expect := st.expect
		st.expect = ""
		if s == "*" {
			return nil
		}
		switch expect {
		case "plain":
			return decodePlain(s)
		case "login-user":
			u, ok := b64(s)
			if !ok {
				return nil
			}
			st.username, st.expect = u, "login-pass"
			return &wire.Credential{Mechanism: "AUTH LOGIN", Username: u}
		case "login-pass":
			p, ok := b64(s)
			if !ok {
				return nil
			}
			return &wire.Credential{Mechanism: "AUTH LOGIN", Username: st.username, Password: p}
		}
	}
	f := strings.Fields(s)
	if proto == IMAP && len(f) >= 2 {
		f = f[1:] // drop the tag
	}
	if len(f) == 0 {
		return nil
	}
	verb := strings.ToUpper(f[0])
	switch {
	case (verb == "AUTH" && proto != IMAP) || (verb == "AUTHENTICATE" && proto == IMAP):
		if len(f) < 2 {
			return nil
		}
		switch strings.ToUpper(f[1]) {
		case AuthPlain:
			if len(f) >= 3 && f[2] != "=" {
				return decodePlain(f[2])
			}
			st.expect = "plain"
		case AuthLogin:
			if len(f) >= 3 {
				u, ok := b64(f[2])
				if !ok {
					return nil
				}
				st.username, st.expect = u, "login-pass"
				return &wire.Credential{Mechanism: "AUTH LOGIN", Username: u}
			}
			st.expect = "login-user"
		}
	case proto == IMAP && verb == "LOGIN":
		args := imapStrings(afterWords(s, 2), 2)
		if len(args) == 2 {
			return &wire.Credential{Mechanism: "LOGIN", Username: args[0], Password: args[1]}
		}
	case proto == POP3 && verb == "USER" && len(f) >= 2:
		st.username = strings.TrimSpace(s[len("USER"):])
		return &wire.Credential{Mechanism: "USER/PASS", Username: st.username}
	case proto == POP3 && verb == "PASS" && len(f) >= 2:
		// RFC 1939 §7: the password is everything after "PASS ", spaces included.
		return &wire.Credential{Mechanism: "USER/PASS", Username: st.username, Password: s[len("PASS "):]}
	}
	return nil
}

// decodePlain decodes an RFC 4616 message: authzid NUL authcid NUL passwd.
func decodePlain(s string) *wire.Credential {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil
	}
	parts := bytes.SplitN(raw, []byte{0}, 3)
	if len(parts) != 3 {
		return nil
	}
	return &wire.Credential{Mechanism: "AUTH PLAIN", Username: string(parts[1]), Password: string(parts[2])}
}

func b64(s string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", false
	}
	return string(raw), true
}

// imapStrings parses up to n IMAP astrings: atoms, quoted strings with
// backslash escapes, and literals whose bytes are in s (RFC 9051 §4.3).
func imapStrings(s string, n int) []string {
	var out []string
	for len(out) < n {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		if s[0] == '"' {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return out // unterminated
			}
			out = append(out, b.String())
			s = s[i+1:]
			continue
		}
		if s[0] == '{' {
			// A literal (RFC 9051 §4.3; {n+} non-synchronizing, RFC 7888):
			// its n octets follow the CRLF after the brace. A reader that
			// sees a whole command with its literals (the lab monitor)
			// passes it here in one piece; a literal not all there ends
			// the parse.
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return out
			}
			n, err := strconv.Atoi(strings.TrimSuffix(s[1:end], "+"))
			rest, ok := strings.CutPrefix(s[end+1:], "\r\n")
			if err != nil || n < 0 || !ok || len(rest) < n {
				return out
			}
			out = append(out, rest[:n])
			s = rest[n:]
			continue
		}
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// afterWords returns s after its first n space-separated words.
func afterWords(s string, n int) string {
	for range n {
		s = strings.TrimLeft(s, " ")
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return ""
		}
		s = s[i:]
	}
	return strings.TrimLeft(s, " ")
}

// Mask hides a secret for display. Renderers show credentials masked unless
// the user asks to reveal them; the mask has a fixed length so it does not
// even tell the password's length.
func Mask(s string) string {
	if s == "" {
		return ""
	}
	return "••••••••"
}
