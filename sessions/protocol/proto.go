package protocol

import "strings"

// StartTLSVerb is the protocol's upgrade command: STLS in POP3 (RFC 2595
// §4), STARTTLS elsewhere.
func StartTLSVerb(proto string) string {
	if proto == POP3 {
		return "STLS"
	}
	return "STARTTLS"
}

// Protocol names, as used in Options.Proto and Line.Proto.
const (
	SMTP  = "smtp"
	POP3  = "pop3"
	IMAP  = "imap"
	HTTPS = "https"
	HTTP  = "http" // Line.Proto of lines inside an HTTPS session
)

// AuthMechanism names the SASL mechanism a driver uses.
const (
	AuthPlain = "PLAIN" // RFC 4616
	AuthLogin = "LOGIN" // draft-murchison-sasl-login, widely deployed
)

// Default bounds of what a session reads. RFC 5321 §4.5.3.1.5 limits an
// SMTP reply line to 512 octets; real servers and IMAP lines run longer, so
// the default leaves room while still bounding memory.
const (
	DefaultMaxLineLength = 4096
	DefaultMaxReplyLines = 100
)

// ClientCommand names the command of a client line and its annotation:
// the first word (IMAP: the word after the tag), when it looks like a
// command verb; "" for continuation data (SASL responses, message text).
// The attacker's relay (mitm) and the lab monitor read client lines with it.
func ClientCommand(proto string, line []byte) (verb, ann string) {
	f := strings.Fields(string(line))
	if proto == IMAP {
		if len(f) < 2 {
			return "", ""
		}
		f = f[1:]
	}
	if len(f) == 0 || len(f[0]) > 12 {
		return "", ""
	}
	for _, r := range f[0] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return "", ""
		}
	}
	verb = strings.ToUpper(f[0])
	return verb, proto + ".cmd." + strings.ToLower(verb)
}
