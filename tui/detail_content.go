package tui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// What the detail pane says: the selected row explained (an event, or a
// run of TLS records), a scenario's story, or a placeholder. Which parts of
// an event the lens may read is decided in visibility.go; this file words
// them. Peer bytes go through wire.SafeString/SafeHexDump (see
// session_view.go).

// paneText builds the text of a pane: paragraphs wrapped to its width,
// headings and fields, in the screen's styles.
type paneText struct {
	b  strings.Builder
	st Styles
	w  int
	// prose prepares a paragraph's text before wrapping (the story's make
	// multi-line prose safe); nil leaves it as it is.
	prose func(string) string
}

// para writes text wrapped to the width, RFC citations kept whole.
func (t *paneText) para(style lipgloss.Style, text string) {
	if t.prose != nil {
		text = t.prose(text)
	}
	t.b.WriteString(style.Render(wrapText(keepCitations(text), t.w)))
	t.b.WriteString("\n")
}

// heading writes a blank line and a heading.
func (t *paneText) heading(h string) {
	t.b.WriteString("\n" + t.st.Heading.Render(h) + "\n")
}

// field writes "name: value", wrapped.
func (t *paneText) field(name, value string) {
	t.para(t.st.Text, t.st.Muted.Render(name+": ")+value)
}

// line writes text on one line, cut to the width.
func (t *paneText) line(style lipgloss.Style, text string) {
	t.b.WriteString(style.Render(ansi.Truncate(text, t.w, "…")) + "\n")
}

// raw writes already styled text as it is.
func (t *paneText) raw(text string) { t.b.WriteString(text) }

// annotation writes an annotation's prose, its risk and its references,
// each a paragraph.
func (t *paneText) annotation(a content.Annotation) {
	t.para(t.st.Text, a.Text)
	if a.Risk != "" {
		t.para(t.st.Warning, "⚠ "+a.Risk)
	}
	if a.Fix != "" {
		t.para(t.st.Title, "→ What to change: "+a.Fix)
	}
	if len(a.Refs) > 0 {
		t.para(t.st.Muted, content.JoinRefs(a.Refs))
	}
}

// String is the text, without its last line break.
func (t *paneText) String() string { return strings.TrimRight(t.b.String(), "\n") }

// explainer writes the detail pane's text. It reads the session (events,
// lens, passwords), what the step controller revealed, the legs and
// whether the scenario has a panel; it changes none of them.
type explainer struct {
	*sessionData
	c     *Common
	step  *stepper
	legs  *legFilter
	panel *scenarioPanel
}

// text is the pane's text at width w for what it shows: a scenario's
// story, a timeline row explained, or what to do while there is none.
func (e *explainer) text(subject detailSubject, w int) string {
	switch subject.kind {
	case detailStory:
		return e.story(w)
	case detailNone:
		return e.placeholder(w)
	}
	t := &paneText{st: e.c.Styles, w: w}
	if subject.first != subject.last {
		e.runDetail(t, subject.first, subject.last)
	} else {
		e.eventDetail(t, subject.first)
	}
	return t.String()
}

// placeholder stands in the pane while no row is selected.
func (e *explainer) placeholder(w int) string {
	st := e.c.Styles
	switch {
	case e.err != nil:
		return st.Error.Render("The session could not start.") + "\n" +
			st.Text.Render(wrapText(wire.SafeString(e.err.Error()), w)) + "\n\n" +
			st.Muted.Render(wrapText("esc returns to the port table; r tries again.", w))
	case e.step.on:
		return st.Muted.Render("Press space to reveal the first step.")
	}
	return st.Muted.Render("Waiting for the first event…")
}

// runDetail explains a collapsed run of TLS records (the endpoint lens):
// what it is, and its records one per line.
func (e *explainer) runDetail(t *paneText, first, last int) {
	st := t.st
	t.para(st.Title, runText(e.evs, first, last))
	t.para(st.Muted, "TLS records as they crossed the wire. The endpoints decrypt them into the lines and handshake messages around them; an observer sees only type, length and timing (tab: eavesdropper lens).")
	t.heading("Records")
	for i := first; i <= last && i < first+maxRunList; i++ {
		ev := &e.evs[i]
		t.line(st.Text, fmt.Sprintf("%s %s %s", render.Elapsed(*ev), render.Arrow(ev.Dir), wireText(*ev)))
	}
	if more := last - first + 1 - maxRunList; more > 0 {
		t.para(st.Muted, fmt.Sprintf("… %d more", more))
	}
}

// eventSections explain one event, in this order; each writes nothing
// where it does not apply (or the lens cannot read it).
var eventSections = []func(e *explainer, t *paneText, ev *wire.Event){
	(*explainer).meaningSection,
	(*explainer).credentialSection,
	(*explainer).lineSection,
	(*explainer).handshakeSection,
	(*explainer).recordSection,
	(*explainer).tlsStateSection,
	(*explainer).chainSection,
	(*explainer).errorSection,
	(*explainer).bytesSection,
	(*explainer).observedSection,
}

// eventDetail explains event i: what it is and where, then its sections; a
// verdict has its own explanation.
func (e *explainer) eventDetail(t *paneText, i int) {
	st := t.st
	ev := e.event(i)
	t.para(st.Muted, fmt.Sprintf("#%d · %s · %s · %s · %s", ev.Seq, render.Elapsed(ev), wire.SafeString(string(ev.Kind)), render.Arrow(ev.Dir), lens.Badge(ev)))
	if ev.Leg != "" {
		t.para(st.Leg, "on the connection "+legName(ev.Leg))
	}
	if ev.Kind == wire.KindBoundary {
		t.para(st.Boundary, wire.SafeString(ev.Text))
	}
	if ev.Kind == wire.KindVerdict {
		e.verdictDetail(t, ev)
		return
	}
	for _, section := range eventSections {
		section(e, t, &ev)
	}
}

// meaningSection says what the event means: an error and its explanation,
// or the annotations the lens reads it with; then its further notes.
func (e *explainer) meaningSection(t *paneText, ev *wire.Event) {
	st := t.st
	ex := lensExplains(e.lens, *ev)
	if ev.Kind == wire.KindError {
		t.para(st.Error, "✗ "+wire.SafeString(ev.Text))
		if ev.Err != nil {
			if a, ok := content.Lookup(ev.Err.Explain); ok {
				t.para(st.Title, a.Title)
				t.annotation(a)
			}
		}
	} else {
		if a, ok := content.Lookup(ex.wire); ok {
			t.para(st.Title, "On the wire: "+a.Title)
			t.annotation(a)
		}
		if a, ok := content.Lookup(ex.own); ok {
			if observer(e.lens) {
				t.raw("\n") // after what the observer saw
			}
			t.para(st.Title, a.Title)
			t.annotation(a)
		}
	}
	if len(ex.also) > 0 {
		t.heading("Also")
		for _, k := range ex.also {
			if a, ok := content.Lookup(k); ok {
				t.para(st.Text, "• "+a.Title)
			}
		}
	}
}

// credentialSection says how a credential crossed the wire.
func (e *explainer) credentialSection(t *paneText, ev *wire.Event) {
	c := ev.Credential
	if c == nil {
		return
	}
	st := t.st
	t.heading("Credential")
	switch {
	case c.OnWire && c.Password != "":
		t.para(st.Warning, credOnWire+" (RFC 8314 §5.2)")
	case c.OnWire:
		t.para(st.Warning, "⚠ user name readable by anyone on the path; the password is not in this line (RFC 8314 §5.2)")
	default:
		t.para(st.OK, "sent inside TLS: an observer sees only encrypted records")
	}
	t.field("mechanism", wire.SafeString(c.Mechanism))
	if c.Username != "" {
		t.field("user", wire.SafeString(c.Username))
	}
	if c.Password != "" {
		if e.reveal {
			t.field("password", wire.SafeString(c.Password))
		} else {
			t.field("password", wire.SafeString(c.Password)+st.Muted.Render(" (masked: p shows it)"))
		}
	}
}

// lineSection lists the decoded fields of a protocol line.
func (e *explainer) lineSection(t *paneText, ev *wire.Event) {
	ln := ev.Line
	if ln == nil || !lensShowsLine(e.lens, *ev) {
		return
	}
	t.heading("Decoded")
	t.field("protocol", wire.SafeString(ln.Proto))
	for _, f := range []struct{ name, value string }{
		{"command", ln.Command}, {"code", ln.Code}, {"enhanced", ln.Enhanced},
	} {
		if f.value != "" {
			t.field(f.name, wire.SafeString(f.value))
		}
	}
	for _, c := range ln.Capabilities {
		t.para(t.st.Text, "• "+wire.SafeString(c))
	}
}

// handshakeSection lists the fields of a handshake message the lens reads.
func (e *explainer) handshakeSection(t *paneText, ev *wire.Event) {
	h := ev.Handshake
	if h == nil {
		return
	}
	t.heading("Handshake: " + wire.SafeString(h.Type))
	for _, f := range lensFields(e.lens, *ev) {
		t.field(wire.SafeString(f.Name), wire.SafeString(f.Value))
	}
	if observer(e.lens) {
		t.para(t.st.Muted, "Shown: the fields an observer can use (names, versions, cipher suite). The rest is readable too, but says little.")
	}
}

// recordSection shows a TLS record's header.
func (e *explainer) recordSection(t *paneText, ev *wire.Event) {
	rec := ev.Record
	if rec == nil {
		return
	}
	t.heading("Record header (RFC 8446 §5.1)")
	t.field("type", wire.SafeString(rec.ContentType))
	t.field("version", wire.SafeString(rec.Version))
	t.field("length", strconv.Itoa(rec.Length))
	if n := rec.Records(); n > 1 {
		// A run of records the session shows as one (tls.record.coalesced):
		// the header above is the first record's.
		t.field("records", wire.GroupDigits(int64(n))+" in a row, this the first")
		t.field("payload", wire.GroupDigits(rec.Payload())+" bytes in all")
	}
}

// tlsStateSection shows what the handshake settled, as the client sees it.
func (e *explainer) tlsStateSection(t *paneText, ev *wire.Event) {
	ts := ev.TLS
	if ts == nil || !lensShowsTLSState(e.lens, *ev) {
		return
	}
	st := t.st
	t.heading("TLS state (the client's view)")
	t.field("version", wire.SafeString(ts.Version))
	t.field("cipher suite", wire.SafeString(ts.CipherSuite))
	if ts.ALPN != "" {
		t.field("ALPN", wire.SafeString(ts.ALPN))
	}
	if ts.ServerName != "" {
		t.field("server name", wire.SafeString(ts.ServerName))
	}
	if ts.Chain == nil {
		// A recording made before chains were kept: the subjects only.
		for i, c := range ts.PeerChain {
			t.field(fmt.Sprintf("certificate[%d]", i), wire.SafeString(c))
		}
	}
	verified := st.OK.Render("verified")
	if !ts.Verified {
		verified = st.Error.Render("NOT verified")
	}
	t.field("certificate", verified+" ("+wire.SafeString(ts.VerifyMethod)+")")
	if ts.VerifyError != "" {
		t.field("verify error", wire.SafeString(ts.VerifyError))
	}
}

// chainSection shows the server's certificate chain in plain words (the
// chain view the printers show too, render.NewChainView): the verdict,
// each certificate's facts, and each problem with what it means and what
// to change on the server (issue 9 §3).
func (e *explainer) chainSection(t *paneText, ev *wire.Event) {
	if !lensShowsTLSState(e.lens, *ev) {
		return
	}
	v := render.NewChainView(ev.TLS)
	if v == nil {
		return
	}
	st := t.st
	t.heading("Certificate chain")
	style := st.OK
	if !v.Verified {
		style = st.Error
	}
	t.para(style, v.Heading)
	for _, c := range v.Certs {
		t.b.WriteString("\n")
		t.para(st.Title, c.Title)
		for _, f := range c.Brief {
			t.field(f.Name, f.Value)
		}
	}
	// The error a certificate stopped is explained above already.
	shown := map[string]bool{}
	if ev.Err != nil {
		shown[ev.Err.Explain] = true
	}
	for _, p := range v.Problems {
		t.b.WriteString("\n")
		pstyle := st.Warning
		if p.Fatal {
			pstyle = st.Error
		}
		t.para(pstyle, p.Mark()+" "+p.Text)
		if a, ok := content.Lookup(p.Key); ok && !shown[p.Key] && !shown[a.Key] {
			shown[p.Key], shown[a.Key] = true, true
			t.para(st.Title, a.Title)
			t.annotation(a)
		}
	}
}

// errorSection shows where an error happened.
func (e *explainer) errorSection(t *paneText, ev *wire.Event) {
	info := ev.Err
	if info == nil {
		return
	}
	t.heading("Error")
	t.field("during", wire.SafeString(info.Op))
	t.field("message", wire.SafeString(info.Message))
}

// bytesSection shows the event's bytes the lens reads: protocol lines as
// written, the rest as a hex dump.
func (e *explainer) bytesSection(t *paneText, ev *wire.Event) {
	raw, form := lensBytes(e.lens, ev)
	if len(raw) == 0 {
		return
	}
	switch form {
	case bytesWritten:
		writtenLines(t, raw)
	case bytesFrame:
		frameBytes(t, ev.Line.Frame, raw)
	default:
		label, note := bytesLabel(ev, raw, form)
		hexDump(t, label, raw)
		if note != "" {
			t.para(t.st.Muted, note)
		}
	}
	if ev.Credential != nil && ev.Credential.Password != "" && !e.reveal {
		t.para(t.st.Muted, "The password is masked here: the bytes show the mask ••••••••, not what was sent. p shows them as sent.")
	}
}

// bytesLabel says truthfully what a hex dump holds, and a note to put
// under it. A handshake message's bytes are the message (type, length,
// body, RFC 8446 §4), not what crossed the wire: the TLS record around it
// adds a 5-byte header (RFC 8446 §5.1), shown on the record's own row; of
// an encrypted record the eavesdropper lens keeps that header alone.
func bytesLabel(ev *wire.Event, raw []byte, form bytesForm) (label, note string) {
	const inRecord = " On the wire it travelled inside a TLS record, whose 5-byte header (type, version, length) is on the record's own row (RFC 8446 §5.1)."
	switch {
	case ev.Kind == wire.KindHandshake && ev.Layer == wire.LayerDecrypted:
		return "Handshake message, decrypted", "The message as the handshake carries it: type, length and body (RFC 8446 §4)." + inRecord
	case ev.Kind == wire.KindHandshake:
		return "Handshake message bytes", "The message as the handshake carries it: type, length and body (RFC 8446 §4)." + inRecord
	case ev.Kind == wire.KindEncrypted && ev.Record != nil && len(raw) < ev.Record.Length:
		return "Record header on the wire", "The 5-byte record header (RFC 8446 §5.1); the ciphertext after it tells an observer only its size."
	case form == bytesDecoded:
		return "Bytes (decoded message)", ""
	}
	return "Bytes on the wire", ""
}

// writtenLines shows protocol lines as written on the connection, up to
// maxDetailLines. Long lines are wrapped, not cut: whatever a server put at
// the end of a long line (an escape sequence, an injected command) stays
// visible.
func writtenLines(t *paneText, raw []byte) {
	st := t.st
	t.heading("As written on the connection (" + plural(len(raw), "byte") + ")")
	lines := strings.SplitAfter(string(raw), "\n")
	for i, l := range lines {
		if l == "" {
			continue
		}
		if i == maxDetailLines {
			t.para(st.Muted, "… "+plural(len(lines)-i, "more line"))
			break
		}
		codeLines(t, wire.SafeString(l))
	}
}

// codeLines writes one sanitized line, bounded to maxDetailLineBytes and
// wrapped at escape boundaries: a `\x1b` is never cut across lines.
func codeLines(t *paneText, safe string) {
	if len(safe) > maxDetailLineBytes {
		safe = ansi.Truncate(safe, maxDetailLineBytes, "…")
	}
	for _, wl := range wrapEscaped(safe, t.w) {
		t.raw(t.st.Code.Render(wl) + "\n")
	}
}

// frameBytes shows an HTTP/2 frame: its 9-octet header decoded (RFC 9113
// §4.1), then its content: a DATA frame's as text, a body's bytes (§6.1);
// the others' as hex, a HEADERS frame's being the HPACK-encoded field
// block (RFC 7541 §6) that the row's text gives decoded.
func frameBytes(t *paneText, f *wire.Frame, raw []byte) {
	st := t.st
	t.heading("HTTP/2 frame header (RFC 9113 §4.1)")
	t.field("type", fmt.Sprintf("%s (%d)", wire.SafeString(f.Type), f.TypeCode))
	flags := fmt.Sprintf("0x%02x", f.Flags)
	if names := f.FlagNames(); len(names) > 0 {
		flags = strings.Join(names, ", ") + " (" + flags + ")"
	}
	t.field("flags", flags)
	t.field("stream", strconv.FormatUint(uint64(f.Stream), 10))
	t.field("length", plural(f.Length, "byte"))
	payload := f.Payload(raw)
	kept := ""
	if len(raw)-9 < f.Length {
		kept = ", " + plural(len(payload), "byte") + " kept"
	}
	switch {
	case len(payload) == 0:
		return
	case f.Type == "DATA":
		t.heading(fmt.Sprintf("Content (%s%s, as text)", plural(len(payload), "byte"), kept))
		for i, l := range wire.SafeLines(payload) {
			if i == maxDetailLines {
				t.para(st.Muted, "… "+plural(len(wire.SafeLines(payload))-i, "more line"))
				break
			}
			codeLines(t, l)
		}
	case f.Type == "HEADERS" || f.Type == "CONTINUATION" || f.Type == "PUSH_PROMISE":
		hexDump(t, "Field block, HPACK-encoded", payload)
		t.para(st.Muted, "HPACK (RFC 7541 §6) sends each field as an index into a table of fields or as a literal, often Huffman-coded: the bytes are not text. The row's text above gives the fields decoded.")
	default:
		hexDump(t, "Payload", payload)
	}
}

// hexDump shows bytes as offset, hex and ASCII, up to maxHexBytes.
func hexDump(t *paneText, what string, raw []byte) {
	st := t.st
	t.heading(fmt.Sprintf("%s: %d (hex | ASCII)", what, len(raw)))
	// A row of n bytes is 12 + 4n + n/8 columns wide (offset, hex groups,
	// ASCII): the widest of 16, 8 or 4 that fits the pane.
	perRow := 16
	for perRow > 4 && 12+4*perRow+(perRow+7)/8 > t.w {
		perRow /= 2
	}
	dump := raw[:min(len(raw), maxHexBytes)]
	t.raw(st.Code.Render(strings.TrimRight(wire.SafeHexDump(dump, perRow), "\n")) + "\n")
	if more := len(raw) - len(dump); more > 0 {
		t.para(st.Muted, "… "+plural(more, "more byte"))
	}
}

// observedSection lists, in the eavesdropper lens, what the observer has
// learned up to the event revealed last, on the event's path.
func (e *explainer) observedSection(t *paneText, ev *wire.Event) {
	if !observer(e.lens) {
		return
	}
	leg := observerLeg(e.legs.list, ev)
	if leg != "" {
		t.heading("What an observer of " + legTag(leg) + " has learned so far")
	} else {
		t.heading("What the observer has learned so far")
	}
	for _, l := range render.Learned(observe(e.evs, ev.Seq, leg), wire.SafeString) {
		t.para(t.st.Text, "• "+l)
	}
}
