package mitm_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Hostile peers on either side never hang the proxy or make it buffer
// without bound: a line over MaxLine, an announced literal over the limit,
// a silent or babbling server each end the proxied connection with an
// error event, within the configured time limits.

// hostileProxy starts a proxy with small bounds in front of upstream.
func hostileProxy(t *testing.T, upstream, proto string, attack mitm.Attack) (*mitm.Proxy, *recorder) {
	t.Helper()
	rec := &recorder{}
	p, err := mitm.Start(context.Background(), mitm.Config{
		Upstream: upstream, Proto: proto, Attack: attack, ServerName: lab.Hostname, Emit: rec.emit,
		Timeout: 500 * time.Millisecond, SessionTimeout: 5 * time.Second, MaxLine: 1024,
	})
	if err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, rec
}

// fakeServer serves one connection with script and returns its address.
func fakeServer(t *testing.T, script func(c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		script(c)
	}()
	return ln.Addr().String()
}

// dialProxy connects to the proxy and reads the greeting it relays; the
// proxy is then serving the connection, so Wait waits for it.
func dialProxy(t *testing.T, p *mitm.Proxy) (net.Conn, *bufio.Reader, string) {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	br := bufio.NewReader(c)
	greeting, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting %q: %v", greeting, err)
	}
	return c, br, greeting
}

// drainUntilClosed reads from c until the proxy closes it, failing the
// test if that takes longer than limit; it returns what was read.
func drainUntilClosed(t *testing.T, c net.Conn, limit time.Duration) []byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	b, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the proxy did not close the client's connection within %v (read %q)", limit, b)
	}
	return b
}

// waitProxy waits for the proxy to finish its connections and returns its events.
func waitProxy(t *testing.T, p *mitm.Proxy, rec *recorder) []wire.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	return rec.events()
}

func TestHostileClientEndlessLine(t *testing.T) {
	l := startLab(t)
	ep, _ := l.Endpoint(587)
	p, rec := hostileProxy(t, ep.Addr, protocol.SMTP, mitm.StripRemove)
	c, _, greeting := dialProxy(t, p)
	if !strings.HasPrefix(greeting, "220") {
		t.Fatalf("greeting %q", greeting)
	}
	// Escapes and NULs, never a line end: 1 MiB offered, the proxy must
	// give up after MaxLine.
	go func() {
		chunk := bytes.Repeat([]byte("\x1b[2J\x00AAAA"), 1024)
		_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		for range 100 {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
	}()
	drainUntilClosed(t, c, 5*time.Second)
	evs := waitProxy(t, p, rec)
	if !slices.Contains(explainOf(evs), sessions.ExplainLineTooLong) {
		t.Errorf("proxy errors %v, want %q", explainOf(evs), sessions.ExplainLineTooLong)
	}
}

func TestHostileClientHugeLiteral(t *testing.T) {
	l := startLab(t)
	ep, _ := l.Endpoint(143)
	p, rec := hostileProxy(t, ep.Addr, protocol.IMAP, mitm.StripRemove)
	c, _, _ := dialProxy(t, p)
	if _, err := io.WriteString(c, "a1 LOGIN {999999999999}\r\n"); err != nil {
		t.Fatal(err)
	}
	drainUntilClosed(t, c, 5*time.Second)
	evs := waitProxy(t, p, rec)
	if !hasKind(evs, wire.KindError) {
		t.Error("no error event for a literal over the limit")
	}
}

// A client spraying random bytes, line ends included, is relayed or
// refused line by line; the proxy ends when the client leaves.
func TestHostileClientGarbage(t *testing.T) {
	l := startLab(t)
	for _, port := range []int{587, 110, 143} {
		t.Run(strconv.Itoa(port), func(t *testing.T) {
			ep, _ := l.Endpoint(port)
			p, rec := hostileProxy(t, ep.Addr, ep.Proto, mitm.StripReplace)
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(port), 42))
			var garbage []byte
			for range 200 {
				line := make([]byte, rng.IntN(80))
				for i := range line {
					line[i] = byte(rng.IntN(256))
				}
				garbage = append(garbage, line...)
				garbage = append(garbage, "\r\n"...)
			}
			go func() {
				_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write(garbage)
				time.Sleep(200 * time.Millisecond)
				_ = c.(*net.TCPConn).CloseWrite()
			}()
			drainUntilClosed(t, c, 8*time.Second)
			c.Close()
			waitProxy(t, p, rec)
		})
	}
}

func TestHostileServers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script func(c net.Conn)
		want   string // an Explain key among the proxy's errors
	}{
		{"silent", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }, sessions.ExplainTimeout},
		{"endless greeting", func(c net.Conn) {
			junk := bytes.Repeat([]byte("220-\x1b]0;pwned\x07"), 512)
			for range 200 {
				if _, err := c.Write(junk); err != nil {
					return
				}
			}
		}, sessions.ExplainLineTooLong},
		{"endless EHLO reply", func(c net.Conn) {
			_, _ = io.WriteString(c, "220 hostile ESMTP\r\n")
			_, _ = bufio.NewReader(c).ReadString('\n')
			for range 100000 {
				if _, err := io.WriteString(c, "250-X\r\n"); err != nil {
					return
				}
			}
		}, sessions.ExplainReplyTooLong},
		{"garbage instead of TLS", func(c net.Conn) {
			r := bufio.NewReader(c)
			_, _ = io.WriteString(c, "220 hostile ESMTP\r\n")
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(c, "250-hostile\r\n250 STARTTLS\r\n")
			_, _ = r.ReadString('\n')
			_, _ = io.WriteString(c, "220 go ahead\r\nthis is not a ServerHello\r\n")
			_, _ = io.Copy(io.Discard, r)
		}, ""},
		{"closes mid-reply", func(c net.Conn) { _, _ = io.WriteString(c, "220-half") }, sessions.ExplainClosedEarly},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, tc.script)
			p, rec := hostileProxy(t, addr, protocol.SMTP, mitm.StripRemove)
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			got := drainUntilClosed(t, c, 5*time.Second)
			if len(got) > 0 {
				t.Errorf("the client got %q from a proxy whose server misbehaved before the greeting was relayed", got)
			}
			evs := waitProxy(t, p, rec)
			errs := explainOf(evs)
			if len(errs) == 0 {
				t.Fatalf("no error event after %v", time.Since(start))
			}
			if tc.want != "" && !slices.Contains(errs, tc.want) {
				t.Errorf("proxy errors %v, want %q", errs, tc.want)
			}
			if !hasKind(evs, wire.KindClose) {
				t.Error("no close event")
			}
		})
	}
}

// An IMAP server may chain literal after literal in one response (RFC
// 9051 §4.3); each is within the bound, but the attacker holds a batch
// whole, so the chain ends the connection once it passes 4 MiB, not at the
// time limit with all of it in memory.
func TestHostileServerChainedLiterals(t *testing.T) {
	const literal = 1 << 20
	addr := fakeServer(t, func(c net.Conn) {
		r := bufio.NewReader(c)
		_, _ = io.WriteString(c, "* OK hostile IMAP ready\r\n")
		line, _ := r.ReadString('\n')
		tag, _, _ := strings.Cut(line, " ")
		_, _ = io.WriteString(c, "* CAPABILITY IMAP4rev1\r\n"+tag+" OK done\r\n")
		// 8 MiB in one response, then silence.
		data := bytes.Repeat([]byte("A"), literal)
		_, _ = io.WriteString(c, "* 1 FETCH (X {"+strconv.Itoa(literal)+"}\r\n")
		for range 8 {
			if _, err := c.Write(data); err != nil {
				return
			}
			if _, err := io.WriteString(c, " X {"+strconv.Itoa(literal)+"}\r\n"); err != nil {
				return
			}
		}
		_, _ = io.Copy(io.Discard, r)
	})
	p, rec := hostileProxy(t, addr, protocol.IMAP, mitm.StripRemove)
	_, br, _ := dialProxy(t, p)
	go func() { _, _ = io.Copy(io.Discard, br) }()
	start := time.Now()
	evs := waitProxy(t, p, rec)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the proxy took %v to give up", d)
	}
	if !slices.Contains(explainOf(evs), sessions.ExplainReplyTooLong) {
		t.Errorf("proxy errors %v, want %q", explainOf(evs), sessions.ExplainReplyTooLong)
	}
}

// Close cuts connections in progress and returns; Wait then returns.
func TestCloseCutsConnections(t *testing.T) {
	l := startLab(t)
	ep, _ := l.Endpoint(110)
	p, rec := hostileProxy(t, ep.Addr, protocol.POP3, mitm.StripRemove)
	c, _, _ := dialProxy(t, p)
	done := make(chan error, 1)
	go func() { done <- p.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	drainUntilClosed(t, c, time.Second)
	if err := p.Wait(t.Context()); err != nil {
		t.Error(err)
	}
	n := len(rec.events())
	time.Sleep(50 * time.Millisecond)
	if len(rec.events()) != n {
		t.Error("events after Close returned")
	}
}

// A client that connects and then neither speaks nor leaves is cut off at
// the session time limit, with an error that says so.
func TestSessionTimeLimit(t *testing.T) {
	l := startLab(t)
	ep, _ := l.Endpoint(587)
	rec := &recorder{}
	p, err := mitm.Start(context.Background(), mitm.Config{
		Upstream: ep.Addr, Proto: protocol.SMTP, Attack: mitm.StripRemove, Emit: rec.emit,
		Timeout: 5 * time.Second, SessionTimeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	drainUntilClosed(t, c, 3*time.Second)
	evs := waitProxy(t, p, rec)
	if !slices.Contains(explainOf(evs), sessions.ExplainTimeout) {
		t.Errorf("proxy errors %v, want %q", explainOf(evs), sessions.ExplainTimeout)
	}
}
