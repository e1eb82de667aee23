package tui

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/internal/xdg"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Saving the session on screen as a recording (w, or ctrl+s): a prompt
// for the file's name, filled in with one under the XDG data directory,
// then the recording (render.WriteRecording: the events as they arrived,
// passwords masked whatever p shows), written in a tea.Cmd, mode 0600,
// never over an existing file. Its outcome comes back as the export
// status line, where the export menu says what it wrote: the file and its
// size. `mailwire replay FILE` opens it.

// DefaultRecordingDir is where recordings go by default: recordings in
// mailwire's XDG data directory (xdg.Data: $XDG_DATA_HOME/mailwire, else
// ~/.local/share/mailwire); empty without a home.
func DefaultRecordingDir() string { return xdg.Under(xdg.Data(), "recordings") }

// defaultRecordingPath is the name the prompt offers for a session seen
// at: <time>-<port>.jsonl in DefaultRecordingDir, the scenario's name in
// place of the port for a scenario that has none.
func defaultRecordingPath(req SessionRequest, at time.Time) string {
	parts := []string{at.Format("20060102-150405")}
	if req.Scenario != "" {
		parts = append(parts, req.Scenario)
	}
	if req.Port != 0 {
		parts = append(parts, strconv.Itoa(req.Port))
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, strings.Join(parts, "-")) + ".jsonl"
	return filepath.Join(DefaultRecordingDir(), name)
}

// saveDialog is the file-name prompt.
type saveDialog struct {
	c     *Common
	open  bool
	input textinput.Model
}

func newSaveDialog(c *Common) *saveDialog {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = 4096 // PATH_MAX on Linux
	km := textinput.DefaultKeyMap()
	km.AcceptSuggestion = key.NewBinding(key.WithDisabled())
	km.NextSuggestion = key.NewBinding(key.WithDisabled())
	km.PrevSuggestion = key.NewBinding(key.WithDisabled())
	in.KeyMap = km
	return &saveDialog{c: c, input: in}
}

// start opens the prompt with path in it.
func (d *saveDialog) start(path string) tea.Cmd {
	d.open = true
	d.input.SetStyles(d.c.Styles.Input)
	d.input.SetValue(path)
	d.input.CursorEnd()
	return d.input.Focus()
}

// Update takes every key while the prompt is open (it is text): enter
// saves to the path typed (save's command), esc closes it. ok says the
// key was the prompt's.
func (d *saveDialog) Update(msg tea.KeyPressMsg, save func(path string) tea.Cmd) (tea.Cmd, bool) {
	if !d.open {
		return nil, false
	}
	switch msg.String() {
	case "esc":
		d.open = false
		d.input.Blur()
		return nil, true
	case "enter":
		path := strings.TrimSpace(d.input.Value())
		if path == "" {
			return nil, true
		}
		d.open = false
		d.input.Blur()
		return save(expandHome(path)), true
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(msg)
	return cmd, true
}

// View is the prompt on one line of width w.
func (d *saveDialog) View(w int) string {
	st := d.c.Styles
	label := st.Title.Render("save recording to ")
	hint := st.Muted.Render(" · enter save · esc cancel")
	d.input.SetWidth(max(10, w-ansi.StringWidth(label)-ansi.StringWidth(hint)-1))
	return ansi.Truncate(label+d.input.View()+hint, w, "…")
}

// expandHome turns a leading ~/ into the home directory, as a shell would.
func expandHome(path string) string {
	if rest, ok := strings.CutPrefix(path, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil && home != "" {
			return filepath.Join(home, rest)
		}
	}
	return path
}

// recordingSavedMsg is the outcome of a save, for the screen of run id.
type recordingSavedMsg struct {
	id   int
	path string
	size int64
	err  error
}

// saveRecordingCmd writes src's events to path as a recording, inside a
// tea.Cmd.
func saveRecordingCmd(src exportSource, path string) tea.Cmd {
	return func() tea.Msg {
		size, err := saveRecording(src, path)
		return recordingSavedMsg{id: src.id, path: path, size: size, err: err}
	}
}

// saved takes a save's outcome into the status line, where the export
// menu says what it wrote: the size, the file and its directory (~ for the
// home directory), or why not.
func (s *sessionScreen) saved(msg recordingSavedMsg) {
	if msg.err != nil {
		s.export.note, s.export.noteErr = "not saved: "+wire.SafeString(msg.err.Error()), true
		return
	}
	// The name before the directory: a narrow header cuts the latter.
	s.export.note, s.export.noteErr = "saved "+wire.FormatSize(msg.size)+": "+wire.SafeString(filepath.Base(msg.path))+
		" in "+wire.SafeString(tildePath(filepath.Dir(msg.path))), false
}

// tildePath writes a path under the home directory as ~/…, as people
// type it.
func tildePath(p string) string {
	if home, err := os.UserHomeDir(); err == nil && home != "" && strings.HasPrefix(p, home+string(filepath.Separator)) {
		return "~" + p[len(home):]
	}
	return p
}

// saveRecording writes the recording: the directory is made (0700) if it
// is missing, the file is new (an existing one is kept: choose another
// name) and 0600, as it names servers and users.
func saveRecording(src exportSource, path string) (int64, error) {
	if len(src.evs) == 0 {
		return 0, errors.New("no events yet")
	}
	var buf bytes.Buffer
	if err := render.WriteRecording(&buf, recordingHeader(src), src.evs); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, fmt.Errorf("recording: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return 0, fmt.Errorf("%s exists: choose another name", filepath.Base(path))
	}
	if err != nil {
		return 0, fmt.Errorf("recording: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return 0, fmt.Errorf("write recording: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("write recording: %w", err)
	}
	return int64(buf.Len()), nil
}

// saveNow saves the session on screen to path: what it needs of the
// screen is copied here, in Update, and the writing runs in a tea.Cmd.
func (s *sessionScreen) saveNow(path string) tea.Cmd {
	s.export.note, s.export.noteErr = "saving…", false
	at := s.started
	if at.IsZero() {
		at = s.now()
	}
	src := exportSource{id: s.id, req: s.req, reported: s.header.get(), evs: append([]wire.Event(nil), s.evs...), at: at}
	return saveRecordingCmd(src, path)
}

// ShortHelp is the help bar while the prompt is open.
func (d *saveDialog) ShortHelp() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "save")),
		key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}
