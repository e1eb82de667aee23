package scenario_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/scenario"
)

var updateRender = flag.Bool("update-render", false, "rewrite the render goldens in testdata/render")

// golden compares got with testdata/render/name, or rewrites it.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "render", name)
	if *updateRender {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-render to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden (run with -update-render to accept):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// A table as the lab gives it, with a hostile greeting on 587 (terminal
// escapes, a Markdown pipe, a right-to-left override) to show that peer
// strings are neutralised.
func renderTable() scenario.CompareTable {
	return scenario.CompareTable{Rows: []scenario.CompareRow{
		{Leg: "587", Proto: "smtp", Boundary: lens.BoundaryStartTLS, CleartextBytes: 269, CleartextC2S: 57, CleartextS2C: 212,
			HandshakeClearBytes: 2732, RoundTrips: 2, ToEncrypted: 870 * time.Microsecond,
			Greeting: "220 mail.lab.test ESMTP", GreetingHost: "evil\x1b[2J|host\u202e.test", ClientName: "client.mailwire.invalid",
			Capabilities: []string{"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS", "SIZE 10240000", "LIMITS RCPTMAX=50"},
			SNI:          "mail.lab.test", TLSVersion: "TLS 1.3", Downgradeable: true,
			DowngradeWhy: "yes: TLS began with STARTTLS after cleartext capabilities, which anyone on the path can rewrite (RFC 3207 §6)",
			CertCheck:    "the mail client, against lab CA: verified", CertVerified: true},
		{Leg: "465", Proto: "smtp", Boundary: lens.BoundaryImplicit, HandshakeClearBytes: 2732, ToEncrypted: 610 * time.Microsecond,
			SNI: "mail.lab.test", TLSVersion: "TLS 1.3",
			DowngradeWhy: "no: TLS from the first byte, nothing in cleartext to tamper with (RFC 8314 §3)",
			CertCheck:    "the mail client, against lab CA: verified", CertVerified: true},
		{Leg: "443", Proto: "http", Boundary: lens.BoundaryImplicit, HandshakeClearBytes: 2750, ToEncrypted: 550 * time.Microsecond,
			SNI: "mail.lab.test", ALPNOffered: "h2, http/1.1", TLSVersion: "TLS 1.3",
			DowngradeWhy: "no: TLS from the first byte, nothing in cleartext to tamper with (RFC 8314 §3)",
			CertCheck:    "the browser (here mailwire as one), against lab CA: verified", CertVerified: true,
			Err: "read response: connection reset"},
	}}
}

func renderHops() []scenario.Hop {
	return []scenario.Hop{
		{Leg: scenario.LegHopSubmission, From: "MUA", To: "MSA", Port: 587, Network: true, TLS: "TLS 1.3", Boundary: lens.BoundaryStartTLS,
			Cert: scenario.CertVerified, Observer: "server name mail.lab.test, client name client.mailwire.invalid, 7 capabilities, SNI mail.lab.test, then only encrypted records (sizes, timing)"},
		{Leg: scenario.LegHopRelay, From: "MTA", To: "MX", Port: 25, Network: true, TLS: scenario.HopCleartext, Boundary: lens.BoundaryNone,
			Cert: scenario.CertNotChecked, Observer: "everything (1210 bytes): sender, recipients and the whole message, server name mx|\x1b]52;c;x\x07.test",
			Received: []string{"Received: from client.mailwire.invalid ([127.0.0.1]) by mail.lab.test (mailwire lab) with ESMTPSA (using TLS 1.3 with cipher TLS_AES_128_GCM_SHA256); Sat, 28 Nov 2026 16:13:29 +0000"}},
		{Leg: scenario.LegHopDelivery, From: "MX", To: "mailbox", TLS: scenario.HopLocal,
			Observer: "nothing: no network, the message is written into the mailbox on the same machine"},
		{Leg: scenario.LegHopRetrieval, From: "MX", To: "MUA", Port: 993, Network: true, TLS: "TLS 1.3", Boundary: lens.BoundaryImplicit,
			Cert: scenario.CertVerified, Observer: "SNI mail.lab.test, then only encrypted records (sizes, timing)"},
		{Leg: scenario.LegHopWeb, From: "browser", To: "web", Port: 443, Network: true, TLS: "TLS 1.3", Boundary: lens.BoundaryImplicit,
			Cert: scenario.CertVerified, Observer: "SNI mail.lab.test, ALPN h2, http/1.1, then only encrypted records (sizes, timing)"},
	}
}

func TestRenderGoldens(t *testing.T) {
	for _, tc := range []struct {
		name   string
		render func(*bytes.Buffer, bool) error
	}{
		{"compare", func(b *bytes.Buffer, md bool) error { return scenario.RenderCompare(b, renderTable(), md) }},
		{"hops", func(b *bytes.Buffer, md bool) error { return scenario.RenderHops(b, renderHops(), md) }},
	} {
		for _, md := range []bool{false, true} {
			name := tc.name + ".txt"
			if md {
				name = tc.name + ".md"
			}
			t.Run(name, func(t *testing.T) {
				var b bytes.Buffer
				if err := tc.render(&b, md); err != nil {
					t.Fatal(err)
				}
				out := b.String()
				if strings.ContainsAny(out, "\x1b\x07\u202e") {
					t.Errorf("a control or bidi character reached the output:\n%q", out)
				}
				if !md {
					// ASCII but for the arrow of a hop's name, one cell.
					for i, l := range strings.Split(out, "\n") {
						if n := utf8.RuneCountInString(l); n > scenario.RenderWidth {
							t.Errorf("line %d is %d cells wide: %q", i+1, n, l)
						}
						for _, r := range l {
							if r >= 0x80 && r != '→' {
								t.Errorf("line %d is not ASCII: %q", i+1, l)
								break
							}
						}
					}
				} else if tc.name == "compare" {
					// Every row has as many cells as the header: no
					// peer pipe split one.
					lines := strings.Split(strings.TrimSpace(out), "\n")
					want := strings.Count(lines[0], " | ")
					for _, l := range lines[2:] {
						if got := strings.Count(l, " | "); got != want {
							t.Errorf("row has %d cell separators, header %d: %q", got, want, l)
						}
					}
				}
				golden(t, name, b.Bytes())
			})
		}
	}
}

// TestRenderHopsNamesEachLegOnce: a hop's connection has one name, its
// leg's ("MTA→MX (25)"), in the timeline's labels, the table and the
// Received: headings, in text as in Markdown. The text named it
// "MTA->MX (25)" in its table and headings.
func TestRenderHopsNamesEachLegOnce(t *testing.T) {
	for _, md := range []bool{false, true} {
		var b bytes.Buffer
		if err := scenario.RenderHops(&b, renderHops(), md); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, h := range renderHops() {
			if !h.Network {
				continue
			}
			if other := strings.ReplaceAll(h.Leg, "→", "->"); strings.Contains(out, other) {
				t.Errorf("markdown %v: %q is named %q too", md, h.Leg, other)
			}
			if !md && !strings.Contains(out, h.Leg) {
				t.Errorf("the text does not name %q", h.Leg)
			}
		}
		if !strings.Contains(out, "Received: headers of the message on "+scenario.LegHopRelay+" ") {
			t.Errorf("markdown %v: the Received: heading does not name %q:\n%s", md, scenario.LegHopRelay, out)
		}
	}
}

func TestRenderEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := scenario.RenderCompare(&b, scenario.CompareTable{}, false); err != nil || !strings.Contains(b.String(), "nothing to compare") {
		t.Errorf("empty table: %q, %v", b.String(), err)
	}
	b.Reset()
	if err := scenario.RenderHops(&b, nil, true); err != nil || !strings.Contains(b.String(), "no hop") {
		t.Errorf("no hops: %q, %v", b.String(), err)
	}
}

// compare and hops end with their table, drawn by RenderSummary; the other
// scenarios have none.
func TestRenderSummary(t *testing.T) {
	want := map[string]string{"compare": "nothing to compare", "hops": "no hop"}
	for _, s := range scenario.All() {
		var b bytes.Buffer
		if err := scenario.RenderSummary(&b, s, nil, false); err != nil {
			t.Fatalf("%s: %v", s.Name, err)
		}
		switch w, ok := want[s.Name]; {
		case ok && !strings.Contains(b.String(), w):
			t.Errorf("%s: summary %q lacks %q", s.Name, b.String(), w)
		case !ok && b.Len() != 0:
			t.Errorf("%s: a summary %q where none is due", s.Name, b.String())
		}
	}
}

// AllVariants lists every port's variants once, the default first.
func TestAllVariants(t *testing.T) {
	s, ok := scenario.ByName("strip-opportunistic")
	if !ok {
		t.Fatal("no strip-opportunistic")
	}
	all := s.AllVariants()
	if len(all) == 0 || all[0] != s.Variants[0] {
		t.Fatalf("AllVariants = %v; want the default %q first", all, s.Variants[0])
	}
	seen := map[string]bool{}
	for _, v := range all {
		if seen[v] {
			t.Errorf("%q twice in %v", v, all)
		}
		seen[v] = true
	}
	for _, p := range s.Ports {
		for _, v := range s.VariantsFor(p) {
			if !seen[v] {
				t.Errorf("port %d's variant %q missing from %v", p, v, all)
			}
		}
	}
	if !seen["preauth"] {
		t.Errorf("IMAP's preauth missing from %v", all)
	}
}
