package scenario

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// command-injection (CVE-2011-0411): a client sends STARTTLS and a second
// command in one write, as an attacker on the path would append it. A
// correct server reads up to the end of the STARTTLS line, answers it and
// throws away the rest of its input buffer before the handshake (RFC 3207
// §4.2, RFC 2595 §4, RFC 9051 §6.2.1); a vulnerable one keeps the rest and
// answers it inside TLS, as if the client had sent it there.
//
// The test needs no timing guess: inside TLS the client sends a probe and
// then QUIT/LOGOUT (for SMTP after the probe's reply, RFC 2920 §3.1), and
// reads every answer until the server closes. The
// server answers in order, so a normal server gives exactly two answers and
// a vulnerable one an extra answer before them: the injected command's,
// which the client never sent inside TLS (for IMAP its tag "b" proves it).
func init() {
	register(Scenario{
		Name:  "command-injection",
		Ports: []int{587, 25, 143, 110},
		// Only the vulnerable leg needs the lab; against a real server
		// the scenario tests that server (is it vulnerable?).
		play: playCommandInjection,
	})
}

// Leg names of command-injection. Against another server than the lab,
// the one leg is named for its address (TargetLeg).
const (
	LegVulnerable = "vulnerable"
	LegNormalLab  = "normal lab"
)

// TargetLeg names the leg of a scenario run against a server other than
// the lab: its address.
func TargetLeg(addr string) string { return addr }

// Outcomes of command-injection and response-injection (the annotation key
// is "verdict." + outcome).
const (
	OutcomeInjectionAnswered  = "injection-answered"
	OutcomeInjectionDiscarded = "injection-discarded"
	OutcomeResponseDiscarded  = "response-discarded"
	OutcomeResponseAccepted   = "response-accepted"
	// OutcomeInjectionBrokeHandshake: the server took the injected bytes
	// as the start of TLS and the handshake failed: the command never
	// ran, the connection was lost (safe).
	OutcomeInjectionBrokeHandshake = "injection-broke-handshake"
	// OutcomeInjectionUntested: STARTTLS was refused, the certificate
	// check failed or answers were missing, so the injection could not be
	// tested.
	OutcomeInjectionUntested = "injection-untested"
	// OutcomeInjectionRefused: the server refused STARTTLS with the
	// injected command behind it and closed without answering that
	// command, as OpenSMTPD does with any command that has more input
	// behind it ("500 5.5.1 Invalid command: Pipelining not supported"):
	// the command never ran (safe).
	OutcomeInjectionRefused = "injection-refused"
)

// annPipeliningRefused marks the note of a server that refused the
// STARTTLS line with the injected command behind it and then closed.
const annPipeliningRefused = "scenario.pipelining-refused"

// injection is what the injecting client sends for one protocol.
type injection struct {
	// write is the one write: the STARTTLS command and the injected one.
	write string
	// starttls is the STARTTLS command's verb; injected the injected
	// command's (for the notes); tag the injected command's IMAP tag.
	starttls, injected, tag string
	// probe is the command sent inside TLS before the goodbye.
	probe string
	// rule is where the protocol says the server starts afresh after TLS.
	rule string
}

func injectionFor(proto string) injection {
	switch proto {
	case protocol.IMAP:
		return injection{write: "a STARTTLS\r\nb NOOP\r\n", starttls: "STARTTLS", injected: "NOOP", tag: "b", probe: "CAPABILITY", rule: "RFC 9051 §6.2.1"}
	case protocol.POP3:
		return injection{write: "STLS\r\nCAPA\r\n", starttls: "STLS", injected: "CAPA", probe: "CAPA", rule: "RFC 2595 §4"}
	}
	return injection{write: "STARTTLS\r\nRSET\r\n", starttls: "STARTTLS", injected: "RSET", probe: "EHLO", rule: "RFC 3207 §4.2"}
}

// maxAnswers bounds the answers read inside TLS: the probe's, the
// goodbye's and a few injected ones. Each answer is bounded by the line
// reader and MaxReplyLines, each read by the read timeout.
const maxAnswers = 8

func playCommandInjection(r *Run) error {
	port := r.Req.Port
	if r.Req.Env.Lab == nil {
		addr, ok := r.Req.Env.Addr(port)
		if !ok {
			return fmt.Errorf("no server for port %d", port)
		}
		leg := TargetLeg(addr)
		r.Note("", "no lab: the deliberately vulnerable server is left out; only "+addr+" is tested", "scenario.no-lab")
		return injectionLeg(r, leg, port, addr, fmt.Sprintf("the injecting client against %s (port %d)", addr, port))
	}
	ep, err := r.Req.Env.Lab.AddEndpoint(port, lab.ModeInjectionVulnerable)
	if err != nil {
		return fmt.Errorf("start the vulnerable server for port %d: %w", port, err)
	}
	if err := injectionLeg(r, LegVulnerable, port, ep.Addr,
		fmt.Sprintf("the injecting client against a lab server for port %d that keeps its cleartext input across STARTTLS (the CVE-2011-0411 bug, on purpose), at %s", port, ep.Addr)); err != nil {
		return err
	}
	addr, ok := r.Req.Env.Addr(port)
	if !ok {
		return fmt.Errorf("no server for port %d", port)
	}
	return injectionLeg(r, LegNormalLab, port, addr,
		fmt.Sprintf("the same bytes against the lab's own server for port %d, at %s", port, addr))
}

// injectionLeg runs the injecting client against addr as leg, and judges.
func injectionLeg(r *Run, leg string, port int, addr, intro string) error {
	o, err := r.Req.Env.options(addr, port)
	if err != nil {
		return err
	}
	o.TLSMode = sessions.TLSStartTLS
	o.Driver = sessions.DriverFunc(playInjector)
	r.StartLeg(leg, intro)
	evs, _ := r.Session(leg, o)
	outcome, safe, text, evidence := judgeCommandInjection(o.Proto, evs)
	r.Verdict(leg, outcome, safe, text, evidence...)
	return nil
}

// playInjector is the injecting client: greeting, capabilities, STARTTLS
// with a second command in the same write, the handshake, then the probe.
func playInjector(c *sessions.Conversation) error {
	d := newDialog(c)
	inj := injectionFor(d.proto)
	ok, err := d.injectorPreamble()
	if err != nil || !ok {
		return err
	}
	if err := d.sendAs(inj.write, inj.starttls, "scenario.command-injected", d.proto+".cmd."+strings.ToLower(inj.starttls)); err != nil {
		return err
	}
	if err := d.goAhead(inj); err != nil {
		return err
	}
	if err := c.StartTLS(d.proto + ".note.response_injection_discarded"); err != nil {
		return err
	}
	return d.probe(inj)
}

// injectorPreamble reads the greeting and asks for the capabilities. It
// returns false (and no error) when the session ended as it should have,
// e.g. the server refused service politely.
func (d *dialog) injectorPreamble() (bool, error) {
	c := d.c
	switch d.proto {
	case protocol.SMTP:
		g, err := d.smtpReply("read greeting")
		if err != nil {
			return false, err
		}
		if g.Code != 220 {
			return false, c.Fail("greeting", fmt.Errorf("the server greeted with %d, not 220", g.Code), fmt.Sprintf("smtp.reply.%d", g.Code))
		}
		r, err := d.smtp("EHLO", "EHLO "+c.Options().EHLOName)
		if err != nil {
			return false, err
		}
		if r.Code != 250 {
			return false, c.Fail("ehlo", fmt.Errorf("the server answered EHLO with %d", r.Code), fmt.Sprintf("smtp.reply.%d", r.Code))
		}
		if !slices.ContainsFunc(r.Lines[1:], func(l string) bool { return strings.EqualFold(strings.TrimSpace(l), "STARTTLS") }) {
			c.Note("the server does not advertise STARTTLS; the client sends it anyway", "mismatch.no_starttls", nil)
		}
	case protocol.POP3:
		g, err := d.pop3Reply("read greeting", false)
		if err != nil {
			return false, err
		}
		if !g.OK {
			return false, c.Fail("greeting", errors.New("the server greeted with -ERR"), "pop3.reply.err")
		}
		// CAPA may be unknown to an old server (-ERR): the client then
		// goes on without it, as RFC 2449 §5 allows.
		if _, err := d.pop3("CAPA", "CAPA", true); err != nil {
			return false, err
		}
	case protocol.IMAP:
		g, err := d.imapResponse("read greeting")
		if err != nil {
			return false, err
		}
		if g.Tag != "*" || g.Status != "OK" {
			// PREAUTH forbids STARTTLS (RFC 9051 §6.2.1), BYE refuses.
			return false, c.Fail("greeting", fmt.Errorf("the server greeted with %s %s, not * OK", g.Tag, g.Status), "imap.status."+strings.ToLower(g.Status))
		}
		if _, err := d.imap("CAPABILITY", ""); err != nil {
			return false, err
		}
	default:
		return false, c.Fail("options", fmt.Errorf("command-injection: no injecting client for %q", d.proto), sessions.ExplainOptions)
	}
	return true, nil
}

// sendAs writes raw (one or more lines, in one write) as one client line
// event whose command is verb, with its own annotation.
func (d *dialog) sendAs(raw, verb, ann string, also ...string) error {
	if err := d.c.Send([]byte(raw), wire.Line{Command: verb}, ann, also...); err != nil {
		return d.c.Fail("send "+verb, err, "")
	}
	return nil
}

// goAhead reads the server's answer to STARTTLS, which must be positive.
func (d *dialog) goAhead(inj injection) error {
	c := d.c
	switch d.proto {
	case protocol.SMTP:
		r, err := d.smtpReply("read STARTTLS reply")
		if err != nil {
			return err
		}
		if r.Code != 220 {
			d.refusedThenClosed(inj)
			return c.Fail("starttls", fmt.Errorf("the server answered STARTTLS with %d", r.Code), fmt.Sprintf("smtp.reply.%d", r.Code))
		}
	case protocol.POP3:
		r, err := d.pop3Reply("read STLS response", false)
		if err != nil {
			return err
		}
		if !r.OK {
			d.refusedThenClosed(inj)
			return c.Fail("stls", errors.New("the server answered STLS with -ERR"), "pop3.reply.err")
		}
	case protocol.IMAP:
		// Untagged responses may come first; the tagged "a" completes.
		r, err := d.imapUntil("a", inj.starttls)
		if err != nil {
			return err
		}
		if r.Status != "OK" {
			d.refusedThenClosed(inj)
			return c.Fail("starttls", fmt.Errorf("the server answered STARTTLS with %s", r.Status), "imap.status."+strings.ToLower(r.Status))
		}
	}
	return nil
}

// refusedThenClosed looks, after a refusal of the STARTTLS line, at what
// the server does with the command behind it: a server that closes
// without answering it refused the pipelined input as a whole (OpenSMTPD's
// "Pipelining not supported"), and the command never ran; one that
// answers it ran it, in cleartext (the answer stays in the stream as
// bytes never read). It waits at most one read timeout.
func (d *dialog) refusedThenClosed(inj injection) {
	b, err := d.c.Reader().Peek()
	if len(b) > 0 || err == nil {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return // neither an answer nor a close: nothing to judge by
	}
	d.c.Note(fmt.Sprintf("the server refused %s, sent with %s behind it in the same write, and closed the connection without answering %s: it refuses input that comes ahead of its answers, so the injected command never ran",
		inj.starttls, inj.injected, inj.injected), annPipeliningRefused, nil)
}

// probe sends one command and the goodbye inside TLS, without waiting in
// between, and reads every answer until the server closes. Then it notes
// the answers to commands it never sent inside TLS.
func (d *dialog) probe(inj injection) error {
	c := d.c
	var sent []string // IMAP tags sent inside TLS
	var answers [][]byte
	switch d.proto {
	case protocol.SMTP:
		// EHLO waits for its reply before QUIT: RFC 2920 §3.1 lets EHLO
		// only end a pipelined group. Still no timing guess: a vulnerable
		// server answers its old buffer first, so the reply read here is
		// then the injected command's, and the EHLO's comes after QUIT.
		r, err := d.smtp("EHLO", "EHLO "+c.Options().EHLOName)
		if err != nil {
			return err
		}
		answers = append(answers, r.Raw)
		if err := d.send("QUIT\r\n", "QUIT"); err != nil {
			return err
		}
	case protocol.POP3:
		if err := d.send("CAPA\r\n", "CAPA"); err != nil {
			return err
		}
		if err := d.send("QUIT\r\n", "QUIT"); err != nil {
			return err
		}
	case protocol.IMAP:
		for _, verb := range []string{inj.probe, "LOGOUT"} {
			tag := d.tag()
			sent = append(sent, tag)
			if err := d.send(tag+" "+verb+"\r\n", verb); err != nil {
				return err
			}
		}
	}
	answers, err := d.drain(answers)
	if err != nil {
		return err
	}
	c.Ended()
	for _, i := range injectedAnswers(d.proto, answers, 2, sent) {
		a := answers[i]
		c.Note(fmt.Sprintf("the server answered %s, which was sent before TLS, in cleartext, right after %s: %s",
			inj.injected, inj.starttls, firstLine(a)), "scenario.injected-answer", a)
	}
	return nil
}

// drain reads answers inside TLS until the server closes, emits each and
// adds it to answers. For IMAP an answer is a tagged completion (untagged
// data is emitted but not counted).
func (d *dialog) drain(answers [][]byte) ([][]byte, error) {
	c := d.c
	max := c.Options().MaxReplyLines
	var pop3 pop3Splitter
	for reads := 0; reads < maxAnswers*max; reads++ {
		var err error
		switch d.proto {
		case protocol.SMTP:
			var r *protocol.Reply
			r, err = protocol.ReadSMTPReply(c.Reader(), max)
			if err == nil {
				ann, also := r.Annotations()
				c.Received(r.Raw, r.Line(), ann, also...)
				answers = append(answers, r.Raw)
			} else if len(r.Raw) > 0 {
				c.Received(r.Raw, wire.Line{}, "smtp.reply.incomplete")
			}
		case protocol.IMAP:
			var r *protocol.IMAPResponse
			r, err = protocol.ReadIMAPResponse(c.Reader())
			if err == nil {
				ann, also := r.Annotations()
				c.Received(r.Raw, wire.Line{Code: r.LineCode(), Capabilities: r.Caps}, ann, also...)
				if r.Tag != "*" && r.Tag != "+" {
					answers = append(answers, r.Raw)
				}
			} else if len(r.Raw) > 0 {
				c.Received(r.Raw, wire.Line{}, "imap.response.incomplete")
			}
		case protocol.POP3:
			var line []byte
			line, err = c.ReadLine()
			if err == nil {
				err = pop3.add(line, max, func(raw []byte) { answers = append(answers, d.emitPOP3(raw)) })
			} else if closedByPeer(err) {
				if raw := pop3.flush(); raw != nil {
					answers = append(answers, d.emitPOP3(raw))
				}
			}
		}
		switch {
		case err == nil:
			if len(answers) > maxAnswers {
				return answers, c.Fail("read answers inside TLS", fmt.Errorf("%w: more than %d answers to 2 commands", protocol.ErrTooManyLines, maxAnswers), "")
			}
			continue
		case closedByPeer(err):
			return answers, nil
		case isTimeout(err) && len(answers) >= 2:
			// Every command was answered, but the server did not close
			// after the goodbye; what it sent is all there is to judge.
			c.Note("the server answered the goodbye but did not close the connection", "scenario.no-close", nil)
			return answers, nil
		}
		return answers, c.Fail("read answers inside TLS", err, "")
	}
	return answers, c.Fail("read answers inside TLS", fmt.Errorf("%w: more than %d lines", protocol.ErrTooManyLines, maxAnswers*max), "")
}

func (d *dialog) emitPOP3(raw []byte) []byte {
	ann, code := "pop3.reply.ok", "+OK"
	if strings.HasPrefix(string(raw), "-ERR") {
		ann, code = "pop3.reply.err", "-ERR"
	}
	d.c.Received(raw, wire.Line{Code: code}, ann)
	return raw
}

// pop3Splitter cuts a stream of POP3 responses into responses without
// knowing which command each answers (an injected one may come first):
// a status line (+OK, -ERR) starts a response; lines that follow it up to
// a lone "." make it multi-line (RFC 1939 §3). A single-line response is
// complete when the next status line (or the end of the stream) arrives,
// which is safe here because the goodbye was already sent, so the server
// always sends more or closes.
type pop3Splitter struct {
	cur   []byte
	lines int
}

func (p *pop3Splitter) add(line []byte, maxLines int, emit func([]byte)) error {
	s := strings.TrimRight(string(line), "\r\n")
	status := strings.HasPrefix(s, "+OK") || strings.HasPrefix(s, "-ERR")
	switch {
	case status:
		if p.cur != nil {
			emit(p.cur)
		}
		p.cur, p.lines = line, 1
	case p.cur == nil:
		return fmt.Errorf("%w: %s is neither +OK nor -ERR (RFC 1939 §3)", protocol.ErrMalformedReply, wire.Quote(s, 60))
	default:
		p.cur = append(p.cur, line...)
		p.lines++
		if s == "." {
			emit(p.cur)
			p.cur, p.lines = nil, 0
		} else if p.lines > maxLines {
			return fmt.Errorf("%w: more than %d", protocol.ErrTooManyLines, maxLines)
		}
	}
	return nil
}

func (p *pop3Splitter) flush() []byte {
	raw := p.cur
	p.cur = nil
	return raw
}

// closedByPeer says whether err means the server closed the connection.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// injectedAnswers returns the indices of the answers to commands the
// client never sent inside TLS: for IMAP those whose tag is not one it sent
// there; else the answers beyond the number of commands sent, which come
// first since a server answers in order and reads its old buffer before
// the new bytes.
func injectedAnswers(proto string, answers [][]byte, sentInTLS int, tags []string) []int {
	var out []int
	if proto == protocol.IMAP {
		for i, a := range answers {
			if !slices.Contains(tags, imapTag(a)) {
				out = append(out, i)
			}
		}
		return out
	}
	for i := 0; i < len(answers)-sentInTLS; i++ {
		out = append(out, i)
	}
	return out
}

func imapTag(raw []byte) string {
	tag, _, _ := strings.Cut(string(raw), " ")
	return tag
}

// lastPart is the innermost cause of a wrapped error message ("dial: with
// x: EOF" gives "EOF").
func lastPart(msg string) string {
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// judgeCommandInjection reads one injecting client's leg and says whether
// the server answered the injected command inside TLS. It counts, from
// the events, the commands the client sent inside TLS and the answers it
// read there; the verdict rests on those, not on which server it was.
func judgeCommandInjection(proto string, evs []wire.Event) (outcome string, safe bool, text string, evidence []int) {
	inj := injectionFor(proto)
	boundary := -1
	injectSeq := 0
	for i, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Annotation == "scenario.command-injected" {
			injectSeq = ev.Seq
		}
		if ev.Kind == wire.KindBoundary {
			boundary = i
			break
		}
	}
	if boundary < 0 {
		if i := slices.IndexFunc(evs, func(ev wire.Event) bool { return ev.Annotation == annPipeliningRefused }); i >= 0 {
			return OutcomeInjectionRefused, true,
				fmt.Sprintf("the server refused %s with %s behind it in the same write and closed the connection without answering %s: the injected command never ran, in cleartext or inside TLS; the price is the connection",
					inj.starttls, inj.injected, inj.injected),
				append(nonZero(injectSeq), evs[i].Seq)
		}
		return OutcomeInjectionUntested, true,
			"the server did not accept STARTTLS, so the injection could not be tested; the error says why",
			append(nonZero(injectSeq), errorSeqs(evs)...)
	}
	if TLSStateOf(evs[boundary:]) == nil {
		e := FirstError(evs[boundary:])
		if e != nil && e.Err != nil && e.Err.Op == "tls handshake" {
			// Not a certificate problem: the server gave up on the
			// handshake itself, which is what a server does when it
			// reads the injected line as the first bytes of TLS (they
			// are what follows STARTTLS on the wire).
			return OutcomeInjectionBrokeHandshake, true,
				fmt.Sprintf("the TLS handshake after STARTTLS failed (%s), as it does when the server reads the injected %s as the first bytes of TLS: the command never ran inside TLS, but the connection was lost",
					wire.Truncate(lastPart(e.Err.Message), 60), inj.injected),
				append(nonZero(injectSeq), e.Seq)
		}
		return OutcomeInjectionUntested, true,
			"the TLS session after STARTTLS did not start, so the injection could not be tested; the error says why",
			append(nonZero(injectSeq), errorSeqs(evs)...)
	}
	var sent []wire.Event
	var tags []string
	var answers []wire.Event
	for _, ev := range evs[boundary:] {
		if ev.Kind != wire.KindLine || ev.Layer != wire.LayerDecrypted {
			continue
		}
		if ev.Dir == wire.ClientToServer {
			sent = append(sent, ev)
			tags = append(tags, imapTag(ev.Raw))
			continue
		}
		if proto == protocol.IMAP && (imapTag(ev.Raw) == "*" || imapTag(ev.Raw) == "+") {
			continue // untagged data: not an answer of its own
		}
		answers = append(answers, ev)
	}
	raws := make([][]byte, len(answers))
	for i, a := range answers {
		raws[i] = a.Raw
	}
	if extra := injectedAnswers(proto, raws, len(sent), tags); len(extra) > 0 {
		var seqs []int
		for _, i := range extra {
			seqs = append(seqs, answers[i].Seq)
		}
		proof := fmt.Sprintf("%d answers came back to the %d commands sent inside TLS", len(answers), len(sent))
		if proto == protocol.IMAP {
			proof = fmt.Sprintf("an answer tagged %s came back, a tag the client used only before TLS", wire.Quote(imapTag(raws[extra[0]]), 40))
		}
		return OutcomeInjectionAnswered, false,
			fmt.Sprintf("the server answered %s, which was sent in cleartext right after %s and never inside TLS: %s; an attacker on the path can add commands to this encrypted session (CVE-2011-0411)",
				inj.injected, inj.starttls, proof),
			append(seqs, nonZero(injectSeq)...)
	}
	var seqs []int
	for _, a := range answers {
		seqs = append(seqs, a.Seq)
	}
	if len(answers) < len(sent) {
		return OutcomeInjectionUntested, true,
			fmt.Sprintf("the server gave %d answers to the %d commands sent inside TLS, so the injection could not be judged", len(answers), len(sent)),
			append(seqs, errorSeqs(evs)...)
	}
	return OutcomeInjectionDiscarded, true,
		fmt.Sprintf("inside TLS the server answered only the %d commands sent there: the %s sent in cleartext after %s was discarded (%s)",
			len(sent), inj.injected, inj.starttls, inj.rule),
		seqs
}
