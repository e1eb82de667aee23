package scan

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// TestRulesHaveWords: every rule's key has its own entry in package
// content, with RFC references, and every scan.* entry is a rule: the
// table and the words cannot drift apart.
func TestRulesHaveWords(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		if seen[r.Key] {
			t.Errorf("%s: two rules", r.Key)
		}
		seen[r.Key] = true
		a, ok := content.Lookup(r.Key)
		if !ok || a.Key != r.Key || len(a.Refs) == 0 {
			t.Errorf("%s: content entry %q (%v), %d refs", r.Key, a.Key, ok, len(a.Refs))
		}
		if r.Transfer == "" || r.Client == "" {
			t.Errorf("%s: no grade", r.Key)
		}
		if src := Source(r.Key); src == "" || r.Mozilla != strings.Contains(src, MozillaProfile) {
			t.Errorf("%s: source %q", r.Key, src)
		}
	}
	for _, k := range content.AnnotationKeys() {
		if strings.HasPrefix(k, "scan.") && !seen[k] && k != KeyToleratedOn25 {
			t.Errorf("content has %s, which no rule grades", k)
		}
	}
}

// TestTransferRules: port 25 is graded as opportunistic transfer, the
// other ports as submission and access.
func TestTransferRules(t *testing.T) {
	for _, c := range []struct {
		key            string
		on25, onClient Grade
	}{
		{KeySuiteAnonymous, OK, Bad},
		{KeyVersionOld, OK, Bad},
		{KeyVersionSSL3, Warn, Bad},
		{KeySuiteRC4, Warn, Bad},
		{KeyCertInvalid, Warn, Bad},
		{KeyStartTLSMissing, Bad, Bad},
		{KeySuiteNull, Bad, Bad},
		{KeyDHWeak, Warn, Bad},
	} {
		r, ok := RuleFor(c.key)
		if !ok || r.Grade(25) != c.on25 || r.Grade(587) != c.onClient || r.Grade(993) != c.onClient {
			t.Errorf("%s: 25 %s, 587 %s, 993 %s; want %s, %s", c.key, r.Grade(25), r.Grade(587), r.Grade(993), c.on25, c.onClient)
		}
	}
	if f := newFinding(587, KeyCertInvalid, "x", nil, true); f.Grade != Warn {
		t.Errorf("--insecure: %s", f.Grade)
	}
	if f := newFinding(587, "scan.no.such.rule", "x", nil, false); f.Grade != Warn {
		t.Errorf("a key without a rule: %s", f.Grade)
	}
}

// TestMozillaIntermediate: the profile's list, as v5.7 writes it: nine
// TLS 1.2 suites (six ECDHE, three DHE, all AEAD) and TLS 1.3's three.
func TestMozillaIntermediate(t *testing.T) {
	ecdhe, dhe, tls13 := 0, 0, 0
	for _, id := range mozillaIntermediate {
		s, ok := tlsmsg.Suite(id)
		switch {
		case !ok || !s.AEAD() || !s.ForwardSecret() || s.Anonymous():
			t.Errorf("0x%04x: %+v", id, s)
		case s.TLS13:
			tls13++
		case s.KeyExchange == "ECDHE":
			ecdhe++
		case s.KeyExchange == "DHE":
			dhe++
		}
	}
	if ecdhe != 6 || dhe != 3 || tls13 != 3 {
		t.Errorf("%d ECDHE, %d DHE, %d TLS 1.3", ecdhe, dhe, tls13)
	}
	if InMozillaIntermediate(0x1305) || !InMozillaIntermediate(0xcca8) {
		t.Error("membership")
	}
}

// TestPrinters: text, Markdown and JSON of a lab scan; Markdown escapes
// what a server could use to break out of a table cell.
func TestPrinters(t *testing.T) {
	l := startLab(t)
	rep := Scan(t.Context(), labOptions(l))
	rep.Findings = append(rep.Findings, Finding{Port: 587, Key: KeyCapabilities, Title: "x", Grade: OK,
		Detail: "a | b <script> *c* [d](e)"})
	// The time as people read it, wire.FormatDuration's: "20.0 s", not
	// Go's "20.001s".
	rep.Elapsed = 20001280 * time.Microsecond
	var text, md, js bytes.Buffer
	if err := Text(&text, rep, 80); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(text.String()), " "), " in 20.0 s") || !strings.Contains(md.String(), ", 20.0 s") {
		t.Errorf("the scan's time is not written as people read it:\n%s\n%s", text.String(), md.String())
	}
	for _, want := range []string{"PORT  STATE", "Port 587", "✓ ok", "source: RFC", "nothing bad"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
	for _, l := range strings.Split(text.String(), "\n") {
		if len([]rune(l)) > 80 && !strings.Contains(l, "TLS_") {
			t.Errorf("text line over 80 columns: %q", l)
		}
	}
	if !strings.Contains(md.String(), `a \| b &lt;script&gt; \*c\* \[d\](e)`) || !strings.Contains(md.String(), "| Grade | Finding |") {
		t.Errorf("markdown:\n%s", md.String())
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Ports) != 8 || back.Worst != rep.Worst || len(back.Findings) != len(rep.Findings) ||
		back.Ports[1].TLS == nil || len(back.Ports[1].TLS.Versions) == 0 {
		t.Errorf("JSON round trip: %d ports, worst %s", len(back.Ports), back.Worst)
	}
	var raw map[string]any
	json.Unmarshal(js.Bytes(), &raw)
	for _, k := range []string{"host", "server_name", "ports", "findings", "worst", "certificates", "elapsed_ns"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON lacks %q", k)
		}
	}
	if !slices.ContainsFunc(back.Findings, func(f Finding) bool { return f.Show != nil && f.Show.Addr != "" }) {
		t.Error("no finding says which session shows it")
	}
}
