package lab

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
)

// Messages in flight.
//
// A message is held in memory while it is received (SMTP DATA, IMAP
// APPEND) and copied on its way into the store: the store keeps it with
// CRLF line endings for POP3, and go-imap's in-memory mailbox reads it into
// a buffer of its own that grows by doubling. Each connection may send a
// message of MaxMessageBytes (10 MB, Postfix's default), so without a bound
// 64 connections sending at once took the lab's resident set to 1.9 GB. The
// bytes of messages being received are therefore charged to a budget,
// lab-wide and per client address, at msgCopies times their size beyond a
// free allowance that everyday messages never exceed. A message that does
// not fit is refused as a temporary failure, the way a mail server short of
// storage refuses it: SMTP 452 4.3.1 "Insufficient system storage" (RFC
// 5321 §4.2.3, RFC 3463 §3.4, Postfix's words), IMAP NO [UNAVAILABLE] (RFC
// 5530 §3). The client may try again: the budget is given back as soon as
// a message is stored or refused. What stays in the store afterwards is
// bounded by the mailbox caps (MaxStoredMessages, mailboxByteCap).
//
// With the defaults one client address can send one full-size message at
// a time, and two can at once lab-wide; messages under 128 KiB are never
// refused for want of budget. With the store's caps (store.go) that keeps
// the lab's memory for mail under about 250 MiB whatever clients send.
const (
	msgFreeBytes = 128 << 10 // of each message, not charged
	// msgCopies: the receiving buffer (up to twice the bytes, as it grows
	// by doubling), the store's copy and go-imap's (up to twice again).
	msgCopies          = 5
	msgBudgetTotal     = 112 << 20
	msgBudgetPerClient = 56 << 20
)

// errNoBudget: the message would go over the budget.
var errNoBudget = errors.New("too many large messages in flight")

// msgBudget is the budget. Its zero value is unusable; see newMsgBudget.
type msgBudget struct {
	total, perClient int64

	mu       sync.Mutex
	used     int64
	byClient map[string]int64
}

func newMsgBudget(total, perClient int64) *msgBudget {
	return &msgBudget{total: total, perClient: perClient, byClient: make(map[string]int64)}
}

// take charges n bytes to client if both budgets allow it.
func (b *msgBudget) take(client string, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.total || b.byClient[client]+n > b.perClient {
		return false
	}
	b.used += n
	b.byClient[client] += n
	return true
}

// give returns n bytes charged to client.
func (b *msgBudget) give(client string, n int64) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	if b.byClient[client] -= n; b.byClient[client] <= 0 {
		delete(b.byClient, client)
	}
}

// charge is what a message of size bytes costs.
func charge(size int64) int64 { return msgCopies * max(0, size-msgFreeBytes) }

// reserve charges client for a message whose size is known (an IMAP
// literal) and returns the function that gives it back.
func (b *msgBudget) reserve(client string, size int64) (release func(), err error) {
	n := charge(size)
	if n > 0 && !b.take(client, n) {
		return func() {}, errNoBudget
	}
	return func() { b.give(client, n) }, nil
}

// receive appends r's bytes to buf (which may hold a prefix already),
// charging client as they arrive; past limit bytes from r it fails with
// errTooBig, and when the budget runs out with errNoBudget. release gives
// the charge back and is never nil.
func (b *msgBudget) receive(client string, buf *bytes.Buffer, r io.Reader, limit int64, errTooBig error) (release func(), err error) {
	var charged int64
	release = func() { b.give(client, charged) }
	chunk := make([]byte, 32<<10)
	var n int64
	for {
		k, err := r.Read(chunk)
		if k > 0 {
			n += int64(k)
			if n > limit {
				return release, errTooBig
			}
			if need := charge(n) - charged; need > 0 {
				if !b.take(client, need) {
					return release, errNoBudget
				}
				charged += need
			}
			buf.Write(chunk[:k])
		}
		if errors.Is(err, io.EOF) {
			return release, nil
		}
		if err != nil {
			return release, err
		}
	}
}

// clientOf is the address a connection's budget is charged to: the
// labConn's client key, or the remote host outside a lab.
func clientOf(conn net.Conn) string {
	if lc := labConnOf(conn); lc != nil {
		return lc.client
	}
	return clientKey(conn.RemoteAddr())
}
