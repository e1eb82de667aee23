package content

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestBundledRecordings: every recording in the source directory is
// bundled under its name, each reads as JSON Lines whose first line is a
// header, and a name that is not one of them (or reaches outside the
// directory) opens nothing.
func TestBundledRecordings(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("recordings", "*.jsonl"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("recordings: %v %v", paths, err)
	}
	var want []string
	for _, p := range paths {
		want = append(want, strings.TrimSuffix(filepath.Base(p), ".jsonl"))
	}
	if got := RecordingNames(); !slices.Equal(got, want) {
		t.Fatalf("RecordingNames() = %v, want %v", got, want)
	}
	for _, name := range want {
		for _, asked := range []string{name, name + ".jsonl"} {
			if !HasRecording(asked) {
				t.Errorf("HasRecording(%q) = false", asked)
			}
			rc, err := OpenRecording(asked)
			if err != nil {
				t.Fatalf("OpenRecording(%q): %v", asked, err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			disk, err := os.ReadFile(filepath.Join("recordings", name+".jsonl"))
			if err != nil || string(b) != string(disk) {
				t.Fatalf("%s: bundled bytes differ from the file (%v)", asked, err)
			}
			first, _, _ := bufio.NewReader(strings.NewReader(string(b))).ReadLine()
			var h struct {
				Recording int `json:"mailwire_recording"`
			}
			if err := json.Unmarshal(first, &h); err != nil || h.Recording != 1 {
				t.Errorf("%s: first line is not a recording header: %v", name, err)
			}
		}
	}
	for _, bad := range []string{"", ".jsonl", "nope", "../lessons/ports", "recordings/port-587", `..\port-587`, ".", ".."} {
		if HasRecording(bad) {
			t.Errorf("HasRecording(%q) = true", bad)
		}
		if rc, err := OpenRecording(bad); err == nil {
			rc.Close()
			t.Errorf("OpenRecording(%q) opened something", bad)
		} else if !strings.Contains(err.Error(), "port-587") {
			t.Errorf("OpenRecording(%q): %v does not list the bundled ones", bad, err)
		}
	}
}
