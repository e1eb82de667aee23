package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// A handout has one level-1 heading: Options.Title when given (escaped,
// so that what a user typed as a target shows as typed), with Intro under
// it; a scenario's handout had its prose title and "# mailwire sessions:
// N connections" besides.
func TestMarkdownTitle(t *testing.T) {
	evs := []wire.Event{
		{Seq: 1, Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Leg: "normal port", Text: "connected to 127.0.0.1:1 (x) in 1ms"},
		{Seq: 2, Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Leg: "careless port", Text: "connected to 127.0.0.1:2 (x) in 1ms"},
	}
	for _, tc := range []struct {
		o     Options
		title string
	}{
		{Options{}, "# mailwire sessions: 2 connections"},
		{Options{Title: "Credentials sent too early: port 587 (SMTP, STARTTLS), against mx_1.example.org <b>`x`", Intro: "What is staged.\n\nWhat to watch."},
			"# Credentials sent too early: port 587 (SMTP, STARTTLS), against mx\\_1.example.org \\<b\\>\\`x\\`"},
	} {
		var b bytes.Buffer
		if err := Markdown(&b, evs, tc.o); err != nil {
			t.Fatal(err)
		}
		var h1 []string
		for _, l := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(l, "# ") {
				h1 = append(h1, l)
			}
		}
		if len(h1) != 1 || h1[0] != tc.title {
			t.Errorf("level-1 headings %q, want only %q", h1, tc.title)
		}
		if tc.o.Intro != "" && !strings.Contains(b.String(), tc.title+"\n\nWhat is staged.\n\nWhat to watch.\n\n- *normal port*") {
			t.Errorf("the introduction is not under the title:\n%s", b.String())
		}
	}
}
