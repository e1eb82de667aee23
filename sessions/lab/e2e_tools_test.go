package lab

// End-to-end tests of the lab with the clients people actually use: openssl
// s_client, curl and swaks. Each talks to the lab by the name a learner
// would type, mail.lab.test, mapped to 127.0.0.1 by the tool's own options,
// and verifies the certificate against the lab CA. The name matters: Go's
// net/smtp, for one, treats "localhost" as safe for plaintext AUTH, which
// would hide the very policy these tests check.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// opensslArgs connects s_client to a lab port and makes it verify the chain
// against the lab CA and the name mail.lab.test, failing the handshake on
// any verification error. -nocommands stops s_client from treating a line
// that starts with Q or R as its own command, so "QUIT" reaches the server;
// -crlf sends the CRLF line ends mail protocols need; -ign_eof keeps
// s_client reading after stdin ends, until the server closes the
// connection in answer to QUIT/LOGOUT, so its replies are in the output.
func (l *e2eLab) opensslArgs(t *testing.T, canonical int, extra ...string) []string {
	args := []string{"s_client",
		"-connect", "127.0.0.1:" + l.port(t, canonical),
		"-servername", Hostname,
		"-verify_hostname", Hostname,
		"-verify_return_error",
		"-CAfile", l.caFile,
		"-nocommands", "-crlf", "-ign_eof",
	}
	return append(args, extra...)
}

func TestE2EOpenSSLEveryTLSPort(t *testing.T) {
	needTool(t, "openssl")
	l := startE2ELab(t)
	cases := []struct {
		port     int
		starttls string // -starttls protocol; "" for implicit TLS
		stdin    string
		want     []string // application data seen inside TLS
	}{
		// RFC 3207: s_client sends EHLO and STARTTLS itself; QUIT goes
		// inside TLS and the server's 221 comes back encrypted.
		{25, "smtp", "QUIT\n", []string{"221 2.0.0"}},
		{587, "smtp", "QUIT\n", []string{"221 2.0.0"}},
		// RFC 8314 §3: TLS from the first byte, so the greeting itself
		// arrives inside TLS.
		{465, "", "QUIT\n", []string{"220 " + Hostname, "221 2.0.0"}},
		// RFC 2595 §4 (STLS) and RFC 1939 §6 (QUIT answered with +OK).
		{110, "pop3", "QUIT\n", []string{"+OK"}},
		{995, "", "QUIT\n", []string{"+OK", "+OK"}},
		// RFC 3501 §6.2.1 (STARTTLS), §6.1.3 (LOGOUT answered with BYE).
		{143, "imap", "a1 LOGOUT\n", []string{"* BYE", "a1 OK"}},
		{993, "", "a1 LOGOUT\n", []string{"* OK", "* BYE", "a1 OK"}},
		{443, "", "GET / HTTP/1.1\nHost: " + Hostname + "\nConnection: close\n\n", []string{"HTTP/1.1 200 OK"}},
	}
	for _, c := range cases {
		t.Run(strconv.Itoa(c.port), func(t *testing.T) {
			var extra []string
			if c.starttls != "" {
				extra = []string{"-starttls", c.starttls}
			}
			r := runTool(t, c.stdin, "openssl", l.opensslArgs(t, c.port, extra...)...)
			r.wantExit(t, 0)
			r.wantContains(t,
				"Verify return code: 0 (ok)",
				"Verification: OK",
				"Verified peername: "+Hostname,
				// Printed only once the handshake has finished.
				"SSL handshake has read",
			)
			if !regexp.MustCompile(`New, TLSv1\.[23], Cipher is`).MatchString(r.out) {
				t.Errorf("no TLS 1.2/1.3 session in the output")
			}
			r.wantContains(t, c.want...)
		})
	}
}

// TestE2EOpenSSLRejectsWrongName shows the checks above can fail: the same
// handshake, verified for a name the certificate does not cover, is refused.
func TestE2EOpenSSLRejectsWrongName(t *testing.T) {
	needTool(t, "openssl")
	l := startE2ELab(t)
	args := []string{"s_client", "-connect", "127.0.0.1:" + l.port(t, 993),
		"-servername", "other.example", "-verify_hostname", "other.example",
		"-verify_return_error", "-CAfile", l.caFile}
	r := runTool(t, "", "openssl", args...)
	if r.code == 0 {
		t.Errorf("s_client accepted a certificate for the wrong name")
	}
	r.wantContains(t, "hostname mismatch")
	r.wantLacks(t, "Verify return code: 0 (ok)")
}

func TestE2ECurlReadsSeededMessage(t *testing.T) {
	needTool(t, "curl")
	l := startE2ELab(t)
	// UID 1 / message 1 is the first welcome message seeded at Start.
	const subject = "Subject: Welcome to the mailwire lab"
	cred := DemoUser + ":" + DemoPassword
	cases := []struct {
		name string
		port int
		url  string
	}{
		// --ssl-reqd makes curl STARTTLS (RFC 3501 §6.2.1) or STLS
		// (RFC 2595 §4) and fail if the server cannot.
		{"imap143", 143, l.url(t, "imap", 143, "INBOX;UID=1")},
		{"imaps993", 993, l.url(t, "imaps", 993, "INBOX;UID=1")},
		{"pop3-110", 110, l.url(t, "pop3", 110, "1")},
		{"pop3s995", 995, l.url(t, "pop3s", 995, "1")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append(l.curlArgs(t, c.port), "--ssl-reqd", "-u", cred, c.url)
			r := runTool(t, "", "curl", args...)
			r.wantExit(t, 0)
			r.wantContains(t, subject)
		})
	}

	// Without --ssl-reqd curl stays in cleartext; the lab advertises
	// LOGINDISABLED (RFC 3501 §6.2.3) and refuses LOGIN, and curl reports
	// CURLE_LOGIN_DENIED (67). The message must not be delivered.
	t.Run("imap143-cleartext-refused", func(t *testing.T) {
		args := append(l.curlArgs(t, 143), "-u", cred, l.url(t, "imap", 143, "INBOX;UID=1"))
		r := runTool(t, "", "curl", args...)
		r.wantExit(t, 67)
		r.wantLacks(t, subject)
	})
	t.Run("pop3-110-cleartext-refused", func(t *testing.T) {
		args := append(l.curlArgs(t, 110), "-u", cred, l.url(t, "pop3", 110, "1"))
		r := runTool(t, "", "curl", args...)
		r.wantExit(t, 67)
		r.wantLacks(t, subject)
	})
}

// writeMessage writes an RFC 5322 message with a unique marker in its
// Subject and body and returns its path and the marker.
func writeMessage(t *testing.T, via string) (string, string) {
	t.Helper()
	marker := fmt.Sprintf("e2e-%s-%d", via, time.Now().UnixNano())
	msg := "From: " + DemoUser + "@" + Hostname + "\r\n" +
		"To: " + DemoUser + "@" + Hostname + "\r\n" +
		"Subject: " + marker + "\r\n" +
		"Date: " + time.Now().Format(time.RFC1123Z) + "\r\n" +
		"Message-ID: <" + marker + "@client.test>\r\n" +
		"\r\n" +
		"Body of " + marker + ".\r\n"
	path := filepath.Join(t.TempDir(), marker+".eml")
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatalf("write message: %v", err)
	}
	return path, marker
}

// curlSubmit sends a message with curl over SMTP: smtp:// with --ssl-reqd
// is STARTTLS (RFC 3207), smtps:// implicit TLS (RFC 8314 §3.3). The URL
// path is the EHLO name.
func (l *e2eLab) curlSubmit(t *testing.T, scheme string, canonical int, file string, tlsReq bool, auth bool) toolResult {
	t.Helper()
	args := l.curlArgs(t, canonical)
	if tlsReq {
		args = append(args, "--ssl-reqd")
	}
	if auth {
		args = append(args, "-u", DemoUser+":"+DemoPassword)
	}
	args = append(args, "-v",
		"--mail-from", DemoUser+"@"+Hostname,
		"--mail-rcpt", DemoUser+"@"+Hostname,
		"-T", file,
		l.url(t, scheme, canonical, "client.test"))
	return runTool(t, "", "curl", args...)
}

func TestE2ECurlSubmitThenReadBack(t *testing.T) {
	needTool(t, "curl")
	l := startE2ELab(t)
	cred := DemoUser + ":" + DemoPassword
	for _, sub := range []struct {
		name   string
		scheme string
		port   int
	}{
		{"587", "smtp", 587},
		{"465", "smtps", 465},
	} {
		t.Run(sub.name, func(t *testing.T) {
			file, marker := writeMessage(t, sub.name)
			r := l.curlSubmit(t, sub.scheme, sub.port, file, sub.scheme == "smtp", true)
			r.wantExit(t, 0)
			// curl -v shows the dialogue: authenticated, then queued.
			r.wantContains(t, "< 235 ", "< 250 2.0.0")
			if t.Failed() {
				return
			}

			// RFC 3501 §6.4.4: SEARCH by the marker finds the new
			// message's UID.
			args := append(l.curlArgs(t, 143), "--ssl-reqd", "-u", cred,
				"-X", "UID SEARCH SUBJECT "+marker, l.url(t, "imap", 143, "INBOX"))
			r = runTool(t, "", "curl", args...)
			r.wantExit(t, 0)
			m := regexp.MustCompile(`(?m)^\* SEARCH ([0-9]+)\s*$`).FindStringSubmatch(r.out)
			if m == nil {
				t.Fatalf("IMAP SEARCH for %s found no single message", marker)
			}
			args = append(l.curlArgs(t, 143), "--ssl-reqd", "-u", cred,
				l.url(t, "imap", 143, "INBOX;UID="+m[1]))
			r = runTool(t, "", "curl", args...)
			r.wantExit(t, 0)
			r.wantContains(t, "Subject: "+marker, "Body of "+marker)
			// RFC 5321 §4.4 trace header, RFC 3848 protocol name:
			// submitted over TLS and authenticated.
			r.wantContains(t, "with ESMTPSA")

			// POP3: the newest message is the last in LIST (RFC 1939
			// §5: numbered in order of the maildrop).
			args = append(l.curlArgs(t, 110), "--ssl-reqd", "-u", cred, l.url(t, "pop3", 110, ""))
			r = runTool(t, "", "curl", args...)
			r.wantExit(t, 0)
			last := 0
			for _, line := range strings.Split(r.out, "\n") {
				f := strings.Fields(line)
				if len(f) == 2 {
					if n, err := strconv.Atoi(f[0]); err == nil && n > last {
						last = n
					}
				}
			}
			if last == 0 {
				t.Fatalf("POP3 LIST listed no messages")
			}
			args = append(l.curlArgs(t, 110), "--ssl-reqd", "-u", cred, l.url(t, "pop3", 110, strconv.Itoa(last)))
			r = runTool(t, "", "curl", args...)
			r.wantExit(t, 0)
			r.wantContains(t, "Subject: "+marker, "Body of "+marker)
		})
	}

	// Submission without TLS is refused: curl without --ssl-reqd stays in
	// cleartext, the lab offers no AUTH there (RFC 4954 §4 only requires
	// refusing plaintext password mechanisms; it offers none) and refuses
	// MAIL with 530 5.7.0 (RFC 3207 §4).
	t.Run("587-cleartext-refused", func(t *testing.T) {
		file, _ := writeMessage(t, "cleartext")
		r := l.curlSubmit(t, "smtp", 587, file, false, false)
		if r.code == 0 {
			t.Errorf("curl submitted a message in cleartext on 587")
		}
		r.wantContains(t, "< 530 5.7.0")
		r.wantLacks(t, "< 250 2.0.0")
	})
}

// swaksArgs are the options every swaks run gets: the lab by address, the
// SNI name, certificate verification against the lab CA, bounded time.
func (l *e2eLab) swaksArgs(t *testing.T, canonical int) []string {
	return []string{
		"--server", "127.0.0.1", "--port", l.port(t, canonical),
		"--helo", "client.test",
		"--from", DemoUser + "@" + Hostname,
		"--to", DemoUser + "@" + Hostname,
		"--tls-sni", Hostname, "--tls-verify", "--tls-ca-path", l.caFile,
		"--timeout", "15",
	}
}

func TestE2ESwaksAuthNeedsTLS(t *testing.T) {
	needTool(t, "swaks")
	l := startE2ELab(t)
	authArgs := []string{"-au", DemoUser, "-ap", DemoPassword}

	// Before STARTTLS the lab's EHLO offers no AUTH (RFC 4954 §4: no
	// cleartext password), so swaks -a PLAIN stops with its AUTH exit code.
	t.Run("auth-before-tls", func(t *testing.T) {
		args := append(l.swaksArgs(t, 587), append([]string{"-a", "PLAIN"}, authArgs...)...)
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 28)
		r.wantContains(t, "250-STARTTLS", "did not advertise")
		r.wantLacks(t, "250-AUTH", "235 ")
	})
	// With AUTH optional swaks carries on to MAIL, and the lab answers as
	// Postfix does on submission: 530 5.7.0 (RFC 3207 §4).
	t.Run("mail-before-tls", func(t *testing.T) {
		args := append(l.swaksArgs(t, 587), append([]string{"-ao", "PLAIN"}, authArgs...)...)
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 23)
		r.wantContains(t, "<** 530 5.7.0")
		r.wantLacks(t, "250 2.0.0")
	})
	// After STARTTLS AUTH is advertised and accepted, and the message is
	// queued. (The 235's enhanced code is compared with Postfix's in
	// TestPeersSubmission587.)
	t.Run("auth-after-tls", func(t *testing.T) {
		args := append(l.swaksArgs(t, 587), append([]string{"--tls", "-a", "PLAIN", "--h-Subject", "swaks-587"}, authArgs...)...)
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 0)
		r.wantContains(t, "TLS started with cipher TLSv1.", "250-AUTH PLAIN", "<~  235 ", "<~  250 2.0.0")
	})
	t.Run("implicit-tls-465", func(t *testing.T) {
		args := append(l.swaksArgs(t, 465), append([]string{"--tlsc", "-a", "PLAIN"}, authArgs...)...)
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 0)
		r.wantContains(t, "TLS started with cipher TLSv1.", "<~  235 ", "<~  250 2.0.0")
	})
	// A wrong password after TLS: 535 5.7.8 (RFC 4954 §6).
	t.Run("bad-password", func(t *testing.T) {
		args := append(l.swaksArgs(t, 587), "--tls", "-a", "PLAIN", "-au", DemoUser, "-ap", "wrong")
		r := runTool(t, "", "swaks", args...)
		r.wantExit(t, 28)
		r.wantContains(t, "<~* 535 5.7.8")
	})
}
