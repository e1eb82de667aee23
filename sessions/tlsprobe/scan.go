package tlsprobe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// Scan probes every version of Options.Versions on t, enumerates the
// suites each accepts, tests whose order decides, and checks the chains
// seen. It returns when every probe has ended (or ctx is done); a
// cancelled scan marks what it did not finish as Incomplete.
//
// The probes of one version run in stages: one hello offering every
// candidate (is the version spoken at all, and the server's first
// choice); then the remaining candidates split into disjoint parts, each
// enumerated by offer, note the choice, remove it, offer again, until the
// server refuses (the parts run in parallel, within the Scanner's
// bounds); then two hellos offering the accepted suites in opposite orders.
func (s *Scanner) Scan(ctx context.Context, t Target) *PortResult {
	start := time.Now()
	ps := &portScan{s: s, t: t, chainIdx: map[[32]byte]int{}}
	res := &PortResult{Target: t, Versions: make([]VersionResult, len(s.opts.Versions))}
	var wg sync.WaitGroup
	for i, v := range s.opts.Versions {
		wg.Go(func() { ps.version(ctx, v, &res.Versions[i]) })
	}
	wg.Wait()

	// A port no probe reached TLS on is one finding, not five.
	if err := ps.firstErr(); err != nil && ps.reachedTLS.Load() == 0 {
		res.Error = err.Error()
		res.Versions = nil
	} else if s.opts.ALPN || t.ALPN {
		res.ALPN = ps.alpn(ctx, res.Versions)
	}
	res.Chains = ps.checkChains()
	res.Probes = int(ps.probes.Load())
	res.Elapsed = time.Since(start)
	return res
}

// portScan is the state of one Scan.
type portScan struct {
	s *Scanner
	t Target

	probes     atomic.Int64
	reachedTLS atomic.Int64

	mu       sync.Mutex
	err      error // the first error of a probe that never sent its hello
	chainIdx map[[32]byte]int
	chains   [][][]byte
}

// probe runs one probe within the port's budget and reports it.
func (ps *portScan) probe(ctx context.Context, purpose string, v uint16, offered []uint16, flight bool, alpn ...string) (*Answer, error) {
	if ps.probes.Add(1) > int64(ps.s.opts.MaxProbes) {
		ps.probes.Add(-1)
		return nil, errProbeBudget
	}
	start := time.Now()
	a, err := ps.s.Probe(ctx, ps.t, Hello{Version: v, Suites: offered, ServerName: ps.t.ServerName, ALPN: alpn}, flight)
	if err != nil {
		ps.mu.Lock()
		if ps.err == nil {
			ps.err = err
		}
		ps.mu.Unlock()
	} else {
		ps.reachedTLS.Add(1)
	}
	if f := ps.s.opts.OnProbe; f != nil {
		f(ProbeEvent{Target: ps.t, Version: v, Purpose: purpose, Offered: len(offered), Answer: a, Err: err, Elapsed: time.Since(start)})
	}
	return a, err
}

func (ps *portScan) firstErr() error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.err
}

// candidates are the suites offered for version v.
func candidates(v uint16) []uint16 {
	if v == VersionTLS13 {
		return TLS13Suites()
	}
	return LegacySuites()
}

// version probes one version into vr.
func (ps *portScan) version(ctx context.Context, v uint16, vr *VersionResult) {
	vr.Version, vr.Name = v, versionName(v)
	cands := candidates(v)
	a, err := ps.probe(ctx, "version", v, cands, true)
	if err != nil {
		vr.Incomplete = true
		vr.Errors = append(vr.Errors, err.Error())
		return
	}
	if Busy(a, nil) {
		// Turned away with "not now" even after the retries: the version
		// is untested, not refused.
		vr.Incomplete = true
		vr.Errors = append(vr.Errors, "the server turned the probe away: "+a.Refusal.Detail)
		return
	}
	ok, why := accepted(v, cands, a)
	if !ok {
		vr.Refusal = why
		return
	}
	vr.Supported = true
	vr.Preferred = a.Suite
	found := []Suite{ps.suite(a)}

	// The rest, dealt round-robin into parts: the accepted suites of a
	// server cluster in the offer order (all its ECDHE suites, say), and
	// dealing spreads them so the parts finish together.
	rest := slices.DeleteFunc(slices.Clone(cands), func(id uint16) bool { return id == a.Suite })
	n := min(ps.s.opts.Parts, len(rest))
	parts := make([][]uint16, n)
	for i, id := range rest {
		parts[i%n] = append(parts[i%n], id)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, part := range parts {
		wg.Go(func() {
			got, errs := ps.enumerate(ctx, v, part)
			mu.Lock()
			defer mu.Unlock()
			found = append(found, got...)
			vr.Errors = append(vr.Errors, errs...)
		})
	}
	wg.Wait()
	if len(vr.Errors) > 0 {
		vr.Incomplete = true
	}
	// The first choice first, then the offer order: a stable result
	// whatever order the parts finished in.
	rank := map[uint16]int{}
	for i, id := range cands {
		rank[id] = i
	}
	slices.SortStableFunc(found[1:], func(x, y Suite) int { return rank[x.ID] - rank[y.ID] })
	vr.Suites = found
	vr.Order = ps.order(ctx, vr)
}

// enumerate finds the suites of part the server accepts with v: offer
// them all, take the one chosen out, offer again, until the server
// refuses. A refusal by alert or close is the normal end; any other end
// (a timeout, a reset, a suite that was not offered) leaves the part
// unfinished and says so.
func (ps *portScan) enumerate(ctx context.Context, v uint16, part []uint16) ([]Suite, []string) {
	var found []Suite
	for len(part) > 0 {
		a, err := ps.probe(ctx, "suites", v, part, true)
		if err != nil {
			return found, []string{fmt.Sprintf("%d suites not tested: %v", len(part), err)}
		}
		ok, why := accepted(v, part, a)
		if !ok {
			if why != nil && (why.Kind == RefusedAlert || why.Kind == RefusedClosed) {
				return found, nil
			}
			return found, []string{fmt.Sprintf("%d suites not tested: the server ended a probe with %s %s", len(part), why, why.Detail)}
		}
		found = append(found, ps.suite(a))
		part = slices.DeleteFunc(part, func(id uint16) bool { return id == a.Suite })
	}
	return found, nil
}

// suite records an accepted suite from its answer.
func (ps *portScan) suite(a *Answer) Suite {
	info, ok := Info(a.Suite)
	if !ok {
		info = SuiteInfo{ID: a.Suite, Name: tlsmsg.CipherSuiteName(a.Suite)}
	}
	s := Suite{SuiteInfo: info, Group: a.Group, DHBits: a.DHBits, Chain: ps.chain(a.Certificates)}
	if a.Group != 0 {
		s.GroupName = tlsmsg.GroupName(a.Group)
	}
	return s
}

// chain returns the index of a chain among those seen, adding it.
func (ps *portScan) chain(ders [][]byte) int {
	if len(ders) == 0 {
		return -1
	}
	key := sha256.Sum256(bytes.Join(ders, []byte{0}))
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if i, ok := ps.chainIdx[key]; ok {
		return i
	}
	ps.chainIdx[key] = len(ps.chains)
	ps.chains = append(ps.chains, ders)
	return len(ps.chains) - 1
}

// order offers the accepted suites in two opposite orders and compares
// the server's choices. ChaCha20 suites are left out when at least two others
// remain: servers that otherwise impose their order honour a client that
// puts ChaCha20 first, taking it for a client without AES hardware
// (OpenSSL's SSL_OP_PRIORITIZE_CHACHA, Go's crypto/tls), and the reversed
// order would then pass for the client's.
func (ps *portScan) order(ctx context.Context, vr *VersionResult) Order {
	var set []uint16
	for _, s := range vr.Suites {
		if !s.ChaCha() {
			set = append(set, s.ID)
		}
	}
	if len(set) < 2 {
		set = set[:0]
		for _, s := range vr.Suites {
			set = append(set, s.ID)
		}
	}
	if len(set) < 2 {
		return OrderUnknown
	}
	rev := slices.Clone(set)
	slices.Reverse(rev)
	var picks [2]uint16
	var fails [2]string
	var wg sync.WaitGroup
	for i, offer := range [][]uint16{set, rev} {
		wg.Go(func() {
			a, err := ps.probe(ctx, "order", vr.Version, offer, false)
			if err != nil {
				fails[i] = err.Error()
				return
			}
			if ok, why := accepted(vr.Version, offer, a); !ok {
				fails[i] = "order probe: " + why.String()
				return
			}
			picks[i] = a.Suite
		})
	}
	wg.Wait()
	for _, f := range fails {
		if f != "" {
			vr.Errors = append(vr.Errors, f)
			return OrderUnknown
		}
	}
	switch {
	case picks[0] == picks[1]:
		return OrderServer
	case picks[0] == set[0] && picks[1] == rev[0]:
		return OrderClient
	}
	return OrderMixed
}

// alpn offers UnknownALPN alone, with every suite accepted under TLS 1.2,
// or under the highest version the port speaks when it does not speak
// TLS 1.2 (see ALPNResult.Version).
func (ps *portScan) alpn(ctx context.Context, versions []VersionResult) *ALPNResult {
	var best *VersionResult
	for i := range versions {
		v := &versions[i]
		if !v.Supported {
			continue
		}
		if best == nil || best.Version != VersionTLS12 && (v.Version == VersionTLS12 || v.Version > best.Version) {
			best = v
		}
	}
	if best == nil {
		return nil
	}
	ids := make([]uint16, len(best.Suites))
	for i, s := range best.Suites {
		ids[i] = s.ID
	}
	r := &ALPNResult{Offered: UnknownALPN, Version: best.Version}
	a, err := ps.probe(ctx, "alpn", best.Version, ids, false, UnknownALPN)
	switch {
	case err != nil:
		r.Error = err.Error()
	case a.Hello:
		r.WentOn, r.Selected = true, a.ALPN
	case a.Refusal != nil && a.Refusal.Kind == RefusedAlert && a.Refusal.Alert == alertNoApplicationProtocol:
		r.Strict = true
	default:
		r.Refusal = a.Refusal
	}
	return r
}

// alertNoApplicationProtocol is RFC 7301 §3.2's alert.
const alertNoApplicationProtocol = 120

// checkChains parses the distinct chains seen and checks each with
// package certs, for the target's name.
func (ps *portScan) checkChains() []Chain {
	name := ps.t.ServerName
	if name == "" {
		name = ps.t.host()
	}
	out := make([]Chain, 0, len(ps.chains))
	for _, ders := range ps.chains {
		var c Chain
		for _, der := range ders {
			cert, err := x509.ParseCertificate(der)
			if err != nil {
				c.ParseError = fmt.Sprintf("certificate %d of %d: %v", len(c.Certificates)+1, len(ders), err)
				c.Certificates = nil
				break
			}
			c.Certificates = append(c.Certificates, cert)
		}
		if c.ParseError == "" {
			// The error repeats what Facts says in types.
			c.Facts, _ = certs.Analyze(c.Certificates, certs.Check{Name: name, Roots: ps.s.opts.Roots, Now: ps.s.opts.Now})
		}
		out = append(out, c)
	}
	return out
}
