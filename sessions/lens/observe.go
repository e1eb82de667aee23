package lens

import (
	"bytes"
	"slices"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Boundary says how a connection turned into TLS, as an observer saw it.
type Boundary string

const (
	BoundaryNone     Boundary = "none"     // TLS has not begun (or never did)
	BoundaryStartTLS Boundary = "starttls" // cleartext first, then STARTTLS/STLS
	BoundaryImplicit Boundary = "implicit" // TLS from the first byte
)

// Annotation keys of the boundary events (sessions and mitm emit them).
const (
	annBoundaryStartTLS = "tls.boundary.starttls"
	annBoundaryImplicit = "tls.boundary.implicit"
)

// Traffic counts bytes in each direction.
type Traffic struct {
	C2S int `json:"c2s"`
	S2C int `json:"s2c"`
}

// Total is both directions.
func (t Traffic) Total() int { return t.C2S + t.S2C }

func (t *Traffic) add(dir wire.Direction, n int) {
	switch dir {
	case wire.ClientToServer:
		t.C2S += n
	case wire.ServerToClient:
		t.S2C += n
	}
}

// ClearCredential is a secret an observer read in the clear: the mechanism
// and user name, and whether a password came with it (never the password
// itself: renderers that show it take it, masked or not, from the event
// named by Seq).
type ClearCredential struct {
	Seq       int    `json:"seq"`
	Mechanism string `json:"mechanism"`
	Username  string `json:"username,omitempty"`
	Password  bool   `json:"password"`
}

// Observation is what a passive observer on one connection's path has
// learned up to a given event. Every field comes from events that crossed
// the wire (OnWire); nothing here is known only to an endpoint. Strings are
// as they crossed the wire: renderers must sanitize them.
type Observation struct {
	// Leg is the connection observed ("" for a single-connection session).
	Leg string `json:"leg,omitempty"`
	// Events counts the events considered (of this leg, up to the event
	// asked for).
	Events int `json:"events"`

	// Connected: the observer saw the TCP connection open (addresses,
	// ports and timing are then known, RFC 793); Closed: and end.
	Connected bool `json:"connected"`
	Closed    bool `json:"closed"`
	// Proto is the protocol of the lines seen in the clear (smtp, pop3,
	// imap, http), "" when none was.
	Proto string `json:"proto,omitempty"`

	// Boundary is how TLS began; BoundaryNone until it did.
	Boundary Boundary `json:"boundary"`

	// ClearLines counts protocol lines read in the clear, Cleartext their
	// bytes (and bytes injected before TLS), per direction: readable and
	// changeable by anyone on the path (RFC 8314 §1).
	ClearLines int     `json:"clear_lines"`
	Cleartext  Traffic `json:"cleartext"`
	// RoundTrips counts the client's cleartext turns the server answered
	// (a client line followed by a server one); the greeting alone is not
	// one.
	RoundTrips int `json:"round_trips"`
	// Commands are the client's verbs seen in the clear, first use order.
	Commands []string `json:"commands,omitempty"`
	// Greeting is the server's first cleartext line; GreetingHost the
	// domain an SMTP greeting names (RFC 5321 §4.2).
	Greeting     string `json:"greeting,omitempty"`
	GreetingHost string `json:"greeting_host,omitempty"`
	// ClientName is the name the client announced in the clear (EHLO/HELO).
	ClientName string `json:"client_name,omitempty"`
	// Capabilities is the last capability list read in the clear.
	Capabilities []string `json:"capabilities,omitempty"`
	// Credentials are the secrets read in the clear, in order; AUTH LOGIN
	// and USER/PASS, which show the user on one line and the password on
	// the next, count once.
	Credentials []ClearCredential `json:"credentials,omitempty"`
	// EnvelopeInClear: a message's envelope (MAIL FROM, RCPT TO) or its
	// content crossed in the clear (RFC 5321 §3.3).
	EnvelopeInClear bool `json:"envelope_in_clear,omitempty"`
	// Injected counts the bytes a server sent after its STARTTLS go-ahead
	// and before TLS (RFC 3207 §4.2): readable, and an attacker's to write.
	Injected int `json:"injected,omitempty"`

	// Handshake counts the TLS records that crossed unencrypted (hellos,
	// change_cipher_spec, cleartext alerts), record headers included.
	Handshake Traffic `json:"handshake"`
	// SNI lists the server names the client sent in its ClientHello (RFC
	// 6066 §3); with ECH (ECHOffered) it is the outer, public name.
	SNI        []string `json:"sni,omitempty"`
	ECHOffered bool     `json:"ech_offered,omitempty"`
	// ALPNOffered are the client's protocols (RFC 7301 §3.1); ALPNChosen
	// the server's choice when it crossed in the clear (a TLS 1.2
	// ServerHello; TLS 1.3 moves it into EncryptedExtensions, RFC 8446
	// §4.3.1).
	ALPNOffered []string `json:"alpn_offered,omitempty"`
	ALPNChosen  string   `json:"alpn_chosen,omitempty"`
	// VersionsOffered are the versions the ClientHello offered; Version and
	// CipherSuite what the ServerHello chose (RFC 8446 §4.1.3).
	VersionsOffered []string `json:"versions_offered,omitempty"`
	Version         string   `json:"version,omitempty"`
	CipherSuite     string   `json:"cipher_suite,omitempty"`
	// ServerHello is the ServerHello's one-line summary as the dissector
	// gave it (the negotiated parameters).
	ServerHello string `json:"server_hello,omitempty"`
	// HelloRetryRequest: the server asked for another key share (RFC 8446
	// §4.1.4).
	HelloRetryRequest bool `json:"hello_retry_request,omitempty"`
	// Certificates are the subjects of the certificates that crossed in
	// the clear, leaf first (TLS 1.2 and earlier, RFC 5246 §7.4.2);
	// CertificateHidden: the ServerHello chose TLS 1.3, which encrypts the
	// certificate (RFC 8446 §4.4.2).
	Certificates      []string `json:"certificates,omitempty"`
	CertificateHidden bool     `json:"certificate_hidden,omitempty"`
	// Alerts are the alerts read in the clear ("s2c fatal
	// handshake_failure").
	Alerts []string `json:"alerts,omitempty"`

	// Encrypted counts the encrypted records and their payload bytes: the
	// observer sees their type, length and timing only.
	EncryptedRecords int     `json:"encrypted_records"`
	Encrypted        Traffic `json:"encrypted"`
	// ToEncrypted is the time from the TCP connect to the first encrypted
	// record; -1 while there is none.
	ToEncrypted time.Duration `json:"to_encrypted_ns"`

	// Evidence names the events the facts rest on (by Seq), in order.
	Evidence []int `json:"evidence,omitempty"`
}

// Readable says whether the observer read any protocol content: a
// cleartext line or injected bytes.
func (o Observation) Readable() bool { return o.Cleartext.Total() > 0 }

// TLSBegun says whether the observer saw the connection turn into TLS.
func (o Observation) TLSBegun() bool { return o.Boundary != BoundaryNone }

// Observe is what a passive observer on leg's path learned from evs[0..upTo]
// (upTo included; a negative upTo considers nothing, one past the end all
// of them). Events of other legs are skipped: an observer sits on one path.
// In a stream without legs, leg "" is the whole session.
func Observe(evs []wire.Event, upTo int, leg string) Observation {
	ob := NewObserver(leg)
	for i := range evs {
		if i > upTo {
			break
		}
		ob.Add(evs[i])
	}
	return ob.Observation()
}

// Observer builds an Observation one event at a time, for renderers that
// receive a stream (the session screen) and must not loop over it again
// for every frame. Observe is the same loop.
type Observer struct {
	leg       string
	o         Observation
	connectAt time.Duration
	lastClear wire.Direction
	// pendingUser: the last credential showed a user but no password yet
	// (AUTH LOGIN, USER/PASS), so the next one completes it.
	pendingUser bool
}

// NewObserver starts an observation of leg.
func NewObserver(leg string) *Observer {
	return &Observer{leg: leg, o: Observation{Leg: leg, Boundary: BoundaryNone, ToEncrypted: -1}}
}

// Observation returns what was learned so far. It shares no memory with
// the observer.
func (b *Observer) Observation() Observation {
	o := b.o
	o.Commands = slices.Clone(o.Commands)
	o.Capabilities = slices.Clone(o.Capabilities)
	o.Credentials = slices.Clone(o.Credentials)
	o.SNI = slices.Clone(o.SNI)
	o.ALPNOffered = slices.Clone(o.ALPNOffered)
	o.VersionsOffered = slices.Clone(o.VersionsOffered)
	o.Certificates = slices.Clone(o.Certificates)
	o.Alerts = slices.Clone(o.Alerts)
	o.Evidence = slices.Clone(o.Evidence)
	return o
}

// Add takes the next event of the stream; events of other legs are
// ignored.
func (b *Observer) Add(ev wire.Event) {
	if ev.Leg != b.leg {
		return
	}
	o := &b.o
	o.Events++
	if !OnWire(ev) {
		return
	}
	switch ev.Kind {
	case wire.KindConnect:
		if !o.Connected {
			o.Connected, b.connectAt = true, ev.At
			b.evidence(ev)
		}
	case wire.KindClose:
		o.Closed = true
	case wire.KindBoundary:
		if o.Boundary == BoundaryNone {
			o.Boundary = BoundaryStartTLS
			if ev.Annotation == annBoundaryImplicit {
				o.Boundary = BoundaryImplicit
			}
			b.evidence(ev)
		}
	case wire.KindRecord:
		o.Handshake.add(ev.Dir, int(ev.Bytes())) // what crossed, when Raw keeps a part
		if ev.Record != nil && ev.Record.ContentType == "alert" {
			o.Alerts = appendUnique(o.Alerts, alertText(ev))
		}
	case wire.KindEncrypted:
		// A coalesced run of records (Record.Count) is that many records
		// and their total payload.
		o.EncryptedRecords += max(ev.Record.Records(), 1)
		if ev.Record != nil {
			o.Encrypted.add(ev.Dir, int(ev.Record.Payload()))
		}
		if o.ToEncrypted < 0 && o.Connected {
			o.ToEncrypted = ev.At - b.connectAt
			b.evidence(ev)
		}
	case wire.KindHandshake:
		b.handshake(ev)
	case wire.KindLine, wire.KindNote:
		b.cleartext(ev)
	}
}

func (b *Observer) evidence(ev wire.Event) {
	if n := len(b.o.Evidence); n == 0 || b.o.Evidence[n-1] != ev.Seq {
		b.o.Evidence = append(b.o.Evidence, ev.Seq)
	}
}

// cleartext records a protocol line or injected bytes read in the clear.
func (b *Observer) cleartext(ev wire.Event) {
	if !Readable(ev) {
		return
	}
	o := &b.o
	o.Cleartext.add(ev.Dir, int(ev.Bytes()))
	b.evidence(ev)
	if ev.Kind == wire.KindNote {
		o.Injected += int(ev.Bytes())
		return
	}
	o.ClearLines++
	if ev.Dir == wire.ServerToClient && b.lastClear == wire.ClientToServer {
		o.RoundTrips++
	}
	if ev.Dir == wire.ClientToServer || ev.Dir == wire.ServerToClient {
		b.lastClear = ev.Dir
	}
	if c := ev.Credential; c != nil && c.OnWire {
		cc := ClearCredential{Seq: ev.Seq, Mechanism: c.Mechanism, Username: c.Username, Password: c.Password != ""}
		if n := len(o.Credentials); n > 0 && b.pendingUser &&
			o.Credentials[n-1].Mechanism == c.Mechanism && o.Credentials[n-1].Username == c.Username {
			o.Credentials[n-1] = cc
		} else {
			o.Credentials = append(o.Credentials, cc)
		}
		b.pendingUser = !cc.Password
	}
	ln := ev.Line
	if ln == nil {
		return
	}
	if o.Proto == "" {
		o.Proto = ln.Proto
	}
	first := firstLine(ev.Raw)
	switch {
	case ev.Dir == wire.ServerToClient && o.Greeting == "":
		o.Greeting = first
		if ln.Proto == protocol.SMTP && ln.Code == "220" {
			o.GreetingHost = smtpGreetingHost(first)
		}
	case ev.Dir == wire.ClientToServer:
		if ln.Command != "" {
			o.Commands = appendUnique(o.Commands, ln.Command)
		}
		switch strings.ToUpper(ln.Command) {
		case "EHLO", "HELO":
			if fs := strings.Fields(first); len(fs) > 1 {
				o.ClientName = fs[1]
			}
		case "MAIL", "RCPT", "DATA":
			o.EnvelopeInClear = true
		}
		if ev.Annotation == "smtp.data.content" {
			o.EnvelopeInClear = true
		}
	}
	if len(ln.Capabilities) > 0 {
		o.Capabilities = slices.Clone(ln.Capabilities)
	}
}

// smtpGreetingHost is the domain of an SMTP greeting (RFC 5321 §4.2:
// Greeting = "220 " (Domain / address-literal) …; a multi-line greeting
// starts "220-Domain"), cut at 255 octets, the most a domain name has (RFC
// 1035 §2.3.4).
func smtpGreetingHost(first string) string {
	fs := strings.Fields(first)
	var host string
	switch {
	case len(fs) > 1 && fs[0] == "220":
		host = fs[1]
	case len(fs) > 0 && strings.HasPrefix(fs[0], "220-"):
		host = fs[0][len("220-"):]
	}
	return wire.Truncate(host, 255)
}

// firstLine is the first line of b without its terminator, cut at 200 bytes
// (a line may be up to the session's MaxLineLength; an observation only
// needs to say what it was).
func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return wire.Truncate(strings.TrimRight(string(b), "\r"), 200)
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
