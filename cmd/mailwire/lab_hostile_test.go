package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mailwire/mailwire/sessions/lab"
)

func TestLabHostileList(t *testing.T) {
	var out, errOut syncBuffer
	root := newRootCmd()
	root.SetArgs([]string{"lab", "--hostile", "list"})
	root.SetOut(&out)
	root.SetErr(&errOut)
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	cases := lab.AllHostileCases()
	if len(lines) != len(cases) {
		t.Fatalf("%d lines for %d cases", len(lines), len(cases))
	}
	for i, c := range cases {
		if !strings.HasPrefix(lines[i], c.Name+" ") || !strings.Contains(lines[i], c.Does) {
			t.Errorf("line %d %q does not describe %s", i, lines[i], c.Name)
		}
	}
	// The help lists every case too, in a compact form.
	help := hostileCaseSummary()
	for _, l := range strings.Split(help, "\n") {
		if len(l) > 78 {
			t.Errorf("help line over 78 columns: %q", l)
		}
	}
	if !strings.Contains(help, "smtp-handshake-{") || !strings.Contains(help, "imap-greeting-{") {
		t.Errorf("help summary:\n%s", help)
	}
}

func TestLabHostileRefusals(t *testing.T) {
	for _, args := range [][]string{
		{"lab", "--hostile", "no-such-case", "--state-dir", t.TempDir()},
		{"lab", "--hostile", "smtp-greeting-421", "--listen", "0.0.0.0", "--state-dir", t.TempDir()},
	} {
		root := newRootCmd()
		root.SetArgs(args)
		var out syncBuffer
		root.SetOut(&out)
		root.SetErr(&out)
		if err := root.ExecuteContext(context.Background()); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

func TestLabHostileRunsAndStops(t *testing.T) {
	dir := t.TempDir()
	out, _, stop := startCommand(t, "lab", "--hostile", "smtp-greeting-421", "--state-dir", dir)
	banner := waitOutput(t, out, "Connections:")
	addr := regexp.MustCompile(`on (127\.0\.0\.1:\d+)`).FindStringSubmatch(banner)
	if addr == nil {
		t.Fatalf("no address in:\n%s", banner)
	}
	for _, want := range []string{"mailwire session --target " + addr[1], "--proto smtp --tls starttls", "mailwire connect " + addr[1]} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, banner)
		}
	}
	pem, err := os.ReadFile(filepath.Join(dir, "hostile-ca.pem"))
	if err != nil || !strings.Contains(string(pem), "BEGIN CERTIFICATE") {
		t.Fatalf("hostile CA file: %v", err)
	}
	c, err := net.DialTimeout("tcp", addr[1], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "421 ") {
		t.Fatalf("greeting %q, %v", line, err)
	}
	waitOutput(t, out, "connection 1 ended")
	if err := stop(3 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Hostile server stopped.") {
		t.Errorf("output:\n%s", out.String())
	}
}

// TestSessionCommandHostile: `mailwire session` against hostile servers, in
// each output format and with colour forced on: it ends in bounded time,
// and neither stdout, stderr nor the error fang prints holds a control the
// peer sent (only the printers' own SGR colours).
func TestSessionCommandHostile(t *testing.T) {
	sgr := regexp.MustCompile(`\x1b\[[0-9;:]*m`)
	live := func(s string) string {
		s = sgr.ReplaceAllString(s, "")
		if !utf8.ValidString(s) {
			return "invalid UTF-8"
		}
		for i, r := range s {
			if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) {
				return fmt.Sprintf("U+%04X at %d: %q", r, i, s[max(0, i-40):min(len(s), i+40)])
			}
		}
		return ""
	}
	for _, name := range []string{"smtp-greeting-osc52", "smtp-greeting-554-escapes", "smtp-handshake-garbage",
		"smtp-handshake-escapes", "smtp-greeting-endless", "imap-greeting-c1", "pop3-greeting-nul-ctl"} {
		c, ok := lab.HostileCaseByName(name)
		if !ok {
			t.Fatalf("no case %s", name)
		}
		s, err := lab.StartHostile(context.Background(), name, lab.HostileOptions{MaxConns: 8, Lifetime: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		caFile := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(caFile, s.CACertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"text", "json", "markdown"} {
			start := time.Now()
			out, errOut, err := runSessionCmd(t, context.Background(), "--target", s.Addr(), "--proto", c.Proto, "--tls", c.TLS,
				"--ca-file", caFile, "--sni", lab.Hostname, "--user", lab.DemoUser, "--password", "x",
				"--timeout", "3s", "--format", format, "--color", "always", "--hex")
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("%s %s: took %v", name, format, d)
			}
			for what, s := range map[string]string{"stdout": out, "stderr": errOut} {
				if msg := live(s); msg != "" {
					t.Errorf("%s %s %s: %s", name, format, what, msg)
				}
			}
			if err != nil {
				if msg := live(err.Error()); msg != "" {
					t.Errorf("%s %s error: %s", name, format, msg)
				}
			}
			if format == "text" && !strings.Contains(out, `\x1b`) && !strings.Contains(out, `\u009b`) && !strings.Contains(out, `\x00`) && name != "smtp-greeting-endless" {
				t.Errorf("%s: the text output does not show the control bytes escaped", name)
			}
		}
		s.Close()
	}
}
