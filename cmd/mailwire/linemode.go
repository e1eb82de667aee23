package main

import (
	"fmt"
	"io"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// What mailwire connect's line mode says on stderr, as functions of the
// recording header and the events, so that a replay of its recording
// (render.RecordingHeader.LineMode) says exactly what the live run said:
// no "mailwire session:" line, which the live run never printed, but its
// own line and its warnings, and its transcript's title.

// lineModeTitle titles connect's line mode transcript (the text header of
// a file or a pipe, the Markdown and HTML title) as what ran: connect, and
// the session's own words for its protocol, port rules, TLS mode and
// target (runTitle). A replay of its recording titles it the same.
func lineModeTitle(h render.RecordingHeader) string {
	return "mailwire connect: " + runTitle(h)
}

// lineModeWords is the line mode's stderr line after "mailwire connect: ":
// what it dials, how it labels the target (tui.SessionLabel: no SNI
// without TLS), and how long it waits for each answer.
func lineModeWords(h render.RecordingHeader) string {
	wait := sessions.DefaultReadTimeout
	if d, err := time.ParseDuration(h.Options.ReadTimeout); err == nil && d > 0 {
		wait = d
	}
	label := tui.SessionLabel(h.TLSMode, h.Options.ServerName, h.Options.Verify)
	return wire.SafeString(fmt.Sprintf("%s %s on %s (%s); sending standard input line by line, each after the answer to the last (at most %v)",
		h.Proto, h.TLSMode, h.Target, label, wait))
}

// lineModeWarning is the stderr line the line mode prints as ev arrives:
// a password about to cross the wire in cleartext; "" for any other event.
func lineModeWarning(ev wire.Event) string {
	if ev.Annotation != sessions.AnnInteractiveCleartext {
		return ""
	}
	return "mailwire connect: " + wire.SafeString(ev.Text)
}

// replayLineMode writes to errOut what the live line mode of a recording
// whose header is h (h.LineMode) wrote there: its line, then the warnings
// its events raised. A replay prints it instead of a session's title and
// stderr line (runTitle).
func replayLineMode(errOut io.Writer, h render.RecordingHeader, evs []wire.Event) {
	fmt.Fprintln(errOut, "mailwire connect: "+lineModeWords(h))
	for _, ev := range evs {
		if w := lineModeWarning(ev); w != "" {
			fmt.Fprintln(errOut, w)
		}
	}
}
