package sshserve

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mailwire/mailwire/internal/sshserve/sshtest"
)

// echoModel is a student's program in these tests: it shows who it
// serves, the keys typed and the window, and quits on q.
type echoModel struct {
	st   Student
	keys string
	w, h int
}

func (m *echoModel) Init() tea.Cmd { return nil }

func (m *echoModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if msg.String() == "q" {
			return m, tea.Quit
		}
		m.keys += msg.String()
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
	}
	return m, nil
}

func (m *echoModel) View() tea.View {
	v := tea.NewView(fmt.Sprintf("student %d user %s key %q\nkeys [%s]\nwindow %dx%d\nenv COLORFGBG=%q LD_PRELOAD=%q",
		m.st.ID, m.st.User, m.st.Key, m.keys, m.w, m.h, m.st.Getenv("COLORFGBG"), m.st.Getenv("LD_PRELOAD")))
	v.AltScreen = true
	return v
}

// testServer is a server on 127.0.0.1:0 serving echoModel.
type testServer struct {
	*Server
	addr string
	mu   sync.Mutex
	log  []string
}

func startServer(t *testing.T, acc Access, lim Limits) *testServer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{}
	srv, err := New(Config{Addr: "127.0.0.1:0", HostKey: signer, Access: acc, Limits: lim, failDelay: time.Millisecond,
		Program: func(_ context.Context, st Student) (tea.Model, error) { return &echoModel{st: st}, nil },
		Logf: func(format string, args ...any) {
			ts.mu.Lock()
			defer ts.mu.Unlock()
			ts.log = append(ts.log, fmt.Sprintf(format, args...))
		}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ts.Server, ts.addr = srv, ln.Addr().String()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ts
}

func (ts *testServer) logText() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return strings.Join(ts.log, "\n")
}

// banner collects the login banner the server sends.
type banner struct {
	mu   sync.Mutex
	text string
}

func (b *banner) callback(msg string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.text += msg
	return nil
}

func (b *banner) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.text
}

func newKey(t *testing.T) (gossh.Signer, gossh.PublicKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, s.PublicKey()
}

func keyAuth(s gossh.Signer) []gossh.AuthMethod { return []gossh.AuthMethod{gossh.PublicKeys(s)} }

func passAuth(p string) []gossh.AuthMethod {
	return []gossh.AuthMethod{gossh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
		ans := make([]string, len(qs))
		for i := range qs {
			ans[i] = p
		}
		return ans, nil
	})}
}

// login connects with auth and opens a screen; it fails the test unless
// the screen shows the student.
func login(t *testing.T, ts *testServer, user string, auth []gossh.AuthMethod) *sshtest.Student {
	t.Helper()
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: user, Auth: auth})
	if err != nil {
		t.Fatalf("login as %s: %v", user, err)
	}
	st, err := sshtest.Open(c, sshtest.Options{})
	if err != nil {
		c.Close()
		t.Fatalf("open a screen: %v", err)
	}
	t.Cleanup(st.Close)
	if _, err := st.WaitText(10*time.Second, "user "+user); err != nil {
		t.Fatal(err)
	}
	return st
}

// refused says whether a login with auth fails.
func refused(t *testing.T, ts *testServer, auth []gossh.AuthMethod) (bool, string) {
	t.Helper()
	var b banner
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "x", Auth: auth, BannerCallback: b.callback})
	if err == nil {
		c.Close()
		return false, b.String()
	}
	return true, b.String()
}

func TestOpenAccessOnLoopback(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	// Any client: no method at all (SSH's "none", RFC 4252 §5.2), or any key.
	login(t, ts, "alice", nil)
	k, _ := newKey(t)
	login(t, ts, "bob", keyAuth(k))
	if !strings.Contains(ts.logText(), `user "alice" from 127.0.0.1, open`) {
		t.Errorf("the log does not say the student came in by open access:\n%s", ts.logText())
	}
}

func TestOpenAccessBanner(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	var b banner
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "x", BannerCallback: b.callback})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if !strings.Contains(b.String(), "Open access: any client") {
		t.Errorf("the banner does not say access is open: %q", b.String())
	}
}

func TestOpenAccessRefusedOffLoopback(t *testing.T) {
	k, _ := newKey(t)
	prog := func(context.Context, Student) (tea.Model, error) { return nil, nil }
	for _, addr := range []string{"0.0.0.0:2222", ":2222", "[::]:2222", "192.0.2.10:2222", "example.org:2222"} {
		_, err := New(Config{Addr: addr, HostKey: k, Program: prog})
		if !errors.Is(err, ErrOpenNotLoopback) {
			t.Errorf("New(%s) open: err = %v, want ErrOpenNotLoopback", addr, err)
		}
		if _, err := New(Config{Addr: addr, HostKey: k, Program: prog, Access: Access{Passphrase: "p"}}); err != nil {
			t.Errorf("New(%s) with a passphrase: %v", addr, err)
		}
	}
	for _, addr := range []string{"127.0.0.1:2222", "127.0.0.2:2222", "[::1]:2222", "localhost:2222"} {
		if _, err := New(Config{Addr: addr, HostKey: k, Program: prog}); err != nil {
			t.Errorf("New(%s) open: %v", addr, err)
		}
	}
}

func TestPassphrase(t *testing.T) {
	ts := startServer(t, Access{Passphrase: "tls-or-bust"}, Limits{})
	login(t, ts, "alice", passAuth("tls-or-bust"))
	login(t, ts, "bob", []gossh.AuthMethod{gossh.Password("tls-or-bust")})
	k, _ := newKey(t)
	for name, auth := range map[string][]gossh.AuthMethod{
		"wrong passphrase": passAuth("tls-or-bus"),
		"wrong password":   {gossh.Password("")},
		"a key":            keyAuth(k),
		"nothing":          nil,
	} {
		if ok, _ := refused(t, ts, auth); !ok {
			t.Errorf("%s: logged in", name)
		}
	}
	if !strings.Contains(ts.logText(), "wrong passphrase") {
		t.Errorf("the log does not name the failed login:\n%s", ts.logText())
	}
}

func TestAuthorizedKeys(t *testing.T) {
	in, inPub := newKey(t)
	late, latePub := newKey(t)
	out, _ := newKey(t)
	path := filepath.Join(t.TempDir(), "students.pub")
	write := func(keys ...gossh.PublicKey) {
		var b strings.Builder
		b.WriteString("# the class of Monday\n\n")
		for i, k := range keys {
			fmt.Fprintf(&b, "%s student%d@laptop\n", strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))), i)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(inPub)
	ts := startServer(t, Access{AuthorizedKeys: path}, Limits{})
	st := login(t, ts, "alice", keyAuth(in))
	if fp := gossh.FingerprintSHA256(inPub); !strings.Contains(st.Screen(), fp) {
		t.Errorf("the program was not told the key %s:\n%s", fp, st.Screen())
	}
	for name, auth := range map[string][]gossh.AuthMethod{"unlisted key": keyAuth(out), "passphrase": passAuth("x"), "nothing": nil} {
		if ok, _ := refused(t, ts, auth); !ok {
			t.Errorf("%s: logged in", name)
		}
	}
	// A key added during the class gets in (the file is read again).
	if ok, _ := refused(t, ts, keyAuth(late)); !ok {
		t.Fatal("late key: logged in before it was listed")
	}
	time.Sleep(1100 * time.Millisecond) // the file's time must change, and a second pass
	write(inPub, latePub)
	login(t, ts, "carol", keyAuth(late))
}

func TestAuthorizedKeysFileErrors(t *testing.T) {
	k, pub := newKey(t)
	line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pub)))
	dir := t.TempDir()
	for name, tc := range map[string]struct{ content, want string }{
		"options":  {`from="10.0.0.1" ` + line + "\n", "line 1: options (from=\"10.0.0.1\") are not supported"},
		"garbage":  {line + "\nssh-ed25519 AAAAnotbase64\n", "line 2: not a public key"},
		"no key":   {"# nobody yet\n", "no key in the file"},
		"too long": {strings.Repeat("#", maxKeysFile+1), "larger than"},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{Addr: "127.0.0.1:0", HostKey: k, Access: Access{AuthorizedKeys: path},
			Program: func(context.Context, Student) (tea.Model, error) { return nil, nil }})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
	}
}

func TestKeysOrPassphrase(t *testing.T) {
	in, inPub := newKey(t)
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, gossh.MarshalAuthorizedKey(inPub), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, Access{AuthorizedKeys: path, Passphrase: "p"}, Limits{})
	login(t, ts, "alice", keyAuth(in))
	login(t, ts, "bob", passAuth("p"))
}

func TestLimitPerAddress(t *testing.T) {
	ts := startServer(t, Access{}, Limits{MaxPerAddr: 2})
	a := login(t, ts, "a", nil)
	login(t, ts, "b", nil)
	ok, text := refused(t, ts, nil)
	if !ok || !strings.Contains(text, "too many connections from 127.0.0.1 (at most 2 from one address)") {
		t.Fatalf("third connection: refused %v, banner %q", ok, text)
	}
	// A place given back is taken again.
	a.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ok, _ := refused(t, ts, nil); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed connection's place was not given back")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLimitTotal(t *testing.T) {
	ts := startServer(t, Access{}, Limits{MaxSessions: 2, MaxPerAddr: 10})
	login(t, ts, "a", nil)
	login(t, ts, "b", nil)
	ok, text := refused(t, ts, nil)
	if !ok || !strings.Contains(text, "the class is full (at most 2 students at once)") {
		t.Fatalf("third student: refused %v, banner %q", ok, text)
	}
	if s := ts.Stats(); s.Connections != 2 || s.Screens != 2 {
		t.Errorf("Stats = %+v, want 2 connections and 2 screens", s)
	}
}

func TestRefusedFlood(t *testing.T) {
	a := newAdmission(Limits{MaxSessions: 1, MaxPerAddr: 1})
	if _, _, ok := a.admit("x"); !ok {
		t.Fatal("first refused")
	}
	for i := range maxRefused {
		if _, why, ok := a.admit("x"); ok || why == "" {
			t.Fatalf("refusal %d: ok %v, why %q", i, ok, why)
		}
	}
	// Past maxRefused open refusals, the next is dropped without a word.
	if _, why, ok := a.admit("x"); ok || why != "" {
		t.Errorf("refusal past the bound: ok %v, why %q", ok, why)
	}
}

func TestOneScreenPerConnection(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	st, err := sshtest.Open(c, sshtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.WaitText(5*time.Second, "student"); err != nil {
		t.Fatal(err)
	}
	_, err = c.NewSession()
	var oce *gossh.OpenChannelError
	if !errors.As(err, &oce) || oce.Reason != gossh.Prohibited || !strings.Contains(oce.Message, "one mailwire screen per SSH connection") {
		t.Errorf("second session on the connection: %v", err)
	}
}

func TestKeysWindowAndEnv(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "a"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sshtest.Open(c, sshtest.Options{Width: 100, Height: 30, Env: map[string]string{"COLORFGBG": "0;15", "LD_PRELOAD": "/tmp/x.so"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.WaitText(5*time.Second, "window 100x30"); err != nil {
		t.Fatal(err)
	}
	screen := st.Screen()
	if !strings.Contains(screen, `COLORFGBG="0;15"`) || !strings.Contains(screen, `LD_PRELOAD=""`) {
		t.Errorf("environment: want COLORFGBG kept and LD_PRELOAD refused:\n%s", screen)
	}
	if err := st.Type("abc"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WaitText(5*time.Second, "keys [abc]"); err != nil {
		t.Fatal(err)
	}
	if err := st.Resize(120, 40); err != nil {
		t.Fatal(err)
	}
	if _, err := st.WaitText(5*time.Second, "window 120x40"); err != nil {
		t.Fatal(err)
	}
	if err := st.Type("q"); err != nil {
		t.Fatal(err)
	}
	if err := st.Wait(5 * time.Second); err != nil {
		t.Errorf("quit: exit %v, want status 0", err)
	}
}

func TestIdleTimeout(t *testing.T) {
	const idle = 1500 * time.Millisecond // the busy student types every 200 ms: room for a loaded CI machine
	ts := startServer(t, Access{}, Limits{IdleTimeout: idle})
	busy := login(t, ts, "busy", nil)
	quiet := login(t, ts, "quiet", nil)
	// The busy student types every 200 ms for two idle periods.
	stop := time.After(2 * idle)
typing:
	for {
		select {
		case <-stop:
			break typing
		case <-time.After(200 * time.Millisecond):
			if err := busy.Type("x"); err != nil {
				t.Fatalf("busy student cut off: %v", err)
			}
		}
	}
	err := quiet.Wait(5 * time.Second)
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 {
		t.Errorf("quiet student: exit %v, want status 1", err)
	}
	if !strings.Contains(quiet.Stderr(), "disconnected after 1.5s without a key") {
		t.Errorf("quiet student was not told why: %q", quiet.Stderr())
	}
	if _, err := busy.WaitText(time.Second, "keys [xxx"); err != nil {
		t.Errorf("busy student: %v", err)
	}
}

func TestNothingButTheScreen(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	// A connection per check: one screen per connection, and a session's
	// place is given back only once the server has seen it close.
	dial := func() *gossh.Client {
		c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "a"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	// exec (RFC 4254 §6.5): told, status 1, nothing run.
	sess, err := dial().NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.CombinedOutput("cat /etc/passwd")
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 || !strings.Contains(string(out), "nothing else") || strings.Contains(string(out), "root:") {
		t.Errorf("exec: err %v, output %q", err, out)
	}

	// SFTP and other subsystems (§6.5), agent forwarding, X11 (§6.3.1).
	sess, err = dial().NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
	for _, req := range []string{"auth-agent-req@openssh.com", "x11-req"} {
		if ok, err := sess.SendRequest(req, true, nil); ok || err != nil {
			t.Errorf("%s: ok %v, err %v", req, ok, err)
		}
	}
	sess.Close()

	// Port forwarding both ways (§7).
	c := dial()
	if _, err := c.Dial("tcp", ts.addr); err == nil {
		t.Error("direct-tcpip (ssh -L, -W) accepted")
	}
	if ln, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		t.Error("tcpip-forward (ssh -R) accepted")
	}
}

func TestNoPty(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	sess.Stderr = &stderr
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 1 || !strings.Contains(stderr.String(), "needs a terminal") {
		t.Errorf("shell without a pty: err %v, stderr %q", err, stderr.String())
	}
}

func TestShutdownTellsStudents(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	st := login(t, ts, "a", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	_ = st.Wait(5 * time.Second)
	if !strings.Contains(st.Stderr(), "the class server is shutting down") {
		t.Errorf("student not told: %q", st.Stderr())
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Error("still listening after Shutdown")
	}
}

func TestHostKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, HostKeyFile)
	s1, created, err := LoadOrCreateHostKey(path)
	if err != nil || !created {
		t.Fatalf("create: created %v, err %v", created, err)
	}
	for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v (err %v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	s2, created, err := LoadOrCreateHostKey(path)
	if err != nil || created {
		t.Fatalf("load: created %v, err %v", created, err)
	}
	if string(s1.PublicKey().Marshal()) != string(s2.PublicKey().Marshal()) {
		t.Error("the key read back is not the key written")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateHostKey(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a key others can read: err %v", err)
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[net.Addr]string{
		&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 5}: "192.0.2.1",
		&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 5}:      "2001:db8::1",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%v) = %q, want %q", in, got, want)
		}
	}
}

// What a client chooses reaches the operator's log quoted when it is not
// a plain word: no escape sequence from a student on the operator's
// terminal.
func TestLogIsSafe(t *testing.T) {
	ts := startServer(t, Access{}, Limits{})
	c, err := sshtest.Dial(ts.addr, &gossh.ClientConfig{User: "eve\x1b]0;owned\x07"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := sshtest.Open(c, sshtest.Options{Term: "xterm\x1b[2J"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.WaitText(5*time.Second, "student"); err != nil {
		t.Fatal(err)
	}
	log := ts.logText()
	if strings.ContainsAny(log, "\x1b\x07") {
		t.Errorf("a control character reached the log: %q", log)
	}
	for _, want := range []string{`user "eve\x1b]0;owned\a"`, `"xterm\x1b[2J"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s: %q", want, log)
		}
	}
	for in, want := range map[string]string{"xterm-256color": "xterm-256color", "": `""`, "a b": `"a b"`, "tmux\u00e9": `"tmuxé"`} {
		if got := logWord(in); got != want {
			t.Errorf("logWord(%q) = %s, want %s", in, got, want)
		}
	}
}
