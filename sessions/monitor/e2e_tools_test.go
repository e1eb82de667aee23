package monitor

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Real clients against the monitored lab: swaks, openssl s_client and
// curl, careful and careless, each found on the monitor with its flags.

func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (CI installs it): %v", name, err)
	}
	return p
}

// run runs a client to its end (at most 15 s) and returns its output.
func run(t *testing.T, stdin, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "NO_PROXY=*", "no_proxy=*", "CURL_HOME="+t.TempDir())
	cmd.WaitDelay = 2 * time.Second
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %v: timed out:\n%s", name, args, out)
	}
	return string(out)
}

func TestMonitorRealClients(t *testing.T) {
	swaks, openssl, curl := tool(t, "swaks"), tool(t, "openssl"), tool(t, "curl")
	m := startMonitored(t, Options{})
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, m.lab.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }
	type want struct {
		name  string
		flags []Flag
		cert  CertCheck
		line  string // a client line the timeline must hold
	}
	var wants []want
	mail := []string{"--to", lab.DemoRecipient, "--from", lab.DemoRecipient, "--helo", "swaks.test"}

	run(t, "", swaks, append([]string{"--server", "127.0.0.1:" + port(m.addr(t, 587)), "-tls", "--tls-verify", "--tls-ca-path", ca,
		"--tls-sni", lab.Hostname, "--auth", "PLAIN", "--auth-user", lab.DemoUser, "--auth-password", lab.DemoPassword}, mail...)...)
	wants = append(wants, want{name: "swaks 587 STARTTLS", line: "AUTH PLAIN"})

	run(t, "", swaks, append([]string{"--server", "127.0.0.1:" + port(m.addr(t, 25))}, mail...)...)
	wants = append(wants, want{name: "swaks 25 without STARTTLS", flags: []Flag{FlagStartTLSIgnored}, line: "MAIL FROM"})

	run(t, "a1 LOGIN "+lab.DemoUser+" "+lab.DemoPassword+"\na2 LOGOUT\n", openssl, "s_client", "-quiet", "-crlf",
		"-connect", m.other[993], "-servername", lab.Hostname)
	wants = append(wants, want{name: "openssl s_client on a check port, verification off", flags: []Flag{FlagCertNotVerified}, cert: CertAccepted, line: "a1 LOGIN"})

	run(t, "a1 LOGOUT\n", openssl, "s_client", "-quiet", "-crlf", "-verify_return_error", "-CAfile", ca,
		"-verify_hostname", lab.Hostname, "-connect", m.other[993], "-servername", lab.Hostname)
	wants = append(wants, want{name: "openssl s_client -verify_return_error on a check port", cert: CertRefused})

	run(t, "", curl, "-s", "--cacert", ca, "--resolve", lab.Hostname+":"+port(m.addr(t, 443))+":127.0.0.1",
		"https://"+lab.Hostname+":"+port(m.addr(t, 443))+"/")
	wants = append(wants, want{name: "curl 443", line: "HTTP/2 connection preface"})

	cl := waitClosed(t, m.mon, len(wants))
	if len(cl) != len(wants) {
		t.Fatalf("%d clients on the monitor, want %d", len(cl), len(wants))
	}
	for i, w := range wants {
		c := cl[i]
		_, evs, _ := m.mon.Client(c.ID)
		if !slices.Equal(c.Flags, w.flags) || c.Cert != w.cert {
			t.Errorf("%s: %s; want flags %v, cert %q", w.name, describe(c), w.flags, w.cert)
		}
		if w.line != "" && !slices.ContainsFunc(evs, func(ev wire.Event) bool {
			return ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && strings.HasPrefix(ev.Text, w.line)
		}) {
			t.Errorf("%s: no client line %q on its timeline", w.name, w.line)
		}
		checkKeys(t, w.name, evs)
	}
}
