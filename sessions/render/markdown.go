package render

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Markdown writes the session as a GitHub-flavoured Markdown handout: a
// heading and the outcome, a table of the exchange (one row per event; in
// the eavesdropper lens only what crossed the wire), the explanation of
// every annotation that appeared with its RFC references, and what an
// eavesdropper saw. Every peer-controlled string is sanitized and put in a
// code span (with `|` escaped inside tables, as GFM requires), so it can
// neither inject Markdown or HTML nor a terminal escape.
func Markdown(w io.Writer, evs []wire.Event, o Options) error {
	if err := o.checkLens(); err != nil {
		return err
	}
	// What an observer learned, from the events as they crossed the wire
	// (the byte counts are the real ones, not the masked password's).
	observed := LearnedPerLeg(evs)
	evs, _ = o.prepare(evs)
	bw := bufio.NewWriter(w)
	eaves := o.eavesdropper()

	mdHeader(bw, evs, o)
	view := "endpoint: everything the client saw, decrypted lines included"
	if eaves {
		view = "eavesdropper: only what a passive observer on the path saw"
	}
	fmt.Fprintf(bw, "- Lens: %s\n\n", view)

	fmt.Fprintln(bw, "## The exchange")
	fmt.Fprintln(bw)
	// --notes off has no meaning column; short has the meaning and its
	// RFCs in it, and no section that explains them (notes.go).
	if o.Notes == NotesOff {
		fmt.Fprintln(bw, "| time | dir | who can read it | what |")
		fmt.Fprintln(bw, "|---:|:---:|---|---|")
	} else {
		fmt.Fprintln(bw, "| time | dir | who can read it | what | meaning |")
		fmt.Fprintln(bw, "|---:|:---:|---|---|---|")
	}
	var order []string // annotation keys, by first appearance
	seen := map[string]bool{}
	explain := func(key string) (content.Annotation, bool) {
		ann, ok := o.lookup(key)
		if ok && !seen[ann.Key] {
			seen[ann.Key] = true
			order = append(order, ann.Key)
		}
		return ann, ok
	}
	var chains []*ChainView
	for _, ev := range evs {
		if !o.Lens.Shows(ev) {
			continue
		}
		ann, hasAnn := explain(ev.Annotation)
		what := mdWhat(ev, o, explain, &chains)
		row := fmt.Sprintf("| %s | %s | %s | %s |", Elapsed(ev), strings.TrimSpace(Arrow(ev.Dir)), lens.Badge(ev), strings.Join(what, "<br>"))
		if o.Notes != NotesOff {
			meaning := ""
			if hasAnn {
				meaning = mdTable(ann.Title)
				if refs := content.JoinRefs(ann.Refs); refs != "" && o.Notes == NotesShort {
					meaning += " (" + mdTable(refs) + ")"
				}
			}
			row += " " + meaning + " |"
		}
		fmt.Fprintln(bw, row)
	}
	fmt.Fprintln(bw)
	if o.Notes.full() {
		mdChains(bw, chains, o)
		mdMeanings(bw, order, o)
	}

	for i, ob := range observed {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		fmt.Fprintf(bw, "## %s\n\n", mdLine(learnedHeading(ob.Leg)))
		for _, b := range Learned(ob, func(s string) string { return mdCode(wire.SafeString(s), false) }) {
			fmt.Fprintln(bw, "- "+b)
		}
	}
	return bw.Flush()
}

// mdWhat is the "what" cell of an event's row, one entry a line: the
// event's text in the lens, the lines, fields, credential and TLS state the
// lens shows, a chain's heading and problems (the chain is added to chains
// for the tables after the exchange), and the cleartext-credential warning.
// explain notes the annotations the section after the table explains.
func mdWhat(ev wire.Event, o Options, explain func(string) (content.Annotation, bool), chains *[]*ChainView) []string {
	var what []string
	switch {
	case ev.Kind == wire.KindBoundary:
		what = append(what, "**TLS starts here:** "+mdCode(wire.SafeString(ev.Text), true))
	case o.eavesdropper():
		what = append(what, mdCode(o.elide(EavesdropperText(ev, false)), true))
	default:
		what = append(what, mdCode(o.elide(FirstLine(ev)), true))
	}
	if ev.Kind == wire.KindVerdict {
		what[0] = "**" + ev.Verdict.Headline() + ":** " + what[0]
	}
	if ev.Leg != "" {
		what[0] = "*" + mdLine(wire.SafeString(ev.Leg)) + "* " + what[0]
	}
	if ev.Kind == wire.KindLine || ev.Kind == wire.KindNote {
		for _, l := range extraLines(ev) {
			what = append(what, mdCode(o.elide(l), true))
		}
	}
	for _, f := range o.Lens.Fields(ev) {
		if f.Metadata { // the telling fields; the text format has them all
			what = append(what, mdCode(wire.SafeString(f.Name)+": "+wire.SafeString(f.Value), true))
		}
	}
	if o.Lens.ShowsCredential(ev) {
		for _, l := range detailLines(wire.Event{Credential: ev.Credential}, lens.Endpoint) {
			what = append(what, mdCode(l, true))
		}
	}
	if o.Lens.ShowsTLSState(ev) {
		for _, l := range detailLines(wire.Event{TLS: ev.TLS}, lens.Endpoint) {
			what = append(what, mdCode(l, true))
		}
	}
	if v := NewChainView(ev.TLS); v != nil && o.Lens.ShowsTLSState(ev) {
		// The row names the verdict and the problems; the
		// certificates follow the table, and the problems' words
		// join "What the lines mean".
		*chains = append(*chains, v)
		heading := mdCode(v.Heading, true)
		if o.Notes.full() {
			heading += fmt.Sprintf(" (chain %d below)", len(*chains))
		}
		what = append(what, heading)
		for _, pr := range v.Problems {
			explain(pr.Key)
			what = append(what, pr.Mark()+" "+mdCode(pr.Text, true))
		}
	}
	if lens.Eavesdropper.ShowsCredential(ev) {
		what = append(what, "**"+credentialWarning+"**")
	}
	return what
}

// mdMeanings writes "What the lines mean": the explanation of every
// annotation that appeared, in order of first appearance, with its RFC
// references.
func mdMeanings(bw io.Writer, order []string, o Options) {
	if len(order) == 0 {
		return
	}
	fmt.Fprintln(bw, "## What the lines mean")
	fmt.Fprintln(bw)
	for _, key := range order {
		ann, _ := o.lookup(key)
		fmt.Fprintf(bw, "### %s\n\n", mdLine(ann.Title))
		fmt.Fprintf(bw, "%s\n\n", ann.Text)
		if ann.Risk != "" {
			fmt.Fprintf(bw, "> ⚠ %s\n\n", ann.Risk)
		}
		if ann.Fix != "" {
			fmt.Fprintf(bw, "**What to change:** %s\n\n", ann.Fix)
		}
		fmt.Fprintf(bw, "*%s* — `%s`\n\n", content.JoinRefs(ann.Refs), key)
	}
}

// mdChains writes each certificate chain of the session: its verdict, a
// table of facts per certificate (values from the certificate in code
// spans), and its problems with their titles.
func mdChains(w io.Writer, chains []*ChainView, o Options) {
	for n, v := range chains {
		if len(chains) == 1 {
			fmt.Fprintf(w, "## Certificate chain\n\n")
		} else {
			fmt.Fprintf(w, "## Certificate chain %d\n\n", n+1)
		}
		s := "The server sent " + words.Plural(v.Sent, "certificate")
		if v.Name != "" {
			s += ", checked for " + mdCode(v.Name, false)
		}
		switch v.Method {
		case "":
		case string(wire.VerifyOff):
			s += " (verification off, but checked anyway)"
		default:
			s += " against " + mdLine(v.Method)
		}
		switch {
		case v.Verified && v.Anchor != "":
			s += ": **verified**, up to the trusted root " + mdCode(v.Anchor, false) + "."
		case v.Verified:
			s += ": **verified**."
		default:
			s += ": **not verified**."
		}
		fmt.Fprintf(w, "%s\n\n", s)
		for _, c := range v.Certs {
			fmt.Fprintf(w, "### %s\n\n", mdCode(c.Title, false))
			if len(c.Fields) == 0 {
				continue
			}
			fmt.Fprintln(w, "| fact | value |")
			fmt.Fprintln(w, "|---|---|")
			for _, f := range c.Fields {
				val := mdTable(f.Value)
				if f.Peer {
					val = mdCode(f.Value, true)
				}
				fmt.Fprintf(w, "| %s | %s |\n", f.Name, val)
			}
			fmt.Fprintln(w)
		}
		for _, pr := range v.Problems {
			title := ""
			if ann, ok := o.lookup(pr.Key); ok {
				title = "**" + mdLine(ann.Title) + "**: "
			}
			fmt.Fprintf(w, "- %s %s%s\n", pr.Mark(), title, mdCode(pr.Text, false))
		}
		if len(v.Problems) > 0 {
			fmt.Fprintln(w)
		}
	}
}

// mdHeader writes the title (the handout's one level-1 heading), the
// introduction and the outcome list. A scenario's stream holds several
// connections (its legs); each gets its own line and outcome, so the
// handout does not describe them all as the first.
func mdHeader(w io.Writer, evs []wire.Event, o Options) {
	var legs []string
	byLeg := map[string][]wire.Event{}
	var unlegged []wire.Event
	for _, ev := range evs {
		if ev.Leg == "" {
			unlegged = append(unlegged, ev)
			continue
		}
		if _, ok := byLeg[ev.Leg]; !ok {
			legs = append(legs, ev.Leg)
		}
		byLeg[ev.Leg] = append(byLeg[ev.Leg], ev)
	}
	title := "mailwire session: " + mdSessionTitle(evs)
	if len(legs) >= 2 {
		title = fmt.Sprintf("mailwire sessions: %d connections", len(legs))
	}
	if o.Title != "" {
		title = mdHeading(o.Title)
	}
	fmt.Fprintf(w, "# %s\n\n", title)
	if o.Intro != "" {
		fmt.Fprintf(w, "%s\n\n", strings.TrimSpace(o.Intro))
	}
	if len(legs) < 2 {
		for _, l := range mdOutcome(evs, o.Lens) {
			fmt.Fprintln(w, "- "+l)
		}
		return
	}
	for _, leg := range legs {
		fmt.Fprintf(w, "- *%s*: %s\n", mdLine(leg), mdSessionTitle(byLeg[leg]))
		for _, l := range mdOutcome(byLeg[leg], o.Lens) {
			fmt.Fprintln(w, "  - "+l)
		}
	}
	// The scenario's own events (its verdicts, a failure before any
	// connection) belong to no leg.
	for _, ev := range unlegged {
		if ev.Kind == wire.KindError {
			fmt.Fprintln(w, "- Result: **failed**: "+mdCode(wire.SafeString(ev.Text), false))
		}
	}
	fmt.Fprintf(w, "- Events: %d\n", len(evs))
}

// mdSessionTitle names the session from its events: the protocol and the
// address dialed.
func mdSessionTitle(evs []wire.Event) string {
	proto, addr := "", ""
	for _, ev := range evs {
		if proto == "" && ev.Line != nil && ev.Line.Proto != "" {
			proto = strings.ToUpper(ev.Line.Proto)
		}
		if addr == "" && ev.Kind == wire.KindConnect {
			// "connected to 127.0.0.1:10587 (target) in 1ms", or the
			// attacker's "attacker connected to the server 127.0.0.1:10587
			// on behalf of …": the first host:port is the address dialed.
			addr = ev.Text
			for _, f := range strings.Fields(ev.Text) {
				if _, port, err := net.SplitHostPort(f); err == nil && port != "" {
					addr = f
					break
				}
			}
		}
	}
	var parts []string
	if proto != "" {
		parts = append(parts, wire.SafeString(proto))
	}
	if addr != "" {
		parts = append(parts, mdCode(wire.SafeString(addr), false))
	}
	if len(parts) == 0 {
		return "no connection"
	}
	return strings.Join(parts, " with ")
}

// mdOutcome is the handout's summary list: result, TLS parameters. The
// parameters are the client's TLS state (certificate verified or not),
// which the lens decides on (ShowsTLSState): the eavesdropper's are in
// what it learned, from the cleartext handshake.
func mdOutcome(evs []wire.Event, l lens.Lens) []string {
	var out []string
	var errs []string
	for _, ev := range evs {
		if ev.Kind == wire.KindError {
			errs = append(errs, mdCode(wire.SafeString(ev.Text), false))
		}
		if ev.Kind == wire.KindTLSState && l.ShowsTLSState(ev) {
			out = append(out, "TLS: "+mdCode(wire.SafeString(ev.Text), false))
		}
	}
	if len(errs) > 0 {
		out = append([]string{"Result: **failed**: " + strings.Join(errs, "; ")}, out...)
	} else {
		out = append([]string{"Result: completed"}, out...)
	}
	return append(out, fmt.Sprintf("Events: %d", len(evs)))
}

// mdCode puts peer text, already through SafeText, in a code span:
// CommonMark §6.1 lets no Markdown or HTML take effect inside, the fence is
// one backtick longer than any backtick run in the text, and a space pads
// text that starts or ends with a backtick. In a GFM table cell, `|` must
// still be escaped.
func mdCode(s string, inTable bool) string {
	if s == "" {
		return ""
	}
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	return fence + s + fence
}

// mdTable makes trusted prose safe in a table cell.
func mdTable(s string) string {
	return strings.ReplaceAll(mdLine(s), "|", `\|`)
}

// mdLine keeps trusted prose on one line.
// mdHeading is text for a heading: one line, safe (mdLine), and inert:
// the characters that would make Markdown or HTML of it are escaped
// (CommonMark §2.4), so a target named `x` or <b> shows as typed.
func mdHeading(s string) string {
	var b strings.Builder
	for _, r := range mdLine(s) {
		if strings.ContainsRune("\\`*_[]<>|#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func mdLine(s string) string {
	return strings.Join(strings.Fields(wire.SafeString(s)), " ")
}
