package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Replay: a recording (render's, made with --record or saved from this
// screen) shown offline in the session screen, exactly as a live session
// is shown: the screen reads a stream of events, and here the stream comes
// from the file instead of the network. `mailwire replay FILE` opens the
// screen on ReplayRequest with ReplayOpener as Options.OpenSession (and
// the request as Options.Connect); r reads the file again.

// ReplayRequest is the session screen's request for a recording whose
// header is h, read from the file named name: what it recorded (the
// scenario, its port and variant, which the panels need; the protocol,
// port and TLS mode the header shows), labelled as the live session was
// (the lab, or the target's SNI and certificate check: TargetLabel) and
// when it was recorded.
func ReplayRequest(h render.RecordingHeader, name string) SessionRequest {
	// Against a target, a header without the server name asked for the
	// default, the target's host (FromEvents without the events).
	h = h.FromEvents(nil)
	recorded := "recorded " + h.RecordedAt.UTC().Format("2006-01-02 15:04 MST")
	req := SessionRequest{
		Port: h.Port, Target: h.Target, Proto: h.Proto, TLSMode: h.TLSMode,
		Label:      recorded,
		ServerName: h.Options.ServerName, User: h.Options.User, Replay: filepath.Base(name),
		Recorded: &h,
	}
	switch {
	case h.Lab:
		req.Label = "lab, " + recorded
	case h.Scenario == nil && (h.Options.ServerName != "" || h.TLSMode == "none"):
		req.Label = SessionLabel(h.TLSMode, h.Options.ServerName, h.Options.Verify) + ", " + recorded
	}
	if h.Target == "" && h.Lab {
		req.Target = "the lab"
	}
	if s := h.Scenario; s != nil {
		req.Scenario, req.Port, req.Variant = s.Name, s.Port, s.Variant
	}
	return req
}

// ReplayOpener is OpenSession offline: the session of want, read from the
// recording at path (OpenRecording: a file, else a bundled recording of
// that name) within lim, is the only one there is; another request (a
// port of the port table, a scenario of the picker) is refused.
func ReplayOpener(path string, lim render.RecordingLimits, want SessionRequest) func(context.Context, SessionRequest) (<-chan wire.Event, error) {
	return replayOpener(filepath.Base(path), func() (io.ReadCloser, error) { return OpenRecording(path) }, lim, want)
}

// BundledReplayOpener is ReplayOpener for the bundled recording name (a
// lesson's replay link), whatever files the working directory holds.
func BundledReplayOpener(name string, lim render.RecordingLimits, want SessionRequest) func(context.Context, SessionRequest) (<-chan wire.Event, error) {
	return replayOpener(name, func() (io.ReadCloser, error) { return content.OpenRecording(name) }, lim, want)
}

func replayOpener(name string, open func() (io.ReadCloser, error), lim render.RecordingLimits, want SessionRequest) func(context.Context, SessionRequest) (<-chan wire.Event, error) {
	return func(ctx context.Context, r SessionRequest) (<-chan wire.Event, error) {
		if r.Scenario != want.Scenario || r.Port != want.Port || r.Variant != want.Variant || r.Prompt {
			return nil, fmt.Errorf("offline: this is a replay of %s, and nothing else can run", name)
		}
		f, err := open()
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		rr, err := render.NewRecordingReader(f, lim)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("replay %s: %w", name, err)
		}
		return ReplayStream(ctx, rr, f), nil
	}
}

// OpenRecording opens a recording to replay: the file at arg or, when
// there is no such file, the recording bundled under that name
// (content.OpenRecording), so `mailwire replay port-587` works wherever
// mailwire is installed. A file of that name comes first: it is what the
// user pointed at.
func OpenRecording(arg string) (io.ReadCloser, error) {
	f, err := os.Open(arg)
	if err == nil {
		return f, nil
	}
	if errors.Is(err, fs.ErrNotExist) && content.HasRecording(arg) {
		return content.OpenRecording(arg)
	}
	if errors.Is(err, fs.ErrNotExist) && !strings.ContainsAny(arg, `/\`) {
		return nil, fmt.Errorf("%w, and no recording is bundled under that name (there are: %s)", err, strings.Join(content.RecordingNames(), ", "))
	}
	return nil, err
}

// replayBuffer is how far reading runs ahead of the screen: two of its
// batches (maxBatch).
const replayBuffer = 2 * maxBatch

// ReplayStream streams the events rr reads, as sessions.Stream streams a
// live session's, and closes the channel after the last, and then c (the
// file). A line that cannot be read ends the stream with an error event
// that says why and names the line, after the events before it. The
// caller drains the channel, or cancels ctx.
func ReplayStream(ctx context.Context, rr *render.RecordingReader, c io.Closer) <-chan wire.Event {
	ch := make(chan wire.Event, replayBuffer)
	go func() {
		defer close(ch)
		if c != nil {
			defer c.Close()
		}
		var last wire.Event
		for {
			ev, err := rr.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				ev = wire.Event{Seq: last.Seq + 1, At: last.At, Kind: wire.KindError, Dir: wire.Local,
					Layer: wire.LayerNote, Visible: wire.VisibleNone, Text: "replay: " + err.Error(),
					Err: &wire.ErrorInfo{Op: "read recording", Message: err.Error()}}
			}
			select {
			case ch <- ev:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
			last = ev
		}
	}()
	return ch
}
