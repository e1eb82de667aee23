// Command mailwire shows how mail protocols and their TLS modes behave on the
// wire. With no subcommand it starts the terminal interface; `mailwire lab`
// runs the embedded lab of mail servers in the foreground.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"charm.land/fang/v2"
	mcobra "github.com/muesli/mango-cobra"
	"github.com/muesli/roff"
	"github.com/spf13/cobra"

	"github.com/mailwire/mailwire/sessions/wire"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// Empty means fang reads it from the module's build information.
var version string

// rootLong is the root command's description, without the exit status
// table (--help adds it; the man page has its own section for it).
const rootLong = "mailwire shows how mail protocols (SMTP 25/587/465, POP3 110/995, IMAP 143/993)\n" +
	"and their TLS modes (STARTTLS versus implicit TLS) behave on the wire, with an\n" +
	"embedded lab of real servers on loopback."

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "mailwire",
		Short: "See SMTP, POP3 and IMAP, and their TLS modes, on the wire",
		Long:  rootLong + "\n\n" + exitStatusHelp,
		Args:  usageArgs(cobra.NoArgs),
	}
	var budget wire.Budget
	addBudgetFlags(root.Flags(), &budget)
	root.RunE = func(cmd *cobra.Command, _ []string) error { return runTUI(cmd, budget) }
	// A bad flag or value is a usage error (exit status 2); cobra asks
	// the root for its subcommands too.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.AddCommand(newLabCmd(), newSessionCmd(), newConnectCmd())
	root.AddCommand(newBenchCmd(), newManCmd())
	return root
}

// newManCmd replaces fang's man page command with one that has an EXIT
// STATUS section (mango renders extra sections after the options).
func newManCmd() *cobra.Command {
	return &cobra.Command{
		Use:                   "man",
		Short:                 "Generates manpages",
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		Hidden:                true,
		Args:                  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			page, err := mcobra.NewManPage(1, cmd.Root())
			if err != nil {
				return fmt.Errorf("man page: %w", err)
			}
			// roff turns lines starting with "*" into a list.
			var items []string
			for _, l := range strings.Split(exitStatusHelp, "\n")[1:] {
				if t := strings.TrimSpace(l); len(l) > 2 && l[2] != ' ' {
					items = append(items, "*"+t)
				} else {
					items[len(items)-1] += " " + t
				}
			}
			page = page.WithLongDescription(rootLong).WithSection("Exit Status", strings.Join(items, "\n"))
			_, err = fmt.Fprint(cmd.OutOrStdout(), page.Build(roff.NewDocument()))
			return err
		},
	}
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
	}
	if version != "" {
		opts = append(opts, fang.WithVersion(version))
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
