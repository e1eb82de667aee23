package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lab CA is state ($XDG_STATE_HOME/mailwire/lab, by default
// ~/.local/state/mailwire/lab), not configuration; a CA in the former place
// (the configuration directory) stays in use, with a note, until it moves.
func TestResolveStateDir(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	fresh := filepath.Join(home, ".local", "state", "mailwire", "lab")
	old := filepath.Join(home, ".config", "mailwire", "lab")

	if dir, note := ResolveStateDir(); dir != fresh || note != "" {
		t.Errorf("no CA anywhere: %q %q, want %q and no note", dir, note, fresh)
	}
	t.Setenv("XDG_STATE_HOME", "relative/state") // ignored, as the specification says
	if dir, _ := ResolveStateDir(); dir != fresh {
		t.Errorf("relative XDG_STATE_HOME: %q, want %q", dir, fresh)
	}
	xdg := filepath.Join(home, "xdg-state")
	t.Setenv("XDG_STATE_HOME", xdg)
	if dir, _ := ResolveStateDir(); dir != filepath.Join(xdg, "mailwire", "lab") {
		t.Errorf("XDG_STATE_HOME=%s: %q", xdg, dir)
	}
	t.Setenv("XDG_STATE_HOME", "")

	// A CA made by an earlier mailwire in the configuration directory.
	if _, _, err := EnsureCA(old); err != nil {
		t.Fatal(err)
	}
	dir, note := ResolveStateDir()
	if dir != old || DefaultStateDir() != old {
		t.Errorf("only the old CA: %q, want %q (a CA someone trusts keeps working)", dir, old)
	}
	for _, want := range []string{old, fresh, "mv "} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q does not say %q", note, want)
		}
	}

	// Once moved (or made anew in the right place), the new one is used.
	if err := os.MkdirAll(filepath.Dir(fresh), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(old, fresh); err != nil {
		t.Fatal(err)
	}
	if dir, note := ResolveStateDir(); dir != fresh || note != "" {
		t.Errorf("after the move: %q %q", dir, note)
	}
	if _, _, err := EnsureCA(old); err != nil {
		t.Fatal(err)
	}
	if dir, note := ResolveStateDir(); dir != fresh || note != "" {
		t.Errorf("both: %q %q, want the new one", dir, note)
	}
}
