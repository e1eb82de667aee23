package lab

// policy is what an endpoint's server enforces, as data: a later scenario (a
// port that accepts AUTH in cleartext, a deliberately vulnerable mode) is a
// new policy value, not a new server.
type policy struct {
	// AuthOffered: the server has authentication at all (SMTP AUTH, RFC
	// 4954; IMAP LOGIN/AUTHENTICATE; POP3 USER/PASS/AUTH). Port 25 has none.
	AuthOffered bool
	// AuthBeforeTLS: credentials are accepted in cleartext. False
	// everywhere in the normal lab: servers must be able to refuse a
	// cleartext password until TLS is active and sites should (RFC 4954 §4
	// for SMTP, RFC 9051 §6.2.3 for IMAP, RFC 2595 §2.3 for POP3), and a
	// client that requires TLS sends none (RFC 8314 §5.2). When false, the
	// server advertises no AUTH before TLS, IMAP advertises LOGINDISABLED
	// (RFC 3501 §6.2.3).
	AuthBeforeTLS bool
	// RequireTLS: SMTP MAIL (and AUTH) before STARTTLS are refused with
	// 530 5.7.0, as Postfix does with smtpd_tls_security_level=encrypt on
	// submission (RFC 3207 §4).
	RequireTLS bool
	// RequireAuth: SMTP recipients are refused until a successful AUTH
	// (RFC 6409 §4.3: submission servers authenticate their users). Like
	// Postfix, the refusal comes at RCPT, not MAIL.
	RequireAuth bool
	// NoRelay: the endpoint never relays, even with Options.Relay set and
	// an authenticated client. Every on-demand mode endpoint (modes.go)
	// has it, so a deliberately careless endpoint cannot become a way out
	// of the lab.
	NoRelay bool
	// KeepPipelinedAfterTLS: the CVE-2011-0411 class bug, on purpose.
	// Commands the client sent in cleartext after STARTTLS/STLS, already
	// in the server's input buffer, are read as if they had arrived inside
	// TLS (ModeInjectionVulnerable only; RFC 3207 §4.2, RFC 2595 §4).
	KeepPipelinedAfterTLS bool
	// InjectAfterStartTLS, when set, is written right after the positive
	// STARTTLS/STLS reply, in the same write and before TLS starts: the
	// response injection of ModeResponseInjection.
	InjectAfterStartTLS string
}

var (
	// transferPolicy: port 25, MTA to MTA. STARTTLS is offered but
	// optional (opportunistic TLS, RFC 3207 §4 and RFC 7435), and there is
	// no AUTH: anyone may deliver, but only to local recipients.
	transferPolicy = policy{}
	// submissionPolicy: port 587 (RFC 6409), STARTTLS required before
	// anything that matters, then AUTH required to send.
	submissionPolicy = policy{AuthOffered: true, RequireTLS: true, RequireAuth: true}
	// submissionsPolicy: port 465, implicit TLS (RFC 8314 §3.3); the
	// connection is TLS from the first byte, so RequireTLS always holds.
	submissionsPolicy = policy{AuthOffered: true, RequireTLS: true, RequireAuth: true}
	// retrievalPolicy: POP3 and IMAP; log in only over TLS.
	retrievalPolicy = policy{AuthOffered: true}
	// webPolicy: HTTPS has no mail policy.
	webPolicy = policy{}
)
