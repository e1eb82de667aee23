package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Relay: the lab's only way to send mail onward, for the hops scenario
// (MUA → submission → MTA → port 25 → MX → mailbox). The lab never relays
// unless Options.Relay is set, and then only for one domain, only from an
// authenticated submission client (RFC 6409 §4.3, as Postfix's
// permit_sasl_authenticated), and only through the Deliver function the
// caller gives: the lab itself dials nothing. The scenario delivers with
// mailwire's own session engine, so the relay hop is recorded as events.

// Relay configures relaying for one domain.
type Relay struct {
	// Domain: recipients @Domain are accepted from authenticated
	// submission (587 after STARTTLS and AUTH, 465 after AUTH) and handed
	// to Deliver. Port 25 still refuses them as relaying.
	Domain string
	// Deliver is called once per message, in its own goroutine, after the
	// lab has answered 250 to the end of DATA (the message is "queued").
	// Its context ends when the lab closes or after RelayTimeout. An error
	// goes to Options.Logf; the lab does not retry or bounce.
	Deliver func(ctx context.Context, env Envelope) error
}

// Envelope is one queued message for Relay.Deliver.
type Envelope struct {
	ID   string   // the queue ID, also in the Received: header
	From string   // MAIL FROM (RFC 5321 §4.1.1.2), "" for a null sender
	To   []string // the recipients @Relay.Domain
	// Data is the message as queued: the lab's Return-Path-less Received:
	// header on top (RFC 5321 §4.4), CRLF line ends.
	Data       []byte
	ReceivedAt time.Time
}

// Bounds of relaying: deliveries at once (a further message gets a
// temporary 451, RFC 5321 §4.2.5) and how long one may take.
const (
	MaxRelayInFlight = 4
	RelayTimeout     = 30 * time.Second
)

var errRelayBusy = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
	Message: "Error: too many messages being relayed, try again later"}

// relayer runs the deliveries of one lab.
type relayer struct {
	cfg  Relay
	stop <-chan struct{} // the lab's stop channel
	logf func(format string, args ...any)

	mu     sync.Mutex
	closed bool
	busy   int
	wg     sync.WaitGroup
}

// validate checks Options.Relay.
func (r *Relay) validate() error {
	if r == nil {
		return nil
	}
	d := strings.ToLower(strings.TrimSpace(r.Domain))
	switch {
	case d == "" || strings.ContainsAny(d, "@ \t\r\n"):
		return fmt.Errorf("relay domain %q: want a domain name", r.Domain)
	case isLocalDomain(d):
		return fmt.Errorf("relay domain %q is the lab's own", r.Domain)
	case r.Deliver == nil:
		return errors.New("relay: no Deliver function")
	}
	return nil
}

// relays says whether addr is in the relay domain.
func (r *relayer) relays(addr string) bool {
	if r == nil {
		return false
	}
	_, domain, ok := strings.Cut(addr, "@")
	return ok && strings.EqualFold(domain, r.cfg.Domain)
}

// acquire takes one of the MaxRelayInFlight delivery slots, or refuses
// with a temporary 451 when the lab is closing or all are taken: the
// client keeps the message and retries (RFC 5321 §4.2.5), which is
// simpler and more honest for a lab than a queue that Close would have to
// throw away. Every acquire is followed by exactly one release or start.
func (r *relayer) acquire() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.busy >= MaxRelayInFlight {
		return errRelayBusy
	}
	r.busy++
	r.wg.Add(1)
	return nil
}

// release gives back a slot taken by acquire that will not be used.
func (r *relayer) release() {
	r.mu.Lock()
	r.busy--
	r.mu.Unlock()
	r.wg.Done()
}

// start runs Deliver for env in a new goroutine, in the slot acquire took.
// The delivery's context ends after RelayTimeout or when the lab closes.
func (r *relayer) start(env Envelope) {
	go func() {
		defer r.release()
		ctx, cancel := context.WithTimeout(context.Background(), RelayTimeout)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			select {
			case <-r.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		// The watcher ends before the slot is released, so Close,
		// waiting on the slots, leaves no goroutine behind.
		defer func() { cancel(); <-watched }()
		if err := r.cfg.Deliver(ctx, env); err != nil && r.logf != nil {
			r.logf("relay %s to %s: %v", env.ID, strings.Join(env.To, ", "), err)
		}
	}()
}

// close refuses new deliveries and waits for running ones, whose contexts
// the lab's stop channel has cancelled.
func (r *relayer) close() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

// newQueueID returns a short random queue ID, as Postfix's are.
func newQueueID() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// classify is classifyRecipient with the lab's own extra domains
// (Options.LocalDomains) and its relay domain.
func (l *Lab) classify(addr string) recipientStatus {
	local, domain, ok := strings.Cut(addr, "@")
	if ok && !strings.Contains(domain, "@") {
		for _, d := range l.opts.LocalDomains {
			if strings.EqualFold(domain, d) {
				return classifyRecipient(local + "@" + Hostname)
			}
		}
	}
	return classifyRecipient(addr)
}
