package tlsprobe

import (
	"crypto/x509"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
)

// PortResult is what a scan of one port found.
type PortResult struct {
	Target Target `json:"target"`
	// Error says why no probe reached the TLS handshake at all (the port
	// is closed, the STARTTLS preamble failed); Versions is then empty.
	Error string `json:"error,omitempty"`
	// Versions holds one result per version probed, oldest first.
	Versions []VersionResult `json:"versions"`
	// Chains are the distinct certificate chains the server presented
	// in the clear under TLS ≤ 1.2, in the order first seen; a
	// Suite.Chain indexes them. Empty when the port speaks only TLS 1.3
	// (its certificate is encrypted, RFC 8446 §2) or only anonymous
	// suites.
	Chains []Chain `json:"chains,omitempty"`
	// ALPN is the ALPN strictness probe's result, when asked for.
	ALPN *ALPNResult `json:"alpn,omitempty"`
	// Probes counts the connections made; Elapsed is the wall time.
	Probes  int           `json:"probes"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// Version returns the result for one version, or nil when it was not
// probed.
func (r *PortResult) Version(v uint16) *VersionResult {
	for i := range r.Versions {
		if r.Versions[i].Version == v {
			return &r.Versions[i]
		}
	}
	return nil
}

// VersionResult is what one version's probes found.
type VersionResult struct {
	Version uint16 `json:"version"`
	Name    string `json:"name"`
	// Supported: the server answered a hello offering only this version
	// with a ServerHello for it.
	Supported bool `json:"supported"`
	// Refusal says how the server turned the version down, when it did.
	Refusal *Refusal `json:"refusal,omitempty"`
	// Suites are the suites the server accepted with this version, its
	// first choice first (Preferred), then in the order found.
	Suites []Suite `json:"suites,omitempty"`
	// Preferred is the suite the server chose when offered every
	// candidate, in the order LegacySuites (or TLS13Suites) gives.
	Preferred uint16 `json:"preferred,omitempty"`
	// Order says whose preference decides the suite.
	Order Order `json:"order,omitempty"`
	// Incomplete: a probe failed midway (a timeout, a reset, a server
	// that chose a suite it was not offered), so Suites may miss some;
	// Errors says what happened.
	Incomplete bool     `json:"incomplete,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

// Has says whether the version accepted a suite.
func (v *VersionResult) Has(id uint16) bool {
	for _, s := range v.Suites {
		if s.ID == id {
			return true
		}
	}
	return false
}

// Order says how a server chooses among the suites a client offers.
type Order string

const (
	// OrderServer: the server chose the same suite from the accepted
	// suites offered in two different orders, so it imposes its own
	// preference. With weak suites enabled that keeps a client from
	// getting them first (RFC 9325 §4.2.1 wants the recommended suites
	// preferred even when proposed later); Mozilla's intermediate
	// profile, whose list holds no weak suite, leaves the choice to the
	// client instead.
	OrderServer Order = "server"
	// OrderClient: the server took the first suite offered both times.
	OrderClient Order = "client"
	// OrderMixed: neither; it follows a rule of its own (it may prefer
	// the client's first suite within a class, say).
	OrderMixed Order = "mixed"
	// OrderUnknown: fewer than two suites, or an order probe failed.
	OrderUnknown Order = ""
)

// Suite is one accepted cipher suite.
type Suite struct {
	SuiteInfo
	// Group is the key exchange group the server chose with it: the
	// ECDHE named curve (RFC 8422 §5.4) or, under TLS 1.3, the key share
	// group (or the group a HelloRetryRequest asked for). DHBits is the
	// DHE prime's size (RFC 5246 §7.4.3; Logjam: under 2048 bits is weak,
	// RFC 9325 §4.1).
	Group     uint16 `json:"group,omitempty"`
	GroupName string `json:"group_name,omitempty"`
	DHBits    int    `json:"dh_bits,omitempty"`
	// Chain indexes PortResult.Chains: the chain the server presented
	// with this suite; -1 when none was seen (TLS 1.3, an anonymous
	// suite, a flight cut short).
	Chain int `json:"chain"`
}

// Chain is a certificate chain seen in a probe's answer, checked.
type Chain struct {
	// Facts is package certs' description and verification of the chain
	// against the scan's roots, for Target.ServerName (or the host).
	Facts *certs.Chain `json:"facts,omitempty"`
	// ParseError says why the chain could not be read as certificates
	// (Facts is then nil).
	ParseError string `json:"parse_error,omitempty"`
	// Certificates are the parsed certificates, leaf first.
	Certificates []*x509.Certificate `json:"-"`
}

// ALPNResult is the outcome of offering only a protocol no server knows.
type ALPNResult struct {
	// Offered is the protocol offered, Version the version it was
	// offered with: TLS 1.2 when the port speaks it, because only there
	// is the server's choice in the clear, in the ServerHello (RFC 7301
	// §3.1); TLS 1.3 carries it in EncryptedExtensions (RFC 8446 §4.3.1).
	Offered string `json:"offered"`
	Version uint16 `json:"version"`
	// Strict: the server answered with a no_application_protocol alert,
	// as RFC 7301 §3.2 requires of a server that supports none of the
	// client's protocols. A server that does so cannot be the end of a
	// cross-protocol connection meant for another service (ALPACA,
	// USENIX Security 2021).
	Strict bool `json:"strict"`
	// WentOn: the server answered with a ServerHello anyway.
	WentOn bool `json:"went_on,omitempty"`
	// Selected is the protocol the server claimed to select when it went
	// on (under TLS 1.2 only): a server that echoes what it is offered.
	Selected string `json:"selected,omitempty"`
	// Refusal is how the server ended the probe otherwise.
	Refusal *Refusal `json:"refusal,omitempty"`
	Error   string   `json:"error,omitempty"`
}
