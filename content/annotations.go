package content

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The annotation dictionary: every event of a mailwire session carries an
// annotation key (wire.Event.Annotation, Event.Also, Field.Annotation,
// ErrorInfo.Explain) and the renderers look the key up here.
//
// The prose lives in Markdown files under annotations/, one file per area
// (smtp.md, pop3.md, imap.md, tls.md, http.md, errors.md). Each entry is:
//
//	## smtp.reply.530
//	530 Must issue a STARTTLS command first
//	Refs: RFC 3207 §4; RFC 3463 §3.8
//	Risk: optional one-liner when the event exposes something
//	Fix: optional one-liner: what to change (on the server) to mend it
//	Prose, one or more lines; a blank line starts a new paragraph.
//
// Keys are lower case. A Refs item is "RFC <number>", optionally followed by
// " §<section>" (digits and dots, or "Appendix X.n") and " | <title>".
// Text before the first "## " heading (a "# " file title, comments) is
// ignored.

//go:embed annotations/*.md
var annotationFS embed.FS

// Annotation is the explanation shown for one annotation key.
type Annotation struct {
	Key   string
	Title string // short, e.g. "530 Must issue a STARTTLS command first"
	Text  string // 1–4 sentences of plain prose; paragraphs separated by "\n\n"
	Refs  []Ref  // where the behaviour comes from
	Risk  string // optional: what this event exposes, e.g. "Anyone on the path can read this password."
	// Fix is optional: what to change to mend the problem the entry
	// names, e.g. "Renew the certificate and reload the server."
	Fix string
}

// Ref cites an RFC and, optionally, a section of it.
//
// Defined here because no other file of package content defined it when the
// annotation dictionary was written; if the port table grows its own Ref,
// the two must be merged into one type.
type Ref struct {
	RFC     int
	Section string // "4.2.3", "Appendix D.4", or empty for the whole RFC
	Title   string // optional
}

// JoinRefs renders references as "RFC 3207 §4; RFC 8314 §3".
func JoinRefs(refs []Ref) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}

// String renders a reference as "RFC 8314 §3.3" ("RFC 8446 Appendix D.4"
// for an appendix, "RFC 1985" when no section is given).
func (r Ref) String() string {
	s := "RFC " + strconv.Itoa(r.RFC)
	switch {
	case r.Section == "":
	case strings.HasPrefix(r.Section, "Appendix "):
		s += " " + r.Section
	default:
		s += " §" + r.Section
	}
	return s
}

// annotations is the dictionary as a session reads it: an index of every
// entry's source, each entry parsed the first time it is looked up. Parsing
// all 650-odd entries up front took a few milliseconds of every command's
// start (issue 9's start-up time); a session looks up a few dozen.
// annotationErrors parses everything, for the tests.
var annotations struct {
	once  sync.Once
	index map[string]entrySource
	keys  []string

	mu     sync.Mutex
	parsed map[string]parsedEntry
}

// entrySource is one entry's Markdown: its "## key" line and what follows
// up to the next entry, with where it starts for error messages.
type entrySource struct {
	file string
	line int // of the "## key" line, 1-based
	src  string
}

type parsedEntry struct {
	a  Annotation
	ok bool // false: the entry has an error and is left out, as parseAnnotationFS leaves it
}

func loadAnnotations() {
	annotations.once.Do(func() {
		annotations.index = indexAnnotationFS(annotationFS, "annotations")
		annotations.parsed = map[string]parsedEntry{}
		for k := range annotations.index {
			annotations.keys = append(annotations.keys, k)
		}
		slices.Sort(annotations.keys)
	})
}

// indexAnnotationFS splits every *.md file in dir into its entries without
// parsing them, by the same "## " lines parseAnnotationFile starts an entry
// at. The first of two entries with one key wins, as in parseAnnotationFS
// (which reports the second).
func indexAnnotationFS(fsys fs.FS, dir string) map[string]entrySource {
	index := map[string]entrySource{}
	entries, _ := fs.ReadDir(fsys, dir)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		name := path.Join(dir, e.Name())
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			continue
		}
		text := string(b)
		if strings.Contains(text, "\r") {
			text = strings.ReplaceAll(text, "\r\n", "\n")
		}
		// Substrings of the file, no copies: the whole dictionary is about
		// 200 KB, and this runs in every command that annotates.
		key, start, startLine, line := "", 0, 0, 1
		flush := func(end int) {
			if _, dup := index[key]; key != "" && !dup {
				index[key] = entrySource{file: name, line: startLine, src: text[start:end]}
			}
		}
		for off := 0; off < len(text); line++ {
			end := strings.IndexByte(text[off:], '\n')
			if end < 0 {
				end = len(text) - off
			}
			if rest, ok := strings.CutPrefix(strings.TrimRight(text[off:off+end], " \t"), "## "); ok {
				flush(off)
				key, start, startLine = strings.TrimSpace(rest), off, line
			}
			off += end + 1
		}
		flush(len(text))
	}
	return index
}

// entry returns the parsed entry for an exact key of the index.
func entry(key string) (Annotation, bool) {
	src, ok := annotations.index[key]
	if !ok {
		return Annotation{}, false
	}
	annotations.mu.Lock()
	defer annotations.mu.Unlock()
	if p, done := annotations.parsed[key]; done {
		return p.a, p.ok
	}
	anns, errs := parseAnnotationFile(src.file, src.src)
	p := parsedEntry{}
	if len(errs) == 0 && len(anns) == 1 {
		p = parsedEntry{a: anns[0], ok: true}
	}
	annotations.parsed[key] = p
	return p.a, p.ok
}

// annotationErrors returns the problems found while parsing the embedded
// files; tests assert there are none. When there are any, Lookup and
// AnnotationKeys still serve the entries that parsed: a typo in one entry
// must not take the whole dictionary down at run time.
func annotationErrors() []error {
	_, errs := parseAnnotationFS(annotationFS, "annotations")
	return errs
}

// Lookup finds the annotation for key, falling back from the specific to the
// general. The key is lower-cased, then these candidates are tried in order
// and the first one defined wins:
//
//  1. the key itself: "smtp.reply.554";
//  2. if the last segment is a three-digit code, its class:
//     "smtp.reply.554" → "smtp.reply.5xx", "http.status.404" → "http.status.4xx";
//  3. for an enhanced status code "smtp.enhanced.C.S.D" (RFC 3463 §2): its
//     subject, "smtp.enhanced.x.S.x" (RFC 3463 §3.1–§3.8), then its class,
//     "smtp.enhanced.C.x.x";
//  4. if the last segment has a "/" hierarchy (POP3 response codes, RFC 2449
//     §8): the parent, "pop3.code.sys/temp" → "pop3.code.sys";
//  5. if the last segment is "name=value" (IMAP capabilities such as
//     AUTH=XOAUTH2): "name=*", "imap.cap.auth=xoauth2" → "imap.cap.auth=*";
//  6. "unknown" in place of the last segment, then of each earlier one down
//     to the second: "tls.ext.foo" → "tls.ext.unknown",
//     "smtp.enhanced.9.9.9" → … → "smtp.enhanced.unknown".
//
// The returned Annotation's Key is the key that matched, which may be more
// general than the one asked for. Lookup returns false when nothing matched.
func Lookup(key string) (Annotation, bool) {
	loadAnnotations()
	for _, k := range lookupCandidates(strings.ToLower(strings.TrimSpace(key))) {
		if a, ok := entry(k); ok {
			return a, true
		}
	}
	return Annotation{}, false
}

// AnnotationKeys returns every key defined in the dictionary, sorted.
func AnnotationKeys() []string {
	loadAnnotations()
	return slices.Clone(annotations.keys)
}

// lookupCandidates lists the keys Lookup tries, most specific first.
func lookupCandidates(key string) []string {
	if key == "" {
		return nil
	}
	out := []string{key}
	segs := strings.Split(key, ".")
	if len(segs) < 2 {
		return out
	}
	parent := strings.Join(segs[:len(segs)-1], ".")
	last := segs[len(segs)-1]

	// Rule 2: three-digit reply or status codes.
	if len(last) == 3 && isDigits(last) {
		out = append(out, parent+"."+last[:1]+"xx")
	}
	// Rule 3: RFC 3463 enhanced status codes class.subject.detail.
	if len(segs) == 5 && segs[0] == "smtp" && segs[1] == "enhanced" &&
		isDigits(segs[2]) && isDigits(segs[3]) && (isDigits(segs[4]) || segs[4] == "x") {
		out = append(out,
			"smtp.enhanced.x."+segs[3]+".x",
			"smtp.enhanced."+segs[2]+".x.x")
	}
	// Rule 4: hierarchical POP3 response codes (SYS/TEMP).
	if i := strings.IndexByte(last, '/'); i > 0 {
		out = append(out, parent+"."+last[:i])
	}
	// Rule 5: capabilities with a value (AUTH=PLAIN, COMPRESS=DEFLATE).
	if i := strings.IndexByte(last, '='); i > 0 && i < len(last)-1 {
		out = append(out, parent+"."+last[:i]+"=*")
	}
	// Rule 6: "unknown" at each level, deepest first.
	for i := len(segs) - 1; i >= 2; i-- {
		out = append(out, strings.Join(segs[:i], ".")+".unknown")
	}
	return out
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var (
	// Keys: at least two lower-case segments separated by dots; a segment
	// may hold the characters that appear in protocol names and codes
	// (auth=plain, auth=*, sys/temp, literal+, in-use, http/1.1).
	// Compiled on first use (the dictionary is parsed once, lazily): not
	// at every command's start.
	annotationKeyRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[a-z0-9][a-z0-9_=+/*-]*(\.[a-z0-9][a-z0-9_=+/*-]*)+$`)
	})
	refRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^RFC ([1-9][0-9]{0,4})(?: (?:§([0-9]+(?:\.[0-9]+)*)|(Appendix [A-Z](?:\.[0-9]+)*)))?(?: \| (.+))?$`)
	})
)

// parseAnnotationFS parses every *.md file in dir. It never panics: problems
// are returned as errors, each naming the file and line.
func parseAnnotationFS(fsys fs.FS, dir string) (map[string]Annotation, []error) {
	byKey := map[string]Annotation{}
	var errs []error
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return byKey, []error{fmt.Errorf("read annotation dir %s: %w", dir, err)}
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		name := path.Join(dir, e.Name())
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			continue
		}
		anns, ferrs := parseAnnotationFile(name, string(b))
		errs = append(errs, ferrs...)
		for _, a := range anns {
			if _, dup := byKey[a.Key]; dup {
				errs = append(errs, fmt.Errorf("%s: key %q defined twice", name, a.Key))
				continue
			}
			byKey[a.Key] = a
		}
	}
	return byKey, errs
}

// parseAnnotationFile parses one Markdown file. An entry with an error is
// dropped and reported; the others are kept.
func parseAnnotationFile(name, src string) ([]Annotation, []error) {
	var (
		out  []Annotation
		errs []error
		cur  *Annotation
		// where the current entry started, for error messages
		curLine int
		// entry parsing state: 0 want title, 1 header lines, 2 prose
		state int
		prose []string
		bad   bool
	)
	fail := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
		bad = true
	}
	finish := func() {
		if cur == nil {
			return
		}
		cur.Text = joinProse(prose)
		switch {
		case cur.Title == "":
			fail(curLine, "entry %q has no title", cur.Key)
		case len(cur.Refs) == 0:
			fail(curLine, "entry %q has no Refs line", cur.Key)
		case cur.Text == "":
			fail(curLine, "entry %q has no text", cur.Key)
		}
		if !bad {
			out = append(out, *cur)
		}
		cur, prose, bad, state = nil, nil, false, 0
	}

	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i, line := range lines {
		n := i + 1
		line = strings.TrimRight(line, " \t")
		if rest, ok := strings.CutPrefix(line, "## "); ok {
			finish()
			key := strings.TrimSpace(rest)
			cur, curLine = &Annotation{Key: key}, n
			if !annotationKeyRE().MatchString(key) {
				fail(n, "bad key %q (lower-case dotted segments)", key)
			}
			continue
		}
		if cur == nil {
			continue // preamble
		}
		switch {
		case strings.HasPrefix(line, "#"):
			fail(n, "unexpected heading %q inside entry %q", line, cur.Key)
		case state == 0:
			if line == "" {
				continue
			}
			if isHeaderLine(line) {
				fail(n, "entry %q: the first line must be the title", cur.Key)
			}
			cur.Title = line
			state = 1
		case state == 1 && strings.HasPrefix(line, "Refs:"):
			if len(cur.Refs) > 0 {
				fail(n, "entry %q: second Refs line", cur.Key)
			}
			refs, err := parseRefs(strings.TrimPrefix(line, "Refs:"))
			if err != nil {
				fail(n, "entry %q: %v", cur.Key, err)
			}
			cur.Refs = refs
		case state == 1 && strings.HasPrefix(line, "Risk:"):
			setOnce(&cur.Risk, "Risk", line, func(format string) { fail(n, format, cur.Key) })
		case state == 1 && strings.HasPrefix(line, "Fix:"):
			setOnce(&cur.Fix, "Fix", line, func(format string) { fail(n, format, cur.Key) })
		default:
			if state == 1 && line == "" && len(prose) == 0 {
				continue
			}
			if isHeaderLine(line) {
				fail(n, "entry %q: %s line after the prose started", cur.Key, line[:strings.IndexByte(line, ':')])
			}
			state = 2
			prose = append(prose, line)
		}
	}
	finish()
	return out, errs
}

// isHeaderLine says whether line is one of an entry's header lines
// (Refs, Risk, Fix), which come after the title and before the prose.
func isHeaderLine(line string) bool {
	return strings.HasPrefix(line, "Refs:") || strings.HasPrefix(line, "Risk:") || strings.HasPrefix(line, "Fix:")
}

// setOnce sets *field from the header line "Name: value", reporting
// (through fail, with a format taking the entry's key) a second line of
// the same name or an empty value.
func setOnce(field *string, name, line string, fail func(format string)) {
	if *field != "" {
		fail("entry %q: second " + name + " line")
	}
	*field = strings.TrimSpace(strings.TrimPrefix(line, name+":"))
	if *field == "" {
		fail("entry %q: empty " + name + " line")
	}
}

// parseRefs parses " RFC 5321 §4.2.3; RFC 3463 §3.8".
func parseRefs(s string) ([]Ref, error) {
	var refs []Ref
	for item := range strings.SplitSeq(s, ";") {
		item = strings.TrimSpace(item)
		m := refRE().FindStringSubmatch(item)
		if m == nil {
			return nil, fmt.Errorf("bad reference %q (want \"RFC 5321 §4.2.3\")", item)
		}
		num, err := strconv.Atoi(m[1])
		if err != nil {
			return nil, fmt.Errorf("bad RFC number in %q: %w", item, err)
		}
		sec := m[2]
		if m[3] != "" {
			sec = m[3]
		}
		refs = append(refs, Ref{RFC: num, Section: sec, Title: m[4]})
	}
	return refs, nil
}

// joinProse joins wrapped lines with spaces and keeps blank-line paragraph
// breaks as "\n\n".
func joinProse(lines []string) string {
	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return strings.Join(paras, "\n\n")
}

// Lead is the first n sentences of the annotation's prose, within its
// first paragraph: what a renderer with room for a line or two shows (the
// presenter's narration, tui/presenter.go). A sentence ends at ".", "!"
// or "?" before a space, unless the word it ends is an abbreviation
// ("e.g.", "vs.", an initial); or at the paragraph's end. A sentence may
// begin in lower case ("mailwire …", "record_size_limit …").
// TestLead holds every entry of the dictionary to it.
func (a Annotation) Lead(n int) string {
	para, _, _ := strings.Cut(a.Text, "\n\n")
	end := 0
	for i := 0; i+1 < len(para) && n > 0; i++ {
		if strings.IndexByte(".!?", para[i]) < 0 || para[i+1] != ' ' {
			continue
		}
		word := para[strings.LastIndexByte(para[:i], ' ')+1 : i+1]
		if para[i] == '.' && isAbbreviation(word) {
			continue
		}
		end, n = i+1, n-1
	}
	if n > 0 {
		return para
	}
	return para[:end]
}

// isAbbreviation says whether word, with its final period, is one that
// does not end a sentence: a Latin or English abbreviation, or an initial.
func isAbbreviation(word string) bool {
	word = strings.TrimLeft(word, "(\"'")
	switch strings.ToLower(word) {
	case "e.g.", "i.e.", "vs.", "etc.", "cf.", "approx.", "fig.", "no.", "al.":
		return true
	}
	return len(word) == 2 // "J. Postel"
}
