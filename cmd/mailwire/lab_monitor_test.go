package main

import (
	"bufio"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLabMonitorText: `mailwire lab --monitor` off a terminal prints the
// certificate check ports, then each connection's events prefixed with
// its id: a careless client's flag, and lines inside TLS decrypted.
func TestLabMonitorText(t *testing.T) {
	dir := t.TempDir()
	out, _, stop := startCommand(t, "lab", "--monitor", "--any-port", "--state-dir", dir)

	banner := waitOutput(t, out, "Monitoring:")
	addr := func(re string) string {
		m := regexp.MustCompile(`(?m)` + re + `\s+(127\.0\.0\.1:\d+)$`).FindStringSubmatch(banner)
		if m == nil {
			t.Fatalf("no %s in:\n%s", re, banner)
		}
		return m[1]
	}
	// Port 25 in cleartext: MAIL without the STARTTLS it was offered.
	c, err := net.DialTimeout("tcp", addr(`^25\s+smtp\s+starttls\s+transfer`), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	for _, line := range []string{"", "EHLO monitor.test", "MAIL FROM:<learner@mail.lab.test>", "QUIT"} {
		if line != "" {
			c.Write([]byte(line + "\r\n"))
		}
		for {
			l, err := r.ReadString('\n')
			if err != nil || len(l) < 4 || l[3] != '-' {
				break
			}
		}
	}
	c.Close()
	// A certificate check port, without verifying: the login inside TLS
	// is shown, and the client flagged.
	tc, err := tls.Dial("tcp", addr(`(?s)Certificate check ports.*?^993\s+imap\s+implicit`), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = tc.SetDeadline(time.Now().Add(5 * time.Second))
	tr := bufio.NewReader(tc)
	tr.ReadString('\n')
	tc.Write([]byte("a1 LOGOUT\r\n"))
	tr.ReadString('\n')
	tc.Close()

	text := waitOutput(t, out, "FLAG: this client went on inside TLS")
	for _, want := range []string{"#1 ", "#2 ", "FLAG: the server offered STARTTLS", "a1 LOGOUT"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if err := stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	// The CA the banner names is the one in the state directory.
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
		t.Error(err)
	}
}
