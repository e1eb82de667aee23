package sessions

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TLSMode says when a session turns into TLS.
type TLSMode string

const (
	// TLSNone never starts TLS: everything stays readable on the path.
	TLSNone TLSMode = "none"
	// TLSStartTLS starts in cleartext and upgrades with STARTTLS/STLS
	// (RFC 3207, RFC 2595).
	TLSStartTLS TLSMode = "starttls"
	// TLSImplicit speaks TLS from the first byte (RFC 8314 §3).
	TLSImplicit TLSMode = "implicit"
	// TLSOpportunistic upgrades with STARTTLS/STLS when the server offers
	// it and goes on in cleartext when it does not (or refuses), without
	// enforcing the certificate check: what MTAs do on port 25 (RFC 3207
	// §4, RFC 7435 §1) and what careless mail clients do on 587, 110 and
	// 143. Anyone on the path who removes the offer turns it into
	// cleartext; the strip scenarios show it.
	TLSOpportunistic TLSMode = "opportunistic"
)

// usesSTARTTLS says whether the mode upgrades in band.
func (m TLSMode) usesSTARTTLS() bool { return m == TLSStartTLS || m == TLSOpportunistic }

// Role is what the session does on the server, which decides whether it
// authenticates and what it sends.
type Role string

const (
	// RoleTransfer is MTA to MTA on port 25 (RFC 5321): no AUTH, deliver a
	// message to a local recipient.
	RoleTransfer Role = "transfer"
	// RoleSubmission is a mail client submitting through its own server on
	// 587 (RFC 6409) or 465 (RFC 8314 §3.3): AUTH, then send.
	RoleSubmission Role = "submission"
	// RoleRetrieval is reading a mailbox (POP3, IMAP): log in and list.
	RoleRetrieval Role = "retrieval"
	// RoleWeb is HTTPS, shown for comparison.
	RoleWeb Role = "web"
)

// Default time limits of a session.
const (
	DefaultDialTimeout    = 10 * time.Second
	DefaultReadTimeout    = 15 * time.Second
	DefaultSessionTimeout = 2 * time.Minute
	fallbackEHLOName      = "mailwire.invalid" // RFC 2606 §2: .invalid never resolves
)

// Stage names a point of the dialogue after which a session may end on
// purpose (Options.StopAfter). Each stage ends with the protocol's own
// goodbye (QUIT, LOGOUT; on HTTPS the TLS close_notify), so stopping is a
// clean, successful session, never a failure.
type Stage string

const (
	// StageAll plays the whole dialogue (the zero value).
	StageAll Stage = ""
	// StageConnect ends after the server's greeting; on an implicit-TLS
	// port the handshake comes first (RFC 8314 §3), on HTTPS there is no
	// greeting and the session ends after the handshake.
	StageConnect Stage = "connect"
	// StageTLS ends once TLS is up and the capabilities were asked again
	// inside it (EHLO, CAPA, CAPABILITY: RFC 3207 §4.2, RFC 2595 §4,
	// RFC 9051 §6.2.1), which is what an admin checking a server wants to
	// see; without TLS (TLSNone, or an opportunistic client that went on
	// in cleartext) it ends where TLS would have begun.
	StageTLS Stage = "tls"
	// StageAuth ends after the login (or where it would have been, when no
	// credentials were given or the driver withheld them). HTTPS has none.
	StageAuth Stage = "auth"
)

// Stages lists the stages a session can stop after, in dialogue order.
var Stages = []Stage{StageConnect, StageTLS, StageAuth}

// Options describe one session. The zero value is not usable: set Target,
// or build it with OptionsForPort, then adjust.
type Options struct {
	// Target is the host:port to dial.
	Target string
	// Proto is protocol.SMTP, protocol.POP3, protocol.IMAP or protocol.HTTPS.
	Proto   string
	TLSMode TLSMode
	Role    Role

	// EHLOName is the name the SMTP client announces (RFC 5321 §4.1.1.1);
	// empty means DefaultEHLOName().
	EHLOName string
	// ServerName is sent as SNI (RFC 6066 §3) and checked against the
	// certificate; empty means the host part of Target.
	ServerName string
	// MinTLS and MaxTLS bound the version (tls.VersionTLS12, …); zero leaves
	// crypto/tls defaults.
	MinTLS, MaxTLS uint16
	// CipherSuites, when set, are the only TLS ≤ 1.2 suites offered
	// (crypto/tls's Config.CipherSuites: it keeps its own order, and
	// TLS 1.3's suites are not configurable; they are all AEAD, RFC 8446
	// §1.2). Nil offers crypto/tls's defaults. A scan finding's
	// session uses it to show the handshake that accepted a weak suite;
	// ImplementedSuite says which suites it can hold.
	CipherSuites []uint16
	// ALPN protocols to offer (RFC 7301), e.g. "h2", "http/1.1". Nil means
	// the default (DefaultHTTPSALPN for HTTPS, none for mail); an empty,
	// non-nil slice offers none.
	ALPN []string

	Verify  wire.VerifyMode
	RootCAs *x509.CertPool // for VerifyPool
	CAFile  string         // for VerifyCAFile

	Username string
	// Password is never serialised with the options (a recorded session
	// keeps it only where it crossed the wire, in the events).
	Password string `json:"-"`
	// UserWithoutPassword is a user name given without a password, which
	// a scripted session does not log in with (it never sends an empty
	// password; mailwire connect's port table runs such sessions). With
	// Username empty, the drivers' note names it rather than saying that
	// no credentials were given.
	UserWithoutPassword string
	// AuthMechanism is AuthPlain (default) or AuthLogin.
	AuthMechanism string
	// AllowCleartextAuth lets a driver send credentials before TLS when the
	// server offers it. Off by default: RFC 8314 §5.2 has a client refuse,
	// and the drivers then withhold the password with a note. The CLI
	// never sets it; scenarios that show a password on the wire do, and
	// against a server that is not the lab they log in as a decoy made up
	// per run (scenario/decoy.go), never with the user's password.
	AllowCleartextAuth bool

	// To is the envelope recipient (RFC 5321 §4.1.1.3). An SMTP session
	// sends a message only when To is set: against a server mailwire does
	// not own, nothing with side effects happens unless asked. The lab's
	// demo sets it (lab.DemoRecipient).
	To string
	// From is the envelope sender (RFC 5321 §4.1.1.2); empty means the
	// login (user@ServerName when it has no @), else mailwire@EHLOName.
	From string
	// Fetch lets a POP3 or IMAP session read the mailbox after logging in
	// (POP3 STAT, LIST, RETR 1; IMAP SELECT INBOX, FETCH of the newest
	// envelope). Off, a session logs in (when given credentials) and
	// leaves without reading anything. SMTP and HTTPS ignore it.
	Fetch bool
	// StopAfter ends the session on purpose after a stage (StageConnect,
	// StageTLS, StageAuth) with QUIT/LOGOUT; StageAll plays it all.
	StopAfter Stage
	// Message is the message an SMTP session sends (RFC 5322, lines ending
	// in CRLF or LF); nil means a short generated test message. A relaying
	// MTA (the hops scenario) passes on the message it queued. The driver
	// dot-stuffs it (RFC 5321 §4.5.2).
	Message []byte `json:"-"`

	DialTimeout    time.Duration // the TCP connect
	ReadTimeout    time.Duration // each read, including each handshake flight
	SessionTimeout time.Duration // the whole session, on top of the caller's ctx

	MaxLineLength int // bytes per protocol line, CRLF included
	MaxReplyLines int // lines per multi-line reply

	// Budget bounds the events, bytes, untagged responses and literals
	// the session keeps and shows (wire.Budget); its zero fields take the
	// defaults.
	Budget wire.Budget

	// Capture, when set, keeps every byte the connection carries, in
	// order and with when (wire.Capture), for an exporter that needs the
	// wire itself: a pcap (sessions/pcap). Nil records nothing.
	Capture *wire.Capture `json:"-"`
	// KeyLog, when set, receives the connection's TLS secrets in the NSS
	// key log format (crypto/tls's tls.Config.KeyLogWriter), with which
	// Wireshark decrypts a pcap of it: every secret of the session, the
	// application traffic ones included, so whoever holds the file reads
	// everything inside TLS. An error writing it is dropped rather than
	// failing the handshake. Nil writes nothing.
	KeyLog io.Writer `json:"-"`

	// Dial replaces the TCP dialer (tests, proxies); the ctx carries
	// DialTimeout. It must return a connection to addr.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error) `json:"-"`
	// Driver replaces the driver chosen from Proto.
	Driver Driver `json:"-"`
}

// OptionsForPort returns Options for dialing target with the semantics of
// a canonical port (25, 587, 465, 110, 995, 143, 993, 443), which may differ
// from target's own port (the lab listens on 10587 for 587). What each port
// speaks and is for comes from the one table of them, content.CanonicalPorts
// (RFC 8314 §7.3, RFC 6409, RFC 5321), whose names are the engine's.
func OptionsForPort(target string, port int) (Options, error) {
	c, ok := content.CanonicalPort(port)
	if !ok {
		var known []string
		for _, p := range content.CanonicalPorts() {
			known = append(known, strconv.Itoa(p.Port))
		}
		return Options{}, fmt.Errorf("port %d: not a mail port mailwire knows (%s)", port, strings.Join(known, ", "))
	}
	return Options{Target: target, Proto: c.Proto, TLSMode: TLSMode(c.TLS), Role: Role(c.Role), Verify: wire.VerifySystem}, nil
}

// DefaultEHLOName returns the host's name when it looks like a fully
// qualified domain name, else "mailwire.invalid". RFC 5321 §4.1.4 wants the
// client's FQDN; a bare "laptop" would be refused by some servers and would
// leak nothing useful anyway.
func DefaultEHLOName() string {
	h, err := os.Hostname()
	if err == nil && looksLikeFQDN(h) {
		return strings.ToLower(h)
	}
	return fallbackEHLOName
}

func looksLikeFQDN(h string) bool {
	if len(h) > 253 || !strings.Contains(h, ".") || strings.HasSuffix(h, ".local") {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// Validate checks the options as Run would, without dialing: what a
// caller (the CLI) can refuse as a usage error before anything starts. It
// does not read CAFile.
func (o Options) Validate() error {
	_, err := o.withDefaults()
	return err
}

// ServerNameOrHost is the name the session asks for: ServerName, else
// the host of Target. It is sent as SNI unless it is an IP address
// (tlsmsg.SNIFor, RFC 6066 §3), and the certificate is checked against
// it.
func (o Options) ServerNameOrHost() string {
	if o.ServerName != "" {
		return o.ServerName
	}
	host, _, _ := net.SplitHostPort(o.Target)
	return host
}

// withDefaults fills unset fields and validates the rest.
func (o Options) withDefaults() (Options, error) {
	_, port, err := net.SplitHostPort(o.Target)
	if err != nil {
		return o, fmt.Errorf("target %q: want host:port: %w", o.Target, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return o, fmt.Errorf("target %q: bad port: %w", o.Target, err)
	}
	if o.Proto == "" {
		o.Proto = protocol.SMTP
	}
	switch o.TLSMode {
	case "":
		o.TLSMode = TLSStartTLS
	case TLSNone, TLSStartTLS, TLSImplicit, TLSOpportunistic:
	default:
		return o, fmt.Errorf("tls mode %q: want none, starttls, opportunistic or implicit", o.TLSMode)
	}
	if o.Role == "" {
		o.Role = RoleSubmission
		if o.Proto == protocol.SMTP && port == "25" {
			o.Role = RoleTransfer
		}
	}
	if o.Proto == protocol.HTTPS && o.ALPN == nil {
		// Offer what a browser offers (RFC 7301), so the session shows
		// which protocol the server picks.
		o.ALPN = slices.Clone(DefaultHTTPSALPN)
	}
	if o.EHLOName == "" {
		o.EHLOName = DefaultEHLOName()
	}
	if strings.ContainsAny(o.EHLOName, " \r\n") {
		return o, errors.New("EHLO name must be one word without CR or LF")
	}
	o.ServerName = o.ServerNameOrHost()
	if o.Verify == "" {
		o.Verify = wire.VerifySystem
		if o.RootCAs != nil {
			o.Verify = wire.VerifyPool
		} else if o.CAFile != "" {
			o.Verify = wire.VerifyCAFile
		}
	}
	switch o.AuthMechanism = strings.ToUpper(o.AuthMechanism); o.AuthMechanism {
	case "":
		o.AuthMechanism = protocol.AuthPlain
	case protocol.AuthPlain, protocol.AuthLogin:
	default:
		return o, fmt.Errorf("auth mechanism %q: want PLAIN or LOGIN", o.AuthMechanism)
	}
	switch o.StopAfter {
	case StageAll, StageConnect, StageTLS:
	case StageAuth:
		if o.Proto == protocol.HTTPS {
			return o, errors.New("stop after auth: HTTPS has no login stage (want connect or tls)")
		}
	default:
		return o, fmt.Errorf("stop after %q: want connect, tls or auth", o.StopAfter)
	}
	if o.From == "" {
		o.From = "mailwire@" + o.EHLOName
		if strings.Contains(o.Username, "@") {
			o.From = o.Username
		} else if o.Username != "" {
			// RFC 5321 §4.1.2: an IP address is a mailbox's domain only
			// as an address literal (learner@[127.0.0.4]); Exim took
			// learner@127.0.0.4, a stricter server refuses it.
			o.From = o.Username + "@" + protocol.MailDomain(o.ServerName)
		}
	}
	for _, a := range []string{o.From, o.To, o.Username, o.UserWithoutPassword} {
		// Anything with CR or LF would let a field inject protocol lines.
		if strings.ContainsAny(a, "\r\n\x00") {
			return o, fmt.Errorf("%q: addresses and user names must not contain CR, LF or NUL", a)
		}
	}
	if strings.ContainsAny(o.Password, "\r\n") {
		return o, errors.New("password must not contain CR or LF")
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = DefaultSessionTimeout
	}
	if o.MaxLineLength <= 0 {
		o.MaxLineLength = protocol.DefaultMaxLineLength
	}
	if o.MaxLineLength < 64 {
		o.MaxLineLength = 64
	}
	if o.MaxReplyLines <= 0 {
		o.MaxReplyLines = protocol.DefaultMaxReplyLines
	}
	if o.MinTLS != 0 && o.MaxTLS != 0 && o.MinTLS > o.MaxTLS {
		return o, fmt.Errorf("min TLS %s is above max TLS %s", tls.VersionName(o.MinTLS), tls.VersionName(o.MaxTLS))
	}
	for _, id := range o.CipherSuites {
		if !ImplementedSuite(id, o.MaxTLS) {
			under := "TLS 1.2 or below"
			if o.MaxTLS != 0 {
				under = tls.VersionName(o.MaxTLS)
			}
			return o, fmt.Errorf("cipher suite %s is not one crypto/tls can offer under %s", tls.CipherSuiteName(id), under)
		}
	}
	o.Budget = o.Budget.WithDefaults()
	return o, nil
}

// ImplementedSuite says whether crypto/tls can offer suite id under
// version (TLS ≤ 1.2; 0: any of them): its secure and its insecure
// suites (RC4, 3DES, CBC-SHA256, static RSA key exchange), never
// anonymous, export, NULL, DHE or CAMELLIA ones, which it does not
// implement. A session held to such a suite cannot be run.
func ImplementedSuite(id, version uint16) bool {
	for _, list := range [][]*tls.CipherSuite{tls.CipherSuites(), tls.InsecureCipherSuites()} {
		for _, s := range list {
			if s.ID != id {
				continue
			}
			for _, v := range s.SupportedVersions {
				if v == version || version == 0 && v <= tls.VersionTLS12 {
					return v <= tls.VersionTLS12
				}
			}
		}
	}
	return false
}
