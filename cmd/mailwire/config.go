package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailwire/mailwire/internal/config"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// The configuration file (internal/config) reaches the commands through
// their flags: before a command runs (applyConfig, the root's
// PersistentPreRunE), each setting the file sets is given to the flag that
// overrides it, unless that flag was given on the command line. A flag set
// that way is not Changed, so the commands' checks of what the user typed
// (scenarioOnlyFlags, checkLineMode) are unaffected, and --help keeps
// showing mailwire's own defaults; `mailwire config` shows the effective
// ones and where each came from.

// configKey is the context key of the file applyConfig read.
type configKey struct{}

// loadedConfig is the file the running command read, nil when it reads
// none (mailwire man, config path) or there is no home.
func loadedConfig(ctx context.Context) *config.File {
	if ctx == nil {
		return nil
	}
	f, _ := ctx.Value(configKey{}).(*config.File)
	return f
}

// readsConfig says whether a command reads the file: one with a flag a
// setting overrides (the TUI, lab, session, connect, bench, scan, config).
// Help, completion and man never do, so a broken file cannot keep anyone
// from reading about it.
func readsConfig(cmd *cobra.Command) bool {
	for _, s := range config.Settings() {
		if s.Flag != "" && cmd.Flags().Lookup(s.Flag) != nil {
			return true
		}
	}
	return false
}

// applyConfig reads the file and gives its settings to cmd's flags. A file
// that cannot be used is a usage error (exit status 2): a typo must not
// silently leave a default in place.
func applyConfig(cmd *cobra.Command, _ []string) error {
	if !readsConfig(cmd) {
		return nil
	}
	path, err := config.Path()
	if err != nil {
		return nil // no home: no file to read
	}
	f, err := config.Load(path)
	if err != nil {
		return usageError(err)
	}
	if err := checkConfig(f); err != nil {
		return usageError(err)
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	cmd.SetContext(context.WithValue(ctx, configKey{}, f))
	if cmd.Name() == "config" {
		return nil // it shows the warnings and the values itself
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "mailwire: warning: %s\n", w)
	}
	return configFlags(cmd, f)
}

// configFlags gives the file's settings to cmd's flags that were not
// given on the command line.
func configFlags(cmd *cobra.Command, f *config.File) error {
	fl := cmd.Flags()
	for _, s := range config.Settings() {
		flag := fl.Lookup(s.Flag)
		if s.Flag == "" || flag == nil || !f.Has(s.Key) || !configApplies(cmd, s) {
			continue
		}
		if s.OverriddenBy(fl.Changed) != "" || (s.Key == "lab.state_dir" && fl.Changed("lab-state-dir")) {
			continue
		}
		v := config.Format(s.Value(&f.Config))
		if err := flag.Value.Set(v); err != nil {
			return usageError(configProblem(f, s.Key, err))
		}
		if s.Section == "verify" {
			// The certificate check is never changed silently.
			fmt.Fprintf(cmd.ErrOrStderr(), "mailwire: certificate check from %s line %d: %s = %s (--%s overrides it)\n",
				f.Path, f.Line(s.Key), s.Key, wire.SafeString(v), s.Flag)
		}
	}
	return nil
}

// configApplies says whether setting s reaches cmd, beyond cmd having its
// flag. The verification policy is for real servers: session with
// --target (not a scenario's insecure, which it sets itself) and connect;
// scan and bench have flags of those names with their own meaning (a
// grade, a loopback load test) and keep them to the command line.
func configApplies(cmd *cobra.Command, s config.Setting) bool {
	if s.Section != "verify" {
		return true
	}
	switch cmd.Name() {
	case "connect":
		return true
	case "session":
		fl := cmd.Flags()
		target, _ := fl.GetString("target")
		return fl.Changed("target") && target != "" && !(s.Key == "verify.insecure" && fl.Changed("scenario"))
	}
	return false
}

// checkConfig checks the file's values with the checks the flags' values
// get, so that an error names the file's line rather than a flag nobody
// typed.
func checkConfig(f *config.File) error {
	c := f.Config
	checks := map[string]func() error{
		"theme": func() error { _, err := tui.ParseTheme(c.Theme); return err },
		"lab.listen": func() error {
			if !isLoopback(c.Lab.Listen) {
				return errors.New("not a loopback address: exposing the lab to a network is decided each time, with mailwire lab --listen ADDR (which warns)")
			}
			return nil
		},
		"lab.port_offset": func() error { return portOffsetProblem(c.Lab.PortOffset) },
		"serve.listen":    func() error { _, _, err := splitServeAddr(c.Serve.Listen); return err },
		"serve.idle_timeout": func() error {
			d, err := time.ParseDuration(c.Serve.IdleTimeout)
			if err != nil {
				return fmt.Errorf("want a duration such as 30m or 1h30m: %w", err)
			}
			return idleTimeoutProblem(d)
		},
		"serve.max_students":    func() error { return atLeastOne(c.Serve.MaxStudents) },
		"serve.max_per_address": func() error { return atLeastOne(c.Serve.MaxPerAddress) },
	}
	for _, s := range config.Settings() {
		if s.Section == "budget" {
			checks[s.Key] = func() error { return budgetLimitProblem(reflect.ValueOf(s.Value(&c)).Int()) }
		}
	}
	for _, s := range config.Settings() {
		if check := checks[s.Key]; check != nil && f.Has(s.Key) {
			if err := check(); err != nil {
				return configProblem(f, s.Key, err)
			}
		}
	}
	return nil
}

// configProblem is err about the file's key, at its line.
func configProblem(f *config.File, key string, err error) error {
	s, _ := config.Lookup(key)
	return fmt.Errorf("config %s line %d: %s = %s: %w", f.Path, f.Line(key), key,
		wire.SafeString(config.Format(s.Value(&f.Config))), err)
}

// connectTarget is mailwire connect's TARGET: the argument, else the
// file's client.default_target, said on stderr so that where connect goes
// is never a surprise. A missing TARGET is a usage error as before.
func connectTarget(cmd *cobra.Command, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	f := loadedConfig(cmd.Context())
	if !f.Has("client.default_target") {
		return "", usageError(fmt.Errorf("accepts 1 arg(s), received 0 (or set client.default_target in %s)\nusage: %s",
			configPathOr("the configuration file"), cmd.UseLine()))
	}
	t := f.Config.Client.DefaultTarget
	fmt.Fprintf(cmd.ErrOrStderr(), "mailwire connect: TARGET %s from %s line %d (client.default_target)\n",
		wire.SafeString(t), f.Path, f.Line("client.default_target"))
	return t, nil
}

// configEHLO is the file's client.ehlo ("" when it sets none), for the
// scripted sessions of connect, which has no --ehlo.
func configEHLO(ctx context.Context) string {
	if f := loadedConfig(ctx); f != nil {
		return f.Config.Client.EHLO
	}
	return ""
}

func configPathOr(fallback string) string {
	if p, err := config.Path(); err == nil {
		return p
	}
	return fallback
}

// configFormats are the outputs of mailwire config.
var configFormats = fixed("text\tthe settings and where each came from", "toml\ta file to save", "json\tthe settings and their sources")

// newConfigCmd builds `mailwire config` and `mailwire config path`.
func newConfigCmd() *cobra.Command {
	format := "text"
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration and where each value came from",
		Long: "Print every setting of mailwire's configuration file with its effective value\n" +
			"and where it came from: the default, the file (and its line), or a flag. Flags\n" +
			"override the file, and the file overrides the defaults. The file is\n" +
			"$XDG_CONFIG_HOME/mailwire/config.toml, else ~/.config/mailwire/config.toml\n" +
			"(TOML); a key mailwire does not know is an error, never ignored. Give any\n" +
			"setting's flag to see what a command given it would use; --format toml prints a\n" +
			"file to save, the defaults commented out. No password goes in the file: set\n" +
			"$" + envPassword + " or let mailwire ask.",
		Example: "  mailwire config\n" +
			"  mailwire config --format toml > \"$(mailwire config path)\"\n" +
			"  mailwire config --port-offset 20000 --theme light",
		Args:         usageArgs(cobra.NoArgs),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runConfig(cmd, format)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&format, "format", format, "output: text, toml (a file to save) or json")
	addSettingFlags(fl)
	cmd.MarkFlagsMutuallyExclusive("ca-file", "insecure")
	cmd.AddCommand(&cobra.Command{
		Use:   "path",
		Short: "Print the configuration file's path (whether or not it exists)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := config.Path()
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), p)
			return err
		},
	})
	return cmd
}

// addSettingFlags gives mailwire config every setting's flag, with
// mailwire's default, so that it can show what a command given them uses.
func addSettingFlags(fl *pflag.FlagSet) {
	def := config.Defaults()
	for _, s := range config.Settings() {
		if s.Flag == "" {
			continue
		}
		switch v := s.Value(&def).(type) {
		case int:
			fl.Int(s.Flag, v, s.Help)
		case int64:
			fl.Int64(s.Flag, v, s.Help)
		case bool:
			fl.Bool(s.Flag, v, s.Help)
		default:
			fl.String(s.Flag, fmt.Sprint(v), s.Help)
		}
	}
}

// configReport is the JSON form of mailwire config.
type configReport struct {
	Path        string         `json:"path"`
	Found       bool           `json:"found"`
	Settings    []config.Entry `json:"settings"`
	Warnings    []string       `json:"warnings,omitempty"`
	Environment []envVar       `json:"environment"`
}

func runConfig(cmd *cobra.Command, format string) error {
	switch format {
	case "text", "toml", "json":
	default:
		return usageError(fmt.Errorf("--format %q: want text, toml or json", format))
	}
	f := loadedConfig(cmd.Context())
	if f == nil {
		f = &config.File{Path: "(none: no home directory)"}
	}
	if err := checkFlagValues(cmd); err != nil {
		return err
	}
	fl := cmd.Flags()
	entries, err := config.Resolve(f, func(name string) (string, bool) {
		if !fl.Changed(name) {
			return "", false
		}
		return fl.Lookup(name).Value.String(), true
	})
	if err != nil {
		return usageError(err)
	}
	out := cmd.OutOrStdout()
	switch format {
	case "toml":
		return config.WriteTOML(out, f.Path, entries)
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(configReport{Path: f.Path, Found: f.Found, Settings: entries, Warnings: f.Warnings, Environment: environment()})
	}
	return writeConfigText(out, f, entries)
}

// checkFlagValues checks the setting flags given to mailwire config as the
// commands would.
func checkFlagValues(cmd *cobra.Command) error {
	fl := cmd.Flags()
	if fl.Changed("theme") {
		v, _ := fl.GetString("theme")
		if _, err := tui.ParseTheme(v); err != nil {
			return usageError(fmt.Errorf("--theme: %w", err))
		}
	}
	if fl.Changed("port-offset") {
		v, _ := fl.GetInt("port-offset")
		if err := checkPortOffset(v); err != nil {
			return usageError(err)
		}
	}
	if fl.Changed("ssh") {
		v, _ := fl.GetString("ssh")
		if _, _, err := splitServeAddr(v); err != nil {
			return usageError(err)
		}
	}
	if fl.Changed("idle-timeout") {
		// A string here (the setting's kind); serve's own flag is a
		// duration.
		v, _ := fl.GetString("idle-timeout")
		d, err := time.ParseDuration(v)
		if err == nil {
			err = idleTimeoutProblem(d)
		}
		if err != nil {
			return usageError(fmt.Errorf("--idle-timeout %s: %w", v, err))
		}
	}
	for _, name := range []string{"max-students", "max-per-address"} {
		if v, _ := fl.GetInt(name); fl.Changed(name) && atLeastOne(v) != nil {
			return usageError(fmt.Errorf("--%s %d: %w", name, v, atLeastOne(v)))
		}
	}
	return nil
}

// writeConfigText is mailwire config's text: the file, the settings, what
// the environment holds.
func writeConfigText(out io.Writer, f *config.File, entries []config.Entry) error {
	var b strings.Builder
	state := "found"
	if !f.Found {
		state = "not found: nothing set there"
	}
	fmt.Fprintf(&b, "Configuration file: %s (%s)\n", wire.SafeString(f.Path), state)
	b.WriteString("A flag overrides the file, and the file overrides the default.\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	var notes []string
	for _, e := range entries {
		v := wire.SafeString(config.Format(e.Value))
		if s, ok := e.Value.(string); ok && s == "" && e.Empty != "" {
			v = "(" + e.Empty + ")"
		}
		from := e.Source.String()
		if e.Source.Origin == config.FromFlag && e.Source.Name != "--"+e.Flag {
			from += " (the default: one verify policy)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", e.Key, v, from)
		if e.Note != "" {
			notes = append(notes, e.Key+": "+e.Note)
		}
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintf(&b, "\nnote: %s\n", n)
	}
	for _, w := range f.Warnings {
		fmt.Fprintf(&b, "\nwarning: %s\n", w)
	}
	b.WriteString("\nEnvironment (read by mailwire, never from the file; mailwire man says what for):\n")
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, e := range environment() {
		state := "not set"
		switch {
		case e.Set && (e.Name == envPassword || e.Name == envClassPassphrase):
			state = "set (not shown)"
		case e.Set:
			state = fmt.Sprintf("%q", e.Value)
		}
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, wire.SafeString(state))
	}
	tw.Flush()
	_, err := io.WriteString(out, b.String())
	return err
}

// envVar is one environment variable mailwire reads.
type envVar struct {
	Name  string `json:"name"`
	Set   bool   `json:"set"`
	Value string `json:"value,omitempty"` // never the password's nor the passphrase's
}

// environment is what the variables of the man page hold now
// (manEnvironment, their one list); the password's value is never shown.
func environment() []envVar {
	var out []envVar
	for _, item := range manEnvironment {
		names, _, _ := strings.Cut(item, ": ")
		for _, name := range strings.Split(names, ", ") {
			v, set := os.LookupEnv(name)
			e := envVar{Name: name, Set: set}
			if set && name != envPassword && name != envClassPassphrase {
				e.Value = v
			}
			out = append(out, e)
		}
	}
	return out
}
