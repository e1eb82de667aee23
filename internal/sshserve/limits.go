package sshserve

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// Limits bound what the students may hold of the server. Zero fields take
// DefaultLimits' values.
type Limits struct {
	// MaxSessions is how many students may be connected at once, all
	// addresses together. One SSH connection is one student: it may hold
	// one screen at a time.
	MaxSessions int
	// MaxPerAddr is how many of them may come from one address. A class
	// behind one NAT address needs it raised to the class's size.
	MaxPerAddr int
	// IdleTimeout ends a student's screen after this long without a key
	// (nor a mouse event) from the student. A connection without any
	// traffic is closed after twice this long.
	IdleTimeout time.Duration
	// LoginTimeout bounds the SSH handshake and login, as OpenSSH's
	// LoginGraceTime does: long enough to type a passphrase.
	LoginTimeout time.Duration
}

// DefaultLimits are the limits of `mailwire serve` without flags: a class
// of up to 40 at once, a few connections from each machine, 30 minutes
// without a key.
func DefaultLimits() Limits {
	return Limits{
		MaxSessions:  40,
		MaxPerAddr:   4,
		IdleTimeout:  30 * time.Minute,
		LoginTimeout: 60 * time.Second,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxSessions <= 0 {
		l.MaxSessions = d.MaxSessions
	}
	if l.MaxPerAddr <= 0 {
		l.MaxPerAddr = d.MaxPerAddr
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.LoginTimeout <= 0 {
		l.LoginTimeout = d.LoginTimeout
	}
	return l
}

// admission counts the connections held, in total and per address. A
// connection takes its place as it is accepted, before the handshake, so
// that slow handshakes count too; it gives it back when it closes.
type admission struct {
	max, maxPerAddr int

	mu      sync.Mutex
	total   int
	perAddr map[string]int
	// refused counts the refused connections still open (they are kept
	// until the client has read why); past maxRefused more are closed at
	// once, without a word.
	refused int
}

// maxRefused bounds the refused connections waiting to be told why.
const maxRefused = 64

func newAdmission(l Limits) *admission {
	return &admission{max: l.MaxSessions, maxPerAddr: l.MaxPerAddr, perAddr: map[string]int{}}
}

// admit takes a place for a connection from addr. ok false: refused,
// with why in words for the student (empty when the connection is to be
// dropped without a word, when too many refused ones are already open).
// release gives the place back; it is safe to call more than once.
func (a *admission) admit(addr string) (release func(), why string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.total >= a.max:
		why = fmt.Sprintf("the class is full (at most %d students at once): try again in a minute.", a.max)
	case a.perAddr[addr] >= a.maxPerAddr:
		why = fmt.Sprintf("too many connections from %s (at most %d from one address): close one and try again.", addr, a.maxPerAddr)
	default:
		a.total++
		a.perAddr[addr]++
		return a.releaser(func() {
			a.total--
			if a.perAddr[addr]--; a.perAddr[addr] <= 0 {
				delete(a.perAddr, addr)
			}
		}), "", true
	}
	if a.refused >= maxRefused {
		return func() {}, "", false
	}
	a.refused++
	return a.releaser(func() { a.refused-- }), why, false
}

// releaser runs undo once, under the lock.
func (a *admission) releaser(undo func()) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			undo()
		})
	}
}

// counts returns the connections held, in total and from addr.
func (a *admission) counts(addr string) (total, fromAddr int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total, a.perAddr[addr]
}

// addrKey is the address limits count by: the IP without the port (an
// IPv4-mapped IPv6 address as IPv4).
func addrKey(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		if v4 := ta.IP.To4(); v4 != nil {
			return v4.String()
		}
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}
