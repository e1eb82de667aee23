package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

func TestConnectOptions(t *testing.T) {
	ca := testCAFile(t)
	for _, c := range []struct {
		target string
		f      connectFlags
		want   tui.SessionRequest
		verify wire.VerifyMode
	}{
		// No port, no protocol: submission on 587 (RFC 6409).
		{"mx.example.test", connectFlags{}, tui.SessionRequest{Port: 587, Target: "mx.example.test:587", Proto: "smtp", TLSMode: "starttls"}, wire.VerifySystem},
		// The protocol and TLS mode give the port (RFC 8314 §7.3).
		{"imap.example.test", connectFlags{proto: "imap", tlsMode: "implicit"}, tui.SessionRequest{Port: 993, Target: "imap.example.test:993", Proto: "imap", TLSMode: "implicit"}, wire.VerifySystem},
		{"pop.example.test", connectFlags{proto: "pop3"}, tui.SessionRequest{Port: 110, Target: "pop.example.test:110", Proto: "pop3", TLSMode: "starttls"}, wire.VerifySystem},
		// A canonical port gives the protocol.
		{"pop.example.test:995", connectFlags{}, tui.SessionRequest{Port: 995, Target: "pop.example.test:995", Proto: "pop3", TLSMode: "implicit"}, wire.VerifySystem},
		{"127.0.0.1:25", connectFlags{caFile: ca}, tui.SessionRequest{Port: 25, Target: "127.0.0.1:25", Proto: "smtp", TLSMode: "starttls"}, wire.VerifyCAFile},
		// Another port is dialed as given, with 587's semantics unless
		// --proto says otherwise.
		{"127.0.0.1:10587", connectFlags{insecure: true, sni: "mail.lab.test"}, tui.SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls"}, wire.VerifyOff},
		{"[::1]:10993", connectFlags{proto: "imap", tlsMode: "implicit"}, tui.SessionRequest{Port: 993, Target: "[::1]:10993", Proto: "imap", TLSMode: "implicit"}, wire.VerifySystem},
		// A mode other than the port's own is allowed on purpose.
		{"smtp.example.test:465", connectFlags{tlsMode: "starttls"}, tui.SessionRequest{Port: 465, Target: "smtp.example.test:465", Proto: "smtp", TLSMode: "starttls"}, wire.VerifySystem},
	} {
		o, req, err := connectOptions(c.target, c.f)
		if err != nil {
			t.Errorf("%s %+v: %v", c.target, c.f, err)
			continue
		}
		got := req
		got.Label = ""
		if got != c.want {
			t.Errorf("%s %+v: request %+v, want %+v", c.target, c.f, got, c.want)
		}
		if o.Target != c.want.Target || o.Verify != c.verify {
			t.Errorf("%s: options target %q verify %q, want %q %q", c.target, o.Target, o.Verify, c.want.Target, c.verify)
		}
		if !strings.Contains(req.Label, "certificate: "+string(c.verify)) {
			t.Errorf("%s: label %q does not say how the certificate is checked", c.target, req.Label)
		}
		if c.f.sni != "" && (o.ServerName != c.f.sni || !strings.Contains(req.Label, "SNI "+c.f.sni)) {
			t.Errorf("%s: SNI %q, label %q", c.target, o.ServerName, req.Label)
		}
	}
	for _, c := range []struct {
		target string
		f      connectFlags
		want   string
	}{
		{"", connectFlags{}, "want HOST"},
		{"a host", connectFlags{}, "want HOST"},
		{"smtp://x", connectFlags{}, "want HOST"},
		{"x", connectFlags{proto: "gopher"}, "protocol"},
		{"x", connectFlags{tlsMode: "sometimes"}, "--tls"},
		{"x", connectFlags{tlsMax: "1.4"}, "--tls-max"},
		{"x:notaport", connectFlags{}, "bad port"},
		{"x:0", connectFlags{}, "bad port"},
		{"x:70000", connectFlags{}, "bad port"},
		{"x", connectFlags{caFile: "/nonexistent/ca.pem"}, "--ca-file"},
		{"x:110", connectFlags{side: sessionFlags{to: "a@example.org"}}, "only for SMTP"},
		{"x:993", connectFlags{side: sessionFlags{stopAfter: "never"}}, "--stop-after"},
	} {
		_, _, err := connectOptions(c.target, c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %+v: error %v, want one about %q", c.target, c.f, err, c.want)
		}
	}
}

// runMailwireIn runs mailwire with stdin holding in (not a terminal: line
// mode).
func runMailwireIn(t *testing.T, in string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(in), &out, &errOut)
	return code, out.String(), errOut.String()
}

// typedLines are the lines the client sent, as typed.
func typedLines(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer {
			out = append(out, strings.TrimSuffix(string(ev.Raw), "\r\n"))
		}
	}
	return out
}

// Line mode against the lab as a target: piped lines, STARTTLS mid-stream,
// the annotated transcript, exit statuses 0, 3 and 2.
func TestConnectLinesLab(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)
	base := []string{"connect", ep.Addr, "--sni", lab.Hostname, "--ca-file", l.CAPath()}

	script := "EHLO me.test\r\nSTARTTLS\r\nEHLO me.test\r\nQUIT\r\n"
	code, out, errOut := runMailwireIn(t, script, append(base, "--format", "json")...)
	if code != exitOK {
		t.Fatalf("exit status %d\n%s\n%s", code, errOut, out)
	}
	evs := decodeEvents(t, out)
	if got := typedLines(evs); !slices.Equal(got, []string{"EHLO me.test", "STARTTLS", "EHLO me.test", "QUIT"}) {
		t.Errorf("sent %q", got)
	}
	verified := false
	for _, ev := range evs {
		verified = verified || (ev.Kind == wire.KindTLSState && ev.TLS != nil && ev.TLS.Verified)
	}
	if !verified {
		t.Errorf("no verified TLS after the typed STARTTLS\n%s", out)
	}

	// The text printer: the same printers as `mailwire session`.
	code, out, errOut = runMailwireIn(t, script, base...)
	if code != exitOK || !strings.Contains(out, "STARTTLS") || !strings.Contains(out, "TLS 1.3") {
		t.Errorf("text: exit status %d\n%s\n%s", code, errOut, out)
	}

	// A password typed before TLS: sent (the script's author chose it),
	// warned about on stderr, and graded unsafe.
	ep25, _ := l.Endpoint(25)
	code, out, errOut = runMailwireIn(t, "EHLO me.test\r\nAUTH PLAIN AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==\r\nQUIT\r\n",
		"connect", ep25.Addr, "--sni", lab.Hostname, "--ca-file", l.CAPath(), "--format", "json")
	if code != exitUnsafe || !strings.Contains(errOut, "before TLS") {
		t.Errorf("cleartext password: exit status %d, want %d\n%s", code, exitUnsafe, errOut)
	}
	for _, ev := range decodeEvents(t, out) {
		if strings.Contains(ev.Text, "correct-horse") || strings.Contains(ev.Text, "AGxlYXJuZXIAY29ycmVjdC1ob3JzZQ==") {
			t.Errorf("the transcript shows the password unmasked: %q", ev.Text)
		}
	}

	// IMAP with a tagged STARTTLS, and POP3 with STLS.
	for _, tc := range []struct {
		port   int
		script string
	}{
		{143, "a1 CAPABILITY\r\na2 STARTTLS\r\na3 CAPABILITY\r\na4 LOGOUT\r\n"},
		{110, "CAPA\r\nSTLS\r\nCAPA\r\nQUIT\r\n"},
	} {
		ep, _ := l.Endpoint(tc.port)
		code, out, errOut := runMailwireIn(t, tc.script, "connect", ep.Addr, "--proto", map[int]string{143: "imap", 110: "pop3"}[tc.port],
			"--sni", lab.Hostname, "--ca-file", l.CAPath(), "--format", "json")
		if code != exitOK {
			t.Errorf("%d: exit status %d\n%s\n%s", tc.port, code, errOut, out)
		}
	}
}

// Line mode's usage errors: nothing is dialed.
func TestConnectLinesUsage(t *testing.T) {
	closed := closedPort(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"connect"}, "usage: mailwire connect TARGET"},
		{[]string{"connect", closed, "--user", "me"}, "--user: in line mode"},
		{[]string{"connect", closed, "--to", "a@example.org"}, "--to: in line mode"},
		{[]string{"connect", closed, "--format", "xml"}, "--format"},
		{[]string{"connect", net.JoinHostPort("127.0.0.1", "443")}, "line mode speaks SMTP, POP3 and IMAP"},
	} {
		code, out, errOut := runMailwireIn(t, "QUIT\r\n", tc.args...)
		if code != exitUsage || !strings.Contains(strings.Join(strings.Fields(errOut), " "), tc.want) {
			t.Errorf("%q: exit status %d, stderr %q; want %d and %q", tc.args, code, errOut, exitUsage, tc.want)
		}
		if strings.Contains(out+errOut, "connected to") {
			t.Errorf("%q dialed", tc.args)
		}
	}
}

// The TUI's requests against a target become options the way the flags
// say: the request's target, protocol, TLS mode, SNI and CA file; a login
// for a scripted session only with a password given; nothing with side
// effects on a typed session.
func TestRequestOptions(t *testing.T) {
	ca := testCAFile(t)
	base := sessions.Options{Username: "me", Password: "pw", To: "a@example.org", Fetch: true, MaxTLS: 0x0303, Verify: wire.VerifySystem}
	o, err := requestOptions(base, tui.SessionRequest{Port: 587, Target: "mx.example.test:587", Proto: "smtp", TLSMode: "starttls",
		ServerName: "mail.example.test", CAFile: ca, User: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Target != "mx.example.test:587" || o.ServerName != "mail.example.test" || o.Verify != wire.VerifyCAFile || o.CAFile != ca ||
		o.Username != "me" || o.Password != "pw" || o.To != "a@example.org" || o.MaxTLS != 0x0303 || o.SessionTimeout != scriptedTimeout {
		t.Errorf("scripted: %+v", o)
	}
	// POP3 from the port table: no --to; another user: no login.
	o, err = requestOptions(base, tui.SessionRequest{Port: 995, Target: "mx.example.test:995", User: "someone"})
	if err != nil || o.Proto != "pop3" || o.TLSMode != "implicit" || o.To != "" || o.Username != "" || !o.Fetch || o.UserWithoutPassword != "someone" {
		t.Errorf("pop3: %+v, %v", o, err)
	}
	// No password given: no login, never an empty password; the note
	// says the user was given without one (UserWithoutPassword).
	o, _ = requestOptions(sessions.Options{Username: "me"}, tui.SessionRequest{Port: 587, Target: "mx.example.test:587", User: "me"})
	if o.Username != "" || o.Password != "" || o.UserWithoutPassword != "me" {
		t.Errorf("no password: user %q, without a password %q", o.Username, o.UserWithoutPassword)
	}
	// A typed session: the user types what happens.
	o, err = requestOptions(base, tui.SessionRequest{Port: 143, Target: "mx.example.test:143", Proto: "imap", TLSMode: "starttls", Prompt: true, User: "me"})
	if err != nil || o.Username != "" || o.To != "" || o.Fetch || o.SessionTimeout != 0 || o.Verify != wire.VerifySystem {
		t.Errorf("typed: %+v, %v", o, err)
	}
	// --insecure wins over a CA file.
	o, _ = requestOptions(sessions.Options{Verify: wire.VerifyOff}, tui.SessionRequest{Port: 993, Target: "x.test:993", CAFile: ca})
	if o.Verify != wire.VerifyOff {
		t.Errorf("insecure: %v", o.Verify)
	}
	if _, err := requestOptions(base, tui.SessionRequest{Port: 587, Target: "no port"}); err == nil {
		t.Error("a bad target passed")
	}
}

// On the screen the flags that shape line mode's transcript are refused
// (exit status 2), as line mode refuses the screen's: the screen would
// silently ignore them.
func TestConnectScreenRefusesLineFlags(t *testing.T) {
	onTerm := onTerminal
	t.Cleanup(func() { onTerminal = onTerm })
	onTerminal = func(io.Reader, io.Writer) bool { return true }
	closed := closedPort(t) // nothing is dialed: a usage error comes first
	for _, args := range [][]string{
		{"--notes", "off"}, {"--lens", "eavesdropper"}, {"--hex"}, {"--width", "80"}, {"--reveal"}, {"--color", "never"},
	} {
		code, _, errOut := runMailwire(t, append([]string{"connect", closed}, args...)...)
		if code != 2 || !strings.Contains(errOut, args[0]+" shapes line mode's transcript") || !strings.Contains(errOut, "tab") {
			t.Errorf("connect on a terminal %v: exit %d, stderr %q", args, code, errOut)
		}
	}
	// With --format it is line mode, where they belong: the closed port
	// is dialed and fails (exit status 1), no usage error.
	if code, _, errOut := runMailwireIn(t, "QUIT\r\n", "connect", closed, "--format", "text", "--notes", "off", "--hex"); code != 1 {
		t.Errorf("line mode with --notes --hex: exit %d, stderr %q", code, errOut)
	}
}
