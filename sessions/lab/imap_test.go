package lab

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func TestIMAP143RefusesLoginBeforeTLS(t *testing.T) {
	l := startLab(t, nil)
	w := dialWire(t, addr(t, l, 143))
	greet := w.line()
	if !strings.HasPrefix(greet, "* OK [CAPABILITY ") || !strings.Contains(greet, " STARTTLS") || !strings.Contains(greet, " LOGINDISABLED") {
		t.Fatalf("greeting %q: want STARTTLS and LOGINDISABLED", greet)
	}
	if strings.Contains(greet, "AUTH=") {
		t.Fatalf("greeting %q advertises AUTH= before TLS", greet)
	}
	got := w.imapCmd("a1", "LOGIN learner correct-horse")
	if last := got[len(got)-1]; !strings.HasPrefix(last, "a1 NO [PRIVACYREQUIRED]") {
		t.Fatalf("LOGIN before TLS: %q", got)
	}
	got = w.imapCmd("a2", "AUTHENTICATE PLAIN "+plainGood)
	if last := got[len(got)-1]; !strings.HasPrefix(last, "a2 NO") {
		t.Fatalf("AUTHENTICATE before TLS: %q", got)
	}
	got = w.imapCmd("a3", "STARTTLS")
	if last := got[len(got)-1]; !strings.HasPrefix(last, "a3 OK") {
		t.Fatalf("STARTTLS: %q", got)
	}
	w.startTLS(clientTLS(l))
	got = w.imapCmd("a4", "CAPABILITY")
	if !hasLine(got, "AUTH=PLAIN") || hasLine(got, "LOGINDISABLED") || hasLine(got, "STARTTLS") {
		t.Fatalf("CAPABILITY after TLS: %q", got)
	}
	got = w.imapCmd("a5", "LOGIN learner wrong")
	if last := got[len(got)-1]; !strings.HasPrefix(last, "a5 NO [AUTHENTICATIONFAILED]") {
		t.Fatalf("bad LOGIN: %q", got)
	}
	got = w.imapCmd("a6", "LOGIN learner correct-horse")
	if last := got[len(got)-1]; !strings.HasPrefix(last, "a6 OK") {
		t.Fatalf("LOGIN after TLS: %q", got)
	}
	got = w.imapCmd("a7", "SELECT INBOX")
	if !hasLine(got, "* 3 EXISTS") {
		t.Fatalf("SELECT: %q (want the 3 seeded messages)", got)
	}
	w.imapCmd("a8", "LOGOUT")
}

func TestIMAPStartTLSWithGoClient(t *testing.T) {
	l := startLab(t, nil)
	c, err := imapclient.DialStartTLS(addr(t, l, 143), &imapclient.Options{TLSConfig: clientTLS(l)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("learner@mail.lab.test", DemoPassword).Wait(); err != nil {
		t.Fatal(err)
	}
	list, err := c.List("", "*", nil).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range list {
		names = append(names, m.Mailbox)
	}
	if strings.Join(names, ",") != "Drafts,INBOX,Sent,Trash" {
		t.Errorf("mailboxes %q", names)
	}
	err = c.Create("Mine", nil).Wait()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeCannot {
		t.Errorf("CREATE: %v, want NO [CANNOT]", err)
	}
}

func TestIMAPAppendBounded(t *testing.T) {
	l := startLab(t, func(o *Options) {
		o.Limits.MaxMessageBytes = 2000
		o.Limits.MaxStoredMessages = 4
	})
	appendMsg := func(c *imapclient.Client, size int) error {
		msg := "Subject: appended\r\n\r\n" + strings.Repeat("x", size) + "\r\n"
		cmd := c.Append("Sent", int64(len(msg)), nil)
		cmd.Write([]byte(msg))
		cmd.Close()
		_, err := cmd.Wait()
		return err
	}
	// go-imap refuses an oversized literal without reading it, so the
	// connection is out of step afterwards: use one just for this.
	big := imapLogin(t, l)
	if !big.Caps().Has("APPENDLIMIT=2000") {
		t.Errorf("caps %v lack APPENDLIMIT=2000", big.Caps())
	}
	err := appendMsg(big, 3000)
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeTooBig {
		t.Errorf("oversized APPEND: %v, want NO [TOOBIG]", err)
	}
	big.Close()

	c := imapLogin(t, l)
	defer c.Close()
	for range 6 {
		if err := appendMsg(c, 100); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.Status("Sent", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 4 {
		t.Errorf("Sent holds %d messages, want the cap of 4", *st.NumMessages)
	}
}

func TestMailboxCapDropsOldest(t *testing.T) {
	l := startLab(t, func(o *Options) { o.Limits.MaxStoredMessages = 3 })
	for _, s := range []string{"one", "two"} {
		if err := l.store.deliver([]byte("Subject: "+s+"\n\nbody\n"), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	got := inboxSubjects(t, l)
	want := []string{seedMessages[2].subject, "one", "two"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("INBOX %q, want %q", got, want)
	}
	if n := len(inboxBodies(l.store)); n != 3 {
		t.Errorf("store keeps %d bodies, want 3", n)
	}
}

func TestIMAPExpungeVisibleToMaildrop(t *testing.T) {
	l := startLab(t, nil)
	c := imapLogin(t, l)
	defer c.Close()
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := c.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	md, err := l.store.openMaildrop()
	if err != nil {
		t.Fatal(err)
	}
	defer md.unlock()
	if len(md.list) != 2 {
		t.Fatalf("maildrop has %d messages after an IMAP expunge, want 2", len(md.list))
	}
	if _, err := l.store.openMaildrop(); !errors.Is(err, errMaildropLocked) {
		t.Fatalf("second maildrop: %v, want locked", err)
	}
	// POP3 DELE (applied at QUIT) expunges from IMAP too.
	if err := md.deleteIDs([]uint64{uint64(md.list[0].uid)}); err != nil {
		t.Fatal(err)
	}
	md.unlock()
	st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil {
		t.Fatal(err)
	}
	if *st.NumMessages != 1 {
		t.Errorf("INBOX holds %d after POP3 delete, want 1", *st.NumMessages)
	}
	md2, err := l.store.openMaildrop()
	if err != nil {
		t.Fatalf("maildrop after unlock: %v", err)
	}
	md2.unlock()
}

// TestIMAPCopyMoveNothing: a UID COPY or UID MOVE naming no message is
// answered OK without COPYUID (RFC 9051 §6.4.9: a UID that does not exist
// is ignored); go-imap alone wrote "[COPYUID 1  ]", with empty sets no
// client can parse. One that names a message still gets its COPYUID.
func TestIMAPCopyMoveNothing(t *testing.T) {
	l := startLab(t, nil)
	w := selectedWire(t, l)
	for _, cmd := range []string{"UID COPY 999 Trash", "UID MOVE 999 Trash", "COPY 50:60 Sent"} {
		got := w.imapCmd("c", cmd)
		if last := got[len(got)-1]; !strings.HasPrefix(last, "c OK ") || strings.Contains(strings.Join(got, "\n"), "COPYUID") {
			t.Errorf("%s: %q, want OK without COPYUID", cmd, got)
		}
	}
	got := w.imapCmd("m", "UID MOVE 1 Trash")
	if !strings.Contains(strings.Join(got, "\n"), "[COPYUID 4 1 1]") || !strings.HasPrefix(got[len(got)-1], "m OK") {
		t.Errorf("UID MOVE 1 Trash: %q, want COPYUID 4 1 1", got)
	}
	checkIndex(t, l.store)
}
