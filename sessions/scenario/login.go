package scenario

import (
	"slices"
	"strings"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// LoginPolicy is what a server's answer to a login sent before TLS says
// about the server. One home for the reading, used by too-early's
// verdict and by mailwire scan's grade.
type LoginPolicy string

const (
	// LoginAccepted: the login succeeded in cleartext (235, OK, +OK).
	LoginAccepted LoginPolicy = "accepted"
	// LoginChecked: the server checked the credentials and turned them
	// down (SMTP 535, RFC 4954 §6; IMAP NO [AUTHENTICATIONFAILED], RFC
	// 9051 §7.1): it takes logins before TLS, and would have taken a real
	// password, sent in cleartext.
	LoginChecked LoginPolicy = "checked"
	// LoginRefused: the server refused by policy, before it looked at the
	// password: SMTP 530 (RFC 3207 §4) or another 5xx such as Exim's 503
	// "AUTH command used when not advertised", IMAP NO [PRIVACYREQUIRED]
	// or BAD, POP3 -ERR from a server that offers no login before STLS.
	LoginRefused LoginPolicy = "refused"
	// LoginOffered: POP3 answered -ERR, but it offers a login before STLS
	// (USER, SASL), so the -ERR may be the decoy's password checked.
	LoginOffered LoginPolicy = "offered"
	// LoginUnclear: an answer none of the above.
	LoginUnclear LoginPolicy = "unclear"
)

// LoginPolicyOf reads the answer ans (LoginAnswer) to a login sent before
// TLS over proto, given the capabilities the server listed before TLS
// (POP3's CAPA tells whether it offers a login there).
func LoginPolicyOf(proto string, ans *wire.Event, capsBefore []string) LoginPolicy {
	if ans == nil || ans.Line == nil {
		return LoginUnclear
	}
	code := ans.Line.Code
	switch proto {
	case protocol.SMTP:
		switch {
		case code == "235":
			return LoginAccepted
		case code == "535":
			return LoginChecked
		case strings.HasPrefix(code, "5"):
			return LoginRefused
		}
	case protocol.IMAP:
		switch {
		case code == "OK":
			return LoginAccepted
		case ans.Annotation == "imap.code.privacyrequired" || code == "BAD":
			return LoginRefused
		case ans.Annotation == "imap.code.authenticationfailed":
			return LoginChecked
		case code == "NO" && capsBefore != nil && !slices.Contains(capsBefore, "LOGINDISABLED"):
			// LOGIN is allowed where LOGINDISABLED is not advertised
			// (RFC 9051 §6.2.3), and its NO is "user name or password
			// rejected" (GNU Mailutils imap4d answers so, without a
			// response code).
			return LoginChecked
		}
	case protocol.POP3:
		switch {
		case code == "+OK":
			return LoginAccepted
		case offersLogin(capsBefore):
			return LoginOffered
		case code == "-ERR" && capsBefore != nil:
			// A CAPA that lists no login: the -ERR is the policy.
			// Without a CAPA, an -ERR (even [AUTH], RFC 3206 §5) may as
			// well be the password checked: unclear.
			return LoginRefused
		}
	}
	return LoginUnclear
}

// offersLogin says whether a POP3 CAPA lists a way to log in (RFC 2449
// §6): USER, or SASL with at least one mechanism (Dovecot lists a bare
// SASL before STLS when it allows none).
func offersLogin(caps []string) bool {
	return slices.ContainsFunc(caps, func(c string) bool {
		f := strings.Fields(c)
		return len(f) > 0 && (protocol.Keyword(f[0]) == "USER" || protocol.Keyword(f[0]) == "SASL" && len(f) > 1)
	})
}

// capabilitiesBeforeTLS returns the last capability list the server sent
// in cleartext on leg (an EHLO reply, a CAPA, an IMAP CAPABILITY).
func capabilitiesBeforeTLS(evs []wire.Event, leg string) []string {
	var caps []string
	for _, ev := range evs {
		if ev.Leg == leg && ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient &&
			ev.Layer == wire.LayerCleartext && ev.Line != nil && ev.Line.Capabilities != nil {
			caps = ev.Line.Capabilities
		}
	}
	return caps
}
