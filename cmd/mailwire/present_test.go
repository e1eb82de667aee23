package main

import (
	"strings"
	"testing"
)

// TestPresentFlag: --present is on the commands that open the session
// screen (the root, replay) and parses; without a terminal the root says
// so as it does without the flag; replay refuses it for printing, before
// reading the file.
func TestPresentFlag(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"replay", "--help"}} {
		code, out, errOut := runMailwire(t, args...)
		if code != exitOK || !strings.Contains(out, "--present") || !strings.Contains(strings.ToLower(out), "presenter mode") {
			t.Errorf("%v: exit %d, no --present in the help:\n%s%s", args, code, out, errOut)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--present"}, "the terminal interface needs a terminal"},
		{[]string{"--present", "--scenario", "too-early"}, "the terminal interface needs a terminal"},
		{[]string{"replay", "--present", "--format", "text", "/nonexistent/class.jsonl"}, "--present: for the screen"},
	} {
		code, out, errOut := runMailwire(t, c.args...)
		if code != exitUsage || !strings.Contains(strings.Join(strings.Fields(errOut), " "), c.want) {
			t.Errorf("%v: exit %d, want %d saying %q\n%s%s", c.args, code, exitUsage, c.want, out, errOut)
		}
	}
}
