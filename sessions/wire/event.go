package wire

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// LineText is a one-line summary of raw: the first line without CRLF, and a
// count of the lines after it.
func LineText(raw []byte) string {
	s := string(raw)
	first, rest, _ := strings.Cut(s, "\n")
	first = strings.TrimSuffix(first, "\r")
	if n := strings.Count(strings.TrimSuffix(rest, "\n"), "\n"); rest != "" {
		return fmt.Sprintf("%s (+%d lines)", first, n+1)
	}
	return first
}

// Direction says which way bytes travelled.
type Direction string

const (
	ClientToServer Direction = "c2s"
	ServerToClient Direction = "s2c"
	// Local events did not cross the wire: notes, errors, the endpoint's own
	// view of the TLS state.
	Local Direction = "local"
)

// Kind says what an event is.
type Kind string

const (
	KindConnect   Kind = "connect"   // TCP connection established (Text: resolved address)
	KindLine      Kind = "line"      // one protocol line (or multi-line reply) as sent or read
	KindBoundary  Kind = "boundary"  // the point where the connection turns into TLS
	KindRecord    Kind = "record"    // a TLS record header as seen on the wire
	KindHandshake Kind = "handshake" // a TLS handshake message readable on the wire (or decrypted from a key log)
	KindEncrypted Kind = "encrypted" // an encrypted record: a passive observer sees only type and length
	KindTLSState  Kind = "tls-state" // what the client endpoint knows after the handshake
	KindNote      Kind = "note"      // an explanation mailwire adds (e.g. capabilities changed across STARTTLS)
	KindError     Kind = "error"     // a failure, with an explanation
	KindClose     Kind = "close"     // the connection ended
	// KindVerdict is a scenario's finding (credentials leaked, injected
	// command answered, …), computed from the events before it.
	KindVerdict Kind = "verdict"
)

// Legs of a session that runs through a machine in the middle (the
// stripping and implicit-TLS attack scenarios): the client's connection
// ends at the attacker, who opens its own to the server.
const (
	LegClientAttacker = "client-attacker"
	LegAttackerServer = "attacker-server"
)

// Layer says at which layer of the stack an event lives.
type Layer string

const (
	LayerTCP       Layer = "tcp"
	LayerCleartext Layer = "cleartext" // protocol bytes before TLS: anyone on the path reads them
	LayerTLS       Layer = "tls"       // TLS records and handshake messages in the clear
	LayerEncrypted Layer = "encrypted" // TLS records whose payload only the endpoints can read
	LayerDecrypted Layer = "decrypted" // protocol lines inside TLS, as the endpoint sees them
	LayerNote      Layer = "note"
)

// LineLayer is where a protocol line lives and who can read it, the one
// rule every producer of line events follows (the client's conversation,
// the attacker's relay, the lab monitor): before TLS it is cleartext that
// anyone on the path reads; inside TLS it is shown decrypted, as only the
// endpoints see it (RFC 8446 §5.2).
func LineLayer(inTLS bool) (Layer, Visibility) {
	if inTLS {
		return LayerDecrypted, VisibleEndpoints
	}
	return LayerCleartext, VisibleAnyone
}

// Visibility says who can read an event's content.
type Visibility string

const (
	// VisibleAnyone: cleartext, readable by anyone on the path (RFC 8314 §1).
	VisibleAnyone Visibility = "anyone"
	// VisibleMetadata: TLS handshake content sent in the clear (SNI, ALPN, and
	// before TLS 1.3 the certificate): an observer reads it, but it is metadata.
	VisibleMetadata Visibility = "metadata"
	// VisibleEndpoints: only the client and server can read it.
	VisibleEndpoints Visibility = "endpoints"
	// VisibleNone: the event did not cross the wire (notes, local errors).
	VisibleNone Visibility = "none"
)

// Event is one entry of a session's stream. Every renderer is a pure function
// of a []Event, so an event must carry enough to be replayed without the
// network: the raw bytes as they crossed the wire, and a decoded form.
type Event struct {
	Seq     int           `json:"seq"`
	At      time.Duration `json:"at_ns"` // since the session started dialing
	Kind    Kind          `json:"kind"`
	Dir     Direction     `json:"dir"`
	Layer   Layer         `json:"layer"`
	Visible Visibility    `json:"visible"`
	// Leg names the connection an event belongs to when a session has more
	// than one (e.g. "client-attacker" and "attacker-server"); empty otherwise.
	Leg string `json:"leg,omitempty"`
	// Raw holds the bytes exactly as they crossed the wire (or, for decrypted
	// lines, as the endpoint wrote or read them). Never sanitized: renderers
	// must sanitize before printing.
	Raw []byte `json:"raw,omitempty"`
	// RawLen is how many bytes crossed when Raw keeps only their first
	// part (the session's Budget: EventBytes, TotalBytes, Literal); 0
	// means Raw is all of them. Use Bytes for the count either way.
	RawLen int64 `json:"raw_len,omitempty"`
	// Text is a one-line human summary (e.g. the protocol line without CRLF,
	// "ClientHello", "application_data 53 bytes"). May hold peer-controlled
	// bytes: renderers must sanitize it.
	Text string `json:"text"`
	// Annotation is a key into content's annotation dictionary
	// (e.g. "smtp.reply.530", "tls.handshake.client_hello").
	Annotation string `json:"annotation,omitempty"`
	// Extra annotation keys (e.g. one per capability advertised in an EHLO reply).
	Also []string `json:"also,omitempty"`

	Line       *Line             `json:"line,omitempty"`
	Record     *Record           `json:"record,omitempty"`
	Handshake  *tlsmsg.Handshake `json:"handshake,omitempty"`
	TLS        *TLSState         `json:"tls,omitempty"`
	Credential *Credential       `json:"credential,omitempty"`
	Err        *ErrorInfo        `json:"error,omitempty"`
	Verdict    *Verdict          `json:"verdict,omitempty"`
}

// Verdict is what a scenario found, for a KindVerdict event.
type Verdict struct {
	Scenario string `json:"scenario"` // the scenario's name, e.g. "too-early"
	// Outcome is a short machine-readable result, e.g. "credentials-leaked",
	// "refused", "vulnerable", "not-vulnerable", "discarded".
	Outcome string `json:"outcome"`
	// Safe is true when nothing was exposed: what a careful client and
	// server achieve.
	Safe bool `json:"safe"`
	// Evidence names the events (by Seq) the verdict rests on.
	Evidence []int `json:"evidence,omitempty"`
	// Informational marks the result of a scenario that shows how
	// something works rather than testing for a flaw (compare, hops):
	// Safe still says whether anything was exposed, but the finding is
	// headed as a result, not as safe or unsafe.
	Informational bool `json:"informational,omitempty"`
}

// Headline heads a verdict in words that read without colour: "✓ SAFE"
// (nothing was exposed), "⚠ UNSAFE", or "ℹ RESULT" for an informational
// scenario's finding ("⚠ UNSAFE: TLS protected 3 of 3 network hops" read
// as a contradiction). A nil verdict is unsafe: nothing says otherwise.
func (v *Verdict) Headline() string {
	switch {
	case v == nil:
		return "⚠ UNSAFE"
	case v.Informational:
		return "ℹ RESULT"
	case v.Safe:
		return "✓ SAFE"
	}
	return "⚠ UNSAFE"
}

// Line is a decoded protocol line or reply.
type Line struct {
	Proto string `json:"proto"` // smtp, pop3, imap, http
	// Command is the verb a client sent (EHLO, STLS, a1 LOGIN → LOGIN).
	Command string `json:"command,omitempty"`
	// Code is an SMTP reply code (250), "+OK"/"-ERR" for POP3, the status
	// (OK/NO/BAD/BYE/PREAUTH, "*" untagged) for IMAP, the HTTP status.
	Code string `json:"code,omitempty"`
	// Enhanced is an RFC 3463 enhanced status code (5.7.0), when present.
	Enhanced string `json:"enhanced,omitempty"`
	// Capabilities advertised in this reply (EHLO keywords, CAPA, CAPABILITY).
	Capabilities []string `json:"capabilities,omitempty"`
	// Frame is set when the event is an HTTP/2 frame: Raw then holds the
	// frame (its 9-octet header, then the payload), which is binary, not
	// lines of text.
	Frame *Frame `json:"frame,omitempty"`
}

// Frame is an HTTP/2 frame header (RFC 9113 §4.1). An event that holds a
// header block continued in CONTINUATION frames (§6.10) has the first
// frame's header.
type Frame struct {
	// Type is the frame type's name (DATA, HEADERS, SETTINGS, …;
	// "UNKNOWN_FRAME_TYPE_n" for a type RFC 9113 §6 does not define),
	// TypeCode its number.
	Type     string `json:"type"`
	TypeCode uint8  `json:"type_code"`
	// Flags are the flag bits as sent; FlagNames says what they mean.
	Flags  uint8  `json:"flags"`
	Stream uint32 `json:"stream"`
	// Length is the payload's length as the header announces it.
	Length int `json:"length"`
}

// HTTP/2 frame types and flags that change where a frame's content sits
// (RFC 9113 §6.1, §6.2).
const (
	frameData    = 0x0
	frameHeaders = 0x1
	flagPadded   = 0x8
	flagPriority = 0x20
)

// ParseFrameHeader reads the 9-octet frame header at the start of raw
// (RFC 9113 §4.1: 24-bit length, 8-bit type, 8-bit flags, a reserved bit
// and a 31-bit stream identifier); nil when raw is shorter. typeName
// names the type (the driver's frame-type table).
func ParseFrameHeader(raw []byte, typeName func(uint8) string) *Frame {
	if len(raw) < 9 {
		return nil
	}
	return &Frame{
		Type:     typeName(raw[3]),
		TypeCode: raw[3],
		Flags:    raw[4],
		Stream:   (uint32(raw[5])<<24 | uint32(raw[6])<<16 | uint32(raw[7])<<8 | uint32(raw[8])) & 0x7fffffff,
		Length:   int(raw[0])<<16 | int(raw[1])<<8 | int(raw[2]),
	}
}

// FlagNames names the frame's flags (RFC 9113 §6): the same bit means
// END_STREAM on DATA and HEADERS and ACK on SETTINGS and PING.
func (f *Frame) FlagNames() []string {
	type flag struct {
		bit   uint8
		name  string
		types []uint8
	}
	const settings, ping, pushPromise, continuation = 0x4, 0x6, 0x5, 0x9
	var out []string
	for _, fl := range []flag{
		{0x1, "END_STREAM", []uint8{frameData, frameHeaders}},
		{0x1, "ACK", []uint8{settings, ping}},
		{0x4, "END_HEADERS", []uint8{frameHeaders, pushPromise, continuation}},
		{flagPadded, "PADDED", []uint8{frameData, frameHeaders, pushPromise}},
		{flagPriority, "PRIORITY", []uint8{frameHeaders}},
	} {
		if f.Flags&fl.bit != 0 && slices.Contains(fl.types, f.TypeCode) {
			out = append(out, fl.name)
		}
	}
	return out
}

// Payload returns the content of the frame whose bytes raw holds, as far
// as raw holds them: the payload after the header, less the pad length
// and padding of a PADDED frame (RFC 9113 §6.1, §6.2) and the priority
// fields of a HEADERS frame flagged PRIORITY (§6.2).
func (f *Frame) Payload(raw []byte) []byte {
	if f == nil || len(raw) < 9 {
		return nil
	}
	p := raw[9:]
	whole := len(p) >= f.Length
	p = p[:min(len(p), f.Length)]
	pad := 0
	if f.Flags&flagPadded != 0 && (f.TypeCode == frameData || f.TypeCode == frameHeaders) && len(p) > 0 {
		pad, p = int(p[0]), p[1:]
	}
	if f.Flags&flagPriority != 0 && f.TypeCode == frameHeaders {
		p = p[min(5, len(p)):] // stream dependency (4 octets), weight (1)
	}
	if whole && pad <= len(p) {
		p = p[:len(p)-pad]
	}
	return p
}

// Record is a TLS record header (RFC 8446 §5.1).
type Record struct {
	ContentType string `json:"content_type"` // handshake, alert, change_cipher_spec, application_data, or "unknown(23)"
	Version     string `json:"version"`      // legacy_record_version as written on the wire
	Length      int    `json:"length"`
	// Alert is what a plaintext alert record says (RFC 8446 §6); nil for
	// other records, and for an alert record that is not 2 bytes.
	Alert *tlsmsg.Alert `json:"alert,omitempty"`
	// Count is how many records of one run the event stands for, when
	// more than one: consecutive records of one content type and
	// direction, shown as one (the session coalesces them, as an
	// eavesdropper would sum them up); Length is then the first record's
	// payload and Total the payload of all. 0 means one record.
	Count int `json:"count,omitempty"`
	// Total is the payload bytes of the Count records.
	Total int64 `json:"total,omitempty"`
}

// Records is how many records the event stands for: Count, or 1.
func (r *Record) Records() int {
	if r == nil {
		return 0
	}
	return max(r.Count, 1)
}

// Payload is the payload bytes of the records the event stands for.
func (r *Record) Payload() int64 {
	if r == nil {
		return 0
	}
	if r.Count > 1 {
		return r.Total
	}
	return int64(r.Length)
}

// Bytes is how many bytes the event's Raw stood for on the wire: RawLen,
// or len(Raw) when Raw is whole.
func (ev *Event) Bytes() int64 {
	if ev.RawLen > 0 {
		return ev.RawLen
	}
	return int64(len(ev.Raw))
}

// TLSState is what the client endpoint knows once the handshake is done
// (from tls.ConnectionState). A KindError event whose handshake stopped on
// the certificate carries one too, with what the handshake had settled by
// then: the version, the cipher suite and the chain that failed.
type TLSState struct {
	Version     string `json:"version"`
	CipherSuite string `json:"cipher_suite"`
	ALPN        string `json:"alpn,omitempty"`
	ServerName  string `json:"server_name,omitempty"`
	// PeerChain is the subject of each certificate, leaf first: Chain's
	// Subjects, kept as the short form the TUI and scripts read.
	PeerChain    []string `json:"peer_chain,omitempty"`
	Verified     bool     `json:"verified"`
	VerifyError  string   `json:"verify_error,omitempty"`  // crypto/x509's words
	VerifyMethod string   `json:"verify_method,omitempty"` // system roots, lab CA, CA file, off
	// Chain is the server's certificate chain, leaf first, described and
	// checked by package certs: each certificate's facts, and every
	// problem with the index of the certificate it concerns. It is
	// computed even when verification is off. Its strings come from the
	// certificates: sanitize them before printing.
	Chain *certs.Chain `json:"chain,omitempty"`
}

// Credential marks a secret decoded from the bytes of this event.
type Credential struct {
	Mechanism string `json:"mechanism"` // AUTH PLAIN, AUTH LOGIN, LOGIN, USER/PASS
	Username  string `json:"username,omitempty"`
	Password  string `json:"password,omitempty"`
	// OnWire is true when the secret crossed the wire readable (before TLS).
	OnWire bool `json:"on_wire"`
}

// ErrorInfo explains a failure.
type ErrorInfo struct {
	Op      string `json:"op"`                // dial, read greeting, starttls, handshake, verify, …
	Message string `json:"message"`           // the Go error text
	Explain string `json:"explain,omitempty"` // an annotation key for content explaining the likely cause
}
