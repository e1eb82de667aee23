package maildomain

import "github.com/mailwire/mailwire/sessions/resolver"

// Annotation keys of the findings; package content has the words
// (content/annotations/dns.md).
const (
	KeyMXOK           = "mx.ok"
	KeyMXNull         = "mx.null"
	KeyMXNullMixed    = "mx.null_mixed"
	KeyMXImplicit     = "mx.implicit"
	KeyMXNone         = "mx.none"
	KeyMXNXDomain     = "mx.nxdomain"
	KeyMXLookupFailed = "mx.lookup_failed"
	KeyMXNoAddress    = "mx.no_address"
	KeyMXCNAME        = "mx.cname"

	KeySTSNone            = "mtasts.none"
	KeySTSRecordOK        = "mtasts.txt.ok"
	KeySTSRecordMultiple  = "mtasts.txt.multiple"
	KeySTSRecordInvalid   = "mtasts.txt.invalid"
	KeySTSPolicyOK        = "mtasts.policy.ok"
	KeySTSFetchFailed     = "mtasts.policy.fetch_failed"
	KeySTSCertificate     = "mtasts.policy.certificate"
	KeySTSTLSVersion      = "mtasts.policy.tls_version"
	KeySTSStatus          = "mtasts.policy.status"
	KeySTSRedirect        = "mtasts.policy.redirect"
	KeySTSContentType     = "mtasts.policy.content_type"
	KeySTSTooLarge        = "mtasts.policy.too_large"
	KeySTSSyntax          = "mtasts.policy.syntax"
	KeySTSMaxAgeShort     = "mtasts.policy.max_age_short"
	KeySTSModeEnforce     = "mtasts.mode.enforce"
	KeySTSModeTesting     = "mtasts.mode.testing"
	KeySTSModeNone        = "mtasts.mode.none"
	KeySTSMXMatched       = "mtasts.mx.matched"
	KeySTSMXUnmatched     = "mtasts.mx.unmatched"
	KeyTLSRPTOK           = "tlsrpt.ok"
	KeyTLSRPTNone         = "tlsrpt.none"
	KeyTLSRPTMultiple     = "tlsrpt.multiple"
	KeyTLSRPTInvalid      = "tlsrpt.invalid"
	KeyTLSRPTLookupFailed = "tlsrpt.lookup_failed"
	KeySTSLookupFailed    = "mtasts.txt.lookup_failed"

	KeyDANEPresent      = "dane.tlsa.present"
	KeyDANENone         = "dane.tlsa.none"
	KeyDANELookupFailed = "dane.tlsa.lookup_failed"
	KeyDANEBogus        = "dane.tlsa.bogus"
	KeyDANEInsecure     = "dane.tlsa.insecure"
	KeyDANEPKIXUsage    = "dane.tlsa.pkix_usage"
	KeyDANEUnusable     = "dane.tlsa.unusable"
	KeyDANEMatch        = "dane.tlsa.match"
	KeyDANEUnmatched    = "dane.tlsa.unmatched"
	KeyDANEMXInsecure   = "dane.mx_insecure"

	KeyValidation            = "dnssec.validation"
	KeySTARTTLSPolicyRetired = "starttls_policy.retired"
)

// Keys lists every annotation key a finding of this package can carry,
// the DNSSEC statuses and reasons of package resolver included.
func Keys() []string {
	ks := []string{
		KeyMXOK, KeyMXNull, KeyMXNullMixed, KeyMXImplicit, KeyMXNone, KeyMXNXDomain, KeyMXLookupFailed,
		KeyMXNoAddress, KeyMXCNAME,
		KeySTSNone, KeySTSRecordOK, KeySTSRecordMultiple, KeySTSRecordInvalid, KeySTSLookupFailed,
		KeySTSPolicyOK, KeySTSFetchFailed, KeySTSCertificate, KeySTSTLSVersion, KeySTSStatus, KeySTSRedirect,
		KeySTSContentType, KeySTSTooLarge, KeySTSSyntax, KeySTSMaxAgeShort, KeySTSModeEnforce,
		KeySTSModeTesting, KeySTSModeNone, KeySTSMXMatched, KeySTSMXUnmatched,
		KeyTLSRPTOK, KeyTLSRPTNone, KeyTLSRPTMultiple, KeyTLSRPTInvalid, KeyTLSRPTLookupFailed,
		KeyDANEPresent, KeyDANENone, KeyDANELookupFailed, KeyDANEBogus, KeyDANEInsecure, KeyDANEPKIXUsage,
		KeyDANEUnusable, KeyDANEMatch, KeyDANEUnmatched, KeyDANEMXInsecure,
		KeyValidation, KeySTARTTLSPolicyRetired,
		resolver.Key(resolver.Secure, ""),
	}
	for _, why := range []resolver.Reason{resolver.NoDS, resolver.OptOut, resolver.UnsupportedAlgorithm,
		resolver.NSEC3Iterations} {
		ks = append(ks, resolver.Key(resolver.Insecure, why))
	}
	for _, why := range []resolver.Reason{resolver.NoSignature, resolver.BadSignature, resolver.SignatureExpired,
		resolver.SignatureNotYetValid, resolver.NoKey, resolver.WrongZone, resolver.DSMismatch,
		resolver.AnchorMismatch, resolver.BadDenial} {
		ks = append(ks, resolver.Key(resolver.Bogus, why))
	}
	return ks
}
