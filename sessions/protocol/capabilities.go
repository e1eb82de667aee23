package protocol

import (
	"bytes"
	"slices"
	"strings"
)

// Keyword upper-cases a capability keyword for matching (keywords are
// case-insensitive: RFC 5321 §2.4, RFC 2449 §5, RFC 9051 §7.2.2), but only
// one that can be a keyword at all: printable ASCII. Anything else (a
// terminal escape, a C1 control, invalid UTF-8) matches no keyword, and is
// kept as the server sent it, so that what mailwire shows of it, escaped,
// is the server's bytes (upper-casing would have turned "\x1b[31m" into
// "\x1b[31M").
func Keyword(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return s
		}
	}
	return strings.ToUpper(s)
}

// CapabilityKeys returns the annotation key of each capability: prefix
// and the keyword in lower case. SMTP and POP3 entries are a keyword and
// parameters ("SIZE 10240000", RFC 5321 §4.1.1.1; RFC 2449 §5); an IMAP
// entry is one atom ("AUTH=PLAIN", RFC 9051 §7.2.2) whose whole text is
// the keyword.
func CapabilityKeys(prefix string, caps []string, wholeAtom bool) []string {
	keys := make([]string, 0, len(caps))
	for _, cp := range caps {
		kw := cp
		if !wholeAtom {
			kw, _, _ = strings.Cut(cp, " ")
		}
		keys = append(keys, prefix+strings.ToLower(kw))
	}
	return keys
}

// ServerCapabilities parses the capability list in raw, a server's
// complete response to verb, as the drivers do: the EHLO keywords of a 250
// reply (RFC 5321 §4.1.1.1), the lines of a positive CAPA response (RFC
// 2449 §5), or for IMAP the last CAPABILITY response or response code in
// raw, whatever verb was (RFC 9051 §7.2.2, §7.1). It returns the list and
// the annotation key of each entry, or nils when raw lists none. It is for
// code that relays responses without a driver (the attacker's proxy), so
// its events carry what the drivers' do.
func ServerCapabilities(proto, verb string, raw []byte) (caps, keys []string) {
	lr := NewLineReader(bytes.NewReader(raw), len(raw)+1)
	switch proto {
	case SMTP:
		if !strings.EqualFold(verb, "EHLO") {
			return nil, nil
		}
		r, err := ReadSMTPReply(lr, DefaultMaxReplyLines)
		if err != nil || r.Code != 250 {
			return nil, nil
		}
		caps = ParseEHLO(r.Lines)
		return caps, CapabilityKeys("smtp.ext.", caps, false)
	case POP3:
		if !strings.EqualFold(verb, "CAPA") {
			return nil, nil
		}
		r, err := ReadPOP3Response(lr, true, DefaultMaxReplyLines)
		if err != nil || !r.OK {
			return nil, nil
		}
		caps = ParseCAPA(r.Lines)
		return caps, CapabilityKeys("pop3.capa.", caps, false)
	case IMAP:
		for {
			r, err := ReadIMAPResponse(lr)
			if err != nil {
				break
			}
			if r.Caps != nil {
				caps = r.Caps
			}
		}
		if caps == nil {
			return nil, nil
		}
		return caps, CapabilityKeys("imap.cap.", caps, true)
	}
	return nil, nil
}

// CapabilityDiff compares the capabilities a server listed before and
// after STARTTLS (which a client must ask for again, RFC 3207 §4.2, RFC
// 2595 §4, RFC 9051 §6.2.1): the entries only after, and the entries only
// before, each in its list's order. Entries compare as the server sent
// them.
func CapabilityDiff(before, after []string) (added, removed []string) {
	for _, a := range after {
		if !slices.Contains(before, a) {
			added = append(added, a)
		}
	}
	for _, b := range before {
		if !slices.Contains(after, b) {
			removed = append(removed, b)
		}
	}
	return added, removed
}
