package scenario

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The verdict logic of both injection scenarios, proved both ways: with a
// deliberately fooled client against the injecting lab, and with legs
// edited by hand.

// runLeg runs one session with driver d (nil: the protocol's own) against
// a lab endpoint of port in mode, and returns its events numbered from 1.
func runLeg(t *testing.T, port int, mode lab.Mode, d sessions.Driver) []wire.Event {
	t.Helper()
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir(), Logf: t.Logf})
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	ep, err := l.AddEndpoint(port, mode)
	if err != nil {
		t.Fatal(err)
	}
	env := LabEnv(l, "")
	env.ReadTimeout, env.SessionTimeout = 5*time.Second, 20*time.Second
	o, err := env.options(ep.Addr, port)
	if err != nil {
		t.Fatal(err)
	}
	o.TLSMode, o.Driver = sessions.TLSStartTLS, d
	var evs []wire.Event
	_ = sessions.Run(context.Background(), o, func(ev wire.Event) { evs = append(evs, ev) })
	return evs
}

func dumpEvents(evs []wire.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(strconv.Itoa(ev.Seq) + " " + string(ev.Kind) + " " + string(ev.Dir) + " " + ev.Annotation + " " + wire.SafeString(ev.Text) + "\n")
	}
	return b.String()
}

// fooledSMTP is the client the NO STARTTLS study found: after the
// go-ahead it reads on from its cleartext buffer and takes the injected
// lines for the EHLO answer it would ask for inside TLS.
func fooledSMTP(c *sessions.Conversation) error {
	d := newDialog(c)
	if _, err := d.smtpReply("read greeting"); err != nil {
		return err
	}
	if _, err := d.smtp("EHLO", "EHLO "+c.Options().EHLOName); err != nil {
		return err
	}
	if _, err := d.smtp("STARTTLS", "STARTTLS"); err != nil {
		return err
	}
	r, err := protocol.ReadSMTPReply(c.Reader(), 10)
	if err != nil {
		return c.Fail("read the answer it believes came inside TLS", err, "")
	}
	var caps []string
	for _, l := range r.Lines[1:] {
		caps = append(caps, strings.ToUpper(l))
	}
	c.Received(r.Raw, wire.Line{Code: strconv.Itoa(r.Code), Capabilities: caps}, "smtp.reply.250")
	if err := c.StartTLS("smtp.note.response_injection_discarded"); err != nil {
		return err
	}
	if _, err := d.smtp("QUIT", "QUIT"); err != nil {
		return err
	}
	c.Ended()
	return nil
}

func TestJudgeResponseInjectionFooledClient(t *testing.T) {
	evs := runLeg(t, 587, lab.ModeResponseInjection, sessions.DriverFunc(fooledSMTP))
	outcome, safe, text, evidence := judgeResponseInjection(protocol.SMTP, evs)
	if outcome != OutcomeResponseAccepted || safe {
		t.Fatalf("fooled client: %s (safe %v): %s\n%s", outcome, safe, text, dumpEvents(evs))
	}
	if len(evidence) != 1 || !strings.Contains(string(evs[evidence[0]-1].Raw), "250 AUTH LOGIN") {
		t.Errorf("evidence %v, want the injected reply the client read\n%s", evidence, dumpEvents(evs))
	}
}

func TestJudgeResponseInjectionEditedLegs(t *testing.T) {
	evs := runLeg(t, 143, lab.ModeResponseInjection, nil)
	if o, _, text, _ := judgeResponseInjection(protocol.IMAP, evs); o != OutcomeResponseDiscarded {
		t.Fatalf("mailwire's client: %s: %s\n%s", o, text, dumpEvents(evs))
	}
	drop := func(pred func(wire.Event) bool) []wire.Event {
		var out []wire.Event
		for _, ev := range evs {
			if !pred(ev) {
				out = append(out, ev)
			}
		}
		return out
	}
	// Without the engine's note the bytes stayed in the buffer: fooled.
	noNote := drop(func(ev wire.Event) bool {
		return strings.HasSuffix(ev.Annotation, ".note.response_injection_discarded")
	})
	if o, safe, _, _ := judgeResponseInjection(protocol.IMAP, noNote); o != OutcomeResponseAccepted || safe {
		t.Errorf("no note: %s (safe %v), want response-accepted", o, safe)
	}
	// Capabilities taken from cleartext after the boundary (not read
	// inside TLS): fooled.
	cleartextCaps := append([]wire.Event(nil), evs...)
	for i, ev := range cleartextCaps {
		if ev.Layer == wire.LayerDecrypted && ev.Line != nil && len(ev.Line.Capabilities) > 0 {
			cleartextCaps[i].Layer = wire.LayerCleartext
			break
		}
	}
	if o, _, _, _ := judgeResponseInjection(protocol.IMAP, cleartextCaps); o != OutcomeResponseAccepted {
		t.Errorf("capabilities not from inside TLS: %s, want response-accepted", o)
	}
	// No STARTTLS at all: nothing to judge.
	noTLS := drop(func(ev wire.Event) bool { return ev.Kind == wire.KindBoundary })
	if o, _, _, _ := judgeResponseInjection(protocol.IMAP, noTLS); o != OutcomeInjectionUntested {
		t.Errorf("no boundary: %s, want injection-untested", o)
	}
	// A failed handshake: untested, whatever the note says.
	noState := drop(func(ev wire.Event) bool { return ev.Kind == wire.KindTLSState })
	if o, _, _, _ := judgeResponseInjection(protocol.IMAP, noState); o != OutcomeInjectionUntested {
		t.Errorf("no TLS state: %s, want injection-untested", o)
	}
}

// line builds a protocol line event.
func line(seq int, dir wire.Direction, layer wire.Layer, raw, ann string) wire.Event {
	return wire.Event{Seq: seq, Kind: wire.KindLine, Dir: dir, Layer: layer, Raw: []byte(raw), Annotation: ann, Line: &wire.Line{}}
}

func TestJudgeCommandInjectionCounts(t *testing.T) {
	c2s, s2c := wire.ClientToServer, wire.ServerToClient
	clear, enc := wire.LayerCleartext, wire.LayerDecrypted
	head := func(proto string) []wire.Event {
		return []wire.Event{
			line(1, c2s, clear, injectionFor(proto).write, "scenario.command-injected"),
			line(2, s2c, clear, "220 go ahead\r\n", ""),
			{Seq: 3, Kind: wire.KindBoundary},
			{Seq: 4, Kind: wire.KindTLSState, TLS: &wire.TLSState{Version: "TLS 1.3"}},
		}
	}
	smtp := func(answers ...string) []wire.Event {
		evs := append(head(protocol.SMTP), line(5, c2s, enc, "EHLO x\r\n", ""), line(6, c2s, enc, "QUIT\r\n", ""))
		for i, a := range answers {
			evs = append(evs, line(7+i, s2c, enc, a, ""))
		}
		return evs
	}
	imap := func(answers ...string) []wire.Event {
		evs := append(head(protocol.IMAP), line(5, c2s, enc, "a2 CAPABILITY\r\n", ""), line(6, c2s, enc, "a3 LOGOUT\r\n", ""))
		for i, a := range answers {
			evs = append(evs, line(7+i, s2c, enc, a, ""))
		}
		return evs
	}
	for _, tc := range []struct {
		name, proto string
		evs         []wire.Event
		want        string
		evidence    int // first evidence Seq
	}{
		{"smtp extra answer", protocol.SMTP, smtp("250 2.0.0 Ok\r\n", "250-x\r\n250 PIPELINING\r\n", "221 Bye\r\n"), OutcomeInjectionAnswered, 7},
		{"smtp two answers", protocol.SMTP, smtp("250-x\r\n250 PIPELINING\r\n", "221 Bye\r\n"), OutcomeInjectionDiscarded, 7},
		{"smtp one answer", protocol.SMTP, smtp("250 x\r\n"), OutcomeInjectionUntested, 7},
		{"imap tag b", protocol.IMAP, imap("* CAPABILITY IMAP4rev1\r\n", "b OK NOOP\r\n", "a2 OK done\r\n", "* BYE\r\n", "a3 OK bye\r\n"), OutcomeInjectionAnswered, 8},
		{"imap untagged only extra", protocol.IMAP, imap("* OK hello\r\n", "* CAPABILITY IMAP4rev1\r\n", "a2 OK done\r\n", "* BYE\r\n", "a3 OK bye\r\n"), OutcomeInjectionDiscarded, 9},
		{"no boundary", protocol.SMTP, head(protocol.SMTP)[:2], OutcomeInjectionUntested, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, safe, text, ev := judgeCommandInjection(tc.proto, tc.evs)
			if got != tc.want || safe != (got != OutcomeInjectionAnswered) {
				t.Fatalf("%s (safe %v): %s, want %s", got, safe, text, tc.want)
			}
			if len(ev) == 0 || ev[0] != tc.evidence {
				t.Errorf("evidence %v, want %d first", ev, tc.evidence)
			}
		})
	}
	// A failed handshake (not a certificate problem) is the injection
	// breaking TLS; a certificate failure is untested.
	broken := append(head(protocol.SMTP)[:3], wire.Event{Seq: 4, Kind: wire.KindError, Err: &wire.ErrorInfo{Op: "tls handshake", Message: "EOF"}})
	if got, safe, _, _ := judgeCommandInjection(protocol.SMTP, broken); got != OutcomeInjectionBrokeHandshake || !safe {
		t.Errorf("handshake EOF: %s, want injection-broke-handshake", got)
	}
	broken[3].Err.Op = "verify certificate"
	if got, _, _, _ := judgeCommandInjection(protocol.SMTP, broken); got != OutcomeInjectionUntested {
		t.Errorf("certificate failure: %s, want injection-untested", got)
	}
}

func TestPOP3Splitter(t *testing.T) {
	stream := "+OK Capability list follows\r\nTOP\r\n..stuffed\r\n.\r\n-ERR no\r\n+OK\r\n.\r\n+OK Logging out.\r\n"
	var got []string
	var p pop3Splitter
	for _, l := range strings.SplitAfter(stream, "\n") {
		if l == "" {
			continue
		}
		if err := p.add([]byte(l), 10, func(raw []byte) { got = append(got, string(raw)) }); err != nil {
			t.Fatal(err)
		}
	}
	if raw := p.flush(); raw != nil {
		got = append(got, string(raw))
	}
	want := []string{"+OK Capability list follows\r\nTOP\r\n..stuffed\r\n.\r\n", "-ERR no\r\n", "+OK\r\n.\r\n", "+OK Logging out.\r\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q\nwant %q", got, want)
	}
	var q pop3Splitter
	if err := q.add([]byte("garbage\r\n"), 10, func([]byte) {}); err == nil {
		t.Error("a first line that is no status line was accepted")
	}
	q = pop3Splitter{}
	_ = q.add([]byte("+OK\r\n"), 2, func([]byte) {})
	var err error
	for i := 0; i < 5 && err == nil; i++ {
		err = q.add([]byte("LINE\r\n"), 2, func([]byte) {})
	}
	if err == nil {
		t.Error("an endless multi-line response was not cut off")
	}
}

// The Env's limits reach every session it builds.
func TestEnvOptionsCarryTheLimits(t *testing.T) {
	env := Env{DialTimeout: time.Second, ReadTimeout: 2 * time.Second, SessionTimeout: 3 * time.Second}
	o, err := env.options("127.0.0.1:1", 587)
	if err != nil {
		t.Fatal(err)
	}
	if o.DialTimeout != time.Second || o.ReadTimeout != 2*time.Second || o.SessionTimeout != 3*time.Second {
		t.Errorf("limits %v, %v, %v; want 1s, 2s, 3s", o.DialTimeout, o.ReadTimeout, o.SessionTimeout)
	}
}
