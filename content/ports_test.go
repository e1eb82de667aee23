package content

import (
	"reflect"
	"testing"
)

// TestPortTableFromCanonicalPorts: the port table made from the one table
// of facts is the table the screens show, and every canonical port is in
// exactly one of its rows.
func TestPortTableFromCanonicalPorts(t *testing.T) {
	want := []PortRow{
		{Protocol: "SMTP", Explicit: 25, Purpose: "Transfer"},
		{Protocol: "ESMTP", Explicit: 587, Implicit: 465, Purpose: "Submission"},
		{Protocol: "POP3", Explicit: 110, Implicit: 995, Purpose: "Retrieval"},
		{Protocol: "IMAP4", Explicit: 143, Implicit: 993, Purpose: "Retrieval"},
		{Protocol: "HTTPS", Implicit: 443, Purpose: "Web (for comparison)"},
	}
	if got := PortTable(); !reflect.DeepEqual(got, want) {
		t.Fatalf("PortTable() = %+v\nwant %+v", got, want)
	}
	inRows := map[int]int{}
	for _, r := range PortTable() {
		inRows[r.Explicit]++
		inRows[r.Implicit]++
	}
	for _, p := range CanonicalPorts() {
		if inRows[p.Port] != 1 {
			t.Errorf("port %d is in %d rows of the table", p.Port, inRows[p.Port])
		}
		if got, ok := CanonicalPort(p.Port); !ok || got != p {
			t.Errorf("CanonicalPort(%d) = %+v, %v", p.Port, got, ok)
		}
	}
	if _, ok := CanonicalPort(2525); ok {
		t.Error("2525 is not a canonical port")
	}
}

func TestClientPort(t *testing.T) {
	for _, c := range []struct {
		proto    string
		implicit bool
		want     int
	}{
		{"smtp", false, 587}, {"smtp", true, 465}, // submission, never 25
		{"pop3", false, 110}, {"pop3", true, 995},
		{"imap", false, 143}, {"imap", true, 993},
		{"https", false, 443}, {"https", true, 443},
		{"gopher", false, 0},
	} {
		if got := ClientPort(c.proto, c.implicit); got != c.want {
			t.Errorf("ClientPort(%q, %v) = %d, want %d", c.proto, c.implicit, got, c.want)
		}
	}
}
