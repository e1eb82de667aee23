// Package buildinfo is the one home of mailwire's version string: what
// `mailwire --version` prints and what a recording says it was "recorded
// … by" (render.RecordingHeader.Mailwire), whichever way the file was made
// (--record, or w on the session screen). It imports nothing of mailwire,
// so that the renderers, the screens and the commands all read it here.
package buildinfo

import (
	"runtime/debug"
	"strings"
	"sync"
)

var (
	mu     sync.RWMutex
	linked string
)

// SetLinked records the version given at link time (cmd/mailwire's
// main.version, -ldflags "-X main.version=v1.2.3"): the command sets it
// before it runs anything, and Version then prefers it to the build
// information.
func SetLinked(v string) {
	mu.Lock()
	defer mu.Unlock()
	linked = v
}

// Version is this binary's version string (Format of the version given at
// link time and the build information).
func Version() string {
	mu.RLock()
	ld := linked
	mu.RUnlock()
	info, ok := debug.ReadBuildInfo()
	return Format(ld, info, ok)
}

// Format is the version string: the version given at link time, else the
// module's own from the build information, followed by the commit the
// binary was built from when the go command recorded it.
//
// `go install github.com/mailwire/mailwire/cmd/mailwire@v1.2.3` records the
// module version (v1.2.3) and no commit; `go build` in a git checkout
// records a pseudo-version (v0.0.0-20260102150405-abcdef123456, "+dirty"
// when files were modified) and the vcs.* settings. A build that recorded
// neither (-buildvcs=false, a source tree without .git) says so: "devel
// (no commit recorded)", instead of fang's "unknown (built from source)".
func Format(ldflags string, info *debug.BuildInfo, ok bool) string {
	v := ldflags
	var rev, when string
	var modified bool
	if ok && info != nil {
		if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "devel"
	}
	if rev == "" {
		if v == "devel" {
			return v + " (no commit recorded)"
		}
		return v
	}
	parts := []string{"commit " + rev[:min(len(rev), 12)]}
	if modified {
		parts = append(parts, "with uncommitted changes")
	}
	if when != "" {
		parts = append(parts, when)
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}
