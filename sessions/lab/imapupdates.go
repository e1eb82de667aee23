package lab

import (
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
)

// Pending mailbox updates of silent IMAP connections.
//
// go-imap keeps, for every connection with a mailbox selected, a queue of
// the updates it owes that client: EXISTS for each new message, FETCH FLAGS
// for each flag change, EXPUNGE for each removal. The queue is emptied only
// when the client sends a command (or sits in IDLE, RFC 2177), and RFC 9051
// §7.5.1 forbids sending an EXPUNGE while no command is in progress, so a
// client that selects INBOX and then says nothing has its queue grow with
// every message the lab receives: at the lab's cap of 100 messages each
// delivery is three updates (EXISTS, then FETCH \Deleted and EXPUNGE for
// the oldest), about 150 bytes, for as long as the connection may live (30
// minutes: RFC 9051 §5.4 forbids an earlier autologout). A few such clients
// and a stream of submissions held hundreds of megabytes.
//
// So the lab counts, per selected connection, the updates it has caused
// since the client last asked for them, and ends a connection that falls
// maxPendingUpdates behind with a BYE (RFC 9051 §7.1.5), as it would for
// any resource it cannot grant. The count is exact for deliveries and
// removals and an upper bound for what other IMAP clients do (a message
// set is counted by its size, capped by the mailbox's), so a connection is
// never cut off before its queue really is that long. A client that polls
// (any command) or idles is never cut off; one that reconnects resyncs as
// after any disconnection.

// maxPendingUpdates: 5,000 updates are about 750 KB per connection, so at
// most about 48 MB with every one of the lab's 64 connections behind. No
// interactive client gets near it: it is 1,666 deliveries to a full INBOX
// without a single command.
const maxPendingUpdates = 5000

// byeTooManyUpdates is the BYE's text.
const byeTooManyUpdates = "Too many mailbox changes while this connection was silent; reconnect to see them"

// updateWatch tracks the selected IMAP connections and what they are owed.
type updateWatch struct {
	limit int

	mu       sync.Mutex
	selected map[*imapSession]*pendingUpdates
}

// pendingUpdates is one selected connection's count. Guarded by
// updateWatch.mu.
type pendingUpdates struct {
	mailbox string
	n       int  // updates owed
	expunge int  // of which EXPUNGEs, which a FETCH, STORE or SEARCH leaves owed (RFC 9051 §7.5.1)
	idling  bool // IDLE writes updates as they come (RFC 2177)
	cut     bool // its BYE is on its way
}

func newUpdateWatch(limit int) *updateWatch {
	return &updateWatch{limit: limit, selected: make(map[*imapSession]*pendingUpdates)}
}

// select records that s has mailbox selected, with nothing owed yet.
func (w *updateWatch) selectMailbox(s *imapSession, mailbox string) {
	w.mu.Lock()
	w.selected[s] = &pendingUpdates{mailbox: mailbox}
	w.mu.Unlock()
}

// unselect forgets s (UNSELECT, CLOSE, a failed SELECT, logout).
func (w *updateWatch) unselect(s *imapSession) {
	w.mu.Lock()
	delete(w.selected, s)
	w.mu.Unlock()
}

// polled records that s was given its updates: all of them, or all but the
// expunges, which then stay owed.
func (w *updateWatch) polled(s *imapSession, all bool) {
	w.mu.Lock()
	if p := w.selected[s]; p != nil {
		if all {
			p.expunge = 0
		}
		p.n = p.expunge
	}
	w.mu.Unlock()
}

// idle marks s as in IDLE (on) or out of it.
func (w *updateWatch) idle(s *imapSession, on bool) {
	w.mu.Lock()
	if p := w.selected[s]; p != nil {
		p.idling, p.n, p.expunge = on, 0, 0
	}
	w.mu.Unlock()
}

// changed records n updates, expunges of them EXPUNGEs, queued for every
// connection that has mailbox selected except source (go-imap does not
// tell a STORE's own connection of its change), and says goodbye to those
// now over the limit.
func (w *updateWatch) changed(mailbox string, n, expunges int, source *imapSession) {
	if n <= 0 {
		return
	}
	var cut []*imapSession
	w.mu.Lock()
	for s, p := range w.selected {
		if s == source || p.mailbox != mailbox || p.idling || p.cut {
			continue
		}
		p.n += n
		p.expunge += expunges
		if p.n > w.limit {
			p.cut = true
			cut = append(cut, s)
		}
	}
	w.mu.Unlock()
	for _, s := range cut {
		// The BYE is written by another goroutine: the caller may be an
		// SMTP delivery, which must not wait on a client that reads
		// nothing. go-imap serialises it with the connection's own
		// writes and closes the connection after it.
		if s.bye != nil {
			go s.bye()
		}
	}
}

// setSize bounds how many messages a message set names in a mailbox of
// total messages: each range counted in full ("*", 0, stands for the
// last), capped by total.
func setSize(set imap.NumSet, total int) int {
	var n uint64
	add := func(start, stop uint32) {
		if start == 0 || stop == 0 {
			n += uint64(total)
			return
		}
		if start > stop {
			start, stop = stop, start
		}
		n += uint64(stop-start) + 1
	}
	switch s := set.(type) {
	case imap.SeqSet:
		for _, r := range s {
			add(r.Start, r.Stop)
		}
	case imap.UIDSet:
		if imap.IsSearchRes(s) {
			return total
		}
		for _, r := range s {
			add(uint32(r.Start), uint32(r.Stop))
		}
	default:
		return total
	}
	return int(min(n, uint64(total)))
}

// The imapSession methods below report to the lab's updateWatch; each
// calls go-imap's in-memory session for the work itself.

func (s *imapSession) watch() *updateWatch { return s.lab.store.updates }

// messages is the number of messages in a mailbox (0 if it cannot tell).
func (s *imapSession) messages(mailbox string) int {
	st, err := s.lab.store.user.Status(mailbox, &imap.StatusOptions{NumMessages: true})
	if err != nil || st.NumMessages == nil {
		return 0
	}
	return int(*st.NumMessages)
}

func (s *imapSession) Select(mailbox string, options *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.UserSession.Select(mailbox, options)
	if err != nil {
		s.watch().unselect(s)
		return nil, err
	}
	s.mailbox = mailbox
	s.watch().selectMailbox(s, mailbox)
	return data, nil
}

func (s *imapSession) Unselect() error {
	s.watch().unselect(s)
	s.mailbox = ""
	return s.UserSession.Unselect()
}

func (s *imapSession) Poll(w *imapserver.UpdateWriter, allowExpunge bool) error {
	s.watch().polled(s, allowExpunge)
	return s.UserSession.Poll(w, allowExpunge)
}

func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	s.watch().idle(s, true)
	defer s.watch().idle(s, false)
	return s.UserSession.Idle(w, stop)
}

func (s *imapSession) Fetch(w *imapserver.FetchWriter, set imap.NumSet, options *imap.FetchOptions) error {
	// A body fetched without .PEEK sets \Seen (RFC 9051 §6.4.5), which
	// go-imap announces to every connection, this one included.
	for _, bs := range options.BodySection {
		if !bs.Peek {
			s.watch().changed(s.mailbox, setSize(set, s.messages(s.mailbox)), 0, nil)
			break
		}
	}
	return s.UserSession.Fetch(w, set, options)
}

func (s *imapSession) Store(w *imapserver.FetchWriter, set imap.NumSet, flags *imap.StoreFlags, options *imap.StoreOptions) error {
	s.watch().changed(s.mailbox, setSize(set, s.messages(s.mailbox)), 0, s)
	return s.UserSession.Store(w, set, flags, options)
}

func (s *imapSession) Expunge(w *imapserver.ExpungeWriter, uids *imap.UIDSet) error {
	n := s.messages(s.mailbox)
	s.watch().changed(s.mailbox, n, n, nil)
	return s.lab.store.expungeDeleted(s.UserSession, w, s.mailbox, uids)
}
