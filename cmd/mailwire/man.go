package main

import (
	"fmt"
	"strings"

	"github.com/muesli/mango"
	mcobra "github.com/muesli/mango-cobra"
	"github.com/muesli/roff"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newManCmd replaces fang's man page command (hidden, and without the
// sections a man page is read for) with `mailwire man`: the page of
// mango-cobra (name, synopsis, description, options, commands) and EXIT
// STATUS, ENVIRONMENT, FILES and EXAMPLES after them.
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:                   "man",
		Short:                 "Print the man page (roff): mailwire man | man -l -",
		Long:                  "Print mailwire's man page in roff, for man(1): mailwire man | man -l -, or\nmailwire man > ~/.local/share/man/man1/mailwire.1 to install it.",
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		Args:                  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			page, err := mcobra.NewManPage(1, cmd.Root())
			if err != nil {
				return fmt.Errorf("man page: %w", err)
			}
			dropHidden(&page.Root, cmd.Root())
			page = page.WithLongDescription(manText(rootLong+"\n\n"+rootUsage)).
				WithSection("Exit Status", manList(exitStatusItems())).
				WithSection("Environment", manList(manEnvironment)).
				WithSection("Files", manList(manFiles)).
				WithSection("Examples", manList(manExamples(cmd.Root()))).
				WithSection("See Also", "openssl-s_client(1), swaks(1). RFC 8314 (Cleartext Considered Obsolete: Use of Transport Layer Security (TLS) for Email Submission and Access), RFC 8997 (Deprecation of TLS 1.1 for Email Submission and Access), RFC 3207 (SMTP Service Extension for Secure SMTP over Transport Layer Security).")
			_, err = fmt.Fprint(cmd.OutOrStdout(), page.Build(roff.NewDocument()))
			return err
		},
	}
}

// dropHidden removes the hidden flags (a deprecated alias) that
// mango-cobra puts on the page as it does every flag.
func dropHidden(mc *mango.Command, c *cobra.Command) {
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			delete(mc.Flags, f.Name)
		}
	})
	for _, sub := range c.Commands() {
		if m, ok := mc.Commands[sub.Name()]; ok {
			dropHidden(m, sub)
		}
	}
}

// manEnvironment: every variable mailwire reads, and what for.
var manEnvironment = []string{
	envPassword + ": the password for --user (session, connect, bench), instead of --password, which other local users can read in the process list.",
	envClassPassphrase + ": the class passphrase of mailwire serve, instead of --passphrase-file (never shown, not even by mailwire config).",
	"NO_COLOR: when set and not empty, no colour anywhere: the transcripts, the help, the errors and the terminal interface (https://no-color.org); session --color always overrides it for the transcript.",
	"COLORFGBG: read by the terminal interface when the terminal does not answer its background colour query (\"0;15\": a dark text on a light background); --theme overrides both.",
	"SSLKEYLOGFILE: every TLS connection mailwire makes as a client appends its secrets to this file (NSS key log format), as curl and browsers do, for Wireshark, with a warning on standard error: session (without --keylog) and its scenarios, connect, and the sessions the terminal interface and the scan screen run (the lab's server side and scan's probes do not); whoever has the file can decrypt those sessions.",
	"XDG_STATE_HOME: where the lab's CA and the connect form's recent targets are kept, in mailwire/ under it (an absolute path; default ~/.local/state).",
	"XDG_DATA_HOME: where the session screen saves recordings (w) and exports (x), in mailwire/recordings and mailwire/exports under it (an absolute path; default ~/.local/share).",
	"XDG_CONFIG_HOME: where the configuration file is, mailwire/config.toml under it (an absolute path; default ~/.config); and where mailwire kept the lab's CA before (mailwire/lab under it): a CA found only there is still used, with a note on how to move it.",
	"HOME: the base of the default directories.",
	"MAILWIRE_PEERS, MAILWIRE_PEERS_CA: for mailwire's own tests only: the address of real Postfix and Dovecot servers and their CA, for the interoperability tests (go test), which skip without them.",
}

// manFiles: every file mailwire writes or reads by default.
var manFiles = []string{
	"$XDG_STATE_HOME/mailwire/lab/ca.pem, ca-key.pem: the lab's private CA (the key readable by its owner only), made on first use; --state-dir chooses another directory. Trusting ca.pem lets other clients check the lab's certificates for mail.lab.test.",
	"$XDG_STATE_HOME/mailwire/lab/hostile-ca.pem: the throwaway CA of the last `mailwire lab --hostile` run.",
	"$XDG_STATE_HOME/mailwire/recent.json: the connect form's recent targets (host, port, protocol, TLS mode, SNI, CA file, user; never a password).",
	"$XDG_CONFIG_HOME/mailwire/config.toml: the configuration file (TOML), the flags' defaults; mailwire config shows it and where each value came from.",
	"$XDG_DATA_HOME/mailwire/recordings/, $XDG_DATA_HOME/mailwire/exports/: recordings and exports saved from the session screen, named after the session and the time (mode 0600; a recording never over an existing file).",
	"$XDG_STATE_HOME/mailwire/lab/ssh_host_ed25519_key: mailwire serve's SSH host key (readable by its owner only), made on first use, kept so that students' clients see the same key each class; --state-dir chooses another directory.",
	"~/.config/mailwire/lab: the lab CA's former place, used while no CA exists in the state directory.",
}

// exitStatusItems are the lines of exitStatusHelp, one per status, with
// their continuation lines joined.
func exitStatusItems() []string {
	var items []string
	for _, l := range strings.Split(exitStatusHelp, "\n")[1:] {
		if t := strings.TrimSpace(l); len(l) > 2 && l[2] != ' ' {
			items = append(items, t)
		} else {
			items[len(items)-1] += " " + t
		}
	}
	return items
}

// manExamples are the examples of every command, in command order.
func manExamples(root *cobra.Command) []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden {
			return
		}
		for _, l := range strings.Split(c.Example, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// manList is items as a roff list (roff's Text turns a line that starts
// with "*" into a list item).
func manList(items []string) string {
	var b strings.Builder
	for i, it := range items {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("*" + strings.ReplaceAll(it, "\n", " "))
	}
	return b.String()
}

// manText joins a help text's wrapped lines: in roff each line of Text
// is a paragraph, so only blank lines separate paragraphs.
func manText(s string) string {
	var paras []string
	for _, p := range strings.Split(s, "\n\n") {
		paras = append(paras, strings.Join(strings.Fields(p), " "))
	}
	return strings.Join(paras, "\n")
}
