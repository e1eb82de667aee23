package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/monitor"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The lab monitor screen (mailwire lab --monitor, issue 15 §4): every
// connection clients make to the lab, live, with its state and flags.
// enter follows one: the session screen opens on its events, so the
// timeline, the detail pane, the lens and the save key (w: a recording)
// are the session's own. The screen never touches a socket; it reads
// the monitor (sessions/monitor) in commands.

// monitorRefresh coalesces a burst of changes into one redraw: the
// screen reads the monitor at most this often.
const monitorRefresh = 25 * time.Millisecond

// monitorSnapshot is what the screen shows, read from the monitor in a
// command.
type monitorSnapshot struct {
	clients []monitor.Client
	aged    int
	last    []monitor.Summary // the newest summaries
	total   int
}

// monitorMsg carries a snapshot.
type monitorMsg struct{ snap monitorSnapshot }

// readMonitor waits for the monitor's next change (first: at once), then
// reads it.
func readMonitor(ctx context.Context, mon *monitor.Monitor, wait bool) tea.Cmd {
	return func() tea.Msg {
		if wait {
			select {
			case <-mon.Changed():
			case <-ctx.Done():
				return nil
			}
			select {
			case <-time.After(monitorRefresh):
			case <-ctx.Done():
				return nil
			}
		}
		sums, aged := mon.Summaries()
		return monitorMsg{monitorSnapshot{clients: mon.Clients(), aged: aged, last: sums[max(0, len(sums)-3):], total: mon.Total()}}
	}
}

// monitorScreen lists the clients, newest last.
type monitorScreen struct {
	c     *Common
	mon   *monitor.Monitor
	ports []lab.Endpoint // the certificate check ports (ModeOtherName)
	snap  monitorSnapshot
	sel   int  // index into the shown clients
	pin   bool // the selection follows the newest client
	flags bool // show flagged clients only
	top   int  // first row shown

	width, height int
}

func newMonitorScreen(c *Common, mon *monitor.Monitor, ports []lab.Endpoint) *monitorScreen {
	return &monitorScreen{c: c, mon: mon, ports: ports, pin: true, width: defaultWidth, height: defaultHeight}
}

func (s *monitorScreen) Init() tea.Cmd { return readMonitor(s.ctx(), s.mon, false) }

func (s *monitorScreen) ctx() context.Context {
	if s.c.Ctx != nil {
		return s.c.Ctx
	}
	return context.Background()
}

func (s *monitorScreen) SetSize(w, h int) { s.width, s.height = w, h; s.clamp() }

// shown are the clients the list shows.
func (s *monitorScreen) shown() []monitor.Client {
	if !s.flags {
		return s.snap.clients
	}
	var out []monitor.Client
	for _, c := range s.snap.clients {
		if c.Flagged() {
			out = append(out, c)
		}
	}
	return out
}

// Keys of the screen, from the common keymap with the screen's words.
func (s *monitorScreen) followKey() key.Binding {
	return key.NewBinding(key.WithKeys(s.c.Keys.Open.Keys()...), key.WithHelp("enter", "follow"))
}

func (s *monitorScreen) flaggedKey() key.Binding {
	words := "flagged only"
	if s.flags {
		words = "all clients"
	}
	return key.NewBinding(key.WithKeys(s.c.Keys.Legs.Keys()...), key.WithHelp("f", words))
}

func (s *monitorScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case monitorMsg:
		s.snap = msg.snap
		if s.pin {
			s.sel = len(s.shown()) - 1
		}
		s.clamp()
		return s, readMonitor(s.ctx(), s.mon, true)
	case tea.KeyPressMsg:
		return s, s.key(msg)
	}
	return s, nil
}

func (s *monitorScreen) key(msg tea.KeyPressMsg) tea.Cmd {
	k := s.c.Keys
	n := len(s.shown())
	switch {
	case key.Matches(msg, k.Up):
		s.sel, s.pin = max(0, s.sel-1), false
	case key.Matches(msg, k.Down):
		s.sel = min(n-1, s.sel+1)
		s.pin = s.sel == n-1
	case key.Matches(msg, k.Top):
		s.sel, s.pin = 0, false
	case key.Matches(msg, k.Bottom):
		s.sel, s.pin = n-1, true
	case key.Matches(msg, k.PageUp):
		s.sel, s.pin = max(0, s.sel-s.listH()), false
	case key.Matches(msg, k.PageDown):
		s.sel = min(n-1, s.sel+s.listH())
		s.pin = s.sel == n-1
	case key.Matches(msg, s.flaggedKey()):
		s.flags = !s.flags
		s.sel = len(s.shown()) - 1
		s.pin = true
	case key.Matches(msg, s.followKey()):
		if c, ok := s.selected(); ok {
			return func() tea.Msg { return openSessionMsg{req: followRequest(c)} }
		}
	}
	s.clamp()
	return nil
}

// followRequest is the session screen's request for following c.
func followRequest(c monitor.Client) SessionRequest {
	e := c.Endpoint
	return SessionRequest{Port: e.Canonical, Target: e.Addr, Proto: e.Proto, TLSMode: e.TLS,
		Label: fmt.Sprintf("monitor #%d, client %s", c.ID, c.Addr), Follow: c.ID}
}

// monitorOpener is Common.OpenSession in a program with a monitor: a
// request with Follow follows that connection; any other goes to next.
func monitorOpener(mon *monitor.Monitor, next func(context.Context, SessionRequest) (<-chan wire.Event, error)) func(context.Context, SessionRequest) (<-chan wire.Event, error) {
	return func(ctx context.Context, req SessionRequest) (<-chan wire.Event, error) {
		if req.Follow != 0 {
			return mon.Follow(ctx, req.Follow)
		}
		if next == nil {
			return nil, errors.New("only the lab's connections can be shown here")
		}
		return next(ctx, req)
	}
}

func (s *monitorScreen) selected() (monitor.Client, bool) {
	cl := s.shown()
	if s.sel < 0 || s.sel >= len(cl) {
		return monitor.Client{}, false
	}
	return cl[s.sel], true
}

// listH is how many client rows fit.
func (s *monitorScreen) listH() int { return max(1, s.height-len(s.headLines())-s.footH()-1) }

func (s *monitorScreen) footH() int { return 5 }

func (s *monitorScreen) clamp() {
	n := len(s.shown())
	s.sel = min(max(s.sel, 0), max(n-1, 0))
	h := s.listH()
	if s.sel < s.top {
		s.top = s.sel
	}
	if s.sel >= s.top+h {
		s.top = s.sel - h + 1
	}
	s.top = min(max(s.top, 0), max(n-h, 0))
}

func (s *monitorScreen) headLines() []string {
	st := s.c.Styles
	open, flagged := 0, 0
	for _, c := range s.snap.clients {
		if c.Open {
			open++
		}
		if c.Flagged() {
			flagged++
		}
	}
	title := st.Title.Render("lab monitor") + st.Muted.Render(" · "+plural(s.snap.total, "connection")+fmt.Sprintf(", %d open, ", open))
	if flagged > 0 {
		title += st.Warning.Render(fmt.Sprintf("%d flagged", flagged))
	} else {
		title += st.Muted.Render("none flagged")
	}
	if s.snap.aged > 0 {
		title += st.Muted.Render(fmt.Sprintf(" · %d aged out", s.snap.aged))
	}
	if s.flags {
		title += st.Muted.Render(" · flagged only")
	}
	out := []string{ansiTruncate(title, s.width)}
	for _, l := range []string{s.labPortsLine(), s.checkPortsLine()} {
		if l != "" {
			out = append(out, strings.Split(wrapText(l, s.width), "\n")...)
		}
	}
	return out
}

// labPortsLine says where the lab listens, for pointing clients at it.
func (s *monitorScreen) labPortsLine() string {
	info := s.c.Lab.Info
	if s.c.Lab.State != labReady {
		return ""
	}
	parts := make([]string, 0, len(info.Endpoints))
	for _, p := range info.Ports() {
		a := info.Endpoints[p]
		parts = append(parts, fmt.Sprintf("%d→:%s", p, a[strings.LastIndexByte(a, ':')+1:]))
	}
	return s.c.Styles.Muted.Render("lab ports (" + lab.Hostname + "): " + strings.Join(parts, " "))
}

// checkPortsLine names the certificate check ports.
func (s *monitorScreen) checkPortsLine() string {
	st := s.c.Styles
	if len(s.ports) == 0 {
		return ""
	}
	parts := make([]string, 0, len(s.ports))
	for _, e := range s.ports {
		port := e.Addr[strings.LastIndexByte(e.Addr, ':')+1:]
		parts = append(parts, fmt.Sprintf("%d→:%s", e.Canonical, port))
	}
	return st.Muted.Render("cert check* (" + lab.OtherName + "): " + strings.Join(parts, " "))
}

// Column widths of the list, each with its gap; the client's address
// gets more room on a wide screen (an IPv6 address), the flags the rest.
const (
	monColID    = 6 // "● 12": ● while open
	monColAddr  = 17
	monColPort  = 6
	monColProto = 6
	monColTLS   = 14
	monColBytes = 12
)

func (s *monitorScreen) addrW() int {
	if s.width >= 110 {
		return monColAddr + 12
	}
	return monColAddr
}

func (s *monitorScreen) View() string {
	st := s.c.Styles
	lines := s.headLines()
	lines = append(lines, st.Header.Render(ansiTruncate(s.row("  #", "client", "port", "proto", "TLS", "in/out", "flags"), s.width)))
	cl := s.shown()
	h := s.listH()
	for i := s.top; i < min(len(cl), s.top+h); i++ {
		lines = append(lines, s.clientRow(cl[i], i == s.sel))
	}
	if len(cl) == 0 {
		lines = append(lines, st.Muted.Render(s.emptyText()))
	}
	for len(lines) < s.height-s.footH() {
		lines = append(lines, "")
	}
	lines = append(lines, s.footer()...)
	return lipgloss.NewStyle().MaxWidth(max(s.width, 1)).MaxHeight(max(s.height, 1)).Render(strings.Join(lines, "\n"))
}

func (s *monitorScreen) emptyText() string {
	if s.flags {
		return "  no flagged client yet"
	}
	return "  waiting for clients: point swaks, openssl, curl or a mail client at a lab port"
}

func padCell(str string, w int) string {
	if d := w - lipgloss.Width(str); d > 0 {
		return str + strings.Repeat(" ", d)
	}
	return ansiTruncate(str, w)
}

func (s *monitorScreen) row(id, addr, port, proto, tlsText, bytes, flags string) string {
	cell := func(v string, w int) string { return padCell(v, w-1) + " " }
	return cell(id, monColID) + cell(addr, s.addrW()) + cell(port, monColPort) + cell(proto, monColProto) +
		cell(tlsText, monColTLS) + cell(bytes, monColBytes) + flags
}

// tlsShort is Client.TLSText in the list's few columns.
func tlsShort(c monitor.Client) string {
	v := strings.TrimPrefix(c.TLSVersion, "TLS ")
	switch c.TLS {
	case lab.TLSImplicit:
		return strings.TrimSpace("implicit " + v)
	case lab.TLSStartTLS:
		return "STARTTLS→" + v
	}
	return "cleartext"
}

// clientRow is one client's row: the TLS column coloured as the
// connection is protected, the flags as warnings.
func (s *monitorScreen) clientRow(c monitor.Client, selected bool) string {
	st := s.c.Styles
	port := fmt.Sprint(c.Endpoint.Canonical)
	if c.Endpoint.Mode == lab.ModeOtherName {
		port += "*"
	}
	id := "  " + fmt.Sprint(c.ID)
	if c.Open {
		id = "● " + fmt.Sprint(c.ID)
	}
	flags := "—"
	if c.Flagged() {
		flags = "⚠ " + flagWords(c.Flags)
	} else if c.Cert == monitor.CertRefused {
		flags = "✓ refused the cert"
	}
	bytes := shortBytes(c.BytesIn) + "/" + shortBytes(c.BytesOut)
	text := s.row(id, wire.SafeString(c.Addr), port, c.Endpoint.Proto, tlsShort(c), bytes, flags)
	text = ansiTruncate(text, s.width)
	switch {
	case selected:
		return st.Selected.Render(padCell(text, s.width))
	case c.Flagged():
		return st.Warning.Render(text)
	case c.TLS == "":
		return st.Cleartext.Render(text)
	}
	return st.Encrypted.Render(text)
}

// flagWords names flags shortly for the list.
func flagWords(fs []monitor.Flag) string {
	out := make([]string, len(fs))
	for i, f := range fs {
		switch f {
		case monitor.FlagCleartextCredentials:
			out[i] = "cleartext login"
		case monitor.FlagStartTLSIgnored:
			out[i] = "STARTTLS ignored"
		case monitor.FlagCertNotVerified:
			out[i] = "cert not verified"
		default:
			out[i] = string(f)
		}
	}
	return strings.Join(out, ", ")
}

// shortBytes is a byte count in at most 5 characters: 946, 12.3K, 4.1M.
func shortBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1fK", float64(n)/1024)
	}
	return fmt.Sprintf("%.1fM", float64(n)/(1<<20))
}

// footer says more about the selected client (two lines), what its port
// tells of its certificate check (two), and what aged out last (one).
func (s *monitorScreen) footer() []string {
	st := s.c.Styles
	lines := func(text string, style lipgloss.Style, n int) []string {
		out := strings.Split(wrapText(text, max(s.width, 1)), "\n")
		if len(out) > n {
			out = out[:n]
			out[n-1] = ansiTruncate(out[n-1]+" …", s.width)
		}
		for i := range out {
			out[i] = style.Render(out[i])
		}
		for len(out) < n {
			out = append(out, "")
		}
		return out
	}
	var out []string
	if c, ok := s.selected(); ok {
		out = append(out, lines(fmt.Sprintf("#%d ", c.ID)+monitorClientText(c), st.Text, 2)...)
		out = append(out, lines(certText(c), st.Muted, 2)...)
	} else {
		out = append(out, "", "", "", "")
	}
	if n := len(s.snap.last); n > 0 {
		out = append(out, ansiTruncate(st.Muted.Render("aged out: "+wire.SafeString(s.snap.last[n-1].Line)), s.width))
	} else {
		out = append(out, "")
	}
	return out
}

func monitorClientText(c monitor.Client) string {
	state := "open"
	if !c.Open {
		state = "closed"
	}
	text := fmt.Sprintf("%s → port %d (%s, %s, %s), %s, %s, %s bytes in, %s out", wire.SafeString(c.Addr), c.Endpoint.Canonical, c.Endpoint.Proto,
		c.Endpoint.TLS, c.Endpoint.Purpose, c.TLSText(), state, wire.GroupDigits(c.BytesIn), wire.GroupDigits(c.BytesOut))
	if c.SNI != "" {
		text += ", SNI " + wire.SafeString(c.SNI)
	}
	if c.Flagged() {
		text += "; " + flagWords(c.Flags)
	}
	return text
}

// certText says what the certificate check port learned, or that the
// connection's port tells nothing about it.
func certText(c monitor.Client) string {
	switch c.Cert {
	case monitor.CertAccepted:
		return "went on inside TLS with a certificate for " + lab.OtherName + ": it did not verify the certificate"
	case monitor.CertRefused:
		return "ended the handshake on a certificate for " + lab.OtherName + ": it verifies (or does not trust the lab CA)"
	case monitor.CertPending:
		return "certificate check port: no data inside TLS yet"
	case monitor.CertOwnName:
		return "asked for " + lab.OtherName + " (SNI), the name the certificate covers: nothing to tell"
	}
	return "a normal lab port: its certificate is right, so a client that does not verify looks like one that does (* marks the check ports)"
}

func (s *monitorScreen) ShortHelp() []key.Binding {
	return []key.Binding{s.followKey(), s.flaggedKey(), s.c.Keys.Up, s.c.Keys.Down}
}

func (s *monitorScreen) FullHelp() [][]key.Binding {
	k := s.c.Keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {s.followKey(), s.flaggedKey()}}
}
