package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

const reflectString = reflect.String

// Setting is one key of the file, read from Config's tags.
type Setting struct {
	Key     string // the dotted TOML key: "lab.port_offset"
	Section string // "" for a top-level key
	Name    string // the key within its section: "port_offset"
	Flag    string // the flag that overrides it, without dashes; "" for none
	Help    string // one line: what --format toml writes above it
	Empty   string // what an empty string means ("" when it is not allowed)
	Kind    reflect.Kind
	path    bool  // a path: ~/ expanded, absolute
	index   []int // the field's index path in Config
}

// Settings are the file's settings, in the schema's order.
func Settings() []Setting {
	var out []Setting
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("toml")
		if f.Type.Kind() != reflect.Struct {
			out = append(out, setting(f, "", key, []int{i}))
			continue
		}
		for j := range f.Type.NumField() {
			g := f.Type.Field(j)
			out = append(out, setting(g, key, g.Tag.Get("toml"), []int{i, j}))
		}
	}
	return out
}

func setting(f reflect.StructField, section, name string, index []int) Setting {
	key := name
	if section != "" {
		key = section + "." + name
	}
	return Setting{Key: key, Section: section, Name: name, Flag: f.Tag.Get("flag"), Help: f.Tag.Get("help"), Empty: f.Tag.Get("empty"),
		Kind: f.Type.Kind(), path: f.Tag.Get("path") == "true", index: index}
}

// Sections are the file's tables, in the schema's order (one without
// settings included).
func Sections() []string {
	var out []string
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Type.Kind() == reflect.Struct {
			out = append(out, f.Tag.Get("toml"))
		}
	}
	return out
}

// Lookup is the setting of key.
func Lookup(key string) (Setting, bool) {
	for _, s := range Settings() {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// field is the setting's field in c.
func (s Setting) field(c *Config) reflect.Value {
	return reflect.ValueOf(c).Elem().FieldByIndex(s.index)
}

// Value is the setting's value in c: a string, int, int64 or bool.
func (s Setting) Value(c *Config) any { return s.field(c).Interface() }

// policies are the sections whose settings are one choice: a flag for any
// of them replaces them all (--insecure drops the file's ca_file too), as
// --ca-file and --insecure exclude each other on the command line.
var policies = map[string]bool{"verify": true}

// OverriddenBy is the flag that overrides the setting on a command whose
// flags changed reports, "" for none: its own flag, or that of another
// setting of the same policy (verify).
func (s Setting) OverriddenBy(changed func(flag string) bool) string {
	if s.Flag != "" && changed(s.Flag) {
		return s.Flag
	}
	if !policies[s.Section] {
		return ""
	}
	for _, o := range Settings() {
		if o.Section == s.Section && o.Flag != "" && changed(o.Flag) {
			return o.Flag
		}
	}
	return ""
}

// tomlKind is the TOML value kind a setting of kind k takes.
func tomlKind(k reflect.Kind) (unstable.Kind, string) {
	switch k {
	case reflect.Int, reflect.Int64:
		return unstable.Integer, "an integer"
	case reflect.Bool:
		return unstable.Bool, "true or false"
	}
	return unstable.String, "a string in quotes"
}

// keyLines walks the document: the line of each key it sets, and every
// key mailwire does not know (all of them, with their lines), each value
// of the wrong type, a section given a value. A syntax error is left to
// the decoder, which words it with its line and column.
func keyLines(path string, data []byte) (map[string]int, error) {
	w := walker{lines: map[string]int{}}
	w.p.Reset(data)
	var table string
	for w.p.NextExpression() {
		e := w.p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			it := e.Key()
			table = joinKey(it)
			line := w.line(e.Child())
			switch {
			case e.Kind == unstable.ArrayTable:
				w.problem(line, "[[%s]]: mailwire's configuration has no arrays of tables; want [%s]", table, table)
			case !slices.Contains(Sections(), table):
				w.problem(line, "%s", unknownKey("["+table+"]"))
			}
		case unstable.KeyValue:
			w.keyValue(table, e)
		}
	}
	if w.p.Error() != nil {
		return w.lines, nil // the decoder reports it, positioned
	}
	if len(w.problems) > 0 {
		return nil, fmt.Errorf("config %s: %s", path, strings.Join(w.problems, "; "))
	}
	return w.lines, nil
}

type walker struct {
	p        unstable.Parser
	lines    map[string]int
	problems []string
}

func (w *walker) line(n *unstable.Node) int {
	if n == nil {
		return 0
	}
	return w.p.Shape(n.Raw).Start.Line
}

func (w *walker) problem(line int, format string, args ...any) {
	w.problems = append(w.problems, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

// keyValue records a key = value in table (or in an inline table).
func (w *walker) keyValue(table string, e *unstable.Node) {
	key := joinKey(e.Key())
	if table != "" {
		key = table + "." + key
	}
	line := w.line(e)
	v := e.Value()
	if slices.Contains(Sections(), key) {
		if v.Kind != unstable.InlineTable {
			w.problem(line, "%s: a section ([%s]), not a value", key, key)
			return
		}
		it := v.Children()
		for it.Next() {
			w.keyValue(key, it.Node())
		}
		return
	}
	s, ok := Lookup(key)
	if !ok {
		w.problem(line, "%s", unknownKey(key))
		return
	}
	if want, words := tomlKind(s.Kind); v.Kind != want {
		w.problem(line, "%s: want %s, not %s", key, words, kindWords(v.Kind))
		return
	}
	w.lines[key] = line
}

// kindWords names a TOML value's kind for an error.
func kindWords(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a decimal number"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.InlineTable:
		return "a table"
	}
	return "a date or time"
}

func joinKey(it unstable.Iterator) string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return strings.Join(parts, ".")
}

// unknownKey says that key (or "[section]") is not mailwire's, with the
// nearest one it knows when there is one, and why a password never is.
func unknownKey(key string) string {
	bare := strings.Trim(key, "[]")
	last := bare[strings.LastIndex(bare, ".")+1:]
	switch {
	case strings.Contains(strings.ToLower(last), "password"):
		return fmt.Sprintf("%s: a password never goes in the configuration file (files are synced, backed up and shared): "+
			"set $MAILWIRE_PASSWORD, or let mailwire ask for it", key)
	case strings.ToLower(last) == "passphrase" || strings.HasSuffix(strings.ToLower(last), "_passphrase"):
		return fmt.Sprintf("%s: the class passphrase never goes in the configuration file (files are synced, backed up and shared): "+
			"set serve.passphrase_file to a file that holds it, or $MAILWIRE_CLASS_PASSPHRASE", key)
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if key != bare {
		msg = fmt.Sprintf("unknown section %s", key)
	}
	if near := nearest(bare, key != bare); near != "" {
		if key != bare {
			near = "[" + near + "]"
		}
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	return msg
}

// nearest is the known key (or section) closest to key: one at an edit
// distance of at most 2, else one with the same last part in another
// section (ehlo at the top level: client.ehlo).
func nearest(key string, section bool) string {
	var names []string
	if section {
		names = Sections()
	} else {
		for _, s := range Settings() {
			names = append(names, s.Key)
		}
	}
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(key, n); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" || section {
		return best
	}
	last := key[strings.LastIndex(key, ".")+1:]
	for _, s := range Settings() {
		if s.Name == last {
			return s.Key
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b, in bytes (keys are
// ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
