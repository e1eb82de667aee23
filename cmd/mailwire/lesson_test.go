package main

import (
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
)

// mailwire lesson lists the lessons; mailwire lesson NAME prints one, as
// Markdown when the output is not a terminal, with its "Try it" links as
// the commands that open them; a name that is no lesson is a usage error.
func TestLessonCommand(t *testing.T) {
	code, out, errOut := runMailwire(t, "lesson")
	if code != exitOK {
		t.Fatalf("lesson: exit status %d: %s", code, errOut)
	}
	for _, name := range content.LessonOrder {
		l, _ := content.LessonByName(name)
		if !strings.Contains(out, name+" ") || !strings.Contains(out, l.Title) {
			t.Errorf("the list lacks %s (%s):\n%s", name, l.Title, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if len([]rune(line)) > lessonWidth {
			t.Errorf("the list has a line of %d columns: %q", len([]rune(line)), line)
		}
	}
	code, out, errOut = runMailwire(t, "lesson", "starttls")
	if code != exitOK {
		t.Fatalf("lesson starttls: exit status %d: %s", code, errOut)
	}
	l, _ := content.LessonByName("starttls")
	for _, want := range []string{"# " + l.Title, "## Try it", "`mailwire --scenario too-early 143`",
		"`mailwire scan --lab`", "## Sources", "CVE-2011-0411"} {
		if !strings.Contains(out, want) {
			t.Errorf("lesson starttls lacks %q", want)
		}
	}
	if strings.Contains(out, "\x1b[") || strings.Contains(out, "mailwire:") {
		t.Error("printed to a pipe, the lesson has escape sequences or raw links")
	}
	code, _, errOut = runMailwire(t, "lesson", "nope")
	if code != exitUsage || !strings.Contains(errOut, `no lesson "nope"`) {
		t.Errorf("lesson nope: exit status %d, %q", code, errOut)
	}
	if code, _, _ = runMailwire(t, "lesson", "ports", "dane"); code != exitUsage {
		t.Errorf("two names: exit status %d, want %d", code, exitUsage)
	}
	if code, _, _ = runMailwire(t, "lesson", "ports", "--theme", "purple"); code != exitUsage {
		t.Errorf("--theme purple: exit status %d, want %d", code, exitUsage)
	}
}
