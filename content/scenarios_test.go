package content

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

var rfcInProse = regexp.MustCompile(`RFC \d+( §[0-9.]+[0-9])?`)

func TestScenarioTextsParse(t *testing.T) {
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(ScenarioOrder) {
		t.Fatalf("%d scenario texts, want %d", len(all), len(ScenarioOrder))
	}
	for i, s := range all {
		if s.Name != ScenarioOrder[i] {
			t.Errorf("scenario %d is %q, want %q", i, s.Name, ScenarioOrder[i])
		}
		if len(s.Summary) > 140 {
			t.Errorf("%s: summary of %d characters is too long for a picker line", s.Name, len(s.Summary))
		}
		for _, src := range s.Sources {
			if src.Ref == nil {
				continue
			}
			if err := checkSection(*src.Ref); err != nil {
				t.Errorf("%s: %v", s.Name, err)
			}
		}
		// Every RFC cited in the prose is also in the source list, so a
		// reader can find it.
		for _, m := range rfcInProse.FindAllStringSubmatch(s.Intro+" "+s.TargetIntro+" "+s.Conclusion, -1) {
			cited := m[0]
			if !slices.ContainsFunc(s.Sources, func(src Source) bool {
				if src.Ref == nil {
					return false
				}
				// "RFC 8461" in the prose is matched by any section of it.
				return src.Ref.String() == cited || (m[1] == "" && "RFC "+strconv.Itoa(src.Ref.RFC) == cited)
			}) {
				t.Errorf("%s: the prose cites %q, which is not among its sources", s.Name, m[0])
			}
		}
		if _, ok := ScenarioByName(s.Name); !ok {
			t.Errorf("ScenarioByName(%q) found nothing", s.Name)
		}
	}
}

// The required sources appear where they belong.
func TestScenarioRequiredSources(t *testing.T) {
	want := map[string][]string{
		"too-early":             {"RFC 2595 §2.3"},
		"strip-opportunistic":   {"RFC 3207 §6", "RFC 8461 §10", "RFC 7435", "nostarttls"},
		"strip-required":        {"RFC 8314 §5.2", "RFC 2595 §2.2"},
		"implicit-under-attack": {"RFC 8314 §3", "RFC 8314 §5.3"},
		"command-injection":     {"CVE-2011-0411", "RFC 3207 §4.2", "RFC 2595 §4", "RFC 9051 §6.2.1", "nostarttls"},
		"response-injection":    {"RFC 3207 §4.2", "nostarttls"},
		"tls12-vs-13":           {"RFC 8446 §2", "RFC 6066 §3"},
		"compare":               {"RFC 8314 §3", "RFC 3207 §4"},
		"hops":                  {"RFC 5321 §4.4", "RFC 8461", "RFC 7672"},
	}
	for name, cites := range want {
		s, ok := ScenarioByName(name)
		if !ok {
			t.Fatalf("no scenario %s", name)
		}
		var all []string
		for _, src := range s.Sources {
			all = append(all, src.String())
		}
		joined := strings.Join(all, "\n")
		for _, c := range cites {
			if !strings.Contains(joined, c) {
				t.Errorf("%s: no source %q in\n%s", name, c, joined)
			}
		}
	}
}

func TestParseScenarioErrors(t *testing.T) {
	good := "# T\nSummary: s\n\n## Introduction\ni\n\n## Conclusion\nc\n\n## Sources\n- RFC 3207 §6 | x\n"
	if _, err := ParseScenario("x", good); err != nil {
		t.Fatalf("good file: %v", err)
	}
	// The target's Introduction is optional, and may stand anywhere.
	withTarget := strings.Replace(good, "## Conclusion", "## Against a real server\nt1\nt2\n\nt3\n\n## Conclusion", 1)
	if s, err := ParseScenario("x", withTarget); err != nil || s.TargetIntro != "t1 t2\n\nt3" || s.Intro != "i" || s.Conclusion != "c" {
		t.Errorf("with a target section: %+v, %v", s, err)
	}
	for name, src := range map[string]string{
		"no title":       strings.Replace(good, "# T\n", "", 1),
		"no summary":     strings.Replace(good, "Summary: s\n", "", 1),
		"no intro":       strings.Replace(good, "## Introduction\ni\n", "", 1),
		"no conclusion":  strings.Replace(good, "## Conclusion\nc\n", "", 1),
		"no sources":     strings.Replace(good, "- RFC 3207 §6 | x\n", "", 1),
		"bad section":    strings.Replace(good, "## Conclusion", "## Outro", 1),
		"stray text":     strings.Replace(good, "Summary: s\n", "Summary: s\nstray\n", 1),
		"two titles":     good + "# again\n",
		"two intros":     good + "## Introduction\nmore\n",
		"bad source":     strings.Replace(good, "- RFC 3207 §6 | x", "- somewhere", 1),
		"http source":    strings.Replace(good, "- RFC 3207 §6 | x", "- A paper | http://example.org", 1),
		"bad rfc source": strings.Replace(good, "- RFC 3207 §6 | x", "- RFC x §6 | x", 1),
		"empty target":   good + "## Against a real server\n\n",
		"two targets":    good + "## Against a real server\nt\n## Against a real server\nu\n",
	} {
		if _, err := ParseScenario("x", src); err == nil {
			t.Errorf("%s: parsed without error", name)
		}
	}
}
