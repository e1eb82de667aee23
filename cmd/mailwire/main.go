// Command mailwire shows how mail protocols and their TLS modes behave on the
// wire. With no subcommand it starts the terminal interface; `mailwire lab`
// runs the embedded lab of mail servers in the foreground.
package main

import (
	"context"
	"io"
	"os"
	"syscall"

	"charm.land/fang/v2"
	"github.com/spf13/cobra"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// Empty means the module's build information (version.go).
var version string

// rootLong is the root command's description, without the exit status
// table (--help adds it; the man page has its own section for it).
const rootLong = "mailwire shows how mail protocols (SMTP 25/587/465, POP3 110/995, IMAP 143/993)\n" +
	"and their TLS modes (STARTTLS versus implicit TLS) behave on the wire, with an\n" +
	"embedded lab of real servers on loopback."

// rootUsage says what the root command does with its argument and flags.
const rootUsage = "Without a command it opens the terminal interface on the port table, with the\n" +
	"lab running on loopback (canonical port + 10000; a taken port falls back to a\n" +
	"free one). With PORT (25, 587, 465, 110, 995, 143, 993, 443) it opens that\n" +
	"port's session, with --scenario that scenario, once the lab is up."

func newRootCmd() *cobra.Command {
	var tf tuiFlags
	root := &cobra.Command{
		Use:   "mailwire [PORT]",
		Short: "See SMTP, POP3 and IMAP, and their TLS modes, on the wire",
		Long:  rootLong + "\n\n" + rootUsage + "\n\n" + exitStatusHelp,
		Example: "  mailwire\n" +
			"  mailwire 587\n" +
			"  mailwire --scenario too-early\n" +
			"  mailwire --scenario too-early --present\n" +
			"  mailwire --scenario strip-opportunistic --variant replace 143\n" +
			"  mailwire --port-offset 20000 --state-dir /tmp/mailwire-lab",
		Args: rootArgs,
		// The configuration file gives its settings to the flags not
		// given (config.go), for every command.
		PersistentPreRunE: applyConfig,
		RunE:              func(cmd *cobra.Command, args []string) error { return runTUI(cmd, args, tf) },
	}
	addTUIFlags(root, &tf)
	root.SuggestionsMinimumDistance = 2 // rootArgs suggests as cobra would
	// A bad flag or value is a usage error (exit status 2); cobra asks
	// the root for its subcommands too.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(newLabCmd(), newSessionCmd(), newConnectCmd(), newScanCmd(), newReplayCmd(), newLessonCmd())
	root.AddCommand(newServeCmd(), newBenchCmd(), newConfigCmd(), newManCmd())
	registerCompletions(root)
	return root
}

// run runs mailwire with args and returns its exit status (exit.go).
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	opts := []fang.Option{
		// ctrl+c and SIGTERM cancel the command's context: `mailwire lab`
		// then closes its servers before exiting.
		fang.WithNotifySignal(os.Interrupt, syscall.SIGTERM),
		fang.WithoutManpage(), // newManCmd has the exit statuses
		fang.WithErrorHandler(errorHandler),
		fang.WithVersion(buildVersion()),
	}
	// fang prints the error; its exit status comes from exitCode.
	return exitCode(fang.Execute(ctx, root, opts...))
}

// errorHandler is fang's, without its capitalising of the message's first
// letter, which turned "--format …" into "--Format …".
func errorHandler(w io.Writer, styles fang.Styles, err error) {
	styles.ErrorText = styles.ErrorText.UnsetTransform()
	fang.DefaultErrorHandler(w, styles, err)
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
