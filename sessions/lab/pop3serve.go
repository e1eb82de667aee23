package lab

import (
	"errors"
	"fmt"
	"net"
)

// servePOP3 accepts POP3 clients and hands each to ServePOP3, whose
// Authenticate opens the store's maildrop.
func (l *Lab) servePOP3(spec endpointSpec, ln *guardedListener) error {
	cfg := POP3Config{
		Implicit:           spec.TLS == TLSImplicit,
		TLSConfig:          l.tlsConfig,
		Hostname:           Hostname,
		Authenticate:       l.pop3Authenticate,
		AllowPlaintextAuth: spec.policy.AuthBeforeTLS,
		// RFC 2449 §4 bounds POP3 command lines to 255 octets; a smaller
		// lab-wide limit applies too.
		MaxLineLength: min(l.opts.Limits.MaxLineLength, 255),
		IdleTimeout:   l.opts.Limits.POP3IdleTimeout,
		// Only ModeInjectionVulnerable sets it (modes.go).
		keepPipelinedAfterSTLS: spec.policy.KeepPipelinedAfterTLS,
	}
	l.serveEach(ln, fmt.Sprintf("pop3 %d", spec.Canonical), func(conn net.Conn) error {
		return ServePOP3(conn, cfg) // which closes conn too; Close is idempotent
	})
	return nil
}

// serveEach accepts clients on ln until it closes and runs handle for each
// in its own goroutine, counted in l.wg so Close waits for them; name
// labels the log lines. The caller holds what Start or AddEndpoint holds
// while registering servers, so Close sees the closer and the WaitGroup.
func (l *Lab) serveEach(ln *guardedListener, name string, handle func(net.Conn) error) {
	l.closers = append(l.closers, func() error { return closeListener(ln) })
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				if !errors.Is(err, net.ErrClosed) {
					l.errLog.Printf("%s: accept: %v", name, err)
				}
				return
			}
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				defer conn.Close()
				if err := handle(conn); err != nil && !l.stopping() {
					l.errLog.Printf("%s: %s: %v", name, conn.RemoteAddr(), err)
				}
			}()
		}
	}()
}

var errPOP3AuthFailed = errors.New("authentication failed")

func (l *Lab) pop3Authenticate(user, pass string) (Maildrop, error) {
	if !checkLogin(user, pass) {
		return nil, errPOP3AuthFailed
	}
	md, err := l.store.openMaildrop()
	if err != nil {
		if errors.Is(err, ErrMaildropInUse) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrMaildropUnavailable, err)
	}
	return pop3Maildrop{md}, nil
}

// pop3Maildrop adapts the store's maildrop to the POP3 server's interface.
type pop3Maildrop struct{ m *maildrop }

func (p pop3Maildrop) List() []MaildropMessage {
	out := make([]MaildropMessage, len(p.m.list))
	for i, e := range p.m.list {
		out[i] = MaildropMessage{ID: uint64(e.uid), Size: len(e.body)}
	}
	return out
}

func (p pop3Maildrop) Retrieve(id uint64) ([]byte, error) {
	e, ok := p.m.entry(id)
	if !ok {
		return nil, fmt.Errorf("no message %d in this maildrop", id)
	}
	return e.body, nil
}

func (p pop3Maildrop) Delete(ids []uint64) error { return p.m.deleteIDs(ids) }
func (p pop3Maildrop) Unlock()                   { p.m.unlock() }
