package lab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// inboxBodies returns the bytes the store keeps of INBOX's messages,
// oldest first: what POP3 serves.
func inboxBodies(s *store) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for _, m := range s.idx["INBOX"].messages() {
		if m.body != nil {
			out = append(out, m.body)
		}
	}
	return out
}

// checkIndex recounts every mailbox from go-imap's own record and fails if
// the store's index differs in any way (UIDs, their order, each size, the
// totals) or a mailbox is over the cap.
func checkIndex(t *testing.T, s *store) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range mailboxes {
		if err := recount(s, name); err != nil {
			t.Fatal(err)
		}
	}
}

// recount compares one mailbox's index with go-imap's record. Called with
// s.mu held, so nothing changes meanwhile.
func recount(s *store, name string) error {
	x := s.idx[name]
	st, err := s.user.Status(name, &imap.StatusOptions{NumMessages: true, Size: true})
	if err != nil {
		return err
	}
	var uids []imap.UID
	sizes := map[imap.UID]int64{}
	err = s.withMailbox(name, func(sess *imapmemserver.UserSession) error {
		if uids, err = searchUIDs(sess, &imap.SearchCriteria{}); err != nil {
			return err
		}
		for _, m := range x.messages() {
			// SEARCH LARGER n-1 SMALLER n+1 (RFC 9051 §6.4.4) matches
			// a message of exactly n bytes.
			c := &imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(m.uid)}, Larger: m.size - 1, Smaller: m.size + 1}
			found, err := searchUIDs(sess, c)
			if err != nil {
				return err
			}
			if len(found) == 1 {
				sizes[m.uid] = m.size
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var got []imap.UID
	var sum int64
	for _, m := range x.messages() {
		got = append(got, m.uid)
		sum += m.size
		if _, ok := sizes[m.uid]; !ok {
			return fmt.Errorf("%s: UID %d: the index says %d bytes, go-imap differs", name, m.uid, m.size)
		}
		if m.body != nil && int64(len(m.body)) != m.size {
			return fmt.Errorf("%s: UID %d: %d bytes kept for POP3, size %d", name, m.uid, len(m.body), m.size)
		}
	}
	switch {
	case fmt.Sprint(got) != fmt.Sprint(uids):
		return fmt.Errorf("%s: index UIDs %v, go-imap %v", name, got, uids)
	case x.count() != int(*st.NumMessages) || x.count() != len(got):
		return fmt.Errorf("%s: index counts %d (%d listed), go-imap %d", name, x.count(), len(got), *st.NumMessages)
	case x.bytes != *st.Size || x.bytes != sum:
		return fmt.Errorf("%s: index totals %d bytes (%d listed), go-imap %d", name, x.bytes, sum, *st.Size)
	case x.count() > s.max || x.bytes > s.byteCap:
		return fmt.Errorf("%s: %d messages, %d bytes: over the cap (%d, %d)", name, x.count(), x.bytes, s.max, s.byteCap)
	}
	if len(got) > 0 && x.order[x.head] != got[0] {
		return fmt.Errorf("%s: the index's front is UID %d, its oldest %d", name, x.order[x.head], got[0])
	}
	return nil
}

// labOps drives a lab through the store's public ways in: SMTP-style
// delivery, POP3's UPDATE state, and IMAP commands over a real connection.
type labOps struct {
	t   *testing.T
	l   *Lab
	c   *imapclient.Client
	rng *rand.Rand
	sel string // the mailbox selected on c, or ""
}

func (o *labOps) message() []byte {
	n := o.rng.IntN(900)
	return []byte(fmt.Sprintf("Subject: random %d\r\n\r\n%s\r\n", o.rng.Uint32(), strings.Repeat("r", n)))
}

func (o *labOps) mailbox() string { return mailboxes[o.rng.IntN(len(mailboxes))] }

// set is a random message set: sequence numbers or UIDs, sometimes "*".
func (o *labOps) set() imap.NumSet {
	a, b := uint32(o.rng.IntN(8)+1), uint32(o.rng.IntN(8)+1)
	if o.rng.IntN(6) == 0 {
		b = 0 // "*"
	}
	if o.rng.IntN(2) == 0 {
		var s imap.SeqSet
		s.AddRange(a, b)
		return s
	}
	st, err := o.c.Status(o.sel, &imap.StatusOptions{UIDNext: true}).Wait()
	if err != nil {
		o.t.Fatal(err)
	}
	top := uint32(st.UIDNext)
	var s imap.UIDSet
	s.AddRange(imap.UID(top-min(a, top-1)), imap.UID(top-min(b, top-1)))
	return s
}

// imapOK fails on anything but success or a NO (a MOVE to the mailbox
// itself, say): a BAD or a broken connection is a bug.
func (o *labOps) imapOK(err error) {
	o.t.Helper()
	if err == nil {
		return
	}
	if ie, ok := err.(*imap.Error); ok && ie.Type == imap.StatusResponseTypeNo {
		return
	}
	o.t.Fatalf("IMAP: %v", err)
}

func (o *labOps) step() string {
	if o.sel == "" {
		o.sel = o.mailbox()
		_, err := o.c.Select(o.sel, nil).Wait()
		o.imapOK(err)
	}
	switch o.rng.IntN(10) {
	case 0, 1:
		if err := o.l.store.deliver(o.message(), time.Now()); err != nil {
			o.t.Fatal(err)
		}
		return "deliver"
	case 2:
		mb, msg := o.mailbox(), o.message()
		opts := &imap.AppendOptions{}
		if o.rng.IntN(2) == 0 {
			opts.Flags = []imap.Flag{imap.FlagDeleted}
		}
		cmd := o.c.Append(mb, int64(len(msg)), opts)
		_, _ = cmd.Write(msg)
		_ = cmd.Close()
		_, err := cmd.Wait()
		o.imapOK(err)
		return "APPEND " + mb
	case 3:
		op := imap.StoreFlagsAdd
		if o.rng.IntN(3) == 0 {
			op = imap.StoreFlagsDel
		}
		o.imapOK(o.c.Store(o.set(), &imap.StoreFlags{Op: op, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close())
		return "STORE"
	case 4:
		o.imapOK(o.c.Expunge().Close())
		return "EXPUNGE " + o.sel
	case 5:
		st, err := o.c.Status(o.sel, &imap.StatusOptions{UIDNext: true}).Wait()
		o.imapOK(err)
		var s imap.UIDSet
		s.AddRange(imap.UID(o.rng.IntN(int(st.UIDNext))+1), imap.UID(o.rng.IntN(int(st.UIDNext))+1))
		o.imapOK(o.c.UIDExpunge(s).Close())
		return "UID EXPUNGE " + o.sel
	case 6:
		dest := o.mailbox()
		_, err := o.c.Copy(o.set(), dest).Wait()
		o.imapOK(err)
		return "COPY " + o.sel + " " + dest
	case 7:
		dest := o.mailbox()
		_, err := o.c.Move(o.set(), dest).Wait()
		o.imapOK(err)
		return "MOVE " + o.sel + " " + dest
	case 8:
		o.imapOK(o.c.UnselectAndExpunge().Wait())
		o.sel = ""
		return "CLOSE"
	default:
		return o.pop3Delete()
	}
}

// pop3Delete is a POP3 session that marks some messages deleted and QUITs
// (RFC 1939 §6: they are removed in the UPDATE state).
func (o *labOps) pop3Delete() string {
	md, err := o.l.store.openMaildrop()
	if errors.Is(err, errMaildropLocked) {
		return "POP3 (locked)" // another session has it (TestStoreIndexConcurrent)
	}
	if err != nil {
		o.t.Fatal(err)
	}
	defer md.unlock()
	var ids []uint64
	for _, e := range md.list {
		if o.rng.IntN(3) == 0 {
			ids = append(ids, uint64(e.uid))
		}
	}
	if err := md.deleteIDs(ids); err != nil {
		o.t.Fatal(err)
	}
	return fmt.Sprintf("POP3 DELE ×%d", len(ids))
}

// TestStoreIndexRandomOps: random sequences of deliveries, appends, flag
// changes, expunges, copies, moves and POP3 deletions, with caps small
// enough to be hit by count and by bytes; after every step the index the
// cap is checked against equals a full recount from go-imap, and no
// mailbox is over the cap.
func TestStoreIndexRandomOps(t *testing.T) {
	seeds := []uint64{1, 2, 3, uint64(time.Now().UnixNano())}
	steps := 150
	if testing.Short() {
		seeds, steps = seeds[:1], 60
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			l := startLab(t, func(o *Options) { o.Limits.MaxStoredMessages = 6 })
			l.store.mu.Lock()
			l.store.byteCap = 3000 // a few of the messages below
			l.store.mu.Unlock()
			c := imapLogin(t, l)
			defer c.Close()
			o := &labOps{t: t, l: l, c: c, rng: rand.New(rand.NewPCG(seed, seed))}
			var done []string
			for range steps {
				done = append(done, o.step())
				l.store.mu.Lock()
				for _, name := range mailboxes {
					if err := recount(l.store, name); err != nil {
						l.store.mu.Unlock()
						t.Fatalf("seed %d, after %s: %v", seed, strings.Join(done[max(0, len(done)-8):], ", "), err)
					}
				}
				l.store.mu.Unlock()
			}
		})
	}
}

// TestStoreIndexConcurrent: deliveries, IMAP clients and POP3 sessions at
// once leave the index equal to a recount (run with -race).
func TestStoreIndexConcurrent(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxStoredMessages = 8 })
	l.store.mu.Lock()
	l.store.byteCap = 4000
	l.store.mu.Unlock()
	var wg sync.WaitGroup
	for i := range 3 {
		c := imapLogin(t, l)
		defer c.Close()
		o := &labOps{t: t, l: l, c: c, rng: rand.New(rand.NewPCG(uint64(i), 7))}
		wg.Go(func() {
			for range 60 {
				o.step()
			}
		})
	}
	wg.Go(func() {
		o := &labOps{t: t, l: l, rng: rand.New(rand.NewPCG(9, 9))}
		for range 100 {
			if err := l.store.deliver(o.message(), time.Now()); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Go(func() {
		o := &labOps{t: t, l: l, rng: rand.New(rand.NewPCG(11, 11))}
		for range 20 {
			o.pop3Delete()
		}
	})
	wg.Wait()
	checkIndex(t, l.store)
}

// TestMailboxIndexCompacts: removals in any order keep the index's slice
// within a constant factor of the messages held, and the oldest in front.
func TestMailboxIndexCompacts(t *testing.T) {
	x := newMailboxIndex()
	rng := rand.New(rand.NewPCG(5, 5))
	next := imap.UID(1)
	for range 20000 {
		if rng.IntN(2) == 0 || x.count() == 0 {
			x.add(next, int64(rng.IntN(100)), nil)
			next++
			continue
		}
		ms := x.messages()
		x.remove(ms[rng.IntN(len(ms))].uid)
		if len(x.order)-x.head > 2*x.count()+33 {
			t.Fatalf("%d slots for %d messages", len(x.order)-x.head, x.count())
		}
	}
	var sum int64
	ms := x.messages()
	for i, m := range ms {
		sum += m.size
		if i > 0 && ms[i-1].uid >= m.uid {
			t.Fatalf("out of order: %d then %d", ms[i-1].uid, m.uid)
		}
	}
	if sum != x.bytes || len(ms) != x.count() {
		t.Fatalf("totals %d bytes, %d messages; listed %d, %d", x.bytes, x.count(), sum, len(ms))
	}
	if len(ms) > 0 && x.order[x.head] != ms[0].uid {
		t.Fatalf("front %d, oldest %d", x.order[x.head], ms[0].uid)
	}
	// Out of order (never from go-imap) is kept sorted all the same.
	x.add(ms[0].uid-1, 1, nil)
	if got := x.messages()[0].uid; got != ms[0].uid-1 && ms[0].uid > 1 {
		t.Errorf("an older UID added late is not in front: %d", got)
	}
}

// TestSettleAsksWhatRemains: when go-imap removed only some of the
// messages an expunge named (a client cleared \Deleted from one between
// the store's STORE and EXPUNGE), the index drops just those.
func TestSettleAsksWhatRemains(t *testing.T) {
	s := newStore(10)
	var uids []imap.UID
	for i := range 4 {
		data, err := s.add("Trash", []byte(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)), &imap.AppendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		uids = append(uids, data.UID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	gone := imap.UIDSetNum(uids[0], uids[2])
	err := s.withMailbox("Trash", func(sess *imapmemserver.UserSession) error {
		flags := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
		if err := sess.Store(nil, gone, flags, &imap.StoreOptions{}); err != nil {
			return err
		}
		return sess.Expunge(nil, &gone)
	})
	if err != nil {
		t.Fatal(err)
	}
	removed, err := s.settleLocked("Trash", uids[:3])
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 2 || removed[0].uid != uids[0] || removed[1].uid != uids[2] {
		t.Errorf("removed %v, want UIDs %d and %d", removed, uids[0], uids[2])
	}
	if err := recount(s, "Trash"); err != nil {
		t.Fatal(err)
	}
}
