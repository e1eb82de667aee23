package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The soak's hostile clients (soak_test.go runs them). Each class is a pool
// of goroutines dialing from its own loopback addresses; every connection
// ends when its context does, so that the soak can tell the lab's leftovers
// from its own.

// hostileKind is one class of misbehaving client.
type hostileKind int

const (
	// slowloris: connects and trickles a command (cleartext ports) or a
	// ClientHello (implicit TLS) one byte at a time to hold the slot; a few
	// log in over IMAP, SELECT INBOX and then send nothing at all while
	// the mailbox changes under them.
	slowloris hostileKind = iota
	// flood: many connects per second; most send nothing, some are reset.
	flood
	// hugeLines: command lines far over every limit: EHLO, MAIL, AUTH
	// PLAIN and AUTH LOGIN responses, USER, PASS, IMAP LOGIN atoms and
	// literals, AUTHENTICATE responses, HTTP headers, a line with no end;
	// and whole messages of the largest size taken (SMTP DATA, IMAP
	// APPEND) from a client that knows the lab's password.
	hugeLines
	// tlsGarbage: random bytes, and records with impossible headers, where
	// TLS is expected: on implicit ports and after STARTTLS/STLS.
	tlsGarbage
	// vanish: a ClientHello cut short (or sent whole) and the connection
	// closed or reset before the handshake ends.
	vanish
	numHostile
)

var hostileNames = [numHostile]string{"slowloris", "flood", "huge lines", "TLS garbage", "vanish mid-handshake"}

func (k hostileKind) String() string { return hostileNames[k] }

// hostileCounters are one class's figures. outcomes counts how the lab
// answered, by a short classification (bounded: at most maxOutcomeKinds).
type hostileCounters struct {
	attempts, connects, dialErrs atomic.Int64

	mu       sync.Mutex
	outcomes map[string]int
}

const maxOutcomeKinds = 24

func (h *hostileCounters) outcome(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.outcomes == nil {
		h.outcomes = make(map[string]int)
	}
	if _, ok := h.outcomes[s]; !ok && len(h.outcomes) >= maxOutcomeKinds {
		s = "(other)"
	}
	h.outcomes[s]++
}

// soakPorts are the lab's ports in the order the hostile clients take them.
var soakPorts = []int{25, 587, 465, 110, 995, 143, 993, 443}

func implicitPort(p int) bool { return p == 465 || p == 995 || p == 993 || p == 443 }

func portProto(p int) string {
	switch p {
	case 25, 587, 465:
		return ProtoSMTP
	case 110, 995:
		return ProtoPOP3
	case 143, 993:
		return ProtoIMAP
	}
	return ProtoHTTPS
}

// hostileConn is one hostile connection: a bounded reader and the class's
// counters.
type hostileConn struct {
	net.Conn
	r    *bufio.Reader
	port int
	k    *hostileCounters
}

// dial connects from src to a lab port. The connection's deadlines fire
// when ctx ends, so no hostile client outlives the soak.
func (s *soak) dial(ctx context.Context, k hostileKind, src net.IP, port int) (*hostileConn, func(), error) {
	h := &s.hostile[k]
	h.attempts.Add(1)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 3 * time.Second}
	c, err := d.DialContext(ctx, "tcp", s.addrs[port])
	if err != nil {
		if ctx.Err() == nil {
			h.dialErrs.Add(1)
			h.outcome("dial: " + errClass(err))
		}
		return nil, nil, err
	}
	h.connects.Add(1)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	hc := &hostileConn{Conn: c, r: bufio.NewReaderSize(c, 4096), port: port, k: h}
	return hc, func() { stop(); c.Close() }, nil
}

// reset makes Close send RST instead of FIN, as a client that vanishes
// from the network would leave the lab with nothing to read.
func (c *hostileConn) reset() {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
}

// line reads one line within d, bounded by the reader's size.
func (c *hostileConn) line(d time.Duration) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := c.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), err
}

// reply reads what the lab answers within d (at most 4 KiB) and classifies
// it: its first line, cut short, or how the connection ended.
func (c *hostileConn) reply(d time.Duration) string {
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	n, err := io.ReadAtLeast(c.r, buf, 1)
	if n > 0 {
		first, _, _ := bytes.Cut(buf[:n], []byte("\n"))
		return "answer: " + clip(strings.TrimRight(string(first), "\r"))
	}
	return errClass(err)
}

// clip keeps a classification short and free of control bytes (digits are
// kept: they are the reply codes).
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f {
			return '.'
		}
		return r
	}, s)
	if len(s) > 48 {
		s = s[:48] + "…"
	}
	return s
}

func errClass(err error) string {
	var ne net.Error
	switch {
	case err == nil:
		return "nothing"
	case errors.Is(err, io.EOF):
		return "closed by the lab"
	case errors.As(err, &ne) && ne.Timeout():
		return "no answer in time"
	case strings.Contains(err.Error(), "reset by peer"):
		return "reset by the lab"
	case strings.Contains(err.Error(), "broken pipe"):
		return "closed by the lab (broken pipe)"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	}
	return "error: " + clip(err.Error())
}

// refusal reports whether a greeting is the lab's "too many connections"
// (or any refusal) rather than a welcome.
func refusal(greeting string) bool {
	return strings.HasPrefix(greeting, "421") || strings.HasPrefix(greeting, "* BYE") ||
		strings.HasPrefix(greeting, "-ERR") || strings.HasPrefix(greeting, "554")
}

// greet reads a cleartext greeting (SMTP's may have several lines). ok is
// false when the lab refused or closed; the outcome is then recorded.
func (c *hostileConn) greet() (string, bool) {
	for range 20 {
		l, err := c.line(5 * time.Second)
		if err != nil {
			c.k.outcome("greeting: " + errClass(err))
			return "", false
		}
		if refusal(l) {
			c.k.outcome("refused: " + clip(l))
			return l, false
		}
		if len(l) > 3 && l[3] == '-' {
			continue // an SMTP multi-line greeting goes on
		}
		return l, true
	}
	return "", false
}

// upgrade takes a cleartext port to the point where TLS starts (after
// STARTTLS or STLS was accepted). It reports false, with the outcome
// recorded, when the lab refused on the way.
func (c *hostileConn) upgrade() bool {
	if _, ok := c.greet(); !ok {
		return false
	}
	var steps []string
	switch portProto(c.port) {
	case ProtoSMTP:
		steps = []string{"EHLO hostile.invalid", "STARTTLS"}
	case ProtoPOP3:
		steps = []string{"STLS"}
	case ProtoIMAP:
		steps = []string{"h1 STARTTLS"}
	}
	for _, cmd := range steps {
		if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
			c.k.outcome("upgrade: " + errClass(err))
			return false
		}
		for {
			l, err := c.line(5 * time.Second)
			if err != nil {
				c.k.outcome("upgrade: " + errClass(err))
				return false
			}
			if len(l) > 3 && l[3] == '-' || strings.HasPrefix(l, "* ") {
				continue
			}
			if !(strings.HasPrefix(l, "2") || strings.HasPrefix(l, "+OK") || strings.HasPrefix(l, "h1 OK")) {
				c.k.outcome("upgrade refused: " + clip(l))
				return false
			}
			break
		}
	}
	return true
}

// answer reads one whole reply to a command: SMTP to its last line
// ("xyz "), IMAP to a tagged line or a continuation request ("+"), POP3 and
// HTTP one line.
func (c *hostileConn) answer() error {
	for range 100 {
		l, err := c.line(3 * time.Second)
		if err != nil {
			return err
		}
		switch portProto(c.port) {
		case ProtoSMTP:
			if len(l) > 3 && l[3] == '-' {
				continue
			}
		case ProtoIMAP:
			if strings.HasPrefix(l, "* ") {
				continue
			}
		}
		return nil
	}
	return errors.New("endless reply")
}

// toTLSPoint brings a connection to where the lab expects a ClientHello:
// at once on implicit ports, after the upgrade on the others.
func (c *hostileConn) toTLSPoint() bool {
	if implicitPort(c.port) {
		return true
	}
	return c.upgrade()
}

// clientHellos are real ClientHello records (each a TLS record as
// crypto/tls writes it, about 1.8 KiB with its post-quantum key share),
// captured from handshakes that never went further.
func clientHellos(n int) [][]byte {
	out := make([][]byte, 0, n)
	for i := range n {
		a, b := net.Pipe()
		go func() {
			cfg := &tls.Config{ServerName: fmt.Sprintf("h%d.%s", i, Hostname), InsecureSkipVerify: true}
			_ = tls.Client(a, cfg).Handshake()
		}()
		_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 16<<10)
		m, _ := b.Read(buf)
		a.Close()
		b.Close()
		if m > 5 {
			out = append(out, buf[:m])
		}
	}
	return out
}

// pace sleeps d (jittered by up to half) unless ctx ends first.
func pace(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	d += time.Duration(mrand.Int64N(int64(d)/2 + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// runSlowloris is one slowloris client: round the ports, one connection at
// a time, each held by a trickle until the lab closes it or holdMax passes.
func (s *soak) runSlowloris(ctx context.Context, src net.IP, worker int) {
	for i := worker; ctx.Err() == nil; i++ {
		port := soakPorts[i%len(soakPorts)]
		c, done, err := s.dial(ctx, slowloris, src, port)
		if err != nil {
			pace(ctx, 200*time.Millisecond)
			continue
		}
		s.trickle(ctx, c)
		done()
		// A refused client comes back soon, as a real one would.
		pace(ctx, 100*time.Millisecond)
	}
}

// trickle writes one byte every cfg.trickle: a command on cleartext ports
// (after reading the greeting), a ClientHello on implicit ones.
func (s *soak) trickle(ctx context.Context, c *hostileConn) {
	var data []byte
	if implicitPort(c.port) {
		data = s.hellos[mrand.IntN(len(s.hellos))]
	} else {
		if _, ok := c.greet(); !ok {
			return
		}
		switch portProto(c.port) {
		case ProtoSMTP:
			data = []byte("NOOP\r\n")
		case ProtoPOP3:
			data = []byte("CAPA\r\n")
		default:
			data = []byte("s1 NOOP\r\n")
		}
	}
	start := time.Now()
	// The lab's answers are drained as they come, so that it never blocks
	// writing to this client: only the trickle is slow.
	go func() { _, _ = io.Copy(io.Discard, io.LimitReader(c.r, 1<<20)) }()
	for i := 0; ; i++ {
		if time.Since(start) > s.cfg.holdMax {
			c.k.outcome(fmt.Sprintf("%d: held until the client left", c.port))
			return
		}
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(data[i%len(data) : i%len(data)+1]); err != nil {
			if ctx.Err() == nil {
				c.k.outcome(fmt.Sprintf("%d: cut off by the lab after %s", c.port, roundDur(time.Since(start))))
			}
			return
		}
		if !pace(ctx, s.cfg.trickle) {
			return
		}
	}
}

// roundDur buckets a duration for an outcome key: <1s, <10s, <1m, <5m,
// then whole minutes.
func roundDur(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1s"
	case d < 10*time.Second:
		return "<10s"
	case d < time.Minute:
		return "<1m"
	case d < 5*time.Minute:
		return "<5m"
	}
	return d.Truncate(time.Minute).String()
}

// runSilentSelected logs in over IMAP (993), selects INBOX and then sends
// nothing until the soak ends, reconnecting if the lab closes it: while
// the well-behaved clients deliver mail, the lab has mailbox updates for
// it that it never asks for.
func (s *soak) runSilentSelected(ctx context.Context, src net.IP) {
	for ctx.Err() == nil {
		c, done, err := s.dial(ctx, slowloris, src, 993)
		if err != nil {
			pace(ctx, 200*time.Millisecond)
			continue
		}
		s.silentSelected(ctx, c)
		done()
		pace(ctx, 100*time.Millisecond)
	}
}

func (s *soak) silentSelected(ctx context.Context, c *hostileConn) {
	tc := tls.Client(c.Conn, s.tls)
	_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.k.outcome("silent IMAP: handshake: " + errClass(err))
		return
	}
	c.Conn, c.r = tc, bufio.NewReaderSize(tc, 4096)
	g, err := c.line(5 * time.Second)
	if err != nil || refusal(g) {
		c.k.outcome("silent IMAP: refused: " + clip(g))
		return
	}
	for _, cmd := range []string{"q1 LOGIN " + DemoUser + " " + DemoPassword, "q2 SELECT INBOX"} {
		tag, _, _ := strings.Cut(cmd, " ")
		if _, err := tc.Write([]byte(cmd + "\r\n")); err != nil {
			return
		}
		for {
			l, err := c.line(5 * time.Second)
			if err != nil {
				c.k.outcome("silent IMAP: " + errClass(err))
				return
			}
			if strings.HasPrefix(l, tag+" ") {
				break
			}
		}
	}
	start := time.Now()
	// Silent: read whatever the lab sends (its BYE) and never write.
	last := ""
	for {
		l, err := c.line(time.Hour)
		if err != nil {
			if ctx.Err() == nil {
				c.k.outcome(fmt.Sprintf("silent IMAP: %s after %s, last words %q", errClass(err), roundDur(time.Since(start)), clip(last)))
			}
			return
		}
		last = l
	}
}

// floodInFlight bounds the flood's connections open at once.
const floodInFlight = 256

// runFlood dials at cfg.floodRate per second in all, at most floodInFlight
// connections at once; each connection sends nothing: it is closed at
// once, reset, held silent for up to 2 s, or held to read the lab's
// answer.
func (s *soak) runFlood(ctx context.Context, srcs []net.IP) {
	sem := make(chan struct{}, floodInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.floodRate))
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // all in flight: this tick is lost (counted by the rate achieved)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			port := soakPorts[i%len(soakPorts)]
			c, done, err := s.dial(ctx, flood, srcs[i%len(srcs)], port)
			if err != nil {
				return
			}
			defer done()
			switch i % 4 {
			case 0:
				// connect and leave at once
			case 1:
				c.reset()
			case 2:
				pace(ctx, time.Duration(mrand.Int64N(int64(2*time.Second))))
			case 3:
				c.k.outcome(c.reply(time.Second))
			}
		}()
	}
}

// hugeCase is one oversized command: setup brings the connection to the
// point where it is sent (returning the connection to write on), then the
// line goes out and the lab's answer is classified.
type hugeCase struct {
	name string
	port int
	// tls: do the handshake first (implicit port, or after the upgrade).
	tls bool
	// before are lines sent (each answer read) before the huge one.
	before []string
	prefix string
	size   int
	noEOL  bool // never send a line end
	// message: the payload is a message body of size bytes in 1000-octet
	// lines (RFC 5321 §4.5.3.1.6) ended by the lone dot of DATA.
	message bool
	payload []byte // built once by hugeCases, shared by the workers
}

// hugeCases lists the line cases and the message cases, with their
// payloads built (about 30 MB in
// all, made once: building them per connection would make the soak's own
// garbage the largest thing in the heap).
func hugeCases() (lines, messages []hugeCase) {
	cases := hugeCaseList()
	for i := range cases {
		hc := &cases[i]
		line := make([]byte, 0, len(hc.prefix)+hc.size+5)
		line = append(line, hc.prefix...)
		if hc.message {
			row := append(bytes.Repeat([]byte("A"), 998), "\r\n"...)
			for len(line)+len(row) <= hc.size {
				line = append(line, row...)
			}
			line = append(line, ".\r\n"...)
		} else {
			line = append(line, bytes.Repeat([]byte("A"), hc.size)...)
			if !hc.noEOL {
				line = append(line, "\r\n"...)
			}
		}
		hc.payload = line
	}
	for _, hc := range cases {
		if hc.size >= 10_000_000 {
			messages = append(messages, hc)
		} else {
			lines = append(lines, hc)
		}
	}
	return lines, messages
}

func hugeCaseList() []hugeCase {
	const k64, m1 = 64 << 10, 1 << 20
	return []hugeCase{
		{name: "EHLO 64K", port: 587, prefix: "EHLO ", size: k64},
		{name: "MAIL 64K", port: 25, before: []string{"EHLO h.invalid"}, prefix: "MAIL FROM:<", size: k64},
		{name: "AUTH PLAIN 1M after STARTTLS", port: 587, tls: true, before: []string{"EHLO h.invalid"}, prefix: "AUTH PLAIN ", size: m1},
		{name: "AUTH LOGIN response 1M", port: 465, tls: true, before: []string{"EHLO h.invalid", "AUTH LOGIN"}, size: m1},
		{name: "no line end 4M", port: 587, prefix: "NOOP ", size: 4 * m1, noEOL: true},
		{name: "USER 64K", port: 110, prefix: "USER ", size: k64},
		{name: "PASS 1M", port: 995, tls: true, before: []string{"USER " + DemoUser}, prefix: "PASS ", size: m1},
		{name: "POP3 AUTH PLAIN 1M", port: 110, tls: true, prefix: "AUTH PLAIN ", size: m1},
		{name: "IMAP LOGIN atom 1M", port: 143, prefix: "h LOGIN ", size: m1},
		{name: "IMAP LOGIN literal 100M", port: 993, tls: true, prefix: "h LOGIN {104857600}\r\n", size: m1},
		{name: "IMAP AUTHENTICATE 1M", port: 993, tls: true, before: []string{"h AUTHENTICATE PLAIN"}, size: m1},
		{name: "HTTP header 1M", port: 443, tls: true, prefix: "GET / HTTP/1.1\r\nHost: " + Hostname + "\r\nX-Big: ", size: m1},
		// Messages of the largest size the lab takes, from a client that
		// knows the lab's password: the in-flight budget (msgbudget.go)
		// lets one at a time through per address.
		{name: "DATA 10M", port: 465, tls: true, message: true, size: 10_000_000, before: []string{
			"EHLO h.invalid", "AUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==",
			"MAIL FROM:<" + DemoUser + "@" + Hostname + ">", "RCPT TO:<" + DemoUser + "@" + Hostname + ">", "DATA"}},
		{name: "APPEND 10M", port: 993, tls: true, size: 10_000_000, before: []string{
			"h LOGIN " + DemoUser + " " + DemoPassword, "h APPEND Drafts {10000000}"}},
	}
}

// runHuge plays the huge-line cases in turn.
// The whole-message cases cost the most (10 MB through TLS each), so a
// worker of their own plays them, one every bigPause; the others play the
// line cases.
func (s *soak) runHuge(ctx context.Context, src net.IP, worker int, cases []hugeCase, pause time.Duration) {
	for i := worker; ctx.Err() == nil; i++ {
		hc := cases[i%len(cases)]
		c, done, err := s.dial(ctx, hugeLines, src, hc.port)
		if err == nil {
			c.k.outcome(hc.name + ": " + s.huge(c, hc))
			done()
		}
		pace(ctx, pause)
	}
}

func (s *soak) huge(c *hostileConn, hc hugeCase) string {
	if portProto(hc.port) != ProtoHTTPS && !implicitPort(hc.port) {
		if hc.tls {
			if !c.upgrade() {
				return "refused before TLS"
			}
		} else if _, ok := c.greet(); !ok {
			return "refused at greeting"
		}
	}
	if hc.tls {
		tc := tls.Client(c.Conn, s.tls)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return "handshake: " + errClass(err)
		}
		c.Conn, c.r = tc, bufio.NewReaderSize(tc, 4096)
		if implicitPort(hc.port) && hc.port != 443 {
			if g, err := c.line(5 * time.Second); err != nil || refusal(g) {
				return "refused at greeting"
			}
		}
	}
	for _, l := range hc.before {
		if _, err := c.Write([]byte(l + "\r\n")); err != nil {
			return "before: " + errClass(err)
		}
		if err := c.answer(); err != nil {
			return "before: " + errClass(err)
		}
	}
	line := hc.payload
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	// The lab may cut the client off mid-line: a write error is expected,
	// and what it said before that is still there to read.
	_, werr := c.Write(line)
	got := c.reply(3 * time.Second)
	if werr != nil && strings.HasPrefix(got, "closed") {
		return "cut off mid-line"
	}
	// One key for every queue ID and every APPENDUID.
	if i := strings.Index(got, "queued as "); i >= 0 {
		got = got[:i+len("queued as")] + " …"
	}
	if i := strings.Index(got, "[APPENDUID "); i >= 0 {
		got = got[:i] + "[APPENDUID …] APPEND completed"
	}
	return got
}

// runGarbage sends bytes that are not TLS where TLS is expected.
func (s *soak) runGarbage(ctx context.Context, src net.IP, worker int) {
	for i := worker; ctx.Err() == nil; i++ {
		port := soakPorts[i%len(soakPorts)]
		c, done, err := s.dial(ctx, tlsGarbage, src, port)
		if err != nil {
			pace(ctx, s.cfg.hostilePause)
			continue
		}
		if c.toTLSPoint() {
			var junk []byte
			switch (i / len(soakPorts)) % 4 {
			case 0: // random bytes
				junk = make([]byte, 512+mrand.IntN(4096))
				_, _ = rand.Read(junk)
			case 1: // a handshake record claiming 65535 bytes (RFC 8446 §5.1: at most 2^14)
				junk = append([]byte{22, 3, 3, 0xff, 0xff}, make([]byte, 4096)...)
			case 2: // application data before any handshake
				junk = append([]byte{23, 3, 3, 0, 32}, make([]byte, 32)...)
			case 3: // a ClientHello with its body scrambled
				junk = bytes.Clone(s.hellos[0])
				_, _ = rand.Read(junk[9:])
			}
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(junk); err != nil {
				c.k.outcome("write: " + errClass(err))
			} else {
				c.k.outcome(tlsAnswer(c.reply(3 * time.Second)))
			}
		}
		done()
		pace(ctx, s.cfg.hostilePause)
	}
}

// tlsAnswer names a TLS alert record in a reply classification instead of
// quoting its bytes.
func tlsAnswer(got string) string {
	if strings.HasPrefix(got, "answer: \x15") || strings.HasPrefix(got, "answer: .") {
		return "answer: a TLS record (alert)"
	}
	return got
}

// runVanish starts handshakes and disappears: part of a ClientHello, or
// all of it, then a close (FIN) or a reset (RST).
func (s *soak) runVanish(ctx context.Context, src net.IP, worker int) {
	for i := worker; ctx.Err() == nil; i++ {
		port := soakPorts[i%len(soakPorts)]
		c, done, err := s.dial(ctx, vanish, src, port)
		if err != nil {
			pace(ctx, s.cfg.hostilePause)
			continue
		}
		if c.toTLSPoint() {
			hello := s.hellos[i%len(s.hellos)]
			n := len(hello) // the whole ClientHello, then gone
			if i%3 != 0 {
				n = 1 + mrand.IntN(len(hello)-1)
			}
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write(hello[:n]); err != nil {
				c.k.outcome("write: " + errClass(err))
			} else if i%2 == 0 {
				c.reset()
				c.k.outcome("vanished (reset)")
			} else {
				c.k.outcome("vanished (close)")
			}
		}
		done()
		pace(ctx, s.cfg.hostilePause)
	}
}
