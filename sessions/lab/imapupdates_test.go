package lab

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// deliverN puts n small messages into INBOX, as SMTP deliveries do.
func deliverN(t *testing.T, l *Lab, n int) {
	t.Helper()
	for i := range n {
		if err := l.store.deliver([]byte("Subject: update "+string(rune('a'+i%26))+"\n\nbody\n"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

func selectedWire(t *testing.T, l *Lab) *wire {
	t.Helper()
	w := dialWireTLS(t, addr(t, l, 993), clientTLS(l))
	w.line()
	w.imapCmd("a", "LOGIN "+DemoUser+" "+DemoPassword)
	if got := w.imapCmd("b", "SELECT INBOX"); !strings.HasPrefix(got[len(got)-1], "b OK") {
		t.Fatalf("SELECT: %q", got)
	}
	return w
}

// TestIMAPSilentSelectedCutOff: a connection that selects INBOX and then
// says nothing is owed an update for each change to INBOX, which go-imap
// queues in memory until the client asks; past the limit the lab ends it
// with a BYE instead of holding more. A client that polls, or idles, is
// not cut off.
func TestIMAPSilentSelectedCutOff(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxStoredMessages = 10 })
	l.store.updates.limit = 30

	silent := selectedWire(t, l)
	polling := selectedWire(t, l)
	idling := selectedWire(t, l)
	idling.send("i IDLE")
	if got := idling.line(); !strings.HasPrefix(got, "+ ") {
		t.Fatalf("IDLE: %q", got)
	}
	// go-imap writes the continuation before it calls the session's Idle
	// (imapserver/idle.go), so wait until the lab knows: otherwise a
	// delivery in between counts against the idling connection.
	waitFor(t, func() bool {
		l.store.updates.mu.Lock()
		defer l.store.updates.mu.Unlock()
		for _, p := range l.store.updates.selected {
			if p.idling {
				return true
			}
		}
		return false
	})

	// 3 seeded + 7: INBOX reaches its cap of 10 with 7 EXISTS owed.
	deliverN(t, l, 7)
	// Past the cap each delivery is an EXISTS, then a FETCH (\Deleted)
	// and an EXPUNGE for the oldest: 7 + 3×7 = 28, within 30.
	deliverN(t, l, 7)
	got := polling.imapCmd("n", "NOOP")
	if n := len(got) - 1; n != 28 {
		t.Errorf("NOOP after 14 deliveries: %d untagged lines, want 28 (7 EXISTS, then 7×3): %q", n, got)
	}
	// One more delivery: silent owes 31, polling owes 3.
	deliverN(t, l, 1)
	silent.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if got := silent.line(); got != "* BYE "+byeTooManyUpdates {
		t.Fatalf("silent connection: %q, want the BYE", got)
	}
	if _, err := silent.r.ReadByte(); err != io.EOF {
		t.Errorf("after the BYE: %v, want the connection closed", err)
	}
	if got := polling.imapCmd("n2", "NOOP"); len(got) != 4 || got[3] != "n2 OK NOOP completed" {
		t.Errorf("polling connection: %q", got)
	}
	// IDLE received its updates as they came and is still served.
	idling.send("DONE")
	for {
		l := idling.line()
		if strings.HasPrefix(l, "i ") {
			if !strings.HasPrefix(l, "i OK") {
				t.Errorf("IDLE ended with %q", l)
			}
			break
		}
	}
	waitFor(t, func() bool {
		l.store.updates.mu.Lock()
		defer l.store.updates.mu.Unlock()
		return len(l.store.updates.selected) == 2
	})
}

// TestUpdateWatch: the count behind the cut-off, rule by rule.
func TestUpdateWatch(t *testing.T) {
	w := newUpdateWatch(10)
	a, b, c := &imapSession{}, &imapSession{}, &imapSession{}
	byes := make(chan *imapSession, 3)
	for _, s := range []*imapSession{a, b, c} {
		s.bye = func() { byes <- s }
	}
	w.selectMailbox(a, "INBOX")
	w.selectMailbox(b, "INBOX")
	w.selectMailbox(c, "Sent")
	owed := func(s *imapSession) int {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.selected[s].n
	}

	w.changed("INBOX", 4, 2, nil)
	w.changed("INBOX", 3, 0, a) // a's own STORE: go-imap does not tell a
	if owed(a) != 4 || owed(b) != 7 || owed(c) != 0 {
		t.Fatalf("owed a=%d b=%d c=%d, want 4 7 0", owed(a), owed(b), owed(c))
	}
	// After a FETCH, STORE or SEARCH the expunges are still owed.
	w.polled(b, false)
	if owed(b) != 2 {
		t.Fatalf("after a partial poll b owes %d, want its 2 expunges", owed(b))
	}
	w.polled(b, true)
	if owed(b) != 0 {
		t.Fatalf("after a full poll b owes %d", owed(b))
	}
	// In IDLE nothing is owed; a changed mailbox elsewhere is not counted.
	w.idle(a, true)
	w.changed("INBOX", 50, 0, nil)
	w.changed("Trash", 50, 0, nil)
	if owed(a) != 0 || owed(c) != 0 {
		t.Fatalf("owed a=%d (idling) c=%d", owed(a), owed(c))
	}
	// b is over 10: one BYE, however many changes follow.
	w.changed("INBOX", 1, 0, nil)
	if got := <-byes; got != b {
		t.Fatal("the BYE went to the wrong session")
	}
	select {
	case s := <-byes:
		t.Fatalf("a second BYE (%p)", s)
	case <-time.After(50 * time.Millisecond):
	}
	w.unselect(b)
	w.unselect(b)
	if len(w.selected) != 2 {
		t.Errorf("%d sessions tracked after unselect", len(w.selected))
	}
}

func TestSetSize(t *testing.T) {
	cases := []struct {
		set   imap.NumSet
		total int
		want  int
	}{
		{imap.SeqSetNum(1, 2, 3), 10, 3},
		{imap.SeqSet{{Start: 1, Stop: 0}}, 10, 10}, // 1:*
		{imap.SeqSet{{Start: 5, Stop: 2}}, 10, 4},  // 5:2 is 2:5
		{imap.SeqSet{{Start: 1, Stop: 4000000000}}, 100, 100},
		{imap.UIDSetNum(7, 900), 100, 2},
		{imap.UIDSet{{Start: 1, Stop: 0}}, 3, 3},
		{imap.SearchRes(), 42, 42},
	}
	for _, tc := range cases {
		if got := setSize(tc.set, tc.total); got != tc.want {
			t.Errorf("setSize(%v, %d) = %d, want %d", tc.set, tc.total, got, tc.want)
		}
	}
}
