package sessions

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The emitter (emit.go): numbering, the session budget and coalesced runs
// of records.

func testEmitter(b wire.Budget) (*emitter, *[]wire.Event) {
	var evs []wire.Event
	return newEmitter(func(ev wire.Event) { evs = append(evs, ev) }, time.Now(), b), &evs
}

func encRecord(dir wire.Direction, n int) wire.Event {
	raw := append([]byte{23, 3, 3, byte(n >> 8), byte(n)}, bytes.Repeat([]byte{0xab}, n)...)
	return wire.Event{Kind: wire.KindEncrypted, Dir: dir, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints,
		Raw: raw, Annotation: "tls.encrypted.application_data",
		Record: &wire.Record{ContentType: "application_data", Version: "TLS 1.2", Length: n}}
}

func TestEmitterCoalescesRuns(t *testing.T) {
	e, evs := testEmitter(wire.Budget{EventBytes: 100})
	note := wire.Event{Kind: wire.KindNote, Dir: wire.Local, Text: "between"}
	// Three records keep a row each; ten become one.
	for range coalesceMin - 1 {
		e.emit(encRecord(wire.ServerToClient, 18))
	}
	e.emit(note)
	for range 10 {
		e.emit(encRecord(wire.ServerToClient, 18))
	}
	// Another direction ends the run, and starts one of its own.
	e.emit(encRecord(wire.ClientToServer, 30))
	e.emit(note)
	got := *evs
	if len(got) != coalesceMin-1+1+1+1+1 {
		t.Fatalf("%d events: %s", len(got), dump(got))
	}
	for i, ev := range got {
		if ev.Seq != i+1 {
			t.Errorf("event %d has Seq %d", i, ev.Seq)
		}
	}
	for _, ev := range got[:coalesceMin-1] {
		if ev.Annotation != "tls.encrypted.application_data" || ev.Record.Count != 0 {
			t.Errorf("a short run was coalesced: %+v", ev)
		}
	}
	agg := got[coalesceMin]
	if agg.Annotation != annCoalesced || len(agg.Also) != 1 || agg.Also[0] != "tls.encrypted.application_data" {
		t.Errorf("coalesced annotations: %q %q", agg.Annotation, agg.Also)
	}
	if r := agg.Record; r.Count != 10 || r.Total != 180 || r.Records() != 10 || r.Payload() != 180 {
		t.Errorf("coalesced record: %+v", r)
	}
	if agg.Bytes() != 10*23 || len(agg.Raw) != 100 || agg.RawLen != 230 {
		t.Errorf("coalesced raw: %d kept, %d crossed", len(agg.Raw), agg.Bytes())
	}
	if !bytes.HasPrefix(agg.Raw, encRecord(wire.ServerToClient, 18).Raw) {
		t.Error("the coalesced Raw does not start with the first record")
	}
	if !strings.Contains(agg.Text, "10 encrypted application_data records") || !strings.Contains(agg.Text, "180 bytes of payload") {
		t.Errorf("text %q", agg.Text)
	}
	if got[coalesceMin+1].Dir != wire.ClientToServer || got[coalesceMin+1].Record.Count != 0 {
		t.Errorf("the other direction's record: %+v", got[coalesceMin+1])
	}
}

// TestEmitterCoalescesWithinAWindow: a run that goes on for longer than
// coalesceWindow is shown a row per window, so a screen sees it go on.
func TestEmitterCoalescesWithinAWindow(t *testing.T) {
	e, evs := testEmitter(wire.Budget{})
	for i := range 12 {
		ev := encRecord(wire.ServerToClient, 18)
		ev.At = time.Duration(i) * coalesceWindow / 5 // 12 records over 2.2 windows
		e.emit(ev)
	}
	e.flush()
	var counts []int
	for _, ev := range *evs {
		counts = append(counts, ev.Record.Records())
	}
	if fmt.Sprint(counts) != "[5 5 1 1]" {
		t.Errorf("rows of %v records", counts)
	}
}

func TestEmitterBoundsBytes(t *testing.T) {
	e, evs := testEmitter(wire.Budget{EventBytes: 10, TotalBytes: 25, LineWidth: 20})
	line := func(n int) wire.Event {
		return wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Raw: bytes.Repeat([]byte("x"), n),
			Text: strings.Repeat("y", n)}
	}
	for _, n := range []int{8, 40, 40, 5} {
		e.emit(line(n))
	}
	var lines, notes []wire.Event
	for _, ev := range *evs {
		if ev.Kind == wire.KindNote {
			notes = append(notes, ev)
		} else {
			lines = append(lines, ev)
		}
	}
	kept := []int{8, 10, 7, 0}
	crossed := []int64{8, 40, 40, 5}
	for i, ev := range lines {
		if len(ev.Raw) != kept[i] || ev.Bytes() != crossed[i] {
			t.Errorf("line %d: kept %d of %d; want %d of %d", i, len(ev.Raw), ev.Bytes(), kept[i], crossed[i])
		}
		if len(ev.Text) > 20+len("… 99 more bytes") {
			t.Errorf("line %d: text of %d bytes", i, len(ev.Text))
		}
	}
	if lines[1].Text != strings.Repeat("y", 20)+"… 20 more bytes" {
		t.Errorf("elided text %q", lines[1].Text)
	}
	if len(notes) != 2 || notes[0].Annotation != wire.BudgetKeyEventBytes || notes[1].Annotation != wire.BudgetKeyTotalBytes {
		t.Fatalf("notes: %s", dump(notes))
	}
	// Each note follows the event that reached its limit.
	if (*evs)[2].Annotation != wire.BudgetKeyEventBytes {
		t.Errorf("the event_bytes note is not right after the event that hit it:\n%s", dump(*evs))
	}
}

func TestEmitterBoundsEvents(t *testing.T) {
	e, evs := testEmitter(wire.Budget{Events: 20})
	for i := range 100 {
		e.emit(wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Raw: []byte("line\r\n"), Text: fmt.Sprint(i)})
		if i%10 == 0 {
			e.emit(wire.Event{Kind: wire.KindNote, Dir: wire.Local, Text: "kept note", Annotation: "x.note"})
		}
	}
	e.emit(wire.Event{Kind: wire.KindError, Dir: wire.Local, Text: "the error", Err: &wire.ErrorInfo{Op: "x", Message: "m"}})
	e.emit(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Text: "closed"})
	got := *evs
	if len(got) > 20+2+1 {
		t.Errorf("%d events passed a budget of 20 (+ a reserve of 2):\n%s", len(got), dump(got))
	}
	budgetNote, errSeen := 0, false
	for _, ev := range got {
		if ev.Annotation == wire.BudgetKeyEvents {
			budgetNote++
		}
		errSeen = errSeen || ev.Kind == wire.KindError
	}
	if budgetNote != 1 {
		t.Errorf("%d events-budget notes", budgetNote)
	}
	last := got[len(got)-1]
	if last.Kind != wire.KindClose || !strings.Contains(last.Text, "over the budget") {
		t.Errorf("close %q", last.Text)
	}
	if !errSeen && len(got) < 23 {
		t.Errorf("the error was dropped although the reserve had room:\n%s", dump(got))
	}
}

// TestEmitterUnlimited: negative limits keep everything.
func TestEmitterUnlimited(t *testing.T) {
	e, evs := testEmitter(wire.Budget{Events: -1, EventBytes: -1, TotalBytes: -1, LineWidth: -1})
	big := bytes.Repeat([]byte("z"), 200<<10)
	for range 3 {
		e.emit(wire.Event{Kind: wire.KindLine, Raw: big, Text: string(big)})
	}
	for _, ev := range *evs {
		if len(ev.Raw) != len(big) || len(ev.Text) != len(big) || ev.RawLen != 0 {
			t.Fatalf("cut without a limit: %d / %d", len(ev.Raw), len(ev.Text))
		}
	}
}

// TestIMAPUntaggedBudget: a server may send any number of untagged
// responses (RFC 9051 §2.2.2): the first Untagged are shown, the rest
// read, counted and summed up in a note, and the session goes on.
func TestIMAPUntaggedBudget(t *testing.T) {
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		err := pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n",
			strings.Repeat("* OK still here\r\n", 120)+"* CAPABILITY IMAP4rev1\r\na1 OK done",
			"a2 LOGOUT\r\n", "* BYE bye\r\na2 OK done")
		f.drain()
		return ignoreNetErr(err)
	})
	o := imapOptions(srv.addr, pki, TLSStartTLS)
	o.Budget.Untagged = 10
	evs, err := run(t, o)
	srv.wait(t)
	if err == nil {
		t.Fatal("no STARTTLS offered: the session should fail there")
	}
	shown := 0
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && bytes.HasPrefix(ev.Raw, []byte("* OK still here")) {
			shown++
		}
	}
	n := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == wire.BudgetKeyUntagged })
	if shown != 10 || n < 0 || !strings.Contains(evs[n].Text, "CAPABILITY: 111 untagged responses") {
		t.Errorf("%d shown, note %d\n%s", shown, n, dump(evs))
	}
	// The capability list hidden past the budget still counted: the
	// failure is the missing STARTTLS, not the flood.
	if e := errorEvent(evs); e == nil || e.Err.Explain != ExplainNoStartTLS {
		t.Errorf("error: %+v\n%s", e, dump(evs))
	}
}

// TestIMAPLiteralBudget: a literal larger than the budget is read in full
// and kept in part; the event says how much crossed.
func TestIMAPLiteralBudget(t *testing.T) {
	const size = 3 << 20
	pki := validPKI(t)
	srv := startFake(t, pki, false, false, func(f *fakeConn) error {
		err := pop3Steps(f, "", "* OK ready", "a1 CAPABILITY\r\n",
			fmt.Sprintf("* 1 FETCH (BODY[] {%d}\r\n%s)\r\na1 OK done", size, strings.Repeat("x", size)),
			"a2 LOGOUT\r\n", "* BYE bye\r\na2 OK done")
		f.drain()
		return ignoreNetErr(err)
	})
	o := imapOptions(srv.addr, pki, TLSStartTLS)
	evs, _ := run(t, o)
	srv.wait(t)
	i := find(evs, 0, isLine(wire.ServerToClient, "* 1 FETCH"))
	if i < 0 || len(evs[i].Raw) > wire.DefaultBudgetEventBytes || evs[i].Bytes() != int64(size+len("* 1 FETCH (BODY[] {3145728}\r\n)\r\n")) {
		t.Fatalf("literal event: %d kept of %d\n%s", len(evs[i].Raw), evs[i].Bytes(), dump(evs))
	}
	n := find(evs, i, func(ev wire.Event) bool { return ev.Annotation == wire.BudgetKeyLiteral })
	if n < 0 || !strings.Contains(evs[n].Text, "of 3,145,728 literal bytes were read and not kept") {
		t.Errorf("literal note\n%s", dump(evs))
	}
}

// TestHTTP1BodyBudget: the whole body is read (the connection ends
// clean) and its first bytes kept.
func TestHTTP1BodyBudget(t *testing.T) {
	body := strings.Repeat("b", 5000)
	for _, resp := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + body,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + body[:2000] + "\r\nbb8\r\n" + body[2000:] + "\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n\r\n" + body,
	} {
		o := fuzzHTTPSOptions(TLSNone, x509.NewCertPool(), func() net.Conn { return &scriptedConn{r: strings.NewReader(resp), chunk: 700} })
		o.Budget.Literal = 1000
		var evs []wire.Event
		if err := Run(context.Background(), o, func(ev wire.Event) { evs = append(evs, ev) }); err != nil {
			t.Fatalf("%v\n%s", err, dump(evs))
		}
		b := find(evs, 0, func(ev wire.Event) bool { return ev.Annotation == "http.body" })
		if b < 0 || string(evs[b].Raw) != body[:1000] || evs[b].Bytes() != 5000 || !strings.Contains(evs[b].Text, "5,000 bytes") {
			t.Errorf("body event %d\n%s", b, dump(evs))
		}
		if find(evs, b, func(ev wire.Event) bool { return ev.Annotation == wire.BudgetKeyLiteral }) < 0 {
			t.Errorf("no literal note\n%s", dump(evs))
		}
	}
}

// TestCapabilityNoteQuotesAsSent: the note on capabilities that changed
// across STARTTLS shows the server's bytes as sent (escaped by the
// printers), not upper-cased, and cut.
func TestCapabilityNoteQuotesAsSent(t *testing.T) {
	esc := "\x1b[31mred"
	after := protocol.ParseEHLO([]string{"hostile", esc, strings.Repeat("L", 500)})
	for i := range 30 {
		after = append(after, fmt.Sprintf("X-CAP-%d", i))
	}
	note := capabilityDiff([]string{"STARTTLS"}, after, "STARTTLS", "RFC 3207 §4.2")
	if !strings.Contains(note, esc) || strings.Contains(note, "\x1b[31M") {
		t.Errorf("escape not as sent: %q", note)
	}
	if strings.Contains(note, strings.Repeat("L", 100)) || !strings.Contains(note, "and 16 more") {
		t.Errorf("not cut: %q", note)
	}
	if len(note) > 2000 {
		t.Errorf("note of %d bytes", len(note))
	}
}
