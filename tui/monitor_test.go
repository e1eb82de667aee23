package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/monitor"
)

// monitorFixture is what a monitor held after six clients: a careful
// submission, careless ones of each kind, a client that refused the
// certificate for another name, and one still open; fixed addresses,
// sizes and times.
func monitorFixture() monitorSnapshot {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	ep := func(port int, proto, tlsMode string, mode lab.Mode) lab.Endpoint {
		return lab.Endpoint{Canonical: port, Proto: proto, TLS: tlsMode, Purpose: "submission", Addr: fmt.Sprintf("127.0.0.1:1%04d", port), Mode: mode}
	}
	cl := []monitor.Client{
		{ID: 1, Addr: "127.0.0.1:54090", Endpoint: ep(587, "smtp", lab.TLSStartTLS, ""), TLS: lab.TLSStartTLS, TLSVersion: "TLS 1.3", SNI: "mail.lab.test", BytesIn: 1957, BytesOut: 3541, Events: 63},
		{ID: 2, Addr: "127.0.0.1:58838", Endpoint: ep(25, "smtp", lab.TLSStartTLS, ""), BytesIn: 362, BytesOut: 403, Events: 17, Flags: []monitor.Flag{monitor.FlagStartTLSIgnored}},
		{ID: 3, Addr: "127.0.0.1:33370", Endpoint: ep(993, "imap", lab.TLSImplicit, lab.ModeOtherName), TLS: lab.TLSImplicit, TLSVersion: "TLS 1.3", SNI: "mail.lab.test", BytesIn: 470, BytesOut: 2052, Events: 36, Flags: []monitor.Flag{monitor.FlagCertNotVerified}, Cert: monitor.CertAccepted},
		{ID: 4, Addr: "127.0.0.1:33378", Endpoint: ep(993, "imap", lab.TLSImplicit, lab.ModeOtherName), TLS: lab.TLSImplicit, TLSVersion: "TLS 1.3", BytesIn: 304, BytesOut: 1610, Events: 21, Cert: monitor.CertRefused},
		{ID: 5, Addr: "127.0.0.1:55352", Endpoint: ep(110, "pop3", lab.TLSStartTLS, ""), BytesIn: 46, BytesOut: 364, Events: 14, Flags: []monitor.Flag{monitor.FlagCleartextCredentials, monitor.FlagStartTLSIgnored}},
		{ID: 6, Addr: "[::1]:41000", Endpoint: ep(465, "smtp", lab.TLSImplicit, ""), TLS: lab.TLSImplicit, TLSVersion: "TLS 1.3", BytesIn: 1710, BytesOut: 2890, Events: 40, Open: true},
	}
	for i := range cl {
		cl[i].Opened = t0.Add(time.Duration(i) * time.Second)
		if !cl[i].Open {
			cl[i].ClosedAt = cl[i].Opened.Add(300 * time.Millisecond)
		}
	}
	return monitorSnapshot{clients: cl, total: 9, aged: 3, last: []monitor.Summary{{Line: "#0 127.0.0.1:50000 port 143 (imap, cleartext) 09:00:00, no flags, 40 in, 300 out, 9 events, open 12 ms"}}}
}

// newMonitorModel is the root model of `mailwire lab --monitor` at the
// given size, showing the fixture.
func newMonitorModel(t testing.TB, w, h int) *Model {
	t.Helper()
	info := fakeLabInfo()
	ports := []lab.Endpoint{{Canonical: 465, Proto: "smtp", TLS: lab.TLSImplicit, Addr: "127.0.0.1:40465", Mode: lab.ModeOtherName},
		{Canonical: 993, Proto: "imap", TLS: lab.TLSImplicit, Addr: "127.0.0.1:40993", Mode: lab.ModeOtherName}}
	m := newModel(Options{Monitor: monitor.New(monitor.Options{}), MonitorPorts: ports,
		StartLab: func(context.Context) (LabInfo, error) { return info, nil }})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	mustUpdate(t, m, labResultMsg{info: info})
	mustUpdate(t, m, monitorMsg{monitorFixture()})
	return m
}

func monScreen(m *Model) *monitorScreen { return m.screens[screenMonitor].(*monitorScreen) }

// TestMonitorScreen: the list follows the newest client until the user
// moves; f shows the flagged ones only; enter follows the selected client
// on the session screen, and esc comes back.
func TestMonitorScreen(t *testing.T) {
	m := newMonitorModel(t, 80, 24)
	if m.active != screenMonitor {
		t.Fatalf("active %v, want the monitor", m.active)
	}
	s := monScreen(m)
	if c, _ := s.selected(); c.ID != 6 {
		t.Errorf("selected #%d, want the newest, #6", c.ID)
	}
	mustUpdate(t, m, keyCode(tea.KeyUp))
	mustUpdate(t, m, monitorMsg{monitorFixture()})
	if c, _ := s.selected(); c.ID != 5 || s.pin {
		t.Errorf("after ↑ and a refresh: #%d pinned=%v, want #5 where the user left it", c.ID, s.pin)
	}
	mustUpdate(t, m, keyText('f'))
	if n := len(s.shown()); n != 3 {
		t.Errorf("flagged only: %d clients, want 3", n)
	}
	if v := plain(m); !strings.Contains(v, "flagged only") || strings.Contains(v, "127.0.0.1:54090") {
		t.Errorf("flagged view:\n%s", v)
	}
	mustUpdate(t, m, keyCode(tea.KeyUp))
	cmd := mustUpdate(t, m, keyCode(tea.KeyEnter))
	if cmd == nil {
		t.Fatal("enter: no command")
	}
	msg, ok := cmd().(openSessionMsg)
	if !ok || msg.req.Follow != 3 || msg.req.Port != 993 || msg.req.Proto != "imap" {
		t.Fatalf("enter: %#v, want to follow #3 on 993", msg)
	}
	mustUpdate(t, m, msg)
	if m.active != screenSession {
		t.Fatalf("active %v after enter, want the session", m.active)
	}
	if back := mustUpdate(t, m, keyCode(tea.KeyEscape)); back != nil {
		mustUpdate(t, m, back())
	}
	if m.active != screenMonitor {
		t.Errorf("esc from the followed client: active %v, want the monitor", m.active)
	}
}

// TestMonitorOpener: a request with Follow reads the monitor (a
// connection it does not hold is an error); any other goes on.
func TestMonitorOpener(t *testing.T) {
	mon := monitor.New(monitor.Options{})
	open := monitorOpener(mon, nil)
	if _, err := open(t.Context(), SessionRequest{Follow: 7}); err == nil || !strings.Contains(err.Error(), "#7") {
		t.Errorf("follow #7 of an empty monitor: %v", err)
	}
	if _, err := open(t.Context(), SessionRequest{Port: 587}); err == nil {
		t.Error("a session opened without a way to open one")
	}
	// A connection the monitor watches, fed its bytes directly.
	w := mon.Watch(lab.ConnInfo{ID: 1, Time: time.Now(), Client: "127.0.0.1:5000",
		Endpoint: lab.Endpoint{Canonical: 25, Proto: "smtp", TLS: lab.TLSStartTLS, Addr: "127.0.0.1:10025"}})
	w.Wrote([]byte("220 mail.lab.test ESMTP\r\n"))
	w.Read([]byte("QUIT\r\n"))
	w.Wrote([]byte("221 Bye\r\n"))
	w.Closed()
	ch, err := open(t.Context(), SessionRequest{Follow: 1})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for ev := range ch {
		texts = append(texts, ev.Text)
	}
	if len(texts) != 5 || texts[2] != "QUIT" {
		t.Errorf("followed %q", texts)
	}
	// The screen's read of the monitor.
	msg := readMonitor(t.Context(), mon, false)().(monitorMsg)
	if len(msg.snap.clients) != 1 || msg.snap.clients[0].Open || msg.snap.total != 1 {
		t.Errorf("snapshot %+v", msg.snap)
	}
}

func TestMonitorGolden(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := newMonitorModel(t, size[0], size[1])
			mustUpdate(t, m, keyCode(tea.KeyUp))
			mustUpdate(t, m, keyCode(tea.KeyUp))
			mustUpdate(t, m, keyCode(tea.KeyUp))
			golden.RequireEqual(t, withProfile(t, m.View().Content, colorprofile.ANSI256))
		})
	}
}

// TestMonitorFitsEverySize: no line wider than the terminal, no more
// lines than it has.
func TestMonitorFitsEverySize(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {100, 30}, {120, 40}, {200, 60}} {
		m := newMonitorModel(t, size[0], size[1])
		for _, k := range []tea.Msg{nil, keyText('k'), keyText('f'), keyText('G')} {
			if k != nil {
				mustUpdate(t, m, k)
			}
			lines := strings.Split(plain(m), "\n")
			if len(lines) > size[1] {
				t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
			}
			for _, l := range lines {
				if w := ansi.StringWidth(l); w > size[0] {
					t.Errorf("%dx%d: a line of %d cells: %q", size[0], size[1], w, l)
				}
			}
		}
	}
}

// TestMonitorHeaderCounts: the header counts in words ("1 connection",
// not "1 connections").
func TestMonitorHeaderCounts(t *testing.T) {
	m := newMonitorModel(t, 80, 24)
	one := monitorFixture()
	one.clients, one.total, one.aged, one.last = one.clients[:1], 1, 0, nil
	mustUpdate(t, m, monitorMsg{one})
	if v := plain(m); !strings.Contains(v, "1 connection, 0 open") {
		t.Errorf("one client's header:\n%s", v)
	}
	mustUpdate(t, m, monitorMsg{monitorFixture()})
	if v := plain(m); !strings.Contains(v, "9 connections, 1 open") {
		t.Errorf("the fixture's header:\n%s", v)
	}
}
