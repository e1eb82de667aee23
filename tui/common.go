// Package tui is mailwire's terminal interface, built on Bubble Tea v2.
//
// The package never opens a socket: everything that touches the network
// (starting the lab, later running sessions) is a function passed in through
// Options and run inside a tea.Cmd, and its result comes back as a message.
//
// Structure: a root Model routes messages, owns the window size and builds
// the only tea.View; each screen is a model with SetSize and a help.KeyMap;
// one KeyMap and one Styles value live in a Common that every screen shares.
package tui

import (
	"context"
	"net"
	"sort"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/monitor"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/wire"
)

// LabInfo describes a running lab as the TUI shows it.
type LabInfo struct {
	// Endpoints maps a canonical port (25, 587, …) to the address the lab
	// actually listens on for it (e.g. "127.0.0.1:10587"). A port that was
	// taken falls back to a free one, so the TUI always shows the real address.
	Endpoints map[int]string
	// ListenHost is the host every endpoint listens on.
	ListenHost string
	// CAPath is the PEM file of the lab CA, for clients' -CAfile / --cacert.
	CAPath string
	// Hostname is the name the lab certificates are issued for; clients
	// verify it (openssl -verify_hostname).
	Hostname string
	// User and Password are the demo credentials the lab accepts.
	User, Password string
}

// Ports returns the canonical ports of the lab in ascending order.
func (l LabInfo) Ports() []int {
	out := make([]int, 0, len(l.Endpoints))
	for p := range l.Endpoints {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// Options configures the TUI.
type Options struct {
	// Context bounds the work started by commands (the lab start). Nil means
	// context.Background().
	Context context.Context
	// StartLab starts the lab. It is called once, inside a tea.Cmd, never
	// on the UI goroutine. Nil means there is no lab: the screens say so.
	StartLab func(ctx context.Context) (LabInfo, error)
	// OpenSession starts one session and returns its event stream (as
	// sessions.Stream does: closed after the close event; the receiver
	// drains it). It is called inside a tea.Cmd with a context the TUI
	// cancels when the user leaves or re-runs the session. Nil means
	// sessions cannot be run: enter on a port shows the lab endpoint.
	OpenSession func(ctx context.Context, req SessionRequest) (<-chan wire.Event, error)
	// Connect, when set, opens the session screen on this request at start
	// (mailwire connect) instead of the port table. The program is then
	// in target mode: the port table runs its sessions against the
	// request's host, and esc from a typed session leads to the connect
	// form, never to a lab that is not there.
	Connect *SessionRequest
	// OpenPrompt starts a session typed by hand (SessionRequest.Prompt):
	// a handle for what the user types and the session's event stream,
	// as OpenSession's. Like OpenSession it is called inside a tea.Cmd
	// with a context the TUI cancels when the run is over. Nil means the
	// connect form cannot connect.
	OpenPrompt func(ctx context.Context, req SessionRequest) (PromptHandle, <-chan wire.Event, error)
	// OpenScan starts a scan of a host (sessions/scan): its progress and
	// then its report arrive on the channel, which is closed after the
	// report. Like OpenSession it is called inside a tea.Cmd with a
	// context the TUI cancels when the scan is re-run or left; the
	// producer must stop sending once it is done. Nil means no scans.
	OpenScan func(ctx context.Context, req ScanRequest) (<-chan ScanUpdate, error)
	// Scan, when set, opens the scan screen on this request at start
	// (mailwire scan HOST on a terminal). With Connect unset, the target
	// is the scanned host: the port table and the findings' sessions run
	// against it.
	Scan *ScanRequest
	// RecentFile is where the connect form remembers recent targets
	// (recent.go); empty means they are not remembered.
	RecentFile string
	// Theme chooses the colours (--theme). ThemeAuto, the zero value,
	// follows the terminal: its answer to the background colour query,
	// else COLORFGBG from the program's environment, else dark.
	Theme Theme
	// Open, when set, opens the session screen on this request as soon as
	// the lab is ready (`mailwire 587`, `mailwire --scenario too-early`),
	// as enter on the port table or the picker would: only Port (0: the
	// scenario's default), Scenario and Variant are read, the rest comes
	// from the lab. Esc leads back to the port table. If the lab fails,
	// the port table shows why.
	Open *SessionRequest
	// Shared: this program is one of many that one host serves to a
	// class (mailwire serve). Nothing a student does reaches the host's
	// disk: the export menu is off and no recent targets are kept
	// (RecentFile is ignored); the connect form is off unless OpenPrompt
	// is given. The full help says so.
	Shared bool
	// Present starts in presenter mode (--present): the session screen
	// laid out for a projector, in the high-contrast theme (presenter.go).
	Present bool
	// Monitor, when set, opens the lab monitor screen (monitor.go) at
	// start (mailwire lab --monitor): the lab's connections, live;
	// MonitorPorts are its certificate check ports (lab.ModeOtherName).
	Monitor      *monitor.Monitor
	MonitorPorts []lab.Endpoint
}

// PromptHandle is what the prompt needs of a typed session: a way in for
// what the user types, the end of input, and whether a line would put a
// password on the wire before TLS. *sessions.Prompt is one; its methods
// never block, so the prompt calls them from Update.
type PromptHandle interface {
	Send(in sessions.Input) error
	Close()
	Exposes(line string) *wire.Credential
}

// SessionRequest says which session to run. The TUI fills it from the port
// table (Port and the lab endpoint); `mailwire connect` fills it from its
// flags. The display fields only label the session screen: OpenSession
// decides what is dialed.
type SessionRequest struct {
	// Port is the canonical port (25, 587, …) whose protocol, TLS mode and
	// lab endpoint the session uses.
	Port int
	// Target is the address dialed, for the header (e.g. "127.0.0.1:10587").
	Target string
	// Proto and TLSMode are shown in the header ("smtp", "starttls").
	Proto   string
	TLSMode string
	// Label says in a few words what the target is ("lab", "SNI mx.example").
	Label string
	// Scenario, when set, runs that scenario (sessions/scenario) instead of
	// a plain session: Port and Variant then choose among its options
	// (Port 0 and Variant "" for its defaults).
	Scenario string
	Variant  string

	// Prompt: the session is typed by hand at a prompt (mailwire connect,
	// the connect form) and run by Options.OpenPrompt.
	Prompt bool
	// Replay names the recording the session is read from (mailwire
	// replay): the header says replay, not session. Empty when live.
	Replay string
	// Recorded is that recording's header: saving the replay (w) writes
	// it again, so that the new file says when, where and how the
	// session ran, not when it was replayed.
	Recorded *render.RecordingHeader
	// ServerName, CAFile and User come from the connect form: the SNI
	// (empty: the host), a PEM file to verify the certificate with
	// (empty: the system roots), the user name the AUTH helper starts
	// with. Against the lab they are unset.
	ServerName, CAFile, User string
	// Follow, when set, shows the lab monitor's connection of that id
	// (monitor.go) instead of running a session.
	Follow uint64
	// TLS, when set, holds the session to one TLS version, and to those
	// TLS ≤ 1.2 suites or ALPN protocols it names (sessions.Options'
	// MinTLS/MaxTLS, CipherSuites, ALPN): the scan screen sets it so
	// that a finding's session offers what the probe that found it
	// offered. A pointer keeps the request comparable.
	TLS *scan.ShowTLS
}

// host is the request's host, without the port.
func (r SessionRequest) host() string {
	if h, _, err := net.SplitHostPort(r.Target); err == nil {
		return h
	}
	return r.Target
}

// labState is what the TUI knows about the lab.
type labState int

const (
	labNone     labState = iota // no StartLab function given
	labStarting                 // StartLab is running
	labReady                    // Info is valid
	labFailed                   // Err says why
)

// Lab holds the lab's state as last reported.
type Lab struct {
	State labState
	Info  LabInfo
	Err   error
}

// Common is shared by the root and every screen. Screens hold a pointer, so
// a theme change (new Styles) or the lab's arrival reaches all of them.
type Common struct {
	Ctx    context.Context
	Styles Styles
	Keys   KeyMap
	Lab    Lab
	// OpenSession is Options.OpenSession (nil: no sessions).
	OpenSession func(ctx context.Context, req SessionRequest) (<-chan wire.Event, error)
	// OpenPrompt is Options.OpenPrompt (nil: no typed sessions).
	OpenPrompt func(ctx context.Context, req SessionRequest) (PromptHandle, <-chan wire.Event, error)
	// OpenScan is Options.OpenScan (nil: no scans).
	OpenScan func(ctx context.Context, req ScanRequest) (<-chan ScanUpdate, error)
	// Target is the real server of target mode (mailwire connect), or of
	// the last typed session the connect form opened: the port table's
	// sessions go there when no lab runs. Nil: no target.
	Target *SessionRequest
	// Present: presenter mode, for the whole program (Options.Present,
	// then P on the session screen); the root switches the theme.
	Present bool
	// recentFile is Options.RecentFile.
	recentFile string
	// runs numbers the session runs of the whole program: a new session
	// screen replaces the old one while the old run's messages may still
	// be in flight, and the id alone tells them apart.
	runs int
	// catalog lists the scenarios and their prose.
	catalog scenarioCatalog
}

// nextRun returns a new session run id.
func (c *Common) nextRun() int {
	c.runs++
	return c.runs
}

// labResultMsg carries the outcome of Options.StartLab.
type labResultMsg struct {
	info LabInfo
	err  error
}
