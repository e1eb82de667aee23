package render

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"sync"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// HTML writes the session as one self-contained HTML page: no external
// asset (its CSS and the little script that switches the lens are
// inline), so it opens offline, attached to a ticket or mailed to a class.
// Each lens is an exchange table decided by the lens (lens.Lens.Shows,
// Fields, ShowsCredential, ShowsTLSState) as the text and Markdown printers
// are. With the endpoint's lens (the default) the page holds both lenses,
// the endpoint's and the eavesdropper's, with a toggle between them
// (without script both are shown, one after the other). With
// o.Lens == lens.Eavesdropper it holds that lens only, and no toggle: the
// lens holds in every format (issue 10), and "only what a passive observer
// sees" must be true of the file, not of what a browser shows first, so
// no decrypted byte is anywhere in it. Then the explanation of every
// annotation that appeared in the tables, with its RFC references, and
// what an eavesdropper learned on each connection. Its colours are the
// session screen's dark palette.
//
// Every string goes through html/template, which escapes it for where it
// stands (RFC-cited prose included), after SafeString, so a peer can
// inject neither markup nor a control character. Passwords are masked
// unless o.RevealSecrets, as in every format.
func HTML(w io.Writer, evs []wire.Event, o Options) error {
	if err := o.checkLens(); err != nil {
		return err
	}
	observed := LearnedPerLeg(evs)
	evs, _ = o.prepare(evs)
	page := htmlPage{
		Title:   htmlTitle(evs),
		Intro:   htmlParagraphs(o.Intro),
		Outcome: htmlOutcome(evs, o.Lens),
		Events:  len(evs),
	}
	if o.Title != "" {
		// What ran, as the CLI names it (the Markdown handout's title).
		page.Title = wire.SafeString(o.Title)
	}
	var order []string
	seen := map[string]bool{}
	explain := func(key string) (content.Annotation, bool) {
		ann, ok := o.lookup(key)
		if ok && !seen[ann.Key] {
			seen[ann.Key] = true
			order = append(order, ann.Key)
		}
		return ann, ok
	}
	views := []lens.Lens{lens.Endpoint, lens.Eavesdropper}
	if o.eavesdropper() {
		views = []lens.Lens{lens.Eavesdropper}
	}
	for _, l := range views {
		lo := o
		lo.Lens = l
		page.Lenses = append(page.Lenses, htmlLensView(evs, lo, explain))
	}
	for _, key := range order {
		ann, _ := o.lookup(key)
		page.Meanings = append(page.Meanings, htmlMeaning{
			Key: key, Title: wire.SafeString(ann.Title), Paragraphs: strings.Split(ann.Text, "\n\n"),
			Risk: ann.Risk, Fix: ann.Fix, Refs: content.JoinRefs(ann.Refs),
		})
	}
	for _, ob := range observed {
		items := Learned(ob, func(s string) string { return "“" + wire.SafeString(s) + "”" })
		page.Learned = append(page.Learned, htmlLearned{Heading: learnedHeading(ob.Leg), Items: items})
	}
	bw := bufio.NewWriter(w)
	if err := htmlTemplate().Execute(bw, page); err != nil {
		return fmt.Errorf("html: %w", err)
	}
	return bw.Flush()
}

// htmlPage is what the template is given: plain strings, escaped by
// html/template where they land.
type htmlPage struct {
	Title    string
	Intro    []string // paragraphs under the title (a scenario's introduction)
	Outcome  []string
	Events   int
	Lenses   []htmlLens // the endpoint's and the eavesdropper's, or the eavesdropper's alone
	Meanings []htmlMeaning
	Learned  []htmlLearned
}

type htmlLens struct {
	ID, Name, About string
	Rows            []htmlRow
}

type htmlRow struct {
	Time, Dir, Badge, Class string
	Leg                     string
	Lines                   []string // the first is the event's line in the lens
	Strong                  string   // a verdict's headline, or a boundary's
	Warn                    string   // credentials readable on the path
	Meaning, Key            string
}

type htmlMeaning struct {
	Key, Title      string
	Paragraphs      []string
	Risk, Fix, Refs string
}

type htmlLearned struct {
	Heading string
	Items   []string
}

// htmlLensView is one lens's exchange: a row per event the lens shows,
// with the lines, fields, credential and TLS state it lets through.
func htmlLensView(evs []wire.Event, o Options, explain func(string) (content.Annotation, bool)) htmlLens {
	v := htmlLens{ID: "endpoint", Name: "Endpoint", About: "everything the client saw, decrypted lines included"}
	if o.eavesdropper() {
		v = htmlLens{ID: "eavesdropper", Name: "Eavesdropper", About: "only what a passive observer on the path saw"}
	}
	for _, ev := range evs {
		if !o.Lens.Shows(ev) {
			continue
		}
		r := htmlRow{Time: Elapsed(ev), Dir: strings.TrimSpace(Arrow(ev.Dir)), Badge: lens.Badge(ev),
			Class: strings.ToLower(lens.Badge(ev)), Leg: wire.SafeString(ev.Leg), Key: ev.Annotation}
		if ann, ok := explain(ev.Annotation); ok {
			r.Meaning = wire.SafeString(ann.Title)
		}
		switch {
		case ev.Kind == wire.KindBoundary:
			r.Strong = "TLS starts here:"
			r.Lines = append(r.Lines, o.elide(wire.SafeString(ev.Text)))
		case o.eavesdropper():
			r.Lines = append(r.Lines, o.elide(EavesdropperText(ev, false)))
		default:
			r.Lines = append(r.Lines, o.elide(FirstLine(ev)))
		}
		if ev.Kind == wire.KindVerdict {
			r.Strong = ev.Verdict.Headline() + ":"
		}
		if ev.Kind == wire.KindLine || ev.Kind == wire.KindNote {
			for _, l := range extraLines(ev) {
				r.Lines = append(r.Lines, o.elide(l))
			}
		}
		for _, f := range o.Lens.Fields(ev) {
			if f.Metadata {
				r.Lines = append(r.Lines, wire.SafeString(f.Name)+": "+wire.SafeString(f.Value))
			}
		}
		if o.Lens.ShowsCredential(ev) {
			r.Lines = append(r.Lines, detailLines(wire.Event{Credential: ev.Credential}, lens.Endpoint)...)
		}
		if o.Lens.ShowsTLSState(ev) {
			r.Lines = append(r.Lines, detailLines(wire.Event{TLS: ev.TLS}, lens.Endpoint)...)
			if cv := NewChainView(ev.TLS); cv != nil {
				r.Lines = append(r.Lines, cv.Heading)
				for _, pr := range cv.Problems {
					explain(pr.Key)
					r.Lines = append(r.Lines, pr.Mark()+" "+pr.Text)
				}
			}
		}
		if lens.Eavesdropper.ShowsCredential(ev) {
			r.Warn = credentialWarning
		}
		v.Rows = append(v.Rows, r)
	}
	return v
}

// htmlParagraphs splits prose from content/ (Markdown) into paragraphs of
// one line each, for the template to escape.
func htmlParagraphs(prose string) []string {
	var out []string
	for _, p := range strings.Split(strings.TrimSpace(prose), "\n\n") {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, wire.SafeString(p))
		}
	}
	return out
}

// htmlTitle names the page as the Markdown handout's heading does.
func htmlTitle(evs []wire.Event) string {
	legs := wire.Legs(evs)
	if len(legs) >= 2 {
		return fmt.Sprintf("mailwire sessions: %d connections", len(legs))
	}
	return "mailwire session: " + strings.ReplaceAll(mdSessionTitle(evs), "`", "")
}

// htmlOutcome is the summary: the result and the TLS parameters, in the
// Markdown handout's words without its markup; the TLS state only when
// the lens shows it (mdOutcome).
func htmlOutcome(evs []wire.Event, l lens.Lens) []string {
	var out []string
	var errs []string
	multi := len(wire.Legs(evs)) >= 2
	for _, ev := range evs {
		// A scenario's legs may fail by design; its own errors have no leg.
		if ev.Kind == wire.KindError && (ev.Leg == "" || !multi) {
			errs = append(errs, wire.SafeString(ev.Text))
		}
		if ev.Kind == wire.KindTLSState && l.ShowsTLSState(ev) {
			out = append(out, "TLS: "+wire.SafeString(ev.Text))
		}
		if ev.Kind == wire.KindVerdict && ev.Verdict != nil {
			out = append(out, ev.Verdict.Headline()+": "+wire.SafeString(ev.Text))
		}
	}
	if len(errs) > 0 {
		return append([]string{"Result: failed: " + strings.Join(errs, "; ")}, out...)
	}
	return append([]string{"Result: completed"}, out...)
}

//go:embed html.tmpl
var htmlSource string

// htmlTemplate is parsed on first use, not at every command's start.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("session").Parse(htmlSource))
})
