package tui

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The README's screen captures are generated, so that they cannot go
// stale (issue 12, README): each block of README.md between
//
//	<!-- capture NAME -->
//	```
//	…
//	```
//	<!-- /capture -->
//
// is a golden file of the screens' tests, without its colours and its
// trailing blanks. TestREADMECaptures renders the screens that only the
// README shows into goldens of its own (testdata/TestREADMECaptures/), and
// checks every block against its golden; `go test ./tui -run
// TestREADMECaptures -update` rewrites the goldens and the README's blocks
// together.

// readmePath is the README, from the tui package's directory.
var readmePath = filepath.Join("..", "README.md")

// readmeCapture is one block: the golden it shows, and for a golden of
// its own, how its screen is made (nil: another test's golden).
type readmeCapture struct {
	name   string
	golden string // under testdata
	screen func(t *testing.T) *Model
}

func readmeCaptures() []readmeCapture {
	own := func(name string, screen func(t *testing.T) *Model) readmeCapture {
		return readmeCapture{name: name, golden: filepath.Join("TestREADMECaptures", name+".golden"), screen: screen}
	}
	return []readmeCapture{
		own("ports-120x40", func(t *testing.T) *Model {
			m := readmePortTable(t, 120, 40)
			mustUpdate(t, m, keyCode(tea.KeyDown)) // 587
			return m
		}),
		own("session-step-120x40", func(t *testing.T) *Model { return readmeStep(t, false) }),
		own("session-step-eavesdropper-120x40", func(t *testing.T) *Model { return readmeStep(t, true) }),
		own("picker-120x40", func(t *testing.T) *Model {
			m := readmePortTable(t, 120, 40)
			mustUpdate(t, m, keyCode(tea.KeyDown)) // 587
			pump(t, m, mustUpdate(t, m, keyText('S')))
			return m
		}),
		own("scenario-strip-120x40", func(t *testing.T) *Model {
			return readmeRecording(t, "scenario-strip-opportunistic", 120, 40)
		}),
		{name: "scan-80x24", golden: filepath.Join("TestScanGolden", "80x24.golden")},
	}
}

// readmeLabInfo is a lab as a first run shows it: every port at its
// canonical number + 10000, the CA in the XDG state directory.
func readmeLabInfo() LabInfo {
	info := fakeLabInfo()
	info.Endpoints[443] = "127.0.0.1:10443"
	info.CAPath = "/home/you/.local/state/mailwire/lab/ca.pem"
	return info
}

// readmePortTable is `mailwire` on the lab, with sessions to run (enter,
// S) and typed ones (c), as the program has them, at w×h.
func readmePortTable(t *testing.T, w, h int) *Model {
	info := readmeLabInfo()
	m := newModel(Options{
		StartLab:    func(context.Context) (LabInfo, error) { return info, nil },
		OpenSession: (&fakeSessions{}).open,
		OpenPrompt: func(context.Context, SessionRequest) (PromptHandle, <-chan wire.Event, error) {
			return nil, nil, errors.New("not in a README capture")
		},
	})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	mustUpdate(t, m, labResultMsg{info: info})
	return m
}

// readmeRecording is the session screen on a committed recording (made
// against the lab) as it looked live, done: the very screen its events
// make (replayModel), without the replay's label.
func readmeRecording(t *testing.T, name string, w, h int) *Model {
	path := filepath.Join(recordingsDir, name+".jsonl")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := render.ReadRecording(f, render.DefaultRecordingLimits())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	req := ReplayRequest(rec.Header, path)
	req.Replay, req.Label = "", ""
	return replayModel(req, rec.Events, ThemeAuto, w, h)
}

// readmeStep is step mode on 587 at the ServerHello, in the endpoint's
// lens or the eavesdropper's.
func readmeStep(t *testing.T, eavesdropper bool) *Model {
	m := readmeRecording(t, "port-587", 120, 40)
	mustUpdate(t, m, keyText('s'))
	for range 4 {
		mustUpdate(t, m, keyText(' '))
	}
	if eavesdropper {
		mustUpdate(t, m, keyCode(tea.KeyTab))
	}
	return m
}

// captureText is a golden as the README shows it: no colours, no trailing
// blanks, no blank lines at the end.
func captureText(golden []byte) string {
	lines := strings.Split(ansi.Strip(string(golden)), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// captureBlock is a capture in the README; its text may be empty (a block
// not yet generated), hence the lazy optional group.
var captureBlock = regexp.MustCompile("(?s)<!-- capture ([a-z0-9-]+) -->\n```\n(?:(.*?)\n)??```\n<!-- /capture -->")

// updating says whether the test run was asked to rewrite goldens (the
// -update flag of the golden package, which the README's blocks follow).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestREADMECaptures(t *testing.T) {
	caps := readmeCaptures()
	want := map[string]string{}
	for _, c := range caps {
		if c.screen != nil {
			t.Run(c.name, func(t *testing.T) {
				golden.RequireEqual(t, []byte(plain(c.screen(t))))
			})
		}
		b, err := os.ReadFile(filepath.Join("testdata", c.golden))
		if err != nil {
			t.Fatalf("capture %s: %v", c.name, err)
		}
		want[c.name] = captureText(b)
	}
	if !strings.Contains(want["ports-120x40"], "S scenarios") {
		t.Errorf("the port table's capture lacks S scenarios:\n%s", want["ports-120x40"])
	}

	readme, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var stale []string
	out := captureBlock.ReplaceAllFunc(readme, func(block []byte) []byte {
		sub := captureBlock.FindSubmatch(block)
		name, got := string(sub[1]), string(sub[2])
		w, ok := want[name]
		if !ok {
			t.Errorf("README.md has a capture %q that no golden makes", name)
			return block
		}
		seen[name] = true
		if got != w {
			stale = append(stale, name)
		}
		return fmt.Appendf(nil, "<!-- capture %s -->\n```\n%s\n```\n<!-- /capture -->", name, w)
	})
	for _, c := range caps {
		if !seen[c.name] {
			t.Errorf("README.md has no capture %q (<!-- capture %s --> before its block)", c.name, c.name)
		}
	}
	if len(stale) == 0 {
		return
	}
	if updating() {
		if err := os.WriteFile(readmePath, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(out, readme) {
		t.Errorf("README.md's captures %v differ from their goldens: go test ./tui -run TestREADMECaptures -update", stale)
	}
}
