package monitor

import (
	"slices"

	"github.com/mailwire/mailwire/content"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestMonitorThirtyClients: 30 scripted clients, a third of them careless
// (cleartext credentials, STARTTLS ignored, certificate not verified),
// against the monitored lab. Each shows up with its port, TLS and exactly
// its flags; every line it sent is on its timeline, inside TLS too (the
// server's TLS 1.3 secrets decrypt it); nothing is lost.
func TestMonitorThirtyClients(t *testing.T) {
	m := startMonitored(t, Options{})
	sub := m.mon.Subscribe(1 << 16)
	ks, cs := runClients(t, m, 30, 8)
	clients := waitClosed(t, m.mon, 30)
	if len(clients) != 30 {
		t.Fatalf("%d clients on the monitor, want 30", len(clients))
	}
	byAddr := map[string]Client{}
	for _, c := range clients {
		byAddr[keyOf(c)] = c
	}
	careless := 0
	for i, k := range ks {
		c, ok := byAddr[cs[i].local]
		if !ok {
			t.Errorf("client %d (%s, %s) is not on the monitor", i, k.name, cs[i].local)
			continue
		}
		if c.Flagged() {
			careless++
		}
		if !slices.Equal(c.Flags, k.flags) || c.Cert != k.cert || c.TLS != k.tls {
			t.Errorf("client %d (%s): %s; want flags %v, cert %q, TLS %q", i, k.name, describe(c), k.flags, k.cert, k.tls)
		}
		if c.Open || c.BytesIn == 0 || c.BytesOut == 0 {
			t.Errorf("client %d (%s): %s open=%v in=%d out=%d", i, k.name, describe(c), c.Open, c.BytesIn, c.BytesOut)
		}
		_, evs, _ := m.mon.Client(c.ID)
		checkLines(t, k.name, cs[i], evs)
		checkKeys(t, k.name, evs)
	}
	if careless != 10 {
		t.Errorf("%d careless clients flagged, want 10", careless)
	}
	if n := sub.Lost(); n != 0 {
		t.Errorf("the subscriber lost %d events", n)
	}
	got := 0
	for len(sub.C) > 0 {
		<-sub.C
		got++
	}
	held := 0
	for _, c := range clients {
		held += c.Events
	}
	if got != held {
		t.Errorf("subscriber got %d events, the clients hold %d", got, held)
	}
}

// checkLines: every line the client sent is a client-to-server line event
// of its timeline, and a password sent before TLS is one the
// eavesdropper's lens reads.
func checkLines(t *testing.T, name string, c *client, evs []wire.Event) {
	t.Helper()
	var lines []string
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer {
			lines = append(lines, string(ev.Raw))
		}
	}
	all := strings.Join(lines, "")
	for _, s := range c.sent {
		if !strings.Contains(all, s.line+"\r\n") {
			t.Errorf("%s: the line %q is not on the timeline (%d lines: %q)", name, s.line, len(lines), lines)
			return
		}
	}
	obs := lens.Observe(evs, len(evs)-1, "")
	for _, s := range c.sent {
		if strings.HasPrefix(s.line, "PASS ") && len(obs.Credentials) == 0 && !obs.TLSBegun() {
			t.Errorf("%s: a cleartext PASS the eavesdropper did not read", name)
		}
	}
}

// TestMonitorAgesOut: past MaxClients the oldest closed connections leave
// their events and stay as one summary line each.
func TestMonitorAgesOut(t *testing.T) {
	m := startMonitored(t, Options{MaxClients: 4, MaxSummaries: 3})
	runClients(t, m, 9, 3)
	deadline := 0
	for {
		sums, aged := m.mon.Summaries()
		if aged == 5 {
			if len(sums) != 3 {
				t.Errorf("%d summaries kept, want 3", len(sums))
			}
			for _, s := range sums {
				if !strings.HasPrefix(s.Line, "#") || !strings.Contains(s.Line, "port") {
					t.Errorf("summary %q", s.Line)
				}
			}
			break
		}
		if deadline++; deadline > 500 {
			t.Fatalf("aged out %d, want 5", aged)
		}
		waitClosed(t, m.mon, 1)
	}
	if n := len(m.mon.Clients()); n != 4 {
		t.Errorf("%d clients held, want 4", n)
	}
	if m.mon.Total() != 9 {
		t.Errorf("total %d, want 9", m.mon.Total())
	}
}

// checkKeys: every annotation on the timeline leads to prose.
func checkKeys(t *testing.T, name string, evs []wire.Event) {
	t.Helper()
	for _, ev := range evs {
		for _, k := range append([]string{ev.Annotation}, ev.Also...) {
			if _, ok := content.Lookup(k); k != "" && !ok {
				t.Errorf("%s: event %d (%s) has the key %q, which content does not know", name, ev.Seq, ev.Text, k)
			}
		}
	}
}

// TestMonitorKeysHaveEntries: the monitor's own keys each have an entry of
// their own.
func TestMonitorKeysHaveEntries(t *testing.T) {
	for _, k := range AnnotationKeys() {
		if a, ok := content.Lookup(k); !ok || a.Key != k {
			t.Errorf("%s: no entry of its own (got %q)", k, a.Key)
		}
	}
}

// TestFollow: following a connection gives its events so far, then the
// rest as they come, and ends after its close; a connection that aged
// out cannot be followed.
func TestFollow(t *testing.T) {
	m := startMonitored(t, Options{MaxClients: 2})
	c, err := dialClient(m.addr(t, 25), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.reply("smtp", "")
	var id uint64
	for _, cl := range m.mon.Clients() {
		if keyOf(cl) == c.local {
			id = cl.ID
		}
	}
	ch, err := m.mon.Follow(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c.cmd("smtp", "", "EHLO follow.test")
	c.cmd("smtp", "", "QUIT")
	c.conn.Close()
	var kinds []wire.Kind
	for ev := range ch {
		kinds = append(kinds, ev.Kind)
	}
	want := []wire.Kind{wire.KindConnect, wire.KindLine, wire.KindLine, wire.KindLine, wire.KindLine, wire.KindLine, wire.KindClose}
	if !slices.Equal(kinds, want) {
		t.Errorf("followed %v, want %v", kinds, want)
	}
	runClients(t, m, 3, 1)
	waitClosed(t, m.mon, 2)
	if _, err := m.mon.Follow(t.Context(), id); err == nil {
		t.Error("followed a connection that aged out")
	}
}
