package lab

import (
	"slices"

	"github.com/emersion/go-imap/v2"
)

// mailboxIndex is what the store keeps of one mailbox next to go-imap's
// in-memory record of it: each message's UID and size, oldest first, and
// the total. The lab's cap is checked against these totals, in constant
// time, instead of asking go-imap, whose STATUS (SIZE) adds up every
// message and whose SEARCH parses every message's header.
//
// The index follows go-imap exactly because every change to which
// messages a mailbox holds goes through the store, under store.mu:
// delivery, APPEND, COPY, MOVE, EXPUNGE (and CLOSE), POP3's UPDATE state
// and the cap's own evictions. TestStoreIndexRandomOps checks it.
type mailboxIndex struct {
	// order holds the UIDs in ascending order, which is the order of
	// arrival: go-imap gives each new message the mailbox's next UID
	// (RFC 9051 §2.3.1.1). A removed UID stays in order until it reaches
	// the front or the slice is compacted, so removal costs no shifting.
	order []imap.UID
	head  int // order[head] is the oldest message held, if any
	live  map[imap.UID]indexEntry
	bytes int64
}

type indexEntry struct {
	size int64
	// body is the message's bytes, kept for INBOX only: POP3 serves them,
	// since go-imap's in-memory mailbox cannot be read outside an IMAP
	// connection.
	body []byte
}

// indexedMessage is an entry with its UID.
type indexedMessage struct {
	uid imap.UID
	indexEntry
}

func newMailboxIndex() *mailboxIndex {
	return &mailboxIndex{live: make(map[imap.UID]indexEntry)}
}

// count is the number of messages held.
func (x *mailboxIndex) count() int { return len(x.live) }

// add records a message go-imap has just stored.
func (x *mailboxIndex) add(uid imap.UID, size int64, body []byte) {
	if old, ok := x.live[uid]; ok {
		x.bytes -= old.size
	} else if n := len(x.order); n == 0 || x.order[n-1] < uid {
		x.order = append(x.order, uid) // the usual case: the newest UID
	} else {
		// Never happens while UIDs only grow; kept correct all the same.
		i, _ := slices.BinarySearch(x.order[x.head:], uid)
		x.order = slices.Insert(x.order, x.head+i, uid)
	}
	x.live[uid] = indexEntry{size: size, body: body}
	x.bytes += size
}

// remove forgets a message; it reports whether the index held it.
func (x *mailboxIndex) remove(uid imap.UID) (indexEntry, bool) {
	e, ok := x.live[uid]
	if !ok {
		return indexEntry{}, false
	}
	delete(x.live, uid)
	x.bytes -= e.size
	x.skipRemoved()
	// Compact once removed UIDs outnumber the messages held: each UID is
	// copied at most once per removal of another, so O(1) amortised.
	if len(x.order)-x.head > 2*len(x.live)+32 || x.head > len(x.order)/2+32 {
		kept := make([]imap.UID, 0, len(x.live))
		for _, u := range x.order[x.head:] {
			if _, ok := x.live[u]; ok {
				kept = append(kept, u)
			}
		}
		x.order, x.head = kept, 0
	}
	return e, true
}

// skipRemoved moves head past removed UIDs, so that order[head] is the
// oldest message held.
func (x *mailboxIndex) skipRemoved() {
	for x.head < len(x.order) {
		if _, ok := x.live[x.order[x.head]]; ok {
			return
		}
		x.head++
	}
}

// overCap returns the oldest messages whose removal brings the mailbox
// down to at most maxMessages messages and maxBytes bytes: the ones the
// lab's cap drops, oldest first. Under the cap it returns nil at once.
func (x *mailboxIndex) overCap(maxMessages int, maxBytes int64) []imap.UID {
	n, b := len(x.live), x.bytes
	if n <= maxMessages && b <= maxBytes {
		return nil
	}
	var drop []imap.UID
	for _, u := range x.order[x.head:] {
		if n <= maxMessages && b <= maxBytes {
			break
		}
		e, ok := x.live[u]
		if !ok {
			continue
		}
		drop = append(drop, u)
		n--
		b -= e.size
	}
	return drop
}

// messages lists the messages held, oldest first.
func (x *mailboxIndex) messages() []indexedMessage {
	out := make([]indexedMessage, 0, len(x.live))
	for _, u := range x.order[x.head:] {
		if e, ok := x.live[u]; ok {
			out = append(out, indexedMessage{uid: u, indexEntry: e})
		}
	}
	return out
}
