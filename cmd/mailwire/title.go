package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// runTitle says in one line what a session runs: its protocol and
// canonical port, how TLS starts, against what, and the server name it
// asks for. It is the line on stderr, the header of a text transcript
// written to a file and the title of a Markdown handout. It is a function
// of the session's recording header, which a live session builds before
// it starts (sessionHeader) and a replay reads (with FromEvents for a
// recording that lacks the name): the live session and its replay say the
// same, by construction. A replay's header is the file's, whatever it
// holds: the title is sanitized (wire.SafeString) before it reaches a
// terminal, a text header or a page's title.
func runTitle(h render.RecordingHeader) string {
	return wire.SafeString(runTitleWords(h))
}

func runTitleWords(h render.RecordingHeader) string {
	proto := strings.ToUpper(h.Proto)
	mode := sessions.TLSMode(h.TLSMode)
	_, p, _ := net.SplitHostPort(h.Target)
	what := fmt.Sprintf("%s on port %d, %s", proto, h.Port, tlsWords(mode))
	if !h.Lab && p != strconv.Itoa(h.Port) {
		// The port dialed is not the one whose rules the session
		// follows (--proto imap --tls implicit against HOST:1993).
		what = fmt.Sprintf("%s as on port %d, %s", proto, h.Port, tlsWords(mode))
	}
	name := h.Options.ServerName
	if mode == sessions.TLSNone {
		name = "" // no TLS, no ClientHello: no name is sent
	}
	sni := tlsmsg.SNIFor(name)
	switch {
	case name == "" && h.Lab:
		return fmt.Sprintf("%s, against the embedded lab (%s)", what, h.Target)
	case name == "":
		return fmt.Sprintf("%s, against %s", what, h.Target)
	case sni == "" && h.Lab:
		return fmt.Sprintf("%s, against the embedded lab (%s, %s)", what, h.Target, noSNIWords)
	case sni == "":
		return fmt.Sprintf("%s, against %s (%s)", what, h.Target, noSNIWords)
	case h.Lab:
		return fmt.Sprintf("%s, against the embedded lab (%s, as %s)", what, h.Target, sni)
	}
	return fmt.Sprintf("%s, against %s (SNI %s)", what, h.Target, sni)
}

// noSNIWords says why a session asked for an IP address sends no SNI;
// the certificate is still checked against the address.
const noSNIWords = "no SNI: an IP address is not sent, RFC 6066 §3"

// certCheckWords ends the stderr line of a session with how it checks the
// server's certificate ("; certificate check: lab CA"); nothing for a
// session without TLS, or a recording that does not say.
func certCheckWords(h render.RecordingHeader) string {
	if h.Options.Verify == "" || sessions.TLSMode(h.TLSMode) == sessions.TLSNone {
		return ""
	}
	return "; certificate check: " + wire.SafeString(h.Options.Verify) // a replay's is the file's
}

// tlsWords names a TLS mode as a reader says it.
func tlsWords(m sessions.TLSMode) string {
	switch m {
	case sessions.TLSNone:
		return "no TLS"
	case sessions.TLSStartTLS:
		return "STARTTLS"
	case sessions.TLSImplicit:
		return "implicit TLS"
	case sessions.TLSOpportunistic:
		return "STARTTLS if offered"
	}
	return string(m)
}

// writeTextHeaderAt heads a text transcript that goes to a file or a pipe
// with what ran, when (when) and by which mailwire (by), and through which
// lens: on a terminal the stderr line above it says the same, but a file
// would not. A replay gives the recording's time and version.
func writeTextHeaderAt(w, out io.Writer, format, title string, po render.Options, when time.Time, by string) {
	if format != "text" {
		return
	}
	if f, ok := out.(*os.File); ok && term.IsTerminal(f.Fd()) {
		return
	}
	view := "endpoint lens: what client and server see"
	if po.Lens == lens.Eavesdropper {
		view = "eavesdropper lens: only what a passive observer on the path sees"
	}
	// by is a replay's recording's (render.RecordingHeader.Mailwire).
	fmt.Fprintf(w, "%s\nrecorded %s by mailwire %s; %s\n\n", title,
		when.UTC().Format("2006-01-02 15:04:05 UTC"), wire.SafeString(by), view)
}
