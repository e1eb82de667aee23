package protocol

import (
	"bytes"
	"strings"
)

// Busy says whether line, the first line a server sent on a new
// connection, is its way of saying "not now, come back later" instead of
// a greeting:
//
//   - SMTP 421, service not available, closing the channel (RFC 5321
//     §3.8, §4.2.3). Exim sends it past smtp_accept_max ("421 Too many
//     concurrent SMTP connections; please try again later"), Postfix
//     past its connection count and rate limits. On an implicit-TLS port
//     (465) Exim sends it in cleartext, before any TLS.
//   - POP3 -ERR [SYS/TEMP], a temporary system error (RFC 3206 §4).
//   - IMAP * BYE [UNAVAILABLE], a temporary failure (RFC 9051 §7.1).
//
// A scanner that opens many connections at once meets it from servers
// that cap concurrent connections: it is a statement about the load,
// not the server's answer to what the connection was for, so the
// connection is worth trying again later rather than reporting.
func Busy(line []byte) bool {
	first, _, _ := bytes.Cut(line, []byte("\n"))
	s := strings.TrimSuffix(string(first), "\r")
	if strings.HasPrefix(s, "421") && (len(s) == 3 || s[3] == ' ' || s[3] == '-') {
		return true
	}
	if st, rest, ok := strings.Cut(s, " "); ok && strings.EqualFold(st, "-ERR") {
		code, _ := pop3RespCode(rest)
		return code == "SYS/TEMP"
	}
	// RFC 9051 §7.1.5: BYE may come as the greeting; its response code
	// follows the status (§7.1).
	f := strings.SplitN(s, " ", 3)
	if len(f) == 3 && f[0] == "*" && strings.EqualFold(f[1], "BYE") {
		code, _, _ := imapRespCode(f[2])
		return strings.EqualFold(code, "UNAVAILABLE")
	}
	return false
}
