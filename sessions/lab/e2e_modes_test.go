package lab

// The mode endpoints with real clients (openssl s_client, swaks): the
// deliberately careless servers still work for a client that does nothing
// unusual, and the one departure shows in the client's own transcript.

import (
	"net"
	"strings"
	"testing"
)

// modePort adds a mode endpoint and returns its port as a string.
func (l *e2eLab) modePort(t *testing.T, canonical int, mode Mode) string {
	t.Helper()
	e := addMode(t, l.Lab, canonical, mode)
	_, p, err := net.SplitHostPort(e.Addr)
	if err != nil {
		t.Fatalf("endpoint %d %s: %v", canonical, mode, err)
	}
	return p
}

// swaksAt is swaksArgs for a given port.
func (l *e2eLab) swaksAt(port string) []string {
	return []string{
		"--server", "127.0.0.1", "--port", port,
		"--helo", "client.test",
		"--from", DemoUser + "@" + Hostname,
		"--to", DemoUser + "@" + Hostname,
		"--tls-sni", Hostname, "--tls-verify", "--tls-ca-path", l.caFile,
		"--timeout", "15",
	}
}

func TestE2ESwaksModes(t *testing.T) {
	needTool(t, "swaks")
	l := startE2ELab(t)
	auth := []string{"-a", "PLAIN", "-au", DemoUser, "-ap", DemoPassword}

	// cleartext-auth: AUTH offered and accepted before any TLS, and the
	// message goes through: the password crossed the wire in the clear.
	t.Run("cleartext-auth-587", func(t *testing.T) {
		args := append(l.swaksAt(l.modePort(t, 587, ModeCleartextAuth)), append(auth, "--h-Subject", "swaks-cleartext")...)
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 0)
		r.wantContains(t, "<-  250-AUTH PLAIN LOGIN", "<-  235 2.7.0", "<-  250 2.0.0")
		r.wantLacks(t, "TLS started")
	})
	// injection-vulnerable: an ordinary client that does not pipeline
	// past STARTTLS sees an ordinary server (STARTTLS, AUTH inside TLS,
	// message queued).
	t.Run("injection-vulnerable-587", func(t *testing.T) {
		args := append(l.swaksAt(l.modePort(t, 587, ModeInjectionVulnerable)), append(auth, "--tls")...)
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 0)
		r.wantContains(t, "TLS started with cipher TLSv1.", "<~  250-AUTH PLAIN LOGIN", "<~  235 2.7.0", "<~  250 2.0.0 Ok: queued as")
	})
	t.Run("injection-vulnerable-25", func(t *testing.T) {
		args := append(l.swaksAt(l.modePort(t, 25, ModeInjectionVulnerable)), "--tls")
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 0)
		r.wantContains(t, "TLS started with cipher TLSv1.", "<~  250 2.0.0 Ok: queued as")
	})
	// response-injection: swaks reads the two lines injected after "220
	// Ready" as its EHLO reply inside TLS (it marks them "<~", as
	// encrypted), so it sees only AUTH LOGIN from "evil.lab.test" and its
	// replies are one behind from then on: the client-side bug the mode
	// exists to show. The server's real EHLO reply comes after QUIT.
	t.Run("response-injection-587", func(t *testing.T) {
		args := append(l.swaksAt(l.modePort(t, 587, ModeResponseInjection)), append(auth, "--tls")...)
		r := runTool(t, "", "swaks", args...)
		r.wantContains(t, "<-  220 2.0.0 Ready to start TLS", "TLS started with cipher TLSv1.",
			"<~  250-evil.lab.test", "<~  250 AUTH LOGIN", "requested type not available")
		r.wantLacks(t, "<~  235 ")
	})
}

func TestE2EOpenSSLModes(t *testing.T) {
	needTool(t, "openssl")
	l := startE2ELab(t)
	cases := []struct {
		name, starttls, stdin string
		canonical             int
		mode                  Mode
		want                  []string
	}{
		// The scripted IMAP server: LOGIN with the demo credentials inside
		// TLS works, LOGOUT answered.
		{"imap-injection-vulnerable", "imap", "a1 LOGIN learner correct-horse\na2 LOGOUT\n", 143, ModeInjectionVulnerable,
			[]string{"a1 OK", "* BYE Logging out", "a2 OK LOGOUT completed"}},
		// The lab's POP3 server with the bug flag: a normal session.
		{"pop3-injection-vulnerable", "pop3", "USER learner\nPASS correct-horse\nQUIT\n", 110, ModeInjectionVulnerable,
			[]string{"+OK Logged in.", "+OK Logging out"}},
		// openssl drops what follows the go-ahead, so the injected lines
		// do not reach it and TLS verifies with the lab CA.
		{"smtp-response-injection", "smtp", "QUIT\n", 587, ModeResponseInjection, []string{"221 2.0.0"}},
		{"imap-response-injection", "imap", "a1 LOGOUT\n", 143, ModeResponseInjection, []string{"a1 OK LOGOUT"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := l.modePort(t, c.canonical, c.mode)
			args := []string{"s_client", "-connect", "127.0.0.1:" + port,
				"-servername", Hostname, "-verify_hostname", Hostname, "-verify_return_error",
				"-CAfile", l.caFile, "-nocommands", "-crlf", "-ign_eof", "-starttls", c.starttls}
			r := runTool(t, c.stdin, "openssl", args...)
			r.wantExit(t, 0)
			r.wantContains(t, "Verify return code: 0 (ok)", "Verified peername: "+Hostname)
			r.wantContains(t, c.want...)
			if c.mode == ModeResponseInjection && strings.Contains(r.out, "evil.lab.test") {
				t.Errorf("openssl shows the injected lines")
			}
		})
	}
}
