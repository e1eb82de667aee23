package content

import (
	"strings"
	"testing"
)

func TestEveryTablePortHasCompleteDetail(t *testing.T) {
	seen := map[int]bool{}
	for _, row := range PortTable() {
		if row.Explicit == 0 && row.Implicit == 0 {
			t.Errorf("%s: row has no port at all", row.Protocol)
		}
		for _, p := range []int{row.Explicit, row.Implicit} {
			if p == 0 {
				continue
			}
			if seen[p] {
				t.Errorf("port %d appears twice in the table", p)
			}
			seen[p] = true
			d, ok := Port(p)
			if !ok {
				t.Errorf("port %d (%s): no detail page", p, row.Protocol)
				continue
			}
			for name, v := range map[string]string{
				"Title": d.Title, "Purpose": d.Purpose, "HowTLSStarts": d.HowTLSStarts,
				"WhatGoesWrong": d.WhatGoesWrong, "Policy": d.Policy,
			} {
				if strings.TrimSpace(v) == "" {
					t.Errorf("port %d: %s is empty", p, name)
				}
			}
			if len(d.Wire) == 0 {
				t.Errorf("port %d: no wire steps", p)
			}
			// Explicit ports start in cleartext; implicit ones with the
			// handshake, and nothing is ever cleartext after it.
			if len(d.Wire) > 0 {
				first := d.Wire[0].Layer
				if p == row.Explicit && first != WireCleartext {
					t.Errorf("port %d: explicit port starts with %s", p, first)
				}
				if p == row.Implicit && first != WireHandshake {
					t.Errorf("port %d: implicit port starts with %s", p, first)
				}
				seenTLS := false
				for _, w := range d.Wire {
					seenTLS = seenTLS || w.Layer == WireHandshake
					if seenTLS && w.Layer == WireCleartext {
						t.Errorf("port %d: cleartext step %q after the handshake", p, w.Text)
					}
				}
				if !seenTLS {
					t.Errorf("port %d: no handshake step", p)
				}
			}
			if len(d.Refs) == 0 {
				t.Errorf("port %d: no references", p)
			}
			if d.Port != p {
				t.Errorf("port %d: detail says port %d", p, d.Port)
			}
		}
	}
	want := []int{25, 110, 143, 443, 465, 587, 993, 995}
	for _, p := range want {
		if !seen[p] {
			t.Errorf("port %d missing from the table", p)
		}
	}
	all, err := Ports()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(want) {
		t.Errorf("Ports() = %d pages, want %d (a page for a port not in the table?)", len(all), len(want))
	}
}

// The brief's facts that must be present, checked so an edit cannot silently
// drop them.
func TestKeyFactsPresent(t *testing.T) {
	cases := []struct {
		port int
		want []string
	}{
		{25, []string{"MUST NOT require use of the STARTTLS extension", "RFC 8461", "RFC 7672", "stripping"}},
		{587, []string{"STARTTLS", "EHLO", "AUTH", "RFC 4954 §4"}},
		{465, []string{"submissions", "ESMTPS", "RFC 3848", "first bytes", "not a separate protocol"}},
		{110, []string{"STLS", "USER and PASS"}},
		{143, []string{"LOGINDISABLED", "STARTTLS"}},
		{443, []string{"ClientHello"}},
	}
	for _, c := range cases {
		d, ok := Port(c.port)
		if !ok {
			t.Fatalf("port %d missing", c.port)
		}
		text := strings.Join([]string{d.Purpose, d.HowTLSStarts, d.WhatGoesWrong, d.Policy}, "\n")
		for _, r := range d.Refs {
			text += "\n" + r.String()
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("port %d: text lacks %q", c.port, w)
			}
		}
	}
}

func TestRefString(t *testing.T) {
	for _, c := range []struct {
		r    Ref
		want string
	}{
		{Ref{RFC: 8314, Section: "3.3"}, "RFC 8314 §3.3"},
		{Ref{RFC: 8461}, "RFC 8461"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.r, got, c.want)
		}
	}
}

func TestParsePortPageErrors(t *testing.T) {
	full := "# T\n## Purpose\np\n## How TLS starts\nh\n## On the wire\n- cleartext | S: hi\n## What goes wrong\nw\n## Policy\nx\n## References\n- RFC 1 §2 | t\n"
	if d, err := ParsePortPage(1, full); err != nil {
		t.Fatalf("valid page: %v", err)
	} else if d.Refs[0] != (Ref{RFC: 1, Section: "2", Title: "t"}) {
		t.Fatalf("ref = %+v", d.Refs[0])
	}
	bad := map[string]string{
		"no title":        strings.Replace(full, "# T\n", "", 1),
		"unknown heading": strings.Replace(full, "## Policy", "## Polcy", 1),
		"missing section": strings.Replace(full, "## Policy\nx\n", "", 1),
		"duplicate":       full + "## Policy\ny\n",
		"bad ref":         strings.Replace(full, "- RFC 1 §2 | t", "- RFC x | t", 1),
		"ref no title":    strings.Replace(full, "- RFC 1 §2 | t", "- RFC 1 §2", 1),
		"ref no §":        strings.Replace(full, "- RFC 1 §2 | t", "- RFC 1 2 | t", 1),
		"stray text":      "stray\n" + full,
		"bad layer":       strings.Replace(full, "- cleartext | S: hi", "- plaintext | S: hi", 1),
		"wire no text":    strings.Replace(full, "- cleartext | S: hi", "- cleartext", 1),
	}
	for name, src := range bad {
		if _, err := ParsePortPage(1, src); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}

func TestParagraphsJoinLines(t *testing.T) {
	d, err := ParsePortPage(1, "# T\n## Purpose\none\ntwo\n\nthree\n## How TLS starts\nh\n## On the wire\n- encrypted | x\n## What goes wrong\nw\n## Policy\nx\n## References\n- RFC 1 | t\n")
	if err != nil {
		t.Fatal(err)
	}
	if d.Purpose != "one two\n\nthree" {
		t.Fatalf("Purpose = %q", d.Purpose)
	}
}
