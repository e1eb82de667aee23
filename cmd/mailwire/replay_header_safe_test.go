package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
)

// TestReplayHeaderSanitized: a recording is a file anyone may hand over,
// and its header's strings are the file's (render.RecordingHeader.check
// says so). A replay titles it and says it again on stderr (runTitle,
// certCheckWords, scenarioTitle, the text header's "by mailwire"): a
// target, a certificate check or a version holding escape
// sequences reached the terminal raw (an OSC retitling the window, a
// screen clear).
func TestReplayHeaderSanitized(t *testing.T) {
	const evil = `\u001b]0;pwned\u0007\u001b[2J`
	for _, tc := range []struct{ name, from, to string }{
		{"port-110", `"target":"127.0.0.1:38577","lab":true`, `"target":"127.0.0.1:38577` + evil + `","lab":false`},
		{"port-110", `"verify":"lab CA"`, `"verify":"lab CA` + evil + `"`},
		{"port-110", `"mailwire":"(devel)"`, `"mailwire":"x` + evil + `"`},
		{"scenario-too-early", `"lab":true`, `"target":"127.0.0.1:25` + evil + `","lab":false`},
	} {
		rc, err := content.OpenRecording(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := rc.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		rc.Close()
		head, rest, _ := strings.Cut(b.String(), "\n")
		if !strings.Contains(head, tc.from) {
			t.Fatalf("%s: the header lacks %s:\n%s", tc.name, tc.from, head)
		}
		file := filepath.Join(t.TempDir(), "evil.jsonl")
		if err := os.WriteFile(file, []byte(strings.Replace(head, tc.from, tc.to, 1)+"\n"+rest), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"text", "markdown"} {
			_, out, errOut := runMailwire(t, "replay", file, "--format", format)
			if !strings.Contains(errOut, "mailwire replay:") {
				t.Fatalf("%s %s: not replayed:\n%s", tc.to, format, errOut)
			}
			if strings.ContainsAny(out+errOut, "\x1b\x07") {
				t.Errorf("%s, --format %s: a raw control byte reached the output:\nstdout %q\nstderr %q", tc.to, format, firstLines(out, 3), errOut)
			}
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// TestReplayScreenRefusesPrintFlags: on a terminal without --format the
// replay opens the screen, where the flags that shape a printed
// transcript (screenRefused, connect's too) would do nothing: a usage
// error, before the recording is opened.
func TestReplayScreenRefusesPrintFlags(t *testing.T) {
	onTerm := onTerminal
	t.Cleanup(func() { onTerminal = onTerm })
	onTerminal = func(io.Reader, io.Writer) bool { return true }
	for _, args := range [][]string{
		{"--notes", "off"}, {"--lens", "eavesdropper"}, {"--hex"}, {"--width", "80"}, {"--reveal"}, {"--color", "never"},
	} {
		code, _, errOut := runMailwire(t, append([]string{"replay", "port-587"}, args...)...)
		if code != 2 || !strings.Contains(errOut, args[0]+": for printing, with --format") {
			t.Errorf("replay on a terminal %v: exit %d, stderr %q", args, code, errOut)
		}
	}
}
