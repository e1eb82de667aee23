package tui

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/sessions/scan"
)

// scanFixture is a scan of the lab's eight ports with its 587 in the
// careless mode that checks a login before TLS (a bad finding), addresses
// and times made fixed (testdata/scan_report.json).
func scanFixture(t testing.TB) *scan.Report {
	t.Helper()
	b, err := os.ReadFile("testdata/scan_report.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep scan.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep
}

func scanRequestOf(rep *scan.Report) ScanRequest {
	req := ScanRequest{Host: rep.Host, ServerName: rep.ServerName, CAFile: "/tmp/lab ca.pem", Addrs: map[int]string{}}
	for _, pr := range rep.Ports {
		req.Ports = append(req.Ports, pr.Port)
		req.Addrs[pr.Port] = pr.Addr
	}
	return req
}

// fakeScans is an OpenScan that sends canned progress, then the report
// (unless hold), and records what it was asked.
type fakeScans struct {
	mu       sync.Mutex
	rep      *scan.Report
	progress []scan.Progress
	hold     bool
	reqs     []ScanRequest
	ctxs     []context.Context
}

func (f *fakeScans) open(ctx context.Context, req ScanRequest) (<-chan ScanUpdate, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	f.ctxs = append(f.ctxs, ctx)
	ch := make(chan ScanUpdate, len(f.progress)+1)
	for _, p := range f.progress {
		ch <- ScanUpdate{Progress: &p}
	}
	if !f.hold {
		ch <- ScanUpdate{Report: f.rep}
		close(ch)
	}
	return ch, nil
}

// newScanModel is `mailwire scan` on a terminal: the root opened on the
// scan screen, its scan run through f.
func newScanModel(t testing.TB, w, h int, f *fakeScans, sess *fakeSessions) *Model {
	t.Helper()
	req := scanRequestOf(f.rep)
	m := newModel(Options{Scan: &req, OpenScan: f.open, OpenSession: sess.open})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	pump(t, m, m.screens[screenScan].Init())
	return m
}

func scanScr(m *Model) *scanScreen { return m.screens[screenScan].(*scanScreen) }

func TestScanScreenProgress(t *testing.T) {
	rep := scanFixture(t)
	f := &fakeScans{rep: rep, hold: true, progress: []scan.Progress{
		{Port: 587, Step: "session"}, {Port: 587, Step: "probe", Probes: 12, Accepted: 5},
		{Port: 993, Step: "tls", Probes: 30, Accepted: 8}, {Port: 993, Step: "done", Probes: 30, Accepted: 8},
	}}
	m := newScanModel(t, 100, 30, f, &fakeSessions{})
	if m.active != screenScan {
		t.Fatalf("active screen %v", m.active)
	}
	out := plain(m)
	for _, want := range []string{"scanning 8 ports at once", "587   …           ✓session 12 TLS probes, 5 suites accepted",
		"993   done        ✓tls 30 TLS probes, 8 suites accepted", "Findings: when every port is done"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	if len(f.reqs) != 1 || f.reqs[0].Host != rep.Host || len(f.reqs[0].Ports) != 8 {
		t.Errorf("scan requests %+v", f.reqs)
	}
}

func TestScanScreenReport(t *testing.T) {
	rep := scanFixture(t)
	m := newScanModel(t, 120, 40, &fakeScans{rep: rep}, &fakeSessions{})
	s := scanScr(m)
	if s.report == nil || len(s.findings) != len(rep.Findings) {
		t.Fatalf("report %v, %d findings", s.report != nil, len(s.findings))
	}
	// The worst first, each grade in port order.
	for i := 1; i < len(s.findings); i++ {
		rank := map[scan.Grade]int{scan.Bad: 0, scan.Warn: 1, scan.OK: 2}
		if rank[s.findings[i].Grade] < rank[s.findings[i-1].Grade] {
			t.Fatalf("finding %d (%s) after a %s one", i, s.findings[i].Grade, s.findings[i-1].Grade)
		}
	}
	if s.findings[0].Grade != scan.Bad || s.findings[0].Key != scan.KeyLoginChecked {
		t.Errorf("first finding %+v", s.findings[0])
	}
	out := plain(m)
	for _, want := range []string{"1 bad finding", "587   STARTTLS", "✗ 1 bad", "✗ 587  The server checked a password sent before TLS",
		"Source: RFC 4954 §4", "enter: show it on the wire, in the too-early scenario"} {
		if !strings.Contains(out, want) {
			t.Errorf("view lacks %q:\n%s", want, out)
		}
	}
	mustUpdate(t, m, keyText('j'))
	if s.sel != 1 || !strings.Contains(plain(m), "▏") && s.sel != 1 {
		t.Errorf("j: selection %d", s.sel)
	}
	mustUpdate(t, m, keyText('G'))
	if s.sel != len(s.findings)-1 {
		t.Errorf("G: selection %d of %d", s.sel, len(s.findings))
	}
	mustUpdate(t, m, keyText('g'))
	if s.sel != 0 || s.top != 0 {
		t.Errorf("g: selection %d, top %d", s.sel, s.top)
	}
}

// TestScanScreenOpensSession: enter on a finding opens the session that
// shows it (here the too-early scenario on 587, against the address
// scanned, with the scan's SNI and CA), and esc from that session comes
// back to the findings.
func TestScanScreenOpensSession(t *testing.T) {
	rep := scanFixture(t)
	sess := &fakeSessions{evs: fixture587()}
	m := newScanModel(t, 120, 40, &fakeScans{rep: rep}, sess)
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenSession || len(sess.reqs) != 1 {
		t.Fatalf("active %v, %d session requests", m.active, len(sess.reqs))
	}
	got := sess.reqs[0]
	want := SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls", Label: "scan",
		Scenario: "too-early", ServerName: rep.ServerName, CAFile: "/tmp/lab ca.pem"}
	if got != want {
		t.Errorf("session request %+v, want %+v", got, want)
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenScan {
		t.Errorf("esc from the session: active %v, want the scan screen", m.active)
	}
	// A finding about the host as a whole has no session to show.
	s := scanScr(m)
	for i, f := range s.findings {
		if f.Show == nil {
			s.sel = i
			if cmd := mustUpdate(t, m, keyCode(tea.KeyEnter)); cmd != nil {
				t.Errorf("enter on %s returned a command", f.Key)
			}
			break
		}
	}
}

// TestScanScreenRerun: r starts a new run; the old run's context is
// cancelled and its messages, arriving late, are dropped by id.
func TestScanScreenRerun(t *testing.T) {
	rep := scanFixture(t)
	f := &fakeScans{rep: rep}
	m := newScanModel(t, 120, 40, f, &fakeSessions{})
	s := scanScr(m)
	old := s.id
	f.hold = true
	pump(t, m, mustUpdate(t, m, keyText('r')))
	if s.id == old || len(f.ctxs) != 2 || s.report != nil {
		t.Fatalf("rerun: id %d→%d, %d runs, report %v", old, s.id, len(f.ctxs), s.report != nil)
	}
	mustUpdate(t, m, scanUpdateMsg{id: old, upd: ScanUpdate{Report: rep}})
	if s.report != nil {
		t.Error("a stale run's report was taken")
	}
	pump(t, m, mustUpdate(t, m, keyText('r')))
	if f.ctxs[1].Err() == nil {
		t.Error("the replaced run was not cancelled")
	}
	mustUpdate(t, m, scanUpdateMsg{id: s.id, closed: true})
	if s.err == nil || !strings.Contains(plain(m), "scan failed") {
		t.Errorf("a run that ends without a report: err %v", s.err)
	}
}

// TestScanFromPortTable: esc leads to the port table in target mode
// against the scanned host, whose s scans it again.
func TestScanFromPortTable(t *testing.T) {
	rep := scanFixture(t)
	rep.Host = "mail.example.test"
	for _, pr := range rep.Ports {
		pr.Addr = fmt.Sprintf("mail.example.test:%d", pr.Port)
	}
	f := &fakeScans{rep: rep}
	m := newScanModel(t, 120, 40, f, &fakeSessions{})
	if m.common.Target == nil || m.common.Target.host() != "mail.example.test" {
		t.Fatalf("target %+v", m.common.Target)
	}
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	if m.active != screenPorts {
		t.Fatalf("esc: active %v", m.active)
	}
	if !strings.Contains(ansi.Strip(m.fullHelpView(ports(m).FullHelp())), "scan host") {
		t.Error("the port table's help lacks the scan key")
	}
	pump(t, m, mustUpdate(t, m, keyText('s')))
	if m.active != screenScan || len(f.reqs) != 2 || f.reqs[1].Host != "mail.example.test" ||
		f.reqs[1].Addrs[993] != "mail.example.test:993" || len(f.reqs[1].Ports) != 7 {
		t.Errorf("s: active %v, requests %+v", m.active, f.reqs)
	}
	// The lab scanned on its own ports is no target for the port table.
	lab := scanRequestOf(scanFixture(t))
	if lab.canonical() {
		t.Error("the lab's ports taken for canonical ones")
	}
}

func TestScanGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := newScanModel(t, size[0], size[1], &fakeScans{rep: scanFixture(t)}, &fakeSessions{})
			mustUpdate(t, m, keyText('j'))
			golden.RequireEqual(t, withProfile(t, m.View().Content, colorprofile.ANSI256))
		})
	}
}

// TestScanViewFitsEverySize: no line wider than the terminal, no more lines
// than it has, running and done.
func TestScanViewFitsEverySize(t *testing.T) {
	for _, size := range [][2]int{{20, 8}, {60, 16}, {80, 24}, {109, 30}, {110, 30}, {200, 60}} {
		for _, hold := range []bool{true, false} {
			m := newScanModel(t, size[0], size[1], &fakeScans{rep: scanFixture(t), hold: hold}, &fakeSessions{})
			for _, k := range []tea.Msg{nil, keyText('j'), keyText('J'), keyText('G')} {
				if k != nil {
					mustUpdate(t, m, k)
				}
				lines := strings.Split(plain(m), "\n")
				if len(lines) > size[1] {
					t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
				}
				for _, l := range lines {
					if w := ansi.StringWidth(l); w > size[0] {
						t.Errorf("%dx%d: a line of %d cells: %q", size[0], size[1], w, l)
					}
				}
			}
		}
	}
}
