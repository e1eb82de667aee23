package scan

import (
	"slices"
	"strings"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/maildomain"
)

// Grade is how a finding is judged: maildomain's grades, one set for the
// whole scan.
type Grade = maildomain.Grade

// The grades.
const (
	OK   = maildomain.OK
	Warn = maildomain.Warn
	Bad  = maildomain.Bad
)

// Rule grades one kind of finding. Its Key is the annotation key whose
// entry in package content (content/annotations/scan.md) says what the
// finding means, what to change, and the RFC sections it rests on; the
// rule adds the grade, which depends on the port's role:
//
//   - Transfer is port 25, where MTAs deliver to each other with
//     opportunistic TLS (RFC 7435, RFC 3207): a sender that finds nothing
//     better goes on in cleartext, so a weak TLS is still better than none
//     (RFC 9325 §5.2) and, without DANE or MTA-STS, senders authenticate
//     nobody (anonymous suites are acceptable there, RFC 5246 §A.5);
//   - Client is every other port: submission (587, 465) and mailbox access
//     (110, 995, 143, 993), where clients must get TLS 1.2 or later
//     (RFC 8314 §4.1 as RFC 8997 §3 updated it) with a certificate they
//     verify (RFC 8314 §5.3), and BCP 195 (RFC 9325) applies in full; and
//     443, shown for comparison, graded the same way.
//
// Mozilla marks the rules that also follow Mozilla's intermediate
// configuration (MozillaProfile), a web profile whose suite list mail
// servers can adopt as is.
type Rule struct {
	Key              string
	Transfer, Client Grade
	Mozilla          bool
}

// MozillaProfile names the version of Mozilla's "Security/Server Side TLS"
// guidelines whose intermediate configuration the suite rules follow
// (https://ssl-config.mozilla.org/guidelines/5.7.json).
const MozillaProfile = "Mozilla intermediate v5.7"

// mozillaIntermediate is the intermediate configuration's suite list in
// v5.7: nine TLS 1.2 suites (its "iana" list) and three TLS 1.3 suites
// ("ciphersuites"), with TLS 1.2 and 1.3 only, DH parameters of 2048 bits
// and no server preference ("server_preferred_order": false).
var mozillaIntermediate = []uint16{
	0xc02b, // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	0xc02f, // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	0xc02c, // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	0xc030, // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	0xcca9, // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	0xcca8, // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	0x009f, // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
	0x009e, // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
	0xccaa, // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	0x1301, // TLS_AES_128_GCM_SHA256
	0x1302, // TLS_AES_256_GCM_SHA384
	0x1303, // TLS_CHACHA20_POLY1305_SHA256
}

// InMozillaIntermediate says whether a suite is in the intermediate list.
func InMozillaIntermediate(id uint16) bool { return slices.Contains(mozillaIntermediate, id) }

// Rule keys: the annotation keys of the findings.
const (
	KeyPortOpen        = "scan.port.open"
	KeyPortClosed      = "scan.port.closed"
	KeyPortUnreachable = "scan.port.unreachable"

	KeyModeExpected           = "scan.mode.expected"
	KeyModeCleartextOnImplict = "scan.mode.cleartext_on_implicit"
	KeyModeTLSOnStartTLS      = "scan.mode.tls_on_starttls"
	KeyModeOther              = "scan.mode.other"
	KeyImplicitMissing        = "scan.implicit.missing"

	KeyStartTLSOffered  = "scan.starttls.offered"
	KeyStartTLSMissing  = "scan.starttls.missing"
	KeyStartTLSFailed   = "scan.starttls.failed"
	KeyStartTLSUntested = "scan.starttls.untested"
	KeyCapabilities     = "scan.capabilities"

	KeyLoginRefused  = "scan.login.refused_before_tls"
	KeyLoginChecked  = "scan.login.checked_before_tls"
	KeyLoginAccepted = "scan.login.accepted_before_tls"
	KeyLoginOffered  = "scan.login.offered_before_tls"
	KeyLoginUnclear  = "scan.login.unclear"
	KeyLoginUntested = "scan.login.untested"
	KeyLoginDisabled = "scan.imap.logindisabled"
	KeyNoLoginDis    = "scan.imap.no_logindisabled"

	KeyVersionsOK     = "scan.version.ok"
	KeyVersionSSL3    = "scan.version.ssl3"
	KeyVersionOld     = "scan.version.tls10_11"
	KeyVersionNo12    = "scan.version.no_tls12"
	KeyVersionNo13    = "scan.version.no_tls13"
	KeyVersionNone    = "scan.version.none"
	KeyVersionUnknown = "scan.version.unknown"
	KeyIncomplete     = "scan.suites.incomplete"

	KeySuitesOK       = "scan.suites.ok"
	KeySuiteNull      = "scan.suite.null"
	KeySuiteAnonymous = "scan.suite.anonymous"
	KeySuiteExport    = "scan.suite.export"
	KeySuiteRC4       = "scan.suite.rc4"
	KeySuite3DES      = "scan.suite.3des"
	KeySuiteStatic    = "scan.suite.no_forward_secrecy"
	KeySuiteOutside   = "scan.suite.outside_profile"
	// KeyToleratedOn25 is no rule: its title ends the detail of a finding
	// graded ok on port 25 that is graded worse on the other ports.
	KeyToleratedOn25   = "scan.tolerated_on_25"
	KeyDHWeak          = "scan.dh.weak"
	KeyOrderServer     = "scan.order.server"
	KeyOrderClient     = "scan.order.client"
	KeyOrderClientWeak = "scan.order.client_weak"

	KeyCertOK      = "scan.cert.ok"
	KeyCertInvalid = "scan.cert.invalid"
	KeyCertWeak    = "scan.cert.weak"
	KeyCertNone    = "scan.cert.none"
	KeyCertPorts   = "scan.cert.ports"

	KeyInjectionSafe     = "scan.injection.safe"
	KeyInjectionAnswered = "scan.injection.answered"
	KeyInjectionUntested = "scan.injection.untested"

	KeyALPNStrict  = "scan.alpn.strict"
	KeyALPNLenient = "scan.alpn.lenient"
	KeyALPNUnknown = "scan.alpn.unknown"

	KeyMXCertOK      = "scan.mx.certificate_ok"
	KeyMXCertInvalid = "scan.mx.certificate_invalid"
	KeyMXNoTLS       = "scan.mx.no_tls"
	KeyMXUnscanned   = "scan.mx.unscanned"
)

// Rules is the rule table: every finding the scan makes is graded here,
// and nowhere else.
var Rules = []Rule{
	{KeyPortOpen, OK, OK, false},
	{KeyPortClosed, OK, OK, false},
	{KeyPortUnreachable, Warn, Warn, false},

	{KeyModeExpected, OK, OK, false},
	// An implicit-TLS port that greets in cleartext gives clients that
	// follow RFC 8314 §3 no TLS at all.
	{KeyModeCleartextOnImplict, Bad, Bad, false},
	{KeyModeTLSOnStartTLS, Warn, Warn, false},
	{KeyModeOther, Warn, Warn, false},
	// RFC 8314 §3: implicit TLS is preferred for submission and access.
	{KeyImplicitMissing, OK, Warn, false},

	{KeyStartTLSOffered, OK, OK, false},
	// No STARTTLS: everything crosses in cleartext, on 25 too (a sender
	// has nothing to be opportunistic with; sessions.Findings agrees).
	{KeyStartTLSMissing, Bad, Bad, false},
	{KeyStartTLSFailed, Bad, Bad, false},
	{KeyStartTLSUntested, Warn, Warn, false},
	{KeyCapabilities, OK, OK, false},

	{KeyLoginRefused, OK, OK, false},
	{KeyLoginChecked, Bad, Bad, false},
	{KeyLoginAccepted, Bad, Bad, false},
	{KeyLoginOffered, Warn, Warn, false},
	{KeyLoginUnclear, Warn, Warn, false},
	{KeyLoginUntested, Warn, Warn, false},
	{KeyLoginDisabled, OK, OK, false},
	{KeyNoLoginDis, Warn, Warn, false},

	{KeyVersionsOK, OK, OK, true},
	// RFC 9325 §3.1.1 and RFC 8997 §3 forbid the old versions; on 25
	// RFC 9325 §5.2 prefers them to cleartext.
	{KeyVersionSSL3, Warn, Bad, true},
	{KeyVersionOld, OK, Bad, true},
	{KeyVersionNo12, Warn, Warn, true},
	{KeyVersionNo13, Warn, Warn, false},
	{KeyVersionNone, Bad, Bad, false},
	{KeyVersionUnknown, Warn, Warn, false},
	{KeyIncomplete, Warn, Warn, false},

	{KeySuitesOK, OK, OK, true},
	{KeySuiteNull, Bad, Bad, true},
	// RFC 5246 §A.5: anonymous suites only where the application asks for
	// unauthenticated encryption, which opportunistic SMTP does.
	{KeySuiteAnonymous, OK, Bad, true},
	{KeySuiteExport, Warn, Bad, true},
	{KeySuiteRC4, Warn, Bad, true},
	{KeySuite3DES, OK, Warn, true},
	{KeySuiteStatic, OK, Warn, true},
	{KeySuiteOutside, OK, Warn, true},
	{KeyDHWeak, Warn, Bad, true},
	{KeyOrderServer, OK, OK, false},
	{KeyOrderClient, OK, OK, true},
	{KeyOrderClientWeak, OK, Warn, false},

	{KeyCertOK, OK, OK, false},
	// Opportunistic senders deliver whatever the certificate (RFC 7435);
	// MTA-STS and DANE senders do not, which --domain grades per MX.
	{KeyCertInvalid, Warn, Bad, false},
	{KeyCertWeak, Warn, Warn, false},
	{KeyCertNone, OK, OK, false},
	{KeyCertPorts, OK, OK, false},

	{KeyInjectionSafe, OK, OK, false},
	{KeyInjectionAnswered, Bad, Bad, false},
	{KeyInjectionUntested, Warn, Warn, false},

	{KeyALPNStrict, OK, OK, false},
	{KeyALPNLenient, Warn, Warn, false},
	{KeyALPNUnknown, Warn, Warn, false},

	{KeyMXCertOK, OK, OK, false},
	// Graded by the policy's mode when it applies (finding), Bad here.
	{KeyMXCertInvalid, Bad, Bad, false},
	{KeyMXNoTLS, Bad, Bad, false},
	{KeyMXUnscanned, Warn, Warn, false},
}

// RuleFor returns the rule of key; false for a key the table lacks.
func RuleFor(key string) (Rule, bool) {
	i := slices.IndexFunc(Rules, func(r Rule) bool { return r.Key == key })
	if i < 0 {
		return Rule{}, false
	}
	return Rules[i], true
}

// Grade returns the rule's grade on a canonical port.
func (r Rule) Grade(port int) Grade {
	if port == 25 {
		return r.Transfer
	}
	return r.Client
}

// Source names where a finding's rule comes from: the RFC references of
// its words in package content, and Mozilla's profile when the rule
// follows it too.
func Source(key string) string {
	var parts []string
	if a, ok := content.Lookup(key); ok && a.Key == key {
		parts = append(parts, content.JoinRefs(a.Refs))
	}
	if r, ok := RuleFor(key); ok && r.Mozilla {
		parts = append(parts, MozillaProfile)
	}
	return strings.Join(parts, "; ")
}

// Title is the one-line title of a finding's words in package content.
func Title(key string) string {
	if a, ok := content.Lookup(key); ok {
		return a.Title
	}
	return key
}
