package config

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

const full = `# a whole configuration
theme = "light"

[lab]
listen = "127.0.0.5"
port_offset = 20000
state_dir = "/srv/mailwire/lab"

[client]
default_target = "mail.example.org:587"
ehlo = "laptop.example.org"

[verify]
ca_file = "/etc/ssl/class-ca.pem"

[budget]
events = 500
event_bytes = 1024
total_bytes = 1_048_576
line_width = -1
untagged = 10
literal = 4096

[serve]
listen = "0.0.0.0:2222"
passphrase_file = "/srv/class/passphrase"
max_students = 30
idle_timeout = "45m"
allow_targets = true
`

func TestParse(t *testing.T) {
	f, err := Parse("config.toml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Theme:  "light",
		Lab:    Lab{Listen: "127.0.0.5", PortOffset: 20000, StateDir: "/srv/mailwire/lab"},
		Client: Client{DefaultTarget: "mail.example.org:587", EHLO: "laptop.example.org"},
		Verify: Verify{CAFile: "/etc/ssl/class-ca.pem"},
		Budget: Budget{Events: 500, EventBytes: 1024, TotalBytes: 1 << 20, LineWidth: -1, Untagged: 10, Literal: 4096},
		Serve:  Serve{Listen: "0.0.0.0:2222", PassphraseFile: "/srv/class/passphrase", MaxStudents: 30, IdleTimeout: "45m", AllowTargets: true},
	}
	if !reflect.DeepEqual(f.Config, want) {
		t.Errorf("config:\n got %+v\nwant %+v", f.Config, want)
	}
	for key, line := range map[string]int{"theme": 2, "lab.listen": 5, "lab.port_offset": 6, "client.ehlo": 11,
		"verify.ca_file": 14, "budget.events": 17, "budget.literal": 22, "verify.insecure": 0, "serve.listen": 25,
		"serve.allow_targets": 29, "serve.authorized_keys": 0} {
		if got := f.Line(key); got != line {
			t.Errorf("line of %s = %d, want %d", key, got, line)
		}
	}
}

// Dotted keys and inline tables are TOML too; the lines follow them.
func TestParseDottedAndInline(t *testing.T) {
	f, err := Parse("c", []byte("lab.port_offset = 3\n\nbudget = { events = 7,\n  untagged = 2 }\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Config.Lab.PortOffset != 3 || f.Config.Budget.Events != 7 || f.Config.Budget.Untagged != 2 {
		t.Errorf("got %+v", f.Config)
	}
	if f.Line("lab.port_offset") != 1 || f.Line("budget.events") != 3 || f.Line("budget.untagged") != 4 {
		t.Errorf("lines: %v", f.lines)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, doc, want string }{
		{"typo", "[lab]\nport_ofset = 3\n", `line 2: unknown key "lab.port_ofset" (did you mean lab.port_offset?)`},
		{"every unknown key", "[lab]\nlisten_on = 'x'\nport = 1\n[client]\nehlo = 'a'\n",
			`line 2: unknown key "lab.listen_on"`},
		{"every unknown key, the second", "[lab]\nlisten_on = 'x'\nport = 1\n", `line 3: unknown key "lab.port"`},
		{"top-level key of a section", "ehlo = 'x'\n", `unknown key "ehlo" (did you mean client.ehlo?)`},
		{"unknown section", "[labs]\n", `line 1: unknown section [labs] (did you mean [lab]?)`},
		{"array of tables", "[[lab]]\nlisten = 'x'\n", "line 1: [[lab]]: mailwire's configuration has no arrays of tables"},
		{"section as a value", "lab = 3\n", "line 1: lab: a section ([lab]), not a value"},
		{"password", "[client]\npassword = 'hunter2'\n", "line 2: client.password: a password never goes in the configuration file"},
		{"password at the top", "smtp_password = 'x'\n", "smtp_password: a password never goes"},
		{"passphrase", "[serve]\npassphrase = 'tls-or-bust'\n", "line 2: serve.passphrase: the class passphrase never goes in the configuration file"},
		{"serve typo", "[serve]\npassphrase_fil = '/p'\n", `unknown key "serve.passphrase_fil" (did you mean serve.passphrase_file?)`},
		{"serve type", "[serve]\nmax_students = '30'\n", "line 2: serve.max_students: want an integer, not a string"},
		{"serve relative path", "[serve]\nauthorized_keys = 'keys'\n", "serve.authorized_keys: \"keys\": want an absolute path"},
		{"type", "[lab]\nport_offset = '20000'\n", "line 2: lab.port_offset: want an integer, not a string"},
		{"type bool", "[verify]\ninsecure = 'yes'\n", "line 2: verify.insecure: want true or false, not a string"},
		{"type string", "theme = 1\n", "line 1: theme: want a string in quotes, not an integer"},
		{"float", "[budget]\nevents = 1.5\n", "want an integer, not a decimal number"},
		{"too large", "[budget]\ntotal_bytes = 99999999999999999999\n", "line 2, column 15: budget.total_bytes: "},
		{"syntax", "theme = 'x'\n[lab\n", "line 2, column 5"},
		{"duplicate", "theme = 'a'\ntheme = 'b'\n", "line 2"},
		{"binary", "theme = 'x'\n\x00\xff\xfe", "line 2"},
		{"invalid UTF-8", "theme = \"\xff\"\n", "line 1"},
		{"control character", "[client]\nehlo = \"a\\r\\nMAIL FROM:<x>\"\n", `line 2: client.ehlo: control character '\r'`},
		{"relative path", "[lab]\nstate_dir = 'lab'\n", "line 2: lab.state_dir: \"lab\": want an absolute path or ~/"},
		{"both verify", "[verify]\nca_file = '/ca.pem'\ninsecure = true\n", "lines 2 and 3: verify.ca_file and verify.insecure: choose one"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("/x/config.toml", []byte(c.doc))
			if err == nil {
				t.Fatalf("no error for %q", c.doc)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "config /x/config.toml") {
				t.Errorf("error %q\n does not say %q", err, c.want)
			}
		})
	}
}

func TestParseHomePath(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	f, err := Parse("c", []byte("[verify]\nca_file = '~/ca/class.pem'\n[lab]\nstate_dir = '~'\n"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Config.Verify.CAFile != filepath.Join(home, "ca/class.pem") || f.Config.Lab.StateDir != home {
		t.Errorf("paths: %+v", f.Config)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Run("missing", func(t *testing.T) {
		f, err := Load(filepath.Join(dir, "none.toml"))
		if err != nil || f.Found || f.Has("theme") {
			t.Fatalf("Load of a missing file: %+v, %v", f, err)
		}
	})
	t.Run("huge", func(t *testing.T) {
		p := filepath.Join(dir, "huge.toml")
		big := bytes.Repeat([]byte("# a comment line that goes on\n"), MaxSize/29+10)
		if err := os.WriteFile(p, big, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "not a mailwire configuration") {
			t.Errorf("Load of %d bytes: %v", len(big), err)
		}
		if _, err := Parse(p, big); err == nil {
			t.Error("Parse took more than MaxSize")
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Load of a directory: %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		p := filepath.Join(dir, "fifo.toml")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Skip(err)
		}
		// Opening a FIFO for reading would wait for a writer forever.
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("Load of a FIFO: %v", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		p := filepath.Join(dir, "corrupt.toml")
		if err := os.WriteFile(p, []byte("[lab]\nport_offset = 1\n\x7fELF\x02\x01\x01"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p+" line 3") {
			t.Errorf("Load of a corrupt file: %v", err)
		}
	})
	t.Run("found", func(t *testing.T) {
		p := filepath.Join(dir, "config.toml")
		if err := os.WriteFile(p, []byte(full), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := Load(p)
		if err != nil || !f.Found || f.Config.Lab.PortOffset != 20000 || len(f.Warnings) != 0 {
			t.Fatalf("Load: %+v, %v", f, err)
		}
	})
}

// A file others may write is used, with a warning: it holds no secret, so
// no mode is required, but it decides where connect goes and which
// certificates are trusted.
func TestLoadWritableByOthers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mailwire")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(p, []byte("theme = 'dark'\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	warnings := func() []string {
		t.Helper()
		f, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		return f.Warnings
	}
	if w := warnings(); len(w) != 0 {
		t.Errorf("0600 in 0700: %q", w)
	}
	os.Chmod(p, 0o666)
	if w := warnings(); len(w) != 1 || !strings.Contains(w[0], "writable by every user (mode 0666)") {
		t.Errorf("0666: %q", w)
	}
	os.Chmod(p, 0o644)
	os.Chmod(dir, 0o777)
	if w := warnings(); len(w) != 1 || !strings.Contains(w[0], "config directory "+dir) {
		t.Errorf("directory 0777: %q", w)
	}
	// Sticky, as /tmp: others cannot replace someone else's file.
	os.Chmod(dir, 0o777|os.ModeSticky)
	if w := warnings(); len(w) != 0 {
		t.Errorf("directory 1777: %q", w)
	}
	os.Chmod(dir, 0o700)
}

func TestPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg/config")
	if p, err := Path(); err != nil || p != "/xdg/config/mailwire/config.toml" {
		t.Errorf("Path with XDG_CONFIG_HOME: %q, %v", p, err)
	}
	// The specification ignores a relative XDG_CONFIG_HOME.
	t.Setenv("XDG_CONFIG_HOME", "relative")
	t.Setenv("HOME", "/home/learner")
	if p, err := Path(); err != nil || p != "/home/learner/.config/mailwire/config.toml" {
		t.Errorf("Path with a relative XDG_CONFIG_HOME: %q, %v", p, err)
	}
}

// flags is a command line for Resolve.
type flags map[string]string

func (f flags) get(name string) (string, bool) { v, ok := f[name]; return v, ok }

func entry(t *testing.T, es []Entry, key string) Entry {
	t.Helper()
	for _, e := range es {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("no entry %s", key)
	return Entry{}
}

func TestResolvePrecedence(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "")
	f, err := Parse("c", []byte("[lab]\nport_offset = 20000\nlisten = '127.0.0.5'\n[budget]\nevents = 100\n"))
	if err != nil {
		t.Fatal(err)
	}
	es, err := Resolve(f, flags{"port-offset": "30000", "max-line": "80"}.get)
	if err != nil {
		t.Fatal(err)
	}
	def := lab.DefaultOptions()
	for _, c := range []struct {
		key  string
		val  any
		from Source
	}{
		{"lab.port_offset", 30000, Source{Origin: FromFlag, Name: "--port-offset"}}, // flag over file
		{"lab.listen", "127.0.0.5", Source{Origin: FromFile, Line: 3}},              // file over default
		{"budget.events", 100, Source{Origin: FromFile, Line: 5}},
		{"budget.line_width", 80, Source{Origin: FromFlag, Name: "--max-line"}}, // flag over default
		{"budget.untagged", wire.DefaultBudgetUntagged, Source{Origin: FromDefault}},
		{"budget.total_bytes", int64(wire.DefaultBudgetTotalBytes), Source{Origin: FromDefault}},
		{"theme", "", Source{Origin: FromDefault}},
	} {
		e := entry(t, es, c.key)
		if e.Value != c.val || e.Source != c.from {
			t.Errorf("%s = %#v from %v, want %#v from %v", c.key, e.Value, e.Source, c.val, c.from)
		}
	}
	if e := entry(t, es, "lab.listen"); def.ListenHost == "127.0.0.5" || e.Source.String() != "file, line 3" {
		t.Errorf("listen: %v", e.Source)
	}
	// Without a file at all, every value is its default.
	es, _ = Resolve(nil, flags{}.get)
	if e := entry(t, es, "lab.port_offset"); e.Value != def.PortOffset || e.Source.Origin != FromDefault {
		t.Errorf("default port offset: %+v", e)
	}
}

// The verification policy is one choice: --insecure drops the file's
// ca_file too, and --ca-file the file's insecure.
func TestResolveVerifyPolicy(t *testing.T) {
	f, err := Parse("c", []byte("[verify]\nca_file = '/class/ca.pem'\n"))
	if err != nil {
		t.Fatal(err)
	}
	es, _ := Resolve(f, flags{"insecure": "true"}.get)
	if e := entry(t, es, "verify.ca_file"); e.Value != "" || e.Source.String() != "flag --insecure" {
		t.Errorf("ca_file under --insecure: %+v", e)
	}
	if e := entry(t, es, "verify.insecure"); e.Value != true {
		t.Errorf("insecure: %+v", e)
	}
	s, _ := Lookup("verify.ca_file")
	if by := s.OverriddenBy(func(n string) bool { return n == "insecure" }); by != "insecure" {
		t.Errorf("OverriddenBy = %q", by)
	}
	if s, _ := Lookup("lab.listen"); s.OverriddenBy(func(n string) bool { return n == "port-offset" }) != "" {
		t.Error("a flag of another setting overrode lab.listen")
	}
}

func TestResolveStateDirFromEnvironment(t *testing.T) {
	// No lab CA in the former place (os.UserConfigDir), which would win.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	es, _ := Resolve(nil, flags{}.get)
	e := entry(t, es, "lab.state_dir")
	if e.Source.String() != "environment $XDG_STATE_HOME" || e.Value != filepath.Join(os.Getenv("XDG_STATE_HOME"), "mailwire", "lab") {
		t.Errorf("state_dir: %+v", e)
	}
}

// What --format toml writes reads back to the same values: the file's and
// the flags' set, the defaults commented out.
func TestWriteTOMLRoundTrip(t *testing.T) {
	f, err := Parse("c", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	es, _ := Resolve(f, flags{"port-offset": "30000", "ehlo": `we"ird\name`}.get)
	var out bytes.Buffer
	if err := WriteTOML(&out, "/x/config.toml", es); err != nil {
		t.Fatal(err)
	}
	back, err := Parse("out", out.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := f.Config
	want.Lab.PortOffset, want.Client.EHLO = 30000, `we"ird\name`
	if !reflect.DeepEqual(back.Config, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", back.Config, want, out.String())
	}
	if back.Has("verify.insecure") || !strings.Contains(out.String(), "\n# insecure = false\n") {
		t.Errorf("a default was set, not commented out:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "\n[serve]\n") || !strings.Contains(out.String(), "\nlisten = \"0.0.0.0:2222\"\n") ||
		!strings.Contains(out.String(), "\n# max_per_address = 4\n") {
		t.Errorf("the [serve] section is not written, its settings set or commented out:\n%s", out.String())
	}
	// Nothing set: every line a comment or a section, and it still parses.
	es, _ = Resolve(nil, flags{}.get)
	out.Reset()
	WriteTOML(&out, "/x/config.toml", es)
	back, err = Parse("out", out.Bytes())
	if err != nil || len(back.lines) != 0 {
		t.Errorf("defaults: %v, %v\n%s", err, back, out.String())
	}
}

// The schema's tags: every setting has a help line and a snake_case key,
// and no two settings share a flag.
func TestSettingsSchema(t *testing.T) {
	seen := map[string]string{}
	for _, s := range Settings() {
		if s.Help == "" || s.Name == "" || strings.ToLower(s.Name) != s.Name || strings.Contains(s.Name, "-") {
			t.Errorf("setting %+v: want a help line and a snake_case key", s)
		}
		if s.Flag != "" {
			if other, ok := seen[s.Flag]; ok {
				t.Errorf("--%s overrides both %s and %s", s.Flag, other, s.Key)
			}
			seen[s.Flag] = s.Key
		}
	}
	if got := Defaults().Budget.Wire(); got != wire.DefaultBudget() {
		t.Errorf("default budget %+v, want wire's %+v", got, wire.DefaultBudget())
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("lab = { listen = 'x', port_offset = 1 }\n"))
	f.Add([]byte("[[lab]]\n[serve]\npassword = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config fuzz") {
				t.Errorf("error without the file's name: %v", err)
			}
			return
		}
		// Whatever parsed writes back and parses again to the same.
		es, err := Resolve(c, flags{}.get)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := WriteTOML(&out, "fuzz", es); err != nil {
			t.Fatal(err)
		}
		back, err := Parse("again", out.Bytes())
		if err != nil {
			t.Fatalf("written back does not parse: %v\n%s", err, out.String())
		}
		for _, s := range Settings() {
			if c.Has(s.Key) && !reflect.DeepEqual(s.Value(&back.Config), s.Value(&c.Config)) {
				t.Errorf("%s: %#v written back as %#v", s.Key, s.Value(&c.Config), s.Value(&back.Config))
			}
		}
	})
}
