package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mailwire/mailwire/internal/sshserve"
	"github.com/mailwire/mailwire/internal/sshserve/sshtest"
)

// classServer is mailwire serve running in the test, on 127.0.0.1:0.
type classServer struct {
	addr     string // the SSH server's address
	stateDir string
	out      *syncBuffer
	errOut   *syncBuffer
	stop     func() // stops it and waits; once
}

// startServe runs `mailwire serve --ssh 127.0.0.1:0` with args, its state
// in a temporary directory, and waits for its banner. The XDG
// directories are temporary too (no configuration file, and any file the
// students' programs wrote would show there).
func startServe(t *testing.T, args ...string) *classServer {
	t.Helper()
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"} {
		t.Setenv(v, t.TempDir())
	}
	cs := &classServer{stateDir: t.TempDir(), out: &syncBuffer{}, errOut: &syncBuffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	root := newRootCmd()
	root.SetArgs(append([]string{"serve", "--ssh", "127.0.0.1:0", "--state-dir", cs.stateDir}, args...))
	root.SetOut(cs.out)
	root.SetErr(cs.errOut)
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var once sync.Once
	cs.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve returned %v; stderr %s", err, cs.errOut.String())
				}
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop within 15 s")
			}
		})
	}
	t.Cleanup(cs.stop)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(cs.out.String(), "Students (ctrl+c to stop):") {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s\n%s", err, cs.out.String(), cs.errOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no banner:\n%s\n%s", cs.out.String(), cs.errOut.String())
		}
	}
	m := regexp.MustCompile(`Students connect:  ssh -p (\d+) 127\.0\.0\.1`).FindStringSubmatch(cs.out.String())
	if m == nil {
		t.Fatalf("the banner has no port:\n%s", cs.out.String())
	}
	cs.addr = "127.0.0.1:" + m[1]
	return cs
}

// student connects to the class server and opens a screen of w×h.
func (cs *classServer) student(t *testing.T, user string, w, h int) *sshtest.Student {
	t.Helper()
	c, err := sshtest.Dial(cs.addr, &gossh.ClientConfig{User: user})
	if err != nil {
		t.Fatalf("%s: %v", user, err)
	}
	st, err := sshtest.Open(c, sshtest.Options{Width: w, Height: h})
	if err != nil {
		c.Close()
		t.Fatalf("%s: %v", user, err)
	}
	t.Cleanup(st.Close)
	return st
}

// The students' screens: the port table against the one lab, a session of
// one student's never on another's, nothing written to the host's disk,
// no command run.
func TestServeStudentsAreIsolated(t *testing.T) {
	cs := startServe(t)
	for _, want := range []string{"Access:            open: any client", "Host key:          SHA256:",
		"(new, written to " + filepath.Join(cs.stateDir, "ssh_host_ed25519_key") + ")", "Connect form:      the lab only; exports off"} {
		if !strings.Contains(cs.out.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, cs.out.String())
		}
	}
	alice := cs.student(t, "alice", 100, 30)
	bob := cs.student(t, "bob", 80, 24)
	for _, st := range []*sshtest.Student{alice, bob} {
		if _, err := st.WaitText(20*time.Second, "lab ready on 127.0.0.1"); err != nil {
			t.Fatal(err)
		}
	}

	// Bob's screen is watched while Alice runs a session and a scenario.
	var (
		mu     sync.Mutex
		leaked string
	)
	watch, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		_, _ = bob.WaitFor(watch, func(screen string) bool {
			for _, s := range []string{"SMTP 587 · STARTTLS", "done in", "Credentials sent too early", "mailwire scenarios"} {
				if strings.Contains(screen, s) {
					mu.Lock()
					leaked = screen
					mu.Unlock()
					return true
				}
			}
			return false
		})
	}()

	if err := alice.Type("j\r"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitText(20*time.Second, "221 2.0.0 Bye"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(alice.Screen(), "SMTP 587 · STARTTLS") {
		t.Errorf("alice's session is not on 587:\n%s", alice.Screen())
	}
	// x and w (export, save) do nothing on a shared screen.
	if err := alice.Type("xw"); err != nil {
		t.Fatal(err)
	}
	// esc, then S on its own: esc followed at once by S is alt+S.
	if err := alice.Type("\x1b"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitText(10*time.Second, "Port 587: message submission"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Type("S"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.WaitText(10*time.Second, "Credentials sent too early"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Type("\r"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if s, err := alice.WaitFor(wctx, func(s string) bool {
		return strings.Contains(s, "scenario: Credentials sent too early") && strings.Contains(s, "done in")
	}); err != nil {
		t.Fatalf("alice's scenario: %v\n%s", err, s)
	}
	stopWatch()
	<-watched
	mu.Lock()
	if leaked != "" {
		t.Errorf("alice's session showed on bob's screen:\n%s", leaked)
	}
	mu.Unlock()
	if !strings.Contains(bob.Screen(), "Port 25: SMTP relay") {
		t.Errorf("bob's screen left the port table:\n%s", bob.Screen())
	}
	// Bob's c is not the connect form to arbitrary hosts.
	if err := bob.Type("c"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if s := bob.Screen(); strings.Contains(s, "connect to a server") || !strings.Contains(s, "Port 25: SMTP relay") {
		t.Errorf("c opened the connect form:\n%s", s)
	}

	// No command, no shell of the host.
	c, err := sshtest.Dial(cs.addr, &gossh.ClientConfig{User: "mallory"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("cat /etc/passwd")
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 || strings.Contains(string(out), "root:") {
		t.Errorf("exec: %v, %q", err, out)
	}

	cs.stop()
	// Nothing of the students' under the host's XDG directories.
	for _, v := range []string{"XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"} {
		if entries, _ := os.ReadDir(os.Getenv(v)); len(entries) > 0 {
			t.Errorf("$%s has %v", v, entries)
		}
	}
	log := cs.out.String()
	for _, want := range []string{`(user "alice" from 127.0.0.1, open) opened a screen, 100×30`, `(user "bob" from 127.0.0.1, open) opened a screen, 80×24`, "Class server stopped."} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// The configuration file's [serve] settings reach serve's flags, and a
// flag overrides them.
func TestServeConfig(t *testing.T) {
	writeConfig(t, "[serve]\nlisten = '0.0.0.0:2200'\nmax_students = 30\nmax_per_address = 30\nidle_timeout = '45m'\nallow_targets = true\npassphrase_file = '/srv/class/pass'\n")
	cmd := applied(t, []string{"serve"}, "--max-students", "12")
	for flag, want := range map[string]string{"ssh": "0.0.0.0:2200", "max-students": "12", "max-per-address": "30",
		"idle-timeout": "45m0s", "allow-targets": "true", "passphrase-file": "/srv/class/pass"} {
		if got := flagValue(t, cmd, flag); got != want {
			t.Errorf("--%s = %q, want %q", flag, got, want)
		}
	}
	code, out, errOut := runMailwire(t, "config")
	if code != exitOK {
		t.Fatalf("config: %d %s", code, errOut)
	}
	for key, from := range map[string]string{"serve.listen": "file, line 2", "serve.idle_timeout": "file, line 5", "serve.authorized_keys": "default"} {
		if !hasRow(out, key, from) {
			t.Errorf("%s is not from %q:\n%s", key, from, out)
		}
	}

	for _, c := range [][]string{{"--idle-timeout", "10s"}, {"--idle-timeout", "soon"}, {"--max-students", "0"}, {"--ssh", "2222"}} {
		code, _, errOut := runMailwire(t, append([]string{"config"}, c...)...)
		if code != exitUsage || !strings.Contains(flat(errOut), c[0]) || !strings.Contains(flat(errOut), c[1]) {
			t.Errorf("config %v: exit %d, want %d naming it:\n%s", c, code, exitUsage, errOut)
		}
	}

	for doc, want := range map[string]string{
		"[serve]\nidle_timeout = '10s'\n":       "line 2: serve.idle_timeout = 10s: want a minute or more",
		"[serve]\nidle_timeout = 'soon'\n":      "serve.idle_timeout = soon: want a duration such as 30m",
		"[serve]\nlisten = '2222'\n":            "serve.listen = 2222: --ssh \"2222\": want HOST:PORT",
		"[serve]\nmax_students = 0\n":           "serve.max_students = 0: want 1 or more",
		"[serve]\npassphrase = 'tls-or-bust'\n": "the class passphrase never goes in the configuration file",
	} {
		writeConfig(t, doc)
		code, _, errOut := runMailwire(t, "serve")
		if code != exitUsage || !strings.Contains(flat(errOut), want) {
			t.Errorf("%q: exit %d, want %d with %q:\n%s", doc, code, exitUsage, want, errOut)
		}
	}
}

// What serve refuses before it starts anything.
func TestServeUsage(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv(envClassPassphrase, "")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--ssh", "0.0.0.0:2222"}, "other machines can reach this address"},
		{[]string{"--ssh", ":2222"}, "other machines can reach this address"},
		{[]string{"--ssh", "localhost"}, "want HOST:PORT"},
		{[]string{"--idle-timeout", "30s"}, "--idle-timeout 30s: want a minute or more"},
		{[]string{"--max-per-address", "0"}, "--max-per-address 0: want 1 or more"},
		{[]string{"--passphrase-file", empty}, "the first line is empty"},
		{[]string{"--passphrase-file", filepath.Join(dir, "none")}, "--passphrase-file: open"},
		{[]string{"--theme", "pink"}, "--theme"},
		{[]string{"extra"}, "unknown command"},
	} {
		code, _, errOut := runMailwire(t, append([]string{"serve", "--state-dir", dir}, c.args...)...)
		if code != exitUsage || !strings.Contains(flat(errOut), c.want) {
			t.Errorf("serve %v: exit %d, want %d with %q:\n%s", c.args, code, exitUsage, c.want, errOut)
		}
	}
}

// Off loopback: a warning on stderr that says who gets in, and the
// addresses students type rather than the wildcard. The banner is
// printed for an address never listened on: tests reach 127.0.0.0/8
// only.
func TestServeWarnsOffLoopback(t *testing.T) {
	key, _, err := sshserve.LoadOrCreateHostKey(filepath.Join(t.TempDir(), sshserve.HostKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ flag, listened string }{{"0.0.0.0:2222", "[::]:2222"}, {":2222", "[::]:2222"}, {"192.0.2.10:2222", "192.0.2.10:2222"}} {
		var out, errOut strings.Builder
		f := serveFlags{ssh: c.flag, limits: sshserve.DefaultLimits()}
		printServeBanner(&out, &errOut, f, sshserve.Access{Passphrase: "p"}, c.listened, key, "/state/key", true)
		if want := "WARNING: listening on " + c.flag + ", not on loopback"; !strings.Contains(errOut.String(), want) ||
			!strings.Contains(errOut.String(), "anyone who has the class passphrase gets in") {
			t.Errorf("%s: the warning does not say %q and who gets in:\n%s", c.flag, want, errOut.String())
		}
		connect := regexp.MustCompile(`(?m)^(?:Students connect:|               or)  ssh -p 2222 (\S+)`).FindAllStringSubmatch(out.String(), -1)
		if len(connect) == 0 {
			t.Errorf("%s: no address for students:\n%s", c.flag, out.String())
		}
		for _, m := range connect {
			if ip := net.ParseIP(m[1]); ip != nil && (ip.IsUnspecified() || ip.IsLoopback()) {
				t.Errorf("%s: students told to connect to %s:\n%s", c.flag, m[1], out.String())
			}
		}
		if !strings.Contains(out.String(), "Access:            the class passphrase") {
			t.Errorf("%s: banner:\n%s", c.flag, out.String())
		}
	}
	var out, errOut strings.Builder
	printServeBanner(&out, &errOut, serveFlags{ssh: "127.0.0.1:2222"}, sshserve.Access{}, "127.0.0.1:2222", key, "/state/key", false)
	if errOut.Len() != 0 || !strings.Contains(out.String(), "Students connect:  ssh -p 2222 127.0.0.1\n") {
		t.Errorf("loopback: stderr %q, banner:\n%s", errOut.String(), out.String())
	}
}

// The real OpenSSH client in tmux, as a student runs it: the port table,
// a session on 587, and a resize from 80×24 to 120×40.
func TestServeOpenSSH(t *testing.T) {
	for _, tool := range []string{"ssh", "tmux"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian: openssh-client, tmux)", tool)
		}
	}
	cs := startServe(t)
	_, port, _ := strings.Cut(cs.addr, ":")
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// No configuration of the host's user, no known_hosts written, no
	// agent: the client as a fresh student's.
	sshCmd := "ssh -F /dev/null -p " + port + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null" +
		" -o IdentityAgent=none -o BatchMode=no -o LogLevel=ERROR student@127.0.0.1"
	tmux("new-session", "-d", "-s", "class", "-x", "80", "-y", "24", "env TERM=xterm-256color "+sshCmd+"; sleep 30")
	defer exec.Command("tmux", "-S", sock, "kill-server").Run()
	screen := func(want string) string {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := tmux("capture-pane", "-p", "-t", "class")
			if strings.Contains(s, want) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the screen does not show %q:\n%s\nserver:\n%s", want, s, cs.out.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s := screen("lab ready on 127.0.0.1")
	for _, want := range []string{"ESMTP     587 → :", "IMAP4     143 → :", "Port 25: SMTP relay"} {
		if !strings.Contains(s, want) {
			t.Errorf("port table lacks %q:\n%s", want, s)
		}
	}
	tmux("send-keys", "-t", "class", "j")
	screen("Port 587")
	tmux("send-keys", "-t", "class", "Enter")
	s = screen("221 2.0.0 Bye")
	if !strings.Contains(s, "SMTP 587 · STARTTLS") {
		t.Errorf("not a session on 587:\n%s", s)
	}
	if w := widest(s); w > 80 {
		t.Errorf("a line of %d columns at 80×24:\n%s", w, s)
	}
	tmux("resize-window", "-t", "class", "-x", "120", "-y", "40")
	deadline := time.Now().Add(10 * time.Second)
	for {
		s = tmux("capture-pane", "-p", "-t", "class")
		if lines := strings.Split(strings.TrimRight(s, "\n"), "\n"); widest(s) > 100 && len(lines) >= 38 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen did not grow to 120×40:\n%s", s)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(s, "SMTP 587 · STARTTLS") {
		t.Errorf("after the resize:\n%s", s)
	}
	waitOutput(t, cs.out, `student 1 (user "student" from 127.0.0.1, open) opened a screen, 80×24 xterm-256color`)
	tmux("send-keys", "-t", "class", "q")
	waitOutput(t, cs.out, "student 1 left after")
}

// widest is the widest line of a captured screen, in columns.
func widest(s string) int {
	w := 0
	for _, l := range strings.Split(s, "\n") {
		w = max(w, len([]rune(strings.TrimRight(l, " "))))
	}
	return w
}

// The class passphrase from the environment is never shown, as the
// password is not.
func TestConfigHidesClassPassphrase(t *testing.T) {
	writeConfig(t, "")
	t.Setenv(envClassPassphrase, "tls-or-bust")
	for _, format := range []string{"text", "json", "toml"} {
		_, out, _ := runMailwire(t, "config", "--format", format)
		if strings.Contains(out, "tls-or-bust") {
			t.Errorf("--format %s shows the passphrase:\n%s", format, out)
		}
	}
	_, out, _ := runMailwire(t, "config")
	if !regexp.MustCompile(envClassPassphrase + ` +set \(not shown\)`).MatchString(out) {
		t.Errorf("the passphrase's variable is not said to be set:\n%s", out)
	}
}
