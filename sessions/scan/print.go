package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/tlsprobe"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The printers of a report: text for a terminal, Markdown for a ticket,
// JSON for scripts. Every string a server sent was sanitized where it
// entered the report; the printers escape what their format needs on top
// (Markdown table cells).

// Headline is a grade in words that read without colour.
func Headline(g Grade) string {
	switch g {
	case Bad:
		return "✗ bad"
	case Warn:
		return "⚠ warn"
	}
	return "✓ ok"
}

// counts returns the number of bad and warning findings.
func counts(fs []Finding) (bad, warn int) {
	for _, f := range fs {
		switch f.Grade {
		case Bad:
			bad++
		case Warn:
			warn++
		}
	}
	return bad, warn
}

// Verdict says in one line how a scan went.
func Verdict(fs []Finding) string {
	bad, warn := counts(fs)
	switch {
	case bad > 0:
		return fmt.Sprintf("%s, %s: something is unsafe", plural(bad, "bad finding"), plural(warn, "warning"))
	case warn > 0:
		return fmt.Sprintf("nothing bad, %s", plural(warn, "warning"))
	}
	return "every finding is ok"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// JSON writes the report as one indented JSON document.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Text writes a host report for a terminal, wrapped at width columns.
func Text(w io.Writer, rep *Report, width int) error {
	p := &printer{w: w, width: max(width, 60)}
	p.wrapped(fmt.Sprintf("mailwire scan %s (certificates checked for %s): %s in %s", rep.Host, rep.ServerName,
		plural(len(rep.Ports), "port"), wire.FormatDuration(rep.Elapsed)))
	p.wrapped(Verdict(rep.Findings))
	p.linef("")
	p.portTable(rep.Ports)
	for _, pr := range rep.Ports {
		p.linef("")
		p.wrapped(fmt.Sprintf("Port %d (%s): %s, %s", pr.Port, pr.Addr, pr.Proto, roleWords(pr)))
		p.findings(rep.Findings, func(f Finding) bool { return f.Port == pr.Port && f.Host == "" })
	}
	p.linef("")
	p.linef("Host")
	p.findings(rep.Findings, func(f Finding) bool { return f.Port == 0 })
	return p.err
}

// DomainText writes a domain report for a terminal.
func DomainText(w io.Writer, rep *DomainReport, width int) error {
	p := &printer{w: w, width: max(width, 60)}
	p.wrapped(fmt.Sprintf("mailwire scan --domain %s: %s in %s", rep.Domain, plural(len(rep.MX), "MX host"), wire.FormatDuration(rep.Elapsed)))
	p.wrapped(Verdict(rep.Findings))
	p.linef("")
	p.linef("DNS and policy")
	p.findings(rep.Findings, func(f Finding) bool { return f.Port == 0 })
	for _, mx := range rep.MX {
		p.linef("")
		p.wrapped(fmt.Sprintf("MX %s (%s), port 25", mx.Host, orDash(mx.Addr)))
		p.findings(rep.Findings, func(f Finding) bool { return f.Port == 25 && f.Host == mx.Host })
	}
	return p.err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// roleWords says what a port is for.
func roleWords(pr *PortReport) string {
	mode := "STARTTLS"
	if pr.Expected == "implicit" {
		mode = "implicit TLS"
	}
	switch pr.Role {
	case "transfer":
		return "transfer between MTAs (" + mode + ", opportunistic)"
	case "submission":
		return "submission (" + mode + ")"
	case "retrieval":
		return "mailbox access (" + mode + ")"
	}
	return pr.Role + " (" + mode + ")"
}

type printer struct {
	w     io.Writer
	width int
	err   error
}

// wrapped writes text wrapped at the printer's width.
func (p *printer) wrapped(text string) {
	for _, l := range wrap(text, p.width) {
		p.linef("%s", l)
	}
}

func (p *printer) linef(format string, args ...any) {
	if p.err != nil {
		return
	}
	_, p.err = fmt.Fprintf(p.w, format+"\n", args...)
}

// findings prints the findings keep selects: the grade and title, then the
// detail and the source, wrapped and indented.
func (p *printer) findings(fs []Finding, keep func(Finding) bool) {
	n := 0
	for _, f := range fs {
		if !keep(f) {
			continue
		}
		n++
		p.linef("  %-7s %s", Headline(f.Grade), f.Title)
		for _, l := range wrap(f.Detail, p.width-10) {
			p.linef("          %s", l)
		}
		if f.Source != "" {
			for _, l := range wrap("source: "+f.Source, p.width-10) {
				p.linef("          %s", l)
			}
		}
	}
	if n == 0 {
		p.linef("  (nothing)")
	}
}

// portTable is one line per port: what it speaks and how it fared.
func (p *printer) portTable(ports []*PortReport) {
	line := func(s string) { p.linef("%s", wire.Truncate(s, p.width-1)) }
	line(fmt.Sprintf("%-5s %-11s %-10s %-12s %-6s %s", "PORT", "STATE", "SPEAKS", "TLS", "SUITES", "CERTIFICATE"))
	for _, pr := range ports {
		line(fmt.Sprintf("%-5d %-11s %-10s %-12s %-6s %s", pr.Port, pr.State, spokeWords(pr), versionsWords(pr.TLS), suitesWords(pr.TLS), certWords(pr)))
	}
}

func spokeWords(pr *PortReport) string {
	switch {
	case pr.State != StateOpen:
		return "-"
	case pr.Mode == ModeCleartext && pr.StartTLS != nil && !*pr.StartTLS:
		return "cleartext"
	case pr.Mode == ModeCleartext && pr.Expected == "implicit":
		return "cleartext!"
	case pr.Mode == ModeCleartext:
		return "STARTTLS"
	case pr.Mode == ModeTLS:
		return "TLS"
	}
	return pr.Mode
}

func versionsWords(r *tlsprobe.PortResult) string {
	if r == nil || r.Error != "" {
		return "-"
	}
	var vs []string
	for _, v := range r.Versions {
		if v.Supported {
			vs = append(vs, strings.TrimPrefix(strings.TrimPrefix(v.Name, "TLS "), "SSL "))
		}
	}
	if len(vs) == 0 {
		return "none"
	}
	return strings.Join(vs, " ")
}

func suitesWords(r *tlsprobe.PortResult) string {
	if r == nil || r.Error != "" {
		return "-"
	}
	n := 0
	for _, v := range r.Versions {
		n += len(v.Suites)
	}
	return fmt.Sprint(n)
}

func certWords(pr *PortReport) string {
	cs := chainsOf(pr)
	if len(cs) == 0 {
		return "-"
	}
	c := cs[0]
	if p, bad := c.First(); bad {
		return "does not verify (" + p.Annotation + ")"
	}
	return wire.Truncate(wire.SafeString(c.Certs[0].Subject), 40) + ", until " + c.Certs[0].NotAfter.UTC().Format("2006-01-02")
}

// wrap splits s into lines of at most width columns at spaces; a word
// longer than a line is kept whole.
func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, word := range strings.Fields(s) {
		if cur.Len() > 0 && cur.Len()+1+len([]rune(word)) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(word)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// Markdown writes a host report an admin can attach to a ticket.
func Markdown(w io.Writer, rep *Report) error {
	p := &printer{w: w}
	p.linef("# Mail server scan: %s", mdText(rep.Host))
	p.linef("")
	p.linef("- **Scanned:** %s, %s, %s", rep.Started.Format(time.RFC3339), plural(len(rep.Ports), "port"), wire.FormatDuration(rep.Elapsed))
	p.linef("- **Certificates checked for:** %s", mdText(rep.ServerName))
	p.linef("- **Result:** %s", Verdict(rep.Findings))
	p.linef("- **Grades:** port 25 by the rules of opportunistic transfer (RFC 7435, RFC 9325 §5.2); the other ports by those of submission and mailbox access (RFC 8314, RFC 8997, RFC 9325 / BCP 195) and %s.", MozillaProfile)
	p.linef("")
	p.linef("| Port | State | Speaks | TLS versions | Suites | Certificate |")
	p.linef("|---|---|---|---|---|---|")
	for _, pr := range rep.Ports {
		p.linef("| %d | %s | %s | %s | %s | %s |", pr.Port, pr.State, spokeWords(pr), versionsWords(pr.TLS), suitesWords(pr.TLS), mdCell(certWords(pr)))
	}
	for _, pr := range rep.Ports {
		p.linef("")
		p.linef("## Port %d: %s, %s", pr.Port, pr.Proto, roleWords(pr))
		p.linef("")
		p.mdFindings(rep.Findings, func(f Finding) bool { return f.Port == pr.Port && f.Host == "" })
	}
	p.linef("")
	p.linef("## Host")
	p.linef("")
	p.mdFindings(rep.Findings, func(f Finding) bool { return f.Port == 0 })
	if len(rep.Certificates) > 0 {
		p.linef("")
		p.linef("## Certificates")
		p.linef("")
		p.linef("| Subject | SHA-256 | Ports |")
		p.linef("|---|---|---|")
		for _, g := range rep.Certificates {
			p.linef("| %s | `%s` | %s |", mdCell(g.Subject), g.SHA256, portList(g.Ports))
		}
	}
	return p.err
}

// DomainMarkdown writes a domain report for a ticket.
func DomainMarkdown(w io.Writer, rep *DomainReport) error {
	p := &printer{w: w}
	p.linef("# Mail domain scan: %s", mdText(rep.Domain))
	p.linef("")
	p.linef("- **Scanned:** %s, %s, %s", rep.Started.Format(time.RFC3339), plural(len(rep.MX), "MX host"), wire.FormatDuration(rep.Elapsed))
	p.linef("- **Result:** %s", Verdict(rep.Findings))
	p.linef("")
	p.linef("## DNS and policy")
	p.linef("")
	p.mdFindings(rep.Findings, func(f Finding) bool { return f.Port == 0 })
	for _, mx := range rep.MX {
		p.linef("")
		p.linef("## MX %s (%s), port 25", mdText(mx.Host), mdText(orDash(mx.Addr)))
		p.linef("")
		p.mdFindings(rep.Findings, func(f Finding) bool { return f.Port == 25 && f.Host == mx.Host })
	}
	return p.err
}

func (p *printer) mdFindings(fs []Finding, keep func(Finding) bool) {
	p.linef("| Grade | Finding | Detail | Source |")
	p.linef("|---|---|---|---|")
	n := 0
	for _, f := range fs {
		if keep(f) {
			n++
			p.linef("| %s | %s | %s | %s |", Headline(f.Grade), mdCell(f.Title), mdCell(f.Detail), mdCell(f.Source))
		}
	}
	if n == 0 {
		p.linef("| | (nothing) | | |")
	}
}

// mdText escapes the characters Markdown would act on in running text.
func mdText(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;", "|", `\|`)
	return r.Replace(s)
}

// mdCell escapes a table cell: Markdown's characters, and no line breaks.
func mdCell(s string) string {
	return mdText(strings.ReplaceAll(s, "\n", " "))
}
