package main

import (
	"encoding/json"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Interop with a real Exim (4.96 here) on loopback, beside the Postfix
// and Dovecot peers: Exim differs where mailwire's readings must hold
// for any server (a 503 to AUTH before STARTTLS, PIPECONNECT, a 421 in
// cleartext on 465 past smtp_accept_max, which a scan meets). Skipped
// unless MAILWIRE_INTEROP_EXIM names the address Exim listens on (25,
// 587 and 465 there, 465 as tls_on_connect, AUTH PLAIN/LOGIN only over
// TLS), with MAILWIRE_INTEROP_CA its CA file and MAILWIRE_INTEROP_SNI
// the name its certificate carries; MAILWIRE_INTEROP_USER and
// MAILWIRE_INTEROP_PASSWORD a login, if any. Helper X's notes
// (/work/notes/interop-X.md) say how to run one from Debian's debs.
func findExim(t *testing.T) (addr, ca, sni string) {
	t.Helper()
	addr = os.Getenv("MAILWIRE_INTEROP_EXIM")
	if addr == "" {
		t.Skip("MAILWIRE_INTEROP_EXIM not set: no real Exim to test against")
	}
	if ip := net.ParseIP(addr); ip == nil || !ip.IsLoopback() {
		t.Fatalf("MAILWIRE_INTEROP_EXIM=%q: want a loopback address", addr)
	}
	return addr, os.Getenv("MAILWIRE_INTEROP_CA"), os.Getenv("MAILWIRE_INTEROP_SNI")
}

func TestInteropEximSessions(t *testing.T) {
	addr, ca, sni := findExim(t)
	user, password := os.Getenv("MAILWIRE_INTEROP_USER"), os.Getenv("MAILWIRE_INTEROP_PASSWORD")
	t.Setenv(envPassword, password)
	for _, port := range []string{"25", "587", "465"} {
		args := []string{"session", "--target", net.JoinHostPort(addr, port), "--format", "json"}
		if ca != "" {
			args = append(args, "--ca-file", ca)
		}
		if sni != "" {
			args = append(args, "--sni", sni)
		}
		if user != "" && port != "25" {
			args = append(args, "--user", user)
		}
		code, out, errOut := runMailwire(t, args...)
		if code != exitOK {
			t.Fatalf("%s: exit status %d\n%s", port, code, errOut)
		}
		for _, ev := range decodeEvents(t, out) {
			if ev.Dir == wire.ClientToServer && ev.Kind == wire.KindLine {
				verb, _, _ := strings.Cut(ev.Text, " ")
				if verb == "MAIL" || verb == "RCPT" || verb == "DATA" || verb == "BDAT" {
					t.Errorf("%s: a message was started without --to: %s", port, ev.Text)
				}
			}
			for _, k := range ev.Also {
				if a, _ := content.Lookup(k); strings.HasPrefix(k, "smtp.ext.") && a.Key == "smtp.ext.unknown" {
					t.Errorf("%s: the EHLO keyword of %s is not explained", port, k)
				}
			}
		}
	}
}

// A scan of Exim is complete: every suite tested although Exim turns
// connections away past smtp_accept_max (20), and no port graded for a
// 421 it sent for its load.
func TestInteropEximScan(t *testing.T) {
	addr, ca, sni := findExim(t)
	args := []string{"scan", addr, "--format", "json"}
	if ca != "" {
		args = append(args, "--ca-file", ca)
	}
	if sni != "" {
		args = append(args, "--sni", sni)
	}
	_, out, errOut := runMailwire(t, args...)
	var rep struct {
		Findings []struct {
			Port   int    `json:"port"`
			Key    string `json:"key"`
			Detail string `json:"detail"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%s\n%s", err, out, errOut)
	}
	for _, f := range rep.Findings {
		switch f.Key {
		case "scan.suites.incomplete", "scan.version.unknown", "scan.alpn.unknown", "scan.login.untested",
			"scan.injection.untested", "scan.mode.cleartext_on_implicit", "scan.mode.other":
			t.Errorf("port %d: %s: %s", f.Port, f.Key, wire.SafeString(f.Detail))
		}
	}
}
