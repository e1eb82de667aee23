// Package scan answers "is my mail server set up right?": it scans the
// mail ports of a host (mailwire scan HOST) or the MX hosts of a domain
// (mailwire scan --domain DOMAIN) and grades what it finds, each finding
// with its reason and its source.
//
// It orchestrates engines that exist elsewhere and adds no protocol code
// of its own:
//
//   - a normal session of package sessions per port, stopped after TLS
//     (Options.StopAfter = sessions.StageTLS): whether the port is open,
//     the mode it really speaks, the greeting, the capabilities before and
//     after STARTTLS, the TLS session a current client gets and the
//     certificate chain (decrypted from the key log under TLS 1.3);
//   - package tlsprobe: the versions, the suites each accepts, whose order
//     decides, the chains sent in the clear under TLS ≤ 1.2, and ALPN
//     strictness on the implicit-TLS ports;
//   - two scenarios of package scenario, against the port as a target: the
//     login before TLS (too-early, with a decoy credential made up per run,
//     never a real one) and the STARTTLS command injection
//     (command-injection, the CVE-2011-0411 class);
//   - for a domain, package maildomain (MX, MTA-STS, TLS-RPT, DNSSEC, DANE
//     lookups) and its Match of each MX host's TLSA records against the
//     chain the host presented after STARTTLS.
//
// Grading lives in one place, the rule table of rules.go: each rule's key
// is an annotation key whose words and RFC references are in package
// content (content/annotations/scan.md), and each rule grades a transfer
// port (25, opportunistic TLS, RFC 7435) apart from the submission and
// access ports (RFC 8314).
//
// Every port is scanned at once, within one bound on the connections open
// to the host (Options.PerHost). The package is pure engine: no user
// interface, no Charm module; every string in a report that came from a
// server is sanitized where it enters the report.
package scan
