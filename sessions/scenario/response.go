package scenario

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// response-injection: the mirror image of command injection. Right after
// its positive STARTTLS/STLS reply, in the same write and before TLS, the
// server (or an attacker on the path) sends lines the client never asked
// for. A client that read them after the handshake would take them for the
// server's first answers inside TLS; RFC 3207 §4.2, RFC 2595 §4 and RFC
// 9051 §6.2.1 have it discard what it knew and ask again. mailwire's own
// client runs unchanged: the engine drops the buffered bytes
// (Conversation.StartTLS) and the driver asks for the capabilities again.
func init() {
	register(Scenario{
		Name:     "response-injection",
		Ports:    []int{587, 25, 143, 110},
		NeedsLab: true,
		play:     playResponseInjection,
	})
}

// LegInjectingServer is the one leg of response-injection: mailwire's
// client against a lab server that injects lines after its go-ahead.
const LegInjectingServer = "injecting server"

func playResponseInjection(r *Run) error {
	// NeedsLab: Play refuses to run it without the lab, as a real server
	// does not inject on demand.
	port := r.Req.Port
	ep, err := r.Req.Env.Lab.AddEndpoint(port, lab.ModeResponseInjection)
	if err != nil {
		return fmt.Errorf("start the injecting server for port %d: %w", port, err)
	}
	o, err := r.Req.Env.options(ep.Addr, port)
	if err != nil {
		return err
	}
	// The protocol's own driver, requiring TLS: exactly what a user gets.
	o.TLSMode = sessions.TLSStartTLS
	// The lines, each quoted, without their CRLF: a %q would put "\r\n"
	// in the text, which the printers (rightly) show as a backslash and r.
	var injected []string
	for _, l := range wire.SafeLines([]byte(lab.InjectedLines(o.Proto))) {
		injected = append(injected, `"`+l+`"`)
	}
	r.StartLeg(LegInjectingServer, fmt.Sprintf(
		"mailwire's normal client against a lab server for port %d (%s) that writes %s right after its STARTTLS go-ahead, before TLS",
		port, ep.Addr, strings.Join(injected, " and ")))
	evs, _ := r.Session(LegInjectingServer, o)
	outcome, safe, text, evidence := judgeResponseInjection(o.Proto, evs)
	r.Verdict(LegInjectingServer, outcome, safe, text, evidence...)
	return nil
}

// judgeResponseInjection reads a client's leg and says whether it used
// anything the server sent between its STARTTLS go-ahead and the
// handshake. Evidence, in order of weight: lines the client read in that
// window (fooled); the engine's note that it discarded them (missing:
// fooled, as the bytes went somewhere); the capabilities it used after TLS,
// which must come from an answer read inside TLS, not from the injected
// bytes.
func judgeResponseInjection(proto string, evs []wire.Event) (outcome string, safe bool, text string, evidence []int) {
	boundary := slices.IndexFunc(evs, func(ev wire.Event) bool {
		return ev.Kind == wire.KindBoundary && ev.Annotation == "tls.boundary.starttls"
	})
	if boundary < 0 {
		return OutcomeInjectionUntested, true,
			"the client never started TLS (STARTTLS not offered or refused), so there was no go-ahead to inject after",
			errorSeqs(evs)
	}
	// The go-ahead: the server's positive final answer after the client's
	// last STARTTLS/STLS before the boundary.
	cmd := -1
	for i := boundary - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Line != nil &&
			(ev.Line.Command == "STARTTLS" || ev.Line.Command == "STLS") {
			cmd = i
			break
		}
	}
	goAhead := -1
	var note *wire.Event
	var readBetween []int
	for i := cmd + 1; cmd >= 0 && i < boundary; i++ {
		ev := evs[i]
		switch {
		case ev.Kind == wire.KindNote && strings.HasSuffix(ev.Annotation, ".note.response_injection_discarded"):
			note = &evs[i]
		case ev.Kind != wire.KindLine || ev.Dir != wire.ServerToClient:
		case goAhead < 0 && isGoAhead(proto, ev):
			goAhead = i
		case goAhead >= 0:
			readBetween = append(readBetween, ev.Seq)
		}
	}
	if len(readBetween) > 0 {
		return OutcomeResponseAccepted, false,
			fmt.Sprintf("the client read %d more line(s) after the STARTTLS go-ahead and before TLS, and took them as answers: anyone on the path could have written them", len(readBetween)),
			readBetween
	}
	st := TLSStateOf(evs[boundary:])
	if st == nil {
		return OutcomeInjectionUntested, true,
			"the TLS handshake after STARTTLS failed, so the session never got to use (or ignore) the injected lines",
			append(nonZero(seqAt(evs, goAhead)), errorSeqs(evs)...)
	}
	// The capabilities the client learned inside TLS: the first answer
	// read there that carries some.
	var caps *wire.Event
	for i := boundary + 1; i < len(evs); i++ {
		ev := evs[i]
		if ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && ev.Line != nil && len(ev.Line.Capabilities) > 0 {
			caps = &evs[i]
			break
		}
	}
	if note == nil {
		ev := []int{}
		if caps != nil {
			ev = append(ev, caps.Seq)
		}
		return OutcomeResponseAccepted, false,
			"no bytes after the STARTTLS go-ahead were reported discarded: whatever the server sent there stayed in the client's buffer and was read as if it had come inside TLS",
			append(nonZero(seqAt(evs, goAhead)), ev...)
	}
	injected := injectedCapabilities(proto, note.Raw)
	if caps == nil {
		return OutcomeResponseDiscarded, true,
			fmt.Sprintf("the client discarded the %d bytes sent after the STARTTLS go-ahead, before TLS; it learned no capabilities inside TLS, so none came from the injected lines",
				len(note.Raw)),
			[]int{note.Seq}
	}
	if caps.Layer != wire.LayerDecrypted || bytes.Equal(caps.Raw, note.Raw) {
		return OutcomeResponseAccepted, false,
			"the capabilities the client used after STARTTLS are the injected lines, not an answer read inside TLS",
			[]int{note.Seq, caps.Seq}
	}
	// Whether the genuine list happens to include what the injected lines
	// offered does not matter: they were dropped unread, and what the
	// client went on with was read inside TLS.
	offer := ""
	if len(injected) > 0 {
		offer = fmt.Sprintf(", so their offer of %s played no part", strings.Join(injected, ", "))
	}
	return OutcomeResponseDiscarded, true,
		fmt.Sprintf("the client discarded the %d bytes sent after the STARTTLS go-ahead, before TLS (%s)%s: the capabilities it went on with (%s) are the server's own answer, read inside TLS",
			len(note.Raw), wire.Truncate(strings.Join(wire.SafeLines(note.Raw), " / "), 60), offer,
			wire.Truncate(strings.Join(caps.Line.Capabilities, ", "), 80)),
		[]int{note.Seq, caps.Seq}
}

// isGoAhead says whether ev is a positive final answer to STARTTLS/STLS:
// SMTP 220 (RFC 3207 §4), POP3 +OK (RFC 2595 §4), a tagged IMAP OK (RFC
// 9051 §6.2.1; untagged data may come before it).
func isGoAhead(proto string, ev wire.Event) bool {
	if ev.Line == nil {
		return false
	}
	switch proto {
	case protocol.SMTP:
		return ev.Line.Code == "220"
	case protocol.POP3:
		return ev.Line.Code == "+OK"
	case protocol.IMAP:
		return ev.Line.Code == "OK" && imapTag(ev.Raw) != "*"
	}
	return false
}

// injectedCapabilities reads the capabilities the injected bytes offer:
// the keyword lines of an SMTP EHLO reply after its first line (RFC 5321
// §4.1.1.1), an IMAP CAPABILITY's atoms (RFC 9051 §7.2.2), nothing for
// POP3 (a bare +OK).
func injectedCapabilities(proto string, raw []byte) []string {
	var out []string
	lines := strings.Split(strings.TrimRight(string(raw), "\r\n"), "\n")
	for i, l := range lines {
		l = strings.TrimRight(l, "\r")
		switch proto {
		case protocol.SMTP:
			if i > 0 && len(l) > 4 && strings.HasPrefix(l, "250") {
				out = append(out, strings.ToUpper(strings.TrimSpace(l[4:])))
			}
		case protocol.IMAP:
			if rest, ok := strings.CutPrefix(strings.ToUpper(l), "* CAPABILITY "); ok {
				out = append(out, strings.Fields(rest)...)
			}
		}
	}
	return out
}

// seqAt returns the Seq of evs[i], or 0 when i is out of range.
func seqAt(evs []wire.Event, i int) int {
	if i < 0 || i >= len(evs) {
		return 0
	}
	return evs[i].Seq
}
