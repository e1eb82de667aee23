package render

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/internal/buildinfo"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// A recording is a session saved to a file, to be replayed offline
// (`mailwire replay`, the TUI's session screen) or exported: the JSON
// Lines event stream JSON writes, whole (the endpoint lens) and with the
// passwords masked unless the header says "secrets": "revealed", after a
// first line, the header, that says what was recorded, how, and by which
// mailwire. README "Recordings" documents the format; this file is its
// one home: RecordingHeader is the header, NewRecorder and WriteRecording
// write, NewRecordingReader and ReadRecording read.
//
//	{"mailwire_recording":1,"mailwire":"v0.4.0","recorded_at":"…","target":"127.0.0.1:10587",…}
//	{"seq":1,"at_ns":0,"kind":"connect",…}
//	{"seq":2,…}

// RecordingSchema is the version of the recording format this mailwire
// writes, and the newest it reads. Fields may be added to the header or
// to events without changing it (readers ignore fields they do not know);
// it changes when a field changes its meaning, so that an older mailwire
// refuses a file it would misread instead of showing something false.
const RecordingSchema = 1

// Values of RecordingHeader.Secrets.
const (
	SecretsMasked   = "masked"   // every password replaced by protocol.Mask (RedactSecrets)
	SecretsRevealed = "revealed" // passwords as they were sent (--reveal-secrets)
)

// RecordingHeader is the first line of a recording.
type RecordingHeader struct {
	// Schema is RecordingSchema when written; its key names the file
	// type, so a reader knows the first line for a header.
	Schema int `json:"mailwire_recording"`
	// Mailwire is the version of the mailwire that recorded, as its
	// --version says it (buildinfo.Version, when the caller leaves it
	// empty).
	Mailwire string `json:"mailwire"`
	// RecordedAt is when the session started.
	RecordedAt time.Time `json:"recorded_at"`
	// Target is the address dialed (host:port); Lab says it was the
	// embedded lab on loopback.
	Target string `json:"target,omitempty"`
	Lab    bool   `json:"lab,omitempty"`
	// Port is the canonical port whose protocol and TLS mode the session
	// took (25, 587, …); 0 for a scenario that runs on several.
	Port    int    `json:"port,omitempty"`
	Proto   string `json:"proto,omitempty"`    // smtp, pop3, imap, https
	TLSMode string `json:"tls_mode,omitempty"` // none, starttls, implicit, opportunistic
	// Typed: the client's lines were typed by hand (mailwire connect),
	// not the scripted session.
	Typed bool `json:"typed,omitempty"`
	// LineMode: the typed lines were read from standard input, each sent
	// after the answer to the one before (mailwire connect without a
	// terminal). Its live output had no title, only its own stderr line
	// (cmd/mailwire's lineModeWords); a replay prints the same.
	LineMode bool `json:"line_mode,omitempty"`
	// Scenario is the scenario that ran, when one did: the session
	// screen shows its panels and prose on replay.
	Scenario *RecordingScenario `json:"scenario,omitempty"`
	// Options are the session's options as given, without secrets.
	Options RecordingOptions `json:"options"`
	// Secrets says whether passwords are masked in the events (the
	// default) or kept as sent.
	Secrets string `json:"secrets"`
}

// RecordingScenario names the scenario of a recording, as
// `mailwire session --scenario NAME --port P --variant V` would run it.
type RecordingScenario struct {
	Name    string `json:"name"`
	Port    int    `json:"port,omitempty"`
	Variant string `json:"variant,omitempty"`
}

// RecordingOptions are the options of a recorded session that shaped what
// it did and showed; never a password. Empty fields took their defaults.
type RecordingOptions struct {
	// ServerName is the name the session asked for: sent as SNI unless
	// it is an IP address (tlsmsg.SNIFor, RFC 6066 §3), and the name the
	// certificate was checked against. A recording made by an older
	// mailwire may lack it (the session screen saved none): readers take
	// it from the events (RecordingHeader.FromEvents).
	ServerName string `json:"server_name,omitempty"`
	Verify     string `json:"verify,omitempty"` // how the certificate was checked (wire.VerifyMode)
	CAFile     string `json:"ca_file,omitempty"`
	TLSMin     string `json:"tls_min,omitempty"` // "TLS 1.2"
	TLSMax     string `json:"tls_max,omitempty"`
	EHLOName   string `json:"ehlo,omitempty"`
	User       string `json:"user,omitempty"`
	Auth       string `json:"auth,omitempty"` // the SASL mechanism asked for
	To         string `json:"to,omitempty"`
	From       string `json:"from,omitempty"`
	Fetch      bool   `json:"fetch,omitempty"`
	StopAfter  string `json:"stop_after,omitempty"`
	// ReadTimeout is how long each answer was waited for, when not the
	// default (a time.Duration, "5s").
	ReadTimeout string `json:"read_timeout,omitempty"`
	// Budget is the session's budget (wire.Budget), when it was not the
	// default: what it held back is counted in the events' notes.
	Budget *RecordingBudget `json:"budget,omitempty"`
}

// RecordingBudget is wire.Budget with the names of its flags.
type RecordingBudget struct {
	Events     int   `json:"max_events"`
	EventBytes int   `json:"max_event_bytes"`
	TotalBytes int64 `json:"max_bytes"`
	LineWidth  int   `json:"max_line"`
	Untagged   int   `json:"max_untagged"`
	Literal    int   `json:"max_literal"`
}

// BudgetOf is the header's form of b; nil when b is the default.
func BudgetOf(b wire.Budget) *RecordingBudget {
	b = b.WithDefaults()
	if b == wire.DefaultBudget() {
		return nil
	}
	return &RecordingBudget{Events: b.Events, EventBytes: b.EventBytes, TotalBytes: b.TotalBytes,
		LineWidth: b.LineWidth, Untagged: b.Untagged, Literal: b.Literal}
}

// Recorder writes a recording as the session goes: the header first, then
// each event as it arrives, so that a session cut short still leaves a
// recording that reads up to its last event.
type Recorder struct {
	w      io.Writer
	o      Options
	events int
	bytes  int64
	err    error
}

// NewRecorder writes h to w and returns the recorder of its events. It
// fills the schema, the version (buildinfo.Version when empty: what
// --version prints, however the file is made), the time (now
// when zero) and the secrets mode (masked when empty); any other value of
// Secrets than the two is an error.
func NewRecorder(w io.Writer, h RecordingHeader) (*Recorder, error) {
	h.Schema = RecordingSchema
	if h.Mailwire == "" {
		h.Mailwire = buildinfo.Version()
	}
	if h.RecordedAt.IsZero() {
		h.RecordedAt = time.Now()
	}
	h.RecordedAt = h.RecordedAt.UTC().Truncate(time.Millisecond)
	switch h.Secrets {
	case "":
		h.Secrets = SecretsMasked
	case SecretsMasked, SecretsRevealed:
	default:
		return nil, fmt.Errorf("recording header: secrets %q: want %q or %q", h.Secrets, SecretsMasked, SecretsRevealed)
	}
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return nil, fmt.Errorf("recording header: %w", err)
	}
	r := &Recorder{w: w, o: Options{RevealSecrets: h.Secrets == SecretsRevealed}}
	if err := r.write(escapeTerminalRunes(line.Bytes())); err != nil {
		return nil, fmt.Errorf("write recording header: %w", err)
	}
	return r, nil
}

// Write adds one event: the line JSON writes for it in the endpoint lens,
// its password masked unless the header says revealed. After an error
// every Write returns it.
func (r *Recorder) Write(ev wire.Event) error {
	if r.err != nil {
		return r.err
	}
	// JSON writes into a buffer of its own; counting what reaches w
	// gives the size the status line reports.
	if err := JSON(countWriter{r}, []wire.Event{ev}, r.o); err != nil {
		r.err = fmt.Errorf("write recording: %w", err)
		return r.err
	}
	r.events++
	return nil
}

// Events is how many events were written; Bytes how many bytes, the
// header included.
func (r *Recorder) Events() int  { return r.events }
func (r *Recorder) Bytes() int64 { return r.bytes }

func (r *Recorder) write(b []byte) error {
	n, err := r.w.Write(b)
	r.bytes += int64(n)
	if err != nil {
		r.err = err
	}
	return err
}

// countWriter passes bytes to the recorder's writer and counts them.
type countWriter struct{ r *Recorder }

func (c countWriter) Write(b []byte) (int, error) {
	if err := c.r.write(b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// WriteRecording writes a whole recording: h, then evs.
func WriteRecording(w io.Writer, h RecordingHeader, evs []wire.Event) error {
	bw := bufio.NewWriter(w)
	r, err := NewRecorder(bw, h)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if err := r.Write(ev); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write recording: %w", err)
	}
	return nil
}

// RecordingLimits bound what reading a recording may cost: a hostile or
// corrupt file is an error, never a reason to run out of memory.
type RecordingLimits struct {
	// Events is how many events a recording may hold.
	Events int
	// LineBytes is how long one line may be.
	LineBytes int
}

// Defaults of RecordingLimits: a session keeps 10,000 events unless its
// budget was raised (wire.DefaultBudgetEvents); a line holds one event,
// whose bytes the budget bounds to 64 KiB by default (about 87 KiB in
// base64, plus its decoded form).
const (
	DefaultRecordingEvents    = 250_000
	DefaultRecordingLineBytes = 8 << 20
)

// DefaultRecordingLimits returns the default limits.
func DefaultRecordingLimits() RecordingLimits {
	return RecordingLimits{Events: DefaultRecordingEvents, LineBytes: DefaultRecordingLineBytes}
}

func (l RecordingLimits) withDefaults() RecordingLimits {
	if l.Events <= 0 {
		l.Events = DefaultRecordingEvents
	}
	if l.LineBytes <= 0 {
		l.LineBytes = DefaultRecordingLineBytes
	}
	return l
}

// SchemaError is the error of a recording whose schema this mailwire
// cannot read: a newer one (Schema > RecordingSchema), or a number no
// mailwire wrote. errors.As finds it in NewRecordingReader's and
// ReadRecording's errors.
type SchemaError struct {
	Schema int    // the file's schema number
	Raw    string // the value as written, when it is not a number
}

func (e *SchemaError) Error() string {
	switch {
	case e.Raw != "":
		return fmt.Sprintf("recording schema %s: not a schema number", e.Raw)
	case e.Schema > RecordingSchema:
		return fmt.Sprintf("recording schema %d is newer than this mailwire (%d): upgrade mailwire to read it", e.Schema, RecordingSchema)
	}
	return fmt.Sprintf("recording schema %d: no mailwire wrote it (the schemas start at 1)", e.Schema)
}

// RecordingReader reads a recording one event at a time, so that a long
// one can be shown while the rest is read (`mailwire replay`).
type RecordingReader struct {
	d      *wire.JSONLines
	h      RecordingHeader
	lim    RecordingLimits
	events int
}

// NewRecordingReader reads and checks the header of the recording in r.
func NewRecordingReader(r io.Reader, lim RecordingLimits) (*RecordingReader, error) {
	lim = lim.withDefaults()
	d := wire.NewJSONLines(r, lim.LineBytes)
	b, err := d.Next()
	if err == io.EOF {
		return nil, errors.New("recording: the file is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("recording %w", err)
	}
	h, err := parseRecordingHeader(b)
	var se *SchemaError
	if errors.As(err, &se) {
		return nil, err // says all there is to say
	}
	if err != nil {
		return nil, fmt.Errorf("recording line %d (header): %w", d.Line(), err)
	}
	return &RecordingReader{d: d, h: h, lim: lim}, nil
}

// Header is the recording's header.
func (rr *RecordingReader) Header() RecordingHeader { return rr.h }

// Next returns the next event, or io.EOF after the last. An error names
// the line it is about; after one, the recording cannot be read further.
func (rr *RecordingReader) Next() (wire.Event, error) {
	b, err := rr.d.Next()
	if err == io.EOF {
		return wire.Event{}, io.EOF
	}
	if err != nil {
		return wire.Event{}, fmt.Errorf("recording %w", err)
	}
	if rr.events >= rr.lim.Events {
		return wire.Event{}, fmt.Errorf("recording line %d: more than %s events", rr.d.Line(), wire.GroupDigits(int64(rr.lim.Events)))
	}
	if b[0] != '{' {
		// json.Unmarshal would take `null` or `[]` for an empty event.
		return wire.Event{}, fmt.Errorf("recording line %d: not a JSON object", rr.d.Line())
	}
	ev, err := rr.d.Event(b)
	if err != nil {
		return wire.Event{}, fmt.Errorf("recording %w", err)
	}
	rr.events++
	return ev, nil
}

// Line is the number of the line Next read last (the header is line 1).
func (rr *RecordingReader) Line() int { return rr.d.Line() }

// Recording is a recording read whole.
type Recording struct {
	Header RecordingHeader
	Events []wire.Event
}

// ReadRecording reads a whole recording. On an error after the header it
// returns what it read so far with the error.
func ReadRecording(r io.Reader, lim RecordingLimits) (Recording, error) {
	rr, err := NewRecordingReader(r, lim)
	if err != nil {
		return Recording{}, err
	}
	rec := Recording{Header: rr.Header()}
	for {
		ev, err := rr.Next()
		if err == io.EOF {
			return rec, nil
		}
		if err != nil {
			return rec, err
		}
		rec.Events = append(rec.Events, ev)
	}
}

// parseRecordingHeader decodes and checks a header line. The schema is
// read first, so a newer file is told apart from a broken one whatever
// its other fields hold.
func parseRecordingHeader(b []byte) (RecordingHeader, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return RecordingHeader{}, fmt.Errorf("not a recording header: %w", err)
	}
	raw, ok := probe["mailwire_recording"]
	if !ok {
		if _, event := probe["kind"]; event {
			return RecordingHeader{}, errors.New("not a recording: the file starts with an event, not the header " +
				"(a --format json transcript is not a recording: record with --record FILE)")
		}
		return RecordingHeader{}, errors.New(`not a recording header: no "mailwire_recording"`)
	}
	var schema int
	if err := json.Unmarshal(raw, &schema); err != nil {
		return RecordingHeader{}, &SchemaError{Raw: wire.Truncate(wire.SafeString(string(raw)), 40)}
	}
	if schema > RecordingSchema || schema < 1 {
		return RecordingHeader{}, &SchemaError{Schema: schema}
	}
	var h RecordingHeader
	if err := json.Unmarshal(b, &h); err != nil {
		return RecordingHeader{}, err
	}
	return h, h.check()
}

// check refuses a header that says what no mailwire writes: a reader may
// rely on its fields (the session screen opens the scenario it names).
// Every string a header holds is still the file's: sanitize it before
// printing.
func (h RecordingHeader) check() error {
	if h.Port < 0 || h.Port > 65535 {
		return fmt.Errorf("port %d: not a TCP port", h.Port)
	}
	if h.Proto != "" && !slices.Contains([]string{"smtp", "pop3", "imap", "https"}, h.Proto) {
		return fmt.Errorf("proto %q: want smtp, pop3, imap or https", wire.Truncate(wire.SafeString(h.Proto), 40))
	}
	if h.TLSMode != "" && !slices.Contains([]string{"none", "starttls", "implicit", "opportunistic"}, h.TLSMode) {
		return fmt.Errorf("tls_mode %q: want none, starttls, implicit or opportunistic", wire.Truncate(wire.SafeString(h.TLSMode), 40))
	}
	switch h.Secrets {
	case SecretsMasked, SecretsRevealed:
	default:
		return fmt.Errorf("secrets %q: want %q or %q", wire.Truncate(wire.SafeString(h.Secrets), 40), SecretsMasked, SecretsRevealed)
	}
	if s := h.Scenario; s != nil {
		if !slices.Contains(content.ScenarioOrder, s.Name) {
			return fmt.Errorf("scenario %q: not one this mailwire knows (%s)", wire.Truncate(wire.SafeString(s.Name), 40),
				strings.Join(content.ScenarioOrder, ", "))
		}
		if s.Port < 0 || s.Port > 65535 {
			return fmt.Errorf("scenario port %d: not a TCP port", s.Port)
		}
	}
	return nil
}

// FromEvents returns the header with what a plain session's header may
// lack filled in from its events: the server name the session asked for
// (Options.ServerName) and how it checked the certificate
// (Options.Verify). The session screen saved recordings without them
// before mailwire wrote them there (it knows its request, not the options
// the session ran with), and a replay then named the target's address as
// the SNI of a session that had sent mail.lab.test. The sources, truest
// first: the client's TLS state (the name the certificate was checked
// against, and how: wire.TLSState, also on the error of a refused
// certificate), then the server_name of the first ClientHello (RFC 6066
// §3, as the lens reads it); a session against a target that shows
// neither asked for the default, the target's host
// (sessions.Options.ServerName). A field the header has is kept: it says
// what the session was told to do, before anything crossed the wire. A
// scenario's header is returned as it is: its legs each have their own
// names, and its title names none.
func (h RecordingHeader) FromEvents(evs []wire.Event) RecordingHeader {
	if h.Scenario != nil || h.Options.ServerName != "" && h.Options.Verify != "" {
		return h
	}
	if h.TLSMode == "none" {
		return h // no TLS: no name asked for, no certificate checked
	}
	var st *wire.TLSState
	for i := range evs {
		if ev := &evs[i]; ev.TLS != nil && ev.Leg == "" && (ev.Kind == wire.KindTLSState || ev.Kind == wire.KindError) {
			st = ev.TLS
			break
		}
	}
	if h.Options.ServerName == "" {
		if st != nil && st.ServerName != "" {
			h.Options.ServerName = st.ServerName
		} else if sni := lens.Observe(evs, len(evs), "").SNI; len(sni) > 0 {
			h.Options.ServerName = sni[0]
		} else if host, _, err := net.SplitHostPort(h.Target); err == nil && !h.Lab {
			h.Options.ServerName = host
		}
	}
	if h.Options.Verify == "" && st != nil {
		h.Options.Verify = st.VerifyMethod
	}
	return h
}

// Describe says in one line what was recorded, when and by which
// mailwire, sanitized for a terminal: "SMTP 587 (starttls) on
// 127.0.0.1:10587 (the lab), recorded 2026-05-04 10:31 UTC by mailwire
// v0.4.0, passwords masked".
func (h RecordingHeader) Describe() string {
	var what string
	if s := h.Scenario; s != nil {
		what = "scenario " + s.Name
		if s.Port != 0 {
			what += fmt.Sprintf(" on port %d", s.Port)
		}
		if s.Variant != "" {
			what += ", variant " + s.Variant
		}
	} else {
		what = strings.ToUpper(h.Proto)
		if h.Port != 0 {
			what += fmt.Sprintf(" %d", h.Port)
		}
		if h.TLSMode != "" {
			what += " (" + h.TLSMode + ")"
		}
		if h.Typed {
			what += ", typed"
		}
	}
	if h.Target != "" {
		what += " on " + h.Target
	}
	if h.Lab {
		what += " (the lab)"
	}
	what += ", recorded " + h.RecordedAt.UTC().Format("2006-01-02 15:04 MST")
	if h.Mailwire != "" {
		what += " by mailwire " + h.Mailwire
	}
	if h.Secrets == SecretsRevealed {
		what += ", passwords as sent"
	} else {
		what += ", passwords masked"
	}
	return wire.Truncate(wire.SafeString(strings.TrimSpace(what)), 400)
}
