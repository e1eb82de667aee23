package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/internal/xdg"
	"github.com/mailwire/mailwire/sessions/pcap"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The export menu of the session screen (x): the session on screen saved
// as a recording (render's, for mailwire replay), a Markdown handout, a
// self-contained HTML page, a pcap with its TLS key log (for Wireshark) or
// an asciicast of its steps. Every export renders the same events through
// the same lens as the screen; passwords are masked in every one of them
// (p on the screen does not reach a file). Files go to the XDG data
// directory under a name made of the session and the time; the status
// line names the file written and its size. The writing runs in a
// tea.Cmd; its result comes back as exportDoneMsg.

// wireRecordersKey is the context key of WireRecorders.
type wireRecordersKey struct{}

type wireRecorders struct {
	capture *wire.Capture
	keys    *wire.KeyLogBuffer
}

// WithWireRecorders is the context the session screen calls its openers
// with: WireRecorders(ctx) returns c and k. Exported for the openers'
// tests, which play the screen.
func WithWireRecorders(ctx context.Context, c *wire.Capture, k *wire.KeyLogBuffer) context.Context {
	return context.WithValue(ctx, wireRecordersKey{}, wireRecorders{c, k})
}

// WireRecorders returns where a session opened by Options.OpenSession
// should keep the wire's bytes and its TLS secrets
// (sessions.Options.Capture and KeyLog), read from the context OpenSession
// is called with: the session screen asks for them on each run so that
// its export menu can write a pcap and a key log. Nil when not asked (a
// scenario, a typed session). They are data holders: the TUI still never
// touches a socket.
func WireRecorders(ctx context.Context) (*wire.Capture, *wire.KeyLogBuffer) {
	r, _ := ctx.Value(wireRecordersKey{}).(wireRecorders)
	return r.capture, r.keys
}

// headerKey is the context key of a run's headerSlot.
type headerKey struct{}

// headerSlot holds the recording header the opener of a run reported;
// the opener writes it inside a tea.Cmd, Update reads it.
type headerSlot struct {
	mu sync.Mutex
	h  *render.RecordingHeader
}

func withHeaderSlot(ctx context.Context) (context.Context, *headerSlot) {
	s := &headerSlot{}
	return context.WithValue(ctx, headerKey{}, s), s
}

// get is the header reported, or nil; a nil slot has none.
func (s *headerSlot) get() *render.RecordingHeader {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h
}

// ReportHeader tells the session screen the recording header of the
// session that Options.OpenSession or OpenPrompt opens with ctx (the
// context it was called with): the header built from the options the
// session runs with (render.SessionHeader), which the TUI does not know.
// Saving the session (w) or exporting it as a recording (x) writes that
// header, the one --record writes for the same session. An opener that
// reports none leaves the screen to build one from the request and the
// events (recordingHeader). Without the screen's context it does nothing.
func ReportHeader(ctx context.Context, h render.RecordingHeader) {
	s, _ := ctx.Value(headerKey{}).(*headerSlot)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.h = &h
}

// exportKind is one entry of the menu.
type exportKind int

const (
	exportRecording exportKind = iota
	exportMarkdown
	exportHTML
	exportPcap
	exportCast
)

// exportItems are the menu's entries, in order: the key that chooses
// each is its number.
var exportItems = []struct {
	kind  exportKind
	label string
	ext   string
}{
	{exportRecording, "recording (mailwire replay)", ".jsonl"},
	{exportMarkdown, "Markdown handout", ".md"},
	{exportHTML, "HTML page (offline)", ".html"},
	{exportPcap, "pcap + TLS key log (Wireshark)", ".pcap"},
	{exportCast, "asciicast of the steps", ".cast"},
}

// exportDoneMsg is the outcome of an export, for the screen of run id.
type exportDoneMsg struct {
	id    int
	files []exportedFile
	err   error
}

type exportedFile struct {
	path string
	size int64
}

// exportMenu is the menu and the status of the last export.
type exportMenu struct {
	c      *Common
	open   bool
	cursor int
	busy   bool
	// note is the status line: the file written and its size, or why
	// not; it stays until the next export or the menu opens again.
	note    string
	noteErr bool
}

func newExportMenu(c *Common) *exportMenu { return &exportMenu{c: c} }

// DefaultExportDir is where exports go: exports in mailwire's XDG data
// directory (xdg.Data: $XDG_DATA_HOME/mailwire, else
// ~/.local/share/mailwire); empty without a home.
func DefaultExportDir() string { return xdg.Under(xdg.Data(), "exports") }

// exportSource is what an export needs of the session, copied in Update
// so that the command touches no state of the model.
type exportSource struct {
	id  int
	req SessionRequest
	// reported is the header the run's opener reported (ReportHeader).
	reported *render.RecordingHeader
	capture  *wire.Capture
	keys     *wire.KeyLogBuffer
	// labPorts maps the lab's addresses to their canonical ports, for a
	// lab scenario's pcap (pcap.Options.ServerPorts).
	labPorts map[string]int
	evs      []wire.Event
	lens     render.Options
	dir      string
	at       time.Time
	width    int
	height   int
}

// Update takes the menu's keys while it is open; ok says the key was the
// menu's. choose is called with the entry chosen.
func (m *exportMenu) Update(msg tea.KeyPressMsg, choose func(exportKind) tea.Cmd) (tea.Cmd, bool) {
	if !m.open {
		return nil, false
	}
	k := m.c.Keys
	switch {
	case key.Matches(msg, k.Back), key.Matches(msg, k.Export):
		m.open = false
	case key.Matches(msg, k.Up):
		m.cursor = (m.cursor + len(exportItems) - 1) % len(exportItems)
	case key.Matches(msg, k.Down):
		m.cursor = (m.cursor + 1) % len(exportItems)
	case key.Matches(msg, k.Open):
		m.open = false
		return choose(exportItems[m.cursor].kind), true
	case len(msg.Text) == 1 && msg.Text[0] >= '1' && int(msg.Text[0]-'1') < len(exportItems):
		m.open = false
		m.cursor = int(msg.Text[0] - '1')
		return choose(exportItems[m.cursor].kind), true
	}
	return nil, true // the menu is modal: other keys do nothing
}

// toggle opens the menu (or closes it).
func (m *exportMenu) toggle() {
	m.open = !m.open
}

// done takes an export's outcome.
func (m *exportMenu) done(msg exportDoneMsg) {
	m.busy = false
	if msg.err != nil {
		m.note, m.noteErr = "export failed: "+wire.SafeString(msg.err.Error()), true
		return
	}
	var parts []string
	for _, f := range msg.files {
		// The name and the size; the directory is the menu's.
		parts = append(parts, wire.SafeString(filepath.Base(f.path))+" ("+humanSize(f.size)+")")
	}
	m.note, m.noteErr = "wrote "+strings.Join(parts, " and "), false
}

// View draws the menu in a box of width w and height h (at least its
// lines).
func (m *exportMenu) View(w, h int) []string {
	st := m.c.Styles
	inner := max(w-4, 10)
	lines := []string{st.Title.Render("Export this session") + st.Muted.Render(" · passwords masked")}
	for i, it := range exportItems {
		line := strconv.Itoa(i+1) + "  " + it.label
		if i == m.cursor {
			lines = append(lines, st.Selected.Render(padTo(ansi.Truncate(line, inner, "…"), inner)))
			continue
		}
		lines = append(lines, ansi.Truncate(line, inner, "…"))
	}
	lines = append(lines, st.Muted.Render(ansi.Truncate("enter/1–5 write · esc close · to "+wire.SafeString(m.dirLabel()), inner, "…")))
	box := st.Border.Width(w).Height(h).Padding(0, 1).Render(strings.Join(lines, "\n"))
	return strings.Split(box, "\n")
}

func (m *exportMenu) dirLabel() string {
	return tildePath(DefaultExportDir())
}

// humanSize is a file size in bytes, KiB or MiB.
func humanSize(n int64) string {
	switch {
	case n < 1<<10:
		return plural(int(n), "byte")
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// exportCmd writes the export of kind from src, inside a tea.Cmd.
func exportCmd(kind exportKind, src exportSource) tea.Cmd {
	return func() tea.Msg {
		files, err := writeExport(kind, src)
		return exportDoneMsg{id: src.id, files: files, err: err}
	}
}

// writeExport renders src as kind and writes it under src.dir.
func writeExport(kind exportKind, src exportSource) ([]exportedFile, error) {
	if src.dir == "" {
		return nil, errors.New("no directory to write to (no home directory, and XDG_DATA_HOME unset)")
	}
	if len(src.evs) == 0 {
		return nil, errors.New("no events yet")
	}
	if err := os.MkdirAll(src.dir, 0o700); err != nil {
		return nil, fmt.Errorf("export directory: %w", err)
	}
	base := filepath.Join(src.dir, exportBaseName(src.req, src.at))
	o := src.lens
	o.RevealSecrets = false // a file never holds a password, whatever the screen shows
	switch kind {
	case exportRecording:
		return writeFiles(base+".jsonl", func(w io.Writer) error {
			return render.WriteRecording(w, recordingHeader(src), src.evs)
		})
	case exportMarkdown:
		return writeFiles(base+".md", func(w io.Writer) error { return render.Markdown(w, src.evs, o) })
	case exportHTML:
		return writeFiles(base+".html", func(w io.Writer) error { return render.HTML(w, src.evs, o) })
	case exportCast:
		return writeFiles(base+".cast", func(w io.Writer) error {
			_, err := WriteCast(w, src.req, src.evs, CastOptions{Width: max(src.width, minWidth), Height: max(src.height, minHeight),
				Title: "mailwire " + exportBaseName(src.req, time.Time{}), Now: src.at})
			return err
		})
	case exportPcap:
		return writePcap(base, src)
	}
	return nil, fmt.Errorf("unknown export %d", kind)
}

// writePcap writes the session's capture and its key log. Only a session
// that ran with a capture has the wire's bytes: the events do not hold
// them all (the budget trims, records are coalesced, a password is
// masked). A capture without a connection is refused, not written as an
// empty pcap, which would read as "nothing crossed".
func writePcap(base string, src exportSource) ([]exportedFile, error) {
	var conns []wire.CaptureConn
	if src.capture != nil {
		conns = src.capture.Snapshot()
	}
	if len(conns) == 0 {
		return nil, errNoCapture
	}
	// The lab's 10587 is written as 587, for Wireshark's dissectors. A
	// scenario's connections go to several ports (and to a proxy): each
	// lab port is written as its own canonical one, any other kept.
	po := pcap.Options{ServerPorts: src.labPorts}
	if src.req.Label == "lab" && src.req.Scenario == "" {
		po.ServerPort = src.req.Port
	}
	files, err := writeFiles(base+".pcap", func(w io.Writer) error {
		_, err := pcap.Write(w, conns, po)
		return err
	})
	if err != nil || src.keys == nil {
		return files, err
	}
	keys := src.keys.Bytes()
	if len(keys) == 0 {
		return files, nil // no TLS, no secrets
	}
	more, err := writeFiles(base+".keys", func(w io.Writer) error {
		_, err := w.Write(keys)
		return err
	})
	return append(files, more...), err
}

// errNoCapture is the status line's word on a pcap export without a
// connection captured. The reason comes first: at 80 columns the status
// line keeps about 60 characters.
var errNoCapture = errors.New("no connection captured: no pcap written (a replay holds no wire bytes, nor a session that never connected; r runs it again)")

// writeFiles creates path (mode 0600) and writes it with write.
func writeFiles(path string, write func(io.Writer) error) ([]exportedFile, error) {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return nil, err
	}
	return []exportedFile{{path: path, size: int64(buf.Len())}}, nil
}

// exportBaseName names a session's files: protocol, port, scenario and
// the time (when given), in characters any file system takes.
func exportBaseName(req SessionRequest, at time.Time) string {
	parts := []string{"mailwire"}
	if req.Scenario != "" {
		parts = append(parts, req.Scenario)
		if req.Variant != "" {
			parts = append(parts, req.Variant)
		}
	} else if req.Proto != "" {
		parts = append(parts, strings.ToLower(req.Proto))
	}
	if req.Port != 0 {
		parts = append(parts, strconv.Itoa(req.Port))
	}
	if !at.IsZero() {
		parts = append(parts, at.Format("20060102-150405"))
	}
	name := strings.Join(parts, "-")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, name)
}

// recordingHeader says what the session on screen was, for its
// recording. A replay's is the recording's own (with the passwords
// masked: a file the screen writes never holds one). A live session's is
// the one its opener reported (ReportHeader: the header --record writes
// for the same session, built from the options it ran with). Without
// one (a connection the lab monitor follows, an opener that reports
// none) it comes from the request, and what the request does not know
// (the lab's host name as SNI, the certificate check, which cmd/mailwire
// chose when it ran the session) from the session's own events
// (FromEvents): without them a replay named the target's address as the
// SNI.
func recordingHeader(src exportSource) render.RecordingHeader {
	r := src.req
	if r.Recorded != nil {
		h := *r.Recorded
		h.Secrets = render.SecretsMasked
		return h
	}
	if src.reported != nil {
		h := *src.reported
		h.Secrets = render.SecretsMasked
		return h
	}
	// A connection the lab monitor follows (Follow) is a client's of the
	// lab: its name is the one its ClientHello sent, if any, never a
	// default made from the lab's address.
	h := render.RecordingHeader{RecordedAt: src.at, Target: r.Target, Lab: r.Label == "lab" || r.Follow != 0, Port: r.Port,
		Proto: r.Proto, TLSMode: r.TLSMode, Typed: r.Prompt,
		Options: render.RecordingOptions{ServerName: r.ServerName, CAFile: r.CAFile, User: r.User}}
	if r.Scenario != "" {
		h.Scenario = &render.RecordingScenario{Name: r.Scenario, Port: r.Port, Variant: r.Variant}
		h.Port, h.Proto, h.TLSMode = 0, "", ""
	}
	return h.FromEvents(src.evs)
}
