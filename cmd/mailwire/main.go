// Command mailwire shows how mail protocols and their TLS modes behave on the
// wire. With no subcommand it starts the terminal interface; `mailwire lab`
// runs the embedded lab of mail servers in the foreground.
package main

import (
	"context"
	"os"
	"syscall"

	"charm.land/fang/v2"
	"github.com/spf13/cobra"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
// Empty means fang reads it from the module's build information.
var version string

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "mailwire",
		Short: "See SMTP, POP3 and IMAP, and their TLS modes, on the wire",
		Long: "mailwire shows how mail protocols (SMTP 25/587/465, POP3 110/995, IMAP 143/993)\n" +
			"and their TLS modes (STARTTLS versus implicit TLS) behave on the wire, with an\n" +
			"embedded lab of real servers on loopback.",
		Args: cobra.NoArgs,
		RunE: runTUI,
	}
	root.AddCommand(newLabCmd(), newSessionCmd(), newConnectCmd())
	root.AddCommand(newBenchCmd())
	return root
}

func main() {
	opts := []fang.Option{
		// ctrl+c and SIGTERM cancel the command's context: `mailwire lab`
		// then closes its servers before exiting.
		fang.WithNotifySignal(os.Interrupt, syscall.SIGTERM),
	}
	if version != "" {
		opts = append(opts, fang.WithVersion(version))
	}
	if err := fang.Execute(context.Background(), newRootCmd(), opts...); err != nil {
		// fang has already printed the error.
		os.Exit(1)
	}
}
