package scan

import (
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/maildomain"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
)

// Report is what a scan of one host found. Its json tags are the schema
// of `mailwire scan --format json` (README, "mailwire scan").
type Report struct {
	// Host is the host scanned; ServerName the name sent as SNI and
	// checked against the certificates.
	Host       string `json:"host"`
	ServerName string `json:"server_name"`
	// Started is when the scan began; Elapsed how long it took.
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Ports holds one report per port scanned, in the order asked.
	Ports []*PortReport `json:"ports"`
	// Certificates groups the ports by the leaf certificate they
	// presented.
	Certificates []CertGroup `json:"certificates,omitempty"`
	// Findings are every graded finding, per port in port order, then
	// the host's own.
	Findings []Finding `json:"findings"`
	// Worst is the worst grade among the findings.
	Worst Grade `json:"worst"`
}

// PortReport is what one port showed.
type PortReport struct {
	// Port is the canonical port (25, 587, …) whose rules apply; Addr the
	// address dialed.
	Port int    `json:"port"`
	Addr string `json:"addr"`
	// Proto is the protocol spoken (smtp, pop3, imap, https); Role the
	// port's purpose (transfer, submission, retrieval, web); Expected the
	// TLS mode the port provides for (starttls or implicit).
	Proto    string `json:"proto"`
	Role     string `json:"role"`
	Expected string `json:"expected_mode"`
	// State: open (a TCP connection was accepted), closed (refused), or
	// unreachable (no answer before the time limit).
	State string `json:"state"`
	// Mode is what the port really spoke: "starttls" (a cleartext
	// greeting), "implicit" (a TLS answer to a ClientHello), or, for a
	// port that spoke neither, "other". Empty when it was not open.
	Mode string `json:"mode,omitempty"`
	// Greeting is the server's first line, sanitized.
	Greeting string `json:"greeting,omitempty"`
	// StartTLS says whether the capabilities before TLS offered STARTTLS
	// (STLS); nil on an implicit-TLS port.
	StartTLS *bool `json:"starttls_offered,omitempty"`
	// Capabilities before and after STARTTLS (on an implicit-TLS port,
	// only after), and how they changed; sanitized.
	CapsBefore []string `json:"capabilities_before_tls,omitempty"`
	CapsAfter  []string `json:"capabilities_after_tls,omitempty"`
	CapsAdded  []string `json:"capabilities_added,omitempty"`
	CapsGone   []string `json:"capabilities_removed,omitempty"`
	// Login is the login probe before TLS (587, 110, 143).
	Login *LoginProbe `json:"login_before_tls,omitempty"`
	// Negotiated is the TLS session a current client (Go's crypto/tls,
	// TLS 1.2 and 1.3) got.
	Negotiated *Negotiated `json:"negotiated,omitempty"`
	// Chain is the certificate chain that session saw (under TLS 1.3
	// too, decrypted with the session's own key log), checked for
	// ServerName.
	Chain *certs.Chain `json:"chain,omitempty"`
	// TLS is package tlsprobe's result: versions, suites, server order,
	// the chains sent in the clear, ALPN.
	TLS *tlsprobe.PortResult `json:"tls,omitempty"`
	// Injection is the STARTTLS command injection probe (25, 587, 110,
	// 143).
	Injection *Injection `json:"injection,omitempty"`
	// Errors say what could not be tested, and why; sanitized.
	Errors  []string      `json:"errors,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`

	// chainDER is the presented chain as DER, leaf first, for DANE.
	chainDER [][]byte
	// tlsFirst: the server sent TLS records where a cleartext greeting
	// belongs (rather than waiting in silence).
	tlsFirst bool
}

// LoginProbe is a login attempted before TLS with a decoy credential.
type LoginProbe struct {
	// Tested: the decoy login was sent before TLS.
	Tested bool `json:"tested"`
	// User is the decoy's user name (mailwire-decoy-…); its password was
	// random and is not kept.
	User string `json:"user,omitempty"`
	// Answer is the server's answer (its first line, sanitized) and Code
	// its status: 530, 535, NO, -ERR, ….
	Answer string `json:"answer,omitempty"`
	Code   string `json:"code,omitempty"`
	// Verdict is the rule key the answer is graded by.
	Verdict string `json:"verdict"`
}

// Negotiated is what a current client's handshake settled.
type Negotiated struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipher_suite"`
	ALPN        string `json:"alpn,omitempty"`
}

// Injection is the STARTTLS command injection probe's outcome
// (scenario command-injection).
type Injection struct {
	Outcome string `json:"outcome"`
	Safe    bool   `json:"safe"`
	Text    string `json:"text"`
}

// CertGroup is one leaf certificate and the ports that presented it.
type CertGroup struct {
	SHA256  string `json:"sha256"`
	Subject string `json:"subject"`
	Ports   []int  `json:"ports"`
}

// Finding is one graded fact.
type Finding struct {
	// Port is the canonical port it is about; 0 for the host or domain
	// as a whole. Host names the MX host of a domain scan, or the name
	// a DNS finding is about.
	Port int    `json:"port,omitempty"`
	Host string `json:"host,omitempty"`
	// Key is the rule (rules.go) and the annotation key of its words in
	// package content; Title their one-line title.
	Key   string `json:"key"`
	Title string `json:"title"`
	Grade Grade  `json:"grade"`
	// Detail says it in one line, with the facts it rests on
	// (sanitized).
	Detail string `json:"detail"`
	// Source names the RFC sections (and profile) the grade rests on.
	Source string `json:"source"`
	// Show names the session that shows the finding on the wire: the
	// port, the scenario when it takes one (too-early,
	// command-injection), and what TLS it is held to when the finding
	// came from a TLS probe. Nil when no session can show it (a suite
	// crypto/tls does not implement, a server's order, a summary of many
	// probes).
	Show *Show `json:"show,omitempty"`
	// Probes counts the TLS probes of the port when the finding rests on
	// them and no session shows it (Show is nil).
	Probes int `json:"probes,omitempty"`
}

// Show is a session to open for a finding.
type Show struct {
	Port     int    `json:"port"`
	Addr     string `json:"addr"`
	Scenario string `json:"scenario,omitempty"`
	// TLS holds the session to what the probe that found it offered,
	// so that its handshake is the one the finding is about.
	TLS *ShowTLS `json:"tls,omitempty"`
}

// ShowTLS is what a finding's session offers: one TLS version (its
// minimum and maximum), under TLS ≤ 1.2 only the suites the finding
// names that crypto/tls implements (sessions.ImplementedSuite), or only
// the ALPN protocol the ALPN probe offered.
type ShowTLS struct {
	Version      uint16   `json:"version"`
	CipherSuites []uint16 `json:"cipher_suites,omitempty"`
	ALPN         []string `json:"alpn,omitempty"`
}

// worst returns the worst grade of fs.
func worst(fs []Finding) Grade {
	g := OK
	for _, f := range fs {
		switch f.Grade {
		case Bad:
			return Bad
		case Warn:
			g = Warn
		}
	}
	return g
}

// DomainReport is what a scan of a mail domain found: its DNS and policy
// checks, and each MX host's port 25.
type DomainReport struct {
	Domain  string        `json:"domain"`
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// DNS is package maildomain's report: MX, MTA-STS, TLS-RPT, TLSA,
	// DNSSEC.
	DNS *maildomain.Report `json:"dns"`
	// MX holds the scan of each MX host's port 25, in MX order.
	MX []*MXReport `json:"mx"`
	// Findings: the DNS checks', then each MX host's.
	Findings []Finding `json:"findings"`
	Worst    Grade     `json:"worst"`
}

// MXReport is one MX host's port 25.
type MXReport struct {
	Host string      `json:"host"`
	Addr string      `json:"addr,omitempty"`
	Port *PortReport `json:"port25,omitempty"`
	// DANE is the host's TLSA records matched against the chain it
	// presented after STARTTLS.
	DANE []maildomain.RecordMatch `json:"dane,omitempty"`
}
