package monitor

import (
	"slices"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Flag is something careless a client did (doc.go says exactly when each
// is raised).
type Flag string

const (
	FlagCleartextCredentials Flag = "cleartext-credentials"
	FlagStartTLSIgnored      Flag = "starttls-ignored"
	FlagCertNotVerified      Flag = "certificate-not-verified"
)

// Annotation keys of the monitor's notes (content/annotations/monitor.md).
const (
	annFlagCleartextCredentials = "monitor.flag.cleartext_credentials"
	annFlagStartTLSIgnored      = "monitor.flag.starttls_ignored"
	annFlagCertNotVerified      = "monitor.flag.certificate_not_verified"
	annCertRefused              = "monitor.cert.refused"
	annCertOtherNameAsked       = "monitor.cert.other_name_asked"
	annConnect                  = "monitor.connect"
	annTLS12                    = "monitor.tls12"
)

// AnnotationKeys lists the keys the monitor's own events carry; the rest
// are the protocol's and the dissector's.
func AnnotationKeys() []string {
	return []string{annFlagCleartextCredentials, annFlagStartTLSIgnored, annFlagCertNotVerified,
		annCertRefused, annCertOtherNameAsked, annConnect, annTLS12}
}

func joinFlags(fs []Flag) string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = string(f)
	}
	return strings.Join(s, ", ")
}

// CertCheck is what a lab.ModeOtherName endpoint learned of a client's
// certificate check.
type CertCheck string

const (
	CertNotTested CertCheck = ""        // not an other-name endpoint
	CertPending   CertCheck = "pending" // no data inside TLS yet, no refusal
	CertRefused   CertCheck = "refused" // the client ended the handshake (an alert, or closed before its Finished)
	CertAccepted  CertCheck = "accepted"
	// CertOwnName: the client asked for lab.OtherName (SNI), for which the
	// certificate is right.
	CertOwnName CertCheck = "asked-for-other-name"
)

// Client is the state of one watched connection.
type Client struct {
	ID       uint64
	Addr     string // the client's host:port
	Endpoint lab.Endpoint
	Opened   time.Time
	ClosedAt time.Time // zero while open
	Open     bool
	// TLS is how TLS began: "" (not yet, or never), lab.TLSStartTLS or
	// lab.TLSImplicit; TLSVersion the version the ServerHello chose.
	TLS        string
	TLSVersion string
	SNI        string
	BytesIn    int64 // client to server, as on the wire
	BytesOut   int64 // server to client
	Events     int
	Flags      []Flag
	Cert       CertCheck
}

// Proto is the connection's protocol (smtp, pop3, imap, https).
func (c Client) Proto() string { return c.Endpoint.Proto }

// TLSText says in a few words how the connection is protected.
func (c Client) TLSText() string {
	v := c.TLSVersion
	if v == "" {
		v = "TLS"
	}
	switch c.TLS {
	case lab.TLSImplicit:
		return "implicit " + v
	case lab.TLSStartTLS:
		return "STARTTLS → " + v
	}
	return "cleartext"
}

// Flagged says whether the client did something careless.
func (c Client) Flagged() bool { return len(c.Flags) > 0 }

// hasFlag reports whether f is in fs.
func hasFlag(fs []Flag, f Flag) bool { return slices.Contains(fs, f) }

// loginOrMail are the commands that log in or send mail (the verbs of
// protocol.ClientCommand).
var loginOrMail = []string{"AUTH", "USER", "PASS", "APOP", "LOGIN", "AUTHENTICATE", "MAIL", "RCPT", "DATA", "BDAT"}

// startTLSOffered says whether a capability list offers STARTTLS (STLS).
func startTLSOffered(caps []string) bool {
	for _, c := range caps {
		if k, _, _ := strings.Cut(c, " "); strings.EqualFold(k, "STARTTLS") || strings.EqualFold(k, "STLS") {
			return true
		}
	}
	return false
}

// flagsFrom is what the eavesdropper's observation says about a client
// on a connection not yet in TLS: the lens decides what crossed readable.
func flagsFrom(o lens.Observation, startTLSOfferedSeen bool) []Flag {
	var fs []Flag
	if len(o.Credentials) > 0 {
		fs = append(fs, FlagCleartextCredentials)
	}
	if startTLSOfferedSeen && !o.TLSBegun() && slices.ContainsFunc(o.Commands, func(v string) bool { return slices.Contains(loginOrMail, v) }) {
		fs = append(fs, FlagStartTLSIgnored)
	}
	return fs
}

// certEvidence classifies an event on an other-name endpoint: whether it
// shows the client going on inside TLS (data after its Finished) or
// refusing (an alert of its own before that). version is the TLS version
// the ServerHello chose.
func certEvidence(ev wire.Event, version uint16) (accepted, refused bool) {
	if ev.Dir != wire.ClientToServer {
		return false, false
	}
	switch {
	case ev.Kind == wire.KindLine && ev.Layer == wire.LayerDecrypted:
		return true, false
	case ev.Kind == wire.KindEncrypted && version != tlsmsg.VersionTLS13 && ev.Record != nil && ev.Record.ContentType == "application_data":
		// TLS 1.2: application data only follows both Finished messages
		// (RFC 5246 §7.4.9).
		return true, false
	case ev.Kind == wire.KindRecord && ev.Record != nil && ev.Record.Alert != nil,
		ev.Kind == wire.KindNote && ev.Layer == wire.LayerDecrypted && strings.HasPrefix(ev.Annotation, "tls.alert."):
		return false, true
	}
	return false, false
}
