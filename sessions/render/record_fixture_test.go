package render

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lens"
)

var updateRecordings = flag.Bool("update-recordings", false,
	"rewrite the goldens of the bundled recordings (content/recordings) in testdata/recordings/golden")

// keyAnnotations stands for the annotation dictionary in the recordings'
// goldens: each key is its own title and prose, so the goldens say which
// explanation every event has without changing when the prose does.
func keyAnnotations(key string) (content.Annotation, bool) {
	return content.Annotation{Key: key, Title: "[" + key + "]", Text: "prose of " + key}, true
}

// recordingsDir holds the bundled recordings (content/recordings.go): one
// per port (all eight) and one per scenario, made by an earlier mailwire
// against its lab (cmd/mailwire's TestMakeRecordingFixtures).
var recordingsDir = filepath.Join("..", "..", filepath.FromSlash(content.RecordingFixtureDir))

// recordingFixtures are the bundled recordings' bytes by file name.
func recordingFixtures(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(recordingsDir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(p), ".jsonl")] = b
	}
	want := 8 + len(content.ScenarioOrder)
	if len(out) != want {
		t.Fatalf("%d recordings in %s, want %d (8 ports, every scenario): run cmd/mailwire's TestMakeRecordingFixtures", len(out), recordingsDir, want)
	}
	return out
}

// TestRecordingFixtures: every recording an earlier mailwire made still
// reads, with its events exactly as it wrote them (JSON writes them back
// byte for byte), and renders as its goldens say, in text and Markdown. A change of the schema or of a renderer that alters an
// old recording shows here.
func TestRecordingFixtures(t *testing.T) {
	for name, file := range recordingFixtures(t) {
		t.Run(name, func(t *testing.T) {
			rec, err := ReadRecording(bytes.NewReader(file), DefaultRecordingLimits())
			if err != nil {
				t.Fatalf("ReadRecording: %v", err)
			}
			h := rec.Header
			if h.Schema != 1 || h.Secrets != SecretsMasked || !h.Lab || len(rec.Events) == 0 {
				t.Errorf("header %+v, %d events", h, len(rec.Events))
			}
			if scen := strings.HasPrefix(name, "scenario-"); scen != (h.Scenario != nil) ||
				scen && h.Scenario.Name != strings.TrimPrefix(name, "scenario-") {
				t.Errorf("header's scenario %+v for %s", h.Scenario, name)
			}
			var js bytes.Buffer
			if err := JSON(&js, rec.Events, Options{}); err != nil {
				t.Fatal(err)
			}
			if _, events, _ := bytes.Cut(file, []byte("\n")); !bytes.Equal(js.Bytes(), events) {
				t.Errorf("the events read and written again differ from the file's")
			}
			// Text in the endpoint lens, Markdown in the eavesdropper's:
			// both formats, both lenses, half the goldens.
			o := Options{Width: 100, Annotations: keyAnnotations}
			checkRecordingGolden(t, name+".txt", render(t, "text", rec.Events, o))
			o.Lens = lens.Eavesdropper
			checkRecordingGolden(t, name+".eavesdropper.md", render(t, "markdown", rec.Events, o))
		})
	}
}

func checkRecordingGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "recordings", "golden", name)
	if *updateRecordings {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-recordings to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from its golden (run with -update-recordings after checking)", name)
	}
}
