// Package content holds mailwire's teaching material as data: the port table
// and the prose that explains each port. Prose lives in embedded Markdown files
// so it can be reviewed and corrected without touching code.
//
// The package imports nothing of mailwire's own, so every other package may
// depend on it.
package content

import (
	"embed"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// PortFacts is what a canonical port is: the protocol spoken there, how
// TLS starts (after a cleartext opening with a command, or from the first
// byte, RFC 8314 §3) and what the port is for. This table is the one home
// of these facts: the port table below, the engine's OptionsForPort and
// the lab's plan of endpoints are made from it. The values are the names
// the engine and the lab use: Proto "smtp", "pop3", "imap", "https"; TLS
// "starttls", "implicit"; Role "transfer", "submission", "retrieval",
// "web".
type PortFacts struct {
	Port  int
	Proto string
	TLS   string
	Role  string
}

// CanonicalPorts returns the facts of every canonical port, in the order
// the lab lists its endpoints. Port 25 is server to server (RFC 5321) and
// only ever starts TLS with STARTTLS (RFC 3207 §4); 587 (RFC 6409) and 465
// (RFC 8314 §3.3) are submission; 110/995 and 143/993 are POP3 and IMAP
// (RFC 8314 §3.3, RFC 2595, RFC 9051); 443 is HTTPS, for comparison.
func CanonicalPorts() []PortFacts {
	return []PortFacts{
		{Port: 25, Proto: "smtp", TLS: "starttls", Role: "transfer"},
		{Port: 587, Proto: "smtp", TLS: "starttls", Role: "submission"},
		{Port: 465, Proto: "smtp", TLS: "implicit", Role: "submission"},
		{Port: 110, Proto: "pop3", TLS: "starttls", Role: "retrieval"},
		{Port: 995, Proto: "pop3", TLS: "implicit", Role: "retrieval"},
		{Port: 143, Proto: "imap", TLS: "starttls", Role: "retrieval"},
		{Port: 993, Proto: "imap", TLS: "implicit", Role: "retrieval"},
		{Port: 443, Proto: "https", TLS: "implicit", Role: "web"},
	}
}

// MailPorts are the mail ports of CanonicalPorts (all but HTTPS's 443), in
// its order: the ports a scan of a host checks, and the lab's ports that
// get a twin for another name (lab --monitor).
func MailPorts() []int {
	var out []int
	for _, p := range CanonicalPorts() {
		if p.Proto != "https" {
			out = append(out, p.Port)
		}
	}
	return out
}

// CanonicalPort returns the facts of one canonical port.
func CanonicalPort(port int) (PortFacts, bool) {
	for _, p := range CanonicalPorts() {
		if p.Port == port {
			return p, true
		}
	}
	return PortFacts{}, false
}

// ClientPort is the canonical port a mail client uses for proto with TLS
// from the first byte (implicit) or not: for SMTP the submission port, as
// a client submits and does not relay (RFC 6409 §1); 0 for an unknown
// protocol. HTTPS has only 443.
func ClientPort(proto string, implicit bool) int {
	tls := "starttls"
	if implicit || proto == "https" {
		tls = "implicit"
	}
	for _, p := range CanonicalPorts() {
		if p.Proto == proto && p.TLS == tls && p.Role != "transfer" {
			return p.Port
		}
	}
	return 0
}

// PortRow is one row of the port table: a protocol, the port where TLS starts
// with a command after a cleartext opening (explicit TLS, e.g. STARTTLS), the
// port where TLS starts with the first byte (implicit TLS), and what the
// protocol is for. A port of 0 means the protocol has no such port.
type PortRow struct {
	Protocol string
	Explicit int // 0 = N/A
	Implicit int // 0 = N/A
	Purpose  string
}

// portRows name the rows of the port table: one per protocol and role, in
// display order, with the words the table shows.
var portRows = []struct{ proto, role, protocol, purpose string }{
	{"smtp", "transfer", "SMTP", "Transfer"},
	{"smtp", "submission", "ESMTP", "Submission"},
	{"pop3", "retrieval", "POP3", "Retrieval"},
	{"imap", "retrieval", "IMAP4", "Retrieval"},
	{"https", "web", "HTTPS", "Web (for comparison)"},
}

// PortTable returns the rows of the port table in display order, made from
// CanonicalPorts. Port 25 has no implicit-TLS port: server-to-server SMTP
// always starts in cleartext (RFC 3207 §4). HTTPS has no explicit-TLS port;
// it is listed for comparison.
func PortTable() []PortRow {
	rows := make([]PortRow, 0, len(portRows))
	for _, r := range portRows {
		row := PortRow{Protocol: r.protocol, Purpose: r.purpose}
		for _, p := range CanonicalPorts() {
			if p.Proto != r.proto || p.Role != r.role {
				continue
			}
			if p.TLS == "implicit" {
				row.Implicit = p.Port
			} else {
				row.Explicit = p.Port
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// Ref (an RFC citation rendered as "RFC 8314 §3.3") is defined with the
// annotation dictionary in annotations.go and shared by the port pages.

// PortDetail is the teaching text for one port.
type PortDetail struct {
	Port          int
	Title         string
	Purpose       string // what the port is for
	HowTLSStarts  string // the first bytes: a command after cleartext, or a ClientHello
	WhatGoesWrong string // what an observer or attacker on the path can do
	Policy        string // what a well-run server (and client) does about it
	// Wire is the exchange in order, each step marked with who can read it.
	Wire []WireStep
	Refs []Ref
}

// Wire layers of a WireStep: who can read that step on the path.
const (
	WireCleartext = "cleartext" // anyone on the path reads it
	WireHandshake = "handshake" // TLS handshake: an observer reads its metadata
	WireEncrypted = "encrypted" // only the two endpoints read it
)

// WireStep is one step of a port's typical exchange: "C:" lines are the
// client's, "S:" lines the server's.
type WireStep struct {
	Layer string // WireCleartext, WireHandshake or WireEncrypted
	Text  string
}

//go:embed ports/*.md
var portFS embed.FS

var (
	portsOnce sync.Once
	ports     map[int]PortDetail
	portsErr  error
)

// Port returns the detail for a port of the table. It reports false for a
// port that has no page.
func Port(port int) (PortDetail, bool) {
	all, err := loadPorts()
	if err != nil {
		return PortDetail{}, false
	}
	d, ok := all[port]
	return d, ok
}

// Ports returns every port page, sorted by port number, or the error that
// made a page unreadable. Tests use it to prove the embedded files parse.
func Ports() ([]PortDetail, error) {
	all, err := loadPorts()
	if err != nil {
		return nil, err
	}
	out := make([]PortDetail, 0, len(all))
	for _, d := range all {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out, nil
}

func loadPorts() (map[int]PortDetail, error) {
	portsOnce.Do(func() {
		ports, portsErr = readPorts()
	})
	return ports, portsErr
}

func readPorts() (map[int]PortDetail, error) {
	entries, err := portFS.ReadDir("ports")
	if err != nil {
		return nil, fmt.Errorf("read embedded ports: %w", err)
	}
	out := make(map[int]PortDetail, len(entries))
	for _, e := range entries {
		name := e.Name()
		port, err := strconv.Atoi(strings.TrimSuffix(name, ".md"))
		if err != nil {
			return nil, fmt.Errorf("port page %q: file name is not a port number", name)
		}
		b, err := portFS.ReadFile("ports/" + name)
		if err != nil {
			return nil, fmt.Errorf("read port page %q: %w", name, err)
		}
		d, err := ParsePortPage(port, string(b))
		if err != nil {
			return nil, fmt.Errorf("port page %q: %w", name, err)
		}
		out[port] = d
	}
	return out, nil
}

// Section headings of a port page. A page is:
//
//	# <title>
//
//	## Purpose
//	<paragraphs>
//	## How TLS starts
//	<paragraphs>
//	## On the wire
//	- <cleartext|handshake|encrypted> | <what crosses the wire>
//	## What goes wrong
//	<paragraphs>
//	## Policy
//	<paragraphs>
//	## References
//	- RFC <number> [§<section>] | <title>
//
// Paragraphs are separated by blank lines; lines within a paragraph are
// joined with spaces so the renderer can wrap them to any width. Every section
// is required, each exactly once; unknown headings are an error, so a typo in
// a heading cannot silently drop text.
const (
	headPurpose = "Purpose"
	headHow     = "How TLS starts"
	headWire    = "On the wire"
	headWrong   = "What goes wrong"
	headPolicy  = "Policy"
	headRefs    = "References"
)

// ParsePortPage parses one port page in the format described above.
func ParsePortPage(port int, src string) (PortDetail, error) {
	d := PortDetail{Port: port}
	doc, err := splitSections(src, headPurpose, headHow, headWire, headWrong, headPolicy, headRefs)
	if err != nil {
		return d, err
	}
	for _, line := range doc.preamble {
		if strings.TrimSpace(line) != "" {
			return d, fmt.Errorf("text outside any section: %q", line)
		}
	}
	d.Title = doc.title
	d.Purpose = joinProse(doc.sections[headPurpose])
	d.HowTLSStarts = joinProse(doc.sections[headHow])
	d.WhatGoesWrong = joinProse(doc.sections[headWrong])
	d.Policy = joinProse(doc.sections[headPolicy])
	for _, line := range doc.sections[headWire] {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		w, err := parseWireStep(line)
		if err != nil {
			return d, err
		}
		d.Wire = append(d.Wire, w)
	}
	for _, line := range doc.sections[headRefs] {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		r, err := parseRef(line)
		if err != nil {
			return d, err
		}
		d.Refs = append(d.Refs, r)
	}
	return d, nil
}

// markdownDoc is a content file cut at its headings: the "# " title, the
// lines before the first "## " heading, and the lines of each section.
type markdownDoc struct {
	title    string
	preamble []string
	sections map[string][]string
}

// splitSections cuts src (a port page, a scenario text) at its headings.
// The title is required and appears once; every "## " heading must be one
// of sections, each exactly once, so a typo in a heading cannot silently
// drop text. Lines keep their leading space; trailing space is trimmed.
func splitSections(src string, sections ...string) (markdownDoc, error) {
	return splitSectionsOptional(src, nil, sections...)
}

// splitSectionsOptional is splitSections where the sections named in
// optional may also appear, at most once each (a scenario's "Against a
// real server").
func splitSectionsOptional(src string, optional []string, sections ...string) (markdownDoc, error) {
	doc := markdownDoc{sections: map[string][]string{}}
	known := slices.Concat(sections, optional)
	current := ""
	for i, raw := range strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n") {
		line := strings.TrimRight(raw, " \t")
		switch {
		case strings.HasPrefix(line, "## "):
			h := strings.TrimSpace(line[3:])
			if !slices.Contains(known, h) {
				return doc, fmt.Errorf("line %d: unknown section %q (want %s)", i+1, h, strings.Join(known, ", "))
			}
			if _, dup := doc.sections[h]; dup {
				return doc, fmt.Errorf("line %d: section %q appears twice", i+1, h)
			}
			doc.sections[h] = []string{}
			current = h
		case strings.HasPrefix(line, "# "):
			if doc.title != "" {
				return doc, fmt.Errorf("line %d: second title", i+1)
			}
			doc.title = strings.TrimSpace(line[2:])
		case current == "":
			doc.preamble = append(doc.preamble, line)
		default:
			doc.sections[current] = append(doc.sections[current], line)
		}
	}
	if doc.title == "" {
		return doc, fmt.Errorf("missing '# ' title")
	}
	for _, h := range sections {
		if _, ok := doc.sections[h]; !ok {
			return doc, fmt.Errorf("missing section %q", h)
		}
	}
	return doc, nil
}

// parseRef parses "- RFC 8314 §3.3 | Implicit TLS for SMTP submission".
func parseRef(line string) (Ref, error) {
	body, ok := strings.CutPrefix(line, "- ")
	if !ok {
		return Ref{}, fmt.Errorf("reference %q: want '- RFC <n> [§<section>] | <title>'", line)
	}
	cite, title, ok := strings.Cut(body, "|")
	title = strings.TrimSpace(title)
	if !ok || title == "" {
		return Ref{}, fmt.Errorf("reference %q: missing '| title'", line)
	}
	fields := strings.Fields(cite)
	if len(fields) < 2 || len(fields) > 3 || fields[0] != "RFC" {
		return Ref{}, fmt.Errorf("reference %q: want 'RFC <n> [§<section>]'", line)
	}
	n, err := strconv.Atoi(fields[1])
	if err != nil || n <= 0 {
		return Ref{}, fmt.Errorf("reference %q: bad RFC number", line)
	}
	r := Ref{RFC: n, Title: title}
	if len(fields) == 3 {
		sec, ok := strings.CutPrefix(fields[2], "§")
		if !ok || sec == "" {
			return Ref{}, fmt.Errorf("reference %q: section must start with §", line)
		}
		r.Section = sec
	}
	return r, nil
}

// parseWireStep parses "- cleartext | S: 220 mx.example.org ESMTP".
func parseWireStep(line string) (WireStep, error) {
	body, ok := strings.CutPrefix(line, "- ")
	if !ok {
		return WireStep{}, fmt.Errorf("wire step %q: want '- <layer> | <text>'", line)
	}
	layer, text, ok := strings.Cut(body, "|")
	layer, text = strings.TrimSpace(layer), strings.TrimSpace(text)
	if !ok || text == "" {
		return WireStep{}, fmt.Errorf("wire step %q: missing '| text'", line)
	}
	switch layer {
	case WireCleartext, WireHandshake, WireEncrypted:
	default:
		return WireStep{}, fmt.Errorf("wire step %q: unknown layer %q", line, layer)
	}
	return WireStep{Layer: layer, Text: text}, nil
}
