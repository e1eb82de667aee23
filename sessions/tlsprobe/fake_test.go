package tlsprobe

import (
	"bufio"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// fakeServer answers ClientHellos by a policy written in the test, so
// that the strategy can be checked against servers crypto/tls cannot play:
// one that follows the client's order, one that accepts anonymous suites,
// one that closes instead of alerting, one that lies.
type fakeServer struct {
	t  *testing.T
	ln net.Listener
	// accepts: per version, the suites accepted, in the server's order.
	accepts map[uint16][]uint16
	// clientOrder: take the client's first acceptable suite.
	clientOrder bool
	// chachaFirst: with server order, a client that lists ChaCha20
	// first gets it (OpenSSL's SSL_OP_PRIORITIZE_CHACHA).
	chachaFirst bool
	// lastOffered: take the last acceptable suite the client offered.
	lastOffered bool
	// closeToRefuse: close without an alert, as Dovecot does.
	closeToRefuse bool
	// sticky: once a suite was chosen, choose it again even when it is
	// not offered (a broken server).
	sticky atomic.Uint32
	lies   bool
	// silent: read the hello and never answer.
	silent bool
	// preamble runs before the hello (a STARTTLS dialogue); false ends
	// the connection.
	preamble func(c net.Conn, r *bufio.Reader) bool
	cert     []byte
	// busy turns away that many connections first, each with busyLine
	// written as the first bytes and a close (Exim past smtp_accept_max).
	busy     atomic.Int64
	busyLine string

	conns, open, maxOpen atomic.Int64
	wg                   sync.WaitGroup
}

func newFakeServer(t *testing.T, f *fakeServer) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.t, f.ln = t, ln
	if f.cert == nil {
		f.cert = testCert(t).Certificate[0]
	}
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeServer) addr() string { return f.ln.Addr().String() }

func (f *fakeServer) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.conns.Add(1)
		n := f.open.Add(1)
		for {
			m := f.maxOpen.Load()
			if n <= m || f.maxOpen.CompareAndSwap(m, n) {
				break
			}
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer f.open.Add(-1)
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			f.handle(c)
		}()
	}
}

// clientHello is what the fake server reads from a hello.
type clientHello struct {
	legacy   uint16
	suites   []uint16
	versions []uint16 // supported_versions
	alpn     []string
}

func readClientHello(r io.Reader) (*clientHello, bool) {
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(r, hdr); err != nil || hdr[0] != dissect.RecordHandshake {
		return nil, false
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, false
	}
	s := cryptobyte.String(body)
	var typ uint8
	var msg, sid, suites, comp, exts cryptobyte.String
	ch := &clientHello{}
	if !s.ReadUint8(&typ) || !s.ReadUint24LengthPrefixed(&msg) || !msg.ReadUint16(&ch.legacy) || !msg.Skip(32) ||
		!msg.ReadUint8LengthPrefixed(&sid) || !msg.ReadUint16LengthPrefixed(&suites) || !msg.ReadUint8LengthPrefixed(&comp) {
		return nil, false
	}
	for !suites.Empty() {
		var id uint16
		suites.ReadUint16(&id)
		ch.suites = append(ch.suites, id)
	}
	if msg.ReadUint16LengthPrefixed(&exts) {
		for !exts.Empty() {
			var id uint16
			var data cryptobyte.String
			if !exts.ReadUint16(&id) || !exts.ReadUint16LengthPrefixed(&data) {
				return nil, false
			}
			switch id {
			case tlsmsg.ExtSupportedVersions:
				var list cryptobyte.String
				data.ReadUint8LengthPrefixed(&list)
				for !list.Empty() {
					var v uint16
					list.ReadUint16(&v)
					ch.versions = append(ch.versions, v)
				}
			case tlsmsg.ExtALPN:
				var list cryptobyte.String
				data.ReadUint16LengthPrefixed(&list)
				for !list.Empty() {
					var p cryptobyte.String
					list.ReadUint8LengthPrefixed(&p)
					ch.alpn = append(ch.alpn, string(p))
				}
			}
		}
	}
	return ch, true
}

func (f *fakeServer) handle(c net.Conn) {
	if f.busy.Add(-1) >= 0 {
		c.Write([]byte(f.busyLine))
		return
	}
	br := bufio.NewReader(c)
	if f.preamble != nil && !f.preamble(c, br) {
		return
	}
	ch, ok := readClientHello(br)
	if !ok {
		return
	}
	if f.silent {
		io.Copy(io.Discard, br)
		return
	}
	// The version: TLS 1.3 through supported_versions, else the highest
	// the server has at or below legacy_version (RFC 5246 §E.1).
	var v uint16
	if slices.Contains(ch.versions, VersionTLS13) {
		if _, ok := f.accepts[VersionTLS13]; ok {
			v = VersionTLS13
		}
	} else {
		for cand := range f.accepts {
			if cand <= ch.legacy && cand > v && cand != VersionTLS13 {
				v = cand
			}
		}
	}
	if v == 0 {
		f.refuse(c, 70) // protocol_version
		return
	}
	suite := f.choose(f.accepts[v], ch.suites)
	if suite == 0 {
		f.refuse(c, 40) // handshake_failure
		return
	}
	if f.lies {
		if s := f.sticky.Load(); s != 0 {
			suite = uint16(s)
		}
		f.sticky.Store(uint32(suite))
	}
	var exts []ext
	legacy := v
	if v == VersionTLS13 {
		legacy = VersionTLS12
		exts = append(exts, ext{tlsmsg.ExtSupportedVersions, u16(VersionTLS13)}, ext{tlsmsg.ExtKeyShare, append(u16(29), append(u16(32), make([]byte, 32)...)...)})
	}
	msgs := handshakeMsg(tlsmsg.TypeServerHello, serverHelloBody(legacy, suite, nil, exts...))
	if v <= VersionTLS12 {
		if info, _ := Info(suite); !info.Anonymous() {
			msgs = append(msgs, handshakeMsg(tlsmsg.TypeCertificate, certificateBody(f.cert))...)
		}
		msgs = append(msgs, handshakeMsg(tlsmsg.TypeServerHelloDone, nil)...)
	}
	c.Write(record(dissect.RecordHandshake, legacy, msgs))
	io.Copy(io.Discard, br)
}

func (f *fakeServer) choose(accepts, offered []uint16) uint16 {
	ok := func(id uint16) bool { return slices.Contains(accepts, id) }
	switch {
	case f.lastOffered:
		for i := len(offered) - 1; i >= 0; i-- {
			if ok(offered[i]) {
				return offered[i]
			}
		}
	case f.clientOrder:
		for _, id := range offered {
			if ok(id) {
				return id
			}
		}
	default:
		if f.chachaFirst && len(offered) > 0 && ok(offered[0]) {
			if info, _ := Info(offered[0]); info.ChaCha() {
				return offered[0]
			}
		}
		for _, id := range accepts {
			if slices.Contains(offered, id) {
				return id
			}
		}
	}
	return 0
}

func (f *fakeServer) refuse(c net.Conn, alert uint8) {
	if !f.closeToRefuse {
		c.Write(record(dissect.RecordAlert, VersionTLS12, []byte{2, alert}))
	}
}
