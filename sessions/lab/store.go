package lab

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
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
// imapmemserver) is the record of what each mailbox holds; the store keeps,
// next to it, an index of each mailbox (mbindex.go): UIDs oldest first,
// sizes, totals, and the bytes of INBOX messages so that POP3 can serve
// them (imapmemserver offers no way to read a message outside an IMAP
// connection). A message expunged over IMAP therefore disappears from POP3,
// and a POP3 DELE expunges it from IMAP.
type store struct {
	max     int
	byteCap int64 // mailboxByteCap; tests lower it
	user    *imapmemserver.User

	// mu serialises every change to which messages a mailbox holds, so
	// that idx follows go-imap exactly; it guards idx and locked.
	mu     sync.Mutex
	idx    map[string]*mailboxIndex
	locked bool // RFC 1939 §4: one POP3 session per maildrop

	// updates counts what each selected IMAP connection is owed
	// (imapupdates.go); every change to a mailbox reports to it.
	updates *updateWatch
	// budget bounds the bytes of messages being received (msgbudget.go).
	budget *msgBudget
}

func newStore(maxMessages int) *store {
	u := imapmemserver.NewUser(DemoUser, DemoPassword)
	idx := make(map[string]*mailboxIndex, len(mailboxes))
	for _, name := range mailboxes {
		// Cannot fail: the names are distinct and the user is new.
		_ = u.Create(name, nil)
		idx[name] = newMailboxIndex()
	}
	return &store{max: maxMessages, byteCap: mailboxByteCap, user: u, idx: idx,
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
	if _, err := s.add("INBOX", crlf(msg), &imap.AppendOptions{Time: at}); err != nil {
		return fmt.Errorf("deliver to INBOX: %w", err)
	}
	return nil
}

// add stores a message in a mailbox (an SMTP delivery, an IMAP APPEND) and
// drops the oldest messages over the limits. go-imap's own error is
// returned as it is, for go-imap to answer the client with.
func (s *store) add(name string, msg []byte, options *imap.AppendOptions) (*imap.AppendData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := s.user.Append(name, bytes.NewReader(msg), options)
	if err != nil {
		return nil, err
	}
	x := s.idx[name]
	if x == nil {
		return data, fmt.Errorf("mailbox %s has no index", name)
	}
	var body []byte
	if name == "INBOX" {
		body = msg // POP3 can serve what reaches INBOX
	}
	x.add(data.UID, int64(len(msg)), body)
	s.updates.changed(name, 1, 0, nil) // EXISTS
	return data, s.enforceCapLocked(name)
}

// enforceCapLocked drops the oldest messages of a mailbox until it holds at
// most max messages and byteCap bytes. Under the cap it costs a look at
// the index's totals; over it, one expunge of just the messages dropped.
func (s *store) enforceCapLocked(name string) error {
	x := s.idx[name]
	if x == nil {
		return fmt.Errorf("mailbox %s has no index", name)
	}
	for {
		drop := x.overCap(s.max, s.byteCap)
		if len(drop) == 0 {
			return nil
		}
		removed, err := s.expungeLocked(name, drop)
		if err != nil {
			return err
		}
		if len(removed) == 0 {
			return fmt.Errorf("cap of %s: none of %d messages could be expunged", name, len(drop))
		}
	}
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

// expunge removes the messages with the given UIDs from a mailbox.
func (s *store) expunge(name string, uids []imap.UID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.expungeLocked(name, uids)
	return err
}

// expungeLocked removes the messages with the given UIDs from a mailbox
// and returns those it removed, oldest first.
func (s *store) expungeLocked(name string, uids []imap.UID) ([]indexedMessage, error) {
	if len(uids) == 0 {
		return nil, nil
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
	removed, serr := s.settleLocked(name, uids)
	if err != nil {
		return removed, fmt.Errorf("expunge from %s: %w", name, err)
	}
	return removed, serr
}

// settleLocked updates the index of a mailbox from which go-imap has just
// removed some of the messages named (and no others), and returns those
// removed, oldest first. Mostly it removed them all, which its message
// count shows in constant time; otherwise (a client cleared \Deleted from
// one between the store's STORE and EXPUNGE, or an expunge failed half-way)
// it is asked which of them it still holds.
func (s *store) settleLocked(name string, uids []imap.UID) ([]indexedMessage, error) {
	x := s.idx[name]
	if x == nil {
		return nil, fmt.Errorf("mailbox %s has no index", name)
	}
	held := make([]imap.UID, 0, len(uids))
	for _, u := range uids {
		if _, ok := x.live[u]; ok {
			held = append(held, u)
		}
	}
	slices.Sort(held)
	held = slices.Compact(held)
	n, err := s.numMessages(name)
	if err != nil {
		return nil, err
	}
	if n != x.count()-len(held) && len(held) > 0 {
		kept, err := s.present(name, held)
		if err != nil {
			return nil, err
		}
		held = slices.DeleteFunc(held, func(u imap.UID) bool { _, ok := kept[u]; return ok })
	}
	removed := make([]indexedMessage, 0, len(held))
	for _, u := range held {
		e, _ := x.remove(u)
		removed = append(removed, indexedMessage{uid: u, indexEntry: e})
	}
	if n != x.count() {
		return removed, fmt.Errorf("%s holds %d messages, its index %d", name, n, x.count())
	}
	return removed, nil
}

// numMessages is go-imap's count of a mailbox's messages (constant time).
func (s *store) numMessages(name string) (int, error) {
	st, err := s.user.Status(name, &imap.StatusOptions{NumMessages: true})
	if err != nil {
		return 0, fmt.Errorf("status of %s: %w", name, err)
	}
	return int(*st.NumMessages), nil
}

// present returns which of the given UIDs a mailbox still holds. go-imap's
// SEARCH reads the header of each message it matches, so only the few
// named are read.
func (s *store) present(name string, uids []imap.UID) (map[imap.UID]struct{}, error) {
	out := make(map[imap.UID]struct{}, len(uids))
	err := s.withMailbox(name, func(sess *imapmemserver.UserSession) error {
		found, err := searchUIDs(sess, &imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(uids...)}})
		for _, u := range found {
			out[u] = struct{}{}
		}
		return err
	})
	return out, err
}

// searchUIDs runs a UID SEARCH on a view and returns the UIDs it found,
// ascending.
func searchUIDs(sess *imapmemserver.UserSession, criteria *imap.SearchCriteria) ([]imap.UID, error) {
	data, err := sess.Search(imapserver.NumKindUID, criteria, &imap.SearchOptions{})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	set, _ := data.All.(imap.UIDSet)
	nums, ok := set.Nums()
	if !ok {
		return nil, errors.New("search returned a dynamic UID set")
	}
	return nums, nil
}

var errMaildropLocked = fmt.Errorf("INBOX: %w", ErrMaildropInUse)

// openMaildrop locks INBOX for one POP3 session and takes its snapshot
// (RFC 1939 §4: the maildrop is locked once the session is authorised).
// A message copied or moved into INBOX over IMAP has no bytes in the store
// and is left out.
func (s *store) openMaildrop() (*maildrop, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked {
		return nil, errMaildropLocked
	}
	s.locked = true
	md := &maildrop{s: s}
	for _, m := range s.idx["INBOX"].messages() {
		if m.body != nil {
			md.list = append(md.list, maildropEntry{uid: m.uid, body: m.body})
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

// The changes IMAP clients make to which messages a mailbox holds. Each
// runs go-imap's own command on the client's view (so its answers and the
// updates other connections see are go-imap's), under store.mu, and tells
// the index what changed.

// copyMessages runs COPY from the mailbox view has selected, from, to dest.
func (s *store) copyMessages(view *imapmemserver.UserSession, from string, set imap.NumSet, dest string) (*imap.CopyData, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := view.Copy(set, dest)
	if err != nil {
		return nil, err
	}
	src, dst := s.idx[from], s.idx[dest]
	if src == nil || dst == nil {
		return data, fmt.Errorf("copy from %s to %s: no index", from, dest)
	}
	// go-imap copies in ascending order and gives the copies the next UIDs
	// of dest, in the same order (RFC 4315 §3: COPYUID pairs them).
	srcUIDs, _ := data.SourceUIDs.Nums()
	dstUIDs, _ := data.DestUIDs.Nums()
	if len(srcUIDs) == 0 {
		// The set named no message: RFC 9051 §6.4.9, OK without
		// COPYUID, whose sets cannot be empty (RFC 4315 §3's grammar);
		// go-imap would write "[COPYUID 1  ]", which no client parses.
		return nil, nil
	}
	if len(srcUIDs) != len(dstUIDs) {
		return data, fmt.Errorf("copy to %s: %d UIDs copied to %d", dest, len(srcUIDs), len(dstUIDs))
	}
	for i, u := range srcUIDs {
		e, ok := src.live[u]
		if !ok {
			return data, fmt.Errorf("copy from %s: UID %d is not in its index", from, u)
		}
		dst.add(dstUIDs[i], e.size, nil)
	}
	// One EXISTS per message copied.
	s.updates.changed(dest, setSize(data.DestUIDs, dst.count()), 0, nil)
	return data, s.enforceCapLocked(dest)
}

// move runs MOVE (RFC 6851) from the mailbox view has selected, from, to
// dest. go-imap writes MOVE's responses to the client while it holds the
// source mailbox (each write bounded by its 30 s timeout), so a MOVE out of
// INBOX could already hold up deliveries that long; store.mu extends that
// to every mailbox, which a client could do from INBOX anyway.
func (s *store) move(view *imapmemserver.UserSession, w *imapserver.MoveWriter, from string, set imap.NumSet, dest string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, dst := s.idx[from], s.idx[dest]
	if src == nil || dst == nil {
		// Not one of the lab's mailboxes: go-imap answers.
		return view.Move(w, set, dest)
	}
	// Which messages the set names, read before go-imap moves them; with
	// store.mu held, nothing else adds or removes any meanwhile.
	moving, err := searchUIDs(view, criteriaOf(set))
	if err != nil {
		return fmt.Errorf("move from %s: %w", from, err)
	}
	if len(moving) == 0 && dest != from {
		// As for COPY (copyMessages): OK, and no COPYUID with empty sets.
		return nil
	}
	st, err := s.user.Status(dest, &imap.StatusOptions{UIDNext: true})
	if err != nil {
		return fmt.Errorf("status of %s: %w", dest, err)
	}
	merr := view.Move(w, set, dest)
	after, err := s.user.Status(dest, &imap.StatusOptions{UIDNext: true})
	if err != nil {
		return errors.Join(merr, fmt.Errorf("status of %s: %w", dest, err))
	}
	if after.UIDNext == st.UIDNext {
		return merr // refused before moving anything
	}
	removed, err := s.settleLocked(from, moving)
	if err != nil {
		return errors.Join(merr, err)
	}
	if int(after.UIDNext-st.UIDNext) != len(removed) {
		return errors.Join(merr, fmt.Errorf("move to %s: %d messages left %s, %d arrived",
			dest, len(removed), from, after.UIDNext-st.UIDNext))
	}
	for i, m := range removed {
		dst.add(st.UIDNext+imap.UID(i), m.size, nil)
	}
	return errors.Join(merr, s.enforceCapLocked(dest))
}

// criteriaOf is the SEARCH criteria matching a message set as go-imap's
// COPY and MOVE read it. A copy is searched with: go-imap writes the
// resolved "*" back into the set it is given. The saved result ("$", RFC
// 5182) is known by its address and passed as it is.
func criteriaOf(set imap.NumSet) *imap.SearchCriteria {
	switch set := set.(type) {
	case imap.SeqSet:
		if !imap.IsSearchRes(set) {
			set = slices.Clone(set)
		}
		return &imap.SearchCriteria{SeqNum: []imap.SeqSet{set}}
	case imap.UIDSet:
		if !imap.IsSearchRes(set) {
			set = slices.Clone(set)
		}
		return &imap.SearchCriteria{UID: []imap.UIDSet{set}}
	}
	// Matches nothing: imap.NumSet has no other kinds.
	return &imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSet{}}}
}

// expungeDeleted runs EXPUNGE, UID EXPUNGE (uids, RFC 4315 §2.1) or the
// silent expunge of CLOSE on the mailbox view has selected, name: it
// removes the messages flagged \Deleted (in uids, if given).
func (s *store) expungeDeleted(view *imapmemserver.UserSession, w *imapserver.ExpungeWriter, name string, uids *imap.UIDSet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	criteria := &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagDeleted}}
	if uids != nil {
		criteria.UID = criteriaOf(*uids).UID
	}
	// Only the messages flagged \Deleted have their header read.
	doomed, err := searchUIDs(view, criteria)
	if err != nil {
		return fmt.Errorf("expunge from %s: %w", name, err)
	}
	if len(doomed) == 0 {
		return nil
	}
	// Exactly those: one another client flags meanwhile waits for the
	// next EXPUNGE, as if it had been flagged a moment later.
	set := imap.UIDSetNum(doomed...)
	err = view.Expunge(w, &set)
	_, serr := s.settleLocked(name, doomed)
	return errors.Join(err, serr)
}
