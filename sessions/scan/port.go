package scan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Port states and spoken modes (PortReport.State, PortReport.Mode).
const (
	StateOpen        = "open"
	StateClosed      = "closed"
	StateUnreachable = "unreachable"

	ModeCleartext = "cleartext" // a cleartext greeting first
	ModeTLS       = "tls"       // a TLS answer to a ClientHello
	ModeOther     = "other"     // neither
)

// The scenarios a scan runs against a port, as a target.
const (
	scenarioLogin     = "too-early"
	scenarioInjection = "command-injection"
)

// loginPorts are the ports whose login before TLS is probed: submission
// and access on their STARTTLS ports (on 25 there is no login, on the
// implicit ports no "before TLS").
var loginPorts = []int{587, 110, 143}

// injectionPorts are the STARTTLS ports of SMTP, POP3 and IMAP.
var injectionPorts = []int{25, 587, 110, 143}

// scanPort runs every probe of one port at once: a session stopped after
// TLS, the TLS probes, and the login and injection scenarios where they
// apply.
func (h *hostScan) scanPort(ctx context.Context, p Port) *PortReport {
	start := time.Now()
	o, err := sessions.OptionsForPort(p.Addr, p.Canonical)
	pr := &PortReport{Port: p.Canonical, Addr: p.Addr, Proto: o.Proto, Role: string(o.Role), Expected: string(o.TLSMode)}
	if err != nil {
		pr.Errors = append(pr.Errors, err.Error())
		return pr
	}
	var sess, login, inj []wire.Event
	var wg sync.WaitGroup
	wg.Go(func() {
		sess = h.again(ctx, p, func() []wire.Event { return h.session(ctx, p) })
		h.progress(p.Canonical, "session", "session stopped after TLS")
	})
	wg.Go(func() {
		pr.TLS = h.scanner.Scan(ctx, h.target(p, o))
		h.progress(p.Canonical, "tls", fmt.Sprintf("%d TLS probes", pr.TLS.Probes))
	})
	if slices.Contains(loginPorts, p.Canonical) {
		wg.Go(func() {
			login = h.again(ctx, p, func() []wire.Event { return h.scenario(ctx, p, scenarioLogin) })
			h.progress(p.Canonical, "login", "login before TLS probed with a decoy")
		})
	}
	if slices.Contains(injectionPorts, p.Canonical) {
		wg.Go(func() {
			inj = h.again(ctx, p, func() []wire.Event { return h.scenario(ctx, p, scenarioInjection) })
			h.progress(p.Canonical, "injection", "STARTTLS injection probed")
		})
	}
	wg.Wait()

	silent := readSession(pr, sess)
	if silent {
		// No greeting on a STARTTLS port: a server that waits for a
		// ClientHello (implicit TLS where STARTTLS belongs) says so by
		// answering one.
		pr.Mode = ModeOther
		if h.speaksTLS(ctx, p) {
			pr.Mode = ModeTLS
		}
	}
	if login != nil {
		pr.Login = readLogin(pr, login)
	}
	if inj != nil {
		pr.Injection = readInjection(inj)
	}
	pr.Elapsed = time.Since(start)
	return pr
}

// again runs a session (or scenario) and runs it again, as tlsprobe does
// a probe, while the server turned it away with "not now" (turnedAway):
// a server that caps its connections (Exim's smtp_accept_max, 20 by
// default) meets the scan's probes and sessions at once, and its 421 is
// about its load, not about the port.
func (h *hostScan) again(ctx context.Context, p Port, run func() []wire.Event) []wire.Event {
	for try := 0; ; try++ {
		evs := run()
		if !turnedAway(evs) || !h.scanner.RetryBusy(ctx, p.Addr, try) {
			return evs
		}
	}
}

// turnedAway says whether a connection of evs (any leg) was turned away:
// the server's first bytes, a line or the cleartext a TLS client could
// not read as a record (an implicit-TLS port), said "not now"
// (protocol.Busy).
func turnedAway(evs []wire.Event) bool {
	seen := map[string]bool{}
	for _, ev := range evs {
		if ev.Dir != wire.ServerToClient || len(ev.Raw) == 0 || seen[ev.Leg] {
			continue
		}
		seen[ev.Leg] = true
		if (ev.Kind == wire.KindLine || ev.Kind == wire.KindError) && protocol.Busy(ev.Raw) {
			return true
		}
	}
	return false
}

// target is the tlsprobe target of a port: implicit TLS, or STARTTLS
// after its protocol's preamble; the ALPN probe on the implicit ports,
// where a client redirected from another protocol's port lands (ALPACA).
func (h *hostScan) target(p Port, o sessions.Options) tlsprobe.Target {
	t := tlsprobe.Target{Addr: p.Addr, ServerName: h.opts.ServerName, EHLOName: h.opts.EHLOName}
	if o.TLSMode == sessions.TLSStartTLS {
		t.Proto, t.StartTLS = o.Proto, true
	} else {
		t.ALPN = true
	}
	return t
}

// session runs the port's own session, stopped once TLS is up and the
// capabilities were asked again (sessions.StageTLS). It sends no
// credentials and nothing else with side effects, so the certificate
// check is not enforced: the chain is reported and graded instead.
func (h *hostScan) session(ctx context.Context, p Port) []wire.Event {
	o, err := sessions.OptionsForPort(p.Addr, p.Canonical)
	if err != nil {
		return nil
	}
	o.ServerName = h.opts.ServerName
	o.Verify, o.RootCAs = wire.VerifyOff, h.opts.Roots
	o.StopAfter = sessions.StageTLS
	o.EHLOName = h.opts.EHLOName
	o.DialTimeout, o.ReadTimeout, o.SessionTimeout = h.lim.dialTimeout, h.opts.ReadTimeout, h.opts.Timeout
	o.Dial = h.lim.Dial
	evs, _ := sessions.Collect(ctx, o)
	return evs
}

// scenario runs a scenario against the port as a target. Against a
// server that is not the lab, a scenario that logs in logs in as a decoy
// made up for the run (scenario/decoy.go), never with a real password.
func (h *hostScan) scenario(ctx context.Context, p Port, name string) []wire.Event {
	env := scenario.Env{
		Endpoints:  map[int]string{p.Canonical: p.Addr},
		ServerName: h.opts.ServerName, RootCAs: h.opts.Roots, EHLOName: h.opts.EHLOName,
		DialTimeout: h.lim.dialTimeout, ReadTimeout: h.opts.ReadTimeout, SessionTimeout: h.opts.Timeout,
		VerifyOff: true, Dial: h.lim.Dial,
	}
	evs, _ := scenario.Collect(ctx, scenario.Request{Name: name, Port: p.Canonical, Env: env})
	return evs
}

// speaksTLS sends one ClientHello (every TLS 1.2 suite) and says whether
// the answer was TLS: a ServerHello or an alert.
func (h *hostScan) speaksTLS(ctx context.Context, p Port) bool {
	a, err := h.scanner.Probe(ctx, tlsprobe.Target{Addr: p.Addr, ServerName: h.opts.ServerName},
		tlsprobe.Hello{Version: tlsprobe.VersionTLS12, Suites: tlsprobe.LegacySuites(), ServerName: h.opts.ServerName}, false)
	return err == nil && (a.Hello || a.Refusal != nil && a.Refusal.Kind == tlsprobe.RefusedAlert)
}

// readSession fills pr from the port's session: open or not, the mode
// spoken, the greeting, the capabilities, the TLS session and the chain.
// It returns true when a STARTTLS port said nothing at all (the caller
// then checks whether it speaks TLS).
func readSession(pr *PortReport, evs []wire.Event) (silent bool) {
	boundary := slices.IndexFunc(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindBoundary })
	var firstErr *wire.Event
	for i := range evs {
		ev := &evs[i]
		switch {
		case ev.Kind == wire.KindConnect:
			pr.State = StateOpen
		case ev.Kind == wire.KindError && ev.Err != nil:
			if firstErr == nil {
				firstErr = ev
			}
			pr.Errors = append(pr.Errors, wire.SafeString(wire.Truncate(ev.Text, 300)))
		case ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Layer == wire.LayerCleartext:
			if pr.Greeting == "" {
				pr.Greeting = wire.SafeString(wire.Truncate(wire.LineText(ev.Raw), 200))
			}
			if ev.Line != nil && ev.Line.Capabilities != nil {
				pr.CapsBefore = safeList(ev.Line.Capabilities)
			}
		case ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Layer == wire.LayerDecrypted:
			if pr.Greeting == "" {
				pr.Greeting = wire.SafeString(wire.Truncate(wire.LineText(ev.Raw), 200))
			}
			if ev.Line != nil && ev.Line.Capabilities != nil {
				pr.CapsAfter = safeList(ev.Line.Capabilities)
			}
		case ev.Kind == wire.KindTLSState && ev.TLS != nil:
			pr.Negotiated = &Negotiated{Version: ev.TLS.Version, CipherSuite: ev.TLS.CipherSuite,
				ALPN: wire.SafeString(ev.TLS.ALPN)}
			pr.Chain = ev.TLS.Chain
		case ev.Kind == wire.KindHandshake && ev.Dir == wire.ServerToClient && ev.Handshake != nil &&
			ev.Handshake.Certificate != nil:
			pr.chainDER = pr.chainDER[:0]
			for _, e := range ev.Handshake.Certificate.Entries {
				pr.chainDER = append(pr.chainDER, e.DER)
			}
		}
	}
	if pr.State == "" {
		pr.State = StateUnreachable
		if firstErr != nil && firstErr.Err.Explain == sessions.ExplainRefused {
			pr.State = StateClosed
		}
		return false
	}
	explain := ""
	if firstErr != nil {
		explain = firstErr.Err.Explain
	}
	serverHello := slices.ContainsFunc(evs, func(ev wire.Event) bool {
		return ev.Kind == wire.KindHandshake && ev.Dir == wire.ServerToClient && ev.Handshake != nil && ev.Handshake.ServerHello != nil
	})
	switch {
	case explain == sessions.ExplainCleartextOnImplict || pr.Expected == string(sessions.TLSStartTLS) && cleartextGreeting(evs):
		pr.Mode = ModeCleartext
	case explain == sessions.ExplainTLSOnCleartext || pr.Expected == string(sessions.TLSImplicit) && serverHello:
		pr.Mode = ModeTLS
		pr.tlsFirst = explain == sessions.ExplainTLSOnCleartext
	case explain == sessions.ExplainSilentGreeting:
		return true
	default:
		pr.Mode = ModeOther
	}
	// Whether STARTTLS is offered is known from the capabilities before
	// TLS, or from STARTTLS having been accepted; a session that ended
	// before either leaves it unknown.
	if pr.Expected == string(sessions.TLSStartTLS) && pr.Mode == ModeCleartext &&
		(pr.CapsBefore != nil || boundary >= 0 || explain == sessions.ExplainNoStartTLS) {
		offered := hasCap(pr.CapsBefore, protocol.StartTLSVerb(pr.Proto)) || boundary >= 0
		if explain == sessions.ExplainNoStartTLS {
			offered = false
		}
		pr.StartTLS = &offered
		if boundary >= 0 {
			pr.CapsAdded, pr.CapsGone = protocol.CapabilityDiff(pr.CapsBefore, pr.CapsAfter)
		}
	}
	return false
}

// cleartextGreeting says whether the server spoke first, in cleartext.
func cleartextGreeting(evs []wire.Event) bool {
	return slices.ContainsFunc(evs, func(ev wire.Event) bool {
		return ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Layer == wire.LayerCleartext
	})
}

// hasCap says whether caps holds the keyword kw (case-insensitive, RFC
// 5321 §2.4, RFC 2449 §5, RFC 9051 §7.2.2).
func hasCap(caps []string, kw string) bool {
	return slices.ContainsFunc(caps, func(c string) bool {
		first, _, _ := strings.Cut(c, " ")
		return protocol.Keyword(first) == strings.ToUpper(kw)
	})
}

// safeList sanitizes a server's list for the report.
func safeList(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = wire.SafeString(wire.Truncate(s, 120))
	}
	return out
}

// readLogin reads the too-early scenario's events: was the decoy's login
// sent before TLS, and what did the server answer.
func readLogin(pr *PortReport, evs []wire.Event) *LoginProbe {
	lp := &LoginProbe{Verdict: KeyLoginUntested}
	leaked := scenario.CredentialsOnWire(evs)
	if len(leaked) == 0 {
		if e := scenario.FirstError(evs); e != nil {
			lp.Answer = wire.SafeString(wire.Truncate(e.Text, 200))
		}
		return lp
	}
	lp.Tested = true
	for _, ev := range evs {
		if ev.Seq == leaked[0] && ev.Credential != nil {
			lp.User = wire.SafeString(ev.Credential.Username)
		}
	}
	ans, ok := scenario.LoginAnswer(evs, leaked[0])
	if !ok {
		lp.Verdict = KeyLoginUnclear
		lp.Answer = "no answer"
		return lp
	}
	lp.Code = wire.SafeString(ans.Line.Code)
	lp.Answer = wire.SafeString(wire.Truncate(wire.LineText(ans.Raw), 200))
	lp.Verdict = loginVerdict(pr, ans)
	return lp
}

// loginVerdict grades the server's answer to a login before TLS, as
// scenario.LoginPolicyOf reads it (the one home of that reading).
func loginVerdict(pr *PortReport, ans *wire.Event) string {
	switch scenario.LoginPolicyOf(pr.Proto, ans, pr.CapsBefore) {
	case scenario.LoginAccepted:
		return KeyLoginAccepted
	case scenario.LoginChecked:
		return KeyLoginChecked
	case scenario.LoginRefused:
		return KeyLoginRefused
	case scenario.LoginOffered:
		return KeyLoginOffered
	}
	return KeyLoginUnclear
}

// readInjection reads the command-injection scenario's verdict.
func readInjection(evs []wire.Event) *Injection {
	for _, ev := range evs {
		if ev.Kind == wire.KindVerdict && ev.Verdict != nil {
			return &Injection{Outcome: ev.Verdict.Outcome, Safe: ev.Verdict.Safe,
				Text: wire.SafeString(wire.Truncate(ev.Text, 400))}
		}
	}
	in := &Injection{Outcome: scenario.OutcomeInjectionUntested, Safe: true, Text: "the probe did not run"}
	if e := scenario.FirstError(evs); e != nil {
		in.Text = wire.SafeString(wire.Truncate(e.Text, 300))
	}
	return in
}

// versionName names a TLS version.
func versionName(v uint16) string {
	if v == 0 {
		return "TLS"
	}
	return tlsmsg.VersionName(v)
}
