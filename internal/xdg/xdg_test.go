package xdg

import (
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	for _, tc := range []struct{ env, set, want string }{
		{StateHome, "", "/home/u/.local/state/mailwire"},
		{StateHome, "/x/state", "/x/state/mailwire"},
		{StateHome, "rel/state", "/home/u/.local/state/mailwire"}, // relative: ignored
		{DataHome, "", "/home/u/.local/share/mailwire"},
		{DataHome, "/x/data", "/x/data/mailwire"},
		{ConfigHome, "", "/home/u/.config/mailwire"},
		{ConfigHome, "/x/config", "/x/config/mailwire"},
	} {
		t.Setenv(tc.env, tc.set)
		if got := Dir(tc.env); got != tc.want {
			t.Errorf("%s=%q: Dir = %q, want %q", tc.env, tc.set, got, tc.want)
		}
		if got, want := FromEnv(tc.env), filepath.IsAbs(tc.set); got != want {
			t.Errorf("%s=%q: FromEnv = %v", tc.env, tc.set, got)
		}
	}
	t.Setenv(StateHome, "/s")
	t.Setenv(DataHome, "/d")
	t.Setenv(ConfigHome, "/c")
	if State() != "/s/mailwire" || Data() != "/d/mailwire" || Config() != "/c/mailwire" {
		t.Errorf("State, Data, Config = %q, %q, %q", State(), Data(), Config())
	}
}

func TestNoHome(t *testing.T) {
	t.Setenv("HOME", "")
	t.Setenv(StateHome, "")
	if d := State(); d != "" {
		t.Errorf("State without a home = %q", d)
	}
	if p := Under(State(), "recent.json"); p != "" {
		t.Errorf("Under an empty directory = %q", p)
	}
	if p := Under("/s/mailwire", "lab", "ca.pem"); p != "/s/mailwire/lab/ca.pem" {
		t.Errorf("Under = %q", p)
	}
}
