package lab

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// TestStoreByteCap: every mailbox, INBOX by delivery and the others by
// APPEND, keeps at most mailboxByteCap bytes, dropping the oldest, and
// still holds the newest message even when it is the largest the lab
// takes. Together the four hold at most 4×16 MiB.
func TestStoreByteCap(t *testing.T) {
	l := startLab(t, nil)
	msg := []byte("Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 1000)) // 1 MB
	for range 20 {
		if err := l.store.deliver(msg, time.Now()); err != nil {
			t.Fatal(err)
		}
		for _, mb := range mailboxes[1:] {
			if _, err := l.store.add(mb, msg, &imap.AppendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var total int64
	for _, mb := range mailboxes {
		st, err := l.store.user.Status(mb, &imap.StatusOptions{Size: true, NumMessages: true})
		if err != nil {
			t.Fatal(err)
		}
		if *st.Size > mailboxByteCap || *st.Size < mailboxByteCap-int64(len(msg)) {
			t.Errorf("%s holds %d bytes in %d messages, want just under %d", mb, *st.Size, *st.NumMessages, mailboxByteCap)
		}
		total += *st.Size
	}
	if total > 64<<20 {
		t.Errorf("the store holds %d bytes, want ≤ 64 MiB", total)
	}

	// The largest message the lab takes still fits, alone.
	huge := bytes.Repeat([]byte("y"), int(DefaultLimits().MaxMessageBytes))
	if err := l.store.deliver(huge, time.Now()); err != nil {
		t.Fatal(err)
	}
	bodies := inboxBodies(l.store)
	if len(bodies) == 0 {
		t.Fatal("INBOX is empty after the largest message")
	}
	if b := bodies[len(bodies)-1]; len(b) < len(huge) {
		t.Errorf("the newest message holds %d bytes, want the whole %d", len(b), len(huge))
	}
	checkIndex(t, l.store)
}
