package sessions

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

func init() { RegisterDriver(ProtoPOP3, POP3Driver{}) }

// POP3Driver plays a POP3 client: RFC 1939 for the dialogue, RFC 2449 for
// CAPA and response codes, RFC 2595 §4 for STLS, RFC 8314 for implicit TLS
// on 995:
//
//	110 (STLS):     greeting, CAPA, STLS, TLS, CAPA, [USER, PASS, [STAT, LIST, RETR 1]], QUIT
//	995 (implicit): TLS, greeting, CAPA, [USER, PASS, [STAT, LIST, RETR 1]], QUIT
//
// USER and PASS only with credentials (Options.Username), the maildrop is
// read only when asked (Options.Fetch); Options.StopAfter ends it earlier,
// always with QUIT.
type POP3Driver struct{}

// POP3Error is a "-ERR" response; it keeps the RFC 2449 §8 response code.
type POP3Error struct {
	Command string // what the response answered ("greeting" for the greeting)
	Code    string // the response code without brackets ("SYS/TEMP"), if any
	Text    string // the text after "-ERR" and the code
}

func (e *POP3Error) Error() string {
	s := e.Command + ": server replied -ERR"
	if e.Code != "" {
		s += " [" + e.Code + "]"
	}
	if e.Text != "" {
		s += " " + e.Text
	}
	return s
}

// Bounds of a multi-line response. A RETR of a huge message must not grow
// memory without bound: the driver keeps (and shows) the first
// pop3KeepBytes and counts the rest; past pop3MaxBytes it gives up.
const (
	pop3KeepBytes = 64 << 10
	pop3MaxBytes  = 64 << 20
	// A capability or scan listing has no reason to be large (RFC 2449
	// capabilities are a few short lines; a LIST line is two numbers), so
	// it gets a much smaller bound than a message: a server that streams
	// an endless CAPA is cut off before its TLS records fill the event
	// stream.
	pop3MaxListingBytes = 1 << 20
)

// POP3Response is one response as read (RFC 1939 §3).
type POP3Response struct {
	OK   bool   // "+OK" (else "-ERR")
	Code string // RFC 2449 §8 response code, without brackets
	Text string // the status line's text after the status and the code
	// Lines are the dot-unstuffed lines of a multi-line response, without
	// CRLF and without the terminating ".", as far as they were kept.
	Lines []string
	// Raw is the response as read, terminators included, cut at
	// pop3KeepBytes when Truncated.
	Raw       []byte
	Truncated bool
	Total     int // bytes of the whole response on the wire
}

// Status returns "+OK" or "-ERR".
func (r *POP3Response) Status() string {
	if r.OK {
		return "+OK"
	}
	return "-ERR"
}

// ReadPOP3Response reads one response. multi says whether a positive
// response to this command is multi-line (CAPA, LIST, RETR): then the lines
// up to the lone "." are read and dot-unstuffed (RFC 1939 §3). A negative
// response is always one line. maxLines bounds the lines kept for parsing
// (CAPA); Raw keeps up to pop3KeepBytes (Truncated says it was cut). On
// error the partial response is returned, so the caller can show what came.
func ReadPOP3Response(lr *LineReader, multi bool, maxLines int) (*POP3Response, error) {
	return readPOP3Response(lr, multi, maxLines, pop3MaxBytes)
}

// readPOP3Response is ReadPOP3Response with a bound on the whole
// response's size.
func readPOP3Response(lr *LineReader, multi bool, maxLines, maxBytes int) (*POP3Response, error) {
	r := &POP3Response{}
	line, err := lr.ReadLine()
	if err != nil {
		return r, err
	}
	r.keep(line)
	s := trimEOL(line)
	switch {
	case strings.HasPrefix(s, "+OK") && (len(s) == 3 || s[3] == ' '):
		r.OK = true
	case strings.HasPrefix(s, "-ERR") && (len(s) == 4 || s[4] == ' '):
	default:
		return r, fmt.Errorf("%w: %q does not start with +OK or -ERR (RFC 1939 §3)", ErrMalformedReply, Truncate(s, 40))
	}
	_, rest, _ := strings.Cut(s, " ")
	r.Code, r.Text = pop3RespCode(rest)
	if !multi || !r.OK {
		return r, nil
	}
	for {
		line, err := lr.ReadLine()
		if err != nil {
			return r, err
		}
		r.keep(line)
		if r.Total > maxBytes {
			return r, fmt.Errorf("%w: multi-line response over %d bytes", ErrTooManyLines, maxBytes)
		}
		l := trimEOL(line)
		if l == "." {
			return r, nil
		}
		// RFC 1939 §3: a line starting with "." was byte-stuffed.
		l = strings.TrimPrefix(l, ".")
		// Lines are for parsing (CAPA); past maxLines or past the kept
		// bytes they are dropped, and Raw (with Truncated) shows the rest.
		if !r.Truncated && len(r.Lines) < maxLines {
			r.Lines = append(r.Lines, l)
		}
	}
}

// keep adds line to Raw within pop3KeepBytes and counts it.
func (r *POP3Response) keep(line []byte) {
	r.Total += len(line)
	if room := pop3KeepBytes - len(r.Raw); room > 0 {
		if len(line) > room {
			line = line[:room]
			r.Truncated = true
		}
		r.Raw = append(r.Raw, line...)
	} else {
		r.Truncated = true
	}
}

// pop3RespCode splits "[CODE] text" (RFC 2449 §8: the code is in brackets
// right after the status; hierarchical codes use "/", e.g. SYS/TEMP).
func pop3RespCode(s string) (code, text string) {
	if !strings.HasPrefix(s, "[") {
		return "", s
	}
	end := strings.IndexByte(s, ']')
	if end < 0 || end > 64 {
		return "", s
	}
	return strings.ToUpper(s[1:end]), strings.TrimSpace(s[end+1:])
}

func trimEOL(line []byte) string {
	return strings.TrimSuffix(strings.TrimSuffix(string(line), "\n"), "\r")
}

// Play runs the session.
func (POP3Driver) Play(c *Conversation) error {
	p := &pop3Client{c: c, o: c.Options()}
	// RFC 1939 §4: QUIT is valid in every state.
	return playPolitely(p.play, &p.canQuit, p.quit)
}

type pop3Client struct {
	c       *Conversation
	o       Options
	caps    []string // CAPA lines, keyword upper-cased
	canQuit bool
}

func (p *pop3Client) play() error {
	r, err := p.read("read greeting", "greeting", false)
	if err != nil {
		return err
	}
	if !r.OK {
		return p.refused("greeting", r)
	}
	p.canQuit = true
	if p.c.stopAfter(StageConnect, "the server greeted with +OK") {
		return p.quit()
	}
	if err := p.capa(); err != nil {
		return err
	}
	if p.o.TLSMode.usesSTARTTLS() {
		if err := p.stls(); err != nil {
			return err
		}
	}
	if p.c.stopAfter(StageTLS, p.c.tlsReached("CAPA")) {
		return p.quit()
	}
	loggedIn, err := p.login()
	if err != nil {
		return err
	}
	if p.c.stopAfter(StageAuth, authReached(loggedIn)) {
		return p.quit()
	}
	switch {
	case loggedIn && p.o.Fetch:
		if err := p.transaction(); err != nil {
			return err
		}
	case loggedIn:
		p.c.Note("logged in; reading the maildrop was not asked for, so the client leaves without STAT, LIST or RETR",
			"pop3.note.no_fetch", nil)
	}
	return p.quit()
}

// read reads one response and emits it. The annotation is the response
// code's key when there is one (pop3.code.in-use), else the greeting's or
// the status's; the other keys go into Also.
func (p *pop3Client) read(op, cmd string, multi bool) (*POP3Response, error) {
	maxBytes := pop3MaxListingBytes
	if cmd == "RETR" || cmd == "TOP" {
		maxBytes = pop3MaxBytes
	}
	r, err := readPOP3Response(p.c.Reader(), multi, p.o.MaxReplyLines, maxBytes)
	if err != nil {
		if len(r.Raw) > 0 {
			p.c.Received(r.Raw, Line{Code: p.statusIfKnown(r)}, "pop3.reply.incomplete")
		}
		p.canQuit = false // out of step or gone
		return nil, p.c.Fail(op, err, "")
	}
	line := Line{Code: r.Status()}
	// The most specific key leads: the greeting's, else the response
	// code's (pop3.code.in-use), else the status's.
	ann, also := r.Annotations()
	if cmd == "greeting" {
		also = append([]string{ann}, also...)
		ann = "pop3.greeting"
	}
	if cmd == "CAPA" && r.OK {
		line.Capabilities = parseCAPA(r.Lines)
		also = append(also, capabilityKeys("pop3.capa.", line.Capabilities, false)...)
	}
	p.c.Received(r.Raw, line, ann, also...)
	if r.Truncated {
		p.c.Note(fmt.Sprintf("%s response: kept the first %d of its %d bytes; the rest was read and dropped",
			cmd, len(r.Raw), r.Total), "pop3.note.truncated", nil)
	}
	return r, nil
}

func (p *pop3Client) statusIfKnown(r *POP3Response) string {
	switch {
	case bytes.HasPrefix(r.Raw, []byte("+OK")):
		return "+OK"
	case bytes.HasPrefix(r.Raw, []byte("-ERR")):
		return "-ERR"
	}
	return ""
}

// parseCAPA returns the capability lines: "keyword [args]" (RFC 2449 §5),
// keyword upper-cased (keywords are case-insensitive).
func parseCAPA(lines []string) []string {
	var caps []string
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		f[0] = strings.ToUpper(f[0])
		caps = append(caps, strings.Join(f, " "))
	}
	return caps
}

func (p *pop3Client) hasCap(kw string) bool {
	return slices.ContainsFunc(p.caps, func(cp string) bool {
		k, _, _ := strings.Cut(cp, " ")
		return k == kw
	})
}

// command sends one command line.
func (p *pop3Client) command(verb, line string) error {
	if err := p.c.Send([]byte(line+"\r\n"), Line{Command: verb}, "pop3.cmd."+strings.ToLower(verb)); err != nil {
		p.canQuit = false
		return p.c.Fail("send "+verb, err, "")
	}
	return nil
}

// exchange sends a command and reads its response, which must be +OK.
func (p *pop3Client) exchange(verb, line string, multi bool) (*POP3Response, error) {
	if err := p.command(verb, line); err != nil {
		return nil, err
	}
	r, err := p.read("read "+verb+" response", verb, multi)
	if err != nil {
		return nil, err
	}
	if !r.OK {
		return r, p.refused(verb, r)
	}
	return r, nil
}

// refused reports a -ERR the dialogue cannot go on from. Its explain key
// is the response code's when there is one (RFC 3206: [AUTH] is a bad
// password, [SYS/TEMP] a server problem).
func (p *pop3Client) refused(cmd string, r *POP3Response) error {
	explain := "pop3.reply.err"
	if r.Code != "" {
		explain = "pop3.code." + strings.ToLower(r.Code)
	}
	return p.c.Fail(strings.ToLower(cmd), &POP3Error{Command: cmd, Code: r.Code, Text: r.Text}, explain)
}

// capa asks for the capabilities (RFC 2449 §5). CAPA is optional: a server
// without it answers -ERR, which leaves the list empty.
func (p *pop3Client) capa() error {
	p.caps = nil
	if err := p.command("CAPA", "CAPA"); err != nil {
		return err
	}
	r, err := p.read("read CAPA response", "CAPA", true)
	if err != nil {
		return err
	}
	if r.OK {
		p.caps = parseCAPA(r.Lines)
	}
	return nil
}

// stls upgrades the connection (RFC 2595 §4).
func (p *pop3Client) stls() error {
	opportunistic := p.o.TLSMode == TLSOpportunistic
	if !p.hasCap("STLS") && opportunistic {
		return p.c.goOnInCleartext("the server does not offer STLS in its CAPA response")
	} else if !p.hasCap("STLS") {
		return p.c.Fail("stls",
			fmt.Errorf("%s does not offer STLS in its CAPA response, and TLS mode is starttls", p.o.Target),
			ExplainNoStartTLS)
	}
	if opportunistic {
		if err := p.command("STLS", "STLS"); err != nil {
			return err
		}
		r, err := p.read("read STLS response", "STLS", false)
		if err != nil {
			return err
		}
		if !r.OK {
			return p.c.goOnInCleartext("the server answered STLS with -ERR")
		}
	} else if _, err := p.exchange("STLS", "STLS", false); err != nil {
		return err
	}
	// RFC 2595 §4: the client must discard what it learned from the server
	// before TLS, and should ask for CAPA again.
	return p.c.upgradeAndAskAgain(ProtoPOP3, &p.caps, &p.canQuit, p.capa, "TLS", "RFC 2595 §4")
}

// login sends USER and PASS (RFC 1939 §7). It returns false, without error,
// when it chose not to log in.
func (p *pop3Client) login() (bool, error) {
	if p.c.withholdCredentials(ProtoPOP3, "not logging in", "RFC 2595 §2.3") {
		return false, nil
	}
	if _, err := p.exchange("USER", "USER "+p.o.Username, false); err != nil {
		return false, err
	}
	if _, err := p.exchange("PASS", "PASS "+p.o.Password, false); err != nil {
		return false, err
	}
	return true, nil
}

// transaction reads the maildrop: STAT, LIST and the first message
// (RFC 1939 §5).
func (p *pop3Client) transaction() error {
	r, err := p.exchange("STAT", "STAT", false)
	if err != nil {
		return err
	}
	// RFC 1939 §5: "+OK nn mm", the number of messages and their size.
	f := strings.Fields(r.Text)
	count := -1
	if len(f) >= 1 {
		if n, err := strconv.Atoi(f[0]); err == nil && n >= 0 {
			count = n
		}
	}
	if _, err := p.exchange("LIST", "LIST", true); err != nil {
		return err
	}
	if count == 0 {
		p.c.Note("the maildrop is empty: nothing to RETR", "pop3.note.empty", nil)
		return nil
	}
	_, err = p.exchange("RETR", "RETR 1", true)
	return err
}

// quit ends the session (RFC 1939 §6).
func (p *pop3Client) quit() error {
	p.canQuit = false
	if _, err := p.exchange("QUIT", "QUIT", false); err != nil {
		return err
	}
	p.c.Ended()
	return nil
}
