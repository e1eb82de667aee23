package content

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Recordings are sessions recorded against the lab (one per port of the eight,
// one per scenario; made by cmd/mailwire's TestMakeRecordingFixtures) that
// ship inside the binary: a lesson's replay link opens one wherever
// mailwire runs (installed with go install, or under `mailwire serve`),
// not only in a source checkout, and `mailwire replay NAME` prints or
// shows one. They are teaching material like the lessons, so they live
// here; sessions/render's tests render them against goldens.

//go:embed recordings/*.jsonl
var recordingFS embed.FS

// RecordingFixtureDir is where the bundled recordings live in a source
// checkout. A replay link names one of them without its ".jsonl".
const RecordingFixtureDir = "content/recordings"

// recordingExt is a recording's file extension (JSON Lines).
const recordingExt = ".jsonl"

// RecordingNames are the bundled recordings' names, sorted.
func RecordingNames() []string {
	entries, err := fs.ReadDir(recordingFS, "recordings")
	if err != nil {
		return nil // the embed pattern guarantees the directory
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), recordingExt))
	}
	sort.Strings(names)
	return names
}

// HasRecording says whether name (with or without ".jsonl") is a bundled
// recording.
func HasRecording(name string) bool {
	_, err := fs.Stat(recordingFS, recordingPath(name))
	return err == nil && validRecordingName(name)
}

// OpenRecording opens the bundled recording name (with or without
// ".jsonl").
func OpenRecording(name string) (io.ReadCloser, error) {
	if !validRecordingName(name) {
		return nil, fmt.Errorf("no bundled recording %q (there are: %s)", name, strings.Join(RecordingNames(), ", "))
	}
	f, err := recordingFS.Open(recordingPath(name))
	if err != nil {
		return nil, fmt.Errorf("no bundled recording %q (there are: %s)", name, strings.Join(RecordingNames(), ", "))
	}
	return f, nil
}

// validRecordingName keeps a name to one path element: "../x" or "a/b"
// never names a bundled recording.
func validRecordingName(name string) bool {
	base := strings.TrimSuffix(name, recordingExt)
	return base != "" && !strings.ContainsAny(base, `/\`) && base != "." && base != ".."
}

func recordingPath(name string) string {
	return path.Join("recordings", strings.TrimSuffix(name, recordingExt)+recordingExt)
}
