package content

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A lesson's "Try it" links name what to open with one small syntax, parsed
// here and nowhere else:
//
//	mailwire:session?port=587                                  a live session on a canonical port
//	mailwire:scenario?name=too-early&variant=refuse&port=143   a scenario (variant and port optional)
//	mailwire:scan?host=lab                                     a scan of the lab's ports
//	mailwire:replay?fixture=port-587                           a bundled recording (recordings.go)
//	mailwire:lesson?name=dnssec                                another lesson
//
// The terminal interface opens the screen a link names; the CLI prints the
// command that opens it (Link.Command). Whether a scenario's variant and
// port exist is the scenario registry's business (sessions/scenario), which
// content does not import: the lesson tests check every link against it.

// LinkKind is what a link opens.
type LinkKind string

// The kinds of link.
const (
	LinkSession  LinkKind = "session"
	LinkScenario LinkKind = "scenario"
	LinkScan     LinkKind = "scan"
	LinkReplay   LinkKind = "replay"
	LinkLesson   LinkKind = "lesson"
)

// LinkScheme starts every link.
const LinkScheme = "mailwire"

// ScanLab is the only host a scan link names: the embedded lab, which
// `mailwire scan --lab` starts in-process.
const ScanLab = "lab"

// Link is a parsed link.
type Link struct {
	Kind     LinkKind
	Port     int    // session (required), scenario (0: the scenario's default)
	Scenario string // scenario
	Variant  string // scenario ("" : the default)
	Host     string // scan: ScanLab
	Fixture  string // replay: "port-587", "scenario-too-early"
	Lesson   string // lesson
}

// linkKeys lists, per kind, the query keys a link may carry, in the order
// String writes them; required ones are marked.
var linkKeys = map[LinkKind][]struct {
	name     string
	required bool
}{
	LinkSession:  {{"port", true}},
	LinkScenario: {{"name", true}, {"variant", false}, {"port", false}},
	LinkScan:     {{"host", true}},
	LinkReplay:   {{"fixture", true}},
	LinkLesson:   {{"name", true}},
}

// linkWordRE is a scenario, variant, fixture or lesson name; compiled on
// first use.
var linkWordRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`) })

// ParseLink parses a link. It checks the syntax, that a session's port is
// canonical, that a scan names the lab, and that a scenario or lesson is
// one content knows; whether a scenario takes that variant and port is
// checked by the caller that knows the registry.
func ParseLink(s string) (Link, error) {
	fail := func(format string, args ...any) (Link, error) {
		return Link{}, fmt.Errorf("link %q: %s", s, fmt.Sprintf(format, args...))
	}
	u, err := url.Parse(s)
	if err != nil {
		return fail("%v", err)
	}
	if u.Scheme != LinkScheme || u.Opaque == "" || u.Fragment != "" {
		return fail("want %s:KIND?KEY=VALUE&…", LinkScheme)
	}
	l := Link{Kind: LinkKind(u.Opaque)}
	keys, ok := linkKeys[l.Kind]
	if !ok {
		return fail("unknown kind %q (want session, scenario, scan, replay or lesson)", u.Opaque)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("%v", err)
	}
	for k, vs := range q {
		known := false
		for _, key := range keys {
			known = known || key.name == k
		}
		switch {
		case !known:
			return fail("%s takes no %q", l.Kind, k)
		case len(vs) != 1 || vs[0] == "":
			return fail("%q wants one value", k)
		}
	}
	for _, key := range keys {
		v := q.Get(key.name)
		if v == "" {
			if key.required {
				return fail("%s needs %s=", l.Kind, key.name)
			}
			continue
		}
		if key.name == "port" {
			n, err := strconv.Atoi(v)
			if _, canonical := CanonicalPort(n); err != nil || !canonical {
				return fail("port %q is not a canonical port", v)
			}
			l.Port = n
			continue
		}
		if !linkWordRE().MatchString(v) {
			return fail("%s=%q: want lower-case letters, digits and dashes", key.name, v)
		}
		switch {
		case l.Kind == LinkScenario && key.name == "name":
			l.Scenario = v
		case key.name == "variant":
			l.Variant = v
		case key.name == "host":
			l.Host = v
		case key.name == "fixture":
			l.Fixture = v
		case l.Kind == LinkLesson:
			l.Lesson = v
		}
	}
	switch {
	case l.Kind == LinkScenario && !slices.Contains(ScenarioOrder, l.Scenario):
		return fail("no scenario %q", l.Scenario)
	case l.Kind == LinkLesson && !slices.Contains(LessonOrder, l.Lesson):
		return fail("no lesson %q", l.Lesson)
	case l.Kind == LinkScan && l.Host != ScanLab:
		return fail("a scan link names host=%s (a lesson cannot know your servers)", ScanLab)
	}
	return l, nil
}

// String is the link's canonical form, which ParseLink reads back.
func (l Link) String() string {
	var q []string
	add := func(k, v string) {
		if v != "" {
			q = append(q, k+"="+url.QueryEscape(v))
		}
	}
	port := ""
	if l.Port != 0 {
		port = strconv.Itoa(l.Port)
	}
	switch l.Kind {
	case LinkSession:
		add("port", port)
	case LinkScenario:
		add("name", l.Scenario)
		add("variant", l.Variant)
		add("port", port)
	case LinkScan:
		add("host", l.Host)
	case LinkReplay:
		add("fixture", l.Fixture)
	case LinkLesson:
		add("name", l.Lesson)
	}
	return LinkScheme + ":" + string(l.Kind) + "?" + strings.Join(q, "&")
}

// Command is the command line that opens what the link names: the
// terminal interface on a session or scenario (as enter on the port table
// or the picker does), the scan of the lab, the replay of a bundled
// recording (recordings.go), another lesson.
func (l Link) Command() string {
	switch l.Kind {
	case LinkSession:
		return "mailwire " + strconv.Itoa(l.Port)
	case LinkScenario:
		cmd := "mailwire --scenario " + l.Scenario
		if l.Variant != "" {
			cmd += " --variant " + l.Variant
		}
		if l.Port != 0 {
			cmd += " " + strconv.Itoa(l.Port)
		}
		return cmd
	case LinkScan:
		return "mailwire scan --lab"
	case LinkReplay:
		return "mailwire replay " + l.Fixture
	case LinkLesson:
		return "mailwire lesson " + l.Lesson
	}
	return ""
}
