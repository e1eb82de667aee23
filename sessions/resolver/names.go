package resolver

import (
	"bytes"
	"strings"

	"github.com/miekg/dns"
)

// canon lower-cases name and makes it fully qualified.
func canon(name string) string { return dns.CanonicalName(name) }

// sameName compares two names case-insensitively.
func sameName(a, b string) bool { return canon(a) == canon(b) }

// isUnder says whether name is zone or a name below it.
func isUnder(name, zone string) bool { return dns.IsSubDomain(canon(zone), canon(name)) }

// parent drops the leftmost label: "a.b.c." → "b.c.", "c." → ".".
func parent(name string) string {
	name = canon(name)
	if name == "." {
		return "."
	}
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// labels is the number of labels of name, the root having none.
func labels(name string) int { return dns.CountLabel(name) }

// suffix returns the last n labels of name as a name.
func suffix(name string, n int) string {
	name = canon(name)
	for labels(name) > n {
		name = parent(name)
	}
	return name
}

// wireLabels returns the labels of a presentation-format name as raw
// bytes, escapes (\DDD, \X) decoded, lower-cased for the canonical order.
func wireLabels(name string) [][]byte {
	var out [][]byte
	for _, l := range dns.SplitDomainName(name) {
		var b []byte
		for i := 0; i < len(l); i++ {
			c := l[i]
			if c == '\\' && i+1 < len(l) {
				if i+3 < len(l) && isDigit(l[i+1]) && isDigit(l[i+2]) && isDigit(l[i+3]) {
					v := int(l[i+1]-'0')*100 + int(l[i+2]-'0')*10 + int(l[i+3]-'0')
					c = byte(v)
					i += 3
				} else {
					i++
					c = l[i]
				}
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
		out = append(out, b)
	}
	return out
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// CompareNames orders two names as RFC 4034 §6.1 does, the order of an
// NSEC chain: label by label from the right, each label compared as
// lower-cased bytes, a missing label sorting first. It returns -1, 0 or 1.
func CompareNames(a, b string) int {
	la, lb := wireLabels(a), wireLabels(b)
	for i, j := len(la)-1, len(lb)-1; ; i, j = i-1, j-1 {
		switch {
		case i < 0 && j < 0:
			return 0
		case i < 0:
			return -1
		case j < 0:
			return 1
		}
		if c := bytes.Compare(la[i], lb[j]); c != 0 {
			return c
		}
	}
}

// commonAncestor is the longest name that a and b both are or are under.
func commonAncestor(a, b string) string {
	n := dns.CompareDomainName(a, b)
	return suffix(a, n)
}

// hasType says whether a type bit map lists t.
func hasType(bitmap []uint16, t uint16) bool {
	for _, x := range bitmap {
		if x == t {
			return true
		}
	}
	return false
}

// presentation keeps a name as given but caps its length for a Detail
// (names are at most 255 bytes on the wire, but \DDD escapes quadruple).
func presentation(name string) string {
	if len(name) > 300 {
		return name[:300] + "…"
	}
	return strings.TrimSpace(name)
}
