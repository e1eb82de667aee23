package protocol

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
