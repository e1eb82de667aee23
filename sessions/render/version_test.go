package render

import (
	"bytes"
	"testing"

	"github.com/mailwire/mailwire/internal/buildinfo"
)

// TestRecordingVersionIsVersion: a recording says it was recorded by the
// mailwire --version names (buildinfo.Version), however it was made: the
// session screen's save left the version to NewRecorder, which said
// "(devel)" where --record and --version said "devel (no commit
// recorded)".
func TestRecordingVersionIsVersion(t *testing.T) {
	defer buildinfo.SetLinked("")
	for _, linked := range []string{"", "v7.7.7"} {
		buildinfo.SetLinked(linked)
		var buf bytes.Buffer
		if err := WriteRecording(&buf, RecordingHeader{Port: 587, Proto: "smtp", TLSMode: "starttls"}, fixture587()); err != nil {
			t.Fatal(err)
		}
		rec, err := ReadRecording(&buf, DefaultRecordingLimits())
		if err != nil {
			t.Fatal(err)
		}
		if want := buildinfo.Version(); rec.Header.Mailwire != want || linked != "" && want != linked {
			t.Errorf("linked %q: recorded by %q, --version says %q", linked, rec.Header.Mailwire, want)
		}
	}
}
