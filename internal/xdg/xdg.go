// Package xdg is the one home of where mailwire keeps files, by the XDG
// Base Directory Specification
// (https://specifications.freedesktop.org/basedir-spec/latest/):
// configuration a user writes under $XDG_CONFIG_HOME, state that persists
// between runs but is no preference (the lab's CA, the recent targets)
// under $XDG_STATE_HOME, and data a user keeps (recordings, exports)
// under $XDG_DATA_HOME, each in a mailwire directory.
//
// It imports nothing of mailwire, so that the lab, the configuration, the
// commands and the screens all read the rule here.
package xdg

import (
	"os"
	"path/filepath"
)

// The variables that name the base directories, and where each defaults
// to under the home directory when it is unset or not absolute.
const (
	ConfigHome = "XDG_CONFIG_HOME" // default ~/.config
	StateHome  = "XDG_STATE_HOME"  // default ~/.local/state
	DataHome   = "XDG_DATA_HOME"   // default ~/.local/share
)

var defaults = map[string][]string{
	ConfigHome: {".config"},
	StateHome:  {".local", "state"},
	DataHome:   {".local", "share"},
}

// Dir is mailwire's directory under the base directory that env names:
// $env/mailwire when the variable is an absolute path (the specification
// says a relative one is invalid and to be ignored), else the default
// under the home directory (~/.local/state/mailwire for StateHome); ""
// when there is no home directory either.
func Dir(env string) string {
	if FromEnv(env) {
		return filepath.Join(os.Getenv(env), "mailwire")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return ""
	}
	return filepath.Join(append(append([]string{home}, defaults[env]...), "mailwire")...)
}

// FromEnv says whether env sets the base directory: it holds an absolute
// path.
func FromEnv(env string) bool { return filepath.IsAbs(os.Getenv(env)) }

// State is mailwire's state directory: $XDG_STATE_HOME/mailwire, by
// default ~/.local/state/mailwire ("" without a home).
func State() string { return Dir(StateHome) }

// Data is mailwire's data directory: $XDG_DATA_HOME/mailwire, by default
// ~/.local/share/mailwire ("" without a home).
func Data() string { return Dir(DataHome) }

// Config is mailwire's configuration directory: $XDG_CONFIG_HOME/mailwire,
// by default ~/.config/mailwire ("" without a home).
func Config() string { return Dir(ConfigHome) }

// Under is name in dir, or "" when dir is "" (no home directory): a path
// under a directory that does not exist is not one to write to.
func Under(dir string, name ...string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(append([]string{dir}, name...)...)
}
