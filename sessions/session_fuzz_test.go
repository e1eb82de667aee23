package sessions

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// replyConn is the client's end of a connection to a scripted server that
// sends replies[0] (the greeting) at once and one more reply each time the
// client writes, then closes when it has no more. No goroutine, no socket:
// a fuzzer can run a whole mail session thousands of times a second.
type replyConn struct {
	out     []byte
	replies [][]byte
}

func newReplyConn(replies [][]byte) *replyConn {
	c := &replyConn{replies: replies}
	c.next()
	return c
}

func (c *replyConn) next() {
	if len(c.replies) > 0 {
		c.out = append(c.out, c.replies[0]...)
		c.replies = c.replies[1:]
	}
}

func (c *replyConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}
func (c *replyConn) Write(p []byte) (int, error) { c.next(); return len(p), nil }
func (c *replyConn) Close() error                { return nil }
func (c *replyConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *replyConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 587} }
func (c *replyConn) SetDeadline(time.Time) error      { return nil }
func (c *replyConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replyConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzMailSession plays the SMTP (submission), POP3 and IMAP drivers
// against a server whose replies are script, split at NUL bytes: the
// first part is the greeting, each later part answers one write of the
// client. It covers what the reply fuzzers do not: EHLO, CAPA and
// CAPABILITY parsing, mechanism choice, the STARTTLS decision, the order
// of commands. Whatever the server says:
//
//   - the stream is well formed and every server line is cut from what
//     the server sent;
//   - each client command is one line: nothing the server sent can add a
//     CR or LF to it (command injection, RFC 5321 §2.3.8);
//   - with TLS mode starttls, the password never leaves in cleartext,
//     even with AllowCleartextAuth, however the server refuses, omits or
//     fakes STARTTLS (RFC 3207 §4,
//     RFC 8314 §5.1; the fake server cannot complete a handshake, so no
//     session of this target ever gets past TLS).
func FuzzMailSession(f *testing.F) {
	seeds := []struct {
		proto, mode byte
		replies     []string
	}{
		{0, 0, []string{"220 mail ESMTP\r\n", "250-mail\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n", "235 ok\r\n",
			"250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 queued\r\n", "221 bye\r\n"}},
		{0, 0, []string{"220 mail\r\n", "250-mail\r\n250 AUTH LOGIN\r\n", "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "535 5.7.8 no\r\n", "221 bye\r\n"}},
		{0, 1, []string{"220 mail\r\n", "250-mail\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n", "454 4.7.0 TLS not available\r\n", "221 bye\r\n"}},
		{0, 1, []string{"220 mail\r\n", "250-mail\r\n250 AUTH PLAIN\r\n", "235 ok\r\n"}},
		{0, 1, []string{"220 mail\r\n", "250-mail\r\n250 STARTTLS\r\n", "220 go ahead\r\n250 injected\r\n", "garbage"}},
		{0, 0, []string{"220 mail\r\n", "502 no EHLO\r\n", "250 hi\r\n", "421 closing\r\n"}},
		{1, 0, []string{"+OK POP3\r\n", "+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n", "+OK\r\n", "+OK\r\n", "+OK 1 10\r\n", "+OK\r\n1 10\r\n.\r\n", "+OK bye\r\n"}},
		{1, 1, []string{"+OK POP3\r\n", "+OK\r\nUSER\r\n.\r\n", "+OK\r\n", "+OK\r\n"}},
		{1, 1, []string{"+OK POP3\r\n", "-ERR [SYS/PERM] no CAPA\r\n", "+OK\r\n"}},
		{1, 1, []string{"+OK POP3\r\n", "+OK\r\nSTLS\r\n.\r\n", "-ERR [IN-USE] no\r\n", "+OK\r\n"}},
		{2, 0, []string{"* OK IMAP4rev2 ready\r\n", "* CAPABILITY IMAP4rev2 AUTH=PLAIN\r\na1 OK done\r\n", "a2 OK LOGIN done\r\n",
			"* 1 EXISTS\r\na3 OK [READ-WRITE] SELECT\r\n", "* 1 FETCH (ENVELOPE (NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL))\r\na4 OK\r\n", "* BYE\r\na5 OK\r\n"}},
		{2, 1, []string{"* PREAUTH welcome\r\n", "* CAPABILITY IMAP4rev2\r\na1 OK\r\n"}},
		{2, 1, []string{"* OK [CAPABILITY IMAP4rev2 STARTTLS LOGINDISABLED] ready\r\n", "a1 BAD no\r\n", "a2 OK\r\n"}},
		{2, 1, []string{"* OK ready\r\n", "* CAPABILITY IMAP4rev2\r\na1 OK\r\n", "a2 OK LOGIN done\r\n"}},
		{2, 0, []string{"* OK ready\r\n", "* CAPABILITY IMAP4rev2 LOGINDISABLED\r\na1 OK\r\n", "* BYE\r\n"}},
	}
	for _, s := range seeds {
		f.Add(s.proto, s.mode, []byte(joinNUL(s.replies)))
		if s.mode == 1 {
			f.Add(s.proto, s.mode|4, []byte(joinNUL(s.replies))) // and AllowCleartextAuth
		}
	}
	const password = "correct-horse-battery"
	secrets := [][]byte{
		[]byte(password),
		[]byte(base64.StdEncoding.EncodeToString([]byte(password))),
		[]byte(base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + password))),
	}
	type target struct {
		proto string
		port  string
		role  Role
	}
	targets := []target{{protocol.SMTP, "587", RoleSubmission}, {protocol.POP3, "110", RoleRetrieval}, {protocol.IMAP, "143", RoleRetrieval}}
	roots := x509.NewCertPool()
	f.Fuzz(func(t *testing.T, proto, mode byte, script []byte) {
		tg := targets[int(proto)%len(targets)]
		tlsMode := []TLSMode{TLSNone, TLSStartTLS}[mode%2]
		o := Options{
			Target: "127.0.0.1:" + tg.port, Proto: tg.proto, TLSMode: tlsMode, Role: tg.role,
			EHLOName: "client.test", ServerName: "mail.lab.test", Verify: wire.VerifyPool, RootCAs: roots,
			Username: "learner", Password: password, AuthMechanism: []string{protocol.AuthPlain, protocol.AuthLogin}[mode>>1&1],
			// Without TLS the drivers authenticate only when allowed to;
			// with starttls, allowing it must change nothing before TLS.
			AllowCleartextAuth: tlsMode == TLSNone || mode&4 != 0,
			ReadTimeout:        time.Second, SessionTimeout: 5 * time.Second,
			Dial: func(context.Context, string, string) (net.Conn, error) {
				return newReplyConn(bytes.Split(script, []byte{0})), nil
			},
		}
		var evs []wire.Event
		err := Run(context.Background(), o, func(ev wire.Event) { evs = append(evs, ev) })
		checkFuzzStream(t, evs, err, bytes.ReplaceAll(script, []byte{0}, nil), len(script))
		if testing.Verbose() {
			t.Logf("%s %s: %d events, %v", tg.proto, tlsMode, len(evs), err)
		}
		for _, ev := range evs {
			if ev.Dir != wire.ClientToServer || ev.Kind != wire.KindLine || ev.Layer != wire.LayerCleartext {
				continue
			}
			if ev.Line == nil || ev.Line.Proto != tg.proto {
				t.Fatalf("client line %+v", ev)
			}
			body := ev.Raw
			if ev.Annotation != "smtp.data.content" {
				if !bytes.HasSuffix(body, []byte("\r\n")) || bytes.ContainsAny(body[:len(body)-2], "\r\n") {
					t.Fatalf("client command %q is not one line\n%s", ev.Raw, dump(evs))
				}
			}
			if tlsMode == TLSNone {
				if ev.Credential != nil && !ev.Credential.OnWire {
					t.Fatalf("cleartext credential not marked on the wire: %+v", ev)
				}
				continue
			}
			if ev.Credential != nil {
				t.Fatalf("starttls mode: credential sent in cleartext: %+v\n%s", ev.Credential, dump(evs))
			}
			for _, s := range secrets {
				if bytes.Contains(ev.Raw, s) {
					t.Fatalf("starttls mode: %q sent in cleartext\n%s", s, dump(evs))
				}
			}
		}
	})
}

func joinNUL(parts []string) string {
	var b bytes.Buffer
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(p)
	}
	return b.String()
}
