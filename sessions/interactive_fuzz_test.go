package sessions

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// FuzzInteractive plays the interactive driver, typing a fixed dialogue
// (STARTTLS and a login included), against a server whose answers are the
// fuzzer's: the first part (split at NUL) is sent at once, each later part
// after the client wrote something. Whatever the server sends, unprompted
// or malformed, multi-line or endless, the session ends in bounded time
// with a well-formed stream (checkStream), and a typed password that
// crossed before TLS (the server refused STARTTLS) had its warning note
// first. Waits are a few
// milliseconds, so an input runs in tens of them; minimizing one still
// takes many runs, hence (the default is a minute per input):
//
//	go test ./sessions -run '^$' -fuzz FuzzInteractive -fuzztime 60s -fuzzminimizetime 5s
func FuzzInteractive(f *testing.F) {
	for _, seed := range []string{
		"220 hi\r\n\x00250-a\r\n250 STARTTLS\r\n\x00220 go\r\n",
		"220 hi\r\n421 bye\r\n",
		"+OK hi\r\n\x00+OK\r\nUSER\r\n.\r\n\x00+ \r\n\x00-ERR no\r\n",
		"* OK hi\r\n* 3 EXISTS\r\n\x00* CAPABILITY IMAP4rev2 STARTTLS\r\na1 OK\r\n\x00a2 OK go\r\n\x16\x03\x01\x00\x05hello",
		"* OK hi\r\n\x00* 1 FETCH (BODY[] {5}\r\nab",
		"220 hi\r\n\x00334 VXNlcm5hbWU6\r\n\x00334 \r\n\x00235 ok\r\n",
		"garbage\r\n\x00more\r\n",
		"220-a\r\n220-b\r\n",
	} {
		for _, proto := range []byte{0, 1, 2} {
			f.Add(proto, []byte(seed))
		}
	}
	f.Fuzz(fuzzInteractiveBody)
}

func fuzzInteractiveBody(t *testing.T, p byte, script []byte) {
	{
		proto := []string{protocol.SMTP, protocol.POP3, protocol.IMAP}[int(p)%3]
		dialogue := map[string][]Input{
			protocol.SMTP: {{Line: "EHLO me"}, {Line: "STARTTLS"}, {Line: "EHLO me"}, {Line: "AUTH LOGIN"},
				{Line: "bWU="}, {Line: "c2VjcmV0"}, {Line: "DATA"}, {Line: "."}, {Line: "QUIT"}},
			protocol.POP3: {{Line: "CAPA"}, {Line: "STLS"}, {Line: "AUTH PLAIN"}, {Line: "AG1lAHNlY3JldA=="}, {Line: "RETR 1"}, {Line: "QUIT"}},
			protocol.IMAP: {{Line: "a1 CAPABILITY"}, {Line: "a2 STARTTLS"}, {Line: "a3 IDLE"}, {Line: "DONE"},
				{Auth: &AuthHelp{Mechanism: "PLAIN", User: "me", Password: "secret"}}, {Line: "a4 LOGOUT"}},
		}[proto]
		parts := bytes.Split(script, []byte{0})
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			buf := make([]byte, 4096)
			for i, part := range parts {
				if i > 0 {
					_ = server.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
					if _, err := server.Read(buf); err != nil {
						return
					}
				}
				_ = server.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := server.Write(part); err != nil {
					return
				}
			}
			// Read on until the client closes, as a server would.
			_ = server.SetReadDeadline(time.Now().Add(time.Second))
			for {
				if _, err := server.Read(buf); err != nil {
					return
				}
			}
		}()
		in := make(chan Input, len(dialogue))
		for _, x := range dialogue {
			in <- x
		}
		close(in)
		o := Options{Target: "mail.test:25", Proto: proto, ServerName: "mail.test", Verify: wire.VerifySystem,
			ReadTimeout: 20 * time.Millisecond, SessionTimeout: 2 * time.Second, MaxReplyLines: 20, MaxLineLength: 256,
			Dial:   func(context.Context, string, string) (net.Conn, error) { return client, nil },
			Driver: InteractiveDriver{Input: in, Opts: InteractiveOptions{Lockstep: true, ReplyWait: 5 * time.Millisecond}}}
		start := time.Now()
		evs, _ := Collect(context.Background(), o)
		if took := time.Since(start); took > 3*time.Second {
			t.Fatalf("took %v", took)
		}
		checkStream(t, evs)
		for _, ev := range evs {
			if ev.Credential != nil && ev.Credential.OnWire && ev.Credential.Password != "" {
				// A typed password before TLS is allowed (warned); it must
				// have its note first.
				if find(evs, 0, func(e wire.Event) bool { return e.Annotation == AnnInteractiveCleartext && e.Seq < ev.Seq }) < 0 {
					t.Fatalf("a password went before TLS without a warning\n%s", dump(evs))
				}
			}
		}
	}
}
