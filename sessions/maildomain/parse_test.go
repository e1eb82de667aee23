package maildomain

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseSTSRecord(t *testing.T) {
	good := map[string]string{
		"v=STSv1; id=20160831085700Z;":            "20160831085700Z",
		"v=STSv1;id=abc":                          "abc",
		"v=STSv1 ; id=abc ; ext-1.x=value;":       "abc",
		"v=STSv1;\tid=" + strings.Repeat("a", 32): strings.Repeat("a", 32),
	}
	for in, id := range good {
		r, err := ParseSTSRecord(in)
		if err != nil || r.ID != id {
			t.Errorf("%q: %+v, %v; want id %q", in, r, err, id)
		}
	}
	for _, in := range []string{
		"", "v=STSv1", "v=STSv1;", "v=STSv10; id=a", "v=STSv2; id=a", "id=abc; v=STSv1", "v=STSv1; id=",
		"v=STSv1; id=2026-03-01", "v=STSv1; id=" + strings.Repeat("a", 33), "v=STSv1; id=a b",
		"v=STSv1; =x; id=a", "v=STSv1; id=a;; ", "v=STSv1; id=a ", "v=STSv1 id=a", "v=STSv1; ext=a=b; id=a",
	} {
		if r, err := ParseSTSRecord(in); err == nil {
			t.Errorf("%q parsed: %+v", in, r)
		}
	}
}

func TestParseTLSRPTRecord(t *testing.T) {
	r, err := ParseTLSRPTRecord("v=TLSRPTv1; rua=mailto:reports@example.com , https://reporting.example.com/v1/tlsrpt")
	if err != nil || len(r.RUA) != 2 || r.RUA[1] != "https://reporting.example.com/v1/tlsrpt" {
		t.Errorf("%+v, %v", r, err)
	}
	if _, err := ParseTLSRPTRecord("v=TLSRPTv1;rua=mailto:reports@example.com"); err != nil {
		t.Error(err)
	}
	for _, in := range []string{
		"v=TLSRPTv1", "v=TLSRPTv1; ext=1", "v=TLSRPTv1; rua=ftp://example.com/", "v=TLSRPTv1; rua=mailto:",
		"v=TLSRPTv1; rua=mailto:not an address", "v=TLSRPTv1; rua=https:///nohost", "v=TLSRPTv1; rua=",
		"v=TLSRPTv10; rua=mailto:a@b.c", "v=TLSRPTv1; rua=mailto:a@b.c!x", "v=TLSRPTv1; rua=mailto:a@b.c,",
	} {
		if r, err := ParseTLSRPTRecord(in); err == nil {
			t.Errorf("%q parsed: %+v", in, r)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.NET.\r\nmax_age: 604800\r\nmode: none\r\nx-ext: any value at all\r\n"))
	if err != nil || p.Mode != "enforce" || p.MaxAge != 604800 || len(p.MX) != 2 || p.MX[1] != "*.example.net" {
		t.Fatalf("%+v, %v", p, err)
	}
	if _, err := ParsePolicy([]byte("version: STSv1\nmode: none\nmax_age: 86400")); err != nil {
		t.Errorf("mode none without mx: %v", err)
	}
	for _, in := range []string{
		"", "mode: enforce\nmx: a.example\nmax_age: 1",
		"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1",
		"version: STSv1\nmode: sometimes\nmx: a.example\nmax_age: 1",
		"version: STSv1\nmode: enforce\nmax_age: 1",
		"version: STSv1\nmode: enforce\nmx: a.example",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1",
		"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1",
		"version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1",
		"version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1",
		"version: STSv1\nmode enforce\nmx: a.example\nmax_age: 1",
		" version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1",
		"version: STSv1\nmode: enforce\x01\nmx: a.example\nmax_age: 1",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n\xff",
	} {
		if p, err := ParsePolicy([]byte(in)); err == nil {
			t.Errorf("%q parsed: %+v", in, p)
		}
	}
}

func TestMatchMX(t *testing.T) {
	// RFC 8461 §4.1's example, and case and trailing dots.
	for _, c := range []struct {
		pattern, host string
		want          bool
	}{
		{"*.example.com", "mail.example.com", true},
		{"*.example.com", "example.com", false},
		{"*.example.com", "foo.bar.example.com", false},
		{"*.example.com", "MAIL.Example.COM.", true},
		{"mail.example.com", "mail.example.com.", true},
		{"mail.example.com", "mx.example.com", false},
		{"*.example.com", ".example.com", false},
	} {
		if got := MatchMX(c.pattern, c.host); got != c.want {
			t.Errorf("MatchMX(%q, %q) = %v", c.pattern, c.host, got)
		}
	}
}

func TestTXTString(t *testing.T) {
	rr, err := dns.NewRR(`x. 300 IN TXT "v=STSv1; " "id=a\"b\\c\001"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := txtString(rr.(*dns.TXT)); got != "v=STSv1; id=a\"b\\c\x01" {
		t.Errorf("%q", got)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	f.Add([]byte("version: STSv1\nmode: none\nmax_age: 0"))
	f.Add([]byte("version: STSv1\nmode: testing\nmx: a\nmax_age: 31557600\nversion: x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		if p.Version != "STSv1" || p.MaxAge < 0 || p.MaxAge > MaxAgeLimit || len(p.MX) > maxPolicyMX {
			t.Fatalf("accepted %+v", p)
		}
		switch p.Mode {
		case "enforce", "testing":
			if len(p.MX) == 0 {
				t.Fatalf("no mx: %+v", p)
			}
		case "none":
		default:
			t.Fatalf("mode %q", p.Mode)
		}
		for _, m := range p.MX {
			if !validMXPattern(m) || m != strings.ToLower(m) {
				t.Fatalf("mx %q", m)
			}
		}
	})
}

func FuzzParseSTSRecord(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Add("v=STSv1;id=a;x=y")
	f.Add("v=STSv1 ; id=a ;")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseSTSRecord(s)
		if err != nil {
			return
		}
		if !strings.HasPrefix(s, "v=STSv1") || len(r.ID) == 0 || len(r.ID) > 32 {
			t.Fatalf("%q → %+v", s, r)
		}
		for i := 0; i < len(r.ID); i++ {
			if !isAlpha(r.ID[i]) && !isDigit(r.ID[i]) {
				t.Fatalf("id %q", r.ID)
			}
		}
	})
}

func FuzzParseTLSRPTRecord(f *testing.F) {
	f.Add("v=TLSRPTv1; rua=mailto:reports@example.com")
	f.Add("v=TLSRPTv1;rua=mailto:a@b.c , https://r.example/v1;ext=x")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseTLSRPTRecord(s)
		if err != nil {
			return
		}
		if len(r.RUA) == 0 || len(r.RUA) > maxRUA {
			t.Fatalf("%q → %+v", s, r)
		}
		for _, u := range r.RUA {
			l := strings.ToLower(u)
			if !strings.HasPrefix(l, "mailto:") && !strings.HasPrefix(l, "https:") {
				t.Fatalf("rua %q", u)
			}
		}
	})
}

// FuzzTXTString feeds raw TXT rdata through miekg/dns's unpacking and
// txtString, which must give back the bytes that were packed.
func FuzzTXTString(f *testing.F) {
	f.Add([]byte("v=STSv1; id=a"), []byte("\"\\\x00\xff"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if len(a) > 255 || len(b) > 255 {
			return
		}
		rdata := append(append([]byte{byte(len(a))}, a...), append([]byte{byte(len(b))}, b...)...)
		msg := new(dns.Msg)
		msg.SetQuestion("x.", dns.TypeTXT)
		buf, err := msg.Pack()
		if err != nil {
			t.Fatal(err)
		}
		rr := []byte{0, 0, 16, 0, 1, 0, 0, 0, 60, byte(len(rdata) >> 8), byte(len(rdata))}
		buf[7] = 1 // ANCOUNT
		buf = append(append(buf, rr...), rdata...)
		var m dns.Msg
		if err := m.Unpack(buf); err != nil || len(m.Answer) != 1 {
			return
		}
		if got := txtString(m.Answer[0].(*dns.TXT)); got != string(a)+string(b) {
			t.Fatalf("%q + %q → %q", a, b, got)
		}
	})
}
