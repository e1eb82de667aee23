package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/mailwire/mailwire/internal/sshserve"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// envClassPassphrase gives the class passphrase without putting it in the
// process list.
const envClassPassphrase = "MAILWIRE_CLASS_PASSPHRASE"

// serveFlags are mailwire serve's flags.
type serveFlags struct {
	ssh            string // the SSH server's address
	passphraseFile string
	authorizedKeys string
	limits         sshserve.Limits
	allowTargets   bool   // the connect form reaches real servers from the host
	theme          string // the students' colours unless they choose (MAILWIRE_THEME)
	offset         int    // the lab's port offset
	stateDir       string // the lab's CA and the host key
	budget         wire.Budget
}

const serveLong = "Serve the terminal interface over SSH to a class: each student who connects with\n" +
	"ssh gets their own screen, window size and colours, against one lab run by the\n" +
	"server on its loopback. Nothing to install on the students' machines.\n\n" +
	"Access: with --passphrase-file (or $" + envClassPassphrase + ") whoever types the class\n" +
	"passphrase gets in; with --authorized-keys the holders of the keys listed there.\n" +
	"With neither, any client is let in, which is allowed on a loopback address only.\n" +
	"The host key is kept in the state directory (" + sshserve.HostKeyFile + ").\n\n" +
	"Students see the lab and nothing of the host: no shell, no command, no file, no\n" +
	"forwarding; the export menu is off and the connect form reaches the lab only\n" +
	"(--allow-targets lets it reach any server the host can)."

func newServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve --ssh ADDR",
		Short: "Serve the terminal interface to a class over SSH",
		Long:  serveLong,
		Example: "  mailwire serve                                   # 127.0.0.1:2222, open: ssh -p 2222 localhost\n" +
			"  mailwire serve --ssh 0.0.0.0:2222 --passphrase-file class.txt\n" +
			"  mailwire serve --ssh 192.0.2.10:2222 --authorized-keys students.pub --max-students 30",
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	addServeFlags(cmd, &f)
	return cmd
}

func addServeFlags(cmd *cobra.Command, f *serveFlags) {
	def := sshserve.DefaultLimits()
	fl := cmd.Flags()
	fl.StringVar(&f.ssh, "ssh", sshserve.DefaultAddr, "address the SSH server listens on (anything but loopback reaches other machines, and needs a passphrase or keys)")
	fl.StringVar(&f.passphraseFile, "passphrase-file", "", "file whose first line is the class passphrase (or $"+envClassPassphrase+")")
	fl.StringVar(&f.authorizedKeys, "authorized-keys", "", "the students' keys, an OpenSSH authorized_keys file (read again when it changes)")
	fl.IntVar(&f.limits.MaxSessions, "max-students", def.MaxSessions, "students connected at once, in all")
	fl.IntVar(&f.limits.MaxPerAddr, "max-per-address", def.MaxPerAddr, "connections at once from one address (raise it for a class behind one NAT address)")
	fl.DurationVar(&f.limits.IdleTimeout, "idle-timeout", def.IdleTimeout, "a student who presses no key for this long is disconnected")
	fl.BoolVar(&f.allowTargets, "allow-targets", false, "let the connect form (c) reach any server the host can reach, not only the lab")
	fl.StringVar(&f.theme, "theme", "", "students' colours unless they send MAILWIRE_THEME: dark, light or high-contrast (default: each terminal's background, else COLORFGBG, else dark)")
	def2 := lab.DefaultOptions()
	fl.IntVar(&f.offset, "port-offset", def2.PortOffset, "the lab's ports: each canonical port plus this, on loopback (a taken port falls back to a free one)")
	addStateDirFlag(fl, &f.stateDir, false)
	addBudgetFlags(fl, &f.budget)
}

// serveApp is what every student's program shares: the lab and its
// session runners. Each student's tui.Model is their own.
type serveApp struct {
	keeper *labKeeper
	info   tui.LabInfo
	theme  tui.Theme
	prompt func(context.Context, tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error)
}

// program builds a student's own terminal interface against the shared
// lab (sshserve.Config.Program).
func (a *serveApp) program(ctx context.Context, st sshserve.Student) (tea.Model, error) {
	theme := a.theme
	if v := st.Getenv("MAILWIRE_THEME"); v != "" {
		if t, err := tui.ParseTheme(v); err == nil {
			theme = t
		}
	}
	info := a.info
	return tui.New(tui.Options{
		Context:     ctx,
		StartLab:    func(context.Context) (tui.LabInfo, error) { return info, nil },
		OpenSession: a.keeper.openSession,
		OpenPrompt:  a.prompt,
		Theme:       theme,
		Shared:      true,
	}), nil
}

// serveAccess reads the access settings: the passphrase from its file or
// the environment, the authorized_keys file's path.
func serveAccess(f serveFlags) (sshserve.Access, error) {
	acc := sshserve.Access{AuthorizedKeys: f.authorizedKeys}
	switch {
	case f.passphraseFile != "":
		p, err := readPassphraseFile(f.passphraseFile)
		if err != nil {
			return acc, err
		}
		acc.Passphrase = p
	case os.Getenv(envClassPassphrase) != "":
		acc.Passphrase = os.Getenv(envClassPassphrase)
	}
	return acc, nil
}

// readPassphraseFile reads the first line of a file (at most 1 KiB).
func readPassphraseFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--passphrase-file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return "", fmt.Errorf("--passphrase-file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimRight(line, "\r")
	if line == "" {
		return "", fmt.Errorf("--passphrase-file %s: the first line is empty", path)
	}
	return line, nil
}

// checkServeFlags refuses what cannot run before anything starts.
func checkServeFlags(f serveFlags, acc sshserve.Access) error {
	if err := checkBudget(f.budget); err != nil {
		return err
	}
	if err := checkPortOffset(f.offset); err != nil {
		return err
	}
	if _, _, err := splitServeAddr(f.ssh); err != nil {
		return err
	}
	if acc.Mode() == sshserve.ModeOpen && !sshserve.IsLoopback(f.ssh) {
		return fmt.Errorf("--ssh %s: other machines can reach this address, and with neither --passphrase-file "+
			"($%s) nor --authorized-keys anyone there would get in: give one of them, or listen on 127.0.0.1",
			f.ssh, envClassPassphrase)
	}
	for name, v := range map[string]int{"max-students": f.limits.MaxSessions, "max-per-address": f.limits.MaxPerAddr} {
		if err := atLeastOne(v); err != nil {
			return fmt.Errorf("--%s %d: %w", name, v, err)
		}
	}
	if err := idleTimeoutProblem(f.limits.IdleTimeout); err != nil {
		return fmt.Errorf("--idle-timeout %s: %w", f.limits.IdleTimeout, err)
	}
	return nil
}

// atLeastOne checks a limit of students or connections (the flag's and
// the configuration file's).
func atLeastOne(v int) error {
	if v < 1 {
		return errors.New("want 1 or more")
	}
	return nil
}

// idleTimeoutProblem checks the idle timeout: shorter than a minute would
// cut a student off while they read a screen.
func idleTimeoutProblem(d time.Duration) error {
	if d < time.Minute {
		return errors.New("want a minute or more")
	}
	return nil
}

// splitServeAddr checks --ssh: host:port with a port.
func splitServeAddr(addr string) (host string, port int, err error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("--ssh %q: want HOST:PORT (127.0.0.1:2222): %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("--ssh %q: the port must be a number from 0 to 65535", addr)
	}
	return h, n, nil
}

// runServe starts the lab and the SSH server, logs every student's
// arrival and departure on out, and stops both when ctx ends (ctrl+c).
func runServe(ctx context.Context, out, errOut io.Writer, f serveFlags) error {
	if ctx == nil {
		ctx = context.Background()
	}
	acc, err := serveAccess(f)
	if err != nil {
		return usageError(err)
	}
	if err := checkServeFlags(f, acc); err != nil {
		return usageError(err)
	}
	theme, err := tui.ParseTheme(f.theme)
	if err != nil {
		return usageError(fmt.Errorf("--theme: %w", err))
	}
	dir, err := labStateDir(f.stateDir, errOut)
	if err != nil {
		return err
	}
	keyPath := filepath.Join(dir, sshserve.HostKeyFile)
	hostKey, created, err := sshserve.LoadOrCreateHostKey(keyPath)
	if err != nil {
		return err
	}

	logs := newLineLog(out)
	defer logs.close()
	logf := func(format string, args ...any) {
		logs.printf("%s  %s", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	app, closeLab, err := startServeLab(ctx, f, dir, theme)
	if err != nil {
		return err
	}
	defer closeLab()

	srv, err := sshserve.New(sshserve.Config{Addr: f.ssh, HostKey: hostKey, Access: acc, Limits: f.limits,
		Program: app.program, Logf: logf, Version: "mailwire"})
	if err != nil {
		return usageError(err)
	}
	ln, err := srv.Listen()
	if err != nil {
		return err
	}
	printServeBanner(out, errOut, f, acc, ln.Addr().String(), hostKey, keyPath, created)
	logs.start()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("ssh server: %w", err)
	case <-ctx.Done():
	}
	// Each student's screen is ended with a word, their terminal put
	// back; a few seconds for that, then every connection is closed.
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	<-served
	logs.close()
	fmt.Fprintln(out, "Class server stopped.")
	return nil
}

// startServeLab starts the one lab every student's screen runs its
// sessions against, with room for a class: the lab's connection limits,
// per client address among them, are raised, since every student's
// sessions come from this host's loopback.
func startServeLab(ctx context.Context, f serveFlags, stateDir string, theme tui.Theme) (*serveApp, func(), error) {
	limits := lab.DefaultLimits()
	// A scenario holds up to a few connections at once (an attacker's
	// two legs, a comparison's ports); four per student is room enough.
	perClass := max(sshserve.DefaultLimits().MaxSessions, f.limits.MaxSessions) * 4
	limits.MaxConns = max(limits.MaxConns, perClass)
	limits.MaxConnsPerClient = max(limits.MaxConnsPerClient, perClass)
	k := &labKeeper{listen: "127.0.0.1", offset: f.offset, stateDir: stateDir, budget: f.budget, limits: limits}
	info, err := k.start(ctx)
	if err != nil {
		return nil, nil, err
	}
	app := &serveApp{keeper: k, info: info, theme: theme}
	if f.allowTargets {
		app.prompt = sharedPromptOpener(sessions.Options{Budget: f.budget})
	}
	return app, func() { _ = k.close() }, nil
}

// sharedPromptOpener is the connect form's opener on a shared server
// (--allow-targets): mailwire connect's, except that a CA file is not
// read, since the path would be one of the host's files.
func sharedPromptOpener(base sessions.Options) func(context.Context, tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error) {
	open := promptOpener(base, nil)
	return func(ctx context.Context, r tui.SessionRequest) (tui.PromptHandle, <-chan wire.Event, error) {
		if r.CAFile != "" {
			return nil, nil, errors.New("a CA file would be read from the server's disk: leave the field empty on a shared server (the system's roots verify the certificate)")
		}
		return open(ctx, r)
	}
}

// printServeBanner says where the class connects, how it gets in and how
// the operator checks the host key, with a warning when the address is not
// loopback.
func printServeBanner(out, errOut io.Writer, f serveFlags, acc sshserve.Access, addr string, key gossh.Signer, keyPath string, created bool) {
	_, port, _ := splitServeAddr(addr)
	// The address as the operator gave it (0.0.0.0 is listened on as
	// [::], both families), with the port the system chose for :0.
	host, _, _ := splitServeAddr(f.ssh)
	if !sshserve.IsLoopback(f.ssh) {
		fmt.Fprintf(errOut, "\n"+
			"  !!! WARNING: listening on %s, not on loopback.\n"+
			"  !!! Other machines can reach the class server: anyone who has %s gets in.\n"+
			"  !!! Use this only on a network you control.\n\n",
			net.JoinHostPort(host, strconv.Itoa(port)), acc.Mode())
	}
	fmt.Fprintln(out, "mailwire serve: the terminal interface over SSH, one screen per student, one lab.")
	fmt.Fprintln(out)
	for i, h := range studentHosts(host) {
		lead := "Students connect:  "
		if i > 0 {
			lead = "               or  "
		}
		fmt.Fprintf(out, "%sssh -p %d %s\n", lead, port, sshHost(h))
	}
	fmt.Fprintf(out, "Access:            %s\n", acc.Mode())
	if acc.Mode() == sshserve.ModeOpen {
		fmt.Fprintf(out, "                   (loopback only: any user of this machine gets in)\n")
	}
	if acc.AuthorizedKeys != "" {
		fmt.Fprintf(out, "Authorized keys:   %s\n", acc.AuthorizedKeys)
	}
	word := "kept in"
	if created {
		word = "new, written to"
	}
	fmt.Fprintf(out, "Host key:          %s (%s %s)\n", gossh.FingerprintSHA256(key.PublicKey()), word, keyPath)
	fmt.Fprintf(out, "Limits:            %d students at once, %d per address, %s without a key\n",
		f.limits.MaxSessions, f.limits.MaxPerAddr, f.limits.IdleTimeout)
	targets := "the lab only"
	if f.allowTargets {
		targets = "any server this host reaches (--allow-targets)"
	}
	fmt.Fprintf(out, "Connect form:      %s; exports off\n", targets)
	fmt.Fprintln(out)
	fmt.Fprintln(out, "Students (ctrl+c to stop):")
}

// studentHosts are the addresses students type for host: itself, or for
// a wildcard (0.0.0.0, ::, empty) this machine's addresses other than
// loopback and link-local, a few at most (a class network is one of
// them).
func studentHosts(host string) []string {
	ip := net.ParseIP(host)
	if host != "" && (ip == nil || !ip.IsUnspecified()) {
		return []string{host}
	}
	var hosts []string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		in, ok := a.(*net.IPNet)
		if !ok || in.IP.IsLoopback() || in.IP.IsLinkLocalUnicast() || (ip != nil && ip.To4() != nil && in.IP.To4() == nil) {
			continue
		}
		if hosts = append(hosts, in.IP.String()); len(hosts) == 4 {
			break
		}
	}
	if len(hosts) == 0 {
		return []string{"HOST (this machine's name or address)"}
	}
	return hosts
}

// sshHost is host as ssh(1) takes it: an IPv6 address without brackets
// (ssh -p takes the port apart).
func sshHost(host string) string { return strings.Trim(host, "[]") }
