package lab

import (
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// pop3Cmd sends a command and returns the status line.
func (w *wire) pop3Cmd(cmd string) string {
	w.t.Helper()
	w.send(cmd)
	return w.line()
}

// pop3Multi reads a multi-line POP3 response body up to the "." line.
func (w *wire) pop3Multi() []string {
	w.t.Helper()
	var lines []string
	for {
		l := w.line()
		if l == "." {
			return lines
		}
		lines = append(lines, l)
	}
}

func pop3LoginSTLS(t *testing.T, l *Lab) *wire {
	t.Helper()
	w := dialWire(t, addr(t, l, 110))
	w.line()
	if got := w.pop3Cmd("STLS"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("STLS: %q", got)
	}
	w.startTLS(clientTLS(l))
	if got := w.pop3Cmd("USER " + DemoUser); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("USER: %q", got)
	}
	if got := w.pop3Cmd("PASS " + DemoPassword); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("PASS: %q", got)
	}
	return w
}

func TestPOP3OnTheLab(t *testing.T) {
	l := startLab(t, nil)
	w := dialWire(t, addr(t, l, 110))
	if g := w.line(); !strings.HasPrefix(g, "+OK "+Hostname) {
		t.Fatalf("greeting %q", g)
	}
	// Dovecot's words, the plaintext refusal of the peers.
	if got := w.pop3Cmd("USER " + DemoUser); got != "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." {
		t.Fatalf("USER before STLS: %q", got)
	}
	w.conn.Close()

	// Mail submitted on 587 shows up in the POP3 maildrop.
	c, err := smtp.DialStartTLS(addr(t, l, 587), clientTLS(l))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", DemoUser, DemoPassword)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("learner@mail.lab.test", []string{"postmaster@mail.lab.test"},
		strings.NewReader("Subject: for POP3\r\n\r\n.leading dot\r\n")); err != nil {
		t.Fatal(err)
	}
	c.Quit()

	w = pop3LoginSTLS(t, l)
	if got := w.pop3Cmd("STAT"); !strings.HasPrefix(got, "+OK 4 ") {
		t.Fatalf("STAT: %q, want 4 messages", got)
	}
	if got := w.pop3Cmd("RETR 1"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("RETR 1: %q", got)
	}
	if body := w.pop3Multi(); !hasLine(body, "Subject: "+seedMessages[0].subject) {
		t.Fatalf("RETR 1 body %q", body)
	}
	if got := w.pop3Cmd("RETR 4"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("RETR 4: %q", got)
	}
	body := w.pop3Multi()
	// RFC 1939 §3: the line ".leading dot" goes on the wire dot-stuffed.
	if !hasLine(body, "Subject: for POP3") || !hasLine(body, "..leading dot") {
		t.Fatalf("RETR 4 body %q", body)
	}

	// One POP3 session at a time (RFC 1939 §4).
	other := dialWireTLS(t, addr(t, l, 995), clientTLS(l))
	other.line()
	other.pop3Cmd("USER " + DemoUser)
	if got := other.pop3Cmd("PASS " + DemoPassword); !strings.HasPrefix(got, "-ERR [IN-USE]") {
		t.Fatalf("second session: %q, want [IN-USE]", got)
	}

	if got := w.pop3Cmd("DELE 1"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("DELE: %q", got)
	}
	if got := w.pop3Cmd("QUIT"); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("QUIT: %q", got)
	}
	w.expectClosed(wireTimeout)

	// The deletion reached IMAP, and the lock is free again (995).
	im := imapLogin(t, l)
	defer im.Close()
	st, err := im.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 3 {
		t.Errorf("INBOX holds %d after POP3 DELE+QUIT, want 3", *st.NumMessages)
	}
	s := dialWireTLS(t, addr(t, l, 995), clientTLS(l))
	s.line()
	s.pop3Cmd("USER learner@lab.test")
	if got := s.pop3Cmd("PASS " + DemoPassword); !strings.HasPrefix(got, "+OK") {
		t.Fatalf("995 login after unlock: %q", got)
	}
	if got := s.pop3Cmd("STAT"); !strings.HasPrefix(got, "+OK 3 ") {
		t.Fatalf("STAT on 995: %q", got)
	}
}

func TestPOP3UnlockOnDrop(t *testing.T) {
	l := startLab(t, nil)
	w := pop3LoginSTLS(t, l)
	w.conn.Close() // no QUIT: RFC 1939 §6, no UPDATE, but the lock goes
	waitFor(t, func() bool {
		md, err := l.store.openMaildrop()
		if err != nil {
			return false
		}
		n := len(md.list)
		md.unlock()
		return n == 3
	})
}
