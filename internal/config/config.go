// Package config reads mailwire's configuration file,
// $XDG_CONFIG_HOME/mailwire/config.toml (else ~/.config/mailwire/config.toml),
// and computes the effective configuration: each setting's value and where
// it came from (a default, the file and its line, a flag, the environment).
//
// Precedence: a flag overrides the file, the file overrides the default.
// The commands of cmd/mailwire read their defaults from here; the engine
// (sessions/...) never imports this package: it takes its options from its
// callers, so the same session runs the same way whoever configured it.
//
// The file is TOML (https://toml.io/en/v1.0.0), read with
// github.com/pelletier/go-toml/v2: its strict decoder reports every
// unknown key with its line, and its parser gives the line of each value,
// which `mailwire config` shows. A key mailwire does not know is an error,
// never ignored: a typo (port_ofset) would otherwise silently leave the
// default in place.
//
// No password, ever: a config file is synced, backed up, copied into
// dotfile repositories and shown on screen when asked for help, so the
// password stays in $MAILWIRE_PASSWORD or the prompt.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/mailwire/mailwire/internal/xdg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// MaxSize bounds the file read: a complete configuration is well under
// 4 KiB, so 64 KiB leaves room for comments while a mistaken path (a log,
// a disk image) is refused instead of read into memory.
const MaxSize = 64 << 10

// Config is the file's schema. Each field is one setting: its TOML key is
// the section and the toml tag ("lab.port_offset"), its flag the flag that
// overrides it (absent: none), its help what --format toml writes above
// it, its empty what an empty string means, for mailwire config. Settings
// lists them in this order.
type Config struct {
	Theme  string `toml:"theme" flag:"theme" empty:"auto: the terminal's background, else $COLORFGBG, else dark" help:"the terminal interface's colours: dark, light or high-contrast (empty: the terminal's background, else $COLORFGBG, else dark)"`
	Lab    Lab    `toml:"lab"`
	Client Client `toml:"client"`
	Verify Verify `toml:"verify"`
	Budget Budget `toml:"budget"`
	Serve  Serve  `toml:"serve"`
}

// Lab is where the lab listens (the terminal interface's and mailwire
// lab's) and where its CA is kept.
type Lab struct {
	// Listen is a loopback address only: exposing the lab to a network is
	// decided per run, with mailwire lab --listen (cmd checks it).
	Listen     string `toml:"listen" flag:"listen" help:"loopback address the lab listens on (to expose it to a network, pass mailwire lab --listen each time)"`
	PortOffset int    `toml:"port_offset" flag:"port-offset" help:"added to each canonical port (0: the canonical ports themselves, which need privileges)"`
	StateDir   string `toml:"state_dir" flag:"state-dir" path:"true" help:"directory of the lab's CA, an absolute path or ~/… (empty: $XDG_STATE_HOME/mailwire/lab, else ~/.local/state/mailwire/lab)"`
}

// Client is how mailwire introduces itself and where it goes when a
// command expects a target and none is given.
type Client struct {
	// DefaultTarget is used only where a target is expected and missing:
	// mailwire connect without TARGET. A session or scenario without
	// --target runs against the lab, whatever this says, so a setting
	// can never send a lab session to a real server.
	DefaultTarget string `toml:"default_target" empty:"none: mailwire connect wants TARGET" help:"HOST[:PORT] for mailwire connect without TARGET (never for session or scenarios: without --target they use the lab)"`
	EHLO          string `toml:"ehlo" flag:"ehlo" empty:"this host's name, else mailwire.invalid (lab: client.lab.test)" help:"name the SMTP client announces in EHLO (empty: this host's name if it is a full domain name, else mailwire.invalid; the lab's sessions: client.lab.test)"`
}

// Verify is the certificate check of sessions against real servers
// (session --target, connect). It is one policy: a flag for either field
// (--ca-file, --insecure) replaces both, and the file may not set both.
// The lab's sessions always check against the lab's CA.
type Verify struct {
	CAFile   string `toml:"ca_file" flag:"ca-file" path:"true" empty:"none: the system's roots" help:"check real servers' certificates against the CAs in this PEM file, an absolute path or ~/… (empty: the system's roots)"`
	Insecure bool   `toml:"insecure" flag:"insecure" help:"do not enforce the certificate check against real servers (the result is still shown, and each run warns)"`
}

// Budget is the session budget (wire.Budget, README "Budgets"): the same
// fields, so that Wire converts it and a field added to wire.Budget fails
// to compile here until it is added. 0 takes the default, -1 lifts the
// limit.
type Budget struct {
	Events     int   `toml:"events" flag:"max-events" help:"events a session keeps; later ones are counted and dropped (-1: no limit)"`
	EventBytes int   `toml:"event_bytes" flag:"max-event-bytes" help:"bytes one event keeps of what crossed; the rest is counted (-1: no limit)"`
	TotalBytes int64 `toml:"total_bytes" flag:"max-bytes" help:"bytes a session's events keep in all (-1: no limit)"`
	LineWidth  int   `toml:"line_width" flag:"max-line" help:"longest output line; a longer one ends \"… N more bytes\" (-1: no limit)"`
	Untagged   int   `toml:"untagged" flag:"max-untagged" help:"untagged IMAP responses shown per command (-1: no limit)"`
	Literal    int   `toml:"literal" flag:"max-literal" help:"bytes kept of an IMAP literal, a POP3 message or an HTTP body (-1: no limit)"`
}

// Wire is the budget as the engine takes it.
func (b Budget) Wire() wire.Budget { return wire.Budget(b) }

// Serve is mailwire serve's: the SSH address, how students get in and
// the server's limits (sshserve.Access, sshserve.Limits). The class
// passphrase itself never goes in the file (a file is synced and shared),
// only the path of a file holding it; an address other machines reach is
// allowed, since serving a class is what the command is for, and the
// command warns of it on each run.
type Serve struct {
	Listen         string `toml:"listen" flag:"ssh" help:"address mailwire serve listens on for SSH, HOST:PORT (anything but loopback reaches other machines: it needs a passphrase or authorized keys, and warns each run)"`
	PassphraseFile string `toml:"passphrase_file" flag:"passphrase-file" path:"true" empty:"none: $MAILWIRE_CLASS_PASSPHRASE, else no passphrase" help:"file whose first line is the class passphrase, an absolute path or ~/… (empty: $MAILWIRE_CLASS_PASSPHRASE, else no passphrase)"`
	AuthorizedKeys string `toml:"authorized_keys" flag:"authorized-keys" path:"true" empty:"none: no key logins" help:"the students' keys, an OpenSSH authorized_keys file: an absolute path or ~/… (read again when it changes)"`
	MaxStudents    int    `toml:"max_students" flag:"max-students" help:"students connected at once, in all"`
	MaxPerAddress  int    `toml:"max_per_address" flag:"max-per-address" help:"connections at once from one address (a class behind one NAT address needs the class's size)"`
	IdleTimeout    string `toml:"idle_timeout" flag:"idle-timeout" help:"a student who presses no key for this long is disconnected: a duration, 30m or 1h30m (a minute at least)"`
	AllowTargets   bool   `toml:"allow_targets" flag:"allow-targets" help:"let the students' connect form reach any server this host reaches, not only the lab"`
}

// File is a configuration file as read: its path, whether it exists, the
// values it sets, and the line of each key it sets.
type File struct {
	Path   string
	Found  bool
	Config Config
	// Warnings are said on stderr and by mailwire config (a file others
	// may write).
	Warnings []string
	lines    map[string]int // key → line, for the keys the file sets
}

// Line is the line that sets key, 0 when the file does not set it.
func (f *File) Line(key string) int {
	if f == nil {
		return 0
	}
	return f.lines[key]
}

// Has says whether the file sets key.
func (f *File) Has(key string) bool { return f.Line(key) > 0 }

// Path is the configuration file's path: $XDG_CONFIG_HOME/mailwire/config.toml
// when that variable is an absolute path (the XDG Base Directory
// Specification ignores a relative one), else ~/.config/mailwire/config.toml.
func Path() (string, error) {
	p := xdg.Under(xdg.Config(), "config.toml")
	if p == "" {
		return "", errors.New("no home directory and no $XDG_CONFIG_HOME: mailwire has no configuration file")
	}
	return p, nil
}

// Load reads the file at path. A missing file is an empty configuration
// (Found false), not an error; anything else that keeps the file from
// being used is, with the path and, for what is in it, the line.
func Load(path string) (*File, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &File{Path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	// A FIFO or a device would block the read or never end: only a
	// regular file is opened.
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("config %s: not a regular file (%s)", path, st.Mode().Type())
	}
	if st.Size() > MaxSize {
		return nil, fmt.Errorf("config %s: %d bytes, more than %d: not a mailwire configuration", path, st.Size(), MaxSize)
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer fh.Close()
	// Bounded again: the file may have grown since Stat.
	data, err := io.ReadAll(io.LimitReader(fh, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("config %s: more than %d bytes: not a mailwire configuration", path, MaxSize)
	}
	f, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	f.Warnings = append(f.Warnings, writableByOthers(path)...)
	return f, nil
}

// Parse reads a configuration from data; path names it in errors.
func Parse(path string, data []byte) (*File, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("config %s: more than %d bytes: not a mailwire configuration", path, MaxSize)
	}
	f := &File{Path: path, Found: true}
	// The parser first: it gives each key its line, and the checks that
	// name a setting (unknown, wrong type, a password) say it as
	// mailwire's keys, not as Go's struct fields.
	lines, err := keyLines(path, data)
	if err != nil {
		return nil, err
	}
	f.lines = lines
	// Then the decoder, strict: anything the walk let through that TOML
	// or the schema refuses (a duplicate key, a number too large) is
	// still an error with its line, and an unknown key can never be
	// ignored.
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f.Config); err != nil {
		return nil, decodeError(path, err)
	}
	if err := f.finish(); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeError words the decoder's error with the file and line.
func decodeError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var msgs []string
		for _, e := range strict.Errors {
			line, _ := e.Position()
			msgs = append(msgs, fmt.Sprintf("line %d: %s", line, unknownKey(strings.Join(e.Key(), "."))))
		}
		return fmt.Errorf("config %s: %s", path, strings.Join(msgs, "; "))
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		where := ""
		if k := de.Key(); len(k) > 0 {
			where = strings.Join(k, ".") + ": "
		}
		return fmt.Errorf("config %s line %d, column %d: %s%s", path, line, col, where, strings.TrimPrefix(de.Error(), "toml: "))
	}
	return fmt.Errorf("config %s: %w", path, err)
}

// finish checks what the schema alone cannot: paths, control characters,
// the verification policy, and expands ~/ in paths.
func (f *File) finish() error {
	for _, s := range Settings() {
		if !f.Has(s.Key) {
			continue
		}
		v := s.field(&f.Config)
		if v.Kind() != reflectString {
			continue
		}
		str := v.String()
		if i := strings.IndexFunc(str, isControl); i >= 0 {
			return f.errorAt(s.Key, "control character %q in the value: not a name, an address or a path", str[i])
		}
		if !s.path || str == "" {
			continue
		}
		p, err := expandHome(str)
		if err != nil {
			return f.errorAt(s.Key, "%v", err)
		}
		if !filepath.IsAbs(p) {
			return f.errorAt(s.Key, "%q: want an absolute path or ~/… (relative to what? the directory mailwire is run from changes)", str)
		}
		v.SetString(filepath.Clean(p))
	}
	if f.Config.Verify.CAFile != "" && f.Config.Verify.Insecure {
		return fmt.Errorf("config %s lines %d and %d: verify.ca_file and verify.insecure: choose one (a CA file to check against, or no enforced check)",
			f.Path, f.Line("verify.ca_file"), f.Line("verify.insecure"))
	}
	return nil
}

// errorAt is an error about key, at its line.
func (f *File) errorAt(key, format string, args ...any) error {
	return fmt.Errorf("config %s line %d: %s: %s", f.Path, f.Line(key), key, fmt.Sprintf(format, args...))
}

// isControl: C0 controls and DEL, which no name, address or path of a
// configuration holds, and which would reach a terminal or a protocol
// line (an EHLO name with CR LF would inject a command).
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// expandHome expands a leading ~/ to the home directory, as a shell
// would; ~user is not supported.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return "", fmt.Errorf("%q: no home directory to expand ~ in", p)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}

// writableByOthers warns when someone else could change the file: it, or
// its directory without the sticky bit, is writable by every user. The
// file decides where certificates are checked against and where connect
// goes, so another user writing it could point a session at a server of
// theirs; the file holds no secret, so reading is not a concern and no
// mode is required of it.
func writableByOthers(path string) []string {
	var warns []string
	if st, err := os.Stat(path); err == nil && st.Mode().Perm()&0o002 != 0 {
		warns = append(warns, fmt.Sprintf("config %s is writable by every user (mode %04o): anyone on this machine can change where mailwire connects and which certificates it trusts; chmod o-w it",
			path, st.Mode().Perm()))
	}
	dir := filepath.Dir(path)
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o002 != 0 && st.Mode()&fs.ModeSticky == 0 {
		warns = append(warns, fmt.Sprintf("config directory %s is writable by every user (mode %04o): anyone on this machine can replace the file; chmod o-w it",
			dir, st.Mode().Perm()))
	}
	return warns
}
