package protocol

import (
	"strconv"
	"strings"
)

// codeString is a reply code as Line.Code holds it: "" when there is none.
func codeString(code int) string {
	if code == 0 {
		return ""
	}
	return strconv.Itoa(code)
}

// ParseEHLO returns the keyword lines of an EHLO reply: each line after the
// first is "keyword [params]" (RFC 5321 §4.1.1.1); keywords are
// case-insensitive, so they are upper-cased.
func ParseEHLO(lines []string) []string {
	var caps []string
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		f[0] = Keyword(f[0])
		caps = append(caps, strings.Join(f, " "))
	}
	return caps
}
