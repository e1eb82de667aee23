package lab

// Hostile servers: scripted mail servers on loopback that misbehave at one
// point of a session, so that mailwire's client side can be shown (and
// tested) to end every such session in bounded time, with a specific
// message, bounded memory and nothing unsanitized on the terminal.
//
// A HostileCase is data: the protocol it pretends to speak, the point of
// the session where it misbehaves and what it does there. One generic
// server plays every case: a small, well-behaved SMTP, POP3 or IMAP
// responder that, at the case's point, does the case's action instead of
// (or around) its normal reply. Adding a case is adding a row.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Points of a session where a hostile case misbehaves.
const (
	PointGreeting      = "greeting"       // the server's first reply
	PointCapabilities  = "capabilities"   // the first EHLO/CAPA/CAPABILITY reply, before TLS
	PointStartTLSReply = "starttls-reply" // the reply to STARTTLS/STLS
	PointHandshake     = "handshake"      // the TLS handshake (after STARTTLS, or first on an implicit port)
	PointAfterTLS      = "after-tls"      // the first reply inside TLS
	PointAuth          = "auth"           // the reply that ends AUTH (SMTP)
	PointData          = "data"           // the reply to DATA (SMTP)
	PointList          = "list"           // the reply to LIST (POP3)
	PointFetch         = "fetch"          // the reply that carries mail: RETR (POP3), FETCH (IMAP)
	PointResponse      = "response"       // the HTTP response (HTTPS)
)

// Protocols a hostile case speaks, as in sessions.Options.Proto.
const (
	hostileSMTP  = "smtp"
	hostilePOP3  = "pop3"
	hostileIMAP  = "imap"
	hostileHTTPS = "https"
)

// TLS modes of a hostile case, as in sessions.TLSMode.
const (
	hostileStartTLS = "starttls"
	hostileImplicit = "implicit"
	// hostileNone: the server offers STARTTLS, but the case is meant to
	// be dialled without TLS (its point comes before STARTTLS, and a
	// cleartext session keeps the volume out of TLS).
	hostileNone = "none"
)

// action is what a case does at its point.
type action int

const (
	actInject       action = iota + 1 // the normal reply with payload inserted into its first line
	actReplace                        // payload instead of the normal reply; then go on
	actReplaceClose                   // payload instead of the normal reply; then close
	actLongLine                       // a 1 MiB line instead of the reply
	actEndless                        // a multi-line reply that never ends
	actTrickle                        // from here on, every byte one per TrickleInterval
	actSilence                        // from here on, nothing at all
	actReset                          // a TCP reset instead of the reply (mid-handshake: after the first bytes of the ClientHello)
	actGarbage                        // handshake: payload instead of TLS, then silence
	actTLS                            // handshake: with the case's certificate and versions
	actTLSInstead                     // greeting: a TLS server waiting for a ClientHello on a STARTTLS port
	actCleartext                      // handshake on an implicit port: the cleartext greeting instead

	// The volume and explanation cases of issue 11 (hostile_volume.go).
	actReplaceHold      // payload instead of the normal reply; then silence
	actTinyRecords      // the case's big reply, each byte in a TLS record of its own
	actBigReply         // the case's big reply (size bytes), streamed
	actLiterals         // from here on, count untagged responses with size-byte literals before each completion (IMAP)
	actEndlessStream    // a reply that never ends, until the client leaves (IMAP untagged, POP3 LIST)
	actOversizeRecord   // handshake: a record declaring 65535 bytes (RFC 8446 §5.1 allows 2^14)
	actUnfinishedRecord // a TLS record header declaring 16384 bytes, 100 of them, then silence
	actTinyHandshake    // handshake (TLS 1.2): each handshake record split into one-byte records
	actRefusePipelining // a command with more input behind it: 500 and close (OpenSMTPD)
	actH2Pings          // HTTP/2: count PING frames before the response
	actH2EmptyData      // HTTP/2: the response's body as count empty DATA frames
	actH2Continuations  // HTTP/2: a header block of count CONTINUATION frames
)

// HostileCase is one misbehaving server.
type HostileCase struct {
	// Name is how `mailwire lab --hostile NAME` and the tests call it:
	// protocol-point-what, e.g. "smtp-greeting-osc52".
	Name string
	// Proto is smtp, pop3 or imap; TLS is starttls or implicit: how a
	// client should dial it (sessions.Options.Proto and TLSMode).
	Proto, TLS string
	// Point is where it misbehaves (PointGreeting, …).
	Point string
	// Does says what it does, in one line.
	Does string

	act     action
	payload string
	cert    certKind
	maxTLS  uint16 // 0: crypto/tls default
	minTLS  uint16
	// refuse: the replaced reply is a refusal (454 to STARTTLS, -ERR to
	// STLS, PREAUTH): the server does not go on as if it had accepted.
	refuse bool

	// ClientFlags are the flags `mailwire session` needs, besides the
	// protocol, TLS mode, CA and login, to reach the case's point: --fetch
	// for a mailbox read, --to for DATA, --tls-min for an old version, a
	// scenario.
	ClientFlags []string
	// size and count shape the volume cases: the bytes of the big reply,
	// of each literal; the literals, the frames.
	size  int64
	count int
	// alpn is what an HTTPS case's server accepts (RFC 7301): "h2" or
	// "http/1.1".
	alpn string
}

// Port returns the canonical port whose semantics the case pretends to
// have: 587, 110, 143 for STARTTLS; 465, 995, 993 for implicit TLS.
func (c HostileCase) Port() int {
	ports := map[string][2]int{hostileSMTP: {587, 465}, hostilePOP3: {110, 995}, hostileIMAP: {143, 993}, hostileHTTPS: {443, 443}}
	p := ports[c.Proto]
	if c.TLS == hostileImplicit {
		return p[1]
	}
	return p[0]
}

// Payloads injected into a line of a reply: what a terminal would act on if
// a client printed the peer's bytes as they came.
var hostilePayloads = []struct{ name, does, payload string }{
	{"osc52", "an OSC 52 clipboard write (ESC ] 52 ; c ; base64 BEL)", "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07"},
	{"title", "an OSC 0 window-title change", "\x1b]0;mailwire: all good\x07"},
	{"cursor", "cursor moves and erase-line (CSI A, CSI D, CSI K)", "\x1b[2A\x1b[40D\x1b[K250 fake"},
	{"clear", "a screen clear and cursor home (CSI 2J, CSI H)", "\x1b[2J\x1b[H\x1b[3J"},
	{"paste", "bracketed-paste markers around a command (CSI 200~ … CSI 201~)", "\x1b[200~rm -rf ~\x1b[201~"},
	{"c1", "C1 controls: U+009B (CSI) in UTF-8 and a raw 0x9b byte", "\u009b2J\u009d0;t\u009c \x9b31m"},
	{"bad-utf8", "invalid UTF-8 (0xff, an overlong, a lone surrogate)", "\xff\xfe \xc0\xaf \xed\xa0\x80 end"},
	{"nul-ctl", "NUL, BEL, BS, DEL, VT, FF and a bare CR", "a\x00b\x07c\x08d\x7fe\x0bf\x0cg\rh"},
}

// Behaviours that replace a reply.
var hostileBehaviours = []struct {
	name, does string
	act        action
}{
	{"long-line", "a 1 MiB line without a line end until the last byte", actLongLine},
	{"endless", "a multi-line reply that never ends", actEndless},
	{"trickle", "from here on one byte per second (HostileOptions.TrickleInterval)", actTrickle},
	{"silence", "nothing at all, the connection held open", actSilence},
	{"reset", "a TCP reset (RST) instead of the reply", actReset},
}

// HostileCases returns every case, sorted by name.
func HostileCases() []HostileCase {
	var cs []HostileCase
	add := func(c HostileCase) { cs = append(cs, c) }

	// The full matrix, for each protocol on its STARTTLS port: every
	// payload and every behaviour at each cleartext point and after TLS.
	for _, proto := range []string{hostileSMTP, hostilePOP3, hostileIMAP} {
		for _, pt := range []string{PointGreeting, PointCapabilities, PointStartTLSReply, PointAfterTLS} {
			for _, p := range hostilePayloads {
				add(HostileCase{Name: proto + "-" + pt + "-" + p.name, Proto: proto, TLS: hostileStartTLS, Point: pt,
					Does: p.does, act: actInject, payload: p.payload})
			}
			for _, b := range hostileBehaviours {
				add(HostileCase{Name: proto + "-" + pt + "-" + b.name, Proto: proto, TLS: hostileStartTLS, Point: pt,
					Does: b.does, act: b.act})
			}
		}
	}
	hs := func(name, does string, act action) HostileCase {
		return HostileCase{Name: "smtp-handshake-" + name, Proto: hostileSMTP, TLS: hostileStartTLS,
			Point: PointHandshake, Does: does, act: act}
	}
	withCert := func(c HostileCase, k certKind) HostileCase { c.cert = k; return c }
	add(hs("reset", "a TCP reset after the first bytes of the ClientHello", actReset))
	add(withCert(hs("silence", "reads the ClientHello and never answers", actSilence), certValid))
	add(hs("trickle", "a valid handshake sent one byte per second", actTrickle))
	c := hs("garbage", "cleartext and binary garbage instead of a ServerHello", actGarbage)
	c.payload = "220 this is not TLS \x1b]0;pwned\x07\r\n\x00\x01\x02\xff\xfe\r\n"
	add(c)
	c = hs("tls10-only", "accepts only TLS 1.0 (RFC 8996 deprecates it)", actTLS)
	c.cert, c.minTLS, c.maxTLS = certValid, tls.VersionTLS10, tls.VersionTLS10
	c.ClientFlags = []string{"--tls-min", "1.0"} // to negotiate it
	add(c)
	add(withCert(hs("expired", "a certificate that expired 30 days ago", actTLS), certExpired))
	add(withCert(hs("not-yet-valid", "a certificate valid only from 30 days from now", actTLS), certNotYetValid))
	add(withCert(hs("wrong-host", "a certificate for "+hostileWrongHost+" only", actTLS), certWrongHost))
	add(withCert(hs("self-signed", "a self-signed certificate", actTLS), certSelfSigned))
	add(withCert(hs("rsa-1024", "a certificate with a 1024-bit RSA key", actTLS), certRSA1024))
	add(withCert(hs("escapes", "escape sequences and C1 controls in the certificate subject", actTLS), certEscapes))
	add(withCert(hs("missing-intermediate", "a certificate from an intermediate CA, sent without that intermediate", actTLS), certMissingIntermediate))
	add(withCert(hs("sha1", "a certificate signed with SHA-1 (ECDSA-SHA1)", actTLS), certSHA1))
	add(withCert(hs("ct", "a valid certificate with two embedded SCTs from made-up Certificate Transparency logs", actTLS), certCT))

	add(HostileCase{Name: "smtp-greeting-tls-instead", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointGreeting,
		Does: "speaks TLS on a STARTTLS port: waits for a ClientHello instead of greeting", act: actTLSInstead, cert: certValid})
	add(HostileCase{Name: "smtps-handshake-cleartext", Proto: hostileSMTP, TLS: hostileImplicit, Point: PointHandshake,
		Does: "greets in cleartext on an implicit-TLS port (465)", act: actCleartext})
	add(HostileCase{Name: "smtps-greeting-osc52", Proto: hostileSMTP, TLS: hostileImplicit, Point: PointAfterTLS,
		Does: hostilePayloads[0].does + ", inside implicit TLS", act: actInject, payload: hostilePayloads[0].payload})
	add(HostileCase{Name: "smtp-greeting-421", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointGreeting,
		Does: "greets with 421 and closes (RFC 5321 §3.8)", act: actReplaceClose,
		payload: "421 4.3.2 hostile.lab.test Service not available, closing transmission channel\r\n"})
	add(HostileCase{Name: "smtp-greeting-554-escapes", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointGreeting,
		Does: "refuses with 554 whose text carries an OSC 52 write and a screen clear, then closes", act: actReplaceClose,
		payload: "554 5.3.2 \x1b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\x07\x1b[2J no service for you\r\n"})
	add(HostileCase{Name: "smtp-starttls-reply-454", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointStartTLSReply,
		Does: "answers STARTTLS with 454 (RFC 3207 §4)", act: actReplace,
		payload: "454 4.7.0 TLS not available due to temporary reason\r\n", refuse: true})
	add(HostileCase{Name: "smtp-starttls-reply-injection", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointStartTLSReply,
		Does: "pipelines a fake EHLO reply after \"220 Ready\" (response injection, RFC 3207 §4.2)", act: actReplace,
		payload: "220 2.0.0 Ready to start TLS\r\n250-injected.example\r\n250 AUTH PLAIN LOGIN\r\n"})
	add(HostileCase{Name: "smtp-capabilities-no-starttls", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointCapabilities,
		Does: "leaves STARTTLS out of the EHLO reply (a stripping attack)", act: actReplace,
		payload: "250-hostile.lab.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"})

	// POP3 on 110 and 995.
	add(HostileCase{Name: "pop3-greeting-err", Proto: hostilePOP3, TLS: hostileStartTLS, Point: PointGreeting,
		Does: "greets with -ERR and closes", act: actReplaceClose, payload: "-ERR [SYS/TEMP] hostile server unavailable\r\n"})
	add(HostileCase{Name: "pop3-starttls-reply-err", Proto: hostilePOP3, TLS: hostileStartTLS, Point: PointStartTLSReply,
		Does: "answers STLS with -ERR", act: actReplace, payload: "-ERR TLS not available right now\r\n", refuse: true})
	add(HostileCase{Name: "pop3-starttls-reply-injection", Proto: hostilePOP3, TLS: hostileStartTLS, Point: PointStartTLSReply,
		Does: "pipelines a fake CAPA response after \"+OK Begin TLS\"", act: actReplace,
		payload: "+OK Begin TLS negotiation\r\n+OK injected\r\nUSER\r\n.\r\n"})
	add(HostileCase{Name: "pop3s-handshake-cleartext", Proto: hostilePOP3, TLS: hostileImplicit, Point: PointHandshake,
		Does: "greets in cleartext on an implicit-TLS port (995)", act: actCleartext})

	// IMAP on 143 and 993.
	add(HostileCase{Name: "imap-greeting-bye", Proto: hostileIMAP, TLS: hostileStartTLS, Point: PointGreeting,
		Does: "greets with * BYE and closes (RFC 9051 §7.1.5)", act: actReplaceClose,
		payload: "* BYE [UNAVAILABLE] hostile server shutting down\r\n"})
	add(HostileCase{Name: "imap-capabilities-bye", Proto: hostileIMAP, TLS: hostileStartTLS, Point: PointCapabilities,
		Does: "answers CAPABILITY with * BYE and closes", act: actReplaceClose, payload: "* BYE going away now\r\n"})
	add(HostileCase{Name: "imap-greeting-preauth", Proto: hostileIMAP, TLS: hostileStartTLS, Point: PointGreeting,
		Does: "greets with PREAUTH in cleartext, so STARTTLS is impossible (CVE-2020-12398)", act: actReplace,
		payload: "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in as learner without a password\r\n", refuse: true})
	add(HostileCase{Name: "imap-starttls-reply-injection", Proto: hostileIMAP, TLS: hostileStartTLS, Point: PointStartTLSReply,
		Does: "pipelines a fake CAPABILITY after \"OK Begin TLS\"", act: actReplace,
		payload: "{tag} OK Begin TLS negotiation now\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n"})
	add(HostileCase{Name: "imaps-handshake-cleartext", Proto: hostileIMAP, TLS: hostileImplicit, Point: PointHandshake,
		Does: "greets in cleartext on an implicit-TLS port (993)", act: actCleartext})

	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// AllHostileCases returns HostileCases and HostileSweepCases, sorted by
// name.
func AllHostileCases() []HostileCase {
	cs := append(HostileCases(), HostileSweepCases()...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// HostileCaseByName returns the case called name.
func HostileCaseByName(name string) (HostileCase, bool) {
	for _, c := range AllHostileCases() {
		if c.Name == name {
			return c, true
		}
	}
	return HostileCase{}, false
}

// Bounds of a hostile server: it must never outlive its use, however a
// client behaves.
const (
	hostileLineMax     = 4096     // a client command line
	hostileDataMax     = 1 << 20  // a DATA body, read and dropped
	hostileLongLine    = 1 << 20  // the long-line case
	hostileEndlessMax  = 64 << 20 // the endless case stops after this much
	hostileGreetingTag = "*"
)

// HostileOptions bound a hostile server. The zero value is usable.
type HostileOptions struct {
	// ListenHost is the address to listen on; "" is 127.0.0.1. Port 0:
	// the system picks one.
	ListenHost string
	Port       int
	// MaxConns is how many connections the server plays before it stops
	// itself (default 16).
	MaxConns int
	// Lifetime is how long the server runs at most (default 30 minutes).
	Lifetime time.Duration
	// ConnTimeout bounds each connection (default 3 minutes, longer than
	// mailwire's default session time limit, so the client is the side
	// that gives up).
	ConnTimeout time.Duration
	// TrickleInterval is the pause between bytes of the trickle cases
	// (default 1s).
	TrickleInterval time.Duration
	// Logf, if set, is told about each connection. It must not block.
	Logf func(format string, args ...any)
}

func (o HostileOptions) withDefaults() HostileOptions {
	if o.ListenHost == "" {
		o.ListenHost = "127.0.0.1"
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 16
	}
	if o.Lifetime <= 0 {
		o.Lifetime = 30 * time.Minute
	}
	if o.ConnTimeout <= 0 {
		o.ConnTimeout = 3 * time.Minute
	}
	if o.TrickleInterval <= 0 {
		o.TrickleInterval = time.Second
	}
	return o
}

// HostileServer plays one HostileCase on a loopback listener.
type HostileServer struct {
	c     HostileCase
	opts  HostileOptions
	ln    net.Listener
	ca    *authority
	valid tls.Certificate // the well-behaved certificate
	odd   tls.Certificate // the case's certificate, when it has one

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan struct{}

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	played int
}

// StartHostile starts the server of the case called name. It stops by
// itself after MaxConns connections or Lifetime, or when ctx ends or Close
// is called.
func StartHostile(ctx context.Context, name string, opts HostileOptions) (*HostileServer, error) {
	c, ok := HostileCaseByName(name)
	if !ok {
		return nil, fmt.Errorf("hostile case %q: no such case (mailwire lab --hostile list)", name)
	}
	return startHostileCase(ctx, c, opts)
}

// startHostileCase starts a server playing c (the tests shrink the volume
// cases' sizes with it).
func startHostileCase(ctx context.Context, c HostileCase, opts HostileOptions) (*HostileServer, error) {
	name := c.Name
	opts = opts.withDefaults()
	ca, err := newHostileCA()
	if err != nil {
		return nil, err
	}
	s := &HostileServer{c: c, opts: opts, ca: ca, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	if s.valid, err = ca.issueHostileCert(certValid); err != nil {
		return nil, err
	}
	if c.cert != "" && c.cert != certValid {
		if s.odd, err = ca.issueHostileCert(c.cert); err != nil {
			return nil, err
		}
	}
	addr := net.JoinHostPort(opts.ListenHost, strconv.Itoa(opts.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hostile case %s: listen on %s: %w", name, addr, err)
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithTimeout(ctx, opts.Lifetime)
	stop := context.AfterFunc(s.ctx, func() { s.shutdown() })
	s.wg.Add(1)
	go s.accept()
	go func() {
		s.wg.Wait()
		stop()
		s.cancel()
		close(s.done)
	}()
	return s, nil
}

// Case returns the case the server plays.
func (s *HostileServer) Case() HostileCase { return s.c }

// Addr returns the address the server listens on.
func (s *HostileServer) Addr() string { return s.ln.Addr().String() }

// RootCAs returns a pool with the server's throwaway CA: trusting it makes
// the certificate cases fail for their own reason only.
func (s *HostileServer) RootCAs() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.ca.cert)
	return p
}

// CACertPEM returns the throwaway CA's certificate.
func (s *HostileServer) CACertPEM() []byte { return bytes.Clone(s.ca.certPEM) }

// Done is closed once the server has stopped and every connection ended.
func (s *HostileServer) Done() <-chan struct{} { return s.done }

// Played returns how many connections the server accepted.
func (s *HostileServer) Played() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.played
}

// Close stops the server, ends every connection and waits for them.
func (s *HostileServer) Close() error {
	s.cancel()
	<-s.done
	return nil
}

func (s *HostileServer) shutdown() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

func (s *HostileServer) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf(format, args...)
	}
}

func (s *HostileServer) accept() {
	defer s.wg.Done()
	defer s.ln.Close()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return // closed by shutdown, or the listener failed
		}
		s.mu.Lock()
		if s.ctx.Err() != nil {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.played++
		n := s.played
		s.conns[conn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.logf("connection %d from %s: playing %s", n, conn.RemoteAddr(), s.c.Name)
		go func() {
			defer s.wg.Done()
			err := s.play(conn)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
			if err != nil && !errors.Is(err, errHangUp) {
				s.logf("connection %d ended: %v", n, err)
			} else {
				s.logf("connection %d ended", n)
			}
		}()
		if n >= s.opts.MaxConns {
			s.logf("played %d connections: stopping", n)
			return
		}
	}
}

// errHangUp ends a connection on purpose.
var errHangUp = errors.New("hung up")

// hconn is one connection being played.
type hconn struct {
	s    *HostileServer
	c    HostileCase
	raw  *switchConn
	conn net.Conn // raw, or the tls.Conn on top of it
	w    io.Writer
	r    *bufio.Reader
	tag  string // the tag of the IMAP command being answered

	tls          bool
	fired        bool // the case's point came and went
	capsSeen     bool // EHLO, CAPA or CAPABILITY was answered once
	tlsReplySeen bool // the first reply inside TLS was written
	literalsOn   bool // actLiterals: every completion from now on comes after the literals
}

func (s *HostileServer) play(raw net.Conn) error {
	_ = raw.SetDeadline(time.Now().Add(s.opts.ConnTimeout))
	sc := &switchConn{Conn: raw}
	h := &hconn{s: s, c: s.c, raw: sc, conn: sc, w: sc, r: bufio.NewReaderSize(sc, 4096), tag: hostileGreetingTag}
	if h.c.TLS == hostileImplicit {
		if err := h.startTLS(); err != nil {
			return err
		}
	}
	switch h.c.Proto {
	case hostilePOP3:
		return h.pop3()
	case hostileIMAP:
		return h.imap()
	case hostileHTTPS:
		return h.https()
	}
	return h.smtp()
}

// reply writes the normal reply for point, unless the case acts there.
func (h *hconn) reply(point, normal string) error {
	if h.tls && !h.tlsReplySeen {
		h.tlsReplySeen = true
		if h.c.Point == PointAfterTLS {
			point = PointAfterTLS
		}
	}
	normal = strings.ReplaceAll(normal, "{tag}", h.tag)
	if !h.fired && point == h.c.Point && h.c.act == actLiterals {
		h.literalsOn = true
	}
	if h.literalsOn && point != PointStartTLSReply {
		// Every command's answer but STARTTLS's (which must be the last
		// bytes before the handshake, RFC 9051 §6.2.1).
		if err := h.flood(false, h.literals); err != nil {
			return err
		}
	}
	if h.fired || point != h.c.Point {
		return h.write(normal)
	}
	h.fired = true
	return h.act(normal)
}

// refused says whether the case just refused at point instead of the
// normal reply.
func (h *hconn) refused(point string) bool { return h.fired && h.c.Point == point && h.c.refuse }

func (h *hconn) write(s string) error {
	_, err := io.WriteString(h.w, s)
	return err
}

// act does the case's action in place of the normal reply.
func (h *hconn) act(normal string) error {
	switch h.c.act {
	case actInject:
		// Into the first line's text, just before its CRLF: a place where
		// every protocol allows free text (RFC 5321 §4.2, RFC 1939 §3,
		// RFC 9051 §7.1's resp-text).
		i := strings.Index(normal, "\r\n")
		if i < 0 {
			i = len(normal)
		}
		return h.write(normal[:i] + " " + h.c.payload + normal[i:])
	case actReplace:
		return h.write(strings.ReplaceAll(h.c.payload, "{tag}", h.tag))
	case actReplaceClose:
		if err := h.write(strings.ReplaceAll(h.c.payload, "{tag}", h.tag)); err != nil {
			return err
		}
		return errHangUp
	case actLongLine:
		return h.longLine(normal)
	case actEndless:
		return h.endless(normal)
	case actTrickle:
		h.startTrickle()
		return h.write(normal)
	case actSilence:
		return h.silence()
	case actReset:
		return h.reset()
	case actReplaceHold:
		if err := h.write(strings.ReplaceAll(h.c.payload, "{tag}", h.tag)); err != nil {
			return err
		}
		return h.silence()
	case actTinyRecords:
		return h.flood(true, h.bigReply(normal))
	case actBigReply:
		return h.flood(false, h.bigReply(normal))
	case actLiterals:
		h.literalsOn = true
		return h.write(normal) // reply puts the literals before it
	case actEndlessStream:
		return h.endlessStream(normal)
	case actUnfinishedRecord:
		return h.unfinishedRecord()
	}
	return fmt.Errorf("hostile case %s: action %d does nothing at %s", h.c.Name, h.c.act, h.c.Point)
}

// statusPrefix is the start of a line of the normal reply that the long
// and endless lines keep, so the client reads them as what it waits for.
func (h *hconn) statusPrefix(normal string) string {
	switch h.c.Proto {
	case hostilePOP3:
		return "+OK "
	case hostileIMAP:
		return "* OK "
	}
	if len(normal) >= 3 {
		return normal[:3] + " "
	}
	return "250 "
}

func (h *hconn) longLine(normal string) error {
	if err := h.write(h.statusPrefix(normal)); err != nil {
		return err
	}
	chunk := bytes.Repeat([]byte("A"), 32<<10)
	for sent := 0; sent < hostileLongLine; sent += len(chunk) {
		if _, err := h.w.Write(chunk); err != nil {
			return err
		}
	}
	if err := h.write("\r\n"); err != nil {
		return err
	}
	return h.silence()
}

func (h *hconn) endless(normal string) error {
	var first, line string
	switch h.c.Proto {
	case hostileSMTP:
		// RFC 5321 §4.2.1: "NNN-" continues a reply, for ever here.
		line = h.statusPrefix(normal)[:3] + "-endless multi-line reply, it goes on and on\r\n"
	case hostilePOP3:
		// A multi-line response ends with a lone "." (RFC 1939 §3); this
		// one never does.
		first, _, _ = strings.Cut(normal, "\r\n")
		first += "\r\n"
		line = "ENDLESS-CAPABILITY it goes on and on\r\n"
	case hostileIMAP:
		line = "* OK endless untagged response, it goes on and on\r\n"
	}
	buf := bytes.Repeat([]byte(line), (32<<10)/len(line))
	if err := h.write(first); err != nil {
		return err
	}
	for sent := 0; sent < hostileEndlessMax; sent += len(buf) {
		if _, err := h.w.Write(buf); err != nil {
			return err
		}
	}
	return h.silence()
}

// startTrickle makes every later write go out one byte per interval, at
// the bottom of the stack, so a TLS handshake or TLS records trickle too.
func (h *hconn) startTrickle() {
	h.raw.setTrickle(&byteWriter{w: h.raw.Conn, every: h.s.opts.TrickleInterval, done: h.s.ctx.Done()})
}

// silence reads and drops whatever comes until the client closes, the
// connection times out or the server stops.
func (h *hconn) silence() error {
	_, err := io.Copy(io.Discard, h.raw)
	if err == nil {
		return errHangUp
	}
	return err
}

// reset aborts the connection with a TCP RST: SO_LINGER 0 makes close
// discard the send queue and reset (RFC 9293 §3.6.1 "abort").
func (h *hconn) reset() error {
	if tc, ok := h.raw.Conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	h.raw.Close()
	return errHangUp
}

// readLine reads one client line, at most hostileLineMax bytes.
func (h *hconn) readLine() (string, error) {
	line, err := readLimitedLine(h.r, hostileLineMax)
	if errors.Is(err, errLineTooLong) {
		return "", fmt.Errorf("client line over %d bytes", hostileLineMax)
	}
	return line, err
}

// startTLS runs the server side of the handshake, or the case's action at
// the handshake point.
func (h *hconn) startTLS() error {
	cert := h.s.valid
	cfg := &tls.Config{}
	if !h.fired && h.c.Point == PointHandshake {
		h.fired = true
		switch h.c.act {
		case actReset:
			// Mid-handshake: after the first bytes of the ClientHello.
			var b [5]byte
			if _, err := io.ReadFull(h.r, b[:]); err != nil {
				return err
			}
			return h.reset()
		case actGarbage:
			// In answer to the ClientHello, so the client cannot take the
			// garbage for bytes pipelined after the STARTTLS reply.
			var b [5]byte
			if _, err := io.ReadFull(h.r, b[:]); err != nil {
				return err
			}
			if err := h.write(h.c.payload); err != nil {
				return err
			}
			return h.silence()
		case actSilence:
			return h.silence()
		case actTrickle:
			h.startTrickle()
		case actCleartext:
			// The port is implicit TLS, but the server greets in cleartext,
			// as a STARTTLS port would (RFC 8314 §3).
			if err := h.write(h.cleartextGreeting()); err != nil {
				return err
			}
			return h.silence()
		case actOversizeRecord:
			return h.oversizeRecord()
		case actTinyHandshake:
			h.raw.setSplit(&recordSplitter{})
			defer h.raw.setSplit(nil)
			fallthrough
		case actTLS:
			if h.c.cert != certValid && h.c.cert != "" {
				cert = h.s.odd
			}
			cfg.MinVersion, cfg.MaxVersion = h.c.minTLS, h.c.maxTLS
		}
	}
	cfg.Certificates = []tls.Certificate{cert}
	if h.c.Proto == hostileHTTPS {
		cfg.NextProtos = []string{h.c.alpn}
	}
	// Bytes the bufio reader already holds belong to the handshake.
	tc := tls.Server(&prefixConn{Conn: h.raw, r: io.MultiReader(bytes.NewReader(bufferedBytes(h.r)), h.raw)}, cfg)
	if err := tc.HandshakeContext(h.s.ctx); err != nil {
		return fmt.Errorf("tls handshake: %w", err)
	}
	h.tls = true
	h.conn, h.w = tc, tc
	h.r = bufio.NewReaderSize(tc, 4096)
	return nil
}

func (h *hconn) cleartextGreeting() string {
	switch h.c.Proto {
	case hostilePOP3:
		return "+OK hostile POP3 server ready\r\n"
	case hostileIMAP:
		return "* OK hostile IMAP server ready\r\n"
	}
	return "220 hostile.lab.test ESMTP hostile server ready\r\n"
}

// command reads the client's next SMTP or POP3 command line and its verb,
// the first word upper-cased (RFC 5321 §2.4, RFC 1939 §3). IMAP's lines
// start with a tag, which imap cuts off first.
func (h *hconn) command() (line, verb string, err error) {
	if line, err = h.readLine(); err != nil {
		return "", "", err
	}
	verb, _, _ = strings.Cut(strings.ToUpper(line), " ")
	return line, verb, nil
}

// capabilities answers EHLO, CAPA or CAPABILITY with head, the STARTTLS
// (STLS) offer and tail; the offer only in cleartext (a server inside TLS
// no longer offers it, RFC 3207 §4.2). The case's capabilities point is
// the first such answer before TLS.
func (h *hconn) capabilities(head, starttls, tail string) error {
	point := ""
	if !h.tls && !h.capsSeen {
		point = PointCapabilities
	}
	h.capsSeen = true
	if h.tls {
		starttls = ""
	}
	return h.reply(point, head+starttls+tail)
}

// startTLSReply answers STARTTLS (STLS) with normal and runs the
// handshake, unless the case refused there instead (454, -ERR, a 250):
// then the session stays in cleartext and the next command comes.
func (h *hconn) startTLSReply(normal string) error {
	if err := h.reply(PointStartTLSReply, normal); err != nil {
		return err
	}
	if h.refused(PointStartTLSReply) {
		return nil
	}
	return h.startTLS()
}

// smtp plays a small SMTP server (RFC 5321, RFC 3207, RFC 4954) that
// accepts everything and keeps nothing. It is not the lab's other scripted
// SMTP server (vulnerable.go's), which follows a port's policy, checks the
// demo account and delivers to the store: a hostile case must reach its
// point whatever the client sends, so nothing here refuses or keeps.
func (h *hconn) smtp() error {
	if h.c.act == actTLSInstead && h.c.Point == PointGreeting {
		h.fired = true
		return h.startTLS() // waits for a ClientHello that never comes
	}
	if err := h.reply(PointGreeting, h.cleartextGreeting()); err != nil {
		return err
	}
	for {
		line, verb, err := h.command()
		if err != nil {
			return err
		}
		if h.c.act == actRefusePipelining && h.r.Buffered() > 0 {
			return h.refusePipelining()
		}
		switch verb {
		case "EHLO", "HELO":
			err = h.capabilities("250-hostile.lab.test greets you\r\n", "250-STARTTLS\r\n", "250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
		case "STARTTLS":
			err = h.startTLSReply("220 2.0.0 Ready to start TLS\r\n")
		case "AUTH":
			if strings.EqualFold(strings.TrimSpace(line), "AUTH LOGIN") {
				for _, prompt := range []string{"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n"} {
					if err = h.write(prompt); err != nil {
						return err
					}
					if _, err = h.readLine(); err != nil {
						return err
					}
				}
			}
			err = h.reply(PointAuth, "235 2.7.0 Authentication successful\r\n")
		case "DATA":
			if err = h.reply(PointData, "354 End data with <CR><LF>.<CR><LF>\r\n"); err != nil {
				return err
			}
			if h.refused(PointData) {
				continue // no 354: what follows are commands again
			}
			if err = h.readData(); err != nil {
				return err
			}
			err = h.write("250 2.0.0 Dropped: a hostile server keeps nothing\r\n")
		case "QUIT":
			_ = h.write("221 2.0.0 Bye\r\n")
			return errHangUp
		case "MAIL", "RCPT", "RSET", "NOOP":
			err = h.write("250 2.0.0 OK\r\n")
		default:
			err = h.write("502 5.5.2 Command not recognized\r\n")
		}
		if err != nil {
			return err
		}
	}
}

// readData drops a DATA body up to the lone "." (RFC 5321 §4.5.2).
func (h *hconn) readData() error {
	for n := 0; n < hostileDataMax; {
		line, err := h.readLine()
		if err != nil {
			return err
		}
		if line == "." {
			return nil
		}
		n += len(line) + 2
	}
	return fmt.Errorf("DATA over %d bytes", hostileDataMax)
}

// pop3 plays a small POP3 server (RFC 1939, RFC 2449, RFC 2595) with an
// empty maildrop.
func (h *hconn) pop3() error {
	if err := h.reply(PointGreeting, h.cleartextGreeting()); err != nil {
		return err
	}
	for {
		_, verb, err := h.command()
		if err != nil {
			return err
		}
		switch verb {
		case "CAPA":
			err = h.capabilities("+OK Capability list follows\r\nUSER\r\n", "STLS\r\n", "UIDL\r\n.\r\n")
		case "STLS":
			err = h.startTLSReply("+OK Begin TLS negotiation\r\n")
		case "USER", "PASS":
			err = h.write("+OK\r\n")
		case "STAT":
			err = h.write(fmt.Sprintf("+OK %d %d\r\n", h.messages(), h.messageSize()))
		case "LIST":
			if h.messages() == 0 {
				err = h.reply(PointList, "+OK 0 messages\r\n.\r\n")
			} else {
				err = h.reply(PointList, fmt.Sprintf("+OK 1 messages\r\n1 %d\r\n.\r\n", h.messageSize()))
			}
		case "RETR":
			if h.messages() == 0 {
				err = h.write("-ERR no such message\r\n")
			} else {
				err = h.reply(PointFetch, "+OK message follows\r\n"+hostileMessage+".\r\n")
			}
		case "QUIT":
			_ = h.write("+OK Bye\r\n")
			return errHangUp
		default:
			err = h.write("-ERR unknown command\r\n")
		}
		if err != nil {
			return err
		}
	}
}

// imap plays a small IMAP server (RFC 9051) with an empty INBOX.
func (h *hconn) imap() error {
	if err := h.reply(PointGreeting, "* OK hostile IMAP server ready\r\n"); err != nil {
		return err
	}
	if h.refused(PointGreeting) {
		// A client that requires TLS closes now (RFC 9051 §6.2.1).
		return h.silence()
	}
	for {
		line, err := h.readLine()
		if err != nil {
			return err
		}
		tag, rest, _ := strings.Cut(line, " ")
		h.tag = tag
		verb, _, _ := strings.Cut(strings.ToUpper(rest), " ")
		switch verb {
		case "CAPABILITY":
			err = h.capabilities("* CAPABILITY IMAP4rev1", " STARTTLS LOGINDISABLED", " AUTH=PLAIN\r\n{tag} OK CAPABILITY completed\r\n")
		case "STARTTLS":
			err = h.startTLSReply("{tag} OK Begin TLS negotiation now\r\n")
		case "LOGIN":
			err = h.reply("", "{tag} OK LOGIN completed\r\n")
		case "SELECT":
			err = h.reply("", fmt.Sprintf("* %d EXISTS\r\n* FLAGS (\\Seen)\r\n{tag} OK [READ-WRITE] SELECT completed\r\n", h.messages()))
		case "FETCH":
			// The envelope of the one message (RFC 9051 §7.5.2).
			err = h.reply(PointFetch, "* 1 FETCH (ENVELOPE ("+imapEnvelopeDate+" \"hostile\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\n{tag} OK FETCH completed\r\n")
		case "LOGOUT":
			_ = h.reply("", "* BYE logging out\r\n{tag} OK LOGOUT completed\r\n")
			return errHangUp
		default:
			err = h.reply("", "{tag} BAD unknown command\r\n")
		}
		if err != nil {
			return err
		}
	}
}

// byteWriter writes each byte in a Write of its own: under a tls.Conn
// each becomes a TLS record of its own (the tiny-record floods). With
// every set it pauses that long after each byte, until done (the trickle
// cases: one byte per interval).
type byteWriter struct {
	w     io.Writer
	every time.Duration
	done  <-chan struct{}
}

func (t *byteWriter) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := t.w.Write(p[i : i+1]); err != nil {
			return i, err
		}
		if t.every <= 0 {
			continue
		}
		select {
		case <-time.After(t.every):
		case <-t.done:
			return i + 1, errors.New("server stopped")
		}
	}
	return len(p), nil
}

// switchConn is the accepted connection, whose writes can be made to
// trickle, gather in a buffer (a flood) or have their TLS records split,
// at any point of the session. mu serializes writes: an HTTP/2 case reads
// the TLS connection in another goroutine, and a read may write (an alert).
type switchConn struct {
	net.Conn
	mu    sync.Mutex
	tw    *byteWriter
	buf   *bufio.Writer
	split *recordSplitter
}

func (c *switchConn) setTrickle(tw *byteWriter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tw = tw
}

func (c *switchConn) setSplit(s *recordSplitter) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.split = s
}

// startBuffer gathers the writes that follow in a buffer, written out
// when full and by stopBuffer.
func (c *switchConn) startBuffer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = bufio.NewWriterSize(c.Conn, 64<<10)
}

func (c *switchConn) stopBuffer() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf == nil {
		return nil
	}
	err := c.buf.Flush()
	c.buf = nil
	return err
}

func (c *switchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.split != nil {
		return c.split.write(p, c.out)
	}
	return c.out(p)
}

func (c *switchConn) out(p []byte) (int, error) {
	switch {
	case c.buf != nil:
		return c.buf.Write(p)
	case c.tw != nil:
		return c.tw.Write(p)
	}
	return c.Conn.Write(p)
}

// prefixConn reads from r (bytes already buffered, then the connection).
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (c *prefixConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// HostileCaseList formats the cases one per line: name, protocol/TLS,
// point, what it does.
func HostileCaseList() string {
	var b strings.Builder
	for _, c := range AllHostileCases() {
		fmt.Fprintf(&b, "%-40s %-5s %-8s %-14s %s\n", c.Name, c.Proto, c.TLS, c.Point, c.Does)
	}
	return b.String()
}
