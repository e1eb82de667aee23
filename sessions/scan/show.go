package scan

import (
	"slices"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
)

// A finding of the TLS probes is shown by a session that offers what the
// probe offered: "accepts TLS 1.0" by a session held to TLS 1.0, a weak
// suite by a TLS 1.2 session offering only the weak suites the probe saw
// accepted, so that the ServerHello on the screen is the one the finding
// is about. A plain session would negotiate TLS 1.3 and show nothing of
// it. What a session cannot reproduce gets no link: suites crypto/tls does
// not implement (anonymous, export, NULL, DHE, CAMELLIA), SSL 3.0, the
// server's order (two probes with the suites in different orders, and
// crypto/tls keeps its own order), and summaries of many probes.

// addProbed adds a finding of the TLS probes: t is what its session is
// held to, nil when no session shows it (the finding then counts the
// port's probes instead).
func (f *portFindings) addProbed(key, detail string, t *ShowTLS) {
	fd := newFinding(f.pr.Port, key, detail, nil, f.insecure)
	switch {
	case t != nil:
		fd.Show = &Show{Port: f.pr.Port, Addr: f.pr.Addr, TLS: t}
	case f.pr.TLS != nil:
		fd.Probes = f.pr.TLS.Probes
	}
	f.out = append(f.out, fd)
}

// versionShow holds a session to v's version and to those of the suites
// it accepted that pick chooses and crypto/tls can offer; nil when there
// are none (or the version is SSL 3.0, which crypto/tls does not speak,
// or TLS 1.3, whose suites it does not let a client choose).
func versionShow(v *tlsprobe.VersionResult, pick func(tlsprobe.Suite) bool) *ShowTLS {
	if v == nil || !v.Supported || v.Version < tlsprobe.VersionTLS10 || v.Version > tlsprobe.VersionTLS12 {
		return nil
	}
	var ids []uint16
	for _, s := range v.Suites {
		if pick(s) && sessions.ImplementedSuite(s.ID, v.Version) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return &ShowTLS{Version: v.Version, CipherSuites: ids}
}

// suitesShow is the session of the highest TLS ≤ 1.2 version under which
// the port accepted a suite pick chooses that crypto/tls can offer.
func suitesShow(r *tlsprobe.PortResult, pick func(tlsprobe.Suite) bool) *ShowTLS {
	var best *ShowTLS
	for i := range r.Versions {
		if t := versionShow(&r.Versions[i], pick); t != nil && (best == nil || t.Version > best.Version) {
			best = t
		}
	}
	return best
}

// oldestShow is the session of the oldest of versions the port accepted
// (TLS 1.0 before TLS 1.1), with the suites it accepted there.
func oldestShow(r *tlsprobe.PortResult, versions ...uint16) *ShowTLS {
	for _, v := range versions {
		if t := versionShow(r.Version(v), func(tlsprobe.Suite) bool { return true }); t != nil {
			return t
		}
	}
	return nil
}

// chainShow is the session that sees the probes' chain i: one held to a
// version and suite the server presented it with. Nil when none can be
// offered by crypto/tls.
func chainShow(r *tlsprobe.PortResult, i int) *ShowTLS {
	return suitesShow(r, func(s tlsprobe.Suite) bool { return s.Chain == i })
}

// alpnShow is the session that offers only the protocol the ALPN probe
// offered, under its version: a strict server refuses its handshake with
// no_application_protocol (RFC 7301 §3.2), a lenient one goes on.
func alpnShow(a *tlsprobe.ALPNResult) *ShowTLS {
	if a.Offered == "" || a.Version == 0 {
		return nil
	}
	return &ShowTLS{Version: a.Version, ALPN: []string{a.Offered}}
}

// chainAdder adds the findings of the chain whose leaf has fingerprint
// leaf: the port's session shows the chain it saw; a chain only a probe
// saw (another certificate for other suites, say an RSA one beside an
// ECDSA one) is shown by a session held to a suite it came with.
func (f *portFindings) chainAdder(leaf string) func(key, detail string) {
	pr := f.pr
	if pr.Chain != nil && len(pr.Chain.Certs) > 0 && pr.Chain.Certs[0].SHA256 == leaf || pr.TLS == nil {
		return func(key, detail string) { f.add(key, detail, "") }
	}
	i := slices.IndexFunc(pr.TLS.Chains, func(c tlsprobe.Chain) bool {
		return c.Facts != nil && len(c.Facts.Certs) > 0 && c.Facts.Certs[0].SHA256 == leaf
	})
	var t *ShowTLS
	if i >= 0 {
		t = chainShow(pr.TLS, i)
	}
	return func(key, detail string) { f.addProbed(key, detail, t) }
}

// Apply holds o to t: one version, its suites, its ALPN protocols. A nil
// t leaves o as it is.
func (t *ShowTLS) Apply(o *sessions.Options) {
	if t == nil {
		return
	}
	o.MinTLS, o.MaxTLS = t.Version, t.Version
	o.CipherSuites = slices.Clone(t.CipherSuites)
	if t.ALPN != nil {
		o.ALPN = slices.Clone(t.ALPN)
	}
}
