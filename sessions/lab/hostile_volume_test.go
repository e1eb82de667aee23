package lab

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The sweep cases (hostile_volume.go) do what their rows say, at sizes the
// tests shrink so that each runs in milliseconds; the full sizes are
// played against the mailwire binary by cmd/mailwire's sweep.

// startSweep starts case name, with mod applied to a copy of its row.
func startSweep(t *testing.T, name string, mod func(*HostileCase)) *HostileServer {
	t.Helper()
	c, ok := HostileCaseByName(name)
	if !ok {
		t.Fatalf("no case %s", name)
	}
	if mod != nil {
		mod(&c)
	}
	s, err := startHostileCase(context.Background(), c, HostileOptions{MaxConns: 4, Lifetime: 20 * time.Second, ConnTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// recordCounter counts the TLS records that arrive on a connection, read
// below the TLS client: their number per content type, their payload bytes
// and the largest length a header declared.
type recordCounter struct {
	net.Conn
	mu       sync.Mutex
	hdr      []byte
	left     int // payload bytes of the current record still to come
	records  map[byte]int
	payload  map[byte]int
	declared int
	typ      byte
}

func newRecordCounter(c net.Conn) *recordCounter {
	return &recordCounter{Conn: c, records: map[byte]int{}, payload: map[byte]int{}}
}

func (r *recordCounter) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.mu.Lock()
	defer r.mu.Unlock()
	for b := p[:n]; len(b) > 0; {
		if r.left > 0 {
			k := min(r.left, len(b))
			r.left -= k
			r.payload[r.typ] += k
			b = b[k:]
			continue
		}
		r.hdr = append(r.hdr, b[0])
		b = b[1:]
		if len(r.hdr) == 5 {
			r.typ = r.hdr[0]
			r.left = int(binary.BigEndian.Uint16(r.hdr[3:5]))
			r.declared = max(r.declared, r.left)
			r.records[r.typ]++
			r.hdr = r.hdr[:0]
		}
	}
	return n, err
}

// reset starts counting afresh, at a record boundary: when TLS starts
// after cleartext (STARTTLS).
func (r *recordCounter) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hdr, r.left, r.declared = r.hdr[:0], 0, 0
	clear(r.records)
	clear(r.payload)
}

func (r *recordCounter) count(typ byte) (records, payload int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.records[typ], r.payload[typ]
}

func sweepTLS(s *HostileServer) *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs(), ServerName: Hostname, MinVersion: tls.VersionTLS10}
}

// dialCounted dials s with a record counter under the TLS client (for an
// implicit-TLS case) or under the cleartext connection (STARTTLS later).
func dialCounted(t *testing.T, s *HostileServer, implicit bool, cfg *tls.Config) (*wire, *recordCounter) {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr(), wireTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rc := newRecordCounter(c)
	var conn net.Conn = rc
	if implicit {
		tc := tls.Client(rc, cfg)
		_ = c.SetDeadline(time.Now().Add(wireTimeout))
		if err := tc.Handshake(); err != nil {
			t.Fatalf("handshake: %v", err)
		}
		conn = tc
	}
	return newWire(t, conn), rc
}

func TestHostileSweepTable(t *testing.T) {
	all := AllHostileCases()
	if len(all) != len(HostileCases())+len(HostileSweepCases()) {
		t.Fatal("AllHostileCases is not the two lists")
	}
	seen := map[string]bool{}
	for _, c := range all {
		if seen[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		seen[c.Name] = true
	}
	points := map[string]bool{PointGreeting: true, PointCapabilities: true, PointStartTLSReply: true, PointHandshake: true,
		PointAfterTLS: true, PointAuth: true, PointData: true, PointList: true, PointFetch: true, PointResponse: true}
	protos := map[string]bool{}
	for _, c := range HostileSweepCases() {
		protos[c.Proto] = true
		if !strings.HasPrefix(c.Name, c.Proto) {
			t.Errorf("%s: name does not start with its protocol %s", c.Name, c.Proto)
		}
		if c.TLS != hostileStartTLS && c.TLS != hostileImplicit && c.TLS != hostileNone {
			t.Errorf("%s: TLS mode %q", c.Name, c.TLS)
		}
		if (c.TLS == hostileImplicit) != (strings.HasPrefix(c.Name, c.Proto+"s-") || c.Proto == hostileHTTPS) {
			t.Errorf("%s: an implicit-TLS case is named proto+s (smtps, pop3s, imaps)", c.Name)
		}
		if !points[c.Point] || !strings.Contains(c.Name, "-"+c.Point+"-") {
			t.Errorf("%s: point %q (and the name must carry it)", c.Name, c.Point)
		}
		if c.Does == "" || c.act == 0 {
			t.Errorf("%s: no action or description", c.Name)
		}
		switch c.act {
		case actTinyRecords, actBigReply:
			if c.size <= 0 {
				t.Errorf("%s: no size", c.Name)
			}
		case actLiterals:
			if c.size <= 0 || c.count <= 0 {
				t.Errorf("%s: no size or count", c.Name)
			}
		case actH2Pings, actH2EmptyData, actH2Continuations:
			if c.count <= 0 || c.alpn != "h2" {
				t.Errorf("%s: no count, or not h2", c.Name)
			}
		case actReplace, actReplaceClose, actReplaceHold:
			if c.payload == "" {
				t.Errorf("%s: no payload", c.Name)
			}
		}
		if c.Proto == hostileHTTPS && c.alpn == "" {
			t.Errorf("%s: an HTTPS case says which ALPN protocol it speaks", c.Name)
		}
		for i, f := range c.ClientFlags {
			if i == 0 && !strings.HasPrefix(f, "--") {
				t.Errorf("%s: client flags %q", c.Name, c.ClientFlags)
			}
		}
	}
	for _, p := range []string{hostileSMTP, hostilePOP3, hostileIMAP, hostileHTTPS} {
		if !protos[p] {
			t.Errorf("no sweep case over %s", p)
		}
	}
	if n := strings.Count(HostileCaseList(), "\n"); n != len(all) {
		t.Errorf("HostileCaseList has %d lines for %d cases", n, len(all))
	}
	if c, _ := HostileCaseByName("https-response-h2-pings"); c.Port() != 443 {
		t.Errorf("an HTTPS case's port is %d", c.Port())
	}
}

// TestHostileSweepStartsAndStops: each sweep case starts, takes a
// connection, and Close ends it at once, even mid-flood, leaving nothing
// running.
func TestHostileSweepStartsAndStops(t *testing.T) {
	before := goroutinesSettled()
	for _, c := range HostileSweepCases() {
		s, err := StartHostile(context.Background(), c.Name, HostileOptions{Lifetime: 10 * time.Second})
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		conn, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if c.TLS == hostileImplicit {
			// Start the handshake, so a case that acts in it gets going.
			tc := tls.Client(conn, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{c.alpn}})
			_ = tc.SetDeadline(time.Now().Add(100 * time.Millisecond))
			_ = tc.Handshake()
		} else {
			_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, _ = conn.Read(make([]byte, 64))
		}
		start := time.Now()
		s.Close()
		conn.Close()
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: Close took %v", c.Name, d)
		}
	}
	waitGoroutines(t, before)
}

// goroutinesSettled returns the goroutine count once earlier tests'
// servers have wound down.
func goroutinesSettled() int {
	time.Sleep(50 * time.Millisecond)
	return runtime.NumGoroutine()
}

func TestHostileTinyRecordsRETR(t *testing.T) {
	const size = 3000
	s := startSweep(t, "pop3s-fetch-tiny-records", func(c *HostileCase) { c.size = size })
	w, rc := dialCounted(t, s, true, sweepTLS(s))
	if l := w.line(); !strings.HasPrefix(l, "+OK") {
		t.Fatalf("greeting %q", l)
	}
	w.send("USER " + DemoUser)
	w.line()
	w.send("PASS x")
	w.line()
	w.send("STAT")
	if l := w.line(); l != "+OK 1 "+strconv.Itoa(size) {
		t.Errorf("STAT: %q", l)
	}
	before, _ := rc.count(23)
	w.send("RETR 1")
	got := 0
	if l := w.line(); l != "+OK "+strconv.Itoa(size)+" octets" {
		t.Fatalf("RETR: %q", l)
	}
	for {
		l := w.line()
		if l == "." {
			break
		}
		got += len(l) + 2
	}
	if got != size {
		t.Errorf("message of %d bytes; want %d", got, size)
	}
	// One record per byte of the response: status line, message, ".".
	records, _ := rc.count(23)
	if n := records - before; n < size {
		t.Errorf("%d application-data records for a %d-byte message", n, size)
	}
}

func TestHostileTinyRecordsEHLO(t *testing.T) {
	const size = 20_000
	s := startSweep(t, "smtp-after-tls-tiny-records", func(c *HostileCase) { c.size = size })
	w, rc := dialCounted(t, s, false, nil)
	w.smtpReply()
	w.send("EHLO client.example")
	w.smtpReply()
	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	rc.reset()
	w.startTLS(sweepTLS(s))
	before, _ := rc.count(23)
	w.send("EHLO client.example")
	lines := w.smtpReply()
	n := 0
	for _, l := range lines {
		n += len(l) + 2
	}
	if len(lines) != 100 || n != size {
		t.Errorf("EHLO reply of %d lines, %d bytes; want 100 lines, %d bytes", len(lines), n, size)
	}
	if records, _ := rc.count(23); records-before < size {
		t.Errorf("%d records for a %d-byte reply", records-before, size)
	}
	// The session goes on normally.
	w.expectSMTP("QUIT", "221 2.0.0 Bye")
}

func TestHostileTinyRecordsHTTPS(t *testing.T) {
	const size = 2500
	s := startSweep(t, "https-response-tiny-records", func(c *HostileCase) { c.size = size })
	cfg := sweepTLS(s)
	cfg.NextProtos = []string{"h2", "http/1.1"}
	w, rc := dialCounted(t, s, true, cfg)
	if p := w.conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN %q", p)
	}
	io.WriteString(w.conn, "GET / HTTP/1.1\r\nHost: "+Hostname+"\r\n\r\n")
	if l := w.line(); l != "HTTP/1.1 200 OK" {
		t.Fatalf("status %q", l)
	}
	cl := 0
	for l := w.line(); l != ""; l = w.line() {
		if v, ok := strings.CutPrefix(l, "Content-Length: "); ok {
			cl, _ = strconv.Atoi(v)
		}
	}
	body, err := io.ReadAll(w.r)
	if err != nil || len(body) != size || cl != size {
		t.Errorf("body of %d bytes, Content-Length %d, %v; want %d", len(body), cl, err, size)
	}
	if records, _ := rc.count(23); records < size {
		t.Errorf("%d records for %d bytes", records, size)
	}
}

func TestHostileTinyHandshake(t *testing.T) {
	s := startSweep(t, "smtps-handshake-tiny-records", nil)
	cfg := sweepTLS(s)
	w, rc := dialCounted(t, s, true, cfg)
	tc := w.conn.(*tls.Conn)
	if v := tc.ConnectionState().Version; v != tls.VersionTLS12 {
		t.Errorf("version %s", tls.VersionName(v))
	}
	records, payload := rc.count(22)
	// ServerHello, Certificate, ServerKeyExchange and ServerHelloDone come
	// a byte per record; only the Finished (encrypted: 40 bytes with
	// AES-GCM's nonce and tag) is whole.
	if records < 300 || payload-records > 64 {
		t.Errorf("%d handshake records carrying %d bytes; want one record per byte", records, payload)
	}
	if l := w.line(); !strings.HasPrefix(l, "220 ") {
		t.Errorf("greeting %q", l)
	}
}

func TestHostileLiteralsEveryCommand(t *testing.T) {
	const size, count = 1000, 3
	s := startSweep(t, "imap-capabilities-literals", func(c *HostileCase) { c.size, c.count = size, count })
	w := dialWire(t, s.Addr())
	w.line()
	for _, cmd := range []string{"CAPABILITY", "NOOP", "LOGOUT"} {
		w.send("a " + cmd)
		for i := 1; i <= count; i++ {
			want := fmt.Sprintf("* %d FETCH (BODY[] {%d}", i, size)
			if l := w.line(); l != want {
				t.Fatalf("%s: %q; want %q", cmd, l, want)
			}
			lit := make([]byte, size)
			if _, err := io.ReadFull(w.r, lit); err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(lit), "\r\n") {
				t.Errorf("literal ends with %q", lit[size-4:])
			}
			if l := w.line(); l != ")" {
				t.Fatalf("after the literal: %q", l)
			}
		}
		var last string
		for last = w.line(); strings.HasPrefix(last, "* "); last = w.line() {
		}
		if !strings.HasPrefix(last, "a ") {
			t.Errorf("%s: completion %q", cmd, last)
		}
	}
}

func TestHostileHugeLiteral(t *testing.T) {
	const size = 50_000
	s := startSweep(t, "imaps-fetch-literal-1g", func(c *HostileCase) { c.size = size })
	w := dialWireTLS(t, s.Addr(), sweepTLS(s))
	w.line()
	w.imapCmd("a1", "LOGIN learner x")
	if sel := w.imapCmd("a2", "SELECT INBOX"); !hasLine(sel, "* 1 EXISTS") {
		t.Errorf("SELECT: %q", sel)
	}
	w.send("a3 FETCH * (ENVELOPE)")
	want := "* 1 FETCH (ENVELOPE (" + imapEnvelopeDate + " {" + strconv.Itoa(size) + "}"
	if l := w.line(); l != want {
		t.Fatalf("%q; want %q", l, want)
	}
	if _, err := io.CopyN(io.Discard, w.r, size); err != nil {
		t.Fatal(err)
	}
	if l := w.line(); l != " NIL NIL NIL NIL NIL NIL NIL NIL))" {
		t.Errorf("after the literal: %q", l)
	}
	if l := w.line(); l != "a3 OK FETCH completed" {
		t.Errorf("completion %q", l)
	}
}

func TestHostileBigBodies(t *testing.T) {
	const size = 300_000
	t.Run("pop3", func(t *testing.T) {
		s := startSweep(t, "pop3s-fetch-retr-100m", func(c *HostileCase) { c.size = size })
		w := dialWireTLS(t, s.Addr(), sweepTLS(s))
		w.line()
		w.send("RETR 1")
		w.line()
		n := 0
		for l := w.line(); l != "."; l = w.line() {
			n += len(l) + 2
		}
		if n != size {
			t.Errorf("%d bytes", n)
		}
	})
	t.Run("https", func(t *testing.T) {
		s := startSweep(t, "https-response-body-100m", func(c *HostileCase) { c.size = size })
		cfg := sweepTLS(s)
		cfg.NextProtos = []string{"http/1.1"}
		w := dialWireTLS(t, s.Addr(), cfg)
		io.WriteString(w.conn, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		for l := w.line(); l != ""; l = w.line() {
		}
		if n, err := io.Copy(io.Discard, w.r); n != size || err != nil {
			t.Errorf("body %d bytes, %v", n, err)
		}
	})
}

func TestHostileEndlessStreams(t *testing.T) {
	t.Run("imap", func(t *testing.T) {
		s := startSweep(t, "imap-capabilities-untagged-endless", nil)
		w := dialWire(t, s.Addr())
		w.line()
		w.send("a CAPABILITY")
		// Far more than any bounded reply, numbered in order.
		for i := 1; i <= 50_000; i++ {
			if l, want := w.line(), fmt.Sprintf("* OK untagged response %d of an endless stream", i); l != want {
				t.Fatalf("%q; want %q", l, want)
			}
		}
	})
	t.Run("pop3", func(t *testing.T) {
		s := startSweep(t, "pop3s-list-endless", nil)
		w := dialWireTLS(t, s.Addr(), sweepTLS(s))
		w.line()
		w.send("STAT")
		if l := w.line(); !strings.HasPrefix(l, "+OK 1 ") {
			t.Errorf("STAT %q", l)
		}
		w.send("LIST")
		w.line()
		for i := 1; i <= 50_000; i++ {
			if l := w.line(); l != strconv.Itoa(i)+" 4096" {
				t.Fatalf("%q", l)
			}
		}
	})
	// The server stops writing once the client is gone.
	s := startSweep(t, "imap-capabilities-untagged-endless", nil)
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "a CAPABILITY\r\n")
	io.CopyN(io.Discard, c, 1<<20)
	c.Close()
	deadline := time.Now().Add(3 * time.Second)
	for s.activeConns() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the endless server still writes after the client left")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// h2Frames reads HTTP/2 frames from r (RFC 9113 §4.1) and counts them by
// type until GOAWAY or the end.
func h2Frames(t *testing.T, r io.Reader) map[byte]int {
	t.Helper()
	got := map[byte]int{}
	var hdr [9]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Errorf("after %v: %v", got, err)
			}
			return got
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			t.Fatal(err)
		}
		got[hdr[3]]++
		if hdr[3] == h2GoAway {
			return got
		}
	}
}

func TestHostileH2Floods(t *testing.T) {
	const count = 500
	for name, want := range map[string]map[byte]int{
		"https-response-h2-pings":         {h2Settings: 1, h2Ping: count, h2Headers: 1, h2Data: 1, h2GoAway: 1},
		"https-response-h2-empty-data":    {h2Settings: 1, h2Headers: 1, h2Data: count + 1, h2GoAway: 1},
		"https-response-h2-continuations": {h2Settings: 1, h2Headers: 1, h2Continuation: count, h2Data: 1, h2GoAway: 1},
	} {
		t.Run(name, func(t *testing.T) {
			s := startSweep(t, name, func(c *HostileCase) { c.count = count })
			cfg := sweepTLS(s)
			cfg.NextProtos = []string{"h2", "http/1.1"}
			w := dialWireTLS(t, s.Addr(), cfg)
			if p := w.conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != "h2" {
				t.Fatalf("ALPN %q", p)
			}
			io.WriteString(w.conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
			got := h2Frames(t, w.r)
			for typ, n := range want {
				if got[typ] != n {
					t.Errorf("%d frames of type %d; want %d (all: %v)", got[typ], typ, n, got)
				}
			}
		})
	}
}

func TestHostileOversizeRecord(t *testing.T) {
	for _, name := range []string{"smtps-handshake-record-65535", "https-handshake-record-65535"} {
		t.Run(name, func(t *testing.T) {
			s := startSweep(t, name, nil)
			w := dialWire(t, s.Addr())
			// Any first bytes of a ClientHello will do.
			io.WriteString(w.conn, "\x16\x03\x01\x02\x00\x01")
			var hdr [5]byte
			if _, err := io.ReadFull(w.r, hdr[:]); err != nil {
				t.Fatal(err)
			}
			if hdr != [5]byte{22, 3, 3, 0xff, 0xff} {
				t.Errorf("record header % x", hdr)
			}
			if n, _ := io.CopyN(io.Discard, w.r, 65535); n != 65535 {
				t.Errorf("%d bytes of the record", n)
			}
		})
	}
}

func TestHostileUnfinishedRecord(t *testing.T) {
	s := startSweep(t, "smtps-after-tls-record-unfinished", nil)
	w, rc := dialCounted(t, s, true, sweepTLS(s))
	_ = w.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	_, err := w.r.ReadByte()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("read: %v; want a timeout, the record never ends", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.declared != 16384 || rc.left != 16384-sweepUnfinished {
		t.Errorf("declared %d, %d bytes still to come", rc.declared, rc.left)
	}
}

func TestHostileLongChain(t *testing.T) {
	s := startSweep(t, "smtp-handshake-long-chain", nil)
	w := dialWire(t, s.Addr())
	w.smtpReply()
	w.send("EHLO client.example")
	w.smtpReply()
	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	w.startTLS(sweepTLS(s)) // verifies: the leaf's issuer is a root, the rest is ignored
	cs := w.conn.(*tls.Conn).ConnectionState()
	if len(cs.PeerCertificates) != sweepChain || cs.Version != tls.VersionTLS12 {
		t.Errorf("%d certificates under %s", len(cs.PeerCertificates), tls.VersionName(cs.Version))
	}
	size := 0
	for _, c := range cs.PeerCertificates {
		size += 3 + len(c.Raw)
	}
	if size <= 64<<10 {
		t.Errorf("certificate list of %d bytes; the case is about one over 64 KiB", size)
	}
	w.send("EHLO client.example")
	w.smtpReply()
	w.expectSMTP("QUIT", "221 2.0.0 Bye")
}

func TestHostileTLS11Only(t *testing.T) {
	s := startSweep(t, "smtp-handshake-tls11-only", nil)
	w := dialWire(t, s.Addr())
	w.smtpReply()
	w.expectSMTP("STARTTLS", "220 2.0.0 Ready to start TLS")
	w.startTLS(sweepTLS(s))
	if v := w.conn.(*tls.Conn).ConnectionState().Version; v != tls.VersionTLS11 {
		t.Errorf("negotiated %s", tls.VersionName(v))
	}
}

func TestHostileTLSAlertGreeting(t *testing.T) {
	for _, name := range []string{"smtp-greeting-tls-alert", "smtp-greeting-tls-alert-held", "pop3-greeting-tls-alert", "imap-greeting-tls-alert"} {
		t.Run(name, func(t *testing.T) {
			s := startSweep(t, name, nil)
			w := dialWire(t, s.Addr())
			var b [7]byte
			if _, err := io.ReadFull(w.r, b[:]); err != nil || string(b[:]) != tlsAlertProtocolVersion {
				t.Fatalf("% x, %v", b, err)
			}
			_ = w.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			_, err := w.r.ReadByte()
			var ne net.Error
			held := errors.As(err, &ne) && ne.Timeout()
			if held != strings.HasSuffix(name, "-held") {
				t.Errorf("after the alert: %v", err)
			}
		})
	}
}

func TestHostileWrongPositiveCodes(t *testing.T) {
	t.Run("greeting", func(t *testing.T) {
		w := dialWire(t, startSweep(t, "smtp-greeting-250", nil).Addr())
		if l := w.line(); !strings.HasPrefix(l, "250 ") {
			t.Errorf("greeting %q", l)
		}
		w.expectSMTP("NOOP", "250 2.0.0 OK")
	})
	t.Run("starttls", func(t *testing.T) {
		w := dialWire(t, startSweep(t, "smtp-starttls-reply-250", nil).Addr())
		w.smtpReply()
		w.expectSMTP("STARTTLS", "250 2.0.0 Ready to start TLS")
		// Still cleartext: the next command is answered as one.
		w.expectSMTP("QUIT", "221 2.0.0 Bye")
	})
	t.Run("auth", func(t *testing.T) {
		w := dialWire(t, startSweep(t, "smtp-auth-reply-250", nil).Addr())
		w.smtpReply()
		w.expectSMTP("AUTH PLAIN AGxlYXJuZXIAeA==", "250 2.7.0 Authentication successful")
	})
	t.Run("data", func(t *testing.T) {
		w := dialWire(t, startSweep(t, "smtp-data-reply-250", nil).Addr())
		w.smtpReply()
		w.expectSMTP("MAIL FROM:<a@example.org>", "250 2.0.0 OK")
		w.expectSMTP("DATA", "250 2.0.0 OK")
		// No 354, so a message line is a (bad) command.
		w.expectSMTP("Subject: x", "502 5.5.2 Command not recognized")
	})
}

func TestHostilePipeliningRefused(t *testing.T) {
	s := startSweep(t, "smtp-starttls-reply-pipelining-refused", nil)
	w := dialWire(t, s.Addr())
	w.smtpReply()
	// One command at a time is served.
	w.send("EHLO client.example")
	w.smtpReply()
	// STARTTLS and RSET in one write, as the command-injection scenario
	// sends them.
	io.WriteString(w.conn, "STARTTLS\r\nRSET\r\n")
	if l := w.line(); l+"\r\n" != openSMTPDPipelining {
		t.Errorf("%q", l)
	}
	w.expectClosed(time.Second)
}

// activeConns is how many connections the server is playing.
func (s *HostileServer) activeConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
