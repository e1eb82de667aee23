package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

func testHeader() RecordingHeader {
	return RecordingHeader{
		Mailwire:   "v0.0.0-test",
		RecordedAt: time.Date(2026, 5, 4, 10, 31, 7, 0, time.UTC),
		Target:     "127.0.0.1:10587", Lab: true, Port: 587, Proto: "smtp", TLSMode: "starttls",
		Options: RecordingOptions{ServerName: "mail.lab.test", Verify: "lab CA", User: "learner", To: "learner@lab.test", Fetch: true},
	}
}

func writeRecording(t *testing.T, h RecordingHeader, evs []wire.Event) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteRecording(&b, h, evs); err != nil {
		t.Fatalf("WriteRecording: %v", err)
	}
	return b.Bytes()
}

// TestRecordingRoundTrip: what WriteRecording writes, ReadRecording reads
// back: the header with what the writer filled in, and the events as the
// stream had them, passwords masked.
func TestRecordingRoundTrip(t *testing.T) {
	evs := fixture587()
	file := writeRecording(t, testHeader(), evs)
	first, _, _ := bytes.Cut(file, []byte("\n"))
	if !bytes.HasPrefix(first, []byte(`{"mailwire_recording":1,"mailwire":"v0.0.0-test","recorded_at":"2026-05-04T10:31:07Z"`)) {
		t.Errorf("header line: %s", first)
	}
	rec, err := ReadRecording(bytes.NewReader(file), RecordingLimits{})
	if err != nil {
		t.Fatalf("ReadRecording: %v", err)
	}
	want := testHeader()
	want.Schema, want.Secrets = RecordingSchema, SecretsMasked
	if !reflect.DeepEqual(rec.Header, want) {
		t.Errorf("header read back:\n%+v\nwant\n%+v", rec.Header, want)
	}
	masked, _ := protocol.RedactSecrets(evs)
	if !reflect.DeepEqual(rec.Events, masked) {
		t.Errorf("events read back differ from the stream's (masked)")
	}
	// The events' lines are JSON's lines, byte for byte: a recording is
	// the JSON Lines stream with a header.
	var js bytes.Buffer
	if err := JSON(&js, evs, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, rest, _ := bytes.Cut(file, []byte("\n")); !bytes.Equal(rest, js.Bytes()) {
		t.Errorf("the events of the recording are not JSON's lines")
	}

	// Revealed: the password is kept, and the header says so.
	h := testHeader()
	h.Secrets = SecretsRevealed
	rec, err = ReadRecording(bytes.NewReader(writeRecording(t, h, evs)), RecordingLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Header.Secrets != SecretsRevealed || !reflect.DeepEqual(rec.Events, evs) {
		t.Errorf("a revealed recording does not read back whole (secrets %q)", rec.Header.Secrets)
	}

	// The writer fills in what the caller left out.
	rec, err = ReadRecording(bytes.NewReader(writeRecording(t, RecordingHeader{}, nil)), RecordingLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Header.Mailwire == "" || rec.Header.RecordedAt.IsZero() || rec.Header.Secrets != SecretsMasked || len(rec.Events) != 0 {
		t.Errorf("defaults: %+v", rec.Header)
	}
	if _, err := NewRecorder(io.Discard, RecordingHeader{Secrets: "some"}); err == nil {
		t.Error("NewRecorder took secrets \"some\"")
	}
}

// credentialEvents are client lines that carry a password, decoded as the
// engine decodes them (protocol.DecodeCredential): AUTH PLAIN with an
// initial response, AUTH LOGIN's two continuation lines, IMAP LOGIN with
// quoted strings, POP3 USER/PASS.
func credentialEvents(t *testing.T) map[string][]wire.Event {
	t.Helper()
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	out := map[string][]wire.Event{}
	for name, c := range map[string]struct {
		proto string
		lines []string
	}{
		"AUTH PLAIN":         {"smtp", []string{"AUTH PLAIN " + b64("\x00learner\x00"+fixturePassword)}},
		"AUTH LOGIN":         {"smtp", []string{"AUTH LOGIN", b64("learner"), b64(fixturePassword)}},
		"IMAP LOGIN quoted":  {"imap", []string{`a1 LOGIN "learner" "` + fixturePassword + `"`}},
		"POP3 USER and PASS": {"pop3", []string{"USER learner", "PASS " + fixturePassword}},
	} {
		var st protocol.CredentialState
		var evs []wire.Event
		for i, l := range c.lines {
			raw := []byte(l + "\r\n")
			evs = append(evs, wire.Event{Seq: i + 1, Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: wire.LayerCleartext,
				Visible: wire.VisibleAnyone, Raw: raw, Text: l, Line: &wire.Line{Proto: c.proto},
				Credential: protocol.DecodeCredential(c.proto, raw, &st)})
		}
		if last := evs[len(evs)-1].Credential; last == nil || last.Password != fixturePassword {
			t.Fatalf("%s: the last line decodes to %+v, not the password", name, last)
		}
		out[name] = evs
	}
	return out
}

// TestRecordingMasksSecrets: in the file's bytes there is neither the
// password nor any base64 form of it (as sent, or inside raw's base64),
// unless the header says revealed.
func TestRecordingMasksSecrets(t *testing.T) {
	for name, evs := range credentialEvents(t) {
		file := string(writeRecording(t, testHeader(), evs))
		decoded := decodeBase64Runs(file)
		for _, s := range append(secretForms(), `"`+fixturePassword+`"`) {
			if strings.Contains(file, s) || strings.Contains(decoded, s) {
				t.Errorf("%s: the recording holds %q", name, s)
			}
		}
		if !strings.Contains(file, protocol.Mask("x")) {
			t.Errorf("%s: no mask in the recording", name)
		}
		h := testHeader()
		h.Secrets = SecretsRevealed
		if file := writeRecording(t, h, evs); !bytes.Contains(file, []byte(fixturePassword)) {
			t.Errorf("%s: a revealed recording lost the password", name)
		}
	}
}

// TestRecordingSchema: a newer schema is refused with the words a user
// needs; so is a header that is not one.
func TestRecordingSchema(t *testing.T) {
	ev := `{"seq":1,"kind":"connect","dir":"local","layer":"tcp","visible":"metadata","text":"x"}` + "\n"
	for _, c := range []struct{ file, want string }{
		{`{"mailwire_recording":3,"mailwire":"v9","secrets":"masked","proto":{"new":"shape"}}` + "\n" + ev,
			fmt.Sprintf("recording schema 3 is newer than this mailwire (%d): upgrade mailwire to read it", RecordingSchema)},
		{`{"mailwire_recording":0,"secrets":"masked"}`, "recording schema 0: no mailwire wrote it"},
		{`{"mailwire_recording":"1"}`, `recording schema "1": not a schema number`},
		{`{"mailwire_recording":1e999}`, `not a schema number`},
		{ev, "a --format json transcript is not a recording"},
		{"", "recording: the file is empty"},
		{"\n\n", "recording: the file is empty"},
		{`{"hello":1}`, `recording line 1 (header): not a recording header: no "mailwire_recording"`},
		{`[1]`, "recording line 1 (header): not a recording header"},
		{`{"mailwire_recording":1,"secrets":"masked"`, "recording line 1 (header): not a recording header: unexpected end of JSON input"},
	} {
		_, err := ReadRecording(strings.NewReader(c.file), RecordingLimits{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.40q: error %v, want %q", c.file, err, c.want)
		}
	}
	var se *SchemaError
	_, err := ReadRecording(strings.NewReader(`{"mailwire_recording":2}`), RecordingLimits{})
	if !errors.As(err, &se) || se.Schema != 2 {
		t.Errorf("errors.As SchemaError: %v", err)
	}
}

// TestRecordingHostile: a corrupt or hostile recording is a clear error
// naming its line, or reads into events the printers render inertly.
func TestRecordingHostile(t *testing.T) {
	head := string(writeRecording(t, testHeader(), nil))
	good := `{"seq":1,"kind":"connect","dir":"local","layer":"tcp","visible":"metadata","text":"connected"}`
	for _, c := range []struct {
		name, body, want string
	}{
		{"truncated line", good + "\n" + `{"seq":2,"kind":"li`, "recording line 3: unexpected end of JSON input"},
		{"wrong type", good + "\n" + `{"seq":"two"}`, "recording line 3: json: cannot unmarshal string"},
		{"raw not base64", `{"seq":1,"raw":"!!"}`, "recording line 2: illegal base64"},
		{"null", "null", "recording line 2: not a JSON object"},
		{"array", "[]", "recording line 2: not a JSON object"},
		{"huge line", good + "\n\n" + `{"text":"` + strings.Repeat("a", 5000) + `"}`, "recording line 4: longer than 4096 bytes"},
		{"too many events", strings.Repeat(good+"\n", 11), "recording line 12: more than 10 events"},
	} {
		rec, err := ReadRecording(strings.NewReader(head+c.body), RecordingLimits{Events: 10, LineBytes: 4096})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if len(rec.Events) > 10 {
			t.Errorf("%s: %d events read past the limit", c.name, len(rec.Events))
		}
	}

	// A header that lies about what it recorded.
	for _, c := range []struct{ field, want string }{
		{`"port":70000`, "port 70000: not a TCP port"},
		{`"proto":"gopher\u001b[2J"`, `proto "gopher\\x1b[2J": want smtp, pop3, imap or https`},
		{`"tls_mode":"sometimes"`, "tls_mode \"sometimes\""},
		{`"scenario":{"name":"rm -rf"}`, `scenario "rm -rf": not one this mailwire knows`},
		{`"scenario":{"name":"hops","port":-1}`, "scenario port -1"},
		{`"secrets":"some"`, `secrets "some"`},
		{`"recorded_at":"yesterday"`, "recording line 1 (header): parsing time"},
		{`"port":"587"`, "recording line 1 (header): json: cannot unmarshal string"},
	} {
		h := `{"mailwire_recording":1,"secrets":"masked",` + c.field + "}\n"
		if strings.Contains(c.field, "secrets") {
			h = `{"mailwire_recording":1,` + c.field + "}\n"
		}
		_, err := ReadRecording(strings.NewReader(h+good), RecordingLimits{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("header %s: error %v, want %q", c.field, err, c.want)
		}
	}

	// Escape bytes everywhere a string is: the file reads, and what the
	// printers and Describe make of it is inert.
	const esc = `\u001b]52;c;aGk=\u0007\u001b[2J\u009b\u202e`
	file := `{"mailwire_recording":1,"mailwire":"` + esc + `","target":"` + esc + `","secrets":"masked","options":{"user":"` + esc + `"}}` + "\n" +
		`{"seq":1,"kind":"line","dir":"s2c","layer":"cleartext","visible":"anyone","text":"220 ` + esc + `","raw":"` +
		base64.StdEncoding.EncodeToString([]byte("220 \x1b[2J\x9b\r\n")) + `","line":{"proto":"smtp","code":"` + esc + `"}}` + "\n" +
		`{"seq":2,"kind":"error","dir":"local","error":{"op":"` + esc + `","message":"` + esc + `"}}`
	rec, err := ReadRecording(strings.NewReader(file), RecordingLimits{})
	if err != nil {
		t.Fatalf("a recording with escape bytes in its strings: %v", err)
	}
	fuzzInert(t, "Describe", rec.Header.Describe())
	for _, view := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
		for format := range printers {
			if format == "json" {
				continue // JSON escapes: fuzzInert checks its own output in FuzzReadRecording
			}
			fuzzInert(t, format, render(t, format, rec.Events, Options{Lens: view, Hex: true}))
		}
	}
}

// TestRecordingDescribe: one line that says what, where, when, by whom.
func TestRecordingDescribe(t *testing.T) {
	h := testHeader()
	h.Secrets = SecretsMasked
	if got, want := h.Describe(), "SMTP 587 (starttls) on 127.0.0.1:10587 (the lab), recorded 2026-05-04 10:31 UTC by mailwire v0.0.0-test, passwords masked"; got != want {
		t.Errorf("Describe:\n%s\nwant\n%s", got, want)
	}
	h.Scenario = &RecordingScenario{Name: "strip-opportunistic", Port: 587, Variant: "replace"}
	h.Secrets = SecretsRevealed
	if got, want := h.Describe(), "scenario strip-opportunistic on port 587, variant replace on 127.0.0.1:10587 (the lab), recorded 2026-05-04 10:31 UTC by mailwire v0.0.0-test, passwords as sent"; got != want {
		t.Errorf("Describe:\n%s\nwant\n%s", got, want)
	}
}

// recording100k is a recording of n events: the fixture's exchange over
// and over, numbered and timed as one long session.
func recording100k(t testing.TB, n int) []byte {
	t.Helper()
	base := fixture587()
	evs := make([]wire.Event, 0, n)
	for len(evs) < n {
		for _, ev := range base {
			if len(evs) == n {
				break
			}
			ev.Seq = len(evs) + 1
			ev.At = time.Duration(len(evs)) * 53 * time.Microsecond
			evs = append(evs, ev)
		}
	}
	var b bytes.Buffer
	if err := WriteRecording(&b, testHeader(), evs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRecordingBounds: a recording of 100,000 events loads with the
// default limits; one line over the limit is an error that names it.
func TestRecordingBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("100k events")
	}
	file := recording100k(t, 100_000)
	rec, err := ReadRecording(bytes.NewReader(file), DefaultRecordingLimits())
	if err != nil || len(rec.Events) != 100_000 {
		t.Fatalf("100k-event recording: %d events, %v", len(rec.Events), err)
	}
	long := append(bytes.Clone(file), `{"text":"`+strings.Repeat("x", DefaultRecordingLineBytes)+`"}`+"\n"...)
	_, err = ReadRecording(bytes.NewReader(long), DefaultRecordingLimits())
	if want := fmt.Sprintf("recording line 100002: longer than %d bytes", DefaultRecordingLineBytes); err == nil || err.Error() != want {
		t.Errorf("a line over the limit: %v, want %q", err, want)
	}
}

// FuzzReadRecording reads a recording (an untrusted file: `mailwire
// replay` and the TUI open them) and renders what it read: the reader
// keeps its bounds, Describe and every printer in both lenses stay inert
// and never panic, and what it read writes back into a recording that
// reads the same.
func FuzzReadRecording(f *testing.F) {
	var seed bytes.Buffer
	if err := WriteRecording(&seed, testHeader(), fixture587()); err != nil {
		f.Fatal(err)
	}
	f.Add(seed.Bytes())
	f.Add(seed.Bytes()[:seed.Len()/2])
	for _, s := range []string{
		`{"mailwire_recording":1,"secrets":"masked","scenario":{"name":"hops"}}` + "\n" + `{"kind":"verdict","verdict":{"evidence":[-1,99]}}`,
		`{"mailwire_recording":1,"secrets":"revealed","target":"\u001b[2J"}` + "\n" + `{"kind":"line","text":"PASS x","credential":{"mechanism":"USER/PASS","password":"hunter22"}}`,
		`{"mailwire_recording":2}`, `{"mailwire_recording":1}`, "{}\n{}", `{"mailwire_recording":1,"secrets":"masked"}` + "\nnull\n[]",
	} {
		f.Add([]byte(s))
	}
	const maxEvents, maxLine = 64, 64 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := ReadRecording(bytes.NewReader(data), RecordingLimits{Events: maxEvents, LineBytes: maxLine})
		if len(rec.Events) > maxEvents {
			t.Fatalf("%d events read, over %d", len(rec.Events), maxEvents)
		}
		if err != nil && rec.Header.Schema == 0 {
			return
		}
		fuzzInert(t, "Describe", rec.Header.Describe())
		for _, view := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
			o := Options{Lens: view, Hex: true, Width: 60}
			for _, format := range []string{"text", "markdown"} {
				fuzzInert(t, format+" "+view.String(), render(t, format, rec.Events, o))
			}
		}
		var back bytes.Buffer
		if err := WriteRecording(&back, rec.Header, rec.Events); err != nil {
			t.Fatalf("WriteRecording of what was read: %v", err)
		}
		fuzzInert(t, "recording", back.String())
		again, err := ReadRecording(&back, RecordingLimits{Events: maxEvents, LineBytes: 4 * maxLine})
		if err != nil {
			t.Fatalf("a recording written from a read one does not read: %v", err)
		}
		if len(again.Events) != len(rec.Events) {
			t.Fatalf("%d events written, %d read back", len(rec.Events), len(again.Events))
		}
	})
}
