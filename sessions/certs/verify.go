package certs

import (
	"cmp"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"slices"
	"time"
)

// Kind names a problem with a chain. Its value is the last segment of the
// problem's annotation key (Key).
type Kind string

const (
	// Expired: the check's time is after a certificate's notAfter (RFC
	// 5280 §4.1.2.5).
	Expired Kind = "expired"
	// NotYetValid: the check's time is before a certificate's notBefore.
	NotYetValid Kind = "not_yet_valid"
	// WrongName: the leaf does not cover the name the client asked for
	// (RFC 9525 §6).
	WrongName Kind = "hostname"
	// UnknownAuthority: the chain leads to a CA that is not a trusted
	// root (RFC 5280 §6.1).
	UnknownAuthority Kind = "unknown_authority"
	// SelfSigned: the leaf is its own issuer and not a trusted root.
	SelfSigned Kind = "self_signed"
	// IncompleteChain: the server left out the intermediate that issued its
	// leaf (RFC 8446 §4.4.2, RFC 5246 §7.4.2).
	IncompleteChain Kind = "incomplete_chain"
	// WeakKey: an RSA key under 2048 bits (RFC 9325 §4.5). It does not
	// fail verification in crypto/x509, so it is never Fatal.
	WeakKey Kind = "weak_key"
	// SHA1Signature: a certificate signed with SHA-1 or MD5 (RFC 9325
	// §4.5, RFC 9155), which crypto/x509 and current clients refuse.
	SHA1Signature Kind = "sha1_signature"
	// Invalid: the chain leads to a trusted root, but a certificate may
	// not be used this way (key usage, basic constraints, name
	// constraints, path length; RFC 5280 §6).
	Invalid Kind = "invalid"
	// Failed: verification failed for a reason none of the above names
	// (no certificate at all, no system roots to check against).
	Failed Kind = "failed"
)

// KeyOK is the annotation key of a chain that verified.
const KeyOK = "tls.verify.ok"

// Key returns the annotation key of the kind: "tls.verify.expired", ….
func (k Kind) Key() string { return "tls.verify." + string(k) }

// Kinds lists every kind, in the order Analyze ranks them.
func Kinds() []Kind {
	return []Kind{Expired, NotYetValid, WrongName, SelfSigned, IncompleteChain, UnknownAuthority,
		SHA1Signature, Invalid, Failed, WeakKey}
}

// Problem is one thing wrong with a chain.
type Problem struct {
	Kind Kind `json:"kind"`
	// Annotation is Kind.Key(), the key of the words in package content.
	Annotation string `json:"annotation"`
	// Cert is the index in Chain.Certs of the certificate concerned, or
	// -1 for one the server did not send (a trusted root that expired).
	Cert int `json:"cert"`
	// Fatal is true when the chain fails verification because of this
	// problem; a problem that is not fatal is a weakness of a chain that
	// verified (or of a certificate outside the path that did).
	Fatal bool `json:"fatal"`
	// Detail is crypto/x509's own words, for Invalid and Failed.
	Detail string `json:"detail,omitempty"`
}

// Chain is a certificate chain as the server presented it, checked.
type Chain struct {
	// Name is the name the leaf was checked against (the SNI or host the
	// client asked for); empty when none was checked.
	Name string `json:"name,omitempty"`
	// CheckedAt is the time the chain was checked at.
	CheckedAt time.Time `json:"checked_at"`
	// Certs are the certificates in the order the server sent them, leaf
	// first (at most MaxCerts; MoreCerts counts the rest).
	Certs     []Cert `json:"certs"`
	MoreCerts int    `json:"more_certs,omitempty"`
	// Anchor is the subject of the trusted root the chain verified to,
	// which the server need not have sent (RFC 8446 §4.4.2).
	Anchor string `json:"anchor,omitempty"`
	// Problems, the fatal ones first, in the order a client meets them:
	// the leaf's dates, its name, then the path to a root.
	Problems []Problem `json:"problems,omitempty"`
}

// Check says what to verify a chain against.
type Check struct {
	// Name is the host name (or IP address) the leaf must cover; empty
	// skips the name check.
	Name string
	// Roots are the trusted roots; nil means the system's.
	Roots *x509.CertPool
	// Now is the time to check at; zero means time.Now().
	Now time.Time
}

// Verified says whether the chain verified: no fatal problem.
func (c *Chain) Verified() bool {
	_, bad := c.First()
	return !bad
}

// First returns the first fatal problem, the one a client stops at. A nil
// chain (no handshake got that far) has none; so do its other methods.
func (c *Chain) First() (Problem, bool) {
	if c == nil {
		return Problem{}, false
	}
	for _, p := range c.Problems {
		if p.Fatal {
			return p, true
		}
	}
	return Problem{}, false
}

// Key is the annotation key of the verification result: KeyOK, or the
// key of the first fatal problem.
func (c *Chain) Key() string {
	if p, bad := c.First(); bad {
		return p.Annotation
	}
	return KeyOK
}

// Subjects lists each certificate's subject, leaf first.
func (c *Chain) Subjects() []string {
	if c == nil {
		return nil
	}
	out := make([]string, len(c.Certs))
	for i, ct := range c.Certs {
		out[i] = ct.Subject
	}
	return out
}

// Analyze describes chain (leaf first, as the server sent it) and checks
// it as a TLS client does: against chk.Roots, for chk.Name, at chk.Now,
// for server authentication (RFC 5280 §6.1, RFC 9525 §6). The error is
// crypto/x509's verdict (nil when the chain verified); the Chain says the
// same in types, with every problem found, not only the first: a chain
// can be expired and for the wrong name at once.
//
// Verification is only ever computed here: whether to enforce it is the
// caller's decision (a session with verification off still shows it).
func Analyze(chain []*x509.Certificate, chk Check) (*Chain, error) {
	now := chk.Now
	if now.IsZero() {
		now = time.Now()
	}
	out := &Chain{Name: chk.Name, CheckedAt: now.UTC()}
	if len(chain) == 0 {
		err := errors.New("the server sent no certificate")
		out.Problems = []Problem{{Kind: Failed, Annotation: Failed.Key(), Cert: -1, Fatal: true, Detail: err.Error()}}
		return out, err
	}
	shown := chain[:min(len(chain), MaxCerts)]
	out.MoreCerts = len(chain) - len(shown)
	for _, c := range shown {
		out.Certs = append(out.Certs, Facts(c))
	}

	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{
		Roots: chk.Roots, Intermediates: inter, DNSName: chk.Name, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	if err == nil && len(chains) > 0 {
		root := chains[0][len(chains[0])-1]
		out.Anchor = root.Subject.String()
	}

	a := analysis{chain: shown, now: now, failed: err != nil}
	if a.failed {
		// Only a failure needs the path: it decides which problems are
		// the reason (a signature check per link, so not on every
		// successful handshake).
		a.path = walk(shown)
	}
	a.dates()
	if chk.Name != "" {
		if chain[0].VerifyHostname(chk.Name) != nil {
			a.add(WrongName, 0, true, "")
		}
	}
	a.signatures()
	if err != nil {
		a.authority(chk.Roots, inter)
	}
	a.keys()
	if err != nil && !a.anyFatal() {
		// crypto/x509 failed for a reason the checks above do not
		// name: say what it said, about the certificate it names.
		kind := ErrorKind(err)
		if kind == "" {
			kind = Failed
		}
		a.add(kind, certIndex(shown, errorCert(err)), true, err.Error())
	}
	out.Problems = a.sorted()
	return out, err
}

// analysis collects the problems of one chain.
type analysis struct {
	chain    []*x509.Certificate
	now      time.Time
	failed   bool  // crypto/x509 refused the chain
	path     []int // when failed: the indices on the path up from the leaf through what the server sent (walk)
	problems []Problem
}

func (a *analysis) onPath(i int) bool { return slices.Contains(a.path, i) }

// add records a problem once per kind and certificate. A problem is fatal
// only when verification failed and the problem lies where it could be
// the reason: a certificate the server sent but the path does not use
// (an old cross-signed root, say) is a weakness, not the failure.
func (a *analysis) add(k Kind, cert int, fatal bool, detail string) {
	if i := slices.IndexFunc(a.problems, func(p Problem) bool { return p.Kind == k && p.Cert == cert }); i >= 0 {
		a.problems[i].Fatal = a.problems[i].Fatal || fatal && a.failed
		return
	}
	a.problems = append(a.problems, Problem{Kind: k, Annotation: k.Key(), Cert: cert,
		Fatal: fatal && a.failed, Detail: detail})
}

func (a *analysis) anyFatal() bool {
	return slices.ContainsFunc(a.problems, func(p Problem) bool { return p.Fatal })
}

// dates checks every certificate the server sent against the check's time
// (RFC 5280 §4.1.2.5).
func (a *analysis) dates() {
	for i, c := range a.chain {
		switch {
		case a.now.After(c.NotAfter):
			a.add(Expired, i, a.onPath(i), "")
		case a.now.Before(c.NotBefore):
			a.add(NotYetValid, i, a.onPath(i), "")
		}
	}
}

// signatures flags certificates signed with SHA-1 or MD5. A self-signed
// certificate's own signature is not checked by anyone (a root is trusted
// as it is, RFC 5280 §6.1), so it does not count.
func (a *analysis) signatures() {
	for i, c := range a.chain {
		if LegacySignature(c.SignatureAlgorithm) && !IsSelfSigned(c) {
			a.add(SHA1Signature, i, a.onPath(i), "")
		}
	}
}

// keys flags RSA keys shorter than RFC 9325 §4.5 requires. crypto/x509
// accepts them, so this never fails a chain by itself.
func (a *analysis) keys() {
	for i, c := range a.chain {
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
			a.add(WeakKey, i, false, "")
		}
	}
}

// authority finds out why the chain does not lead to a trusted root, if
// that is why it failed. It looks at the top of what the server sent (the
// last certificate on the path up from the leaf) and verifies that one
// alone, at a time inside its own validity and for any use, so that the
// leaf's dates and name, checked above, do not hide the answer:
//
//   - the top is self-signed and not trusted: the leaf itself (SelfSigned)
//     or a root the client does not hold (UnknownAuthority);
//   - the top's issuer is neither sent nor trusted, and the top is the
//     leaf and names where its issuer's certificate is published (AIA
//     caIssuers, RFC 5280 §4.2.2.1), as certificates from an intermediate
//     do: the server leaves out its intermediate (IncompleteChain). A
//     missing issuer of an intermediate is a root the client lacks
//     (UnknownAuthority), and so is that of a leaf without AIA, since a
//     private CA may sign leaves directly: without fetching, nothing
//     tells the two apart, and the words of unknown_authority say so;
//   - the top is signed with SHA-1: crypto/x509 will not check that
//     signature, so whether its issuer is trusted cannot be known, and
//     SHA1Signature (added by signatures) is the reason given.
func (a *analysis) authority(roots, inter *x509.CertPool) {
	top := a.path[len(a.path)-1]
	c := a.chain[top]
	if LegacySignature(c.SignatureAlgorithm) && !IsSelfSigned(c) {
		return
	}
	at := a.now
	if at.After(c.NotAfter) {
		at = c.NotAfter
	} else if at.Before(c.NotBefore) {
		at = c.NotBefore
	}
	_, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		// Trusted, or refused for another reason (a trusted root that
		// expired: crypto/x509 names it, and Analyze reports its words).
		return
	}
	switch {
	case top == 0 && IsSelfSigned(c):
		a.add(SelfSigned, 0, true, "")
	case top == 0 && !IsSelfSigned(c) && len(c.IssuingCertificateURL) > 0 && !(c.BasicConstraintsValid && c.IsCA):
		a.add(IncompleteChain, 0, true, "")
	default:
		a.add(UnknownAuthority, top, true, "")
	}
}

// walk follows issuers from the leaf through the certificates the server
// sent, in whatever order it sent them (RFC 8446 §4.4.2 asks for issuer
// order but lets clients cope with any), and returns the indices on that
// path. Its last is a root, or the one whose issuer the server did not
// send.
func walk(chain []*x509.Certificate) []int {
	path := []int{0}
	for cur := 0; !IsSelfSigned(chain[cur]); {
		next := slices.IndexFunc(chain, func(cand *x509.Certificate) bool {
			return signedBy(chain[cur], cand)
		})
		if next < 0 || slices.Contains(path, next) {
			break
		}
		path = append(path, next)
		cur = next
	}
	return path
}

// rank orders problems as a client meets them: the leaf's dates, its name,
// then the path to a root, then what does not fail a chain.
func rank(p Problem) int {
	switch {
	case !p.Fatal:
		return 10
	case (p.Kind == Expired || p.Kind == NotYetValid) && p.Cert == 0:
		return 0
	case p.Kind == WrongName:
		return 1
	case p.Kind == Failed:
		return 3
	}
	return 2
}

func (a *analysis) sorted() []Problem {
	ps := slices.Clone(a.problems)
	slices.SortStableFunc(ps, func(x, y Problem) int {
		return cmp.Or(cmp.Compare(rank(x), rank(y)), cmp.Compare(x.Cert, y.Cert),
			cmp.Compare(slices.Index(Kinds(), x.Kind), slices.Index(Kinds(), y.Kind)))
	})
	return ps
}

// ErrorKind classifies a crypto/x509 verification error on its own, when
// no chain is at hand: "" when err is not a certificate error.
func ErrorKind(err error) Kind {
	var (
		host     x509.HostnameError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
		insecure x509.InsecureAlgorithmError
		sysRoots x509.SystemRootsError
	)
	switch {
	case errors.As(err, &host):
		return WrongName
	case errors.As(err, &unknown):
		if unknown.Cert != nil && IsSelfSigned(unknown.Cert) {
			return SelfSigned
		}
		return UnknownAuthority
	case errors.As(err, &invalid):
		if invalid.Reason != x509.Expired {
			return Invalid
		}
		// crypto/x509 gives both date failures the one reason Expired.
		if invalid.Cert != nil && time.Now().Before(invalid.Cert.NotBefore) {
			return NotYetValid
		}
		return Expired
	case errors.As(err, &insecure):
		if LegacySignature(x509.SignatureAlgorithm(insecure)) {
			return SHA1Signature
		}
		return Invalid
	case errors.As(err, &sysRoots):
		return Failed
	}
	return ""
}

// errorCert is the certificate a crypto/x509 error names, if any.
func errorCert(err error) *x509.Certificate {
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &host):
		return host.Certificate
	case errors.As(err, &unknown):
		return unknown.Cert
	case errors.As(err, &invalid):
		return invalid.Cert
	}
	return nil
}

// certIndex is the index of c in chain, or -1.
func certIndex(chain []*x509.Certificate, c *x509.Certificate) int {
	if c == nil {
		return -1
	}
	return slices.IndexFunc(chain, func(x *x509.Certificate) bool { return x.Equal(c) })
}
