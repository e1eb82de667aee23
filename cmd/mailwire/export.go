package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/pcap"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// Exports of `mailwire session` (issue 14 §2; README "Exports"): --pcap
// writes the wire's bytes for Wireshark, --keylog (or $SSLKEYLOGFILE, as
// curl and browsers honour it) the TLS secrets that decrypt them, --cast
// an asciicast of the session step by step. --format html is a printer
// like the others (render.HTML). Each is opt-in: a pcap holds a password
// that crossed in cleartext, and a key log decrypts everything.

// exportFlags are the export flags of a session.
type exportFlags struct {
	pcap, keylog string
	cast         string
	castSize     string
	castPause    time.Duration
}

func addExportFlags(fl *pflag.FlagSet, x *exportFlags) {
	fl.StringVar(&x.pcap, "pcap", "", "write the bytes that crossed the wire as a pcap for Wireshark (TCP framing synthesized); it holds a password only if one crossed in cleartext")
	fl.StringVar(&x.keylog, "keylog", "", "write the session's TLS secrets to this file (NSS key log format) for Wireshark: whoever has it can decrypt the whole session ($SSLKEYLOGFILE too)")
	fl.StringVar(&x.cast, "cast", "", "write an asciicast v2 of the session, step by step, as the session screen shows it")
	fl.StringVar(&x.castSize, "cast-size", "100x30", "terminal size of --cast, COLSxROWS (80x24 at least)")
	fl.DurationVar(&x.castPause, "cast-pause", tui.DefaultCastPause, "how long each step of --cast stays on screen")
}

// exporter is a session's or a scenario's exports under way: the capture
// and the open key log file.
type exporter struct {
	x          exportFlags
	capture    *wire.Capture
	keys       *keyLogFile
	serverPort int      // the canonical port written for a lab session
	lab        *lab.Lab // a scenario's lab, whose ports are written as the canonical ones
	castW      int
	castH      int
}

// parseSize reads COLSxROWS.
func parseSize(s string) (int, int, error) {
	cols, rows, ok := strings.Cut(strings.ToLower(s), "x")
	w, err1 := strconv.Atoi(cols)
	h, err2 := strconv.Atoi(rows)
	if !ok || err1 != nil || err2 != nil || w < 80 || h < 24 || w > 1000 || h > 1000 {
		return 0, 0, fmt.Errorf("--cast-size %q: want COLSxROWS, 80x24 at least (e.g. 100x30)", s)
	}
	return w, h, nil
}

// startExports checks the export flags, opens the key log (--keylog, else
// $SSLKEYLOGFILE: openKeyLog) and makes the capture; whose says whose
// secrets the key log gets, for its warning. The caller wires them into
// its session (session) or its scenario (scenario).
func startExports(errOut io.Writer, x exportFlags, whose string) (*exporter, error) {
	e := &exporter{x: x}
	if x.cast != "" {
		w, h, err := parseSize(x.castSize)
		if err != nil {
			return nil, usageError(err)
		}
		if x.castPause <= 0 {
			return nil, usageError(errors.New("--cast-pause: want a positive duration"))
		}
		e.castW, e.castH = w, h
	}
	if x.pcap != "" {
		e.capture = wire.NewCapture(0)
	}
	keys, err := openKeyLog(errOut, x.keylog, whose)
	if err != nil {
		return nil, err
	}
	e.keys = keys
	return e, nil
}

// session sets o's capture and key log; port is the canonical port,
// written in the pcap in place of the lab's own (10587 → 587) so that
// Wireshark picks the protocol's dissector.
func (e *exporter) session(o *sessions.Options, port int, lab bool) {
	if lab {
		e.serverPort = port
	}
	if e.capture != nil {
		o.Capture = e.capture
	}
	o.KeyLog = joinKeyLogs(o.KeyLog, e.keys.writer())
}

// scenario sets the capture and key log of every session of env's
// scenario. A scenario's sessions go to several ports, and to a proxy:
// in the pcap each lab port is written as its canonical one, and any
// other keeps its own.
func (e *exporter) scenario(env *scenario.Env) {
	e.lab = env.Lab
	if e.capture != nil {
		env.Capture = e.capture
	}
	env.KeyLog = joinKeyLogs(env.KeyLog, e.keys.writer())
}

// close closes the key log (idempotent).
func (e *exporter) close() error {
	if e == nil {
		return nil
	}
	return e.keys.Close()
}

// finish writes the pcap and the cast of the session's events and says
// what was written.
func (e *exporter) finish(errOut io.Writer, req tui.SessionRequest, evs []wire.Event) error {
	if err := e.close(); err != nil {
		return err
	}
	if e.keys != nil {
		if fi, err := os.Stat(e.keys.path); err == nil {
			fmt.Fprintf(errOut, "mailwire: key log %s (%d bytes)\n", e.keys.path, fi.Size())
		}
	}
	if e.x.pcap != "" {
		if err := e.writePcap(errOut); err != nil {
			return err
		}
	}
	if e.x.cast != "" {
		f, err := createPrivate(e.x.cast)
		if err != nil {
			return fmt.Errorf("--cast: %w", err)
		}
		st, err := tui.WriteCast(f, req, evs, tui.CastOptions{Width: e.castW, Height: e.castH, Pause: e.x.castPause,
			Title: castTitle(req), Now: time.Now()})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("--cast %s: %w", e.x.cast, err)
		}
		fmt.Fprintf(errOut, "mailwire: cast %s (%d steps, %s)\n", e.x.cast, st.Frames, st.Length)
	}
	return nil
}

// writePcap writes the pcap, or says on errOut why it wrote none: a
// session that never connected has no bytes, and an empty pcap would
// read as "nothing crossed". The session's own error is its outcome.
func (e *exporter) writePcap(errOut io.Writer) error {
	var buf bytes.Buffer
	po := pcap.Options{ServerPort: e.serverPort}
	if e.lab != nil {
		po.ServerPorts = labPorts(e.lab.Endpoints())
	}
	st, err := pcap.Write(&buf, e.capture.Snapshot(), po)
	if errors.Is(err, pcap.ErrNoConnections) {
		fmt.Fprintf(errOut, "mailwire: no pcap written to %s: no connection was made\n", e.x.pcap)
		return nil
	}
	if err != nil {
		return fmt.Errorf("--pcap %s: %w", e.x.pcap, err)
	}
	// A cleartext session's pcap holds its password: 0600 (createPrivate).
	f, err := createPrivate(e.x.pcap)
	if err != nil {
		return fmt.Errorf("--pcap: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("--pcap %s: %w", e.x.pcap, err)
	}
	size := int64(buf.Len())
	fmt.Fprintf(errOut, "mailwire: pcap %s (%d packets, %d bytes)\n", e.x.pcap, st.Packets, size)
	if st.Dropped > 0 {
		fmt.Fprintf(errOut, "mailwire: the pcap lacks %d bytes past the capture's limit of %d MiB\n", st.Dropped, wire.DefaultCaptureLimit>>20)
	}
	return nil
}

// castTitle is the cast's title: the protocol and port of a session, the
// scenario (and its variant) and port of a scenario.
func castTitle(req tui.SessionRequest) string {
	what := strings.ToUpper(req.Proto)
	if req.Scenario != "" {
		what = req.Scenario
		if req.Variant != "" {
			what += " " + req.Variant
		}
	}
	return "mailwire " + what + " " + strconv.Itoa(req.Port)
}

// castRequest labels the cast's header as the session screen would.
func castRequest(o sessions.Options, port int, lab bool) tui.SessionRequest {
	r := tui.SessionRequest{Port: port, Target: o.Target, Proto: o.Proto, TLSMode: string(o.TLSMode), Label: "lab"}
	if !lab {
		r.Label = tui.SessionLabel(string(o.TLSMode), o.ServerNameOrHost(), string(o.Verify))
	}
	return r
}

// scenarioCastRequest labels a scenario's cast as the session screen
// would (tui's picker: "lab" or "target").
func scenarioCastRequest(req scenario.Request, target string) tui.SessionRequest {
	r := tui.SessionRequest{Scenario: req.Name, Variant: req.Variant, Port: req.Port, Target: target, Label: "lab"}
	if target != "" {
		r.Label = "target"
	}
	return r
}

// labPorts maps each lab endpoint's address to its canonical port, for
// pcap.Options.ServerPorts.
func labPorts(eps []lab.Endpoint) map[string]int {
	m := make(map[string]int, len(eps))
	for _, ep := range eps {
		m[ep.Addr] = ep.Canonical
	}
	return m
}
