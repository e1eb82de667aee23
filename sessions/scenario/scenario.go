// Package scenario stages mailwire's demonstrations: sessions that show,
// with live evidence, what goes wrong with STARTTLS and how implicit TLS and
// HTTPS differ. A scenario is one or more sessions of the session engine
// (package sessions), sometimes through a machine in the middle (package
// mitm) or against a lab server in a deliberately different mode (package
// lab), merged into one ordered event stream. Each connection is named in
// Event.Leg, and the scenario ends with a KindVerdict event saying what it
// found, computed from the events before it.
//
// Like package sessions, this package knows nothing of any screen: the TUI
// and the printers render the stream, and the prose (introduction,
// conclusion, sources) lives in package content under the scenario's name.
package scenario

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Scenario describes one demonstration.
type Scenario struct {
	// Name is the key used by `mailwire session --scenario NAME`, the TUI
	// and package content ("too-early").
	Name string
	// Ports are the canonical ports it can run on, the default first. Nil
	// means the scenario picks its own (compare, hops).
	Ports []int
	// Variants lists the variants it can run, the default first; a
	// variant may apply to some ports only (VariantsFor). Nil: none.
	Variants []string
	// NeedsLab: some part needs lab servers in a special mode (an endpoint
	// accepting AUTH before TLS, a vulnerable server, a second lab), so it
	// cannot run against another server alone.
	NeedsLab bool
	// SetsVersion: the scenario chooses the TLS versions its sessions
	// offer (it compares them), so Env.MaxTLS does not apply.
	SetsVersion bool
	// Summary is what the scenario computes from its whole stream, shown
	// after the transcript (RenderSummary) and in the TUI's panel.
	Summary Summary

	// variantsFor, when set, narrows Variants for a port.
	variantsFor func(port int) []string
	play        func(r *Run) error
}

// VariantsFor returns the variants valid on a canonical port.
func (s Scenario) VariantsFor(port int) []string {
	if s.variantsFor != nil {
		return s.variantsFor(port)
	}
	return s.Variants
}

// AllVariants returns the variants of every port, the default first (IMAP
// adds preauth to the strips).
func (s Scenario) AllVariants() []string {
	all := slices.Clone(s.Variants)
	for _, p := range s.Ports {
		for _, v := range s.VariantsFor(p) {
			if !slices.Contains(all, v) {
				all = append(all, v)
			}
		}
	}
	return all
}

// Summary names what a scenario computes from its whole stream.
type Summary int

const (
	// SummaryNone: the transcript and its verdicts say it all.
	SummaryNone Summary = iota
	// SummaryCompare: a table comparing the connections (Compare).
	SummaryCompare
	// SummaryHops: a message's path, hop by hop (Hops).
	SummaryHops
)

// RenderSummary writes the scenario's summary of a stream (the compare
// table, the hop diagram), preceded by a blank line; nothing when it has
// none.
func RenderSummary(w io.Writer, s Scenario, evs []wire.Event, markdown bool) error {
	switch s.Summary {
	case SummaryCompare:
		fmt.Fprintln(w)
		return RenderCompare(w, Compare(evs), markdown)
	case SummaryHops:
		fmt.Fprintln(w)
		return RenderHops(w, Hops(evs), markdown)
	}
	return nil
}

var (
	registryMu sync.RWMutex
	registry   []Scenario
)

// register adds a scenario; files of this package call it from init. The
// order of All is the canonical order of content.Scenarios, not the
// registration order.
func register(s Scenario) {
	registryMu.Lock()
	defer registryMu.Unlock()
	registry = append(registry, s)
}

// All returns the registered scenarios in canonical order.
func All() []Scenario {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := slices.Clone(registry)
	slices.SortStableFunc(out, func(a, b Scenario) int { return orderOf(a.Name) - orderOf(b.Name) })
	return out
}

// orderOf is a scenario's place in the canonical order, which the
// teaching material sets (content.ScenarioOrder: the texts are read, and
// the picker lists them, in that order); a scenario without a text comes
// last.
func orderOf(name string) int {
	if i := slices.Index(content.ScenarioOrder, name); i >= 0 {
		return i
	}
	return len(content.ScenarioOrder)
}

// ByName returns the scenario called name.
func ByName(name string) (Scenario, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	for _, s := range registry {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Names lists the registered scenarios' names in canonical order.
func Names() []string {
	var out []string
	for _, s := range All() {
		out = append(out, s.Name)
	}
	return out
}

// Env is where scenarios run: the servers, how to trust them and who to
// log in as.
type Env struct {
	// Lab is the running lab. Scenarios that need a server in a special
	// mode add an endpoint to it (lab.AddEndpoint) or start a second lab
	// sharing its state directory. Nil: run against Endpoints only, and
	// the parts that need the lab are skipped with a note.
	Lab *lab.Lab
	// StateDir is the lab's state directory (its CA), for a second lab.
	StateDir string
	// Endpoints maps a canonical port to the address that serves it. When
	// nil and Lab is set, the lab's endpoints are used.
	Endpoints map[int]string
	// ServerName is the name the servers' certificates carry, sent as SNI.
	ServerName string
	// RootCAs verifies the servers (the lab CA, a peer's CA).
	RootCAs *x509.CertPool
	// CAFile, when set, is the PEM file RootCAs came from (--ca-file
	// against a target): the sessions verify with it as a CA file
	// (wire.VerifyCAFile), and say so, instead of calling it the lab's.
	CAFile string
	// Username and Password are the credentials a scenario's client uses.
	Username, Password string
	// EHLOName is the name the SMTP client announces; "" is mailwire's.
	EHLOName string
	// Recipient is where the scenario's SMTP sessions send a message (a
	// local mailbox of the server). "": they send none, as against a
	// server mailwire does not own nothing with side effects happens
	// unless asked (sessions.Options.To).
	Recipient string
	// Fetch lets the scenario's POP3 and IMAP sessions read the mailbox
	// after logging in (sessions.Options.Fetch).
	Fetch bool
	// DialTimeout, ReadTimeout and SessionTimeout bound each session
	// (sessions' defaults when zero).
	DialTimeout, ReadTimeout, SessionTimeout time.Duration
	// MaxTLS caps the TLS version the scenario's clients offer
	// (tls.VersionTLS12 shows what TLS 1.2 leaves in the clear); zero
	// leaves crypto/tls's default. A scenario that compares versions
	// (tls12-vs-13) sets its own.
	MaxTLS uint16
	// Budget bounds each session of the scenario (wire.Budget).
	Budget wire.Budget
	// VerifyOff runs the scenario's sessions with the certificate check
	// not enforced (wire.VerifyOff; RootCAs, when set, still say what the
	// check would have found): mailwire scan tests STARTTLS injection
	// and logins before TLS on servers whose certificate it reports on
	// its own. Against a server that is not the lab the login is then
	// always the run's decoy (decoy.go).
	VerifyOff bool
	// Dial, when set, opens the scenario's connections (sessions.Options.Dial):
	// mailwire scan bounds the connections to one host with it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Capture and KeyLog, when set, keep the bytes and the TLS secrets of
	// every session of every leg (sessions.Options.Capture and KeyLog),
	// for a pcap and a key log. The proxy's own connection to the server
	// in a MITM leg is not a session, and is not in them.
	Capture *wire.Capture
	KeyLog  io.Writer
}

// LabEnv returns the Env of a running lab: its endpoints, CA and demo
// credentials, and its full demo (a message sent to lab.DemoRecipient, the
// mailbox read), since the lab is ours.
func LabEnv(l *lab.Lab, stateDir string) Env {
	return Env{Lab: l, StateDir: stateDir, ServerName: lab.Hostname, RootCAs: l.RootCAs(),
		Username: lab.DemoUser, Password: lab.DemoPassword, EHLOName: lab.DemoClientName,
		Recipient: lab.DemoRecipient, Fetch: true}
}

// Addr returns the address serving a canonical port.
func (e Env) Addr(port int) (string, bool) {
	if a, ok := e.Endpoints[port]; ok {
		return a, true
	}
	if e.Lab != nil {
		if ep, ok := e.Lab.Endpoint(port); ok {
			return ep.Addr, true
		}
	}
	return "", false
}

// CheckEnv says whether the scenario can run in env: somewhere to run, and
// the embedded lab when it needs one (NeedsLab). Play refuses what it
// refuses; the CLI asks first, to refuse before anything starts.
func (s Scenario) CheckEnv(env Env) error {
	switch {
	case env.Lab == nil && len(env.Endpoints) == 0:
		return fmt.Errorf("scenario %s: no servers to run against (neither the lab nor endpoints)", s.Name)
	case env.Lab == nil && s.NeedsLab:
		return fmt.Errorf("scenario %s needs the embedded lab (servers in special modes): it cannot run against another server", s.Name)
	}
	return nil
}

// Request says which scenario to run, and how.
type Request struct {
	Name string
	// Port is the canonical port; 0 means the scenario's default.
	Port int
	// Variant is one of the scenario's variants; "" means the default.
	Variant string
	Env     Env
}

// Resolve checks req's name, port and variant against its scenario and
// fills the defaults; where it runs (Env) is checked when it plays.
func (req Request) Resolve() (Scenario, Request, error) {
	s, ok := ByName(req.Name)
	if !ok {
		return s, req, fmt.Errorf("scenario %q: no such scenario (want one of %s)", req.Name, strings.Join(Names(), ", "))
	}
	if req.Port == 0 && len(s.Ports) > 0 {
		req.Port = s.Ports[0]
	}
	if req.Port != 0 && len(s.Ports) == 0 {
		return s, req, fmt.Errorf("scenario %s picks its own ports, so it takes none (port %d was asked)", s.Name, req.Port)
	}
	if req.Port != 0 && !slices.Contains(s.Ports, req.Port) {
		return s, req, fmt.Errorf("scenario %s: port %d not supported (want %s)", s.Name, req.Port, joinPorts(s.Ports))
	}
	vs := s.VariantsFor(req.Port)
	// An attack's former name (starttls-454 for refuse) still works.
	req.Variant = mitm.Canonical(req.Variant)
	if req.Variant == "" && len(vs) > 0 {
		req.Variant = vs[0]
	}
	if req.Variant != "" && !slices.Contains(vs, req.Variant) {
		if len(vs) == 0 {
			return s, req, fmt.Errorf("scenario %s: has no variants", s.Name)
		}
		return s, req, fmt.Errorf("scenario %s on port %d: variant %q not supported (want %s)", s.Name, req.Port, req.Variant, strings.Join(vs, ", "))
	}
	return s, req, nil
}

func joinPorts(ps []int) string {
	var out []string
	for _, p := range ps {
		out = append(out, strconv.Itoa(p))
	}
	return strings.Join(out, ", ")
}

// Play runs a scenario and reports its events through emit, in order, with
// Seq numbered from 1 across all its connections and At measured from the
// scenario's start. emit is called with the Run's lock held, from whichever
// goroutine produced the event (the client's session, a proxy), one at a
// time; it must not block for long. The stream ends with the scenario's
// verdict event(s), or with an error event when it could not run.
func Play(ctx context.Context, req Request, emit func(wire.Event)) error {
	r := &Run{start: time.Now(), emitFn: emit, ctx: ctx}
	s, req, err := req.Resolve()
	r.Req = req
	if err != nil {
		r.Error("scenario", err)
		return err
	}
	r.Scenario = s
	if err := s.CheckEnv(req.Env); err != nil {
		r.Error("scenario", err)
		return err
	}
	if err := s.play(r); err != nil {
		if !errors.Is(err, errReported) {
			r.Error("scenario "+s.Name, err)
		}
		return err
	}
	return nil
}

// Stream runs a scenario in a new goroutine and returns its events on a
// channel, closed after the last one. The receiver must drain it (or cancel
// ctx and then drain it).
func Stream(ctx context.Context, req Request) <-chan wire.Event {
	ch := make(chan wire.Event, 64)
	go func() {
		defer close(ch)
		_ = Play(ctx, req, func(ev wire.Event) { ch <- ev })
	}()
	return ch
}

// Collect runs a scenario and returns all its events.
func Collect(ctx context.Context, req Request) ([]wire.Event, error) {
	var evs []wire.Event
	err := Play(ctx, req, func(ev wire.Event) { evs = append(evs, ev) })
	return evs, err
}

// errReported marks an error already emitted as an event.
var errReported = errors.New("scenario error already reported")

// Run is one playing scenario: it merges the events of its connections
// into one stream and keeps them for the verdict.
type Run struct {
	Scenario Scenario
	Req      Request

	ctx    context.Context
	start  time.Time
	mu     sync.Mutex
	emitFn func(wire.Event)
	seq    int
	events []wire.Event

	decoyOnce sync.Once
	decoy     decoy
}

// Context is the scenario's context.
func (r *Run) Context() context.Context { return r.ctx }

// Emit numbers ev into the scenario's stream and passes it on. It is safe
// for concurrent use (a proxy's goroutines and the client's session).
func (r *Run) Emit(ev wire.Event) { r.emit(ev) }

// emit is Emit, returning the event as numbered.
func (r *Run) emit(ev wire.Event) wire.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	ev.Seq = r.seq
	ev.At = time.Since(r.start)
	r.events = append(r.events, ev)
	r.emitFn(ev)
	return ev
}

// EmitLeg returns an emit function that names leg on every event; for
// sessions.Run and proxies.
func (r *Run) EmitLeg(leg string) func(wire.Event) {
	return func(ev wire.Event) {
		ev.Leg = leg
		r.Emit(ev)
	}
}

// Events returns a copy of the events emitted so far.
func (r *Run) Events() []wire.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// StartLeg announces a new connection of the scenario: a note on leg whose
// text says what it is.
func (r *Run) StartLeg(leg, text string) {
	r.Emit(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Leg: leg, Annotation: "scenario.leg", Text: text})
}

// Note adds an explanation to leg ("" for the scenario as a whole).
func (r *Run) Note(leg, text, ann string) {
	r.Emit(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Leg: leg, Annotation: ann, Text: text})
}

// Error reports a failure of the scenario itself (not of one of its
// sessions, which report their own).
func (r *Run) Error(op string, err error) {
	r.Emit(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Annotation: sessions.ExplainOptions, Text: op + ": " + err.Error(),
		Err: &wire.ErrorInfo{Op: op, Message: err.Error(), Explain: sessions.ExplainOptions}})
}

// Verdict emits the scenario's finding. outcome is also the annotation
// key's last part ("verdict." + outcome); evidence names the events it
// rests on.
func (r *Run) Verdict(leg, outcome string, safe bool, text string, evidence ...int) {
	r.verdict(leg, outcome, safe, false, text, evidence)
}

// Result emits the finding of a scenario that shows how something works
// rather than testing for a flaw (compare, hops): a verdict marked
// Informational, headed "ℹ RESULT" instead of safe or unsafe.
func (r *Run) Result(leg, outcome string, safe bool, text string, evidence ...int) {
	r.verdict(leg, outcome, safe, true, text, evidence)
}

func (r *Run) verdict(leg, outcome string, safe, info bool, text string, evidence []int) {
	key := "verdict." + outcome
	if outcome == OutcomeCredentialsLeaked && r.decoyUsed() {
		// The password that crossed was the run's decoy (decoy.go): the
		// explanation must not tell the user their password leaked and
		// has to be changed.
		key = AnnotationLeakedDecoy
	}
	r.Emit(wire.Event{Kind: wire.KindVerdict, Dir: wire.Local, Layer: wire.LayerNote,
		Visible: wire.VisibleNone, Leg: leg, Annotation: key, Text: text,
		Verdict: &wire.Verdict{Scenario: r.Scenario.Name, Outcome: outcome, Safe: safe, Evidence: evidence, Informational: info}})
}

// Options returns session options for a canonical port of the Env: its
// address, protocol, TLS mode and role, with the Env's trust, credentials
// and bounds. Callers adjust the result (TLS mode, target of a proxy, …).
func (r *Run) Options(port int) (sessions.Options, error) {
	addr, ok := r.Req.Env.Addr(port)
	if !ok {
		return sessions.Options{}, fmt.Errorf("no server for port %d", port)
	}
	return r.Req.Env.options(addr, port)
}

func (e Env) options(addr string, port int) (sessions.Options, error) {
	o, err := sessions.OptionsForPort(addr, port)
	if err != nil {
		return o, err
	}
	o.ServerName = e.ServerName
	if e.RootCAs != nil {
		o.Verify, o.RootCAs = wire.VerifyPool, e.RootCAs
	}
	if e.CAFile != "" {
		o.Verify, o.CAFile = wire.VerifyCAFile, e.CAFile
	}
	if e.VerifyOff {
		o.Verify = wire.VerifyOff
	}
	o.Dial = e.Dial
	o.Username, o.Password = e.Username, e.Password
	o.EHLOName = e.EHLOName
	o.To, o.Fetch = e.Recipient, e.Fetch
	o.DialTimeout, o.ReadTimeout, o.SessionTimeout = e.DialTimeout, e.ReadTimeout, e.SessionTimeout
	o.MaxTLS = e.MaxTLS
	o.Budget = e.Budget
	o.Capture, o.KeyLog = e.Capture, e.KeyLog
	return o, nil
}

// Session runs one session of the scenario as leg and returns its events
// (as numbered in the scenario's stream) and the session's error. Against
// a server that is not the lab, a session that may expose its credentials
// logs in as the run's decoy (guardCredentials).
func (r *Run) Session(leg string, o sessions.Options) ([]wire.Event, error) {
	o = r.guardCredentials(o)
	var evs []wire.Event
	err := sessions.Run(r.ctx, o, func(ev wire.Event) {
		ev.Leg = leg
		evs = append(evs, r.emit(ev))
	})
	return evs, err
}
