package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/internal/config"
	"github.com/mailwire/mailwire/sessions/lab"
)

// writeConfig writes doc as the configuration file of this test
// ($XDG_CONFIG_HOME in a temporary directory) and returns its path.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	p := filepath.Join(dir, "mailwire", "config.toml")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The printed configuration: each value, and where it came from.
func TestConfigCommand(t *testing.T) {
	p := writeConfig(t, "theme = 'light'\n\n[lab]\nport_offset = 20000\n[budget]\nevents = 500\n")
	code, out, errOut := runMailwire(t, "config", "--max-events", "9")
	if code != exitOK {
		t.Fatalf("exit status %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Configuration file: " + p + " (found)",
		"theme                  light ",
		"lab.port_offset        20000 ",
		"lab.listen             127.0.0.1 ",
		"budget.events          9 ",
		"budget.untagged        50 ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for key, from := range map[string]string{"theme": "file, line 1", "lab.port_offset": "file, line 4",
		"lab.listen": "default", "budget.events": "flag --max-events", "verify.insecure": "default"} {
		if !hasRow(out, key, from) {
			t.Errorf("%s is not from %q:\n%s", key, from, out)
		}
	}

	code, out, _ = runMailwire(t, "config", "path")
	if code != exitOK || out != p+"\n" {
		t.Errorf("config path: %d %q, want %q", code, out, p)
	}

	// --format toml is a file to save: it reads back to the same values.
	code, out, errOut = runMailwire(t, "config", "--format", "toml", "--port-offset", "30000")
	if code != exitOK {
		t.Fatalf("--format toml: %d %s", code, errOut)
	}
	back, err := config.Parse("printed", []byte(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if c := back.Config; c.Theme != "light" || c.Lab.PortOffset != 30000 || c.Budget.Events != 500 || back.Has("lab.listen") {
		t.Errorf("--format toml read back as %+v\n%s", c, out)
	}

	code, out, _ = runMailwire(t, "config", "--format", "json")
	var rep struct {
		Path     string
		Found    bool
		Settings []struct {
			Key   string
			Value any
			From  config.Source
		}
		Environment []struct {
			Name  string
			Set   bool
			Value string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); code != exitOK || err != nil {
		t.Fatalf("--format json: %d %v\n%s", code, err, out)
	}
	if rep.Path != p || !rep.Found || rep.Settings[2].Key != "lab.port_offset" || rep.Settings[2].From != (config.Source{Origin: config.FromFile, Line: 4}) {
		t.Errorf("json: %+v", rep)
	}
}

// flat undoes fang's wrapping of an error to the terminal's width.
func flat(s string) string { return strings.Join(strings.Fields(s), " ") }

// hasRow says whether the text output has a row for key ending in from.
func hasRow(out, key, from string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, key+" ") && strings.HasSuffix(strings.TrimSpace(l), from) {
			return true
		}
	}
	return false
}

// The password is never shown, not even by mailwire config.
func TestConfigHidesPassword(t *testing.T) {
	writeConfig(t, "")
	t.Setenv(envPassword, "correct-horse")
	for _, format := range []string{"text", "json", "toml"} {
		_, out, _ := runMailwire(t, "config", "--format", format)
		if strings.Contains(out, "correct-horse") {
			t.Errorf("--format %s shows the password:\n%s", format, out)
		}
	}
	_, out, _ := runMailwire(t, "config")
	if !regexp.MustCompile(envPassword + ` +set \(not shown\)`).MatchString(out) {
		t.Errorf("the password's variable is not said to be set:\n%s", out)
	}
}

// A file that cannot be used stops every command that reads it, with the
// key and the line; help, man and config path still work.
func TestConfigBrokenFile(t *testing.T) {
	p := writeConfig(t, "[lab]\nport_ofset = 20000\n")
	want := "config " + p + ": line 2: unknown key \"lab.port_ofset\" (did you mean lab.port_offset?)"
	for _, args := range [][]string{{"config"}, {"session", "--port", "587"}, {"lab", "--hostile", "list"}, {"connect", "x"}} {
		code, _, errOut := runMailwire(t, args...)
		if code != exitUsage || !strings.Contains(flat(errOut), want) {
			t.Errorf("%v: exit status %d, want %d with %q\n%s", args, code, exitUsage, want, errOut)
		}
	}
	for _, args := range [][]string{{"config", "path"}, {"man"}, {"--help"}, {"session", "--help"}} {
		if code, _, errOut := runMailwire(t, args...); code != exitOK {
			t.Errorf("%v with a broken file: exit status %d\n%s", args, code, errOut)
		}
	}
}

// The file's values get the checks the flags get, named by key and line.
func TestConfigBadValues(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"theme = 'purple'\n", "line 1: theme = purple: unknown theme"},
		{"[lab]\nlisten = '0.0.0.0'\n", "line 2: lab.listen = 0.0.0.0: not a loopback address"},
		{"[lab]\nport_offset = 70000\n", "line 2: lab.port_offset = 70000: want at most"},
		{"[budget]\n\nevents = -5\n", "line 3: budget.events = -5: want a positive limit, or -1 for none"},
		{"[verify]\nca_file = 'ca.pem'\n", "line 2: verify.ca_file: \"ca.pem\": want an absolute path"},
		{"[client]\npassword = 'x'\n", "client.password: a password never goes in the configuration file"},
	} {
		writeConfig(t, c.doc)
		code, _, errOut := runMailwire(t, "config")
		if code != exitUsage || !strings.Contains(flat(errOut), c.want) {
			t.Errorf("%q: exit status %d, want %d with %q\n%s", c.doc, code, exitUsage, c.want, errOut)
		}
	}
}

// applied parses args for the command at path under a fresh root, applies
// the file as applyConfig does, and returns the command.
func applied(t *testing.T, path []string, args ...string) *cobra.Command {
	t.Helper()
	root := newRootCmd()
	cmd, _, err := root.Find(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	cmd.SetContext(context.Background())
	cmd.SetErr(&strings.Builder{})
	if err := applyConfig(cmd, nil); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func flagValue(t *testing.T, cmd *cobra.Command, name string) string {
	t.Helper()
	f := cmd.Flags().Lookup(name)
	if f == nil {
		t.Fatalf("%s has no --%s", cmd.CommandPath(), name)
	}
	return f.Value.String()
}

// Precedence on the commands: the default, then the file, then the flag;
// a flag the file set is not Changed (the commands' own checks of what
// was typed are unaffected).
func TestConfigPrecedence(t *testing.T) {
	writeConfig(t, "theme = 'light'\n[lab]\nport_offset = 20000\nstate_dir = '/srv/lab'\n[budget]\nevents = 500\nline_width = -1\n[client]\nehlo = 'laptop.example.org'\n")
	root := applied(t, nil)
	if flagValue(t, root, "theme") != "light" || flagValue(t, root, "port-offset") != "20000" || flagValue(t, root, "max-events") != "500" {
		t.Errorf("the TUI's flags: theme %s, offset %s, events %s", flagValue(t, root, "theme"), flagValue(t, root, "port-offset"), flagValue(t, root, "max-events"))
	}
	if root.Flags().Changed("port-offset") {
		t.Error("a value from the file made --port-offset Changed")
	}
	lab := applied(t, []string{"lab"}, "--port-offset", "30000")
	if flagValue(t, lab, "port-offset") != "30000" || flagValue(t, lab, "state-dir") != "/srv/lab" {
		t.Errorf("lab: the flag does not win over the file: %s, %s", flagValue(t, lab, "port-offset"), flagValue(t, lab, "state-dir"))
	}
	s := applied(t, []string{"session"}, "--max-line", "80")
	if flagValue(t, s, "max-line") != "80" || flagValue(t, s, "max-events") != "500" || flagValue(t, s, "ehlo") != "laptop.example.org" {
		t.Errorf("session: max-line %s, max-events %s, ehlo %s", flagValue(t, s, "max-line"), flagValue(t, s, "max-events"), flagValue(t, s, "ehlo"))
	}
	// The former name of --state-dir is still a flag given.
	s = applied(t, []string{"session"}, "--lab-state-dir", "/tmp/old")
	if flagValue(t, s, "state-dir") != "/tmp/old" {
		t.Errorf("--lab-state-dir lost to the file: %s", flagValue(t, s, "state-dir"))
	}
	// Without a file, every flag keeps mailwire's default.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if v := flagValue(t, applied(t, []string{"lab"}), "port-offset"); v != "10000" {
		t.Errorf("no file: --port-offset %s", v)
	}
}

// The verification policy is for real servers: session with --target
// (not a scenario's insecure) and connect; never the lab's sessions,
// and not scan's or bench's flags of the same names.
func TestConfigVerifyOnlyForTargets(t *testing.T) {
	writeConfig(t, "[verify]\ninsecure = true\n")
	for _, c := range []struct {
		path []string
		args []string
		want string
	}{
		{[]string{"session"}, nil, "false"},
		{[]string{"session"}, []string{"--target", "mail.example.org"}, "true"},
		{[]string{"session"}, []string{"--target", "mail.example.org", "--scenario", "too-early"}, "false"},
		{[]string{"session"}, []string{"--target", "mail.example.org", "--ca-file", "/ca.pem"}, "false"},
		{[]string{"connect"}, nil, "true"},
		{[]string{"scan"}, nil, "false"},
	} {
		if got := flagValue(t, applied(t, c.path, c.args...), "insecure"); got != c.want {
			t.Errorf("%v %v: --insecure %s, want %s", c.path, c.args, got, c.want)
		}
	}
	writeConfig(t, "[verify]\nca_file = '/class/ca.pem'\n")
	if got := flagValue(t, applied(t, []string{"session"}, "--target", "x.example"), "ca-file"); got != "/class/ca.pem" {
		t.Errorf("session --target: --ca-file %q", got)
	}
	if got := flagValue(t, applied(t, []string{"session"}, "--target", "x.example", "--insecure"), "ca-file"); got != "" {
		t.Errorf("--insecure kept the file's ca_file: %q", got)
	}
	if got := flagValue(t, applied(t, []string{"bench"}), "ca-file"); got != "" {
		t.Errorf("bench: --ca-file %q", got)
	}
}

// A lab session stays on the lab whatever the file says: no default
// target, no CA file of real servers (the lab's own CA checks it).
func TestConfigLabSessionStaysOnLab(t *testing.T) {
	writeConfig(t, "[client]\ndefault_target = '192.0.2.1:587'\n[verify]\nca_file = '/nonexistent/ca.pem'\n")
	code, out, errOut := runMailwire(t, "session", "--port", "587", "--state-dir", t.TempDir(), "--stop-after", "tls", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit status %d\n%s\n%s", code, errOut, out)
	}
	if strings.Contains(out+errOut, "192.0.2.1") || strings.Contains(errOut, "certificate check from") {
		t.Errorf("the lab session used the file's target or CA:\n%s\n%s", errOut, out)
	}
}

// mailwire connect without TARGET goes to client.default_target, and says
// so; without one it is the usage error it was.
func TestConfigDefaultTarget(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)
	p := writeConfig(t, "[client]\n# the lab, as a target\ndefault_target = '"+ep.Addr+"'\n[verify]\nca_file = '"+l.CAPath()+"'\n")
	code, out, errOut := runMailwireIn(t, "EHLO me.test\r\nSTARTTLS\r\nQUIT\r\n", "connect", "--sni", lab.Hostname, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit status %d\n%s\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"mailwire connect: TARGET " + ep.Addr + " from " + p + " line 3 (client.default_target)",
		"mailwire: certificate check from " + p + " line 5: verify.ca_file = " + l.CAPath(),
		"(SNI " + lab.Hostname + ", certificate: CA file)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if got := typedLines(decodeEvents(t, out)); len(got) != 3 {
		t.Errorf("sent %q", got)
	}

	writeConfig(t, "")
	code, _, errOut = runMailwire(t, "connect")
	if code != exitUsage || !strings.Contains(flat(errOut), "accepts 1 arg(s), received 0") || !strings.Contains(flat(errOut), "usage: mailwire connect TARGET") {
		t.Errorf("connect without TARGET or default: %d\n%s", code, errOut)
	}
}

// A file every user may write is used, with a warning on stderr.
func TestConfigWorldWritableWarning(t *testing.T) {
	p := writeConfig(t, "theme = 'dark'\n")
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMailwire(t, "lab", "--hostile", "list")
	if code != exitOK || !strings.Contains(errOut, "mailwire: warning: config "+p+" is writable by every user") {
		t.Errorf("exit status %d, stderr:\n%s", code, errOut)
	}
	_, out, _ := runMailwire(t, "config")
	if !strings.Contains(out, "warning: config "+p+" is writable by every user") {
		t.Errorf("mailwire config does not show the warning:\n%s", out)
	}
}
