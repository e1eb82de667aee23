package tui

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// The scan screen: a host's ports scanned at once (sessions/scan), with
// each port's progress while it runs, then the graded findings, the
// worst first. Enter on a finding opens the session that shows it on the
// wire: the port's own session, or the scenario the finding comes from
// (the login before TLS, the STARTTLS injection). The scan itself runs in
// Options.OpenScan, outside the screen; its progress and report arrive as
// messages routed by the run's id.

// ScanRequest says which host to scan: `mailwire scan HOST` on a
// terminal, or the port table against the target in target mode.
type ScanRequest struct {
	// Host is the host scanned, for the header.
	Host string
	// Ports are the canonical ports scanned, in order, and Addrs the
	// address of each (the lab serves 587 on 10587): the progress rows
	// before anything is known.
	Ports []int
	Addrs map[int]string
	// ServerName and CAFile are the target's (the sessions a finding
	// opens check the certificate the same way).
	ServerName, CAFile string
}

// canonical says whether every port was scanned on the host's canonical
// port number (not the lab's 10587 for 587).
func (r ScanRequest) canonical() bool {
	for _, p := range r.Ports {
		if r.Addrs[p] != net.JoinHostPort(r.Host, strconv.Itoa(p)) {
			return false
		}
	}
	return r.Host != ""
}

// ScanUpdate is one message of a running scan: a port's progress, or the
// report once it is done.
type ScanUpdate struct {
	Progress *scan.Progress
	Report   *scan.Report
}

// openScanMsg asks the root to show a scan screen for req.
type openScanMsg struct{ req ScanRequest }

// scanOpenedMsg says how starting a scan went; scanUpdateMsg carries one
// update of the run id (closed: the run's channel closed).
type scanOpenedMsg struct {
	id     int
	ch     <-chan ScanUpdate
	cancel context.CancelFunc
	err    error
}

type scanUpdateMsg struct {
	id     int
	upd    ScanUpdate
	closed bool
}

// portProgress is what is known of one port while the scan runs.
type portProgress struct {
	steps            []string // the steps finished, in order
	probes, accepted int
	done             bool
}

type scanScreen struct {
	c   *Common
	req ScanRequest

	id     int
	ch     <-chan ScanUpdate
	cancel context.CancelFunc
	err    error

	started, ended time.Time
	now            func() time.Time

	progress map[int]*portProgress
	report   *scan.Report
	findings []scan.Finding // the report's, the worst first
	sel, top int
	// detailTop is the first line of the detail pane shown.
	detailTop int

	width, height int
}

func newScanScreen(c *Common, req ScanRequest) *scanScreen {
	return &scanScreen{c: c, req: req, now: time.Now, progress: map[int]*portProgress{},
		width: defaultWidth, height: defaultHeight}
}

// Init starts the scan.
func (s *scanScreen) Init() tea.Cmd { return s.run() }

// run (re)starts the scan under a new id; messages of an earlier run are
// dropped by id, and its context is cancelled so its producer stops.
func (s *scanScreen) run() tea.Cmd {
	s.stop()
	s.id = s.c.nextRun()
	s.err, s.report, s.findings, s.sel, s.top, s.detailTop = nil, nil, nil, 0, 0, 0
	s.progress = map[int]*portProgress{}
	s.started, s.ended = s.now(), time.Time{}
	open, id, req, parent := s.c.OpenScan, s.id, s.req, s.c.Ctx
	if open == nil {
		s.err = errNoScanner
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithCancel(parent)
		ch, err := open(ctx, req)
		if err != nil {
			cancel()
			return scanOpenedMsg{id: id, err: err}
		}
		return scanOpenedMsg{id: id, ch: ch, cancel: cancel}
	}
}

// stop cancels the running scan, if any.
func (s *scanScreen) stop() {
	if s.cancel != nil {
		s.cancel()
		s.cancel = nil
	}
	s.ch = nil
}

// Why a scan screen shows no report.
var (
	errNoScanner = errors.New("this program cannot run scans")
	errScanEnded = errors.New("the scan ended without a report")
)

// wait reads the next update of a run.
func waitScan(id int, ch <-chan ScanUpdate) tea.Cmd {
	return func() tea.Msg {
		u, ok := <-ch
		return scanUpdateMsg{id: id, upd: u, closed: !ok}
	}
}

// SetSize sets the area the screen may draw in.
func (s *scanScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.clamp()
}

func (s *scanScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case scanOpenedMsg:
		if msg.id != s.id {
			if msg.cancel != nil {
				msg.cancel() // a run replaced before it started
			}
			return s, nil
		}
		if msg.err != nil {
			s.err, s.ended = msg.err, s.now()
			return s, nil
		}
		s.cancel, s.ch = msg.cancel, msg.ch
		return s, waitScan(msg.id, msg.ch)
	case scanUpdateMsg:
		if msg.id != s.id {
			return s, nil
		}
		if msg.closed {
			if s.report == nil && s.err == nil {
				s.err = errScanEnded
			}
			if s.ended.IsZero() {
				s.ended = s.now()
			}
			s.stop()
			return s, nil
		}
		s.apply(msg.upd)
		return s, s.next(msg)
	case tea.KeyPressMsg:
		return s, s.key(msg)
	}
	return s, nil
}

// next keeps reading the run's channel.
func (s *scanScreen) next(msg scanUpdateMsg) tea.Cmd {
	if s.ch == nil {
		return nil
	}
	return waitScan(msg.id, s.ch)
}

// apply takes one update into the screen's state.
func (s *scanScreen) apply(u ScanUpdate) {
	if p := u.Progress; p != nil {
		pp := s.progress[p.Port]
		if pp == nil {
			pp = &portProgress{}
			s.progress[p.Port] = pp
		}
		pp.probes, pp.accepted = p.Probes, p.Accepted
		if p.Step != "probe" && !slices.Contains(pp.steps, p.Step) {
			pp.steps = append(pp.steps, p.Step)
		}
		if p.Step == "done" {
			pp.done = true
		}
	}
	if r := u.Report; r != nil {
		s.report = r
		s.ended = s.now()
		s.findings = sortFindings(r.Findings)
		s.sel, s.top, s.detailTop = 0, 0, 0
	}
}

// sortFindings orders findings the worst first, keeping each grade's in
// the report's order (by port).
func sortFindings(fs []scan.Finding) []scan.Finding {
	rank := map[scan.Grade]int{scan.Bad: 0, scan.Warn: 1, scan.OK: 2}
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b scan.Finding) int { return rank[a.Grade] - rank[b.Grade] })
	return out
}

// key handles a key press.
func (s *scanScreen) key(msg tea.KeyPressMsg) tea.Cmd {
	k := s.c.Keys
	switch {
	case key.Matches(msg, k.Up):
		s.sel--
		s.detailTop = 0
	case key.Matches(msg, k.Down):
		s.sel++
		s.detailTop = 0
	case key.Matches(msg, k.Top):
		s.sel, s.detailTop = 0, 0
	case key.Matches(msg, k.Bottom):
		s.sel, s.detailTop = len(s.findings)-1, 0
	case key.Matches(msg, k.DetailUp):
		s.detailTop = max(0, s.detailTop-3)
	case key.Matches(msg, k.DetailDown):
		s.detailTop += 3
	case key.Matches(msg, k.Open):
		if req, ok := s.sessionRequest(); ok {
			return func() tea.Msg { return openSessionMsg{req: req} }
		}
	case key.Matches(msg, k.Rerun):
		return s.run()
	case key.Matches(msg, k.Back):
		return func() tea.Msg { return switchScreenMsg{to: screenPorts} }
	}
	s.clamp()
	return nil
}

// clamp keeps the selection and the list's first line in range.
func (s *scanScreen) clamp() {
	s.sel = max(0, min(s.sel, len(s.findings)-1))
	rows := s.layout().listRows
	if s.sel < s.top {
		s.top = s.sel
	}
	if rows > 0 && s.sel >= s.top+rows {
		s.top = s.sel - rows + 1
	}
	s.top = max(0, min(s.top, max(0, len(s.findings)-rows)))
}

// selected returns the selected finding.
func (s *scanScreen) selected() (scan.Finding, bool) {
	if s.sel < 0 || s.sel >= len(s.findings) {
		return scan.Finding{}, false
	}
	return s.findings[s.sel], true
}

// sessionRequest is the session that shows the selected finding: its
// port's session, or its scenario, against the address scanned; held to
// the TLS version, suites or ALPN protocol of the probe that found it
// (scan.ShowTLS), so that its handshake is the finding's.
func (s *scanScreen) sessionRequest() (SessionRequest, bool) {
	f, ok := s.selected()
	if !ok || f.Show == nil || s.c.OpenSession == nil {
		return SessionRequest{}, false
	}
	o, err := sessions.OptionsForPort(f.Show.Addr, f.Show.Port)
	if err != nil {
		return SessionRequest{}, false
	}
	req := SessionRequest{Port: f.Show.Port, Target: f.Show.Addr, Proto: o.Proto, TLSMode: string(o.TLSMode),
		Label: "scan", Scenario: f.Show.Scenario, ServerName: s.req.ServerName, CAFile: s.req.CAFile}
	if t := f.Show.TLS; t != nil {
		req.TLS = &scan.ShowTLS{Version: t.Version, CipherSuites: slices.Clone(t.CipherSuites), ALPN: slices.Clone(t.ALPN)}
		req.Label = "scan, " + tlsmsg.VersionName(t.Version) + " only"
	}
	return req, true
}

// showWords says what a finding's session is held to ("TLS 1.2 only,
// offering TLS_RSA_WITH_3DES_EDE_CBC_SHA"), "" for a plain session.
func showWords(t *scan.ShowTLS) string {
	if t == nil {
		return ""
	}
	w := tlsmsg.VersionName(t.Version) + " only"
	if n := len(t.CipherSuites); n > 0 {
		w += ", offering " + tlsmsg.CipherSuiteName(t.CipherSuites[0])
		if n > 1 {
			w += fmt.Sprintf(" and %d more of the suites found", n-1)
		}
	}
	if len(t.ALPN) > 0 {
		w += ", offering only ALPN " + strconv.Quote(strings.Join(t.ALPN, ", "))
	}
	return w
}

// noShowShort is noShowWords for the footer: as short as "show
// session", so that at 80 columns the footer keeps its other keys (the
// detail says why, with the number of probes).
func noShowShort(scan.Finding) string { return "no session here" }

// noShowWords says why the selected finding opens no session.
func noShowWords(f scan.Finding) string {
	if f.Probes > 0 {
		return fmt.Sprintf("no session shows this finding: it comes from %d TLS probes", f.Probes)
	}
	// The findings of no port's probes are the host's: a certificate
	// per port, an implicit-TLS port missing beside a STARTTLS one.
	return "no session shows this finding: it compares what the ports showed"
}

// ShortHelp lists the screen's most used keys.
func (s *scanScreen) ShortHelp() []key.Binding {
	k := s.c.Keys
	open := k.Open
	open.SetHelp("enter", "show session")
	if f, ok := s.selected(); ok && f.Show == nil {
		// enter does nothing here; the footer says why, short enough for
		// 80 columns (the detail says it whole).
		open.SetHelp("enter", noShowShort(f))
	}
	move := k.Up
	move.SetHelp("↑↓/kj", "finding")
	return []key.Binding{open, move, k.Rerun, k.Back}
}

// FullHelp lists every key of the screen.
func (s *scanScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	open := k.Open
	open.SetHelp("enter", "show session")
	if f, ok := s.selected(); ok && f.Show == nil {
		// enter does nothing here; the footer says why, short enough for
		// 80 columns (the detail says it whole).
		open.SetHelp("enter", noShowShort(f))
	}
	return [][]key.Binding{{k.Up, k.Down, k.Top, k.Bottom}, {k.DetailUp, k.DetailDown}, {open, k.Rerun, k.Back}}
}
