package sessions

// The interactive driver: a session whose client lines come from a person
// (mailwire connect's prompt) or a pipe (its piped mode), sent exactly as
// typed with CRLF added, and whose replies come back annotated as the
// scripted drivers' do.
//
// It follows the guide at the top of conversation.go, with one difference
// the situation forces: the server may speak at any time (its greeting
// before anything is typed, an IMAP untagged response, a 421 or a BYE), so
// the server's responses are read by a goroutine of their own while the
// driver's goroutine waits for what the user types. To keep the
// Conversation's rules (its state belongs to one goroutine), the reader
// goroutine only reads and parses, one whole response at a time, with the
// protocol's own reader (ReadSMTPReply, ReadPOP3Response, ReadIMAPResponse),
// and hands each response to the driver's goroutine, which emits it,
// updates the state and then lets the reader read the next one. That
// hand-over is what makes STARTTLS possible: after the server's positive
// reply the reader is parked, so nothing reads the cleartext stream while
// StartTLS collects what the server sent beyond its reply (RFC 3207 §4.2)
// and the handshake runs.
//
// Two goroutines do touch the connection at once, as any full-duplex client
// must: the reader in Read, the driver in Write. tls.Conn allows that; the
// dissector, which the tap feeds from both, is guarded here (lockedFeed).
//
// Timeouts: a person may think for minutes, so a read has no deadline of
// its own (Options.ReadTimeout would end an idle session after 15 s); the
// session budget (Options.SessionTimeout) still bounds everything, and the
// server's own idle timer (RFC 5321 §4.5.3.2.7, RFC 1939 §3, RFC 9051
// §5.4) ends an idle session from its side, which the driver explains
// when it happens. Writes, the TLS handshake and the waits for a reply
// (below) keep their bounds.
//
// Safety: nothing is sent that the user did not type, except the lines of
// the AUTH helper when the user asks for it (interactive_auth.go). A line
// typed by hand that would put a password on the wire before TLS goes with
// a warning note first; with InteractiveOptions.ConfirmCleartext (the TUI)
// it is held until the user sends it again with Input.ConfirmCleartext.
// The AUTH helper refuses to build a login before TLS against anything but
// the lab (Options.AllowCleartextAuth).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Input is one thing the user asks the interactive driver to do: send a
// line as typed, or run the AUTH helper.
type Input struct {
	// Line is sent exactly as given, with CRLF added. It must not hold CR
	// or LF itself (one line is one line).
	Line string
	// Auth, when set, asks the AUTH helper to log in (Line is ignored).
	Auth *AuthHelp
	// ConfirmCleartext says the user saw the warning and still wants this
	// line, which carries a password, to cross the wire before TLS
	// (InteractiveOptions.ConfirmCleartext).
	ConfirmCleartext bool
	// Err ends the input, as EOF does, with a note saying why (a line over
	// the length limit on standard input).
	Err error
}

// DefaultInteractiveTimeout is the budget of an interactive session
// (StartPrompt, StreamLines) when Options.SessionTimeout is unset: a
// person at a prompt needs more than a scripted session's two minutes,
// and it outlasts the servers' own idle timers (RFC 5321 §4.5.3.2.7: five
// minutes; RFC 9051 §5.4: thirty once logged in), which end an idle
// session first.
const DefaultInteractiveTimeout = time.Hour

// InteractiveOptions shape an interactive session.
type InteractiveOptions struct {
	// Lockstep waits for the server's answer to each line before taking
	// the next (and for the greeting before the first), at most ReplyWait
	// each, as a script piping commands into s_client expects. Without it
	// lines go as they come, and only a line typed before the greeting,
	// or while STARTTLS or the AUTH helper awaits the server, waits.
	Lockstep bool
	// ReplyWait bounds each of those waits; zero means Options.ReadTimeout.
	ReplyWait time.Duration
	// ConfirmCleartext holds a typed line that would carry a password
	// before TLS, with a note, until it comes again with
	// Input.ConfirmCleartext. Without it such a line goes after a warning
	// note (a script cannot be asked).
	ConfirmCleartext bool
}

// InteractiveDriver is the Driver of an interactive session: set it as
// Options.Driver, or use StartPrompt or StreamLines. Input is closed by the
// caller at the end of input (EOF).
type InteractiveDriver struct {
	Input <-chan Input
	Opts  InteractiveOptions
	// state, when set, is kept up to date for Prompt's questions.
	state *promptState
}

// Play runs the session until the user ends it (QUIT or LOGOUT answered),
// the input ends, the server closes the connection or the budget runs out.
func (d InteractiveDriver) Play(c *Conversation) error {
	switch p := c.Options().Proto; p {
	case protocol.SMTP, protocol.POP3, protocol.IMAP:
	default:
		return c.Fail("options", fmt.Errorf("protocol %q: typed lines are for SMTP, POP3 and IMAP", p), ExplainOptions)
	}
	s := newInteractive(c, d)
	defer s.stopReader()
	if err := s.run(); !errors.Is(err, errSessionOver) {
		return err
	}
	return nil
}

// Annotation keys of the interactive driver's notes; the prose is in
// content/annotations/interactive.md.
const (
	AnnInteractiveAfterSTARTTLS = "session.interactive.after_starttls"
	AnnInteractiveCleartext     = "session.interactive.cleartext_password"
	AnnInteractiveCleartextHeld = "session.interactive.cleartext_held"
	AnnInteractiveAuthHelper    = "session.interactive.auth_helper"
	AnnInteractiveHelperRefused = "session.interactive.helper_refused"
	AnnInteractiveNoReply       = "session.interactive.no_reply"
	AnnInteractiveInputEnded    = "session.interactive.input_ended"
	AnnInteractiveServerClosed  = "session.interactive.server_closed"
	AnnInteractiveInputError    = "session.interactive.input_error"
	AnnInteractiveAlreadyTLS    = "session.interactive.already_tls"
	AnnInteractiveLineRefused   = "session.interactive.line_refused"
	AnnInteractiveMalformed     = "session.interactive.malformed"
)

// InteractiveAnnotationKeys lists the keys above, for the content coverage
// test.
func InteractiveAnnotationKeys() []string {
	return []string{
		AnnInteractiveAfterSTARTTLS, AnnInteractiveCleartext, AnnInteractiveCleartextHeld,
		AnnInteractiveAuthHelper, AnnInteractiveHelperRefused, AnnInteractiveNoReply,
		AnnInteractiveInputEnded, AnnInteractiveServerClosed, AnnInteractiveInputError,
		AnnInteractiveAlreadyTLS, AnnInteractiveLineRefused, AnnInteractiveMalformed,
	}
}

// sentCmd is a client line that awaits the server's answer.
type sentCmd struct {
	verb  string // upper-cased command ("EHLO"), or the open command's for a continuation
	multi bool   // POP3: a positive answer is multi-line (RFC 1939 §3)
	max   int    // POP3: the bound of that multi-line answer
}

// wait is what the driver waits for before it takes the next input.
type waitKind int

const (
	waitNone     waitKind = iota
	waitGreeting          // the server speaks first (RFC 5321 §3.1, RFC 1939 §4, RFC 9051 §7.1.1)
	waitReply             // lockstep: the answer to the last line
	waitSTARTTLS          // the answer to STARTTLS/STLS: nothing may follow it before TLS (RFC 3207 §4)
	waitHelper            // the AUTH helper's exchange
)

type interactive struct {
	c   *Conversation
	o   Options
	io  InteractiveOptions
	in  <-chan Input
	st  *promptState
	rd  *responseReader
	dlm sync.Mutex // orders the reader's deadline against stopReader's
	// stopping: stopReader has begun; the reader's next read must not block.
	stopping bool

	// The answers awaited, oldest first (SMTP, POP3). The reader looks at
	// the oldest when POP3 bytes arrive, to know whether the response is
	// multi-line; so it is guarded.
	pmu     sync.Mutex
	pending []sentCmd
	// IMAP: the open tags and their commands (RFC 9051 §2.2.1).
	tags map[string]string

	greeted   bool   // the server's first response arrived
	contReady bool   // the last server response was a continuation request (334, "+ ")
	contVerb  string // the command it continues
	contTag   string // IMAP: that command's tag
	dataMode  bool   // SMTP: between 354 and the "." line (RFC 5321 §4.1.1.4)
	closing   string // the explain key of the server's goodbye (421, BYE), if it said one
	lastLine  time.Time
	inputDone bool
	imapCaps  []string // the latest capabilities (for SASL-IR, RFC 4959)

	wait      waitKind
	waitTag   string // IMAP: the tag whose completion ends the wait
	waitWhat  string // for the note when the wait runs out
	waitTimer *time.Timer
	starttls  string // IMAP: the tag of the STARTTLS in flight
	newestTag string // IMAP: the tag of the newest command sent

	helper  *authRun
	helperN int // IMAP tags the helper made up
}

func newInteractive(c *Conversation, d InteractiveDriver) *interactive {
	o := c.Options()
	io := d.Opts
	if io.ReplyWait <= 0 {
		io.ReplyWait = o.ReadTimeout
	}
	return &interactive{c: c, o: o, io: io, in: d.Input, st: d.state, tags: map[string]string{}}
}

// run is the driver's loop: input, responses, the bounded waits.
func (s *interactive) run() error {
	c := s.c
	s.install()
	s.rd = newResponseReader(s.o.Proto, s.o.MaxReplyLines,
		protocol.IMAPLimits{Literal: s.o.Budget.Literal, Keep: s.o.Budget.EventBytes}, s.nextIsMulti)
	go s.rd.loop()
	s.rd.next <- c.Reader()
	// The server speaks first; a line typed before its greeting waits for
	// it (a server may drop a client that talks first, as Postfix's
	// postscreen does with its pregreet test).
	s.await(waitGreeting, "", "the server's greeting")
	s.publish()
	for {
		if s.inputDone && s.settled() {
			return s.endOfInput()
		}
		var inCh <-chan Input
		if !s.inputDone && s.wait == waitNone {
			inCh = s.in
		}
		var timeout <-chan time.Time
		if s.waitTimer != nil {
			timeout = s.waitTimer.C
		}
		select {
		case in, ok := <-inCh:
			if !ok || in.Err != nil {
				s.inputEnded(in.Err)
				continue
			}
			if err := s.take(in); err != nil {
				return err
			}
		case res := <-s.rd.out:
			done, err := s.handle(res)
			if err != nil || done {
				return err
			}
		case <-timeout:
			s.waitTimer = nil
			s.overdue()
		case <-c.ctx.Done():
			return c.Fail("session", context.Cause(c.ctx), "")
		}
		s.publish()
	}
}

// install readies the current layer for the interactive session: the
// dissector (once TLS is up) is fed from two goroutines, so its feed is
// serialised; and reads wait without the per-read deadline, which would
// end an idle session (the package comment says what bounds them instead).
func (s *interactive) install() {
	c := s.c
	if c.diss != nil {
		var mu sync.Mutex
		c.tap.SetTap(func(dir wire.Direction, at time.Duration, b []byte) {
			mu.Lock()
			defer mu.Unlock()
			c.feed(dir, at, b)
		})
	}
	c.Reader().SetBefore(s.readDeadline)
}

// readDeadline is set before each read of the reader goroutine: none but
// the session's own, or at once when the reader is being stopped.
func (s *interactive) readDeadline() {
	s.dlm.Lock()
	defer s.dlm.Unlock()
	if s.stopping {
		_ = s.c.tap.SetReadDeadline(time.Now())
		return
	}
	dl, _ := s.c.ctx.Deadline() // zero: none; the session's context closes the connection anyway
	_ = s.c.tap.SetReadDeadline(dl)
}

// stopReader ends the reader goroutine: a read under way is cut short by a
// deadline in the past (a TLS connection survives it, so close_notify can
// still go), a response that completed meanwhile is still shown, and the
// goroutine is gone before the runner closes the connection and flushes
// the dissector.
func (s *interactive) stopReader() {
	if s.rd == nil {
		return
	}
	s.dlm.Lock()
	s.stopping = true
	_ = s.c.tap.SetReadDeadline(time.Now())
	s.dlm.Unlock()
	close(s.rd.next)
	for res := range s.rd.out {
		if res.err == nil {
			s.emitResponse(res)
		}
	}
	s.rd = nil
	// Leave the connection as the runner expects it: reads bounded again.
	_ = s.c.tap.SetReadDeadline(time.Time{})
	s.stopTimer()
	if s.st != nil {
		s.st.end()
	}
}

// await sets what the driver waits for before it takes more input, for at
// most ReplyWait.
func (s *interactive) await(k waitKind, tag, what string) {
	s.stopTimer()
	s.wait, s.waitTag, s.waitWhat = k, tag, what
	if k != waitNone {
		s.waitTimer = time.NewTimer(s.io.ReplyWait)
	}
}

func (s *interactive) release() { s.await(waitNone, "", "") }

func (s *interactive) stopTimer() {
	if s.waitTimer != nil {
		s.waitTimer.Stop()
		s.waitTimer = nil
	}
}

// overdue: a wait ran out. The session goes on: the user (or the next
// line of the script) decides what follows.
func (s *interactive) overdue() {
	what := s.waitWhat
	k := s.wait
	s.wait = waitNone
	if s.inputDone {
		// Nothing more to send: the session ends without that answer.
		s.pendingClear()
	}
	next := "taking the next line"
	if s.inputDone {
		next = "the input has ended, so the session ends"
	}
	switch k {
	case waitSTARTTLS:
		next += "; TLS has not started, so the connection is still cleartext"
	case waitHelper:
		s.helper = nil
		next = "the AUTH helper gives up; " + next
	}
	s.c.Note(fmt.Sprintf("no answer to %s within %v: %s", what, s.io.ReplyWait, next), AnnInteractiveNoReply, nil)
}

// settled says whether nothing is awaited any more, so the session can end
// once the input has.
func (s *interactive) settled() bool {
	return s.wait == waitNone && s.outstanding() == 0
}

// outstanding counts the lines that still await their answer.
func (s *interactive) outstanding() int {
	if s.o.Proto == protocol.IMAP {
		return len(s.tags)
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return len(s.pending)
}

// inputEnded: EOF on the input (or an input error). The answers still
// awaited are waited for, at most ReplyWait; then the session ends.
func (s *interactive) inputEnded(err error) {
	s.inputDone = true
	if err != nil {
		s.c.Note("input: "+err.Error()+"; reading no more input", AnnInteractiveInputError, nil)
	}
	if s.wait == waitNone && s.outstanding() > 0 {
		s.await(waitReply, s.openTag(), "the last line")
	}
}

// endOfInput ends the session after the input ended and nothing is awaited
// any more. Nothing is sent that the user did not type, so a session whose
// QUIT or LOGOUT was not answered ends with a note and the connection
// closed (inside TLS with close_notify first, RFC 8446 §6.1).
func (s *interactive) endOfInput() error {
	if !s.c.quit {
		s.c.Note("the input ended before "+quitVerb(s.o.Proto)+" was answered: mailwire closes the connection without sending a command you did not type",
			AnnInteractiveInputEnded, nil)
	}
	return nil
}

func quitVerb(proto string) string {
	if proto == protocol.IMAP {
		return "LOGOUT"
	}
	return "QUIT"
}

// take acts on one input.
func (s *interactive) take(in Input) error {
	if in.Auth != nil {
		return s.startHelper(*in.Auth)
	}
	if strings.ContainsAny(in.Line, "\r\n") {
		s.c.Note("not sent: a line must not hold CR or LF; each line is sent with one CRLF added",
			AnnInteractiveLineRefused, nil)
		return nil
	}
	return s.sendLine(in.Line, in.ConfirmCleartext, nil)
}

// classify says what a line is: its verb and tag, whether it continues an
// exchange the server opened with a continuation request (an AUTH
// response, an IMAP literal, IDLE's DONE), or is message content.
func (s *interactive) classify(line string) (verb, tag string, cont, body bool) {
	switch {
	case s.dataMode:
		return "", "", false, true
	case s.contReady:
		return s.contVerb, s.contTag, true, false
	}
	f := strings.Fields(line)
	if s.o.Proto == protocol.IMAP {
		if len(f) > 0 {
			tag = f[0]
		}
		f = f[min(1, len(f)):]
	}
	if len(f) > 0 {
		verb = strings.ToUpper(f[0])
	}
	return verb, tag, false, false
}

// commandKey is the annotation key of a typed command: the protocol's key
// for the verb, which content resolves to its own entry or to
// <proto>.cmd.unknown. A verb that cannot be a key is unknown outright.
func commandKey(proto, verb string) string {
	v := strings.ToLower(verb)
	if v == "" || strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		v = "unknown"
	}
	return proto + ".cmd." + v
}

// sendLine sends one line as typed (or built by the helper: helper is the
// run it belongs to) and records what answer it awaits.
func (s *interactive) sendLine(line string, confirmed bool, helper *authRun) error {
	c := s.c
	raw := []byte(line + "\r\n")
	verb, tag, cont, body := s.classify(line)
	if !body && !c.TLSActive() {
		// What would this line put on the wire before TLS? The same
		// decoder Send uses, on a copy of its state.
		peek := c.cred
		if cr := protocol.DecodeCredential(s.o.Proto, raw, &peek); cr != nil && cr.Password != "" {
			if helper == nil && s.io.ConfirmCleartext && !confirmed {
				c.Note("not sent: this line carries "+credentialWords(cr)+" and the connection is not TLS yet, so anyone on the path could read it (RFC 8314 §5.2); "+
					"type STARTTLS first, or send the line again and confirm", AnnInteractiveCleartextHeld, nil)
				return nil
			}
			c.Note("warning: this line carries "+credentialWords(cr)+" before TLS: anyone on the path can read it (RFC 8314 §5.2)",
				AnnInteractiveCleartext, nil)
		}
	}
	ann := commandKey(s.o.Proto, verb)
	switch {
	case body:
		ann = "smtp.data.content"
	}
	var also []string
	if helper != nil {
		also = append(also, AnnInteractiveAuthHelper)
	}
	// What the line awaits is recorded before it goes: the answer may
	// arrive before Send returns, and the POP3 reader asks then whether
	// it is multi-line.
	s.expect(line, verb, tag, cont, body)
	s.contReady = false
	if err := c.Send(raw, wire.Line{Command: verb}, ann, also...); err != nil {
		if c.quit {
			return errSessionOver // the server already said goodbye and closed
		}
		return c.Fail("send "+verbOr(verb, "line"), err, "")
	}
	s.lastLine = time.Now()
	return nil
}

// errSessionOver ends the loop of a session that already ended as the
// protocol intends; Play turns it into nil.
var errSessionOver = errors.New("session over")

func verbOr(verb, alt string) string {
	if verb == "" {
		return alt
	}
	return verb
}

// credentialWords names what a decoded credential holds, for a note.
func credentialWords(cr *wire.Credential) string {
	return "a password (" + cr.Mechanism + ")"
}

// expect records what answer a line about to be sent awaits, and what
// the driver waits for before it takes the next input.
func (s *interactive) expect(line, verb, tag string, cont, body bool) {
	switch s.o.Proto {
	case protocol.SMTP:
		if body {
			if line == "." {
				// RFC 5321 §4.1.1.4: the lone "." ends the message, and
				// the server answers it.
				s.dataMode = false
				s.push(sentCmd{verb: "DATA"})
				s.lockstep("the end of the message")
			}
			return // message lines get no answer of their own
		}
		s.push(sentCmd{verb: verb})
		if verb == "STARTTLS" && !cont {
			s.askTLS("")
			return
		}
	case protocol.POP3:
		sc := sentCmd{verb: verb}
		if !cont {
			sc.multi, sc.max = pop3Multi(line)
		}
		s.push(sc)
		if verb == "STLS" && !cont {
			s.askTLS("")
			return
		}
	case protocol.IMAP:
		if cont {
			tag = s.contTag
		} else if tag != "" {
			s.tags[tag] = verb
			s.newestTag = tag
		}
		if verb == "STARTTLS" && !cont && tag != "" {
			s.askTLS(tag)
			return
		}
		if s.helper == nil && s.io.Lockstep {
			s.await(waitReply, tag, lineName(tag, verb, cont))
		}
		return
	}
	if s.helper == nil {
		s.lockstep(lineName(tag, verb, cont))
	}
}

// lineName names a line for a note by its command, never by its text,
// which may carry a password (an IMAP LOGIN, a POP3 PASS).
func lineName(tag, verb string, cont bool) string {
	switch {
	case cont:
		return "the line continuing " + verbOr(verb, "the command")
	case verb == "":
		return "the last line"
	case tag != "":
		return wire.Truncate(tag, 20) + " " + wire.Truncate(verb, 20)
	}
	return wire.Truncate(verb, 20)
}

func (s *interactive) lockstep(what string) {
	if s.io.Lockstep {
		s.await(waitReply, "", what)
	}
}

// askTLS records a STARTTLS or STLS in flight: no line may follow it until
// the server answered (RFC 3207 §4, RFC 2595 §4, RFC 9051 §6.2.1).
func (s *interactive) askTLS(tag string) {
	if s.c.TLSActive() {
		s.c.Note(protocol.StartTLSVerb(s.o.Proto)+" inside TLS: the connection is TLS already; the server should refuse it (RFC 3207 §4.2, RFC 2595 §4, RFC 9051 §6.2.1), and mailwire will not start TLS twice",
			AnnInteractiveAlreadyTLS, nil)
		if s.io.Lockstep {
			s.await(waitReply, tag, protocol.StartTLSVerb(s.o.Proto))
		}
		return
	}
	s.starttls = tag
	s.await(waitSTARTTLS, tag, protocol.StartTLSVerb(s.o.Proto))
}

// pop3Multi says whether a positive answer to a POP3 command line is
// multi-line, and its bound: CAPA (RFC 2449 §5), LIST and UIDL without an
// argument (RFC 1939 §5, §7), RETR and TOP (a message). The bounds are the
// POP3 driver's.
func pop3Multi(line string) (bool, int) {
	f := strings.Fields(line)
	if len(f) == 0 {
		return false, 0
	}
	switch strings.ToUpper(f[0]) {
	case "CAPA":
		return true, protocol.POP3MaxListingBytes
	case "LIST", "UIDL":
		return len(f) == 1, protocol.POP3MaxListingBytes
	case "RETR", "TOP":
		return true, protocol.POP3MaxBytes
	}
	return false, 0
}

func (s *interactive) push(sc sentCmd) {
	s.pmu.Lock()
	s.pending = append(s.pending, sc)
	s.pmu.Unlock()
}

// pop takes the oldest command awaiting an answer; ok is false for an
// answer nothing asked for (the greeting, a 421).
func (s *interactive) pop() (sentCmd, bool) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if len(s.pending) == 0 {
		return sentCmd{}, false
	}
	sc := s.pending[0]
	s.pending = s.pending[1:]
	return sc, true
}

func (s *interactive) pendingClear() {
	s.pmu.Lock()
	s.pending = nil
	s.pmu.Unlock()
	clear(s.tags)
}

// nextIsMulti is the reader's question when POP3 bytes arrive: is the
// response a multi-line one, and how large may it be?
func (s *interactive) nextIsMulti() (bool, int) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if len(s.pending) == 0 {
		return false, 0
	}
	return s.pending[0].multi, s.pending[0].max
}

// publish shares what Prompt's questions need.
func (s *interactive) publish() {
	if s.st == nil {
		return
	}
	verified := false
	if s.c.TLSActive() {
		verified = s.c.verifyErr == nil
	}
	s.st.set(s.c.cred, s.c.TLSActive(), verified, s.wait != waitNone)
}

// handle takes one response from the reader. done says the session is
// over (cleanly when err is nil).
func (s *interactive) handle(res readResult) (done bool, err error) {
	if res.err != nil {
		return s.readFailed(res)
	}
	if s.emitResponse(res) {
		if err := s.c.StartTLS(s.o.Proto + ".note.response_injection_discarded"); err != nil {
			return true, err
		}
		s.install()
		s.imapCaps = nil
		s.c.Note(afterSTARTTLSText(s.o.Proto), AnnInteractiveAfterSTARTTLS, nil)
	}
	if err := s.helperStep(res); err != nil {
		return true, err
	}
	s.rd.next <- s.c.Reader()
	return false, nil
}

// afterSTARTTLSText says what the client must do first inside TLS.
func afterSTARTTLSText(proto string) string {
	switch proto {
	case protocol.POP3:
		return "TLS is up. What was learned before it must be forgotten (RFC 2595 §4): type CAPA to see the capabilities inside TLS"
	case protocol.IMAP:
		return "TLS is up. Cached capabilities must be discarded (RFC 9051 §6.2.1): type a tagged CAPABILITY to see them inside TLS"
	}
	return "TLS is up. The server has forgotten the EHLO, and the client must send EHLO again before anything else (RFC 3207 §4.2)"
}

// emitResponse emits one response as the scripted drivers do, and updates
// what the driver knows from it. It returns true when the response is the
// positive answer to the STARTTLS (or STLS) the driver is waiting on: TLS
// starts now (RFC 3207 §4.2, RFC 2595 §4, RFC 9051 §6.2.1).
func (s *interactive) emitResponse(res readResult) (upgrade bool) {
	c := s.c
	// Only an answer that arrives while the wait is on starts TLS: after
	// the wait ran out the user may have typed on in cleartext, and a
	// late "go ahead" no longer marks where TLS would begin.
	inFlight := s.wait == waitSTARTTLS && !c.TLSActive()
	if s.wait == waitGreeting {
		s.release() // whatever the server said first, it has spoken
	}
	switch s.o.Proto {
	case protocol.SMTP:
		r := res.smtp
		sc, asked := s.pop()
		line := r.Line()
		ann, also := r.Annotations()
		if asked && sc.verb == "EHLO" && r.Code == 250 {
			line.Capabilities = protocol.ParseEHLO(r.Lines)
			also = append(also, protocol.CapabilityKeys("smtp.ext.", line.Capabilities, false)...)
		}
		c.Received(r.Raw, line, ann, also...)
		s.greeted = true
		switch {
		case r.Code == 334:
			// RFC 4954 §4: a challenge; the next line answers it.
			s.contReady, s.contVerb = true, sc.verb
		case r.Code == 354:
			s.dataMode = true // RFC 5321 §4.1.1.4
		case r.Code == 421:
			s.closing = "smtp.reply.421" // RFC 5321 §3.8: the server closes next
		case asked && sc.verb == "QUIT" && r.Code == 221:
			c.Ended()
		}
		answer := asked && sc.verb == "STARTTLS"
		upgrade = inFlight && answer && r.Code == 220
		s.resolved(answer, "", r.Code == 334)
	case protocol.POP3:
		if res.pop3Cont {
			// RFC 5034 §4: "+ " and a challenge; the next line answers it.
			sc, _ := s.pop()
			c.Received(res.raw, wire.Line{Code: "+"}, "pop3.continuation")
			s.contReady, s.contVerb = true, sc.verb
			s.greeted = true
			s.resolved(false, "", true)
			return false
		}
		r := res.pop3
		sc, asked := s.pop()
		line := wire.Line{Code: r.Status()}
		ann, also := r.Annotations()
		if !s.greeted && r.OK { // a -ERR greeting is explained by its status (pop3.go)
			also = append([]string{ann}, also...)
			ann = "pop3.greeting"
		}
		if asked && sc.verb == "CAPA" && r.OK {
			line.Capabilities = protocol.ParseCAPA(r.Lines)
			also = append(also, protocol.CapabilityKeys("pop3.capa.", line.Capabilities, false)...)
		}
		c.Received(r.Raw, line, ann, also...)
		if r.Truncated {
			c.Note(fmt.Sprintf("%s response: kept the first %d of its %d bytes; the rest was read and dropped",
				verbOr(sc.verb, "this"), len(r.Raw), r.Total), "pop3.note.truncated", nil)
		}
		s.greeted = true
		if asked && sc.verb == "QUIT" && r.OK {
			c.Ended() // RFC 1939 §6
		}
		answer := asked && sc.verb == "STLS"
		upgrade = inFlight && answer && r.OK
		s.resolved(answer, "", false)
	case protocol.IMAP:
		r := res.imap
		ann, also := r.Annotations()
		if !s.greeted {
			also = append([]string{ann}, also...)
			ann = "imap.greeting"
		}
		also = append(also, protocol.CapabilityKeys("imap.cap.", r.Caps, true)...)
		c.ReceivedPart(r.Raw, r.Bytes, wire.Line{Code: protocol.IMAPLineCode(r), Capabilities: r.Caps}, ann, also...)
		s.greeted = true
		if r.Caps != nil {
			s.imapCaps = r.Caps
		}
		switch {
		case r.Tag == "+":
			// RFC 9051 §7.5: the server waits for the rest of the
			// command (a literal, an AUTHENTICATE response, IDLE's DONE).
			tag := s.openTag()
			s.contReady, s.contVerb, s.contTag = true, s.tags[tag], tag
			s.resolved(false, tag, true)
		case r.Tag == "*" && r.Status == "BYE":
			if !s.logoutOpen() {
				s.closing = "imap.status.bye" // RFC 9051 §7.1.5
			}
		case r.Tag == "*" && r.Status == "BAD" && s.wait == waitReply:
			// RFC 9051 §7.1.3: an untagged BAD answers a line whose tag
			// the server could not read.
			s.resolved(false, s.waitTag, false)
		case r.Tag != "*":
			verb, open := s.tags[r.Tag]
			delete(s.tags, r.Tag)
			if r.Tag == s.contTag {
				s.contTag, s.contReady = "", false
			}
			if open && verb == "LOGOUT" && r.Status == "OK" {
				c.Ended() // RFC 9051 §6.1.3
			}
			answer := open && verb == "STARTTLS" && r.Tag == s.starttls
			upgrade = inFlight && answer && r.Status == "OK"
			s.resolved(answer, r.Tag, false)
		}
	}
	return upgrade
}

// openTag is the IMAP command a continuation request belongs to: the one
// already being continued, else the one the driver waits on, else the
// newest open one (RFC 9051 §7.5 leaves it implicit: one command at a
// time may be continued).
func (s *interactive) openTag() string {
	if _, ok := s.tags[s.contTag]; ok && s.contTag != "" {
		return s.contTag
	}
	if _, ok := s.tags[s.waitTag]; ok && s.waitTag != "" {
		return s.waitTag
	}
	return s.newestTag
}

func (s *interactive) logoutOpen() bool {
	for _, v := range s.tags {
		if v == "LOGOUT" {
			return true
		}
	}
	return false
}

// resolved ends the wait an answer completes. answerTLS: it answered the
// STARTTLS in flight (positive or not); tag: the IMAP tag it completed or
// continued; cont: it is a continuation request, which also answers a
// line.
func (s *interactive) resolved(answerTLS bool, tag string, cont bool) {
	switch s.wait {
	case waitGreeting:
		s.release()
	case waitSTARTTLS:
		if answerTLS || cont {
			s.release()
		}
	case waitReply:
		if s.o.Proto != protocol.IMAP || cont || tag == s.waitTag {
			s.release()
		}
	}
	if s.inputDone && s.wait == waitNone && s.outstanding() > 0 {
		s.await(waitReply, s.openTag(), "the last line")
	}
}

// readFailed handles a read that ended in an error: a response the stream
// can go on after (malformed, shown as read), the server closing, or a
// failure.
func (s *interactive) readFailed(res readResult) (bool, error) {
	c := s.c
	if errors.Is(res.err, protocol.ErrMalformedReply) && len(res.raw) > 0 {
		// The bytes were read whole, line by line: shown as they came,
		// and the session goes on (a person can judge a reply mailwire
		// cannot parse; a script sees the note).
		s.pop()
		c.Received(res.raw, wire.Line{}, ExplainMalformed)
		c.Note("not a well-formed "+strings.ToUpper(s.o.Proto)+" response: "+res.err.Error()+"; the session goes on", AnnInteractiveMalformed, nil)
		s.greeted = true
		s.resolved(false, s.waitTag, true)
		if s.helper != nil {
			s.helper = nil // the login's outcome is this, whatever it says
			s.release()
		}
		s.rd.next <- c.Reader()
		return false, nil
	}
	if len(res.raw) > 0 {
		c.Received(res.raw, wire.Line{}, s.o.Proto+incompleteSuffix(s.o.Proto))
	}
	closed := errors.Is(res.err, io.EOF) && len(res.raw) == 0
	if closed && c.quit {
		return true, nil // QUIT or LOGOUT answered, then the server closed: a clean end
	}
	if closed && s.closing != "" {
		return true, c.Fail("read", errors.New("the server said goodbye and closed the connection"), s.closing)
	}
	if closed && s.outstanding() == 0 && !s.dataMode && s.greeted {
		idle := time.Duration(0)
		if !s.lastLine.IsZero() {
			idle = time.Since(s.lastLine)
		}
		c.Note(fmt.Sprintf("the server closed the connection while it owed no answer, %s after the client's last line: servers end idle sessions on their own timer (RFC 5321 §4.5.3.2.7, RFC 1939 §3, RFC 9051 §5.4)", wire.FormatDuration(idle)),
			AnnInteractiveServerClosed, nil)
		return true, c.Fail("read", fmt.Errorf("server closed the connection: %w", res.err), ExplainClosedEarly)
	}
	op := "read"
	if s.wait != waitNone {
		op = "read the answer to " + s.waitWhat
	}
	return true, c.Fail(op, res.err, "")
}

func incompleteSuffix(proto string) string {
	if proto == protocol.IMAP {
		return ".response.incomplete"
	}
	return ".reply.incomplete"
}
