package monitor

import (
	"crypto/tls"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestMonitorTLS12: under TLS 1.2 the monitor says it shows the records,
// not the lines; a client on a certificate check port that sends
// application data after the handshake is still flagged (TLS 1.2's
// application data only follows both Finished messages).
func TestMonitorTLS12(t *testing.T) {
	m := startMonitored(t, Options{})
	for _, addr := range []string{m.addr(t, 465), m.other[465]} {
		c, err := dialClient(addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatal(err)
		}
		c.reply("smtp", "")
		c.cmd("smtp", "", "EHLO tls12.test")
		c.cmd("smtp", "", "QUIT")
		c.conn.Close()
	}
	cl := waitClosed(t, m.mon, 2)
	for _, c := range cl {
		_, evs, _ := m.mon.Client(c.ID)
		if c.TLSVersion != "TLS 1.2" || countAnn(evs, annTLS12) != 1 {
			t.Errorf("%s: version %q, %d notes on TLS 1.2", describe(c), c.TLSVersion, countAnn(evs, annTLS12))
		}
		other := c.Endpoint.Mode == lab.ModeOtherName
		if got := hasFlag(c.Flags, FlagCertNotVerified); got != other {
			t.Errorf("%s: certificate flag %v, want %v", describe(c), got, other)
		}
	}
}

func countAnn(evs []wire.Event, ann string) int {
	n := 0
	for _, ev := range evs {
		if ev.Annotation == ann {
			n++
		}
	}
	return n
}

// FuzzMonitorStream: whatever a client and a server send, in whatever
// chunks, the monitor neither panics nor holds more than its bounds: the
// events within the budget, each event's bytes within EventBytes.
func FuzzMonitorStream(f *testing.F) {
	f.Add("smtp", false, []byte("220 hi\r\n"), []byte("EHLO x\r\nAUTH PLAIN AGEAYg==\r\nDATA\r\n"), []byte("354 go\r\n250-a\r\n250 b\r\n"), 3)
	f.Add("imap", false, []byte("* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n"), []byte("a1 LOGIN {3}\r\nabc {2}\r\nxy\r\na2 STARTTLS\r\n\x16\x03\x01\x00\x05hello"), []byte("+ go\r\na2 OK begin\r\n"), 7)
	f.Add("pop3", true, []byte("\x16\x03\x03\x00\x02\x02\x00"), []byte("USER a\r\nPASS b\r\nCAPA\r\n"), []byte("+OK\r\nSTLS\r\n.\r\n"), 1)
	f.Add("https", true, []byte("\x16\x03\x03\x40\x00"), []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"), []byte("HTTP/1.1 200 OK\r\n\r\n"), 5)
	f.Fuzz(func(t *testing.T, proto string, implicit bool, greet, c2s, s2c []byte, chunk int) {
		switch proto {
		case "smtp", "pop3", "imap", "https":
		default:
			return
		}
		tlsMode := lab.TLSStartTLS
		if implicit {
			tlsMode = lab.TLSImplicit
		}
		b := wire.Budget{Events: 50, EventBytes: 64, TotalBytes: 1024, Literal: 128}
		mon := New(Options{Budget: b})
		w := mon.Watch(lab.ConnInfo{ID: 1, Time: time.Now(), Client: "127.0.0.1:1", Endpoint: lab.Endpoint{Canonical: 25, Proto: proto, TLS: tlsMode}})
		chunk = max(1, chunk%64+1)
		feed := func(fn func([]byte), b []byte) {
			for len(b) > 0 {
				n := min(chunk, len(b))
				fn(b[:n])
				b = b[n:]
			}
		}
		feed(w.Wrote, greet)
		feed(w.Read, c2s)
		feed(w.Wrote, s2c)
		_, _ = mon.Write([]byte("CLIENT_TRAFFIC_SECRET_0 " + strings.Repeat("00", 32) + " " + strings.Repeat("11", 32) + "\n"))
		w.Closed()
		_, evs, ok := mon.Client(1)
		if !ok {
			t.Fatal("the connection is gone")
		}
		if len(evs) > b.Events+b.Events/10+len(wire.BudgetKeys())+2 {
			t.Errorf("%d events held, over the budget of %d", len(evs), b.Events)
		}
		for _, ev := range evs {
			if len(ev.Raw) > b.EventBytes {
				t.Errorf("an event keeps %d bytes, over %d", len(ev.Raw), b.EventBytes)
			}
		}
		if evs[len(evs)-1].Kind != wire.KindClose {
			t.Errorf("the last event is %s, not the close", evs[len(evs)-1].Kind)
		}
	})
}

// TestMonitorIMAPLiteralLogin: a LOGIN whose user and password are
// literals (RFC 9051 §4.3, non-synchronizing ones of RFC 7888) is read as
// one command with its literals, and its cleartext password flagged.
func TestMonitorIMAPLiteralLogin(t *testing.T) {
	m := startMonitored(t, Options{})
	c, err := dialClient(m.addr(t, 143), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.reply("imap", "")
	c.send("a1 LOGIN {7+}\r\n" + lab.DemoUser + " {13+}\r\n" + lab.DemoPassword)
	c.reply("imap", "a1")
	c.cmd("imap", "a2", "a2 LOGOUT")
	c.conn.Close()
	cl := waitClosed(t, m.mon, 1)[0]
	if want := []Flag{FlagCleartextCredentials, FlagStartTLSIgnored}; !slices.Equal(cl.Flags, want) {
		t.Errorf("%s, want flags %v", describe(cl), want)
	}
	_, evs, _ := m.mon.Client(cl.ID)
	for _, ev := range evs {
		if ev.Credential != nil && (ev.Credential.Password != lab.DemoPassword || !strings.HasPrefix(string(ev.Raw), "a1 LOGIN {7+}\r\n")) {
			t.Errorf("credential %+v on %q", ev.Credential, ev.Raw)
		}
	}
}

// TestMonitorAuthLogin: AUTH LOGIN's user and password come as answers to
// the server's 334 prompts (RFC 4954 §4): the monitor takes them as the
// AUTH exchange's continuations, not as commands, and flags the password
// sent before TLS.
func TestMonitorAuthLogin(t *testing.T) {
	m := startMonitored(t, Options{})
	e, err := m.lab.AddEndpoint(587, lab.ModeCleartextAuth)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialClient(e.Addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.reply("smtp", "")
	c.cmd("smtp", "", "EHLO login.test")
	c.cmd("smtp", "", "AUTH LOGIN")
	c.cmd("smtp", "", base64.StdEncoding.EncodeToString([]byte(lab.DemoUser)))
	if got := c.cmd("smtp", "", base64.StdEncoding.EncodeToString([]byte(lab.DemoPassword))); !strings.HasPrefix(got, "235") {
		t.Fatalf("AUTH LOGIN: %q", got)
	}
	c.cmd("smtp", "", "QUIT")
	c.conn.Close()
	cl := waitClosed(t, m.mon, 1)[0]
	// In the order raised: AUTH itself ignored the STARTTLS on offer, the
	// password followed.
	if want := []Flag{FlagStartTLSIgnored, FlagCleartextCredentials}; !slices.Equal(cl.Flags, want) {
		t.Errorf("%s, want flags %v", describe(cl), want)
	}
	_, evs, _ := m.mon.Client(cl.ID)
	var conts []string
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Line.Command == "" {
			conts = append(conts, ev.Annotation)
			if ev.Credential == nil || !ev.Credential.OnWire {
				t.Errorf("continuation %q without its credential: %+v", ev.Raw, ev.Credential)
			}
		}
	}
	if !slices.Equal(conts, []string{"smtp.cmd.auth", "smtp.cmd.auth"}) {
		t.Errorf("continuations %v", conts)
	}
}
