package scan

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
	"github.com/mailwire/mailwire/sessions/wire"
)

// newFinding grades key on port (0: the host or domain) by the rule
// table. Insecure lowers a certificate that does not verify to a warning
// on every port.
func newFinding(port int, key, detail string, show *Show, insecure bool) Finding {
	r, ok := RuleFor(key)
	g := Warn
	if ok {
		g = r.Grade(port)
	}
	if insecure && key == KeyCertInvalid && g == Bad {
		g = Warn
	}
	// A weakness graded ok only because port 25 is opportunistic says so:
	// "✓ ok  Suites outside Mozilla's intermediate profile are accepted"
	// read like a problem ticked off.
	if ok && port == 25 && g == OK && r.Client != OK && detail != "" {
		detail += "; " + Title(KeyToleratedOn25)
	}
	return Finding{Port: port, Key: key, Title: Title(key), Grade: g, Detail: clean(detail),
		Source: Source(key), Show: show}
}

// clean makes sure no control or format character reaches a report: the
// parts of a detail were sanitized where they entered it (wire.SafeString,
// or Go quoting), so a string with none is kept as it is (escaping it
// again would double its backslashes), and one with any is escaped.
func clean(s string) string {
	if !utf8.ValidString(s) {
		return wire.SafeString(s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r != ' ' && !unicode.IsPrint(r) {
			return wire.SafeString(s)
		}
	}
	return s
}

// portFindings collects the findings of one port.
type portFindings struct {
	pr       *PortReport
	insecure bool
	out      []Finding
}

func (f *portFindings) add(key, detail, scenarioName string) {
	show := &Show{Port: f.pr.Port, Addr: f.pr.Addr, Scenario: scenarioName}
	f.out = append(f.out, newFinding(f.pr.Port, key, detail, show, f.insecure))
}

// gradePort grades what one port showed.
func (h *hostScan) gradePort(pr *PortReport) []Finding {
	f := &portFindings{pr: pr, insecure: h.opts.Insecure}
	switch pr.State {
	case StateClosed:
		f.add(KeyPortClosed, fmt.Sprintf("port %d (%s) refused the connection", pr.Port, pr.Addr), "")
		return f.out
	case StateUnreachable:
		f.add(KeyPortUnreachable, fmt.Sprintf("port %d (%s): %s", pr.Port, pr.Addr, firstOr(pr.Errors, "no answer")), "")
		return f.out
	}
	f.mode()
	f.startTLS()
	f.login()
	f.versions()
	f.suites()
	f.certificates()
	f.injection()
	f.alpn()
	return f.out
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// mode grades the TLS mode the port spoke against the one it provides for.
func (f *portFindings) mode() {
	pr := f.pr
	implicit := pr.Expected == string(sessions.TLSImplicit)
	switch {
	case pr.Mode == ModeCleartext && !implicit:
		f.add(KeyModeExpected, "greets in cleartext and upgrades with "+verbOf(pr.Proto)+": "+pr.Greeting, "")
	case pr.Mode == ModeTLS && implicit:
		f.add(KeyModeExpected, "answers a ClientHello first, as implicit TLS does (RFC 8314 §3)", "")
	case pr.Mode == ModeCleartext:
		f.add(KeyModeCleartextOnImplict, fmt.Sprintf("port %d is an implicit-TLS port, but the server greeted in cleartext: %s", pr.Port, pr.Greeting), "")
	case pr.Mode == ModeTLS:
		how := "the server sent nothing and answered a ClientHello"
		if pr.tlsFirst {
			how = "the server sent TLS records where the cleartext greeting belongs"
		}
		f.add(KeyModeTLSOnStartTLS, fmt.Sprintf("port %d provides for a cleartext greeting and %s, but %s: it speaks implicit TLS", pr.Port, verbOf(pr.Proto), how), "")
	default:
		f.add(KeyModeOther, fmt.Sprintf("port %d spoke neither %s nor TLS: %s", pr.Port, pr.Proto, firstOr(pr.Errors, "no usable answer")), "")
	}
}

func verbOf(proto string) string {
	if proto == "pop3" {
		return "STLS"
	}
	return "STARTTLS"
}

// startTLS grades STARTTLS and the capabilities around it.
func (f *portFindings) startTLS() {
	pr := f.pr
	if pr.StartTLS == nil {
		switch {
		case pr.Mode == ModeTLS && len(pr.CapsAfter) > 0:
			f.add(KeyCapabilities, "inside TLS: "+capList(pr.CapsAfter), "")
		case pr.Mode == ModeCleartext && pr.Expected == string(sessions.TLSStartTLS):
			f.add(KeyStartTLSUntested, "the session ended before the server listed its capabilities: "+firstOr(pr.Errors, "no answer"), "")
		}
		return
	}
	verb := verbOf(pr.Proto)
	switch {
	case !*pr.StartTLS:
		f.add(KeyStartTLSMissing, fmt.Sprintf("the capabilities before TLS do not offer %s: %s", verb, capList(pr.CapsBefore)), "")
		return
	case pr.Negotiated == nil:
		f.add(KeyStartTLSFailed, fmt.Sprintf("%s is offered, but no TLS session began: %s", verb, firstOr(pr.Errors, "no answer")), "")
	default:
		f.add(KeyStartTLSOffered, fmt.Sprintf("%s offered; a current client got %s with %s", verb, pr.Negotiated.Version, pr.Negotiated.CipherSuite), "")
	}
	if pr.CapsAfter != nil {
		d := "before TLS: " + capList(pr.CapsBefore)
		switch {
		case len(pr.CapsAdded) == 0 && len(pr.CapsGone) == 0:
			d += "; the same after TLS"
		default:
			if len(pr.CapsAdded) > 0 {
				d += "; added after TLS: " + capList(pr.CapsAdded)
			}
			if len(pr.CapsGone) > 0 {
				d += "; gone after TLS: " + capList(pr.CapsGone)
			}
		}
		f.add(KeyCapabilities, d, "")
	}
}

// capList lists capabilities, at most 16.
func capList(caps []string) string {
	if len(caps) == 0 {
		return "(none)"
	}
	if len(caps) > 16 {
		return strings.Join(caps[:16], ", ") + fmt.Sprintf(", and %d more", len(caps)-16)
	}
	return strings.Join(caps, ", ")
}

// login grades the login before TLS, and IMAP's LOGINDISABLED.
func (f *portFindings) login() {
	pr := f.pr
	if pr.Proto == "imap" && pr.StartTLS != nil && *pr.StartTLS {
		if hasCap(pr.CapsBefore, "LOGINDISABLED") {
			f.add(KeyLoginDisabled, "LOGINDISABLED is advertised before TLS", "")
		} else {
			f.add(KeyNoLoginDis, "the capabilities before TLS do not include LOGINDISABLED: "+capList(pr.CapsBefore), "")
		}
	}
	lp := pr.Login
	if lp == nil {
		return
	}
	d := "not tested: " + lp.Answer
	if lp.Tested {
		d = fmt.Sprintf("a decoy login (user %s, a random password) sent before TLS was answered %q", lp.User, lp.Answer)
		if lp.Verdict == KeyLoginOffered {
			d += "; the capabilities before TLS offer a login: " + capList(pr.CapsBefore)
		}
	}
	f.add(lp.Verdict, d, scenarioLogin)
}

// versions grades the versions the port accepted.
func (f *portFindings) versions() {
	r := f.pr.TLS
	if r == nil {
		return
	}
	if r.Error != "" {
		f.addProbed(KeyVersionUnknown, "no TLS probe reached the handshake: "+clean(r.Error), nil)
		return
	}
	var supported, refused, old, unknown []string
	has := map[uint16]bool{}
	tls12Refused := false
	for _, v := range r.Versions {
		switch {
		case v.Supported:
			has[v.Version] = true
			supported = append(supported, v.Name)
			if v.Version == tlsprobe.VersionTLS10 || v.Version == tlsprobe.VersionTLS11 {
				old = append(old, v.Name)
			}
		case v.Refusal != nil && v.Refusal.Kind == tlsprobe.RefusedTimeout || v.Refusal == nil:
			// A timeout says nothing about the version: the server may
			// be slow, or drop what it does not speak.
			why := "no answer in time"
			if len(v.Errors) > 0 {
				why = clean(v.Errors[0])
			}
			unknown = append(unknown, v.Name+" ("+why+")")
		default:
			refused = append(refused, v.Name)
			if v.Version == tlsprobe.VersionTLS12 {
				tls12Refused = true
			}
		}
	}
	if has[tlsprobe.VersionSSL30] {
		f.addProbed(KeyVersionSSL3, "accepts SSL 3.0", nil) // crypto/tls has no SSL 3.0
	}
	if len(old) > 0 {
		f.addProbed(KeyVersionOld, "accepts "+strings.Join(old, " and "), oldestShow(r, tlsprobe.VersionTLS10, tlsprobe.VersionTLS11))
	}
	switch {
	case len(supported) == 0 && len(unknown) == 0:
		f.add(KeyVersionNone, "refused every version offered: "+strings.Join(refused, ", "), "")
	case len(supported) > 0:
		if tls12Refused && has[tlsprobe.VersionTLS13] {
			// A session that offers only TLS 1.2 is refused.
			f.addProbed(KeyVersionNo12, "TLS 1.3 only: clients that cannot do TLS 1.3 get no TLS at all", &ShowTLS{Version: tlsprobe.VersionTLS12})
		}
		if !has[tlsprobe.VersionTLS13] {
			f.add(KeyVersionNo13, "does not accept TLS 1.3", "")
		}
		d := "accepts " + strings.Join(supported, ", ")
		if len(refused) > 0 {
			d += "; refuses " + strings.Join(refused, ", ")
		}
		if !has[tlsprobe.VersionSSL30] && len(old) == 0 {
			f.addProbed(KeyVersionsOK, d, nil) // a session sees one version, not the refusals
		}
	}
	if len(unknown) > 0 {
		f.addProbed(KeyVersionUnknown, "could not tell: "+strings.Join(unknown, "; "), nil)
	}
}

// suiteClasses sort the suites a port accepted, each into the first class
// that matches it; what matches none is in Mozilla's intermediate list.
var suiteClasses = []struct {
	key   string
	match func(tlsprobe.Suite) bool
}{
	{KeySuiteNull, func(s tlsprobe.Suite) bool { return s.Null() }},
	{KeySuiteAnonymous, func(s tlsprobe.Suite) bool { return s.Anonymous() }},
	{KeySuiteExport, func(s tlsprobe.Suite) bool { return s.Export || s.SingleDES() }},
	{KeySuiteRC4, func(s tlsprobe.Suite) bool { return s.RC4() }},
	{KeySuite3DES, func(s tlsprobe.Suite) bool { return s.TripleDES() }},
	{KeySuiteStatic, func(s tlsprobe.Suite) bool { return !s.ForwardSecret() }},
	{KeySuiteOutside, func(s tlsprobe.Suite) bool { return !InMozillaIntermediate(s.ID) }},
}

// classOf returns the class key of a suite, "" for a suite in the profile.
func classOf(s tlsprobe.Suite) string {
	for _, c := range suiteClasses {
		if c.match(s) {
			return c.key
		}
	}
	return ""
}

// suites grades the suites accepted under each version, the server's
// order and the DH groups.
func (f *portFindings) suites() {
	r := f.pr.TLS
	if r == nil || r.Error != "" {
		return
	}
	byClass := map[string][]string{}
	var summary, weakDH, incomplete []string
	for _, v := range r.Versions {
		if v.Incomplete {
			incomplete = append(incomplete, v.Name+": "+clean(firstOr(v.Errors, "incomplete")))
		}
		if !v.Supported {
			continue
		}
		inProfile := 0
		var names = map[string][]string{}
		for _, s := range v.Suites {
			c := classOf(s)
			if c == "" {
				inProfile++
				continue
			}
			names[c] = append(names[c], s.Name)
			if s.DHBits > 0 && s.DHBits < 2048 {
				weakDH = append(weakDH, fmt.Sprintf("%s %s (%d-bit group)", v.Name, s.Name, s.DHBits))
			}
		}
		for _, s := range v.Suites {
			if classOf(s) == "" && s.DHBits > 0 && s.DHBits < 2048 {
				weakDH = append(weakDH, fmt.Sprintf("%s %s (%d-bit group)", v.Name, s.Name, s.DHBits))
			}
		}
		for c, ns := range names {
			byClass[c] = append(byClass[c], fmt.Sprintf("%s: %s", v.Name, nameList(ns)))
		}
		summary = append(summary, fmt.Sprintf("%s: %d accepted, %d of them in %s", v.Name, len(v.Suites), inProfile, MozillaProfile))
	}
	if len(summary) > 0 {
		f.addProbed(KeySuitesOK, strings.Join(summary, "; "), nil)
	}
	for _, c := range suiteClasses {
		if list := byClass[c.key]; len(list) > 0 {
			key := c.key
			f.addProbed(key, strings.Join(list, "; "), suitesShow(r, func(s tlsprobe.Suite) bool { return classOf(s) == key }))
		}
	}
	if len(weakDH) > 0 {
		f.addProbed(KeyDHWeak, nameList(weakDH), suitesShow(r, func(s tlsprobe.Suite) bool { return s.DHBits > 0 && s.DHBits < 2048 }))
	}
	if len(incomplete) > 0 {
		f.addProbed(KeyIncomplete, strings.Join(incomplete, "; "), nil)
	}
	f.order()
}

// nameList lists names, at most 12.
func nameList(ns []string) string {
	if len(ns) > 12 {
		return strings.Join(ns[:12], ", ") + fmt.Sprintf(", and %d more", len(ns)-12)
	}
	return strings.Join(ns, ", ")
}

// order grades whose order decides, under the highest TLS ≤ 1.2 version
// the port accepts (TLS 1.3's suites are all strong). No session shows
// an order: it takes two probes offering the suites in different orders,
// and crypto/tls sends its suites in an order of its own.
func (f *portFindings) order() {
	var v *tlsprobe.VersionResult
	for i := range f.pr.TLS.Versions {
		x := &f.pr.TLS.Versions[i]
		if x.Supported && x.Version <= tlsprobe.VersionTLS12 && (v == nil || x.Version > v.Version) {
			v = x
		}
	}
	if v == nil || v.Order == tlsprobe.OrderUnknown {
		return
	}
	weak := 0
	for _, s := range v.Suites {
		if classOf(s) != "" {
			weak++
		}
	}
	switch {
	case v.Order == tlsprobe.OrderServer:
		f.addProbed(KeyOrderServer, fmt.Sprintf("%s: the server imposes its own order (it chose %s from both orders)", v.Name, tlsmsg.CipherSuiteName(v.Preferred)), nil)
	case weak > 0:
		f.addProbed(KeyOrderClientWeak, fmt.Sprintf("%s: the server follows the client's order (%s) while it accepts %d suites outside %s: a client that lists one of them first gets it",
			v.Name, v.Order, weak, MozillaProfile), nil)
	default:
		f.addProbed(KeyOrderClient, fmt.Sprintf("%s: the server follows the client's order (%s), and every suite it accepts is in %s", v.Name, v.Order, MozillaProfile), nil)
	}
}

// chainsOf returns the distinct chains a port presented: the session's,
// then the probes', by leaf.
func chainsOf(pr *PortReport) []*certs.Chain {
	var out []*certs.Chain
	seen := map[string]bool{}
	add := func(c *certs.Chain) {
		if c == nil || len(c.Certs) == 0 || seen[c.Certs[0].SHA256] {
			return
		}
		seen[c.Certs[0].SHA256] = true
		out = append(out, c)
	}
	add(pr.Chain)
	if pr.TLS != nil {
		for _, c := range pr.TLS.Chains {
			add(c.Facts)
		}
	}
	return out
}

// certificates grades each chain the port presented.
func (f *portFindings) certificates() {
	chains := chainsOf(f.pr)
	if len(chains) == 0 {
		if f.pr.Negotiated != nil {
			f.add(KeyCertNone, "no certificate chain was seen", "")
		}
		return
	}
	for _, c := range chains {
		leaf := c.Certs[0]
		add := f.chainAdder(leaf.SHA256)
		if p, bad := c.First(); bad {
			add(KeyCertInvalid, fmt.Sprintf("checked for %s: %s", wire.SafeString(c.Name), wire.SafeString(c.Describe(p))))
			continue
		}
		var weak []string
		for _, p := range c.Problems {
			weak = append(weak, wire.SafeString(c.Describe(p)))
		}
		if len(weak) > 0 {
			add(KeyCertWeak, strings.Join(weak, "; "))
			continue
		}
		add(KeyCertOK, fmt.Sprintf("%s, issued by %s, valid until %s, %s key, verified for %s to %s",
			wire.SafeString(leaf.Subject), wire.SafeString(leaf.Issuer), leaf.NotAfter.UTC().Format("2006-01-02"), leaf.KeyText(),
			wire.SafeString(c.Name), wire.SafeString(c.Anchor)))
	}
}

// injection grades the STARTTLS command injection probe.
func (f *portFindings) injection() {
	in := f.pr.Injection
	if in == nil {
		return
	}
	key := KeyInjectionSafe
	switch in.Outcome {
	case scenario.OutcomeInjectionAnswered:
		key = KeyInjectionAnswered
	case scenario.OutcomeInjectionUntested:
		key = KeyInjectionUntested
	}
	f.add(key, in.Outcome+": "+in.Text, scenarioInjection)
}

// alpn grades the ALPN strictness probe (implicit-TLS ports).
func (f *portFindings) alpn() {
	r := f.pr.TLS
	if r == nil || r.ALPN == nil {
		return
	}
	a := r.ALPN
	switch {
	case a.Strict:
		f.addProbed(KeyALPNStrict, fmt.Sprintf("offered only %q under %s: the server refused with no_application_protocol", a.Offered, versionName(a.Version)), alpnShow(a))
	case a.WentOn:
		d := fmt.Sprintf("offered only %q under %s: the server went on with the handshake", a.Offered, versionName(a.Version))
		if a.Selected != "" {
			d += fmt.Sprintf(" and claimed to select %q", wire.SafeString(a.Selected))
		}
		f.addProbed(KeyALPNLenient, d, alpnShow(a))
	default:
		why := clean(a.Error)
		if a.Refusal != nil {
			why = a.Refusal.String()
		}
		f.addProbed(KeyALPNUnknown, "could not tell: "+why, nil)
	}
}

// implicitOf pairs each STARTTLS submission and access port with its
// implicit-TLS counterpart (RFC 8314 §3).
var implicitOf = map[int]int{587: 465, 143: 993, 110: 995}

// gradeHost grades what spans ports: implicit TLS next to STARTTLS, and
// which certificates the ports present.
func (h *hostScan) gradeHost(rep *Report) []Finding {
	var out []Finding
	byPort := map[int]*PortReport{}
	for _, pr := range rep.Ports {
		byPort[pr.Port] = pr
	}
	for _, p := range []int{587, 143, 110} {
		st, imp := byPort[p], byPort[implicitOf[p]]
		if st == nil || imp == nil || st.State != StateOpen || imp.State == StateOpen && imp.Mode == ModeTLS {
			continue
		}
		out = append(out, newFinding(imp.Port, KeyImplicitMissing,
			fmt.Sprintf("port %d is open, but its implicit-TLS counterpart %d is %s", p, imp.Port, stateWords(imp)), nil, h.opts.Insecure))
	}
	switch n := len(rep.Certificates); {
	case n == 1:
		g := rep.Certificates[0]
		out = append(out, newFinding(0, KeyCertPorts, fmt.Sprintf("every port with TLS presents the same certificate: %s (SHA-256 %s…)",
			g.Subject, g.SHA256[:min(16, len(g.SHA256))]), nil, h.opts.Insecure))
	case n > 1:
		var parts []string
		for _, g := range rep.Certificates {
			parts = append(parts, fmt.Sprintf("%s: %s (SHA-256 %s…)", portList(g.Ports), g.Subject, g.SHA256[:min(16, len(g.SHA256))]))
		}
		out = append(out, newFinding(0, KeyCertPorts, fmt.Sprintf("the ports present %d different certificates: %s", n, strings.Join(parts, "; ")), nil, h.opts.Insecure))
	}
	return out
}

func stateWords(pr *PortReport) string {
	if pr.State == StateOpen {
		return "open but does not speak implicit TLS"
	}
	return pr.State
}

func portList(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// certGroups groups the ports by the leaf certificates they presented.
func certGroups(ports []*PortReport) []CertGroup {
	var out []CertGroup
	for _, pr := range ports {
		for _, c := range chainsOf(pr) {
			leaf := c.Certs[0]
			i := slices.IndexFunc(out, func(g CertGroup) bool { return g.SHA256 == leaf.SHA256 })
			if i < 0 {
				out = append(out, CertGroup{SHA256: leaf.SHA256, Subject: wire.SafeString(leaf.Subject)})
				i = len(out) - 1
			}
			if !slices.Contains(out[i].Ports, pr.Port) {
				out[i].Ports = append(out[i].Ports, pr.Port)
			}
		}
	}
	return out
}
