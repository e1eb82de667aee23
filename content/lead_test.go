package content

import (
	"strings"
	"testing"
)

func TestLead(t *testing.T) {
	a := Annotation{Text: "One (RFC 8314 §3.3). Two ends at 3.2. Three?\n\nNext paragraph."}
	for n, want := range map[int]string{
		0: "",
		1: "One (RFC 8314 §3.3).",
		2: "One (RFC 8314 §3.3). Two ends at 3.2.",
		3: "One (RFC 8314 §3.3). Two ends at 3.2. Three?",
		9: "One (RFC 8314 §3.3). Two ends at 3.2. Three?",
	} {
		if got := a.Lead(n); got != want {
			t.Errorf("Lead(%d) = %q, want %q", n, got, want)
		}
	}
	for text, want := range map[string]string{
		"version 1.2 is old. Use 1.3":                      "version 1.2 is old.", // a period inside a number
		"Servers refuse it. mailwire says so. Then more.":  "Servers refuse it.",  // a sentence in lower case
		"Some names, e.g. SNI, show. The rest does not.":   "Some names, e.g. SNI, show.",
		"As J. Postel wrote (cf. RFC 821). Then.":          "As J. Postel wrote (cf. RFC 821).",
		"One sentence and no end":                          "One sentence and no end",
		"Ends with a question? Yes. It does.":              "Ends with a question?",
		"Two spaces after the period.  Still one sentence": "Two spaces after the period.",
	} {
		if got := (Annotation{Text: text}).Lead(1); got != want {
			t.Errorf("Lead(1) of %q = %q, want %q", text, got, want)
		}
	}
	// Every entry of the dictionary: its first sentence is a sentence
	// (so the presenter's narration never stops mid-clause) and short
	// enough for a projector's line or three.
	long := 0
	for _, k := range AnnotationKeys() {
		a, _ := Lookup(k)
		lead := a.Lead(1)
		if lead == "" || !strings.ContainsAny(lead[len(lead)-1:], ".!?)") {
			t.Errorf("%s: first sentence %q does not end a sentence", k, lead)
		}
		if len(lead) > 400 {
			long++
			t.Logf("%s: first sentence of %d bytes", k, len(lead))
		}
	}
	if long > 0 {
		t.Errorf("%d entries open with a sentence over 400 bytes", long)
	}
}
