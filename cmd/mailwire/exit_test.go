package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
)

// runMailwire runs mailwire as main does (fang included) with args, stdin
// not a terminal, and returns its exit status, stdout and stderr.
func runMailwire(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runMailwireIn(t, "", args...)
}

// Exit status 2: a bad flag, a bad value, a missing argument, a --user
// whose password cannot be asked for. Nothing is dialed.
func TestExitStatusUsage(t *testing.T) {
	t.Setenv(envPassword, "")
	closed := closedPort(t) // dialing it would be exit status 1, not 2
	for _, tc := range []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"session", "--bogus"}, "unknown flag"},
		{[]string{"session", "--port", "nine"}, "invalid argument"},
		{[]string{"session", "--target", closed, "--stop-after", "data"}, `--stop-after "data"`},
		{[]string{"session", "--target", closed, "--port", "443", "--stop-after", "auth"}, "--stop-after"},
		{[]string{"session", "--target", closed, "--format", "xml"}, "--format"},
		{[]string{"session", "--target", closed, "--port", "110", "--to", "a@example.org"}, "only for SMTP"},
		{[]string{"session", "--target", closed, "--port", "587", "--fetch"}, "only for POP3 and IMAP"},
		{[]string{"session", "--target", closed, "--to", "not an address"}, "--to"},
		{[]string{"session", "--target", closed, "--ca-file", "/nonexistent/ca.pem"}, "--ca-file"},
		{[]string{"session", "--target", closed, "--ehlo", "two words"}, "EHLO name"},
		{[]string{"session", "--ehlo", "two words"}, "EHLO name"}, // against the lab: refused before it starts
		{[]string{"session", "--target", closed, "--user", "me"}, "no password"},
		{[]string{"session", "--scenario", "nope"}, "no such scenario"},
		{[]string{"session", "--scenario", "hops", "--target", closed}, "needs the embedded lab"},
		{[]string{"session", "--scenario", "response-injection", "--target", closed}, "needs the embedded lab"},
		{[]string{"session", "--scenario", "too-early", "--target", closed, "--user", "me"}, "no password"},
		{[]string{"session", "extra"}, "unknown command"},
		{[]string{"connect"}, "accepts 1 arg"},
		{[]string{"connect", closed, "--user", "me"}, "--user: in line mode"}, // standard input is not a terminal
		{[]string{"connect", closed, "--stop-after", "quit"}, "--stop-after"},
		{[]string{"nonsense"}, "unknown command"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runMailwire(t, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			// fang wraps the message to the terminal's width.
			if !strings.Contains(strings.Join(strings.Fields(errOut), " "), tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, errOut)
			}
			if strings.Contains(out+errOut, "connected to") {
				t.Errorf("a usage error dialed:\n%s", out)
			}
		})
	}
}

// Exit status 1: the connection or the session failed, with nothing
// graded unsafe.
func TestExitStatusFailed(t *testing.T) {
	addr := closedPort(t)
	code, out, errOut := runMailwire(t, "session", "--target", addr, "--timeout", "5s")
	if code != exitFailed {
		t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, exitFailed, out, errOut)
	}
	if !strings.Contains(errOut, "refused") {
		t.Errorf("stderr does not say why: %s", errOut)
	}
}

// Exit status 0 and 3 against the in-process lab: a healthy session is 0;
// a certificate that does not verify for the name asked is 3, both when it
// stops the handshake and when --insecure lets the session go on.
func TestExitStatusLab(t *testing.T) {
	state := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"--port", "587"}, exitOK, ""},
		{[]string{"--port", "110", "--user", "learner", "--password", "wrong"}, exitFailed, "AUTH"}, // a wrong password fails
		{[]string{"--port", "993", "--stop-after", "tls"}, exitOK, ""},
		{[]string{"--port", "465", "--sni", "wrong.example"}, exitUnsafe, "unsafe"},
		{[]string{"--port", "465", "--sni", "wrong.example", "--insecure"}, exitUnsafe, "certificate not verified"},
		{[]string{"--scenario", "too-early"}, exitUnsafe, "unsafe"}, // its verdicts are unsafe, by design
		{[]string{"--scenario", "strip-required"}, exitOK, ""},      // a client that requires TLS: safe
		{[]string{"--port", "25", "--tls", "none"}, exitOK, ""},     // cleartext by choice: no finding about the server
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"session", "--format", "json", "--state-dir", state}, tc.args...)
			code, out, errOut := runMailwire(t, args...)
			if code != tc.code {
				t.Fatalf("exit status %d, want %d\nstderr: %s\nstdout: %s", code, tc.code, errOut, out)
			}
			if tc.want != "" && !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr does not say %q: %s", tc.want, errOut)
			}
		})
	}
}

// testCAFile writes a PEM file with one self-signed CA certificate.
func testCAFile(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// --user without a password: the masked prompt on a terminal, the
// environment first, a clear error without a terminal. Never an empty
// password sent silently.
func TestPasswordSource(t *testing.T) {
	var prompt bytes.Buffer
	asked := 0
	term := passwordSource{terminal: true, prompt: &prompt, read: func(context.Context) ([]byte, error) { asked++; return []byte("typed"), nil }}
	noTerm := passwordSource{prompt: &prompt}

	t.Setenv(envPassword, "")
	if p, err := term.password(context.Background(), "me", "", "mail.example.org:587"); err != nil || p != "typed" || asked != 1 {
		t.Errorf("terminal: %q %v (asked %d)", p, err, asked)
	}
	if !strings.Contains(prompt.String(), "Password for me on mail.example.org:587: ") {
		t.Errorf("prompt %q", prompt.String())
	}
	if p, err := term.password(context.Background(), "me", "given", "x"); err != nil || p != "given" || asked != 1 {
		t.Errorf("--password: %q %v", p, err)
	}
	if p, err := noTerm.password(context.Background(), "", "", "x"); err != nil || p != "" {
		t.Errorf("no user: %q %v", p, err)
	}
	_, err := noTerm.password(context.Background(), "me", "", "x")
	var ee *exitError
	if err == nil || !errors.As(err, &ee) || ee.code != exitUsage || !strings.Contains(err.Error(), envPassword) {
		t.Errorf("no terminal: %v, want a usage error naming $%s", err, envPassword)
	}
	empty := passwordSource{terminal: true, prompt: &prompt, read: func(context.Context) ([]byte, error) { return nil, nil }}
	if _, err := empty.password(context.Background(), "me", "", "x"); err == nil {
		t.Error("an empty typed password was accepted")
	}
	t.Setenv(envPassword, "from-env")
	if p, err := term.password(context.Background(), "me", "", "x"); err != nil || p != "from-env" || asked != 1 {
		t.Errorf("environment: %q %v (asked %d)", p, err, asked)
	}
}

// A plain session that would log in before TLS (--tls none) never sends
// the real password: the driver withholds it and says so. The lab's
// endpoint is used as a target here, as a real server would be.
func TestNoCleartextPasswordInPlainSession(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const secret = "not-the-lab-password"
	t.Setenv(envPassword, secret)
	for _, port := range []int{587, 110, 143} {
		ep, _ := l.Endpoint(port)
		code, out, errOut := runMailwire(t, "session", "--target", ep.Addr, "--port", strconv.Itoa(port), "--tls", "none",
			"--user", lab.DemoUser, "--reveal", "--format", "json")
		if code != exitOK {
			t.Fatalf("%d: exit status %d\n%s\n%s", port, code, errOut, out)
		}
		evs := decodeEvents(t, out)
		for _, ev := range evs {
			for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte("\x00" + lab.DemoUser + "\x00" + secret)),
				base64.StdEncoding.EncodeToString([]byte(secret))} {
				if bytes.Contains(ev.Raw, []byte(form)) || strings.Contains(ev.Text, form) {
					t.Errorf("%d: the password crossed in cleartext: event %d %q", port, ev.Seq, ev.Text)
				}
			}
		}
		withheld := false
		for _, ev := range evs {
			withheld = withheld || strings.HasSuffix(ev.Annotation, ".note.auth_refused_cleartext")
		}
		if !withheld {
			t.Errorf("%d: no note that the password was withheld\n%s", port, out)
		}
	}
}

// The man page has an EXIT STATUS section with every status.
func TestManPageExitStatus(t *testing.T) {
	code, out, errOut := runMailwire(t, "man")
	if code != exitOK {
		t.Fatalf("exit status %d: %s", code, errOut)
	}
	i := strings.Index(out, ".SH EXIT STATUS")
	if i < 0 {
		t.Fatalf("no EXIT STATUS section:\n%s", out)
	}
	for _, want := range []string{"0  the session worked", "1  the session or the connection failed", "2  usage error", "3  unsafe"} {
		if !strings.Contains(strings.ReplaceAll(out[i:], `\&`, ""), want) {
			t.Errorf("EXIT STATUS lacks %q:\n%s", want, out[i:])
		}
	}
}
