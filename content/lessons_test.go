package content

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLessonsParse(t *testing.T) {
	all, err := Lessons()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(LessonOrder) {
		t.Fatalf("%d lessons, want %d", len(all), len(LessonOrder))
	}
	entries, err := lessonFS.ReadDir("lessons")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(LessonOrder) {
		t.Errorf("%d files under lessons/, %d in LessonOrder: a file that is not listed is never shown", len(entries), len(LessonOrder))
	}
	for i, l := range all {
		if l.Name != LessonOrder[i] {
			t.Errorf("lesson %d is %q, want %q", i, l.Name, LessonOrder[i])
		}
		if len(l.Summary) > 140 {
			t.Errorf("%s: a summary of %d characters is too long for the list", l.Name, len(l.Summary))
		}
		if strings.Contains(l.Body, "{{") || strings.Contains(l.Body, "TODO") {
			t.Errorf("%s: an unexpanded include or a placeholder", l.Name)
		}
		if got, ok := LessonByName(l.Name); !ok || got.Title != l.Title {
			t.Errorf("LessonByName(%q) = %q, %v", l.Name, got.Title, ok)
		}
	}
}

// Every topic opens one lesson, and every screen the issue names has one:
// each port of the table, each scenario, the scan screen.
func TestLessonTopics(t *testing.T) {
	all, err := Lessons()
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for _, l := range all {
		for _, topic := range l.Topics {
			if prev, dup := owner[topic]; dup {
				t.Errorf("topic %s is in %s and %s", topic, prev, l.Name)
			}
			owner[topic] = l.Name
		}
	}
	// The scan's findings by the first part of their keys: the host
	// scan's (scan.*) and the domain scan's DNS ones.
	want := []string{"screen:ports", "screen:scan", "screen:connect", "screen:monitor",
		"finding:scan", "finding:dane", "finding:dnssec", "finding:mtasts", "finding:tlsrpt", "finding:starttls_policy"}
	for _, p := range CanonicalPorts() {
		want = append(want, "port:"+strconv.Itoa(p.Port), "session:"+strconv.Itoa(p.Port))
	}
	for _, s := range ScenarioOrder {
		want = append(want, "scenario:"+s)
	}
	for _, topic := range want {
		l, ok := LessonFor(topic)
		if !ok {
			t.Errorf("no lesson opens for %s", topic)
			continue
		}
		if port, isPort := strings.CutPrefix(topic, "port:"); isPort && l.Name == "ports" {
			if a := l.Anchor(topic); !strings.Contains(a, port) {
				t.Errorf("%s opens the ports lesson at %q, not at its own heading", topic, a)
			}
		}
	}
	if _, ok := LessonFor("port:1"); ok {
		t.Error("LessonFor found a lesson for port 1")
	}
	// A session on 465 opens explicit vs implicit TLS, the port table's
	// 465 the port table's lesson (issue 15 §1).
	for topic, want := range map[string]string{"session:465": "implicit-tls", "port:465": "ports",
		"session:25": "mail-vs-https", "scenario:too-early": "starttls", "finding:dane": "dane"} {
		if l, _ := LessonFor(topic); l.Name != want {
			t.Errorf("LessonFor(%s) = %q, want %q", topic, l.Name, want)
		}
	}
}

// Every RFC section a lesson cites exists (knownSections), every RFC it
// cites is among its sources, and every section among its sources has the
// title the RFC gives it (sectionTitles): the lessons are held to the
// annotations' standard.
func TestLessonCitations(t *testing.T) {
	all, err := Lessons()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range all {
		var refs []Ref
		for _, src := range l.Sources {
			if src.Ref == nil {
				if !strings.HasPrefix(src.URL, "https://") {
					t.Errorf("%s: source %q has no https address", l.Name, src.Text)
				}
				continue
			}
			r := *src.Ref
			r.Title = src.Text
			refs = append(refs, r)
			if err := checkSection(r); err != nil {
				t.Errorf("%s: %v", l.Name, err)
			}
			for _, e := range checkCitedTitle(l.Name, r) {
				t.Error(e)
			}
		}
		cited := citedInProse(l.Body) // a quoted annotation's references count too
		if len(cited) == 0 {
			t.Errorf("%s cites no RFC", l.Name)
		}
		for _, c := range cited {
			if err := checkSection(c); err != nil {
				t.Errorf("%s: %v", l.Name, err)
			}
			if !hasCitation(refs, Ref{RFC: c.RFC}) {
				t.Errorf("%s: the prose cites %s, and RFC %d is not among its sources", l.Name, c, c.RFC)
			}
		}
	}
}

// The required sources appear in the lesson they belong to.
func TestLessonRequiredSources(t *testing.T) {
	want := map[string][]string{
		"ports":            {"RFC 8314 §7.3", "RFC 6409 §3.1", "RFC 1939 §3", "RFC 2595 §7", "RFC 8314 §7.1", "RFC 8314 §7.2"},
		"implicit-tls":     {"RFC 8314 §3", "RFC 8314 §3.3", "nostarttls"},
		"starttls":         {"CVE-2011-0411", "nostarttls", "RFC 3207 §6", "RFC 3207 §4.2"},
		"mail-vs-https":    {"RFC 7435", "RFC 3207 §4", "RFC 7672 §1.3", "RFC 7301 §3.1", "alpaca-attack.com"},
		"dane":             {"RFC 7672 §3", "RFC 6698 §2.1", "RFC 7671"},
		"dnssec":           {"RFC 4033 §3", "RFC 4034 §2", "RFC 4035 §5"},
		"mta-sts":          {"RFC 8461 §5", "RFC 8460 §3"},
		"policy-list":      {"eff.org/deeplinks/2020/04"},
		"versions-ciphers": {"RFC 8997 §3", "RFC 9325 §3.1.1", "RFC 9325 §4.2", "guidelines/5.7"},
	}
	for name, needles := range want {
		l, ok := LessonByName(name)
		if !ok {
			t.Errorf("no lesson %s", name)
			continue
		}
		var srcs []string
		for _, s := range l.Sources {
			srcs = append(srcs, s.String())
		}
		all := strings.Join(srcs, "\n")
		for _, n := range needles {
			if !strings.Contains(all, n) {
				t.Errorf("%s: no source %q", name, n)
			}
		}
	}
	// The profile named is the one the scan grades by (sessions/scan's
	// MozillaProfile), and the lesson says which version it is.
	l, _ := LessonByName("versions-ciphers")
	if !strings.Contains(l.Body, "version 5.7") {
		t.Error("versions-ciphers does not name Mozilla's profile version")
	}
}

// Every link parses back to itself, and a replay link's recording is in
// the source tree.
func TestLessonLinks(t *testing.T) {
	all, err := Lessons()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[LinkKind]bool{}
	for _, l := range all {
		for _, try := range l.Try {
			kinds[try.Link.Kind] = true
			back, err := ParseLink(try.Link.String())
			if err != nil || back != try.Link {
				t.Errorf("%s: %q reads back as %+v, %v", l.Name, try.Link, back, err)
			}
			if try.Link.Command() == "" {
				t.Errorf("%s: %q has no command", l.Name, try.Link)
			}
			if try.Link.Kind == LinkReplay {
				if !HasRecording(try.Link.Fixture) {
					t.Errorf("%s: %q: no bundled recording %q", l.Name, try.Link, try.Link.Fixture)
				}
			}
			if try.Link.Kind == LinkLesson && try.Link.Lesson == l.Name {
				t.Errorf("%s links to itself", l.Name)
			}
		}
	}
	for _, k := range []LinkKind{LinkSession, LinkScenario, LinkScan, LinkReplay, LinkLesson} {
		if !kinds[k] {
			t.Errorf("no lesson has a %s link", k)
		}
	}
}

func TestParseLink(t *testing.T) {
	good := map[string]Link{
		"mailwire:session?port=587":                                {Kind: LinkSession, Port: 587},
		"mailwire:scenario?name=too-early&variant=refuse&port=143": {Kind: LinkScenario, Scenario: "too-early", Variant: "refuse", Port: 143},
		"mailwire:scenario?name=compare":                           {Kind: LinkScenario, Scenario: "compare"},
		"mailwire:scan?host=lab":                                   {Kind: LinkScan, Host: "lab"},
		"mailwire:replay?fixture=port-587":                         {Kind: LinkReplay, Fixture: "port-587"},
		"mailwire:lesson?name=dnssec":                              {Kind: LinkLesson, Lesson: "dnssec"},
	}
	for s, want := range good {
		got, err := ParseLink(s)
		if err != nil || got != want {
			t.Errorf("ParseLink(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	commands := map[string]string{
		"mailwire:session?port=587":                                "mailwire 587",
		"mailwire:scenario?name=too-early&variant=refuse&port=143": "mailwire --scenario too-early --variant refuse 143",
		"mailwire:scan?host=lab":                                   "mailwire scan --lab",
		"mailwire:replay?fixture=port-587":                         "mailwire replay port-587",
		"mailwire:lesson?name=dnssec":                              "mailwire lesson dnssec",
	}
	for s, want := range commands {
		l, _ := ParseLink(s)
		if got := l.Command(); got != want {
			t.Errorf("%s: Command() = %q, want %q", s, got, want)
		}
	}
	bad := []string{
		"", "session?port=587", "https://example.org", "mailwire:", "mailwire:session", "mailwire:session?port=588",
		"mailwire:session?port=587&port=25", "mailwire:session?port=587&name=x", "mailwire:teleport?port=25",
		"mailwire:scenario?name=nope", "mailwire:scenario?name=Too-Early", "mailwire:scan?host=mail.example.org",
		"mailwire:replay?fixture=../../etc/passwd", "mailwire:lesson?name=nope", "mailwire:session?port=587#x",
		"mailwire:scenario?name=too-early&variant=", "mailwire:replay?fixture=a%0Ab",
	}
	for _, s := range bad {
		if l, err := ParseLink(s); err == nil {
			t.Errorf("ParseLink(%q) = %+v, want an error", s, l)
		}
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"mailwire:session?port=587", "mailwire:scenario?name=too-early&variant=refuse&port=143",
		"mailwire:replay?fixture=port-587", "mailwire:lesson?name=ports", "mailwire:scan?host=lab"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			return
		}
		back, err := ParseLink(l.String())
		if err != nil || back != l {
			t.Fatalf("%q parsed as %+v, whose String %q reads back as %+v, %v", s, l, l.String(), back, err)
		}
		for _, r := range l.Command() {
			if r < ' ' || r == 0x7f {
				t.Fatalf("%q: a control character in the command %q", s, l.Command())
			}
		}
	})
}

func TestParseLessonErrors(t *testing.T) {
	const good = "# T\nSummary: s\n\nBody.\n\n## Try it\n- [x](mailwire:session?port=587)\n\n## Sources\n- RFC 8314 §3 | Implicit TLS\n"
	if _, err := ParseLesson("t", good); err != nil {
		t.Fatalf("the minimal lesson: %v", err)
	}
	cases := map[string]string{
		"no title":          strings.Replace(good, "# T\n", "T\n", 1),
		"no summary":        strings.Replace(good, "Summary: s\n", "", 1),
		"no try it":         strings.Replace(good, "## Try it\n- [x](mailwire:session?port=587)\n\n", "", 1),
		"empty try it":      strings.Replace(good, "- [x](mailwire:session?port=587)", "", 1),
		"bad link":          strings.Replace(good, "port=587", "port=588", 1),
		"bad entry":         strings.Replace(good, "- [x](mailwire:session?port=587)", "- see mailwire 587", 1),
		"no sources":        strings.Replace(good, "- RFC 8314 §3 | Implicit TLS\n", "", 1),
		"link in prose":     strings.Replace(good, "Body.", "Body [x](mailwire:session?port=25).", 1),
		"second title":      strings.Replace(good, "Body.", "Body.\n\n# Again", 1),
		"bad topic":         strings.Replace(good, "Summary: s\n", "Summary: s\nTopics: port 25\n", 1),
		"unknown include":   strings.Replace(good, "Body.", "{{annotation no.such.key}}", 1),
		"include a section": strings.Replace(good, "Body.", "{{port 465 History}}", 1),
		"include no port":   strings.Replace(good, "Body.", "{{port 466 Purpose}}", 1),
		"include scenario":  strings.Replace(good, "Body.", "{{scenario too-early Sources}}", 1),
		"broken include":    strings.Replace(good, "Body.", "{{port}", 1),
		"after sources":     good + "## More\n",
	}
	for name, src := range cases {
		if _, err := ParseLesson("t", src); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	withTopics := strings.Replace(good, "Summary: s\n", "Summary: s\nTopics: port:25, screen:scan\n", 1)
	l, err := ParseLesson("t", withTopics)
	if err != nil || !slices.Equal(l.Topics, []string{"port:25", "screen:scan"}) {
		t.Errorf("topics: %v, %v", l.Topics, err)
	}
}

// An include is the text of its home, so a correction there reaches the
// lesson too.
func TestLessonIncludes(t *testing.T) {
	l, ok := LessonByName("ports")
	if !ok {
		t.Fatal("no ports lesson")
	}
	p465, _ := Port(465)
	if !strings.Contains(l.Body, p465.Purpose) {
		t.Error("the ports lesson does not carry port 465's Purpose as the port page has it")
	}
	for _, r := range PortTable() {
		if !strings.Contains(l.Body, "| "+r.Protocol+" |") {
			t.Errorf("the port table in the ports lesson lacks %s", r.Protocol)
		}
	}
	d, _ := LessonByName("dane")
	a, _ := Lookup("dane.tlsa.match")
	if !strings.Contains(d.Body, "> **"+strings.TrimSuffix(a.Title, ".")+"**\n>\n> ") || !strings.Contains(d.Body, JoinRefs(a.Refs)) {
		t.Error("the dane lesson does not quote dane.tlsa.match with its title and references")
	}
	s, _ := LessonByName("starttls")
	c, _ := ScenarioByName("command-injection")
	if !strings.Contains(s.Body, c.Conclusion) {
		t.Error("the starttls lesson does not carry command-injection's conclusion")
	}
	md := s.Markdown()
	if !strings.HasPrefix(md, "# "+s.Title+"\n") || !strings.Contains(md, "\n## Sources\n") ||
		!strings.Contains(md, "<https://nostarttls.secvuln.info>") {
		t.Errorf("Markdown() lacks the title, the sources or an autolink:\n%s", md)
	}
}
