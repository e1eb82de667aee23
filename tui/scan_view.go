package tui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/tlsprobe"
	"github.com/mailwire/mailwire/sessions/wire"
)

// scanWide is the width from which the selected finding's detail sits
// beside the list of findings instead of below it.
const scanWide = 110

// scanLayout is where the parts of the scan screen go.
type scanLayout struct {
	wide              bool
	listW, detailW    int
	listRows, detailH int
	headerH, portsH   int
}

func (s *scanScreen) layout() scanLayout {
	w, h := max(s.width, 1), max(s.height, 1)
	l := scanLayout{headerH: 2, portsH: len(s.ports()) + 1}
	rest := max(0, h-l.headerH-l.portsH-2) // a blank line and the findings heading
	if w >= scanWide {
		l.wide = true
		// As wide as the longest finding's line, from 56 cells up to half
		// the screen: at 160 columns the titles were cut at 56 while the
		// detail had 100.
		l.listW = min(max(56, s.widestFinding()), w/2)
		l.detailW = w - l.listW - 1
		l.listRows, l.detailH = rest, rest
		return l
	}
	l.listW, l.detailW = w, w
	l.listRows = max(3, rest*2/5)
	l.detailH = max(0, rest-l.listRows-1) // a rule between them
	return l
}

// ports are the ports shown: the request's, in its order.
func (s *scanScreen) ports() []int { return s.req.Ports }

// View renders the screen.
func (s *scanScreen) View() string {
	st := s.c.Styles
	w, h := max(s.width, 1), max(s.height, 1)
	l := s.layout()
	var lines []string
	lines = append(lines, ansi.Truncate(st.Title.Render("scan "+wire.SafeString(s.req.Host)), w, "…"))
	lines = append(lines, ansi.Truncate(s.statusLine(), w, "…"))
	lines = append(lines, s.portLines(w)...)
	lines = append(lines, "")
	lines = append(lines, ansi.Truncate(st.Heading.Render(s.findingsHeading()), w, "…"))
	list := s.listLines(l)
	detail := s.detailLines(l)
	if l.wide {
		for i := range max(len(list), len(detail)) {
			left := strings.Repeat(" ", l.listW)
			if i < len(list) {
				left = list[i]
			}
			right := ""
			if i < len(detail) {
				right = detail[i]
			}
			lines = append(lines, left+" "+right)
		}
	} else {
		lines = append(lines, list...)
		if len(detail) > 0 {
			lines = append(lines, st.Muted.Render(strings.Repeat("─", w)))
		}
		lines = append(lines, detail...)
	}
	if len(lines) > h {
		lines = lines[:h]
	}
	return strings.Join(lines, "\n")
}

// statusLine says how the scan is going, or went.
func (s *scanScreen) statusLine() string {
	st := s.c.Styles
	sni := ""
	if s.req.ServerName != "" {
		sni = " · SNI " + wire.SafeString(s.req.ServerName)
	}
	switch {
	case s.err != nil:
		return st.Error.Render("scan failed: " + wire.SafeString(s.err.Error()))
	case s.report != nil:
		text := fmt.Sprintf("%d ports in %s%s · %s", len(s.report.Ports), wire.FormatDuration(s.report.Elapsed), sni,
			scan.Verdict(s.report.Findings))
		switch s.report.Worst {
		case scan.Bad:
			return st.Error.Render(text)
		case scan.Warn:
			return st.Warning.Render(text)
		}
		return st.OK.Render(text)
	}
	return st.Muted.Render(fmt.Sprintf("scanning %d ports at once%s · %s", len(s.ports()), sni,
		s.now().Sub(s.started).Round(100*time.Millisecond)))
}

// portLines is one line per port: its progress while the scan runs, what
// it speaks and how it fared once done.
func (s *scanScreen) portLines(w int) []string {
	st := s.c.Styles
	out := []string{ansi.Truncate(st.Header.Render(fmt.Sprintf(" %-5s %-11s %s", "PORT", "SPEAKS", s.portColumn())), w, "…")}
	for _, p := range s.ports() {
		var line string
		if pr := s.portReport(p); pr != nil {
			line = s.portDone(pr)
		} else {
			line = s.portRunning(p)
		}
		out = append(out, ansi.Truncate(line, w, "…"))
	}
	return out
}

func (s *scanScreen) portColumn() string {
	if s.report != nil {
		return "TLS VERSIONS · SUITES · FINDINGS"
	}
	return "PROGRESS"
}

func (s *scanScreen) portReport(port int) *scan.PortReport {
	if s.report == nil {
		return nil
	}
	for _, pr := range s.report.Ports {
		if pr.Port == port {
			return pr
		}
	}
	return nil
}

// portRunning is a port's line while the scan runs: the steps finished
// and the TLS probes so far.
func (s *scanScreen) portRunning(port int) string {
	st := s.c.Styles
	pp := s.progress[port]
	if pp == nil {
		pp = &portProgress{}
	}
	var steps []string
	for _, step := range pp.steps {
		if step != "done" {
			steps = append(steps, "✓"+step)
		}
	}
	state := "…"
	if pp.done {
		state = "done"
	}
	text := fmt.Sprintf(" %-5d %-11s %s %d TLS probes, %d suites accepted", port, state, strings.Join(steps, " "), pp.probes, pp.accepted)
	if pp.done {
		return st.Text.Render(text)
	}
	return st.Muted.Render(text)
}

// portDone is a port's line once the report is in.
func (s *scanScreen) portDone(pr *scan.PortReport) string {
	st := s.c.Styles
	speaks := pr.State
	if pr.State == scan.StateOpen {
		switch pr.Mode {
		case scan.ModeCleartext:
			speaks = "STARTTLS"
			if pr.StartTLS != nil && !*pr.StartTLS {
				speaks = "cleartext"
			}
		case scan.ModeTLS:
			speaks = "TLS"
		default:
			speaks = pr.Mode
		}
	}
	versions, suites := "-", 0
	if r := pr.TLS; r != nil && r.Error == "" {
		var vs []string
		for _, v := range r.Versions {
			if v.Supported {
				vs = append(vs, shortVersion(v))
			}
			suites += len(v.Suites)
		}
		versions = strings.Join(vs, " ")
	}
	bad, warn := 0, 0
	for _, f := range s.report.Findings {
		if f.Port != pr.Port {
			continue
		}
		switch f.Grade {
		case scan.Bad:
			bad++
		case scan.Warn:
			warn++
		}
	}
	text := fmt.Sprintf(" %-5d %-11s %-12s %3d suites  ", pr.Port, speaks, versions, suites)
	switch {
	case bad > 0:
		return st.Text.Render(text) + st.Error.Render(fmt.Sprintf("✗ %d bad", bad)) + st.Warning.Render(warnCount(warn))
	case warn > 0:
		return st.Text.Render(text) + st.Warning.Render(strings.TrimPrefix(warnCount(warn), " "))
	case pr.State != scan.StateOpen:
		return st.Muted.Render(text + "-")
	}
	return st.Text.Render(text) + st.OK.Render("✓ ok")
}

func warnCount(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" ⚠ %d warn", n)
}

func shortVersion(v tlsprobe.VersionResult) string {
	return strings.TrimPrefix(strings.TrimPrefix(v.Name, "TLS "), "SSL ")
}

func (s *scanScreen) findingsHeading() string {
	if s.report == nil {
		return "Findings: when every port is done"
	}
	return fmt.Sprintf("Findings (%d), the worst first", len(s.findings))
}

// findingLine is a finding's line in the list, before it is cut to the
// list's width.
func findingLine(f scan.Finding) string {
	where := "host"
	if f.Port != 0 {
		where = fmt.Sprint(f.Port)
	}
	return fmt.Sprintf(" %s %-4s %s", gradeGlyph(f.Grade), where, f.Title)
}

// widestFinding is the width of the longest finding's line.
func (s *scanScreen) widestFinding() int {
	w := 0
	for _, f := range s.findings {
		w = max(w, ansi.StringWidth(findingLine(f)))
	}
	return w
}

// listLines is the list of findings, listRows lines of listW cells.
func (s *scanScreen) listLines(l scanLayout) []string {
	st := s.c.Styles
	var out []string
	for i := s.top; i < len(s.findings) && len(out) < l.listRows; i++ {
		f := s.findings[i]
		text := ansi.Truncate(findingLine(f), l.listW, "…")
		text += strings.Repeat(" ", max(0, l.listW-ansi.StringWidth(text)))
		switch {
		case i == s.sel:
			out = append(out, st.Selected.Render(text))
		case f.Grade == scan.Bad:
			out = append(out, st.Error.Render(text))
		case f.Grade == scan.Warn:
			out = append(out, st.Warning.Render(text))
		default:
			out = append(out, st.Text.Render(text))
		}
	}
	for len(out) < l.listRows && l.wide {
		out = append(out, strings.Repeat(" ", l.listW))
	}
	return out
}

func gradeGlyph(g scan.Grade) string {
	switch g {
	case scan.Bad:
		return "✗"
	case scan.Warn:
		return "⚠"
	}
	return "✓"
}

// detailLines is the selected finding: its grade, title, the facts, the
// source, what it means and what to change, and the session enter opens.
func (s *scanScreen) detailLines(l scanLayout) []string {
	st := s.c.Styles
	f, ok := s.selected()
	if !ok || l.detailH == 0 {
		return nil
	}
	w := max(l.detailW-1, 10)
	var lines []string
	add := func(style lipgloss.Style, text string) {
		for _, ln := range strings.Split(wrapText(text, w), "\n") {
			lines = append(lines, style.Render(ln))
		}
	}
	where := "the host"
	if f.Port != 0 {
		where = fmt.Sprintf("port %d", f.Port)
	}
	if f.Host != "" {
		where += " of " + f.Host
	}
	head := fmt.Sprintf("%s · %s", scan.Headline(f.Grade), where)
	switch f.Grade {
	case scan.Bad:
		add(st.Error, head)
	case scan.Warn:
		add(st.Warning, head)
	default:
		add(st.OK, head)
	}
	add(st.Heading, f.Title)
	add(st.Text, f.Detail)
	if f.Source != "" {
		add(st.Muted, "Source: "+f.Source)
	}
	if a, ok := content.Lookup(f.Key); ok {
		if a.Risk != "" {
			add(st.Warning, "Risk: "+a.Risk)
		}
		for _, para := range strings.Split(a.Text, "\n\n") {
			add(st.Text, para)
		}
		if a.Fix != "" {
			add(st.Text, "Fix: "+a.Fix)
		}
	}
	switch {
	case f.Show != nil && s.c.OpenSession != nil:
		what := fmt.Sprintf("port %d's session", f.Show.Port)
		if f.Show.Scenario != "" {
			what = fmt.Sprintf("the %s scenario on port %d", f.Show.Scenario, f.Show.Port)
		}
		if w := showWords(f.Show.TLS); w != "" {
			what += ", " + w
		}
		add(st.Muted, "enter: show it on the wire, in "+what)
	case f.Show == nil:
		add(st.Muted, noShowWords(f))
	}
	top := min(s.detailTop, max(0, len(lines)-1))
	lines = lines[top:]
	if len(lines) > l.detailH {
		lines = lines[:l.detailH]
	}
	return lines
}
