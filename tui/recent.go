package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/internal/xdg"
)

// Recent targets of the connect form, remembered between runs in the XDG
// state directory ($XDG_STATE_HOME/mailwire/recent.json, by default
// ~/.local/state/mailwire/recent.json): state, not configuration, and
// nothing anyone else should read, so the file is 0600 in a 0700
// directory. It never holds a password. The list is bounded, and a file
// that is corrupt, too large or from another version is ignored (and
// replaced at the next connect), never a reason not to start.

// recentTarget is one remembered target: what the form asks, no password.
type recentTarget struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Proto  string `json:"proto"`
	TLS    string `json:"tls"`
	SNI    string `json:"sni,omitempty"`
	CAFile string `json:"ca_file,omitempty"`
	User   string `json:"user,omitempty"`
}

// recentFile is the file's shape; Version lets a later mailwire change it.
type recentFile struct {
	Version int            `json:"version"`
	Targets []recentTarget `json:"targets"`
}

const (
	recentVersion = 1
	maxRecent     = 10       // targets kept
	maxRecentSize = 64 << 10 // bytes read: ten targets take well under 4 KiB
	maxRecentText = 512      // bytes per field (a CA file's path is the longest)
)

// DefaultRecentFile is where the connect form keeps recent targets:
// recent.json in mailwire's XDG state directory (xdg.State:
// $XDG_STATE_HOME/mailwire, else ~/.local/state/mailwire). Empty when
// there is no home.
func DefaultRecentFile() string { return xdg.Under(xdg.State(), "recent.json") }

// loadRecent reads the recent targets. A missing file is an empty list; a
// file that cannot be used gives an empty list and an error saying why.
func loadRecent(path string) ([]recentTarget, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recent targets: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxRecentSize+1))
	if err != nil {
		return nil, fmt.Errorf("recent targets: read %s: %w", path, err)
	}
	if len(b) > maxRecentSize {
		return nil, fmt.Errorf("recent targets: %s is larger than %d bytes; ignored", path, maxRecentSize)
	}
	var rf recentFile
	if err := json.Unmarshal(b, &rf); err != nil {
		return nil, fmt.Errorf("recent targets: %s is not readable (%v); ignored", path, err)
	}
	if rf.Version != recentVersion {
		return nil, fmt.Errorf("recent targets: %s has version %d, not %d; ignored", path, rf.Version, recentVersion)
	}
	var out []recentTarget
	for _, t := range rf.Targets {
		if t.valid() && len(out) < maxRecent {
			out = append(out, t)
		}
	}
	return out, nil
}

// valid says whether a target read from the file is one the form could
// have written: a host, a port, known modes, short printable fields.
func (t recentTarget) valid() bool {
	if t.Host == "" || t.Port <= 0 || t.Port > 65535 ||
		!slices.Contains(formProtos, t.Proto) || !slices.Contains(formTLSModes, t.TLS) {
		return false
	}
	for _, s := range []string{t.Host, t.SNI, t.CAFile, t.User} {
		if len(s) > maxRecentText || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
			return false
		}
	}
	return !strings.ContainsAny(t.Host, " /")
}

// addRecent puts t first, without its earlier copy, and bounds the list.
func addRecent(list []recentTarget, t recentTarget) []recentTarget {
	out := []recentTarget{t}
	for _, o := range list {
		if o != t && len(out) < maxRecent {
			out = append(out, o)
		}
	}
	return out
}

// saveRecent writes the list atomically (a temporary file renamed over
// the old one), mode 0600 in a 0700 directory.
func saveRecent(path string, list []recentTarget) error {
	if path == "" {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("recent targets: %w", err)
	}
	b, err := json.MarshalIndent(recentFile{Version: recentVersion, Targets: list}, "", "  ")
	if err != nil {
		return fmt.Errorf("recent targets: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".recent-*.json") // created 0600
	if err != nil {
		return fmt.Errorf("recent targets: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing left to remove
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("recent targets: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("recent targets: write %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("recent targets: %w", err)
	}
	return nil
}

// rememberTarget adds a request's target to the recent ones, in a tea.Cmd
// (file I/O); a file that cannot be read is replaced.
func rememberTarget(path string, r SessionRequest) tea.Cmd {
	return func() tea.Msg {
		list, _ := loadRecent(path)
		return recentSavedMsg{err: saveRecent(path, addRecent(list, recentOf(r)))}
	}
}
