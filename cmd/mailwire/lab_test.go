package main

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the command's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitOutput(t *testing.T, out *syncBuffer, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := out.String()
		if strings.Contains(s, want) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %q:\n%s", want, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCommand runs mailwire with args in the background, as a user
// leaves `mailwire lab` running in a terminal; stop cancels it and returns
// what it returned, and fails the test if it has not stopped within d.
func startCommand(t *testing.T, args ...string) (out, errOut *syncBuffer, stop func(d time.Duration) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out, errOut = &syncBuffer{}, &syncBuffer{}
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	return out, errOut, func(d time.Duration) error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(d):
			t.Fatalf("mailwire %s did not stop within %v of its cancel", strings.Join(args, " "), d)
			return nil
		}
	}
}

func TestLabCommandRunsAndStops(t *testing.T) {
	dir := t.TempDir()
	out, errOut, stop := startCommand(t, "lab", "--any-port", "--state-dir", dir)

	banner := waitOutput(t, out, "Connections (ctrl+c to stop):")
	for _, want := range []string{
		"PORT  PROTOCOL  TLS", "CA certificate:  " + filepath.Join(dir, "ca.pem"),
		"learner / correct-horse", "-verify_hostname mail.lab.test",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	// One table row per endpoint, in order, with its actual address.
	rows := regexp.MustCompile(`(?m)^(\d+)\s+(smtp|pop3|imap|https)\s+(starttls|implicit)\s+\S+\s+(127\.0\.0\.1:\d+)$`).FindAllStringSubmatch(banner, -1)
	var ports []string
	for _, r := range rows {
		ports = append(ports, r[1])
	}
	if strings.Join(ports, ",") != "25,587,465,110,995,143,993,443" {
		t.Fatalf("table rows %q:\n%s", ports, banner)
	}
	if errOut.String() != "" {
		t.Errorf("unexpected stderr on loopback: %q", errOut.String())
	}

	// A connection is logged with client address and port.
	c, err := net.DialTimeout("tcp", rows[1][4], 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	greet, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(greet, "220 ") {
		t.Fatalf("greeting %q, %v", greet, err)
	}
	waitOutput(t, out, c.LocalAddr().String())
	logged := waitOutput(t, out, "→ 587 smtp/starttls")
	if !regexp.MustCompile(`\d\d:\d\d:\d\d\.\d{3}  127\.0\.0\.1:\d+\s+→ 587 smtp/starttls`).MatchString(logged) {
		t.Errorf("connection log line malformed:\n%s", logged)
	}
	c.Close()

	if err := stop(5 * time.Second); err != nil {
		t.Fatalf("lab returned %v", err)
	}
	waitOutput(t, out, "Lab stopped.")
	if c, err := net.DialTimeout("tcp", rows[1][4], time.Second); err == nil {
		c.Close()
		t.Error("still listening after stop")
	}
}

func TestLabCommandCAOut(t *testing.T) {
	dir := t.TempDir()
	caOut := filepath.Join(t.TempDir(), "lab-ca.pem")
	var out syncBuffer
	root := newRootCmd()
	root.SetArgs([]string{"lab", "--state-dir", dir, "--ca-out", caOut})
	root.SetOut(&out)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	written, err := os.ReadFile(caOut)
	if err != nil {
		t.Fatal(err)
	}
	kept, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(written, kept) || !bytes.HasPrefix(written, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatal("--ca-out did not write the state dir's CA certificate")
	}
	if _, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Fatalf("CA key not kept: %v", err)
	}
	if !strings.Contains(out.String(), caOut) {
		t.Errorf("output %q does not name the file", out.String())
	}
}

func TestLabCommandWarnsOffLoopback(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "127.0.0.5", "::1", "localhost"} {
		if !isLoopback(h) {
			t.Errorf("isLoopback(%q) = false", h)
		}
	}
	for _, h := range []string{"0.0.0.0", "192.0.2.1", "mail.example.com", "::"} {
		if isLoopback(h) {
			t.Errorf("isLoopback(%q) = true", h)
		}
	}
	// The warning is printed before listening; an address that cannot be
	// bound (TEST-NET-1, RFC 5737) makes the command fail right after,
	// without any traffic leaving the machine.
	var out, errOut syncBuffer
	err := runLab(context.Background(), &out, &errOut, labFlags{listen: "192.0.2.1", anyPort: true, stateDir: t.TempDir()})
	if err == nil {
		t.Fatal("listening on 192.0.2.1 succeeded")
	}
	if !strings.Contains(errOut.String(), "WARNING: listening on 192.0.2.1, not on loopback") {
		t.Errorf("no warning: %q", errOut.String())
	}
}

func TestRootCommandHasLab(t *testing.T) {
	root := newRootCmd()
	if root.RunE == nil {
		t.Fatal("root command does nothing")
	}
	cmd, _, err := root.Find([]string{"lab"})
	if err != nil || cmd.Name() != "lab" {
		t.Fatalf("lab subcommand: %v", err)
	}
	for _, name := range []string{"listen", "port-offset", "ca-out", "state-dir"} {
		if cmd.Flags().Lookup(name) == nil {
			t.Errorf("flag --%s missing", name)
		}
	}
	if f := cmd.Flags().Lookup("port-offset"); f.DefValue != "10000" {
		t.Errorf("--port-offset default %s", f.DefValue)
	}
}
