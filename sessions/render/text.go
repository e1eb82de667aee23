package render

// Plain output of a session: Text (a terminal transcript), JSON
// (JSON Lines, json.go) and Markdown (a handout,
// markdown.go). All three are pure functions of a []Event: they touch
// no network, so a recorded session prints exactly as a live one.
//
// Two rules hold in every format:
//
//   - Everything a peer controls (Text, Raw, Line, Handshake and TLS fields,
//     error messages) reaches the output only through SafeText/SafeString or
//     SafeHexDump, so a hostile server cannot put an escape sequence, an
//     OSC 52 clipboard write or a C1 control on the reader's terminal. JSON
//     escapes control characters by itself (RFC 8259 §7).
//   - Passwords are masked unless Options.RevealSecrets: see
//     RedactSecrets for exactly what is replaced.

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/internal/words"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Options control the printers. The zero value prints plain text of
// the endpoint lens, 100 columns wide, with passwords masked.
type Options struct {
	// Color styles the text output with lipgloss (ANSI SGR sequences). The
	// CLI sets it only when stdout is a terminal and NO_COLOR is unset; the
	// caller should write through a colorprofile writer to downsample.
	Color bool
	// RevealSecrets prints passwords as they were sent. Off by default, in
	// every format.
	RevealSecrets bool
	// Width is the column count text is wrapped to (text format); 0 means 100.
	Width int
	// Title is the Markdown handout's title, its one level-1 heading, and
	// the HTML page's: what ran (the CLI names the protocol, port, TLS
	// mode and target); "" makes one from the events (the protocol and the
	// address dialed). Intro, Markdown prose from content/ (a scenario's
	// introduction), goes under it (in HTML as plain paragraphs).
	Title, Intro string
	// Lens is whose view the output shows (the lens decides what each
	// event shows of itself); the zero value is the endpoint's.
	Lens lens.Lens
	// Hex adds a hex+ASCII dump (SafeHexDump) of each event's bytes (text
	// format): in the eavesdropper lens the bytes as they crossed the wire
	// (cleartext lines, whole TLS records), in the endpoint lens the
	// protocol lines and decoded handshake messages.
	Hex bool
	// Annotations looks up the prose for an annotation key; nil means
	// content.Lookup. Tests pin it to get goldens independent of content.
	Annotations func(key string) (content.Annotation, bool)
	// Notes is how much the text and Markdown outputs explain (notes.go);
	// the zero value is NotesFull. JSON and HTML carry everything.
	Notes Notes
	// LineWidth bounds one line of the text and Markdown outputs, after
	// escaping: a longer one ends "… N more bytes" (the session budget's
	// LineWidth, --max-line); 0 means wire.DefaultBudgetLineWidth,
	// negative no limit.
	LineWidth int
}

// elide cuts one output line to the LineWidth (wire.Elide).
func (o Options) elide(s string) string {
	w := o.LineWidth
	if w == 0 {
		w = wire.DefaultBudgetLineWidth
	}
	return wire.Elide(s, w)
}

const (
	defaultPrintWidth = 100
	minPrintWidth     = 40
	// maxExtraLines bounds how many lines of one multi-line event (an EHLO
	// reply, a message body) the text and Markdown outputs show.
	maxExtraLines = 40
	// maxHexBytes bounds the hex dump of one event (a TLS record can hold
	// 16 KiB, RFC 8446 §5.1).
	maxHexBytes = 1024
	// credentialWarning flags a line whose credentials crossed the wire
	// readable (RFC 8314 §5.2, RFC 2595 §2.3).
	credentialWarning = "⚠ credentials readable by anyone on the path"
)

func (o Options) width() int {
	switch {
	case o.Width <= 0:
		return defaultPrintWidth
	case o.Width < minPrintWidth:
		return minPrintWidth
	}
	return o.Width
}

func (o Options) lookup(key string) (content.Annotation, bool) {
	if key == "" {
		return content.Annotation{}, false
	}
	if o.Annotations != nil {
		return o.Annotations(key)
	}
	return content.Lookup(key)
}

func (o Options) eavesdropper() bool { return o.Lens == lens.Eavesdropper }

// checkLens rejects a lens the printers do not know.
func (o Options) checkLens() error {
	_, err := lens.Parse(o.Lens.String())
	return err
}

// prepare applies the options every format shares: redaction.
func (o Options) prepare(evs []wire.Event) ([]wire.Event, []bool) {
	if o.RevealSecrets {
		return evs, make([]bool, len(evs))
	}
	return protocol.RedactSecrets(evs)
}

// Arrow is the direction column of a transcript: C→S, S→C, or "·· " for
// an event of neither direction (a note, the connection itself).
func Arrow(d wire.Direction) string {
	switch d {
	case wire.ClientToServer:
		return "C→S"
	case wire.ServerToClient:
		return "S→C"
	}
	return "·· "
}

// EavesdropperText is what a passive observer makes of an event: cleartext
// as it was, TLS records as type and length (RFC 8446 §5.1: the record
// header is never encrypted), handshake messages sent in the clear, bytes a
// server injected before TLS. With inlineLeaks, a handshake message also
// names the metadata it leaks (Field.Metadata: SNI, ALPN, a TLS 1.2
// certificate) on the same line, as the session screen's one-row timeline
// needs; the printers leave it out and list those fields under the event
// instead.
func EavesdropperText(ev wire.Event, inlineLeaks bool) string {
	switch ev.Kind {
	case wire.KindRecord, wire.KindEncrypted:
		if ev.Record != nil {
			what := "TLS " + wire.SafeString(ev.Record.ContentType) + " record"
			if ev.Kind == wire.KindEncrypted {
				what = "encrypted " + what
			}
			if n := ev.Record.Records(); n > 1 {
				// A coalesced run: what an observer sums up.
				return fmt.Sprintf("%s %ss, %s bytes", wire.GroupDigits(int64(n)), what, wire.GroupDigits(ev.Record.Payload()))
			}
			return what + ", " + words.Plural(ev.Record.Length, "byte")
		}
	case wire.KindHandshake:
		if h := ev.Handshake; h != nil {
			if !inlineLeaks {
				return wire.SafeString(h.Type) + " (in the clear)"
			}
			// The lens decides which fields an observer reads (Fields:
			// Metadata ones, of a message that crossed in the clear).
			var leaks []string
			for _, f := range lens.Eavesdropper.Fields(ev) {
				leaks = append(leaks, wire.SafeString(f.Name)+" "+wire.SafeString(f.Value))
			}
			t := wire.SafeString(h.Type) + " in the clear"
			if len(leaks) > 0 {
				t += ": " + strings.Join(leaks, "; ")
			}
			return t
		}
	case wire.KindNote:
		return words.Plural(len(ev.Raw), "cleartext byte") + " from the server"
	case wire.KindError:
		return "the client gave up (not on the wire): " + wire.SafeString(ev.Text)
	}
	return FirstLine(ev)
}

// FirstLine is the sanitized one-line text of an event. A protocol line
// whose Raw holds several lines (a multi-line reply, RFC 5321 §4.2.1) shows
// its first line; the printers put the rest under it (extraLines), the
// session screen in its detail pane. An HTTP/2 frame is binary, not lines:
// its text is the driver's, which decodes the header (type, stream,
// flags, length; RFC 9113 §4.1).
func FirstLine(ev wire.Event) string {
	if ev.Kind == wire.KindLine && len(ev.Raw) > 0 && !isFrame(ev) {
		if lines := wire.SafeLines(ev.Raw); len(lines) > 1 {
			return lines[0]
		}
	}
	return wire.SafeString(ev.Text)
}

// isFrame says whether ev is an HTTP/2 frame.
func isFrame(ev wire.Event) bool { return ev.Line != nil && ev.Line.Frame != nil }

// FrameLines is the content of an HTTP/2 DATA frame as sanitized lines of
// text (a body's bytes, RFC 9113 §6.1), without the frame's header, pad
// length and padding; nil for other events and other frames, whose
// payloads are binary (HPACK, settings, window increments).
func FrameLines(ev wire.Event) []string {
	if !isFrame(ev) || ev.Line.Frame.Type != "DATA" {
		return nil
	}
	return wire.SafeLines(ev.Line.Frame.Payload(ev.Raw))
}

// extraLines returns the sanitized lines after the first of a multi-line
// protocol event, bounded by maxExtraLines; of an HTTP/2 DATA frame, the
// lines of its content.
func extraLines(ev wire.Event) []string {
	if ev.Kind != wire.KindLine || len(ev.Raw) == 0 {
		return nil
	}
	lines := wire.SafeLines(ev.Raw)
	if isFrame(ev) {
		lines = append([]string{""}, FrameLines(ev)...) // all of them under the driver's text
	}
	if len(lines) <= 1 {
		return nil
	}
	lines = lines[1:]
	if len(lines) > maxExtraLines {
		n := len(lines) - maxExtraLines
		lines = append(lines[:maxExtraLines:maxExtraLines], fmt.Sprintf("… %d more lines", n))
	}
	if more := ev.Bytes() - int64(len(ev.Raw)); more > 0 {
		// The session kept a part (its budget); the rest crossed.
		lines = append(lines, fmt.Sprintf("… %s more bytes crossed the wire, read and not kept", wire.GroupDigits(more)))
	}
	return lines
}

// detailLines are the decoded parts of an event shown under it, as far
// as the lens shows them: handshake fields, the client's TLS state, a
// credential.
func detailLines(ev wire.Event, l lens.Lens) []string {
	var out []string
	for _, f := range l.Fields(ev) {
		out = append(out, wire.SafeString(f.Name)+": "+wire.SafeString(f.Value))
	}
	if t := ev.TLS; t != nil && l.ShowsTLSState(ev) {
		if t.ALPN != "" {
			out = append(out, "ALPN: "+wire.SafeString(t.ALPN))
		}
		if t.ServerName != "" {
			out = append(out, "server name: "+wire.SafeString(t.ServerName))
		}
		if t.Chain == nil && t.VerifyError != "" {
			// A recording made before chains were kept; otherwise the
			// chain view says what failed, in words.
			out = append(out, "verify error: "+wire.SafeString(t.VerifyError))
		}
	}
	if c := ev.Credential; c != nil && l.ShowsCredential(ev) {
		s := "credential: " + wire.SafeString(c.Mechanism)
		if c.Username != "" {
			s += ", user " + wire.SafeString(c.Username)
		}
		if c.Password != "" {
			s += ", password " + wire.SafeString(c.Password)
		}
		out = append(out, s)
	}
	return out
}

// textStyles are the lipgloss styles of the text format; all render as the
// identity when colour is off.
type textStyles struct {
	on                                        bool
	time, cleartext, handshake, encrypted     lipgloss.Style
	local, errBadge, rule, title, prose, warn lipgloss.Style
	refs, detail                              lipgloss.Style
}

func newTextStyles(color bool) textStyles {
	s := lipgloss.NewStyle()
	if !color {
		return textStyles{time: s, cleartext: s, handshake: s, encrypted: s, local: s, errBadge: s,
			rule: s, title: s, prose: s, warn: s, refs: s, detail: s}
	}
	return textStyles{
		on:        true,
		time:      s.Faint(true),
		cleartext: s.Bold(true).Foreground(lipgloss.Color("#ffffff")).Background(lipgloss.Color("#c0262d")),
		handshake: s.Bold(true).Foreground(lipgloss.Color("#d7a700")),
		encrypted: s.Bold(true).Foreground(lipgloss.Color("#3fae5a")),
		local:     s.Faint(true),
		errBadge:  s.Bold(true).Foreground(lipgloss.Color("#ff5f5f")),
		rule:      s.Bold(true).Foreground(lipgloss.Color("#b48ead")),
		title:     s.Italic(true).Foreground(lipgloss.Color("#8fa1b3")),
		prose:     s.Faint(true),
		warn:      s.Bold(true).Foreground(lipgloss.Color("#ff5f5f")),
		refs:      s.Foreground(lipgloss.Color("#6c7a89")),
		detail:    s.Foreground(lipgloss.Color("#a0a8b0")),
	}
}

func (st textStyles) render(s lipgloss.Style, text string) string {
	if !st.on || text == "" {
		return text
	}
	return s.Render(text)
}

func (st textStyles) badge(ev wire.Event) string {
	b := lens.Badge(ev)
	pad := strings.Repeat(" ", 9-len(b))
	var s lipgloss.Style
	switch b {
	case "CLEARTEXT":
		s = st.cleartext
	case "HANDSHAKE", "TCP":
		s = st.handshake
	case "ENCRYPTED":
		s = st.encrypted
	case "ERROR":
		s = st.errBadge
	case "VERDICT":
		switch {
		case ev.Verdict != nil && ev.Verdict.Informational:
			s = st.rule // neither safe nor unsafe: a result
		case ev.Verdict != nil && ev.Verdict.Safe:
			s = st.encrypted
		default:
			s = st.warn
		}
	default:
		s = st.local
	}
	return st.render(s, b) + pad
}

// Elapsed formats At, the time since the session started, as
// FormatDuration does: the time column of a transcript.
func Elapsed(ev wire.Event) string { return wire.FormatDuration(ev.At) }

// textIndent is where continuation lines start: under the event text.
// "  12345.67ms  C→S  CLEARTEXT  " is 11+2+3+2+9+2 columns.
const textIndent = 29

// Text writes one line per event: elapsed time, direction, a badge
// saying who can read the event (CLEARTEXT: anyone on the path; HANDSHAKE:
// TLS metadata in the clear; TCP: the connection itself; ENCRYPTED: only the endpoints; LOCAL/ERROR:
// never on the wire), the sanitized text and the annotation's title. Where
// the connection turns into TLS (KindBoundary) a rule line marks it. Under
// an event: the rest of a multi-line reply, decoded fields, a credential
// warning, and, the first time an annotation appears, its prose, risk and
// RFC references. The eavesdropper lens prints only what crossed the wire,
// as an observer saw it, and ends with a summary.
func Text(w io.Writer, evs []wire.Event, o Options) error {
	p, err := NewTextPrinter(w, o)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if err := p.Print(ev); err != nil {
			return err
		}
	}
	return p.Close()
}

// TextPrinter is Text one event at a time, for a live session: each
// Print writes (and flushes) one event; Close writes what needs the whole
// session (the eavesdropper summary). Not safe for concurrent use.
type TextPrinter struct {
	w     *bufio.Writer
	o     Options
	st    textStyles
	width int
	seen  map[string]bool
	// observed is what an observer learned on each connection, for the
	// eavesdropper lens's summary.
	observed legObservers
}

// NewTextPrinter returns a printer writing to w.
func NewTextPrinter(w io.Writer, o Options) (*TextPrinter, error) {
	if err := o.checkLens(); err != nil {
		return nil, err
	}
	return &TextPrinter{w: bufio.NewWriter(w), o: o, st: newTextStyles(o.Color), width: o.width(), seen: map[string]bool{}}, nil
}

// Print writes one event.
func (p *TextPrinter) Print(ev wire.Event) error {
	if p.o.eavesdropper() {
		// Observed as it crossed the wire: the byte counts are the
		// real ones, not the masked password's.
		p.observed.add(ev)
	}
	if !p.o.RevealSecrets {
		r, _ := protocol.RedactSecrets([]wire.Event{ev})
		ev = r[0]
	}
	p.event(ev)
	return p.w.Flush()
}

// Close writes what an eavesdropper saw (the eavesdropper lens: one part
// per connection, since an observer sits on one path) and flushes.
func (p *TextPrinter) Close() error {
	if p.o.eavesdropper() {
		bw, st := p.w, p.st
		for _, ob := range p.observed.observations() {
			fmt.Fprintln(bw)
			fmt.Fprintln(bw, st.render(st.rule, learnedHeading(ob.Leg)))
			for _, b := range Learned(ob, wire.SafeString) {
				for i, wl := range wrap(b, p.width-4) {
					pre := "  • "
					if i > 0 {
						pre = "    "
					}
					fmt.Fprintln(bw, pre+wl)
				}
			}
		}
	}
	return p.w.Flush()
}

// learnedHeading heads what an observer of one connection (or of the whole
// session) saw.
func learnedHeading(leg string) string {
	if leg == "" {
		return "What an eavesdropper saw"
	}
	return "What an eavesdropper on " + wire.SafeString(leg) + " saw"
}

func (p *TextPrinter) event(ev wire.Event) {
	bw, st, o, width := p.w, p.st, p.o, p.width
	indent := strings.Repeat(" ", textIndent)
	eaves := o.eavesdropper()
	if !o.Lens.Shows(ev) {
		return
	}
	ann, hasAnn := o.lookup(ev.Annotation)
	if eaves {
		// The observer's view: explain each kind of visibility once,
		// not what the protocol line means.
		ann, hasAnn = o.lookup(lens.WireAnnotation(ev))
	}
	full := o.Notes.full()
	if ev.Kind == wire.KindBoundary {
		printRule(bw, st, ev, width, o.Notes != NotesOff)
	} else {
		text := FirstLine(ev)
		title := ""
		switch {
		case eaves:
			// Short and off have no room under the event for what a
			// handshake message leaks: it goes on its line.
			text = EavesdropperText(ev, !full)
		case hasAnn && o.Notes == NotesShort:
			title = "— " + ann.Title
			if refs := content.JoinRefs(ann.Refs); refs != "" {
				title += " (" + refs + ")"
			}
		case hasAnn && full:
			title = "— " + ann.Title
		}
		if ev.Kind == wire.KindVerdict {
			text = ev.Verdict.Headline() + ": " + text
		}
		switch o.Notes {
		case NotesOff:
			printOneLine(bw, st, ev, LegTag(ev)+text, width)
		case NotesShort:
			// The note is one line: beside the text when it fits,
			// else under it, cut to the width.
			printMain(bw, st, ev, LegTag(ev)+o.elide(text), ansi.Truncate(title, width-textIndent, "…"), width)
		default:
			printMain(bw, st, ev, LegTag(ev)+o.elide(text), title, width)
		}
	}
	if ev.Kind == wire.KindLine || ev.Kind == wire.KindNote {
		for _, l := range extraLines(ev) {
			if o.Notes == NotesOff {
				l = ansi.Truncate(l, width-textIndent, "…")
			}
			fmt.Fprintln(bw, indent+o.elide(l))
		}
	}
	if full {
		p.details(ev)
	} else if v := NewChainView(ev.TLS); v != nil && o.Lens.ShowsTLSState(ev) {
		// The chain's verdict alone, as s_client's "Verify return
		// code".
		p.chainHeading(v)
	}
	if lens.Eavesdropper.ShowsCredential(ev) {
		fmt.Fprintln(bw, indent+"  "+st.render(st.warn, credentialWarning))
	}
	if o.Hex {
		p.hex(ev)
	}
	if !full {
		return
	}
	if hasAnn && !p.seen[ann.Key] {
		p.seen[ann.Key] = true
		in := indent
		if ev.Kind == wire.KindBoundary {
			in = strings.Repeat(" ", ruleIndent)
		}
		printProse(bw, st, ann, in, width)
	}
	if eaves && lens.Eavesdropper.ShowsCredential(ev) && !p.seen["wire.credentials"] {
		if a, ok := o.lookup("wire.credentials"); ok {
			p.seen["wire.credentials"] = true
			printProse(bw, st, a, indent, width)
		}
	}
}

// details writes the decoded parts of an event under it (detailLines),
// and its certificate chain.
func (p *TextPrinter) details(ev wire.Event) {
	bw, st, o, width := p.w, p.st, p.o, p.width
	indent := strings.Repeat(" ", textIndent)
	for _, l := range detailLines(ev, o.Lens) {
		for i, wl := range wrap(l, width-textIndent-6) {
			pre := indent + "  "
			if i > 0 {
				pre += "    " // hanging indent under the field name
			}
			fmt.Fprintln(bw, pre+st.render(st.detail, wl))
		}
	}
	if v := NewChainView(ev.TLS); v != nil && o.Lens.ShowsTLSState(ev) {
		p.chain(v)
	}
}

// hex writes the hex+ASCII dump of what the lens shows of an event.
func (p *TextPrinter) hex(ev wire.Event) {
	bw, st, width := p.w, p.st, p.width
	b := hexBytes(ev, p.o.Lens)
	if len(b) == 0 {
		return
	}
	// A 16-byte row is 78 columns: it starts left of the text column,
	// and rows shrink to 8 bytes on narrow output.
	perRow := 16
	if width-ruleIndent < 78 {
		perRow = 8
	}
	more := len(b) - maxHexBytes
	if more > 0 {
		b = b[:maxHexBytes]
	}
	for _, l := range strings.Split(strings.TrimSuffix(wire.SafeHexDump(b, perRow), "\n"), "\n") {
		fmt.Fprintln(bw, strings.Repeat(" ", ruleIndent)+st.render(st.detail, l))
	}
	if more > 0 {
		fmt.Fprintf(bw, "%s%s\n", strings.Repeat(" ", ruleIndent), st.render(st.detail, fmt.Sprintf("… %s more", words.Plural(more, "byte"))))
	}
}

// ruleIndent is where the text under a boundary rule starts.
const ruleIndent = 13

// chainLabel is the width of a fact's name in the text chain view.
const chainLabel = 14

// chain writes the chain view under its event, left of the text column as
// the hex view is, so that a fingerprint fits on one line at 100 columns:
// the verdict, each certificate with its facts, then each problem with its
// annotation's title, and the first time a problem appears its words and
// what to change (printProse).
func (p *TextPrinter) chain(v *ChainView) {
	bw, st, width := p.w, p.st, p.width
	in := strings.Repeat(" ", ruleIndent)
	p.chainHeading(v)
	for _, c := range v.Certs {
		for i, l := range wrap(c.Title, width-ruleIndent-2) {
			pre := in + "  "
			if i > 0 {
				pre += "    "
			}
			fmt.Fprintln(bw, pre+l)
		}
		room := width - ruleIndent - 6 - chainLabel
		for _, f := range c.Brief {
			val := f.Value
			if f.Halves && len(val) > room {
				val = val[:len(val)/2] + " " + val[len(val)/2:]
			}
			for i, l := range wrap(val, room) {
				label := strings.Repeat(" ", chainLabel)
				if i == 0 {
					label = fmt.Sprintf("%-*s", chainLabel, f.Name)
				}
				fmt.Fprintln(bw, in+"      "+st.render(st.detail, label+l))
			}
		}
	}
	for _, pr := range v.Problems {
		ann, ok := p.o.lookup(pr.Key)
		text := pr.Mark() + " " + pr.Text
		if ok {
			text += " — " + ann.Title
		}
		for i, l := range wrap(text, width-ruleIndent-2) {
			pre := in
			if i > 0 {
				pre += "  "
			}
			fmt.Fprintln(bw, pre+st.render(st.warn, l))
		}
		if ok && !p.seen[ann.Key] {
			p.seen[ann.Key] = true
			printProse(bw, st, ann, in, width)
		}
	}
}

// chainHeading writes a chain's verdict (ChainView.Heading), wrapped,
// left of the text column as the chain view is.
func (p *TextPrinter) chainHeading(v *ChainView) {
	style := p.st.encrypted
	if !v.Verified {
		style = p.st.warn
	}
	for _, l := range wrap(v.Heading, p.width-ruleIndent) {
		fmt.Fprintln(p.w, strings.Repeat(" ", ruleIndent)+p.st.render(style, l))
	}
}

// printRule draws the boundary where the connection turns into TLS.
func printRule(w io.Writer, st textStyles, ev wire.Event, width int, withText bool) {
	label := " TLS STARTS HERE "
	if ev.Annotation == "tls.boundary.implicit" {
		label = " TLS FROM THE FIRST BYTE "
	}
	n := width - ruleIndent - len(label)
	left := max(n/2, 3)
	right := max(n-left, 3)
	rule := strings.Repeat("═", left) + label + strings.Repeat("═", right)
	fmt.Fprintf(w, "%s  %s\n", st.render(st.time, fmt.Sprintf("%11s", Elapsed(ev))), st.render(st.rule, rule))
	if !withText {
		return
	}
	for _, l := range wrap(wire.SafeString(ev.Text), width-ruleIndent) {
		fmt.Fprintln(w, strings.Repeat(" ", ruleIndent)+st.render(st.rule, l))
	}
}

// printMain writes an event's own line: time, direction, badge, text and
// title. Text too long for the width continues under itself, and the title
// moves to a line of its own when it does not fit.
func printMain(w io.Writer, st textStyles, ev wire.Event, text, title string, width int) {
	prefix := fmt.Sprintf("%s  %s  %s  ", st.render(st.time, fmt.Sprintf("%11s", Elapsed(ev))), Arrow(ev.Dir), st.badge(ev))
	indent := strings.Repeat(" ", textIndent)
	room := width - textIndent
	lines := wrap(text, room)
	last := len(lines) - 1
	if title != "" && lipgloss.Width(lines[last])+2+lipgloss.Width(title) <= room {
		lines[last] += "  " + st.render(st.title, title)
		title = ""
	}
	for i, l := range lines {
		if i == 0 {
			fmt.Fprintln(w, prefix+l)
		} else {
			fmt.Fprintln(w, indent+l)
		}
	}
	if title != "" {
		for _, l := range wrap(title, room) {
			fmt.Fprintln(w, indent+st.render(st.title, l))
		}
	}
}

// printOneLine writes an event's own line as --notes off has it: one line
// of the width, cut with "…" as a pager chops a line (s_client's output is
// as terse); --notes full and short have the whole text.
func printOneLine(w io.Writer, st textStyles, ev wire.Event, text string, width int) {
	prefix := fmt.Sprintf("%s  %s  %s  ", st.render(st.time, fmt.Sprintf("%11s", Elapsed(ev))), Arrow(ev.Dir), st.badge(ev))
	fmt.Fprintln(w, prefix+ansi.Truncate(text, width-textIndent, "…"))
}

// printProse writes an annotation's text, risk and references, wrapped.
func printProse(w io.Writer, st textStyles, ann content.Annotation, indent string, width int) {
	inner := width - len(indent) - 2
	for i, para := range strings.Split(ann.Text, "\n\n") {
		if i > 0 {
			fmt.Fprintln(w, indent+"  ")
		}
		for _, l := range wrap(para, inner) {
			fmt.Fprintln(w, indent+"  "+st.render(st.prose, l))
		}
	}
	if ann.Risk != "" {
		for _, l := range wrap("⚠ "+ann.Risk, inner) {
			fmt.Fprintln(w, indent+"  "+st.render(st.warn, l))
		}
	}
	if ann.Fix != "" {
		for _, l := range wrap("→ What to change: "+ann.Fix, inner) {
			fmt.Fprintln(w, indent+"  "+st.render(st.title, l))
		}
	}
	if refs := content.JoinRefs(ann.Refs); refs != "" {
		for _, l := range wrap(refs, inner) {
			fmt.Fprintln(w, indent+"  "+st.render(st.refs, l))
		}
	}
}

// hexBytes picks the bytes the hex view dumps for an event: what the lens
// shows of it, each byte once. The endpoint lens dumps the decoded
// messages and lines, not the records that carried them; the eavesdropper
// lens dumps the records (a cleartext handshake message is inside the
// record dumped just before it).
func hexBytes(ev wire.Event, l lens.Lens) []byte {
	switch {
	case l == lens.Endpoint && (ev.Kind == wire.KindRecord || ev.Kind == wire.KindEncrypted):
		return nil
	case l == lens.Eavesdropper && ev.Kind == wire.KindHandshake:
		return nil
	}
	return l.Bytes(ev)
}

// wrap breaks s into lines of at most width display columns at spaces; a
// word longer than width is cut. Runs of spaces inside a line are kept, so
// a protocol line is shown as it was.
func wrap(s string, width int) []string {
	if width < 10 {
		width = 10
	}
	if lipgloss.Width(s) <= width {
		return []string{s}
	}
	var out []string
	var cur strings.Builder
	curW, started := 0, false
	flush := func() {
		out = append(out, cur.String())
		cur.Reset()
		curW, started = 0, false
	}
	for _, word := range strings.Split(s, " ") {
		ww := lipgloss.Width(word)
		for ww > width { // cut an over-long word (a hex random, a base64 blob)
			if started {
				flush()
			}
			r := []rune(word)
			cut, cw := 0, 0
			for cut < len(r) && cw+lipgloss.Width(string(r[cut])) <= width {
				cw += lipgloss.Width(string(r[cut]))
				cut++
			}
			cut = max(cut, 1)
			out = append(out, string(r[:cut]))
			word = string(r[cut:])
			ww = lipgloss.Width(word)
		}
		if started && curW+1+ww > width {
			flush()
		}
		if started {
			cur.WriteByte(' ')
			curW++
		}
		cur.WriteString(word)
		curW += ww
		started = true
	}
	if started || len(out) == 0 {
		out = append(out, cur.String())
	}
	return out
}

// LegTag is the prefix the printers put before an event's text when the
// event belongs to one connection of several ("[attacker-server] "), "" otherwise.
func LegTag(ev wire.Event) string {
	if ev.Leg == "" {
		return ""
	}
	return "[" + wire.SafeString(ev.Leg) + "] "
}
