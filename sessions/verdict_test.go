package sessions

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestVerdictHeadlines: a verdict is headed safe, unsafe, or (for a
// scenario that shows how something works, compare and hops) as a result,
// in the text and Markdown transcripts alike; hops said "⚠ UNSAFE: TLS
// protected 3 of 3 network hops".
func TestVerdictHeadlines(t *testing.T) {
	for _, c := range []struct {
		v    *wire.Verdict
		want string
	}{
		{&wire.Verdict{Scenario: "too-early", Outcome: "nothing-leaked", Safe: true}, "✓ SAFE"},
		{&wire.Verdict{Scenario: "too-early", Outcome: "credentials-leaked"}, "⚠ UNSAFE"},
		{&wire.Verdict{Scenario: "hops", Outcome: "hops", Informational: true}, "ℹ RESULT"},
		{&wire.Verdict{Scenario: "compare", Outcome: "compare", Safe: true, Informational: true}, "ℹ RESULT"},
		{nil, "⚠ UNSAFE"},
	} {
		if got := c.v.Headline(); got != c.want {
			t.Errorf("%+v: headline %q, want %q", c.v, got, c.want)
		}
		if c.v == nil {
			continue
		}
		evs := []wire.Event{{Seq: 1, Kind: wire.KindVerdict, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone,
			Annotation: "verdict." + c.v.Outcome, Text: "TLS protected 3 of 3 network hops", Verdict: c.v}}
		var text, md bytes.Buffer
		if err := render.Text(&text, evs, render.Options{Width: 100}); err != nil {
			t.Fatal(err)
		}
		if err := render.Markdown(&md, evs, render.Options{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text.String(), c.want+": TLS protected 3 of 3") {
			t.Errorf("text transcript lacks %q:\n%s", c.want, text.String())
		}
		if !strings.Contains(md.String(), "**"+c.want+":** `TLS protected 3 of 3") {
			t.Errorf("Markdown transcript lacks %q:\n%s", c.want, md.String())
		}
	}
}
