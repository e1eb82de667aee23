package tlsprobe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// Bounds on what one probe reads. The answer a probe wants is the
// server's first flight: under TLS 1.3 the ServerHello alone (the rest is
// encrypted, RFC 8446 §2), under TLS 1.2 and earlier the ServerHello, the
// Certificate, the ServerKeyExchange and ServerHelloDone (RFC 5246 §7.3).
const (
	// MaxAnswerBytes bounds the bytes read from the wire per probe. A
	// 200-certificate chain is about 70 KB; a server that sends more
	// than this before ServerHelloDone is cut off.
	MaxAnswerBytes = 512 << 10
	// MaxMessage bounds one handshake message (a Certificate message with
	// a long chain): four times the 64 KiB the dissector shows.
	MaxMessage = 256 << 10
	// maxCerts bounds the certificates kept from one Certificate message.
	maxCerts = 256
)

// RefusalKind says how a server turned a probe down.
type RefusalKind string

// How a probe ends without a ServerHello for the version offered.
const (
	// RefusedAlert: the server answered with a TLS alert (RFC 8446 §6),
	// named in Refusal.AlertName: protocol_version, handshake_failure,
	// insufficient_security, no_application_protocol, …
	RefusedAlert RefusalKind = "alert"
	// RefusedClosed: the server closed the connection without a word,
	// as Dovecot does for a version it does not speak.
	RefusedClosed RefusalKind = "closed"
	// RefusedReset: the connection was reset (TCP RST).
	RefusedReset RefusalKind = "reset"
	// RefusedTimeout: no answer within the probe's time limit.
	RefusedTimeout RefusalKind = "timeout"
	// RefusedOtherVersion: a ServerHello for another version than the one
	// offered (a lower one: the highest the server speaks, RFC 5246
	// §7.4.1.3), in Refusal.Version.
	RefusedOtherVersion RefusalKind = "other-version"
	// RefusedNotTLS: the first bytes were not a TLS record (a
	// cleartext greeting on an implicit-TLS port, garbage).
	RefusedNotTLS RefusalKind = "not-tls"
	// RefusedMalformed: TLS records that break the protocol (a record
	// over 2^14 bytes, a handshake message that does not parse, a
	// ServerHello with a suite that was not offered).
	RefusedMalformed RefusalKind = "malformed"
	// RefusedTooLong: the answer went past MaxAnswerBytes before a
	// ServerHello.
	RefusedTooLong RefusalKind = "too-long"
)

// Refusal says how a probe was turned down.
type Refusal struct {
	Kind RefusalKind `json:"kind"`
	// Alert and AlertName are the alert's description, when Kind is
	// RefusedAlert (Alert 0 is close_notify, a real value).
	Alert     uint8  `json:"alert"`
	AlertName string `json:"alert_name,omitempty"`
	// Fatal is the alert's level (RFC 5246 §7.2: 2 is fatal); TLS 1.3
	// makes every alert but close_notify fatal whatever it says (§6).
	Fatal bool `json:"fatal,omitempty"`
	// Version is what the server chose instead, for RefusedOtherVersion.
	Version uint16 `json:"version,omitempty"`
	// Detail says more in mailwire's words; server bytes in it are
	// quoted with Go escapes, but it is still peer-controlled text.
	Detail string `json:"detail,omitempty"`
	// Busy: a RefusedNotTLS whose bytes were the server saying "not now"
	// in cleartext (protocol.Busy: Exim's 421 on port 465 past
	// smtp_accept_max), not an answer to the hello.
	Busy bool `json:"busy,omitempty"`
}

// String says it in a few words: "alert handshake_failure", "closed".
func (r *Refusal) String() string {
	if r == nil {
		return ""
	}
	switch r.Kind {
	case RefusedAlert:
		return "alert " + r.AlertName
	case RefusedOtherVersion:
		return "answered " + tlsmsg.VersionName(r.Version)
	}
	return string(r.Kind)
}

// Answer is what a server said to one ClientHello.
type Answer struct {
	// Hello is true when a ServerHello (or HelloRetryRequest) came; the
	// fields below it are from that message and its flight.
	Hello bool `json:"hello"`
	// Version is the version the server chose: supported_versions'
	// selected_version when present (RFC 8446 §4.2.1), else the
	// ServerHello's version.
	Version uint16 `json:"version,omitempty"`
	Suite   uint16 `json:"suite,omitempty"`
	// HelloRetry: the answer was a HelloRetryRequest (RFC 8446 §4.1.4),
	// the server wanting another key share; it still names the suite.
	HelloRetry bool `json:"hello_retry,omitempty"`
	// Group is the key exchange group: from key_share under TLS 1.3,
	// from the ServerKeyExchange's named curve under ECDHE (RFC 8422
	// §5.4). DHBits is the size of the DHE prime (RFC 5246 §7.4.3).
	Group  uint16 `json:"group,omitempty"`
	DHBits int    `json:"dh_bits,omitempty"`
	// ALPN is the protocol the server selected (RFC 7301 §3.1).
	ALPN string `json:"alpn,omitempty"`
	// Certificates are the DER certificates of the Certificate message,
	// in the clear under TLS ≤ 1.2 (RFC 5246 §7.4.2), leaf first.
	Certificates [][]byte `json:"-"`
	// Refusal says why there was no ServerHello (nil when Hello).
	Refusal *Refusal `json:"refusal,omitempty"`
	// FlightError says why the flight after the ServerHello was not read
	// to its end, when it was not: the chain may then be missing.
	FlightError string `json:"flight_error,omitempty"`
	// Bytes is how many bytes were read.
	Bytes int `json:"bytes"`
}

// errFlightDone ends the reading loop once the answer is complete.
var errFlightDone = errors.New("flight complete")

// ReadAnswer reads a server's answer to a ClientHello from r, at most
// MaxAnswerBytes: the records up to the ServerHello, and with flight set,
// under TLS ≤ 1.2, on to ServerHelloDone for the certificates and the key
// exchange parameters. It never returns an error: how the reading ended is
// part of the answer (a close, a reset, a timeout from the connection's
// deadline, bytes that are not TLS).
func ReadAnswer(r io.Reader, flight bool) *Answer {
	c := &countingReader{r: io.LimitReader(r, MaxAnswerBytes)}
	br := bufio.NewReaderSize(c, 4096)
	a := &Answer{}
	p := answerParser{a: a, flight: flight}
	err := p.read(br)
	a.Bytes = c.n - br.Buffered()
	if errors.Is(err, errFlightDone) {
		return a
	}
	if a.Hello {
		if err != nil {
			a.FlightError = flightError(err, c.n >= MaxAnswerBytes)
		}
		return a
	}
	a.Refusal = refusalOf(err, c.n >= MaxAnswerBytes)
	return a
}

// answerParser follows the records of one answer. Records and their
// reassembly into handshake messages are its own (a bounded reader of one
// flight); the messages are decoded by the engine's typed parser, the one
// home of their structure.
type answerParser struct {
	a      *Answer
	flight bool
	hs     []byte // handshake bytes not yet parsed into messages
	p      tlsmsg.Parser
}

// malformed is an answer that breaks the protocol.
type malformed struct{ msg string }

func (m *malformed) Error() string { return m.msg }

func malformedf(format string, args ...any) error {
	return &malformed{fmt.Sprintf(format, args...)}
}

// notTLS is a first record header that is not TLS.
type notTLS struct{ got []byte }

func (n *notTLS) Error() string { return fmt.Sprintf("not a TLS record: %q", n.got) }

// alertErr is an alert received before the ServerHello.
type alertErr struct {
	level, desc uint8
}

func (e *alertErr) Error() string { return "alert " + tlsmsg.AlertDescriptionName(e.desc) }

func (p *answerParser) read(br *bufio.Reader) error {
	for first := true; ; first = false {
		hdr, err := br.Peek(5)
		if err != nil {
			if len(hdr) > 0 {
				if first && !plausiblePrefix(hdr) {
					return &notTLS{got: bytes.Clone(hdr)}
				}
				return fmt.Errorf("record header cut after %d bytes: %w", len(hdr), truncated(err))
			}
			return err
		}
		if !plausibleHeader(hdr) {
			if first {
				// Show what came instead: the bytes that arrived with the
				// header, up to a line's worth.
				got, _ := br.Peek(min(br.Buffered(), 64))
				return &notTLS{got: bytes.Clone(got)}
			}
			return malformedf("record of type %d, version 0x%02x%02x is not TLS", hdr[0], hdr[1], hdr[2])
		}
		typ := hdr[0]
		n := int(hdr[3])<<8 | int(hdr[4])
		// RFC 8446 §5.1, RFC 5246 §6.2.1: a plaintext fragment is at most
		// 2^14 bytes; a longer one is a record_overflow.
		if n > maxPlaintext {
			return malformedf("a record of %d bytes, over the 2^14 of RFC 8446 §5.1", n)
		}
		if _, err := br.Discard(5); err != nil {
			return err
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return fmt.Errorf("record of %d bytes cut short: %w", n, truncated(err))
		}
		switch typ {
		case dissect.RecordAlert:
			if p.a.Hello {
				return fmt.Errorf("alert after the ServerHello: %s", alertText(body))
			}
			if len(body) != 2 {
				return malformedf("an alert record of %d bytes (RFC 8446 §6: 2)", len(body))
			}
			return &alertErr{level: body[0], desc: body[1]}
		case dissect.RecordHandshake:
			if err := p.handshake(body); err != nil {
				return err
			}
		default:
			if !p.a.Hello {
				return malformedf("a %s record before the ServerHello", dissect.RecordTypeName(typ))
			}
			// Under TLS ≤ 1.2 the flight is over when anything but
			// handshake records come (a resumption's ChangeCipherSpec).
			return errFlightDone
		}
	}
}

// plausibleHeader says whether a record header could be TLS: a known
// content type and major version 3 (RFC 8446 §5.1).
func plausibleHeader(h []byte) bool {
	return plausiblePrefix(h[:2])
}

// plausiblePrefix is plausibleHeader for the first bytes of a header.
func plausiblePrefix(h []byte) bool {
	if len(h) > 0 && (h[0] < dissect.RecordChangeCipherSpec || h[0] > dissect.RecordHeartbeat) {
		return false
	}
	return len(h) < 2 || h[1] == 3
}

// handshake takes one handshake record's fragment and parses the messages
// it completes (a message may span records, RFC 8446 §5.1).
func (p *answerParser) handshake(frag []byte) error {
	p.hs = append(p.hs, frag...)
	for len(p.hs) >= 4 {
		n := int(p.hs[1])<<16 | int(p.hs[2])<<8 | int(p.hs[3])
		if n > MaxMessage {
			return malformedf("a handshake message of %d bytes, over mailwire's %d", n, MaxMessage)
		}
		if len(p.hs) < 4+n {
			return nil
		}
		if err := p.message(p.hs[:4+n]); err != nil {
			return err
		}
		p.hs = p.hs[4+n:]
	}
	return nil
}

// message takes one complete handshake message, header included.
func (p *answerParser) message(msg []byte) error {
	a := p.a
	typ := msg[0]
	if !a.Hello {
		if typ != tlsmsg.TypeServerHello {
			return malformedf("handshake message type %d where the ServerHello belongs", typ)
		}
		h := p.p.Parse(msg)
		sh := h.ServerHello
		if sh == nil || h.Error != "" {
			return malformedf("a ServerHello that does not parse (RFC 8446 §4.1.3): %s", h.Error)
		}
		a.Hello = true
		a.Version, a.Suite = sh.SelectedVersion(), sh.CipherSuite
		a.HelloRetry = sh.IsHelloRetryRequest()
		a.Group, _ = sh.KeyShareGroup()
		a.ALPN = sh.ALPN()
		// TLS 1.3 encrypts everything after the ServerHello; a
		// HelloRetryRequest waits for a second ClientHello.
		if !p.flight || a.HelloRetry || a.Version >= VersionTLS13 {
			return errFlightDone
		}
		return nil
	}
	switch typ {
	case tlsmsg.TypeCertificate:
		h := p.p.Parse(msg)
		if h.Error != "" || h.Certificate == nil {
			return malformedf("a Certificate message that does not parse (RFC 5246 §7.4.2): %s", h.Error)
		}
		for _, e := range h.Certificate.Entries[:min(len(h.Certificate.Entries), maxCerts)] {
			a.Certificates = append(a.Certificates, e.DER)
		}
	case tlsmsg.TypeServerKeyExchange:
		keyExchange(a, p.p.Parse(msg).ServerKeyExchange)
	case tlsmsg.TypeServerHelloDone:
		return errFlightDone
	}
	return nil
}

// keyExchange keeps the ServerKeyExchange's parameters: the named curve
// (RFC 8422 §5.4) or the DH prime's size (RFC 5246 §7.4.3). The parser
// reads them in the form the chosen suite's key exchange has (the
// registry, tlsmsg.Suite); for a value outside the registry it guesses
// from the first byte, and the guess is kept only when it fits no known
// suite's form either way.
func keyExchange(a *Answer, ske *tlsmsg.ServerKeyExchange) {
	info, known := Info(a.Suite)
	switch {
	case ske == nil:
	case ske.KeyExchange == tlsmsg.KeyExchangeECDHE && (!known || info.KeyExchange == "ECDHE"):
		a.Group = ske.Curve
	case ske.KeyExchange == tlsmsg.KeyExchangeDHE && (!known || info.KeyExchange == "DHE"):
		a.DHBits = ske.DHPrimeBits
	}
}

// refusalOf turns how the reading ended, before any ServerHello, into a
// refusal.
func refusalOf(err error, limited bool) *Refusal {
	var al *alertErr
	var nt *notTLS
	var bad *malformed
	switch {
	case errors.As(err, &al):
		return &Refusal{Kind: RefusedAlert, Alert: al.desc, AlertName: tlsmsg.AlertDescriptionName(al.desc), Fatal: al.level == 2}
	case errors.As(err, &nt):
		return &Refusal{Kind: RefusedNotTLS, Detail: fmt.Sprintf("the server sent %q", nt.got), Busy: protocol.Busy(nt.got)}
	case errors.As(err, &bad):
		return &Refusal{Kind: RefusedMalformed, Detail: bad.msg}
	case limited:
		return &Refusal{Kind: RefusedTooLong, Detail: fmt.Sprintf("more than %d bytes without a ServerHello", MaxAnswerBytes)}
	}
	if k := netKind(err); k != "" {
		r := &Refusal{Kind: k}
		if k == RefusedClosed && errors.Is(err, io.ErrUnexpectedEOF) {
			r.Kind, r.Detail = RefusedMalformed, err.Error()
		}
		return r
	}
	return &Refusal{Kind: RefusedMalformed, Detail: err.Error()}
}

// netKind classifies a read error: a close, a reset, a timeout.
func netKind(err error) RefusalKind {
	var ne net.Error
	switch {
	case err == nil:
		return ""
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return RefusedTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return RefusedReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return RefusedClosed
	}
	return ""
}

// flightError says why the flight after a ServerHello ended early.
func flightError(err error, limited bool) string {
	if limited {
		return fmt.Sprintf("the flight went past %d bytes", MaxAnswerBytes)
	}
	if k := netKind(err); k != "" && !errors.Is(err, io.ErrUnexpectedEOF) {
		return string(k) + " before ServerHelloDone"
	}
	return err.Error()
}

// truncated turns an EOF inside a record into io.ErrUnexpectedEOF, kept
// wrapped so a reset or timeout stays visible.
func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func alertText(body []byte) string {
	if len(body) != 2 {
		return fmt.Sprintf("%d bytes", len(body))
	}
	return tlsmsg.AlertDescriptionName(body[1])
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
