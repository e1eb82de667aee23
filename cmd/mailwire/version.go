package main

import (
	"runtime/debug"
	"strings"
)

// versionString is what --version prints after "mailwire version ": the
// version given at link time (-ldflags "-X main.version=v1.2.3"), else the
// module's own from the build information, followed by the commit the
// binary was built from when the go command recorded it.
//
// `go install github.com/mailwire/mailwire/cmd/mailwire@v1.2.3` records the
// module version (v1.2.3) and no commit; `go build` in a git checkout
// records a pseudo-version (v0.0.0-20260102150405-abcdef123456, "+dirty"
// when files were modified) and the vcs.* settings. A build that recorded
// neither (-buildvcs=false, a source tree without .git) says so: "devel
// (no commit recorded)", instead of fang's "unknown (built from source)".
func versionString(ldflags string, info *debug.BuildInfo, ok bool) string {
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
	var parts []string
	parts = append(parts, "commit "+rev[:min(len(rev), 12)])
	if modified {
		parts = append(parts, "with uncommitted changes")
	}
	if when != "" {
		parts = append(parts, when)
	}
	return v + " (" + strings.Join(parts, ", ") + ")"
}

// buildVersion is versionString for this binary.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	return versionString(version, info, ok)
}
