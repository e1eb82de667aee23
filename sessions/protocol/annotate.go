package protocol

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/mailwire/mailwire/sessions/wire"
)

// Annotation keys of server responses, in one place for the drivers and
// for the scenario clients that read responses themselves. The most
// specific key leads (a response code's, RFC 3463 / RFC 2449 §8 / RFC 9051
// §7.1), the general one follows in also.

// Annotations returns the keys of an SMTP reply: "smtp.reply.NNN", and
// the enhanced code's key when there is one (RFC 3463).
func (r *Reply) Annotations() (ann string, also []string) {
	if r.Enhanced != "" {
		also = append(also, "smtp.enhanced."+r.Enhanced)
	}
	return "smtp.reply." + strconv.Itoa(r.Code), also
}

// KeyInTLS returns the annotation key of a server response for where it
// was read, so that its note fits: a response whose note speaks of the
// cleartext phase has its own entry for when it came inside TLS. 530
// before TLS asks for STARTTLS (RFC 3207 §4); inside TLS STARTTLS is done,
// and 530 means the server wants the client to authenticate first (RFC
// 4954 §6). Other keys are returned as they are.
func KeyInTLS(ann string, inTLS bool) string {
	if inTLS && ann == "smtp.reply.530" {
		return "smtp.reply.530.in_tls"
	}
	return ann
}

// Line returns the decoded form of the reply for an event.
func (r *Reply) Line() wire.Line {
	return wire.Line{Code: codeString(r.Code), Enhanced: r.Enhanced}
}

// Annotations returns the keys of a POP3 response: its response code's
// (pop3.code.in-use) when there is one, else the status's.
func (r *POP3Response) Annotations() (ann string, also []string) {
	ann = "pop3.reply.ok"
	if !r.OK {
		ann = "pop3.reply.err"
	}
	if r.Code != "" {
		return "pop3.code." + strings.ToLower(r.Code), []string{ann}
	}
	return ann, nil
}

// Annotations returns the keys of an IMAP response: its response code's
// (imap.code.privacyrequired) when there is one, else the status's, the
// continuation's or the data's.
func (r *IMAPResponse) Annotations() (ann string, also []string) {
	switch {
	case r.Status != "":
		ann = "imap.status." + strings.ToLower(r.Status)
	case r.Tag == "+":
		ann = "imap.continuation"
	default:
		ann = "imap.data." + strings.ToLower(r.Data)
	}
	if r.Code != "" {
		return "imap.code." + strings.ToLower(r.Code), []string{ann}
	}
	return ann, nil
}

// LineCode is Line.Code for an IMAP response: the status, or "*" for
// untagged data, or "+" for a continuation request.
func (r *IMAPResponse) LineCode() string { return IMAPLineCode(r) }

// ServerLineInfo reads the first response in raw, bytes a server sent to
// code that relays them without a driver (the attacker's proxy), and
// returns its Line.Code and annotation keys as a driver would. code and
// ann are "" when raw does not start with a well-formed response.
func ServerLineInfo(proto string, raw []byte) (code, ann string, also []string) {
	// A line without its end (a read cut short, or a line split off a
	// batch) is judged on what it says.
	if !bytes.HasSuffix(raw, []byte("\n")) {
		raw = append(bytes.Clone(raw), '\r', '\n')
	}
	lr := NewLineReader(bytes.NewReader(raw), len(raw)+1)
	switch proto {
	case SMTP:
		// A reply cut short still has its code from the first line.
		if r, _ := ReadSMTPReply(lr, DefaultMaxReplyLines); r.Code != 0 {
			ann, also = r.Annotations()
			return r.Line().Code, ann, also
		}
	case POP3:
		if r, err := ReadPOP3Response(lr, false, 0); err == nil {
			ann, also = r.Annotations()
			return r.Status(), ann, also
		}
	case IMAP:
		// A literal cut short still leaves the response's first line parsed.
		if r, _ := ReadIMAPResponse(lr); r.Status != "" || r.Data != "" || r.Tag == "+" {
			ann, also = r.Annotations()
			return r.LineCode(), ann, also
		}
	}
	return "", "", nil
}
