package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/monitor"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/tui"
)

// mailwire lab --monitor: the lab, with every connection clients make to
// it shown from the server's side (sessions/monitor), as text or on the
// monitor screen.

// Values of --monitor.
const (
	monitorAuto   = "auto"   // the screen on a terminal, else text
	monitorText   = "text"   // each event as a line of text, prefixed #ID
	monitorScreen = "screen" // the TUI's monitor screen
)

// otherNamePorts are the ports that get a ModeOtherName twin under
// --monitor, for telling which clients verify the certificate: every mail
// port.
var otherNamePorts = content.MailPorts()

// checkMonitorMode refuses an unknown --monitor value.
func checkMonitorMode(mode string) error {
	switch mode {
	case "", monitorAuto, monitorText, monitorScreen:
		return nil
	}
	return usageError(fmt.Errorf("--monitor %q: want auto, text or screen", mode))
}

// watchWith makes the lab report every connection and its TLS secrets to
// mon.
func watchWith(opts *lab.Options, mon *monitor.Monitor) {
	opts.Watch = mon.Watch
	opts.KeyLogWriter = mon
	opts.OnConnect = nil // every admitted connection is on the monitor
}

// addOtherNamePorts starts the other-name twins and returns them.
func addOtherNamePorts(l *lab.Lab) ([]lab.Endpoint, error) {
	var out []lab.Endpoint
	for _, p := range otherNamePorts {
		e, err := l.AddEndpoint(p, lab.ModeOtherName)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// printOtherNameBanner lists the other-name ports after the lab's banner.
func printOtherNameBanner(out io.Writer, eps []lab.Endpoint) {
	fmt.Fprintf(out, "Certificate check ports: each presents a certificate the lab CA issued for %s only.\n", lab.OtherName)
	fmt.Fprintln(out, "A client pointed at one that goes on inside TLS did not verify the certificate;")
	fmt.Fprintln(out, "one that verifies ends the handshake.")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tPROTOCOL\tTLS\tLISTENING ON")
	for _, e := range eps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", e.Canonical, e.Proto, e.TLS, e.Addr)
	}
	tw.Flush()
	fmt.Fprintln(out)
}

// runMonitorText prints each connection's events as they come, each line
// prefixed with its connection's id, until ctx ends.
func runMonitorText(ctx context.Context, out io.Writer, mon *monitor.Monitor) error {
	sub := mon.Subscribe(1 << 14)
	defer sub.Close()
	pw := &prefixWriter{w: out}
	p, err := render.NewTextPrinter(pw, render.Options{Width: 100})
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "Monitoring: every event of every connection as it crosses, prefixed with the connection's #id (ctrl+c to stop).")
	var lost int64
	for {
		select {
		case <-ctx.Done():
			return nil
		case it := <-sub.C:
			if n := sub.Lost(); n > lost {
				fmt.Fprintf(out, "(the terminal fell behind: %d events not printed; they are on the monitor)\n", n-lost)
				lost = n
			}
			pw.prefix = fmt.Sprintf("#%-4d ", it.Conn)
			if err := p.Print(it.Event); err != nil {
				return fmt.Errorf("print: %w", err)
			}
		}
	}
}

// prefixWriter starts each line it writes with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool // inside a line
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var buf bytes.Buffer
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if !p.mid {
			buf.WriteString(p.prefix)
		}
		buf.WriteString(line)
		p.mid = !strings.HasSuffix(line, "\n")
	}
	if _, err := p.w.Write(buf.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

// runMonitorScreen runs the TUI's monitor screen over the running lab.
func runMonitorScreen(ctx context.Context, l *lab.Lab, host string, mon *monitor.Monitor, eps []lab.Endpoint) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	info := labInfo(l, host)
	opts := tui.Options{Context: ctx, Monitor: mon, MonitorPorts: eps,
		StartLab: func(context.Context) (tui.LabInfo, error) { return info, nil }}
	p := tea.NewProgram(tui.New(opts), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("terminal interface: %w", err)
	}
	return nil
}
