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
)

// runTitle says in one line what a session runs: its protocol and
// canonical port, how TLS starts, and against what. It is the line on
// stderr, the header of a text transcript written to a file and the title
// of a Markdown handout. inLab: o.Target is the embedded lab's endpoint.
func runTitle(o sessions.Options, port int, inLab bool) string {
	proto := strings.ToUpper(o.Proto)
	host, p, _ := net.SplitHostPort(o.Target)
	what := fmt.Sprintf("%s on port %d, %s", proto, port, tlsWords(o.TLSMode))
	if !inLab && p != strconv.Itoa(port) {
		// The port dialed is not the one whose rules the session
		// follows (--proto imap --tls implicit against HOST:1993).
		what = fmt.Sprintf("%s as on port %d, %s", proto, port, tlsWords(o.TLSMode))
	}
	sni := o.ServerName
	if sni == "" {
		sni = host
	}
	if inLab {
		return fmt.Sprintf("%s, against the embedded lab (%s, as %s)", what, o.Target, sni)
	}
	return fmt.Sprintf("%s, against %s (SNI %s)", what, o.Target, sni)
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
	fmt.Fprintf(w, "%s\nrecorded %s by mailwire %s; %s\n\n", title,
		when.UTC().Format("2006-01-02 15:04:05 UTC"), by, view)
}
