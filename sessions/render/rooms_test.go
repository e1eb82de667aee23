package render_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// The rooms of sessions/ and which other rooms each may import (non-test
// code): data flows one way, from the tap and the dissector through the
// engine to the renderers, and no room of the engine reaches a screen.
// README's Architecture section draws the same graph.
const mod = "github.com/mailwire/mailwire/"

var rooms = map[string][]string{
	"sessions/certs":          nil,
	"sessions/internal/words": nil,
	"sessions/internal/peers": nil,
	"sessions/tlsmsg":         {"sessions/certs", "sessions/internal/words"},
	"sessions/wire":           {"sessions/tlsmsg", "sessions/certs"},
	"sessions/dissect":        {"sessions/wire", "sessions/tlsmsg", "sessions/internal/words"},
	"sessions/protocol":       {"sessions/wire"},
	"sessions/lens":           {"sessions/wire", "sessions/tlsmsg", "sessions/protocol"},
	"sessions": {"sessions/wire", "sessions/tlsmsg", "sessions/certs", "sessions/dissect",
		"sessions/protocol", "sessions/lens", "content"},
	// A recording's header says which mailwire wrote it: the one version
	// string, internal/buildinfo's.
	"sessions/render": {"content", "sessions/wire", "sessions/tlsmsg", "sessions/certs", "sessions/lens",
		"sessions/protocol", "sessions/internal/words", "internal/buildinfo"},
	// The lab is the servers mailwire's clients talk to: it shares no code
	// with the engine, so a bug cannot hide on both sides at once; its port
	// plan comes from content's table of canonical ports.
	"sessions/lab":     {"content", "internal/xdg"},
	"sessions/loadgen": nil,
	// The lab monitor: the lab's connections seen from the server's side,
	// through the engine's dissector, protocol readers and lens.
	"sessions/monitor": {"sessions", "sessions/lab", "sessions/wire", "sessions/dissect", "sessions/protocol",
		"sessions/lens", "sessions/tlsmsg"},
	"sessions/mitm": {"sessions", "sessions/wire", "sessions/certs", "sessions/dissect", "sessions/protocol",
		"sessions/internal/words", "sessions/tlsmsg"},
	"sessions/scenario": {"sessions", "sessions/wire", "sessions/lens", "sessions/protocol", "sessions/mitm",
		"sessions/lab", "content"},
	// Name, certificate and TLS scans (scan --domain, issue 13).
	"sessions/resolver":              nil,
	"sessions/resolver/resolvertest": {"sessions/resolver"},
	"sessions/maildomain":            {"sessions/certs", "sessions/resolver"},
	// A pcap of what a session's connections carried (wire.Capture),
	// for Wireshark.
	"sessions/pcap": {"sessions/wire"},
	"sessions/tlsprobe": {"sessions/wire", "sessions/tlsmsg", "sessions/dissect", "sessions/protocol",
		"sessions/certs"},
	// mailwire scan: the ports of a host or the MX hosts of a domain,
	// graded; it runs sessions, probes and scenarios.
	"sessions/scan": {"sessions", "sessions/scenario", "sessions/tlsprobe", "sessions/maildomain",
		"sessions/resolver", "sessions/certs", "sessions/protocol", "sessions/tlsmsg", "sessions/wire",
		"sessions/lens", "content"},
	// Teaching prose is data: content imports no code of mailwire.
	"content": nil,
}

// goList runs go list at the module root.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// TestEngineImportsNoCharm: every package under sessions/ but the
// renderers, with everything it imports, is free of Charm modules
// (issue 10): the engine runs without a terminal, and only render and
// tui/ may draw with lipgloss.
func TestEngineImportsNoCharm(t *testing.T) {
	var engine []string
	for _, p := range goList(t, "./sessions/...") {
		if p != mod+"sessions/render" {
			engine = append(engine, p)
		}
	}
	if len(engine) < 10 {
		t.Fatalf("go list found only %v", engine)
	}
	for _, dep := range goList(t, append([]string{"-deps"}, engine...)...) {
		if strings.HasPrefix(dep, "charm.land/") || strings.HasPrefix(dep, "github.com/charmbracelet/") {
			t.Errorf("the engine imports %s (go list -deps ./sessions/... without render)", dep)
		}
	}
}

// TestRoomsImportOneWay: each room imports only the rooms listed above,
// and every package under sessions/ is listed (a new room says where it
// stands).
func TestRoomsImportOneWay(t *testing.T) {
	// Packages with non-test code only: the rules are about what ships.
	lines := goList(t, "-f", "{{if .GoFiles}}{{.ImportPath}}:{{join .Imports \",\"}}{{end}}",
		"./sessions/...", "./content/...")
	for _, l := range lines {
		pkg, imps, _ := strings.Cut(l, ":")
		room := strings.TrimPrefix(pkg, mod)
		allowed, ok := rooms[room]
		if !ok {
			t.Errorf("%s is not in the rooms table of rooms_test.go", room)
			continue
		}
		for _, imp := range strings.Split(imps, ",") {
			dep, ours := strings.CutPrefix(imp, mod)
			// words (Plural) is a leaf every room that phrases may use.
			if !ours || slices.Contains(allowed, dep) || dep == "sessions/internal/words" {
				continue
			}
			t.Errorf("%s imports %s, which it may not (allowed: %v)", room, dep, allowed)
		}
	}
}
