package lab

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// Mailboxes is the lab's fixed set of mailboxes; clients cannot create,
// delete or rename any, which keeps the lab's memory bounded.
var mailboxes = []string{"INBOX", "Sent", "Drafts", "Trash"}

// mailboxByteCap bounds the bytes one mailbox holds; with MaxStoredMessages
// it keeps the lab's memory use small whatever clients send. The memory
// held is more than the bytes: go-imap's in-memory mailbox keeps each
// message in a buffer grown by doubling (up to twice its size), and INBOX
// is held a second time for POP3. Filled with 10 MB messages, four
// mailboxes capped at 64 MiB each held 432 MiB of heap; at 16 MiB each they
// hold at most about 4×16×2 + 16 ≈ 144 MiB (74 MiB with those messages),
// and every mailbox still takes a message of the largest size
// (MaxMessageBytes ≤ mailboxByteCap).
const mailboxByteCap = 16 << 20

// Local domains and mailboxes. Every local address is delivered to
// DemoUser's INBOX, as Postfix's virtual aliases do on the peers.
var (
	localDomains = []string{Hostname, "lab.test"}
	localParts   = []string{DemoUser, "postmaster", "abuse"}
)

// store is the lab's mail store. The IMAP server's in-memory user (go-imap's
// imapmemserver) is the single record of what each mailbox holds; the store
// keeps, next to it, the bytes of INBOX messages by UID so that POP3 can
// serve them (imapmemserver offers no way to read a message outside an IMAP
// connection). A message expunged over IMAP therefore disappears from POP3,
// and a POP3 DELE expunges it from IMAP.
type store struct {
	max  int
	user *imapmemserver.User

	mu     sync.Mutex
	bodies map[imap.UID][]byte // INBOX messages POP3 can serve
	locked bool                // RFC 1939 §4: one POP3 session per maildrop

	// updates counts what each selected IMAP connection is owed
	// (imapupdates.go); every change to a mailbox reports to it.
	updates *updateWatch
	// budget bounds the bytes of messages being received (msgbudget.go).
	budget *msgBudget
}

func newStore(maxMessages int) *store {
	u := imapmemserver.NewUser(DemoUser, DemoPassword)
	for _, name := range mailboxes {
		// Cannot fail: the names are distinct and the user is new.
		_ = u.Create(name, nil)
	}
	return &store{max: maxMessages, user: u, bodies: make(map[imap.UID][]byte),
		updates: newUpdateWatch(maxPendingUpdates),
		budget:  newMsgBudget(msgBudgetTotal, msgBudgetPerClient)}
}

// checkLogin checks the lab's credentials. The user name may be given bare
// or as a local address.
func checkLogin(username, password string) bool {
	user := username
	if local, domain, ok := strings.Cut(username, "@"); ok {
		if !isLocalDomain(domain) {
			return false
		}
		user = local
	}
	okUser := subtle.ConstantTimeCompare([]byte(strings.ToLower(user)), []byte(DemoUser))
	okPass := subtle.ConstantTimeCompare([]byte(password), []byte(DemoPassword))
	return okUser&okPass == 1
}

func isLocalDomain(domain string) bool {
	for _, d := range localDomains {
		if strings.EqualFold(domain, d) {
			return true
		}
	}
	return false
}

// recipientStatus says whether addr is a local mailbox.
type recipientStatus int

const (
	recipientLocal   recipientStatus = iota
	recipientUnknown                 // local domain, no such user
	recipientRemote                  // another domain: relaying
)

func classifyRecipient(addr string) recipientStatus {
	local, domain, ok := strings.Cut(addr, "@")
	if !ok || strings.Contains(domain, "@") || !isLocalDomain(domain) {
		return recipientRemote
	}
	for _, p := range localParts {
		if strings.EqualFold(local, p) {
			return recipientLocal
		}
	}
	return recipientUnknown
}

// crlf returns msg with every line ending as CRLF, as RFC 5322 §2.1 and IMAP
// sizes (RFC 3501 §2.3.4) expect.
func crlf(msg []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(msg) + len(msg)/40)
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			b.Write(msg)
			b.WriteString("\r\n")
			break
		}
		line := bytes.TrimSuffix(msg[:i], []byte("\r"))
		b.Write(line)
		b.WriteString("\r\n")
		msg = msg[i+1:]
	}
	return b.Bytes()
}

// deliver puts a message into INBOX and drops the oldest messages over the
// limits.
func (s *store) deliver(msg []byte, at time.Time) error {
	msg = crlf(msg)
	data, err := s.user.Append("INBOX", bytes.NewReader(msg), &imap.AppendOptions{Time: at})
	if err != nil {
		return fmt.Errorf("append to INBOX: %w", err)
	}
	s.mu.Lock()
	s.bodies[data.UID] = msg
	s.mu.Unlock()
	s.updates.changed("INBOX", 1, 0, nil) // EXISTS
	return s.enforceCap("INBOX")
}

// withMailbox runs f on a fresh view of a mailbox. Views are made per use
// and closed: a long-lived view would queue every update forever.
func (s *store) withMailbox(name string, f func(*imapmemserver.UserSession) error) error {
	sess := imapmemserver.NewUserSession(s.user)
	defer sess.Close()
	if _, err := sess.Select(name, &imap.SelectOptions{}); err != nil {
		return fmt.Errorf("select %s: %w", name, err)
	}
	return f(sess)
}

// uids lists the UIDs a mailbox holds, in ascending order.
func (s *store) uids(name string) ([]imap.UID, error) {
	var out []imap.UID
	err := s.withMailbox(name, func(sess *imapmemserver.UserSession) error {
		data, err := sess.Search(imapserver.NumKindUID, &imap.SearchCriteria{}, &imap.SearchOptions{})
		if err != nil {
			return err
		}
		set, _ := data.All.(imap.UIDSet)
		nums, ok := set.Nums()
		if !ok {
			return errors.New("search returned a dynamic UID set")
		}
		out = nums
		return nil
	})
	return out, err
}

// expunge removes the messages with the given UIDs from a mailbox.
func (s *store) expunge(name string, uids []imap.UID) error {
	if len(uids) == 0 {
		return nil
	}
	set := imap.UIDSetNum(uids...)
	err := s.withMailbox(name, func(sess *imapmemserver.UserSession) error {
		flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := sess.Store(nil, set, flags, &imap.StoreOptions{}); err != nil {
			return err
		}
		return sess.Expunge(nil, &set)
	})
	// Whether or not it failed half-way: a FETCH FLAGS (\Deleted) and an
	// EXPUNGE per message, for every connection with the mailbox selected.
	s.updates.changed(name, 2*len(uids), len(uids), nil)
	if err != nil {
		return fmt.Errorf("expunge from %s: %w", name, err)
	}
	if name == "INBOX" {
		s.mu.Lock()
		for _, uid := range uids {
			delete(s.bodies, uid)
		}
		s.mu.Unlock()
	}
	return nil
}

// enforceCap drops the oldest messages of a mailbox until it holds at most
// max messages and mailboxByteCap bytes. It also forgets the bodies of
// INBOX messages an IMAP client expunged.
func (s *store) enforceCap(name string) error {
	for {
		st, err := s.user.Status(name, &imap.StatusOptions{NumMessages: true, Size: true})
		if err != nil {
			return fmt.Errorf("status of %s: %w", name, err)
		}
		uids, err := s.uids(name)
		if err != nil {
			return err
		}
		if name == "INBOX" {
			s.prune(uids)
		}
		over := len(uids) - s.max
		if st.Size != nil && *st.Size > mailboxByteCap && over < 1 {
			over = 1
		}
		if over <= 0 || len(uids) == 0 {
			return nil
		}
		if err := s.expunge(name, uids[:min(over, len(uids))]); err != nil {
			return err
		}
	}
}

// prune forgets bodies whose UIDs are no longer in INBOX.
func (s *store) prune(present []imap.UID) {
	keep := make(map[imap.UID]struct{}, len(present))
	for _, u := range present {
		keep[u] = struct{}{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for u := range s.bodies {
		if _, ok := keep[u]; !ok {
			delete(s.bodies, u)
		}
	}
}

var errMaildropLocked = fmt.Errorf("INBOX: %w", ErrMaildropInUse)

// openMaildrop locks INBOX for one POP3 session and takes its snapshot
// (RFC 1939 §4: the maildrop is locked once the session is authorised).
func (s *store) openMaildrop() (*maildrop, error) {
	uids, err := s.uids("INBOX")
	if err != nil {
		return nil, err
	}
	s.prune(uids)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		return nil, errMaildropLocked
	}
	s.locked = true
	md := &maildrop{s: s}
	for _, u := range uids {
		if b, ok := s.bodies[u]; ok {
			md.list = append(md.list, maildropEntry{uid: u, body: b})
		}
	}
	return md, nil
}

type maildropEntry struct {
	uid  imap.UID
	body []byte
}

// maildrop is one POP3 session's view of INBOX: the snapshot taken at login.
// It holds the message bytes itself, so a message an IMAP client expunges
// meanwhile can still be retrieved until the POP3 session ends.
type maildrop struct {
	s    *store
	list []maildropEntry
	once sync.Once
}

func (m *maildrop) entry(id uint64) (maildropEntry, bool) {
	for _, e := range m.list {
		if uint64(e.uid) == id {
			return e, true
		}
	}
	return maildropEntry{}, false
}

// deleteIDs expunges the given messages (the POP3 UPDATE state, RFC 1939 §6).
func (m *maildrop) deleteIDs(ids []uint64) error {
	var uids []imap.UID
	for _, id := range ids {
		e, ok := m.entry(id)
		if !ok {
			return fmt.Errorf("message %d is not in this maildrop", id)
		}
		uids = append(uids, e.uid)
	}
	return m.s.expunge("INBOX", uids)
}

func (m *maildrop) unlock() {
	m.once.Do(func() {
		m.s.mu.Lock()
		m.s.locked = false
		m.s.mu.Unlock()
	})
}

// seedMessages greet a fresh lab, so there is mail to read at once.
var seedMessages = []struct{ from, subject, body string }{
	{
		from:    "mailwire lab <postmaster@" + Hostname + ">",
		subject: "Welcome to the mailwire lab",
		body: "Hello!\n\nThis mailbox lives in memory inside mailwire. Every server of the lab\n" +
			"listens on loopback only, and nothing you send here leaves your machine.\n\n" +
			"Read it over IMAP (143 with STARTTLS, 993 with implicit TLS) or POP3\n" +
			"(110 with STLS, 995 with implicit TLS), and send yourself more over SMTP\n" +
			"(587 with STARTTLS, 465 with implicit TLS).\n",
	},
	{
		from:    "mailwire lab <postmaster@" + Hostname + ">",
		subject: "Why your password waits for TLS",
		body: "On 587, 143 and 110 the lab speaks cleartext until you ask for TLS.\n" +
			"Until then it will not take a password: anyone on the path could read it.\n" +
			"Try AUTH before STARTTLS and watch the server refuse.\n",
	},
	{
		from:    "A fellow learner <abuse@" + Hostname + ">",
		subject: "Ports at a glance",
		body: "25  transfer between servers, STARTTLS optional\n" +
			"587 submission, STARTTLS then AUTH\n" +
			"465 submission over implicit TLS\n" +
			"110/995 POP3, 143/993 IMAP\n\nHave fun!\n",
	},
}

// seed delivers the welcome messages.
func (s *store) seed(now time.Time) error {
	for i, m := range seedMessages {
		at := now.Add(time.Duration(i-len(seedMessages)) * time.Minute)
		msg := fmt.Sprintf("Return-Path: <postmaster@%s>\n"+
			"From: %s\nTo: %s <%s@%s>\nSubject: %s\nDate: %s\n"+
			"Message-ID: <seed-%d.%d@%s>\nMIME-Version: 1.0\n"+
			"Content-Type: text/plain; charset=utf-8\n\n%s",
			Hostname, m.from, DemoUser, DemoUser, Hostname, m.subject,
			at.Format(time.RFC1123Z), at.UnixNano(), i, Hostname, m.body)
		if err := s.deliver([]byte(msg), at); err != nil {
			return err
		}
	}
	return nil
}
