package tui

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/wire"
)

// An asciicast v2 recording of a session, step by step, made of the
// session screen's own frames: the root model's View at the chosen size,
// once per step of step mode (as a teacher presses space), so that the
// cast shows exactly what the screen shows. The format
// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, a
// JSON object with version 2, width and height, then one event per line,
// [time, "o", data], data being what the terminal is sent.

// CastOptions shape a cast.
type CastOptions struct {
	// Width and Height are the terminal size the frames are drawn for;
	// zero means 100×30.
	Width, Height int
	// Pause is the time each step stays on screen; zero means 2 s.
	Pause time.Duration
	// Title names the cast in its header.
	Title string
	// Theme chooses the colours; ThemeAuto is dark (a cast has no
	// terminal to ask).
	Theme Theme
	// RevealSecrets shows passwords as typed; masked otherwise, as on the
	// screen.
	RevealSecrets bool
	// Now is the cast's timestamp; zero means none.
	Now time.Time
}

// Defaults of a cast.
const (
	DefaultCastWidth  = 100
	DefaultCastHeight = 30
	DefaultCastPause  = 2 * time.Second
)

// CastStats says what a cast holds.
type CastStats struct {
	Frames int
	Length time.Duration
	// Final is the last frame's text without styles, one string per
	// screen line, as the screen showed it.
	Final string
}

// castHeader is the first line of an asciicast v2 file.
type castHeader struct {
	Version   int               `json:"version"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	Timestamp int64             `json:"timestamp,omitempty"`
	Title     string            `json:"title,omitempty"`
	Env       map[string]string `json:"env,omitempty"`
}

// WriteCast writes the session of req, whose events are evs (a finished
// session, live or recorded), as an asciicast v2 of its steps.
func WriteCast(w io.Writer, req SessionRequest, evs []wire.Event, o CastOptions) (CastStats, error) {
	if o.Width <= 0 {
		o.Width = DefaultCastWidth
	}
	if o.Height <= 0 {
		o.Height = DefaultCastHeight
	}
	if o.Pause <= 0 {
		o.Pause = DefaultCastPause
	}
	if o.Width < minWidth || o.Height < minHeight {
		return CastStats{}, fmt.Errorf("cast size %dx%d: the screens are laid out for %dx%d or more", o.Width, o.Height, minWidth, minHeight)
	}
	m := replayModel(req, evs, o.Theme, o.Width, o.Height)
	s := m.screens[screenSession].(*sessionScreen)
	s.reveal = o.RevealSecrets

	bw := bufio.NewWriter(w)
	h := castHeader{Version: 2, Width: o.Width, Height: o.Height, Title: o.Title,
		Env: map[string]string{"TERM": "xterm-256color"}}
	if !o.Now.IsZero() {
		h.Timestamp = o.Now.Unix()
	}
	if err := writeJSONLine(bw, h); err != nil {
		return CastStats{}, err
	}
	var st CastStats
	var at time.Duration
	frame := func() error {
		view := m.View().Content
		// Home, clear, the frame; LF alone would not return the cursor
		// to the first column in a terminal that is not in raw mode.
		data := "\x1b[H\x1b[2J" + strings.ReplaceAll(view, "\n", "\r\n")
		if st.Frames == 0 {
			data = "\x1b[?25l" + data // no cursor over the frames
		}
		st.Frames++
		st.Final = view
		return writeJSONLine(bw, []any{at.Seconds(), "o", data})
	}
	// Step mode on: the first step, then one frame per step.
	m.Update(tea.KeyPressMsg{Code: 's', Text: "s"})
	if err := frame(); err != nil {
		return st, err
	}
	for range len(evs) + 1 {
		before := s.step.pos()
		m.Update(tea.KeyPressMsg{Code: tea.KeySpace, Text: " "})
		if s.step.pos() == before {
			break
		}
		at += o.Pause
		if err := frame(); err != nil {
			return st, err
		}
	}
	at += o.Pause
	// The last frame stays for a pause: a player ends at the last event.
	if err := writeJSONLine(bw, []any{at.Seconds(), "o", ""}); err != nil {
		return st, err
	}
	st.Length = at
	return st, bw.Flush()
}

func writeJSONLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cast: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write cast: %w", err)
	}
	return nil
}

// replayModel is the root model showing req's session screen with evs
// already arrived and the session over, at the given size: what the screen
// shows once a session has ended, without running one.
func replayModel(req SessionRequest, evs []wire.Event, theme Theme, width, height int) *Model {
	m := newModel(Options{Theme: theme})
	s := newSessionScreen(m.common, req)
	s.id = m.common.nextRun()
	s.state = stateRunning
	s.appendEvents(evs)
	s.received(sessionEventsMsg{id: s.id, done: true})
	m.screens[screenSession] = s
	m.active = screenSession
	m.Update(tea.WindowSizeMsg{Width: width, Height: height})
	return m
}
