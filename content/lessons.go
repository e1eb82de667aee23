package content

import (
	"embed"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Lessons: one Markdown file per lesson under lessons/, named after the
// lesson (ports.md), for learners who want the why behind what the
// sessions show. A lesson is free Markdown between a strict head and a
// strict tail, so that a broken file fails the tests rather than showing
// half a lesson:
//
//	# Title
//	Summary: one line for the list of lessons
//	Topics: port:25, session:465, scenario:too-early, finding:dane, screen:scan
//
//	Markdown: paragraphs, "## " headings, lists, tables.
//	{{port 465 What goes wrong}}
//
//	## Try it
//	- [Run a session on port 587](mailwire:session?port=587)
//
//	## Sources
//	- RFC 8314 §7.3 | Submissions Port Registration
//	- Poddebniak et al.: Why TLS is better without STARTTLS | https://nostarttls.secvuln.info
//
// Topics say which screens open the lesson with the lesson key: a port
// selected on the port table ("port:N"), a session on a port
// ("session:N"), a scenario ("scenario:NAME"), a scan finding by the
// first part of its annotation key ("finding:dane" for dane.tlsa.match),
// a screen as a whole ("screen:scan"). A topic belongs to one lesson at
// most; the lesson is shown at the first "## " heading that names the
// topic's value (port:465 opens the ports lesson at its "Port 465"
// heading).
//
// One home per fact: a lesson quotes what a port page, a scenario or an
// annotation already says instead of saying it again in other words. A
// line that is only an include directive is replaced by that text when
// the lesson loads:
//
//	{{port 465 What goes wrong}}   the prose of a port page's section
//	{{scenario too-early Conclusion}}   a scenario's Introduction or Conclusion
//	{{annotation dane.tlsa.match}}   an annotation, quoted with its title and references
//	{{porttable}}   the port table (PortTable), as a Markdown table
//
// The links of "Try it" use the syntax of links.go; the prose itself
// carries no mailwire: link (cross-references name the lesson in words).

//go:embed lessons/*.md
var lessonFS embed.FS

// LessonOrder is the canonical order of the lessons: the list shows them
// so, from the port table to choosing cipher suites.
var LessonOrder = []string{
	"ports", "implicit-tls", "starttls", "mail-vs-https",
	"dane", "dnssec", "mta-sts", "policy-list", "versions-ciphers",
}

// Lesson is one lesson.
type Lesson struct {
	Name    string   // "ports"
	Title   string   // the "# " title
	Summary string   // one line, for the list
	Topics  []string // "port:587", "scenario:too-early", "screen:scan"
	// Body is the lesson's Markdown between its head and "## Try it",
	// includes expanded, without the title.
	Body    string
	Try     []TryLink
	Sources []Source
}

// TryLink is one entry of a lesson's "Try it": what it does, in words, and
// the link that does it.
type TryLink struct {
	Text string
	Link Link
}

var (
	lessonsOnce sync.Once
	lessons     map[string]Lesson
	lessonsErr  error
)

func loadLessons() (map[string]Lesson, error) {
	lessonsOnce.Do(func() {
		lessons = map[string]Lesson{}
		var errs []string
		for _, name := range LessonOrder {
			b, err := lessonFS.ReadFile(path.Join("lessons", name+".md"))
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			l, err := ParseLesson(name, string(b))
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			lessons[name] = l
		}
		if len(errs) > 0 {
			lessonsErr = fmt.Errorf("lessons: %s", strings.Join(errs, "; "))
		}
	})
	return lessons, lessonsErr
}

// Lessons returns every lesson in canonical order, or the error that made
// one unreadable.
func Lessons() ([]Lesson, error) {
	all, err := loadLessons()
	if err != nil {
		return nil, err
	}
	out := make([]Lesson, 0, len(LessonOrder))
	for _, name := range LessonOrder {
		out = append(out, all[name])
	}
	return out, nil
}

// LessonByName returns one lesson.
func LessonByName(name string) (Lesson, bool) {
	all, _ := loadLessons()
	l, ok := all[name]
	return l, ok
}

// LessonFor returns the lesson whose Topics hold topic ("port:465",
// "scenario:too-early", "screen:scan").
func LessonFor(topic string) (Lesson, bool) {
	all, _ := loadLessons()
	for _, name := range LessonOrder {
		l, ok := all[name]
		if ok && l.HasTopic(topic) {
			return l, true
		}
	}
	return Lesson{}, false
}

// HasTopic says whether the lesson opens for topic.
func (l Lesson) HasTopic(topic string) bool {
	for _, t := range l.Topics {
		if t == topic {
			return true
		}
	}
	return false
}

// Anchor is the "## " heading (its text) where the lesson opens for topic:
// the first one that names the topic's value as a word ("Port 465: …" for
// port:465); "" for the top.
func (l Lesson) Anchor(topic string) string {
	_, value, ok := strings.Cut(topic, ":")
	if !ok || value == "" {
		return ""
	}
	word := regexp.MustCompile(`(^|[^A-Za-z0-9-])` + regexp.QuoteMeta(value) + `($|[^A-Za-z0-9-])`)
	for _, line := range strings.Split(l.Body, "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok && word.MatchString(h) {
			return strings.TrimSpace(h)
		}
	}
	return ""
}

// Markdown is the lesson as one Markdown document: the title, the body and
// the sources. "Try it" is left to the caller, which shows its links as
// what it can open (the terminal interface) or as commands (the CLI),
// between BodyMarkdown and SourcesMarkdown.
func (l Lesson) Markdown() string {
	return l.BodyMarkdown() + "\n\n" + l.SourcesMarkdown()
}

// BodyMarkdown is the lesson's title and body.
func (l Lesson) BodyMarkdown() string {
	return "# " + l.Title + "\n\n" + l.Body
}

// SourcesMarkdown is the lesson's "## Sources" section.
func (l Lesson) SourcesMarkdown() string {
	var b strings.Builder
	b.WriteString("## Sources\n\n")
	for _, s := range l.Sources {
		b.WriteString("- " + sourceMarkdown(s) + "\n")
	}
	return b.String()
}

// sourceMarkdown is a source as a list item: "RFC 8314 §7.3 (Submissions
// Port Registration)", or the text with its address as an autolink.
func sourceMarkdown(s Source) string {
	if s.Ref != nil {
		return s.String()
	}
	return s.Text + " <" + s.URL + ">"
}

// Lesson head and tail.
const (
	lessonTry     = "## Try it"
	lessonSources = "## Sources"
)

// The lesson file's patterns, compiled on first use (the lessons are
// parsed once, lazily): not at every command's start.
var (
	// topicRE is one topic: port:N, session:N, scenario:NAME,
	// finding:PREFIX, screen:NAME.
	topicRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^((port|session):[0-9]+|(scenario|screen):[a-z0-9-]+|finding:[a-z0-9_]+)$`)
	})
	// tryRE is one "Try it" entry: "- [what it does](mailwire:…)".
	tryRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^- \[([^\]]+)\]\((` + LinkScheme + `:[^)\s]+)\)$`)
	})
	// includeRE is an include directive, alone on its line.
	includeRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^\{\{(porttable|port|scenario|annotation) ?([^{}]*)\}\}$`)
	})
)

// ParseLesson parses one lesson file and expands its includes.
func ParseLesson(name, src string) (Lesson, error) {
	fail := func(format string, args ...any) (Lesson, error) {
		return Lesson{}, fmt.Errorf("lessons/%s.md: %s", name, fmt.Sprintf(format, args...))
	}
	src = strings.ReplaceAll(src, "\r\n", "\n")
	head, rest, ok := strings.Cut(src, "\n"+lessonTry+"\n")
	if !ok {
		return fail("no %q section", lessonTry)
	}
	try, sources, ok := strings.Cut(rest, "\n"+lessonSources+"\n")
	if !ok {
		return fail("no %q section after %q", lessonSources, lessonTry)
	}
	l := Lesson{Name: name}
	lines := strings.Split(head, "\n")
	body := 0
	for i, line := range lines {
		line = strings.TrimRight(line, " \t")
		switch {
		case i == 0:
			t, ok := strings.CutPrefix(line, "# ")
			if !ok || strings.TrimSpace(t) == "" {
				return fail("the first line must be the '# ' title")
			}
			l.Title = strings.TrimSpace(t)
			continue
		case strings.HasPrefix(line, "Summary:") && l.Summary == "" && body == 0:
			l.Summary = strings.TrimSpace(strings.TrimPrefix(line, "Summary:"))
			continue
		case strings.HasPrefix(line, "Topics:") && l.Topics == nil && body == 0:
			l.Topics = []string{}
			for _, t := range strings.Split(strings.TrimPrefix(line, "Topics:"), ",") {
				t = strings.TrimSpace(t)
				if !topicRE().MatchString(t) {
					return fail("topic %q: want port:N, session:N, scenario:NAME, finding:PREFIX or screen:NAME", t)
				}
				l.Topics = append(l.Topics, t)
			}
			continue
		case body == 0 && line == "":
			continue
		}
		if body == 0 {
			body = i
		}
	}
	if body == 0 {
		return fail("no body")
	}
	expanded, err := expandIncludes(lines[body:])
	if err != nil {
		return fail("%v", err)
	}
	l.Body = strings.TrimSpace(expanded)
	for i, line := range strings.Split(l.Body, "\n") {
		switch {
		case strings.HasPrefix(line, "# "):
			return fail("body line %d: a second title", i+1)
		case strings.Contains(line, LinkScheme+":"):
			return fail("body line %d: a %s: link outside %q (name the lesson or screen in words)", i+1, LinkScheme, lessonTry)
		case strings.HasPrefix(line, "## Sources") || strings.HasPrefix(line, "## Try it"):
			return fail("body line %d: %q twice", i+1, line)
		}
	}
	for _, line := range strings.Split(try, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := tryRE().FindStringSubmatch(line)
		if m == nil {
			return fail("try-it entry %q: want '- [what it does](%s:…)'", line, LinkScheme)
		}
		link, err := ParseLink(m[2])
		if err != nil {
			return fail("%v", err)
		}
		l.Try = append(l.Try, TryLink{Text: m[1], Link: link})
	}
	for _, line := range strings.Split(sources, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "## ") {
			return fail("%q: nothing may follow the sources", line)
		}
		s, err := parseSource(line)
		if err != nil {
			return fail("%v", err)
		}
		l.Sources = append(l.Sources, s)
	}
	switch {
	case l.Summary == "":
		return fail("no Summary line")
	case len(l.Try) == 0:
		return fail("no link under %q", lessonTry)
	case len(l.Sources) == 0:
		return fail("no sources")
	}
	return l, nil
}

// expandIncludes replaces each include directive with the text it names.
func expandIncludes(lines []string) (string, error) {
	var b strings.Builder
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		if !strings.HasPrefix(trimmed, "{{") {
			b.WriteString(strings.TrimRight(line, " \t") + "\n")
			continue
		}
		m := includeRE().FindStringSubmatch(trimmed)
		if m == nil {
			return "", fmt.Errorf("include %q: want {{porttable}}, {{port N SECTION}}, {{scenario NAME Introduction|Conclusion}} or {{annotation KEY}}", trimmed)
		}
		text, err := include(m[1], strings.TrimSpace(m[2]))
		if err != nil {
			return "", fmt.Errorf("include %q: %w", trimmed, err)
		}
		b.WriteString(text + "\n")
	}
	return b.String(), nil
}

// include is the text an include directive names.
func include(kind, arg string) (string, error) {
	switch kind {
	case "porttable":
		if arg != "" {
			return "", fmt.Errorf("porttable takes nothing")
		}
		return portTableMarkdown(), nil
	case "port":
		num, section, _ := strings.Cut(arg, " ")
		port, err := strconv.Atoi(num)
		if err != nil {
			return "", fmt.Errorf("port %q: want a number", num)
		}
		d, ok := Port(port)
		if !ok {
			return "", fmt.Errorf("no page for port %d", port)
		}
		text := map[string]string{
			headPurpose: d.Purpose, headHow: d.HowTLSStarts, headWrong: d.WhatGoesWrong, headPolicy: d.Policy,
		}[section]
		if text == "" {
			return "", fmt.Errorf("port %d: no section %q (want %s, %s, %s or %s)", port, section, headPurpose, headHow, headWrong, headPolicy)
		}
		return text, nil
	case "scenario":
		name, section, _ := strings.Cut(arg, " ")
		s, ok := ScenarioByName(name)
		if !ok {
			return "", fmt.Errorf("no scenario %q", name)
		}
		switch section {
		case "Introduction":
			return s.Intro, nil
		case "Conclusion":
			return s.Conclusion, nil
		}
		return "", fmt.Errorf("scenario %s: no section %q (want Introduction or Conclusion)", name, section)
	case "annotation":
		a, ok := Lookup(arg)
		if !ok || a.Key != arg {
			return "", fmt.Errorf("no annotation %q", arg)
		}
		return quoteAnnotation(a), nil
	}
	return "", fmt.Errorf("unknown include %q", kind)
}

// quoteAnnotation is an annotation as a Markdown block quote: its title in
// bold on a line of its own (glamour loses the quote's mark when it wraps
// a line that mixes bold and plain text), its prose, its references, and
// what to change when it says.
func quoteAnnotation(a Annotation) string {
	paras := strings.Split(a.Text, "\n\n")
	paras = append([]string{"**" + strings.TrimSuffix(a.Title, ".") + "**"}, paras...)
	paras[len(paras)-1] += " (" + JoinRefs(a.Refs) + ")"
	if a.Fix != "" {
		paras = append(paras, "*Fix:* "+a.Fix)
	}
	return "> " + strings.Join(paras, "\n>\n> ")
}

// portTableMarkdown is the port table as the port table screen shows it:
// protocol, the explicit- and implicit-TLS ports, the purpose.
func portTableMarkdown() string {
	port := func(n int) string {
		if n == 0 {
			return "none"
		}
		return strconv.Itoa(n)
	}
	var b strings.Builder
	b.WriteString("| Protocol | Explicit TLS | Implicit TLS | Purpose |\n|---|---|---|---|\n")
	for _, r := range PortTable() {
		b.WriteString("| " + r.Protocol + " | " + port(r.Explicit) + " | " + port(r.Implicit) + " | " + r.Purpose + " |\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}
