package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// runSessionCmd runs `mailwire session args…` and returns stdout, stderr
// and the command's error (non-nil means a non-zero exit status under fang).
func runSessionCmd(t *testing.T, ctx context.Context, args ...string) (string, string, error) {
	t.Helper()
	cmd := newSessionCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader("")) // not a terminal: nothing is asked
	cmd.SetContext(ctx)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func decodeEvents(t *testing.T, out string) []wire.Event {
	t.Helper()
	evs, err := wire.ReadJSON(strings.NewReader(out), 10000, 1<<20)
	if err != nil {
		t.Fatalf("output is not JSON Lines: %v\n%s", err, out)
	}
	return evs
}

// checkOrder asserts that each want (annotation key, or kind for events
// without one) appears in evs in this order.
func checkOrder(t *testing.T, evs []wire.Event, want ...string) {
	t.Helper()
	i := 0
	for _, ev := range evs {
		if i < len(want) && (ev.Annotation == want[i] || string(ev.Kind) == want[i]) {
			i++
		}
	}
	if i < len(want) {
		var got []string
		for _, ev := range evs {
			got = append(got, string(ev.Kind)+":"+ev.Annotation)
		}
		t.Fatalf("missing %q (after %q) in\n%s", want[i], want[:i], strings.Join(got, "\n"))
	}
}

func TestSessionCommand587JSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runSessionCmd(t, ctx, "--port", "587", "--format", "json", "--state-dir", t.TempDir())
	if err != nil {
		t.Fatalf("exit with error: %v\nstderr: %s\nstdout: %s", err, errOut, out)
	}
	evs := decodeEvents(t, out)
	// RFC 6409 submission with STARTTLS (RFC 3207): cleartext greeting and
	// EHLO, STARTTLS, the boundary, the handshake, EHLO again inside TLS,
	// AUTH, the transaction, QUIT.
	checkOrder(t, evs,
		"tcp.connect", "smtp.reply.220", "smtp.cmd.ehlo", "smtp.cmd.starttls", "smtp.reply.220",
		"tls.boundary.starttls", "tls.handshake.client_hello", "tls.handshake.server_hello",
		"tls.state", "smtp.cmd.ehlo", "smtp.cmd.auth", "smtp.reply.235", "smtp.cmd.mail",
		"smtp.cmd.rcpt", "smtp.cmd.data", "smtp.cmd.quit", "smtp.reply.221", "tcp.close")
	for _, ev := range evs {
		if ev.Kind == wire.KindError {
			t.Errorf("error event: %s", ev.Text)
		}
		if ev.Annotation == "smtp.cmd.starttls" && ev.Visible != wire.VisibleAnyone {
			t.Errorf("STARTTLS visible %q", ev.Visible)
		}
		if ev.Annotation == "tls.state" && (ev.TLS == nil || !ev.TLS.Verified || ev.TLS.VerifyMethod != string(wire.VerifyPool)) {
			t.Errorf("TLS state: %+v", ev.TLS)
		}
		if ev.Credential != nil && ev.Credential.Password != "" && ev.Credential.Password != protocol.Mask("x") {
			t.Errorf("password not masked: %+v", ev.Credential)
		}
	}
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + lab.DemoUser + "\x00" + lab.DemoPassword))
	for _, secret := range []string{lab.DemoPassword, plain} {
		if strings.Contains(out, secret) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(secret))) {
			t.Errorf("output holds the secret %q", secret)
		}
	}
}

func TestSessionCommandReveal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _, err := runSessionCmd(t, ctx, "--port", "465", "--reveal", "--state-dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "password "+lab.DemoPassword) {
		t.Errorf("--reveal does not show the password:\n%s", out)
	}
}

func TestSessionCommandTLS12ShowsCertificate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	state := t.TempDir()
	out, errOut, err := runSessionCmd(t, ctx, "--port", "465", "--tls-max", "1.2", "--format", "json", "--state-dir", state)
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	var cert *wire.Event
	for _, ev := range decodeEvents(t, out) {
		if ev.Kind == wire.KindHandshake && ev.Handshake != nil && ev.Handshake.Type == "certificate" {
			cert = &ev
			break
		}
	}
	if cert == nil || cert.Visible != wire.VisibleMetadata {
		t.Fatalf("no cleartext certificate message with --tls-max 1.2:\n%s", out)
	}

	// The eavesdropper lens names the certificate an observer saw.
	out, _, err = runSessionCmd(t, ctx, "--port", "465", "--tls-max", "1.2", "--lens", "eavesdropper", "--state-dir", state)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"certificate (in the clear)", "CN=" + lab.Hostname, "What an eavesdropper saw", "sent in the clear before TLS 1.3"} {
		if !strings.Contains(out, want) {
			t.Errorf("eavesdropper lens lacks %q:\n%s", want, out)
		}
	}
	for _, hidden := range []string{"AUTH PLAIN " + protocol.Mask("x"), "MAIL FROM:"} {
		if strings.Contains(out, hidden) {
			t.Errorf("eavesdropper lens shows %q, which crossed the wire encrypted", hidden)
		}
	}
}

func TestSessionCommandMarkdown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, _, err := runSessionCmd(t, ctx, "--proto", "smtp", "--tls", "starttls", "--format", "markdown", "--state-dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# mailwire session: SMTP on port 587, STARTTLS, against the embedded lab (127.0.0.1:", "| time | dir |", "**TLS starts here:**", "## What an eavesdropper saw", "RFC 3207"} {
		if !strings.Contains(out, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestSessionCommandClosedPort(t *testing.T) {
	addr := closedPort(t)
	out, _, err := runSessionCmd(t, context.Background(), "--target", addr, "--timeout", "5s")
	if err == nil {
		t.Fatalf("session to closed port %s succeeded:\n%s", addr, out)
	}
	msg := err.Error()
	if !strings.Contains(msg, "connect to "+addr) || !strings.Contains(msg, "refused") {
		t.Errorf("unclear error: %q", msg)
	}
	if !strings.Contains(out, "ERROR") || !strings.Contains(out, "refused") {
		t.Errorf("transcript does not show the error:\n%s", out)
	}
}

// TestSessionCommandCancel: cancelling (ctrl+c under fang) ends a session
// that waits on a silent server at once, prints what happened, and exits
// non-zero.
func TestSessionCommandCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent: never greets
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	out, _, err := runSessionCmd(t, ctx, "--target", ln.Addr().String(), "--port", "587", "--timeout", "20s")
	if err == nil {
		t.Fatal("cancelled session succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("cancel took %v", d)
	}
	if !strings.Contains(out, "connected to") || !strings.Contains(out, "closed") {
		t.Errorf("partial transcript missing:\n%s", out)
	}
}

func TestSessionCommandInsecureWarns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, errOut, err := runSessionCmd(t, ctx, "--port", "465", "--insecure", "--state-dir", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "WARNING: --insecure") {
		t.Errorf("no warning on stderr: %q", errOut)
	}
}

func TestSessionCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--format", "xml"},
		{"--lens", "god"},
		{"--tls-max", "1.4"},
		{"--tls", "sometimes"},
		{"--proto", "gopher"},
		{"--port", "8080"},
		{"--tls-min", "1.3", "--tls-max", "1.2"},
		{"--port", "587", "--proto", "smtp"},
	} {
		_, _, err := runSessionCmd(t, context.Background(), append(args, "--target", "127.0.0.1:1")...)
		if err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

func TestSessionOptionsFromFlags(t *testing.T) {
	for _, tc := range []struct {
		f    sessionFlags
		port int
		mode sessions.TLSMode
	}{
		{sessionFlags{}, 587, sessions.TLSStartTLS},
		{sessionFlags{port: 465}, 465, sessions.TLSImplicit},
		{sessionFlags{proto: "imap", tlsMode: "implicit"}, 993, sessions.TLSImplicit},
		{sessionFlags{proto: "pop3"}, 110, sessions.TLSStartTLS},
		{sessionFlags{port: 587, tlsMode: "implicit"}, 587, sessions.TLSImplicit}, // a mismatch, on purpose
		{sessionFlags{target: "mail.example.org:993"}, 993, sessions.TLSImplicit},
		{sessionFlags{target: "mail.example.org:2525"}, 587, sessions.TLSStartTLS},
	} {
		o, port, err := sessionOptions(tc.f)
		if err != nil || port != tc.port || o.TLSMode != tc.mode {
			t.Errorf("%+v: port %d mode %s err %v; want %d %s", tc.f, port, o.TLSMode, err, tc.port, tc.mode)
		}
	}
	if got := withPort("mail.example.org", 587); got != "mail.example.org:587" {
		t.Errorf("withPort: %s", got)
	}
	if got := withPort("[::1]", 993); got != "[::1]:993" {
		t.Errorf("withPort v6: %s", got)
	}
}

// TestSessionCommandEveryPort runs every canonical port against the lab:
// each completes, and has its TLS boundary where the port says.
func TestSessionCommandEveryPort(t *testing.T) {
	state := t.TempDir()
	for _, tc := range []struct {
		port     int
		boundary string
	}{
		{25, "tls.boundary.starttls"}, {587, "tls.boundary.starttls"}, {465, "tls.boundary.implicit"},
		{110, "tls.boundary.starttls"}, {995, "tls.boundary.implicit"},
		{143, "tls.boundary.starttls"}, {993, "tls.boundary.implicit"},
		{443, "tls.boundary.implicit"},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, _, err := runSessionCmd(t, ctx, "--port", strconv.Itoa(tc.port), "--format", "json", "--state-dir", state)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			evs := decodeEvents(t, out)
			checkOrder(t, evs, "tcp.connect", tc.boundary, "tls.state", "tcp.close")
			// Whatever the login (AUTH PLAIN, IMAP LOGIN, POP3 PASS), the
			// password is masked in text and raw.
			for _, ev := range evs {
				if strings.Contains(ev.Text, lab.DemoPassword) || bytes.Contains(ev.Raw, []byte(lab.DemoPassword)) ||
					bytes.Contains(ev.Raw, []byte(base64.StdEncoding.EncodeToString([]byte("\x00"+lab.DemoUser+"\x00"+lab.DemoPassword)))) {
					t.Errorf("event %d holds the password: %q", ev.Seq, ev.Text)
				}
			}
			if tc.port == 25 || tc.port == 443 {
				return // no login on transfer and web sessions
			}
			// The check above can fail: with --reveal the password is there.
			out, _, err = runSessionCmd(t, ctx, "--port", strconv.Itoa(tc.port), "--format", "json", "--reveal", "--state-dir", state)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, ev := range decodeEvents(t, out) {
				found = found || ev.Credential != nil && ev.Credential.Password == lab.DemoPassword
			}
			if !found {
				t.Errorf("--reveal: no credential with the password")
			}
		})
	}
}

func TestTimeoutsFor(t *testing.T) {
	for _, tc := range []struct {
		flag, session, read, dial time.Duration
	}{
		{0, 0, 0, 0}, // the defaults
		{2 * time.Second, 2 * time.Second, 2 * time.Second, 2 * time.Second},
		{12 * time.Second, 12 * time.Second, 12 * time.Second, sessions.DefaultDialTimeout},
		{5 * time.Minute, 5 * time.Minute, sessions.DefaultReadTimeout, sessions.DefaultDialTimeout},
	} {
		s, r, d := timeoutsFor(tc.flag)
		if s != tc.session || r != tc.read || d != tc.dial {
			t.Errorf("timeoutsFor(%v) = %v, %v, %v; want %v, %v, %v", tc.flag, s, r, d, tc.session, tc.read, tc.dial)
		}
	}
}
