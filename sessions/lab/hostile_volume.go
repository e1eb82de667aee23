package lab

// The hostile cases of issue 11: servers that send too much (floods of
// tiny TLS records, huge and many IMAP literals, replies that never end,
// HTTP/2 frame floods, long certificate chains) or send something a client
// must explain precisely (a TLS alert where a greeting belongs, a record
// over the size limit, a positive code that is the wrong one, OpenSMTPD's
// refusal of pipelined commands).
//
// They are a list of their own, HostileSweepCases: a client that holds
// every event of a session in memory cannot survive the floods, so they
// are played against the mailwire binary, one subprocess per session, by
// the sweep in cmd/mailwire (hostile_sweep_test.go), which measures each
// run's peak memory, output and time. The server side stays small whatever
// it sends: every big reply is generated as it is written, from one
// reusable chunk, and nothing a client sends is kept.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tlsAlertProtocolVersion is a whole TLS alert record: content type 21
// (alert), version 3.3, length 2, level 2 (fatal), description 70
// (protocol_version) (RFC 8446 §5.1, §6). A TLS server sends it when the
// first bytes it reads are not a ClientHello it accepts.
const tlsAlertProtocolVersion = "\x15\x03\x03\x00\x02\x02\x46"

// openSMTPDPipelining is OpenSMTPD's answer to a command line followed by
// more input in the same read (smtp_session.c, "Pipelining not
// supported"), after which it closes: its defence against STARTTLS command
// injection (CVE-2011-0411) as much as against any pipelining.
const openSMTPDPipelining = "500 5.5.1 Invalid command: Pipelining not supported\r\n"

// Sizes of the volume cases.
const (
	sweepEHLOBytes    = 400_000   // an EHLO reply under the 100-line and 4608-byte-line limits a client may have
	sweepRETRBytes    = 1_000_000 // a message sent one byte per record
	sweepLiteralBytes = 1_000_000 // each of the literals of imap-capabilities-literals
	sweepLiterals     = 100       // untagged responses per command
	sweepHugeLiteral  = 1 << 30   // imaps-fetch-literal-1g
	sweepBigBody      = 100 << 20 // pop3s-fetch-retr-100m, https-response-body-100m
	sweepFrames       = 1_000_000 // HTTP/2 floods
	sweepChain        = 200       // certificates in smtp-handshake-long-chain
	sweepOversize     = 65535     // the length a record declares (the field's maximum)
	sweepUnfinished   = 100       // bytes of the unfinished record's 16384
	sweepChunk        = 32 << 10  // the reusable chunk big replies are written from
	sweepEHLOLines    = 98        // padding lines of the big EHLO reply: 100 lines in all
)

// HostileSweepCases returns the cases of issue 11, sorted by name. What
// each is expected to make mailwire say is in the sweep's table
// (cmd/mailwire/hostile_sweep_test.go).
func HostileSweepCases() []HostileCase {
	fetch := []string{"--fetch"}
	cs := []HostileCase{
		// Floods of tiny TLS records: every byte of a reply in a record of
		// its own (RFC 8446 §5.1 allows any length from 1 to 2^14).
		{Name: "smtp-after-tls-tiny-records", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointAfterTLS,
			Does: "sends its 400,000-byte EHLO reply inside TLS one byte per TLS record (400,000 records)",
			act:  actTinyRecords, size: sweepEHLOBytes},
		{Name: "pop3s-fetch-tiny-records", Proto: hostilePOP3, TLS: hostileImplicit, Point: PointFetch,
			Does: "sends a 1,000,000-byte message (RETR 1) one byte per TLS record",
			act:  actTinyRecords, size: sweepRETRBytes, ClientFlags: fetch},
		{Name: "https-response-tiny-records", Proto: hostileHTTPS, TLS: hostileImplicit, Point: PointResponse,
			Does: "sends an HTTP/1.1 response with a 1,000,000-byte body one byte per TLS record",
			act:  actTinyRecords, size: sweepRETRBytes, alpn: "http/1.1"},
		{Name: "smtps-handshake-tiny-records", Proto: hostileSMTP, TLS: hostileImplicit, Point: PointHandshake,
			Does: "splits its TLS 1.2 handshake flight (ServerHello, Certificate, ServerKeyExchange, ServerHelloDone) into one-byte records",
			act:  actTinyHandshake, cert: certValid, maxTLS: tls.VersionTLS12},

		// Huge and many literals, big replies: read by the client, held by
		// nobody.
		{Name: "imap-capabilities-literals", Proto: hostileIMAP, TLS: hostileNone, Point: PointCapabilities,
			Does: "answers every command from CAPABILITY on with 100 untagged FETCH responses, each with a 1,000,000-byte literal, before the completion",
			act:  actLiterals, size: sweepLiteralBytes, count: sweepLiterals},
		{Name: "imaps-fetch-literal-1g", Proto: hostileIMAP, TLS: hostileImplicit, Point: PointFetch,
			Does: "answers FETCH with an envelope whose subject is a 1 GiB literal, streamed",
			act:  actBigReply, size: sweepHugeLiteral, ClientFlags: fetch},
		{Name: "pop3s-fetch-retr-100m", Proto: hostilePOP3, TLS: hostileImplicit, Point: PointFetch,
			Does: "answers RETR 1 with a 100 MiB message",
			act:  actBigReply, size: sweepBigBody, ClientFlags: fetch},
		{Name: "https-response-body-100m", Proto: hostileHTTPS, TLS: hostileImplicit, Point: PointResponse,
			Does: "answers with a 100 MiB body (Content-Length 104857600)",
			act:  actBigReply, size: sweepBigBody, alpn: "http/1.1"},

		// Replies that never end, until the client leaves.
		{Name: "imap-capabilities-untagged-endless", Proto: hostileIMAP, TLS: hostileNone, Point: PointCapabilities,
			Does: "answers CAPABILITY with untagged responses that never end",
			act:  actEndlessStream},
		{Name: "pop3s-list-endless", Proto: hostilePOP3, TLS: hostileImplicit, Point: PointList,
			Does: "answers LIST with a scan listing that never ends (no final \".\", RFC 1939 §5)",
			act:  actEndlessStream, ClientFlags: fetch},

		// HTTP/2 frame floods (RFC 9113), the classes of CVE-2019-9512,
		// CVE-2019-9518 and the 2024 CONTINUATION floods.
		{Name: "https-response-h2-pings", Proto: hostileHTTPS, TLS: hostileImplicit, Point: PointResponse,
			Does: "sends 1,000,000 PING frames before the response (RFC 9113 §6.7), each asking for an ACK",
			act:  actH2Pings, count: sweepFrames, alpn: "h2"},
		{Name: "https-response-h2-empty-data", Proto: hostileHTTPS, TLS: hostileImplicit, Point: PointResponse,
			Does: "sends the response body as 1,000,000 empty DATA frames (RFC 9113 §6.1)",
			act:  actH2EmptyData, count: sweepFrames, alpn: "h2"},
		{Name: "https-response-h2-continuations", Proto: hostileHTTPS, TLS: hostileImplicit, Point: PointResponse,
			Does: "sends a header block of 1,000,000 CONTINUATION frames, each one more header field (RFC 9113 §6.10)",
			act:  actH2Continuations, count: sweepFrames, alpn: "h2"},

		// TLS records a client must not take for what they are not.
		{Name: "smtps-handshake-record-65535", Proto: hostileSMTP, TLS: hostileImplicit, Point: PointHandshake,
			Does: "answers the ClientHello with a handshake record declaring 65,535 bytes, over the 2^14 of RFC 8446 §5.1, and sends them",
			act:  actOversizeRecord},
		{Name: "https-handshake-record-65535", Proto: hostileHTTPS, TLS: hostileImplicit, Point: PointHandshake,
			Does: "answers the ClientHello with a handshake record declaring 65,535 bytes, over the 2^14 of RFC 8446 §5.1, and sends them",
			act:  actOversizeRecord, alpn: "http/1.1"},
		{Name: "smtps-after-tls-record-unfinished", Proto: hostileSMTP, TLS: hostileImplicit, Point: PointAfterTLS,
			Does: "after the handshake, a record declaring 16,384 bytes, 100 of them, and nothing more",
			act:  actUnfinishedRecord},
		{Name: "smtp-handshake-long-chain", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointHandshake,
			Does: "presents 200 certificates under TLS 1.2 (the leaf and 199 unrelated ones, about 70 KB: a Certificate message over 64 KiB)",
			act:  actTLS, cert: certLongChain, maxTLS: tls.VersionTLS12},
		{Name: "smtp-handshake-tls11-only", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointHandshake,
			Does: "accepts only TLS 1.1 (RFC 8996 deprecates it)",
			act:  actTLS, cert: certValid, minTLS: tls.VersionTLS11, maxTLS: tls.VersionTLS11,
			ClientFlags: []string{"--tls-min", "1.1"}},

		// A TLS alert where the cleartext greeting belongs: this port
		// speaks TLS from the first byte.
		{Name: "smtp-greeting-tls-alert", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointGreeting,
			Does: "sends a TLS alert record (fatal, protocol_version) instead of the greeting, and closes",
			act:  actReplaceClose, payload: tlsAlertProtocolVersion},
		{Name: "smtp-greeting-tls-alert-held", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointGreeting,
			Does: "sends a TLS alert record (fatal, protocol_version) instead of the greeting, and holds the connection open",
			act:  actReplaceHold, payload: tlsAlertProtocolVersion},
		{Name: "pop3-greeting-tls-alert", Proto: hostilePOP3, TLS: hostileStartTLS, Point: PointGreeting,
			Does: "sends a TLS alert record (fatal, protocol_version) instead of the greeting, and closes",
			act:  actReplaceClose, payload: tlsAlertProtocolVersion},
		{Name: "imap-greeting-tls-alert", Proto: hostileIMAP, TLS: hostileStartTLS, Point: PointGreeting,
			Does: "sends a TLS alert record (fatal, protocol_version) instead of the greeting, and closes",
			act:  actReplaceClose, payload: tlsAlertProtocolVersion},

		// Positive codes that are the wrong ones.
		{Name: "smtp-greeting-250", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointGreeting,
			Does: "greets with 250 instead of 220 (RFC 5321 §4.3.2), then goes on normally",
			act:  actReplace, payload: "250 hostile.lab.test ESMTP hostile server ready\r\n"},
		{Name: "smtp-starttls-reply-250", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointStartTLSReply,
			Does: "answers STARTTLS with 250 instead of 220 (RFC 3207 §4), and stays in cleartext",
			act:  actReplace, payload: "250 2.0.0 Ready to start TLS\r\n", refuse: true},
		{Name: "smtp-auth-reply-250", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointAuth,
			Does: "answers AUTH with 250 instead of 235 (RFC 4954 §6)",
			act:  actReplace, payload: "250 2.7.0 Authentication successful\r\n"},
		{Name: "smtp-data-reply-250", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointData,
			Does: "answers DATA with 250 instead of 354 (RFC 5321 §4.1.1.4), and takes what follows as commands",
			act:  actReplace, payload: "250 2.0.0 OK\r\n", refuse: true, ClientFlags: []string{"--to", DemoRecipient}},

		// OpenSMTPD's refusal of pipelined input, met by the
		// command-injection scenario's STARTTLS+RSET write.
		{Name: "smtp-starttls-reply-pipelining-refused", Proto: hostileSMTP, TLS: hostileStartTLS, Point: PointStartTLSReply,
			Does: "answers a command with more input behind it with \"500 5.5.1 Invalid command: Pipelining not supported\" and closes, as OpenSMTPD does",
			act:  actRefusePipelining, ClientFlags: []string{"--scenario", "command-injection"}},
	}
	return cs
}

// hostileMessage is the one message of a mailbox that is not a volume
// case's (RFC 5322).
const hostileMessage = "From: hostile@lab.test\r\nTo: " + DemoRecipient + "\r\nSubject: hostile\r\n\r\nA message from a hostile server.\r\n"

// imapEnvelopeDate is the envelope date of the message (RFC 9051 §7.5.2).
const imapEnvelopeDate = `"Mon, 1 Jan 2024 00:00:00 +0000"`

// messages is how many messages the maildrop holds: one when the case
// misbehaves while it is read, else none.
func (h *hconn) messages() int {
	if h.c.Point == PointFetch || h.c.Point == PointList {
		return 1
	}
	return 0
}

// messageSize is the size the maildrop announces for its message.
func (h *hconn) messageSize() int64 {
	switch {
	case h.messages() == 0:
		return 0
	case h.c.Point == PointFetch && h.c.size > 0:
		return h.c.size
	}
	return int64(len(hostileMessage))
}

// flood runs gen with the connection's writes gathered in a buffer (a
// flood of tiny records in a few large TCP writes, as a fast server would
// send them); with tiny, every byte gen writes is its own Write, so each
// becomes a TLS record of its own.
func (h *hconn) flood(tiny bool, gen func(io.Writer) error) error {
	h.raw.startBuffer()
	w := h.w
	if tiny {
		w = &byteWriter{w: w}
	}
	err := gen(w)
	if ferr := h.raw.stopBuffer(); err == nil {
		err = ferr
	}
	return err
}

// fillLine is the text big replies are made of: printable, CRLF-ended, no
// line a lone "." (RFC 1939 §3, RFC 5321 §4.5.2).
const fillLine = "mailwire hostile lab: filler text, sent again and again to make a big reply.\r\n"

// fillChunk is fillLine repeated into sweepChunk bytes or a little less: a
// whole number of lines; made when a case first needs it.
var fillChunk = sync.OnceValue(func() []byte { return bytes.Repeat([]byte(fillLine), sweepChunk/len(fillLine)) })

// fill writes n bytes of filler lines, the last one shortened or
// lengthened so that the n bytes end with CRLF.
func fill(w io.Writer, n int64) error {
	chunk := fillChunk()
	for n >= int64(len(chunk))+int64(len(fillLine)) {
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		n -= int64(len(chunk))
	}
	for n >= 2*int64(len(fillLine)) {
		if _, err := io.WriteString(w, fillLine); err != nil {
			return err
		}
		n -= int64(len(fillLine))
	}
	// Between one and two lines' worth left (or less for a tiny n): one
	// line of x's and CRLF.
	if n <= 0 {
		return nil
	}
	last := bytes.Repeat([]byte("x"), int(n))
	if n >= 2 {
		last[n-2], last[n-1] = '\r', '\n'
	} else {
		last[0] = '\n'
	}
	_, err := w.Write(last)
	return err
}

// bigReply is the case's big reply in place of normal, for its protocol
// and point: written by gen as it goes, never held.
func (h *hconn) bigReply(normal string) func(io.Writer) error {
	size := h.c.size
	switch h.c.Proto {
	case hostilePOP3:
		// RFC 1939 §7: "+OK", the message, the terminating ".".
		return func(w io.Writer) error {
			if _, err := fmt.Fprintf(w, "+OK %d octets\r\n", size); err != nil {
				return err
			}
			if err := fill(w, size); err != nil {
				return err
			}
			_, err := io.WriteString(w, ".\r\n")
			return err
		}
	case hostileIMAP:
		// RFC 9051 §4.3: a literal is {n} CRLF and n bytes; here it is the
		// subject of the envelope the client asked for (§7.5.2).
		return func(w io.Writer) error {
			if _, err := fmt.Fprintf(w, "* 1 FETCH (ENVELOPE (%s {%d}\r\n", imapEnvelopeDate, size); err != nil {
				return err
			}
			if err := fill(w, size); err != nil {
				return err
			}
			_, err := io.WriteString(w, " NIL NIL NIL NIL NIL NIL NIL NIL))\r\n"+h.tag+" OK FETCH completed\r\n")
			return err
		}
	case hostileHTTPS:
		// RFC 9112 §6.3: Content-Length delimits the body.
		return func(w io.Writer) error {
			if _, err := fmt.Fprintf(w, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", size); err != nil {
				return err
			}
			return fill(w, size)
		}
	}
	// SMTP: a multi-line reply with normal's code (RFC 5321 §4.2.1) of 100
	// lines: the first, the padding, the last, size bytes in all.
	code := h.statusPrefix(normal)[:3]
	first := code + "-hostile.lab.test greets you\r\n"
	last := code + " 8BITMIME\r\n"
	return func(w io.Writer) error {
		if _, err := io.WriteString(w, first); err != nil {
			return err
		}
		pad := size - int64(len(first)+len(last))
		per := pad / sweepEHLOLines
		for i := range sweepEHLOLines {
			n := per
			if i == sweepEHLOLines-1 {
				n = pad - per*(sweepEHLOLines-1)
			}
			prefix := fmt.Sprintf("%s-X-HOSTILE-PAD-%02d ", code, i)
			line := prefix + strings.Repeat("A", max(0, int(n)-len(prefix)-2)) + "\r\n"
			if _, err := io.WriteString(w, line); err != nil {
				return err
			}
		}
		_, err := io.WriteString(w, last)
		return err
	}
}

// literals writes the case's untagged responses with literals, the
// unsolicited message data of RFC 9051 §7.5.2 (a server may send FETCH
// responses at any time, §7).
func (h *hconn) literals(w io.Writer) error {
	for i := 1; i <= h.c.count; i++ {
		if _, err := fmt.Fprintf(w, "* %d FETCH (BODY[] {%d}\r\n", i, h.c.size); err != nil {
			return err
		}
		if err := fill(w, h.c.size); err != nil {
			return err
		}
		if _, err := io.WriteString(w, ")\r\n"); err != nil {
			return err
		}
	}
	return nil
}

// endlessStream answers with a reply that never ends: it stops only when
// the client leaves, the connection's time is up or the server stops.
func (h *hconn) endlessStream(normal string) error {
	var first, format string
	switch h.c.Proto {
	case hostilePOP3:
		// A scan listing, "msg size" per line (RFC 1939 §5), with no "."
		// to end it.
		first, format = "+OK scan listing follows\r\n", "%d 4096\r\n"
	default:
		// IMAP: untagged status responses (RFC 9051 §7.1), never the
		// tagged completion.
		format = "* OK untagged response %d of an endless stream\r\n"
	}
	if err := h.write(first); err != nil {
		return err
	}
	buf := make([]byte, 0, sweepChunk+128)
	for n := 1; ; {
		buf = buf[:0]
		for len(buf) < sweepChunk {
			buf = fmt.Appendf(buf, format, n)
			n++
		}
		if _, err := h.w.Write(buf); err != nil {
			return err
		}
		if h.s.ctx.Err() != nil {
			return errHangUp
		}
	}
}

// oversizeRecord answers the ClientHello with a handshake record whose
// length field says 65535, beyond the 2^14 bytes a TLSPlaintext may hold
// (RFC 8446 §5.1; RFC 5246 §6.2.1), and sends that many bytes.
func (h *hconn) oversizeRecord() error {
	var hello [5]byte
	if _, err := io.ReadFull(h.r, hello[:]); err != nil {
		return err
	}
	hdr := []byte{22, 3, 3, sweepOversize >> 8, sweepOversize & 0xff}
	if err := h.write(string(hdr)); err != nil {
		return err
	}
	if _, err := h.raw.Write(make([]byte, sweepOversize)); err != nil {
		return err
	}
	return h.silence()
}

// unfinishedRecord writes, under the established TLS connection, a record
// header that declares 16384 bytes of application data and only
// sweepUnfinished of them, then nothing: the client's TLS layer waits for
// the rest of a record that never comes.
func (h *hconn) unfinishedRecord() error {
	b := append([]byte{23, 3, 3, 0x40, 0x00}, bytes.Repeat([]byte{0xa5}, sweepUnfinished)...)
	if _, err := h.raw.Write(b); err != nil {
		return err
	}
	return h.silence()
}

// refusePipelining is OpenSMTPD's answer to a command with more input
// behind it: 500 and the end of the session.
func (h *hconn) refusePipelining() error {
	if err := h.write(openSMTPDPipelining); err != nil {
		return err
	}
	return errHangUp
}

// recordSplitter rewrites the server's TLS records on their way out: each
// handshake record before the server's ChangeCipherSpec becomes one record
// per byte of its payload (RFC 5246 §6.2.1 lets a handshake message span
// any number of records). Records after ChangeCipherSpec are protected and
// go out as they are.
type recordSplitter struct {
	pending []byte
	done    bool // ChangeCipherSpec went out
}

func (s *recordSplitter) write(p []byte, out func([]byte) (int, error)) (int, error) {
	s.pending = append(s.pending, p...)
	var b []byte
	for !s.done && len(s.pending) >= 5 {
		n := int(binary.BigEndian.Uint16(s.pending[3:5]))
		if len(s.pending) < 5+n {
			break
		}
		rec := s.pending[:5+n]
		switch rec[0] {
		case 22: // handshake
			for _, x := range rec[5:] {
				b = append(b, rec[0], rec[1], rec[2], 0, 1, x)
			}
		case 20: // change_cipher_spec
			s.done = true
			b = append(b, rec...)
		default:
			b = append(b, rec...)
		}
		s.pending = s.pending[5+n:]
	}
	if s.done {
		b = append(b, s.pending...)
		s.pending = nil
	}
	if len(b) > 0 {
		if _, err := out(b); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// h2Frame is one HTTP/2 frame (RFC 9113 §4.1): a 9-byte header (length,
// type, flags, stream) and the payload.
func h2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := make([]byte, 9, 9+len(payload))
	b[0], b[1], b[2] = byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	b[3], b[4] = typ, flags
	binary.BigEndian.PutUint32(b[5:], stream&0x7fffffff)
	return append(b, payload...)
}

// HTTP/2 frame types and flags (RFC 9113 §6).
const (
	h2Data         = 0x0
	h2Headers      = 0x1
	h2Settings     = 0x4
	h2Ping         = 0x6
	h2GoAway       = 0x7
	h2Continuation = 0x9
	h2EndStream    = 0x1
	h2EndHeaders   = 0x4
	// h2Status200 is ":status: 200" in HPACK: the static table's index 8,
	// as an indexed field (RFC 7541 §6.1, Appendix A).
	h2Status200 = 0x88
)

// h2ExtraField is one header field in HPACK's literal-without-indexing
// form with a new name (RFC 7541 §6.2.2): x-hostile: continuation.
var h2ExtraField = []byte("\x00\x09x-hostile\x0ccontinuation")

// https plays a small HTTPS server (RFC 9110) on the established TLS
// connection: HTTP/1.1 or HTTP/2 as ALPN chose (RFC 7301).
func (h *hconn) https() error {
	tc, ok := h.conn.(*tls.Conn)
	if !ok {
		return errors.New("https without TLS")
	}
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		return h.h2(tc)
	}
	// The request head, up to the empty line (RFC 9112 §2.1); a GET has
	// no body.
	for n := 0; ; n++ {
		line, err := h.readLine()
		if err != nil {
			return err
		}
		if line == "" {
			break
		}
		if n > 100 {
			return errors.New("request head over 100 lines")
		}
	}
	body := "A response from a hostile server.\r\n"
	if err := h.reply(PointResponse, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body); err != nil {
		return err
	}
	_ = tc.CloseWrite() // close_notify (RFC 8446 §6.1)
	return errHangUp
}

// h2 answers the one request of an HTTP/2 connection (RFC 9113) on stream
// 1 without parsing it: the client's preface and frames are read and
// dropped, as they come, while the server writes.
func (h *hconn) h2(tc *tls.Conn) error {
	h.s.wg.Add(1)
	go func() {
		defer h.s.wg.Done()
		_, _ = io.Copy(io.Discard, tc)
	}()
	// The server preface: a SETTINGS frame, here empty (RFC 9113 §3.4).
	if _, err := tc.Write(h2Frame(h2Settings, 0, 0, nil)); err != nil {
		return err
	}
	act := action(0)
	if h.c.Point == PointResponse {
		act = h.c.act
		h.fired = true
	}
	err := h.flood(false, func(w io.Writer) error {
		write := func(f []byte) error { _, err := w.Write(f); return err }
		times := func(n int, f []byte) error {
			for range n {
				if err := write(f); err != nil {
					return err
				}
			}
			return nil
		}
		if act == actH2Pings {
			if err := times(h.c.count, h2Frame(h2Ping, 0, 0, []byte("hostile!"))); err != nil {
				return err
			}
		}
		if act == actH2Continuations {
			if err := write(h2Frame(h2Headers, 0, 1, []byte{h2Status200})); err != nil {
				return err
			}
			if err := times(h.c.count-1, h2Frame(h2Continuation, 0, 1, h2ExtraField)); err != nil {
				return err
			}
			if err := write(h2Frame(h2Continuation, h2EndHeaders, 1, h2ExtraField)); err != nil {
				return err
			}
		} else if err := write(h2Frame(h2Headers, h2EndHeaders, 1, []byte{h2Status200})); err != nil {
			return err
		}
		if act == actH2EmptyData {
			if err := times(h.c.count, h2Frame(h2Data, 0, 1, nil)); err != nil {
				return err
			}
		}
		if err := write(h2Frame(h2Data, h2EndStream, 1, []byte("A response from a hostile server.\n"))); err != nil {
			return err
		}
		// GOAWAY: last stream 1, NO_ERROR (RFC 9113 §6.8).
		return write(h2Frame(h2GoAway, 0, 0, []byte{0, 0, 0, 1, 0, 0, 0, 0}))
	})
	if err != nil {
		return err
	}
	_ = tc.CloseWrite()
	return errHangUp
}

// longChain appends sweepChain-1 certificates to the leaf's: self-signed,
// unrelated to it and to each other, made with one key, each about 370
// bytes. A client finds the leaf's issuer among its roots and ignores
// them (RFC 8446 §4.4.2 lets a server send certificates the path does not
// need); the Certificate message grows past 64 KiB.
func longChain(leaf tls.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("long chain key: %w", err)
	}
	now := time.Now()
	for i := 1; i < sweepChain; i++ {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(int64(i)),
			Subject: pkix.Name{CommonName: fmt.Sprintf("mailwire hostile filler %d", i),
				Organization: []string{"mailwire hostile lab: a certificate no path needs"}},
			NotBefore: now.Add(-time.Hour),
			NotAfter:  now.Add(24 * time.Hour),
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("long chain certificate %d: %w", i, err)
		}
		leaf.Certificate = append(leaf.Certificate, der)
	}
	return leaf, nil
}
