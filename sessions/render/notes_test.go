package render

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

func TestParseNotes(t *testing.T) {
	for in, want := range map[string]Notes{"": NotesFull, "full": NotesFull, "short": NotesShort, "off": NotesOff} {
		if got, err := ParseNotes(in); err != nil || got != want {
			t.Errorf("ParseNotes(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"Full", "none", "brief", " off"} {
		if _, err := ParseNotes(bad); err == nil {
			t.Errorf("ParseNotes(%q) accepted", bad)
		}
	}
	var n Notes
	if err := n.UnmarshalText([]byte("short")); err != nil || n != NotesShort || n.String() != "short" {
		t.Errorf("UnmarshalText: %q %v", n, err)
	}
	if Notes("").String() != "full" {
		t.Error("the zero value is not full")
	}
}

// notesFixtures are bundled recordings with a multi-line reply, a
// certificate chain, a cleartext credential and a scenario's legs.
var notesFixtures = []string{"port-587", "port-110", "scenario-too-early", "scenario-strip-opportunistic"}

func readFixture(t *testing.T, name string) []wire.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(recordingsDir, name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := ReadRecording(bytes.NewReader(b), DefaultRecordingLimits())
	if err != nil {
		t.Fatal(err)
	}
	return rec.Events
}

// TestNotesText: --notes changes only what is said about the events.
// Full is the default; short says each meaning once per event, in one
// line with its RFCs, and no prose; off says no meaning at all and gives
// each event one line within the width. All three keep every wire line
// (each line of a multi-line reply too), the credential warning and the
// chain's verdict, and each is shorter than the one before.
func TestNotesText(t *testing.T) {
	const width = 100
	for _, name := range notesFixtures {
		evs := readFixture(t, name)
		for _, l := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
			o := Options{Width: width, Lens: l}
			def := render(t, "text", evs, o)
			o.Notes = NotesFull
			full := render(t, "text", evs, o)
			o.Notes = NotesShort
			short := render(t, "text", evs, o)
			o.Notes = NotesOff
			off := render(t, "text", evs, o)
			where := name + " " + l.String()
			if def != full {
				t.Errorf("%s: the default is not full", where)
			}
			if n := [3]int{lines(full), lines(short), lines(off)}; !(n[0] > n[1] && n[1] > n[2]) {
				t.Errorf("%s: lines full %d, short %d, off %d: want each fewer", where, n[0], n[1], n[2])
			}
			shown, withMeaning := 0, map[string]bool{}
			for _, ev := range evs {
				if !l.Shows(ev) {
					continue
				}
				shown++
				key := ev.Annotation
				if l == lens.Eavesdropper {
					key = lens.WireAnnotation(ev)
				}
				ann, ok := content.Lookup(key)
				if !ok {
					continue
				}
				withMeaning[ann.Key] = true
				if l == lens.Endpoint && ev.Kind != wire.KindBoundary {
					note := "— " + ann.Title
					if refs := content.JoinRefs(ann.Refs); refs != "" {
						note += " (" + refs + ")"
					}
					if !strings.Contains(short, prefix(note, 24)) {
						t.Errorf("%s: short lacks %q", where, note)
					}
				}
				if strings.Contains(off, "— "+ann.Title) {
					t.Errorf("%s: off says the meaning %q", where, ann.Title)
				}
				// No prose in short or off: an annotation's first
				// sentence is only in full.
				if first := firstWords(ann.Text, 8); first != "" && (strings.Contains(short, first) || strings.Contains(off, first)) && !strings.Contains(eventTexts(evs), first) {
					t.Errorf("%s: short or off has the prose %q", where, first)
				}
			}
			if shown == 0 || len(withMeaning) == 0 {
				t.Fatalf("%s: nothing shown", where)
			}
			if got := mainLines(off); got != shown {
				t.Errorf("%s: off has %d event lines for %d events shown", where, got, shown)
			}
			for i, line := range strings.Split(strings.TrimSuffix(off, "\n"), "\n") {
				if i > 1 && lipgloss.Width(line) > width { // the two header lines name the target
					t.Errorf("%s: off line over %d columns: %q", where, width, line)
				}
			}
			// What crossed the wire stays, in every density.
			for _, ev := range evs {
				if !l.Shows(ev) || ev.Kind != wire.KindLine || l == lens.Eavesdropper && ev.Layer != wire.LayerCleartext {
					continue
				}
				for _, wl := range append([]string{FirstLine(ev)}, extraLines(ev)...) {
					// Short wraps a long line as full does; off cuts it
					// at the width, after a scenario's leg tag.
					if !strings.Contains(squash(short), squash(wl)) {
						t.Errorf("%s: short lost the wire line %q", where, wl)
					}
					if !strings.Contains(off, prefix(wl, 30)) {
						t.Errorf("%s: off lost the wire line %q", where, wl)
					}
				}
			}
			for _, must := range []string{credentialWarning, "TLS STARTS HERE", "certificate chain for"} {
				if strings.Contains(full, must) && (!strings.Contains(short, must) || !strings.Contains(off, must)) {
					t.Errorf("%s: %q is in full but not in short and off", where, must)
				}
			}
		}
	}
}

// TestNotesMarkdown: short keeps the meaning column with the RFCs and
// drops the section that explains the meanings and the chain tables; off
// drops the column too.
func TestNotesMarkdown(t *testing.T) {
	evs := readFixture(t, "port-587")
	o := Options{}
	full := render(t, "markdown", evs, o)
	o.Notes = NotesShort
	short := render(t, "markdown", evs, o)
	o.Notes = NotesOff
	off := render(t, "markdown", evs, o)
	for _, c := range []struct {
		out, name string
		has, not  []string
	}{
		{full, "full", []string{"| what | meaning |", "## What the lines mean", "## Certificate chain", "(chain 1 below)"}, nil},
		{short, "short", []string{"| what | meaning |", "| 220 Service ready (RFC 5321 §4.2.3; RFC 3207 §4) |"}, []string{"## What the lines mean", "## Certificate chain", "(chain 1 below)"}},
		{off, "off", []string{"| who can read it | what |\n", "`220 mail.lab.test ESMTP Service Ready` |\n", "## What an eavesdropper saw"}, []string{"meaning", "## What the lines mean", "## Certificate chain", "220 Service ready"}},
	} {
		for _, s := range c.has {
			if !strings.Contains(c.out, s) {
				t.Errorf("%s lacks %q", c.name, s)
			}
		}
		for _, s := range c.not {
			if strings.Contains(c.out, s) {
				t.Errorf("%s has %q", c.name, s)
			}
		}
	}
}

// prefix is the first n runes of s.
func prefix(s string, n int) string {
	r := []rune(s)
	return string(r[:min(n, len(r))])
}

// squash joins s's words with single spaces: wrapped text reads as one line.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func lines(s string) int { return strings.Count(s, "\n") }

// mainLines counts the lines that start an event or a boundary rule: the
// time column (right-aligned in 11 columns, e.g. "    1.08 ms"), then two
// spaces.
func mainLines(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if len(l) < 13 || l[11:13] != "  " {
			continue
		}
		if t := strings.TrimSpace(l[:11]); t != "" && t[0] >= '0' && t[0] <= '9' && strings.HasSuffix(t, "s") {
			n++
		}
	}
	return n
}

// firstWords is the first n words of s.
func firstWords(s string, n int) string {
	w := strings.Fields(s)
	if len(w) < n {
		return ""
	}
	return strings.Join(w[:n], " ")
}

// eventTexts is every event's text, to tell prose from an event that
// says the same words.
func eventTexts(evs []wire.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(ev.Text + "\n")
	}
	return b.String()
}
