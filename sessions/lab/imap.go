package lab

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// serveIMAP runs go-imap's server on one endpoint. With InsecureAuth false,
// go-imap itself advertises LOGINDISABLED and no AUTH= before TLS and
// answers LOGIN with "NO [PRIVACYREQUIRED]" (RFC 3501 §6.2.3, RFC 9051
// §7.1), as Dovecot does on the peers.
func (l *Lab) serveIMAP(spec endpointSpec, ln *guardedListener) error {
	s := imapserver.New(&imapserver.Options{
		NewSession: func(c *imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			// go-imap's Bye writes through whatever connection the session
			// has at that moment, TLS after STARTTLS included, so a client
			// over the command rate hears why it is cut off (ratelimit.go).
			if lc := labConnOf(c.NetConn()); lc != nil {
				lc.setBye(func() { _ = c.Bye("Too many commands") })
			}
			return &imapSession{lab: l, client: clientOf(c.NetConn()), bye: func() {
				l.errLog.Printf("imap %d: %s: over %d mailbox updates behind: disconnected",
					spec.Canonical, c.NetConn().RemoteAddr(), l.store.updates.limit)
				_ = c.Bye(byeTooManyUpdates)
			}}, nil, nil
		},
		Caps: imap.CapSet{
			imap.CapIMAP4rev1: {},
			imap.CapIMAP4rev2: {},
		},
		Logger:       l.errLog,
		TLSConfig:    l.tlsConfig, // STARTTLS on 143; 993 conns arrive as TLS already
		InsecureAuth: spec.policy.AuthBeforeTLS,
	})
	l.closers = append(l.closers, func() error {
		if err := s.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("close imap %d: %w", spec.Canonical, err)
		}
		return closeListener(ln)
	})
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := s.Serve(ln); err != nil && !l.stopping() {
			l.errLog.Printf("imap %d: serve: %v", spec.Canonical, err)
		}
	}()
	return nil
}

// imapSession is go-imap's in-memory user session with the lab's login and
// bounds: a fixed set of mailboxes, an APPEND size limit, and the store's
// per-mailbox cap after anything that adds messages.
type imapSession struct {
	*imapmemserver.UserSession // nil until LOGIN/AUTHENTICATE succeeds
	lab                        *Lab
	failures                   int
	client                     string // the client's address (clientKey)
	mailbox                    string // selected, or ""
	// bye ends the connection for falling too far behind (imapupdates.go).
	bye func()
}

var (
	_ imapserver.SessionIMAP4rev2   = (*imapSession)(nil)
	_ imapserver.SessionAppendLimit = (*imapSession)(nil)
)

func (s *imapSession) Login(username, password string) error {
	if s.failures >= maxAuthFailures {
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed,
			Text: "Too many failed login attempts on this connection"}
	}
	if !checkLogin(username, password) {
		s.failures++
		return imapserver.ErrAuthFailed
	}
	s.UserSession = imapmemserver.NewUserSession(s.lab.store.user)
	return nil
}

func (s *imapSession) Close() error {
	s.watch().unselect(s)
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

// AppendLimit advertises APPENDLIMIT (RFC 7889) and makes go-imap refuse
// bigger literals before reading them.
func (s *imapSession) AppendLimit() uint32 {
	return uint32(min(s.lab.opts.Limits.MaxMessageBytes, 1<<32-1))
}

func (s *imapSession) Append(mailbox string, r imap.LiteralReader, options *imap.AppendOptions) (*imap.AppendData, error) {
	lim := s.lab.opts.Limits.MaxMessageBytes
	if r.Size() > lim {
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeTooBig,
			Text: fmt.Sprintf("Messages are limited to %d bytes", lim)}
	}
	// The literal's size is known: the budget is charged before it is
	// read (msgbudget.go), and it is read into a buffer of its size.
	release, err := s.lab.store.budget.reserve(s.client, r.Size())
	defer release()
	if err != nil {
		s.lab.errLog.Printf("imap: %s: APPEND refused: %v (msgbudget.go)", s.client, err)
		return nil, errAppendUnavailable
	}
	body := make([]byte, r.Size())
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, fmt.Errorf("read APPEND literal: %w", err)
	}
	// The store appends, reports the EXISTS and keeps the cap.
	return s.lab.store.add(mailbox, body, options)
}

func (s *imapSession) Copy(numSet imap.NumSet, dest string) (*imap.CopyData, error) {
	return s.lab.store.copyMessages(s.UserSession, s.mailbox, numSet, dest)
}

func (s *imapSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	// An EXISTS per message in dest, an EXPUNGE per message here.
	n := setSize(numSet, s.messages(s.mailbox))
	s.watch().changed(s.mailbox, n, n, nil)
	s.watch().changed(dest, n, 0, nil)
	return s.lab.store.move(s.UserSession, w, s.mailbox, numSet, dest)
}

// errAppendUnavailable: too many large messages arrive at once
// (msgbudget.go); RFC 5530 §3: UNAVAILABLE is a temporary failure.
var errAppendUnavailable = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeUnavailable,
	Text: "Too many large messages are being received at once; try again shortly",
}

var errFixedMailboxes = &imap.Error{
	Type: imap.StatusResponseTypeNo,
	Code: imap.ResponseCodeCannot,
	Text: "The lab's mailboxes are fixed: INBOX, Sent, Drafts, Trash",
}

func (s *imapSession) Create(string, *imap.CreateOptions) error         { return errFixedMailboxes }
func (s *imapSession) Delete(string) error                              { return errFixedMailboxes }
func (s *imapSession) Rename(string, string, *imap.RenameOptions) error { return errFixedMailboxes }
