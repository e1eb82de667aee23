package tlsprobe

import (
	"cmp"
	"slices"
	"sync"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// The cipher suites a probe offers: every suite of the engine's registry
// (tlsmsg.Suites: the IANA "TLS Cipher Suites" registry, RFC 8447 §8,
// with the TLS 1.3 suites of RFC 8446 §B.4 and the 1024-bit export suites
// servers of OpenSSL 0.9.8's age still answer to).
//
// Never offered, and not in the registry table: TLS_NULL_WITH_NULL_NULL
// (0x0000, "MUST NOT be negotiated", RFC 5246 §A.5), the signalling values
// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (0x00ff, sent as the
// renegotiation_info extension instead, RFC 5746 §3.4) and
// TLS_FALLBACK_SCSV (0x5600: offered with an old version it makes an
// up-to-date server refuse with inappropriate_fallback, RFC 7507 §3, which
// would hide what the server really accepts), and GREASE (RFC 8701).

// SuiteInfo is what a cipher suite is made of: the registry's entry.
type SuiteInfo = tlsmsg.SuiteInfo

// offerOrder holds every TLS ≤ 1.2 suite in offering order (legacy) and
// the TLS 1.3 suites in RFC 8446 §B.4 order (modern), worked out on first
// use rather than at every command's start.
var offerOrder = sync.OnceValues(func() (legacy, modern []uint16) {
	for _, s := range tlsmsg.Suites() {
		if s.TLS13 {
			modern = append(modern, s.ID)
		} else {
			legacy = append(legacy, s.ID)
		}
	}
	// Offer the suites a modern server prefers first: the probe that
	// offers everything then shows the server's real choice even when it
	// follows the client's order.
	slices.SortStableFunc(legacy, func(a, b uint16) int {
		x, _ := tlsmsg.Suite(a)
		y, _ := tlsmsg.Suite(b)
		return cmp.Compare(offerRank(x), offerRank(y))
	})
	return legacy, modern
})

// offerRank orders the suites a probe offers: forward-secret AEAD first,
// then forward-secret CBC, static-key suites, and last what nobody should
// accept.
func offerRank(s SuiteInfo) int {
	weak := s.Anonymous() || s.Export || s.Null() || s.RC4() || s.SingleDES() || s.TripleDES()
	usual := s.Auth == "RSA" || s.Auth == "ECDSA" || s.Auth == "DSS"
	r := 0
	switch {
	case weak || !usual:
		r = 50
	case s.ForwardSecret() && s.AEAD():
		r = 0
	case s.ForwardSecret() && s.MAC != "SHA":
		r = 10
	case s.ForwardSecret():
		r = 20
	case s.AEAD():
		r = 30
	default:
		r = 40
	}
	if s.KeyExchange == "ECDHE" {
		return r
	}
	return r + 1
}

// Info returns what a suite is made of; false for a value outside the
// registry (tlsmsg.Suite).
func Info(id uint16) (SuiteInfo, bool) { return tlsmsg.Suite(id) }

// LegacySuites returns every TLS ≤ 1.2 suite a probe offers, in the order
// it offers them.
func LegacySuites() []uint16 {
	legacy, _ := offerOrder()
	return slices.Clone(legacy)
}

// TLS13Suites returns the five TLS 1.3 suites of RFC 8446 §B.4.
func TLS13Suites() []uint16 {
	_, modern := offerOrder()
	return slices.Clone(modern)
}
