package maildomain

import (
	"errors"
	"fmt"
	"strings"

	"github.com/miekg/dns"
)

// txtString joins the strings of a TXT record without spaces (RFC 8461
// §3.1, RFC 8460 §3) and decodes the escapes miekg/dns writes into them
// (\" \\ and \DDD for bytes outside printable ASCII), so that a parser
// sees the bytes that were published.
func txtString(t *dns.TXT) string {
	var b strings.Builder
	for _, s := range t.Txt {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
					v := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
					if v <= 255 {
						b.WriteByte(byte(v))
						i += 3
						continue
					}
				}
				i++
				c = s[i]
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isWSP(c byte) bool   { return c == ' ' || c == '\t' }

// tagRecord is a record of the form "v=NAME; key=value; …" (the MTA-STS
// and TLS-RPT TXT records share this shape).
type tagRecord struct {
	fields [][2]string // name, value, in order; v first
}

// errNotThisVersion is a record that does not start with the version tag.
var errNotThisVersion = errors.New("does not start with the version")

// parseTagRecord parses version *(delim field) [delim], where delim is
// *WSP ";" *WSP and a field is name "=" value, value being one or more
// characters from %x21-3A / %x3C / %x3E-7E (RFC 8461 §3.1, RFC 8460 §3);
// a value may continue past a delimiter only where valueOK allows (rua's
// URI list has WSP around its commas).
func parseTagRecord(s, version string, listValue func(name string) bool) (*tagRecord, error) {
	if !startsVersion(s, version) {
		return nil, errNotThisVersion
	}
	rec := &tagRecord{fields: [][2]string{{"v", version[2:]}}}
	i := len(version)
	fields := 0
	for {
		// delimiter
		j := i
		for j < len(s) && isWSP(s[j]) {
			j++
		}
		if j == len(s) {
			if j != i {
				return nil, fmt.Errorf("trailing space at byte %d", i)
			}
			break
		}
		if s[j] != ';' {
			return nil, fmt.Errorf("expected ';' at byte %d", j)
		}
		j++
		for j < len(s) && isWSP(s[j]) {
			j++
		}
		if j == len(s) {
			break // a trailing delimiter
		}
		// name
		k := j
		for k < len(s) && (isAlpha(s[k]) || isDigit(s[k]) || (k > j && (s[k] == '_' || s[k] == '-' || s[k] == '.'))) {
			k++
		}
		if k == j || k-j > 32 || k == len(s) || s[k] != '=' {
			return nil, fmt.Errorf("bad field name at byte %d", j)
		}
		name := s[j:k]
		k++
		v := k
		if listValue != nil && listValue(name) {
			// A list of values separated by *WSP "," *WSP.
			for v < len(s) && s[v] != ';' {
				v++
			}
			for v > k && isWSP(s[v-1]) {
				v--
			}
		} else {
			for v < len(s) && s[v] >= 0x21 && s[v] <= 0x7e && s[v] != ';' && s[v] != '=' {
				v++
			}
		}
		if v == k {
			return nil, fmt.Errorf("field %s has no value", quote(name))
		}
		rec.fields = append(rec.fields, [2]string{name, s[k:v]})
		fields++
		i = v
	}
	if fields == 0 {
		return nil, errors.New("no field after the version")
	}
	return rec, nil
}

// startsVersion says whether s begins with version as a whole tag
// ("v=STSv1" followed by WSP, ";" or the end; not "v=STSv10").
func startsVersion(s, version string) bool {
	if !strings.HasPrefix(s, version) {
		return false
	}
	rest := s[len(version):]
	return rest == "" || rest[0] == ';' || isWSP(rest[0])
}

// get returns the first value of a field.
func (r *tagRecord) get(name string) (string, bool) {
	for _, f := range r.fields {
		if f[0] == name {
			return f[1], true
		}
	}
	return "", false
}
