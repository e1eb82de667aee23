package config

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WriteTOML writes the effective configuration as a file to save at path:
// every setting with its help above it; a value from the file or a flag is
// set, a default is left commented out, so that a saved file follows
// mailwire's defaults where it says nothing. Parse reads it back to the
// same values.
func WriteTOML(w io.Writer, path string, entries []Entry) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# mailwire configuration: %s\n", comment(path))
	b.WriteString("# Flags override this file, and this file overrides the defaults. A setting\n" +
		"# commented out is the default, left to follow mailwire's own: remove the #\n" +
		"# to set it. No password here: set $MAILWIRE_PASSWORD or let mailwire ask.\n")
	section := ""
	writeHeader := func(s string) { fmt.Fprintf(&b, "\n[%s]\n", s) }
	for _, e := range entries {
		if e.Section != section {
			section = e.Section
			writeHeader(section)
		}
		fmt.Fprintf(&b, "\n# %s\n", comment(e.Help))
		// A default, or a value another flag of its policy set back to
		// the default (--insecure drops ca_file), stays a comment.
		if e.Source.Origin == FromDefault || e.Source.Origin == FromEnv || (e.Source.Origin == FromFlag && e.Source.Name != "--"+e.Flag) {
			b.WriteString("# ")
		}
		fmt.Fprintf(&b, "%s = %s\n", e.Name, tomlValue(e.Value))
	}
	// A section without settings yet is still named, so that a saved
	// file shows where its settings will go.
	for _, s := range Sections() {
		if !hasSection(entries, s) {
			writeHeader(s)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func hasSection(entries []Entry, s string) bool {
	for _, e := range entries {
		if e.Section == s {
			return true
		}
	}
	return false
}

// comment keeps a comment on its line.
func comment(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// tomlValue writes v as a TOML value: a basic string (TOML 1.0 §String:
// quote, backslash and control characters escaped, \uXXXX for the
// controls without a short form), an integer or a boolean.
func tomlValue(v any) string {
	s, ok := v.(string)
	if !ok {
		return fmt.Sprint(v)
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + fmt.Sprintf("%04X", r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
