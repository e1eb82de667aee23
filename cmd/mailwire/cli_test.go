package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailwire/mailwire/sessions"
)

// A binary built in the git checkout names its commit.
func TestVersionOfBuiltBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("no git")
	}
	head, err := exec.Command(git, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "mailwire")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(info), "vcs.revision=") {
		t.Skip("the go command recorded no commit here (a git worktree, say)")
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "commit " + strings.TrimSpace(string(head))[:12]
	if !strings.Contains(string(out), want) || strings.Contains(string(out), "unknown") {
		t.Errorf("--version printed %q, want %q in it", out, want)
	}
}

// fang capitalised the first word of an error ("--Tls-Min", "--Format")
// and of each flag's usage ("Tls mode", "Sasl mechanism", "Load-Test"):
// errors keep their words (errorHandler), and every usage starts with a
// word that its capitalising leaves as it is.
func TestFangKeepsNames(t *testing.T) {
	closed := closedPort(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"session", "--target", closed, "--tls-min", "1.9"}, `--tls-min "1.9"`},
		{[]string{"session", "--target", closed, "--format", "xml"}, `--format "xml"`},
		{[]string{"session", "--target", closed, "--stop-after", "data"}, `--stop-after "data"`},
		{[]string{"lab", "--port-offset", "-5"}, "--port-offset -5"},
	} {
		_, _, errOut := runMailwire(t, tc.args...)
		if !strings.Contains(strings.Join(strings.Fields(errOut), " "), tc.want) {
			t.Errorf("%v: stderr does not say %q unmangled:\n%s", tc.args, tc.want, errOut)
		}
	}

	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		_, out, errOut := runMailwire(t, append(strings.Fields(c.CommandPath())[1:], "--help")...)
		help := strings.Join(strings.Fields(out), " ")
		check := func(what, usage string) {
			line, _, _ := strings.Cut(usage, "\n")
			line = strings.Join(strings.Fields(line), " ")
			if line == "" {
				return
			}
			want := strings.ToUpper(line[:1]) + line[1:]
			if !strings.Contains(help, want) {
				t.Errorf("%s --help: %s shows mangled; want %q in:\n%s%s", c.CommandPath(), what, want, out, errOut)
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				check("--"+f.Name, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			if !sub.Hidden {
				check(sub.Name(), sub.Short)
			}
		}
		for _, sub := range c.Commands() {
			if !sub.Hidden && sub.Name() != "help" {
				walk(sub)
			}
		}
	}
	walk(newRootCmd())
}

// Values that cannot work are usage errors (exit status 2) that say why,
// before anything listens or is dialed.
func TestCLIValidation(t *testing.T) {
	t.Setenv(envPassword, "")
	closed := closedPort(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		// lab --port-offset -5 listened on 20, 582, … (as root).
		{[]string{"lab", "--port-offset", "-5"}, "--port-offset -5: want 0"},
		{[]string{"lab", "--port-offset", "70000"}, "at most 64540"},
		{[]string{"--port-offset", "-5"}, "--port-offset -5"},
		{[]string{"session", "--timeout", "-5s"}, "--timeout -5s: want a positive duration"},
		{[]string{"session", "--scenario", "too-early", "--timeout", "-1s"}, "--timeout -1s"},
		{[]string{"connect", closed, "--timeout", "-1s"}, "--timeout -1s"},
		{[]string{"bench", "--timeout", "-1s"}, "--timeout -1s"},
		// --target '' ran against the lab, --target :25 dialed this machine.
		{[]string{"session", "--target", ""}, `--target "": want HOST or HOST:PORT (leave --target out`},
		{[]string{"session", "--target", ":25"}, `--target ":25": no host`},
		{[]string{"session", "--scenario", "too-early", "--target", ""}, `--target ""`},
		{[]string{"session", "--scenario", "too-early", "--target", "[]:587"}, "no host"},
		// compare said "port 993 not supported (want )".
		{[]string{"session", "--scenario", "compare", "--port", "993"}, "scenario compare picks its own ports, so it takes none (port 993 was asked)"},
		{[]string{"session", "--scenario", "too-early", "--tls-max", "1.1"}, "a scenario runs TLS 1.2 or 1.3"},
		{[]string{"session", "--scenario", "list", "--port", "2525"}, "no scenario runs on it"},
		// The terminal interface without a terminal points at session.
		{nil, "the terminal interface needs a terminal; without one, run `mailwire session`"},
		{[]string{"588"}, "port 588: not a mail port"},
		{[]string{"nonsense"}, `unknown command "nonsense"`},
		{[]string{"lbb"}, "Did you mean this? lab"},
		{[]string{"--scenario", "nope"}, "no such scenario"},
		{[]string{"--variant", "remove"}, "--variant: only with --scenario"},
		{[]string{"--scenario", "strip-opportunistic", "--variant", "preauth", "587"}, `variant "preauth" not supported`},
		{[]string{"--listen", "192.0.2.1"}, "keeps its lab on loopback"},
		{[]string{"--theme", "pink"}, `--theme: unknown theme "pink"`},
		{[]string{"587", "143"}, "at most one PORT"},
		{[]string{"connect"}, "usage: mailwire connect"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runMailwire(t, tc.args...)
			if code != exitUsage {
				t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", code, exitUsage, out, errOut)
			}
			if got := strings.Join(strings.Fields(errOut), " "); !strings.Contains(got, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, errOut)
			}
			if strings.Contains(out+errOut, "connected to") || strings.Contains(out+errOut, "CA certificate:") {
				t.Errorf("a usage error went on:\n%s%s", out, errOut)
			}
		})
	}
}

// --tls-max 1.1 alone offers TLS 1.1 and 1.0 (crypto/tls's floor is 1.2,
// which left no version at all); the lab refuses them as RFC 8996 asks,
// and the server's cleartext reply after its alert is quoted once, without
// the direction's internal name: `\\r\\n` and "s2c" were in the error line.
func TestTLSMaxBelow12(t *testing.T) {
	state := t.TempDir()
	code, out, errOut := runMailwire(t, "session", "--tls-max", "1.1", "--format", "json", "--state-dir", state)
	if code != exitFailed {
		t.Fatalf("exit status %d, want %d (the lab refuses TLS 1.1)\n%s", code, exitFailed, errOut)
	}
	evs := decodeEvents(t, out)
	var hello, alert bool
	for _, ev := range evs {
		hello = hello || strings.Contains(ev.Text, "ClientHello") && strings.Contains(ev.Text, "offers TLS 1.1, TLS 1.0")
		alert = alert || ev.Annotation == "tls.alert.protocol_version"
	}
	if !hello || !alert {
		t.Errorf("no ClientHello offering TLS 1.1 and 1.0 (%v) or no protocol_version alert (%v)", hello, alert)
	}
	code, out, errOut = runMailwire(t, "session", "--tls-max", "1.1", "--state-dir", state, "--width", "400")
	if code != exitFailed {
		t.Fatalf("text: exit status %d\n%s", code, errOut)
	}
	for name, s := range map[string]string{"stdout": out, "stderr": strings.Join(strings.Fields(errOut), " ")} {
		if !strings.Contains(s, `outside TLS ("550 5.0.0 Handshake error\r\n")`) {
			t.Errorf("%s does not quote the server's reply once:\n%s", name, s)
		}
		if strings.Contains(s, `\\r`) || strings.Contains(s, "s2c ") {
			t.Errorf("%s escapes twice or names the direction s2c:\n%s", name, s)
		}
	}
}

// A headless session's lab takes free ports, never the usual ones
// (canonical + 10000), which belong to a `mailwire lab` or a terminal
// interface started at the same moment.
func TestSessionTakesFreePorts(t *testing.T) {
	for _, args := range [][]string{
		{"session", "--port", "587", "--format", "json", "--stop-after", "connect"},
		{"session", "--scenario", "too-early", "--format", "json"},
	} {
		code, out, errOut := runMailwire(t, append(args, "--state-dir", t.TempDir())...)
		if code == exitUsage || code == exitFailed {
			t.Fatalf("%v: exit status %d\n%s", args, code, errOut)
		}
		n := 0
		for _, ev := range decodeEvents(t, out) {
			if ev.Kind != "connect" {
				continue
			}
			n++
			for _, p := range []string{":10025 ", ":10587 ", ":10465 ", ":10110 ", ":10995 ", ":10143 ", ":10993 ", ":10443 "} {
				if strings.Contains(ev.Text+" ", p) {
					t.Errorf("%v: the session's lab took a usual lab port: %s", args, ev.Text)
				}
			}
		}
		if n == 0 {
			t.Errorf("%v: no connection", args)
		}
	}
}

// --scenario list honours --format and --port.
func TestScenarioListFormats(t *testing.T) {
	code, out, errOut := runMailwire(t, "session", "--scenario", "list", "--format", "json", "--port", "143")
	if code != exitOK {
		t.Fatalf("exit status %d: %s", code, errOut)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var l scenarioListing
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("not JSON Lines: %v\n%s", err, out)
		}
		if !slices.Contains(l.Ports, 143) {
			t.Errorf("%s does not run on 143: %v", l.Name, l.Ports)
		}
		if l.Name == "strip-opportunistic" && !slices.Contains(l.Variants, "preauth") {
			t.Errorf("strip-opportunistic on 143 lacks preauth: %v", l.Variants)
		}
		names = append(names, l.Name)
	}
	if !slices.Contains(names, "too-early") || slices.Contains(names, "compare") {
		t.Errorf("scenarios on 143: %v", names)
	}
	_, out, _ = runMailwire(t, "session", "--scenario", "list", "--format", "json", "--port", "587")
	if strings.Contains(out, `"preauth"`) {
		t.Errorf("preauth (IMAP only) listed for 587:\n%s", out)
	}
	_, out, _ = runMailwire(t, "session", "--scenario", "list", "--format", "markdown")
	if !strings.HasPrefix(out, "# mailwire scenarios\n") || !strings.Contains(out, "| `compare` |") {
		t.Errorf("markdown list:\n%s", out)
	}
	_, out, _ = runMailwire(t, "session", "--scenario", "list")
	if !strings.Contains(out, "SCENARIO") || !strings.Contains(out, "chosen by the scenario") {
		t.Errorf("text list:\n%s", out)
	}
}

// Flag values complete, with descriptions (cobra's __complete, which the
// shell scripts of `mailwire completion` call).
func TestCompletions(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		want, not []string
	}{
		{[]string{"session", "--scenario", ""}, []string{"list\t", "too-early\tCredentials sent too early", "compare\t"}, nil},
		{[]string{"session", "--scenario", "strip-opportunistic", "--port", "143", "--variant", ""}, []string{"remove\t", "preauth\t"}, nil},
		{[]string{"session", "--scenario", "strip-opportunistic", "--port", "587", "--variant", ""}, []string{"remove\t", "refuse-ehlo\t"}, []string{"preauth"}},
		{[]string{"--scenario", "strip-opportunistic", "143", "--variant", ""}, []string{"preauth\t"}, nil},
		{[]string{"session", "--port", ""}, []string{"587\tSMTP starttls, submission", "993\tIMAP implicit"}, nil},
		{[]string{"session", "--proto", ""}, []string{"smtp", "pop3", "imap", "https"}, nil},
		{[]string{"session", "--tls", ""}, []string{"none\t", "starttls\t", "implicit\t"}, nil},
		{[]string{"session", "--lens", ""}, []string{"endpoint\t", "eavesdropper\t"}, nil},
		{[]string{"session", "--notes", ""}, []string{"full\t", "short\t", "off\t"}, nil},
		{[]string{"connect", "--notes", ""}, []string{"off\t"}, nil},
		{[]string{"session", "--format", ""}, []string{"text\t", "json\t", "markdown\t", "html\t"}, nil},
		{[]string{"replay", "--format", ""}, []string{"text\t", "json\t", "markdown\t", "html\t"}, nil},
		{[]string{"replay", ""}, []string{"port-587\t", "scenario-too-early\t", ":0"}, nil}, // and files (directive 0)
		{[]string{"connect", "--format", ""}, []string{"text\t", "markdown\t", "html\t"}, nil},
		{[]string{"scan", "--format", ""}, []string{"text\t", "markdown\t"}, []string{"html"}},
		{[]string{"session", "--stop-after", ""}, []string{"connect\t", "tls\t", "auth\t"}, nil},
		{[]string{"connect", "--stop-after", ""}, []string{"auth\t"}, nil},
		{[]string{"bench", "--format", ""}, []string{"text\t", "json\t"}, []string{"markdown"}},
		{[]string{"lab", "--hostile", ""}, []string{"list\t", "smtp-greeting-osc52\t"}, nil},
		{[]string{""}, []string{"session\t", "587\t"}, nil},
		{[]string{"--theme", ""}, []string{"dark", "light", "high-contrast"}, nil},
	} {
		code, out, errOut := runMailwire(t, append([]string{"__complete"}, tc.args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit status %d: %s", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("__complete %v lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(out, n) {
				t.Errorf("__complete %v offers %q:\n%s", tc.args, n, out)
			}
		}
	}
}

// mailwire man is listed, and its page has the sections a man page is
// read for.
func TestManPageSections(t *testing.T) {
	_, help, _ := runMailwire(t, "--help")
	if !strings.Contains(help, "man ") {
		t.Errorf("--help does not list man:\n%s", help)
	}
	code, out, errOut := runMailwire(t, "man")
	if code != exitOK {
		t.Fatalf("exit status %d: %s", code, errOut)
	}
	page := strings.ReplaceAll(strings.ReplaceAll(out, `\&`, ""), `\-`, "-")
	for _, want := range []string{
		".SH EXIT STATUS", ".SH ENVIRONMENT", ".SH FILES", ".SH EXAMPLES",
		"MAILWIRE_PASSWORD", "NO_COLOR", "COLORFGBG", "SSLKEYLOGFILE", "XDG_STATE_HOME", "MAILWIRE_PEERS",
		"XDG_DATA_HOME", "XDG_CONFIG_HOME", "mailwire/config.toml", "mailwire/recordings", "mailwire/exports",
		"mailwire/lab/ca.pem", "mailwire/recent.json", "mailwire session --port 587",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("man page lacks %q", want)
		}
	}
	if strings.Contains(page, "lab-state-dir") {
		t.Error("the man page shows the hidden --lab-state-dir")
	}
}

// One name for the lab's state directory: --state-dir on every command
// that starts a lab; --lab-state-dir still works where it was, hidden, with
// a word on stderr only (stdout stays JSON).
func TestStateDirFlag(t *testing.T) {
	root := newRootCmd()
	for _, path := range [][]string{nil, {"lab"}, {"session"}, {"bench"}} {
		c, _, err := root.Find(path)
		if err != nil {
			t.Fatal(err)
		}
		f := c.Flags().Lookup("state-dir")
		if f == nil || f.Usage != stateDirUsage {
			t.Errorf("%s: no --state-dir, or another meaning: %+v", c.CommandPath(), f)
		}
		if old := c.Flags().Lookup("lab-state-dir"); old != nil && !old.Hidden {
			t.Errorf("%s: --lab-state-dir is not hidden", c.CommandPath())
		}
	}
	dir := t.TempDir()
	code, out, errOut := runMailwire(t, "session", "--lab-state-dir", dir, "--format", "json", "--stop-after", "connect")
	if code != exitOK {
		t.Fatalf("exit status %d: %s", code, errOut)
	}
	decodeEvents(t, out)
	if _, err := os.Stat(filepath.Join(dir, "ca.pem")); err != nil {
		t.Errorf("--lab-state-dir was not used: %v", err)
	}
	if !strings.Contains(errOut, "--lab-state-dir is now --state-dir") {
		t.Errorf("no word on stderr about the old name:\n%s", errOut)
	}
}

// A Markdown handout has one title, which names the port, the TLS mode
// and the target; a text transcript written to a file starts with what
// ran, when and through which lens.
func TestHandoutTitles(t *testing.T) {
	state := t.TempDir()
	h1 := func(md string) []string {
		var out []string
		for _, l := range strings.Split(md, "\n") {
			if strings.HasPrefix(l, "# ") {
				out = append(out, l)
			}
		}
		return out
	}
	_, out, errOut := runMailwire(t, "session", "--port", "465", "--format", "markdown", "--state-dir", state)
	if hs := h1(out); len(hs) != 1 || !strings.HasPrefix(hs[0], "# mailwire session: SMTP on port 465, implicit TLS, against the embedded lab (127.0.0.1:") {
		t.Errorf("session handout headings: %q\n%s", hs, errOut)
	}
	// The scenario's handout had its prose title and "# mailwire
	// sessions: 2 connections".
	_, out, errOut = runMailwire(t, "session", "--scenario", "too-early", "--port", "143", "--format", "markdown", "--state-dir", state)
	if hs := h1(out); len(hs) != 1 || hs[0] != "# Credentials sent too early: port 143 (IMAP, STARTTLS), against the embedded lab" {
		t.Errorf("scenario handout headings: %q\n%s", hs, errOut)
	}
	if !strings.Contains(out, "This scenario plays a careless client") {
		t.Error("the scenario's introduction is not under its title")
	}

	_, out, _ = runMailwire(t, "session", "--port", "110", "--state-dir", state, "--stop-after", "connect")
	lines := strings.SplitN(out, "\n", 3)
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "mailwire session: POP3 on port 110, STARTTLS, against the embedded lab") ||
		!strings.HasPrefix(lines[1], "recorded ") || !strings.Contains(lines[1], "by mailwire ") || !strings.Contains(lines[1], "endpoint lens") {
		t.Errorf("text transcript header:\n%s", strings.Join(lines[:min(2, len(lines))], "\n"))
	}
	_, out, _ = runMailwire(t, "session", "--port", "110", "--state-dir", state, "--stop-after", "connect", "--format", "json")
	if !strings.HasPrefix(out, "{") {
		t.Errorf("JSON Lines got a header:\n%.200s", out)
	}

	for _, tc := range []struct {
		o    sessions.Options
		port int
		want string
	}{
		{sessions.Options{Proto: "imap", TLSMode: sessions.TLSImplicit, Target: "imap.example.org:1993", ServerName: "mail.example.org"}, 993,
			"IMAP as on port 993, implicit TLS, against imap.example.org:1993 (SNI mail.example.org)"},
		// No --sni: the target's host is the name asked for.
		{sessions.Options{Proto: "smtp", TLSMode: sessions.TLSStartTLS, Target: "mx.example.org:587"}, 587,
			"SMTP on port 587, STARTTLS, against mx.example.org:587 (SNI mx.example.org)"},
		// crypto/tls sends no SNI for an IP address (RFC 6066 §3): the
		// title said "SNI 127.0.0.2" of a ClientHello without one.
		{sessions.Options{Proto: "smtp", TLSMode: sessions.TLSStartTLS, Target: "127.0.0.2:587"}, 587,
			"SMTP on port 587, STARTTLS, against 127.0.0.2:587 (no SNI: an IP address is not sent, RFC 6066 §3)"},
		{sessions.Options{Proto: "smtp", TLSMode: sessions.TLSStartTLS, Target: "[::1]:587", ServerName: "mail.example.org."}, 587,
			"SMTP on port 587, STARTTLS, against [::1]:587 (SNI mail.example.org)"},
		// No TLS, no ClientHello, no name sent.
		{sessions.Options{Proto: "smtp", TLSMode: sessions.TLSNone, Target: "mx.example.org:25"}, 25,
			"SMTP on port 25, no TLS, against mx.example.org:25"},
	} {
		if got := runTitle(sessionHeader(tc.o, tc.port, false, time.Time{})); got != tc.want {
			t.Errorf("runTitle = %q, want %q", got, tc.want)
		}
	}
}

// The terminal interface's argument and flags: a port or a scenario to
// open on, checked before anything starts, and the lab's address, port
// offset and state directory.
func TestTUIFlags(t *testing.T) {
	for _, tc := range []struct {
		f    tuiFlags
		args []string
		want string // the request, or the error
	}{
		{tuiFlags{}, nil, "<nil>"},
		{tuiFlags{}, []string{"465"}, "465  "},
		{tuiFlags{scenario: "too-early"}, nil, "587 too-early "},
		{tuiFlags{scenario: "strip-opportunistic", variant: "preauth"}, []string{"143"}, "143 strip-opportunistic preauth"},
		{tuiFlags{scenario: "compare"}, nil, "0 compare "},
		{tuiFlags{scenario: "compare"}, []string{"993"}, "error: scenario compare picks its own ports"},
		{tuiFlags{variant: "remove"}, nil, "error: --variant: only with --scenario"},
	} {
		req, err := tuiOpen(tc.f, tc.args)
		got := "<nil>"
		switch {
		case err != nil:
			got = "error: " + err.Error()
		case req != nil:
			got = fmt.Sprintf("%d %s %s", req.Port, req.Scenario, req.Variant)
		}
		if !strings.HasPrefix(got, tc.want) {
			t.Errorf("%+v %v: %s, want %s", tc.f, tc.args, got, tc.want)
		}
	}

	// The lab the interface starts listens where the flags say.
	dir := t.TempDir()
	k := &labKeeper{listen: "127.0.0.1", offset: 0, stateDir: dir}
	k.offset = 20000 + os.Getpid()%20000
	info, err := k.start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	if info.CAPath != filepath.Join(dir, "ca.pem") || info.ListenHost != "127.0.0.1" {
		t.Errorf("lab info %+v, want its CA in %s", info, dir)
	}
	usual := 0
	for port, addr := range info.Endpoints {
		if strings.HasSuffix(addr, ":"+strconv.Itoa(port+k.offset)) {
			usual++
		}
	}
	if usual == 0 {
		t.Errorf("no endpoint on canonical port + %d: %v", k.offset, info.Endpoints)
	}
}
