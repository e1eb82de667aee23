package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

// --version says which version and commit the binary is, from the build
// information (fang printed "unknown (built from source)").
func TestFormat(t *testing.T) {
	vcs := func(rev, modified, when string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: when}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name    string
		ld      string
		info    *debug.BuildInfo
		want    string
		without string
	}{
		{"go install @v1.2.3", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3", Sum: "h1:x"}}, "v1.2.3", "unknown"},
		{"go build in a checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261206074835-97a14412663c+dirty"},
			Settings: vcs("97a14412663c2a5d8e1f0000000000000000abcd", "true", "2026-12-06T07:48:35Z")},
			"v0.0.0-20261206074835-97a14412663c+dirty (commit 97a14412663c, with uncommitted changes, 2026-12-06T07:48:35Z)", "unknown"},
		{"clean checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: vcs("97a14412663c2a5d8e1f0000000000000000abcd", "false", "2026-12-06T07:48:35Z")},
			"devel (commit 97a14412663c, 2026-12-06T07:48:35Z)", "uncommitted"},
		{"ldflags", "v9.9.9", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v9.9.9", "devel"},
		{"nothing recorded", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel (no commit recorded)", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Format(tc.ld, tc.info, true)
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.without) {
				t.Errorf("Format = %q, want %q and not %q", got, tc.want, tc.without)
			}
		})
	}
}

// The version given at link time wins over the build information, and
// Version reads what SetLinked was given.
func TestVersionTakesLinked(t *testing.T) {
	defer SetLinked("")
	SetLinked("v9.9.9-test")
	if got := Version(); got != "v9.9.9-test" && !strings.HasPrefix(got, "v9.9.9-test (") {
		t.Errorf("Version() = %q, want v9.9.9-test", got)
	}
	SetLinked("")
	if got := Version(); strings.Contains(got, "v9.9.9-test") {
		t.Errorf("Version() = %q after SetLinked(\"\")", got)
	}
}
