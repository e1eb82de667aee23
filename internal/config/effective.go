package config

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/mailwire/mailwire/internal/sshserve"
	"github.com/mailwire/mailwire/internal/xdg"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Origin is where a value came from.
type Origin string

const (
	FromDefault Origin = "default"
	FromFile    Origin = "file"
	FromFlag    Origin = "flag"
	FromEnv     Origin = "environment"
)

// Source is where a value came from: the file's line, the flag or the
// environment variable.
type Source struct {
	Origin Origin `json:"origin"`
	Line   int    `json:"line,omitempty"` // FromFile
	Name   string `json:"name,omitempty"` // FromFlag: "--port-offset"; FromEnv: "XDG_STATE_HOME"
}

func (s Source) String() string {
	switch s.Origin {
	case FromFile:
		return fmt.Sprintf("file, line %d", s.Line)
	case FromFlag:
		return "flag " + s.Name
	case FromEnv:
		return "environment $" + s.Name
	}
	return string(s.Origin)
}

// Entry is one setting's effective value.
type Entry struct {
	Setting `json:"-"`
	Key     string `json:"key"`
	Value   any    `json:"value"` // string, int, int64 or bool
	Source  Source `json:"from"`
	// Note says more about a default where there is more to say (the lab
	// CA still in its former place).
	Note string `json:"note,omitempty"`
}

// Defaults is the configuration of a run without file or flags. Each
// default has its home elsewhere, read from there: the lab's address and
// ports (lab.DefaultOptions), the budget (wire.DefaultBudget), the class
// server's address and limits (sshserve). Empty
// strings are decided where they are used (the theme by the terminal, the
// EHLO name by the host's name, the CA file by the system's roots).
func Defaults() Config {
	lo := lab.DefaultOptions()
	sl := sshserve.DefaultLimits()
	return Config{
		Lab:    Lab{Listen: lo.ListenHost, PortOffset: lo.PortOffset},
		Budget: Budget(wire.DefaultBudget()),
		Serve: Serve{Listen: sshserve.DefaultAddr, MaxStudents: sl.MaxSessions, MaxPerAddress: sl.MaxPerAddr,
			IdleTimeout: sl.IdleTimeout.String()},
	}
}

// Resolve is the effective configuration, setting by setting: a flag
// overrides the file, the file overrides the default. flag reports the
// value of a flag given on the command line (ok false: not given).
func Resolve(f *File, flag func(name string) (value string, ok bool)) ([]Entry, error) {
	def := Defaults()
	var file Config
	if f != nil {
		file = f.Config
	}
	changed := func(name string) bool { _, ok := flag(name); return ok }
	var out []Entry
	for _, s := range Settings() {
		e := Entry{Setting: s, Key: s.Key, Value: s.Value(&def), Source: Source{Origin: FromDefault}}
		if s.Key == "lab.state_dir" {
			e.Value, e.Source, e.Note = stateDirDefault()
		}
		switch by := s.OverriddenBy(changed); {
		case by == s.Flag && by != "":
			v, _ := flag(by)
			val, err := parseAs(s.Kind, v)
			if err != nil {
				return nil, fmt.Errorf("--%s %q: %w", by, v, err)
			}
			e.Value, e.Source, e.Note = val, Source{Origin: FromFlag, Name: "--" + by}, ""
		case by != "":
			// Another flag of the same policy: this one falls back to
			// its default, whatever the file says.
			e.Source, e.Note = Source{Origin: FromFlag, Name: "--" + by}, ""
		case f.Has(s.Key):
			e.Value, e.Source, e.Note = s.Value(&file), Source{Origin: FromFile, Line: f.Line(s.Key)}, ""
		}
		out = append(out, e)
	}
	return out, nil
}

// stateDirDefault is the lab's state directory when neither file nor flag
// sets it: lab.ResolveStateDir's, from $XDG_STATE_HOME when that is set.
func stateDirDefault() (string, Source, string) {
	dir, note := lab.ResolveStateDir()
	if xdg.FromEnv(xdg.StateHome) && note == "" {
		return dir, Source{Origin: FromEnv, Name: xdg.StateHome}, ""
	}
	return dir, Source{Origin: FromDefault}, note
}

// parseAs reads a flag's value as a setting of kind k.
func parseAs(k reflect.Kind, v string) (any, error) {
	switch k {
	case reflect.Int:
		return strconv.Atoi(v)
	case reflect.Int64:
		return strconv.ParseInt(v, 10, 64)
	case reflect.Bool:
		return strconv.ParseBool(v)
	}
	return v, nil
}

// Format writes a value as a flag takes it.
func Format(v any) string { return fmt.Sprint(v) }
