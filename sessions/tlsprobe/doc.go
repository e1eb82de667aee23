// Package tlsprobe finds out which TLS versions and cipher suites a server
// accepts, whether it imposes its own order, and whether it is strict about
// ALPN, by sending hand-built ClientHellos on raw connections and reading
// only the server's first answer: a ServerHello (the version and suite it
// chose), an alert, or a close. It never completes a handshake, so it can
// offer what Go's crypto/tls never would: SSL 3.0, anonymous (aNULL),
// export, NULL, RC4, 3DES, DES, CBC-SHA1 and static or ephemeral
// finite-field Diffie-Hellman suites, the whole IANA registry at once.
//
// Suites are enumerated by a decision strategy (Scanner.Scan): per
// version, offer every candidate, note the suite the server chose, remove
// it and offer the rest, until the server refuses; the candidates are
// split into disjoint parts that run in parallel. That costs one probe per
// accepted suite plus one per part, instead of one per candidate.
//
// Under TLS 1.2 and earlier the server's Certificate message travels in
// the clear (RFC 5246 §7.4.2), so the chains seen in the probes' answers
// are kept and checked with package certs.
//
// Explicit-TLS ports are reached through their protocol's preamble
// (SMTP EHLO and STARTTLS, RFC 3207; IMAP STARTTLS, RFC 9051 §6.2.1; POP3
// STLS, RFC 2595 §4), a new TCP connection per probe. Every read is bounded
// in bytes and time.
//
// The package is pure engine: no user interface, no Charm module. Every
// string in a result that came from a server (a reply quoted in an error,
// certificate names) is peer-controlled and must be sanitized before it
// reaches a terminal.
package tlsprobe
