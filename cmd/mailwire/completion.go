package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/tui"
)

// Shell completion of flag values (cobra's __complete, which the scripts of
// `mailwire completion bash|zsh|fish|powershell` call): every flag that
// takes one of a fixed set of values completes them, with a description
// where the shell shows one. A value is "value\tdescription".

// valueCompletions maps a flag name to its values, for whichever command
// has a flag of that name (a command's own meaning of a name is the same
// everywhere: --format of bench has no markdown, its own entry says so).
var valueCompletions = map[string]cobra.CompletionFunc{
	"port":       completePorts,
	"proto":      fixed(protocol.SMTP, protocol.POP3, protocol.IMAP, protocol.HTTPS),
	"tls":        fixed("none\tno TLS at all", "starttls\tcleartext, then STARTTLS/STLS", "implicit\tTLS from the first byte (RFC 8314)"),
	"tls-min":    fixed(tlsVersions...),
	"tls-max":    fixed(tlsVersions...),
	"scenario":   completeScenarios,
	"variant":    completeVariants,
	"lens":       fixed("endpoint\twhat client and server see", "eavesdropper\tonly what a passive observer sees"),
	"notes":      fixed("full\teach meaning with its prose, fields and RFCs", "short\tone line per event: its meaning and RFCs", "off\tthe wire lines and who can read them"),
	"format":     fixed("text\tannotated transcript", "json\tJSON Lines, one event per line", "markdown\ta handout"),
	"stop-after": fixed("connect\tafter the greeting", "tls\tonce TLS is up", "auth\tafter the login"),
	"auth":       fixed(protocol.AuthPlain, protocol.AuthLogin),
	"color":      fixed("always", "never"),
	"theme":      completeThemes,
	"hostile":    completeHostile,
	"state-dir":  dirs,
}

// printFormats are the formats of the commands that print a session
// (session, replay, connect's line mode; printStream): --format html too.
var printFormats = fixed("text\tannotated transcript", "json\tJSON Lines, one event per line", "markdown\ta handout",
	"html\tone self-contained page (both lenses; --lens eavesdropper: that one only)")

// benchFormats are the formats of mailwire bench.
var benchFormats = fixed("text\ta summary", "json\tone JSON object (README: mailwire bench)")

var tlsVersions = []string{"1.0\tretired by RFC 8996", "1.1\tretired by RFC 8996", "1.2", "1.3"}

func fixed(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

func dirs(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// registerCompletions registers valueCompletions on every command under
// root that has the flag, and the root's PORT argument.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range valueCompletions {
			if c.Flags().Lookup(name) == nil {
				continue
			}
			if name == "format" && (c.Name() == "session" || c.Name() == "replay" || c.Name() == "connect") {
				fn = printFormats
			}
			if name == "format" && c.Name() == "bench" {
				fn = benchFormats
			}
			if name == "format" && c.Name() == "config" {
				fn = configFormats
			}
			// Only fails for a flag that does not exist or is registered
			// twice, which the Lookup and the walk rule out.
			_ = c.RegisterFlagCompletionFunc(name, fn)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	root.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return completePorts(cmd, args, toComplete)
	}
}

// completePorts lists the canonical ports, each with its protocol, TLS mode
// and purpose.
func completePorts(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, row := range content.PortTable() {
		for _, p := range []int{row.Explicit, row.Implicit} {
			o, err := sessions.OptionsForPort("", p)
			if p == 0 || err != nil {
				continue
			}
			out = append(out, fmt.Sprintf("%d\t%s %s, %s", p, strings.ToUpper(o.Proto), o.TLSMode, strings.ToLower(row.Purpose)))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeScenarios lists the scenarios, with their titles, and "list".
func completeScenarios(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	out := []cobra.Completion{"list\tprint the scenarios, their ports and variants"}
	for _, s := range scenario.All() {
		c := s.Name
		if t, ok := content.ScenarioByName(s.Name); ok {
			c += "\t" + t.Title
		}
		out = append(out, c)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeVariants lists the variants of the scenario on the command line,
// on its port (--port, or the root's PORT argument; else the scenario's
// default port), each with what it stages. Without --scenario, nothing.
func completeVariants(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	name, _ := cmd.Flags().GetString("scenario")
	port, _ := cmd.Flags().GetInt("port")
	if port == 0 && len(args) == 1 {
		port, _ = strconv.Atoi(args[0])
	}
	s, ok := scenario.ByName(name)
	if !ok {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if port == 0 && len(s.Ports) > 0 {
		port = s.Ports[0]
	}
	var out []cobra.Completion
	for _, v := range s.VariantsFor(port) {
		c := v
		if a, ok := content.Lookup("variant." + v); ok {
			c += "\t" + a.Title
		}
		out = append(out, c)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeHostile lists the hostile lab cases, and "list".
func completeHostile(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	out := []cobra.Completion{"list\tprint the cases, one line each"}
	for _, c := range lab.HostileCases() {
		out = append(out, c.Name+"\t"+c.Does)
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeThemes lists the interface's themes.
func completeThemes(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, t := range tui.Themes() {
		out = append(out, string(t))
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
