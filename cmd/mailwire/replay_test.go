package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// recordingFixtures are what the committed recordings hold: a session on
// each of the eight ports (SMTP 25, 587 and 465, POP3 110 and 995, IMAP
// 143 and 993, HTTPS 443) and every scenario with its defaults, each
// against the in-process lab, run as `mailwire session … --record`.
// args[1] is the port or the scenario.
func recordingFixtures() map[string][]string {
	out := map[string][]string{}
	// Small: a session to its login (HTTPS to its one request); the
	// scenarios whole (a budget that cut one short would change what its
	// summary says), but for one that shows the budget's notes.
	for _, p := range []int{25, 587, 465, 110, 995, 143, 993} {
		out["port-"+strconv.Itoa(p)] = []string{"--port", strconv.Itoa(p), "--stop-after", "auth"}
	}
	out["port-443"] = []string{"--port", "443"}
	for _, s := range scenario.All() {
		out["scenario-"+s.Name] = []string{"--scenario", s.Name}
	}
	out["scenario-response-injection"] = append(out["scenario-response-injection"], "--max-events", "40")
	return out
}

// TestRecordReplayRoundTrip: for each port and scenario, a session
// recorded with --record replays (--format json) into the very JSON Lines
// the live session printed, with the same exit status, and the file is
// private (0600) and names what it recorded.
func TestRecordReplayRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a lab session per port and scenario")
	}
	state, dir := t.TempDir(), t.TempDir()
	for name, args := range recordingFixtures() {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, name+".jsonl")
			liveCode, live, liveErr := runMailwire(t, append([]string{"session", "--format", "json", "--record", file,
				"--lab-state-dir", state}, args...)...)
			if liveCode != exitOK && liveCode != exitUnsafe {
				t.Fatalf("live run: exit %d\n%s", liveCode, liveErr)
			}
			if !strings.Contains(liveErr, "recorded ") || !strings.Contains(liveErr, " to "+file) {
				t.Errorf("stderr does not say what was recorded:\n%s", liveErr)
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("recording mode %v, want 0600", fi.Mode().Perm())
			}
			code, replayed, replayErr := runMailwire(t, "replay", file, "--format", "json")
			if code != liveCode {
				t.Errorf("replay exit %d, live %d\n%s", code, liveCode, replayErr)
			}
			if replayed != live {
				t.Errorf("replay --format json differs from the live session's output")
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rec, err := render.ReadRecording(f, render.RecordingLimits{})
			if err != nil {
				t.Fatal(err)
			}
			h := rec.Header
			if !h.Lab || h.Secrets != render.SecretsMasked || h.Mailwire == "" || time.Since(h.RecordedAt) > time.Hour {
				t.Errorf("header: %+v", h)
			}
			if args[0] == "--scenario" {
				if h.Scenario == nil || h.Scenario.Name != args[1] {
					t.Errorf("header's scenario %+v, want %s", h.Scenario, args[1])
				}
			} else if strconv.Itoa(h.Port) != args[1] || h.Proto == "" || h.TLSMode == "" || h.Target == "" {
				t.Errorf("header: port %d proto %q mode %q target %q, want port %s", h.Port, h.Proto, h.TLSMode, h.Target, args[1])
			}
		})
	}
}

// TestReplayTextAsLive: a scenario replayed as text reads as it did live,
// its prose, transcript, summary and conclusion included; as HTML (issue
// 14 §1, replay --format html) it is the live page, one document with the
// scenario's title and introduction (text before <!DOCTYPE> and after
// </html> broke the live scenario's page).
func TestReplayTextAsLive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lab sessions")
	}
	state, dir := t.TempDir(), t.TempDir()
	for _, args := range [][]string{{"--scenario", "compare"}, {"--port", "110"}} {
		for _, format := range []string{"text", "markdown", "html"} {
			file := filepath.Join(dir, args[1]+format+".jsonl")
			code, live, liveErr := runMailwire(t, append([]string{"session", "--format", format, "--width", "100", "--color", "never",
				"--lens", "eavesdropper", "--record", file, "--lab-state-dir", state}, args...)...)
			if code != exitOK {
				t.Fatalf("%v: exit %d\n%s", args, code, liveErr)
			}
			code, replayed, replayErr := runMailwire(t, "replay", file, "--format", format, "--width", "100", "--color", "never",
				"--lens", "eavesdropper")
			if code != exitOK {
				t.Fatalf("replay %v: exit %d\n%s", args, code, replayErr)
			}
			if replayed != live {
				t.Errorf("%v %s: the replay differs from the live output:\n--- replay\n%s\n--- live\n%s", args, format, replayed, live)
			}
			if format != "html" {
				continue
			}
			if !strings.HasPrefix(replayed, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(replayed), "</html>") {
				t.Errorf("%v: not one HTML document:\n%.300s\n…\n%s", args, replayed, replayed[max(0, len(replayed)-300):])
			}
			if text, _ := content.ScenarioByName(args[1]); args[0] == "--scenario" && !strings.Contains(replayed, "<h1>"+text.Title) {
				t.Errorf("%v: the page's title is not the scenario's", args)
			}
		}
	}
}

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{8,}={0,2}`)

// decodeBase64Runs decodes every base64 run of s (a recording's raw
// fields), so that a secret inside them is found too.
func decodeBase64Runs(s string) string {
	var b strings.Builder
	for _, m := range base64Run.FindAllString(s, -1) {
		if d, err := base64.StdEncoding.DecodeString(m); err == nil {
			b.Write(d)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestRecordMasksSecrets: the lab's password is in no form in a
// recording's bytes, for each way a client sends it (AUTH PLAIN, AUTH
// LOGIN, IMAP LOGIN with quoted strings, POP3 PASS), unless
// --reveal-secrets; the mask is.
func TestRecordMasksSecrets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lab sessions")
	}
	pw, user := lab.DemoPassword, lab.DemoUser
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	forms := []string{pw, b64(pw), b64("\x00" + user + "\x00" + pw), protocol.IMAPQuote(pw)}
	state, dir := t.TempDir(), t.TempDir()
	for name, args := range map[string][]string{
		"AUTH PLAIN":        {"--port", "587", "--auth", "PLAIN", "--stop-after", "auth"},
		"AUTH LOGIN":        {"--port", "465", "--auth", "LOGIN", "--stop-after", "auth"},
		"IMAP LOGIN quoted": {"--port", "143", "--stop-after", "auth"},
		"POP3 PASS":         {"--port", "110", "--stop-after", "auth"},
	} {
		for _, reveal := range []bool{false, true} {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+strconv.FormatBool(reveal)+".jsonl")
			a := append([]string{"session", "--format", "json", "--record", file, "--lab-state-dir", state}, args...)
			if reveal {
				a = append(a, "--reveal-secrets")
			}
			if code, _, errOut := runMailwire(t, a...); code != exitOK {
				t.Fatalf("%s: exit %d\n%s", name, code, errOut)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			file, decoded := string(b), decodeBase64Runs(string(b))
			if !reveal {
				for _, s := range forms {
					if strings.Contains(file, s) || strings.Contains(decoded, s) {
						t.Errorf("%s: the recording holds %q", name, s)
					}
				}
				if !strings.Contains(file, protocol.Mask("x")) || !strings.Contains(file, `"secrets":"masked"`) {
					t.Errorf("%s: no mask, or the header does not say masked", name)
				}
			} else if !strings.Contains(decoded, pw) && !strings.Contains(file, pw) || !strings.Contains(file, `"secrets":"revealed"`) {
				t.Errorf("%s: --reveal-secrets lost the password, or the header does not say so", name)
			}
		}
	}
}

// TestReplayErrors: what cannot be replayed says why, with the exit
// status of a failure (1) or of a usage error (2).
func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newer := write("newer.jsonl", `{"mailwire_recording":3,"mailwire":"v9"}`+"\n")
	transcript := write("transcript.jsonl", `{"seq":1,"kind":"connect"}`+"\n")
	cut := write("cut.jsonl", `{"mailwire_recording":1,"secrets":"masked","proto":"smtp"}`+"\n"+`{"seq":1,"kind":"conn`)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"replay", newer}, exitFailed, "recording schema 3 is newer than this mailwire (1): upgrade mailwire to read it"},
		{[]string{"replay", transcript}, exitFailed, "a --format json transcript is not a recording"},
		{[]string{"replay", cut, "--format", "text"}, exitFailed, "recording line 2: unexpected end of JSON input"},
		{[]string{"replay", filepath.Join(dir, "missing.jsonl")}, exitFailed, "no such file"},
		{[]string{"replay", "port-588"}, exitFailed, "no recording is bundled under that name (there are: port-110,"},
		{[]string{"replay", newer, "--format", "xml"}, exitUsage, `--format "xml"`},
		{[]string{"replay"}, exitUsage, "accepts 1 arg"},
		{[]string{"session", "--reveal-secrets"}, exitUsage, "--reveal-secrets: only with --record"},
	} {
		code, _, errOut := runMailwire(t, c.args...)
		errOut = strings.Join(strings.Fields(errOut), " ") // fang wraps the message
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, errOut)
		}
	}
}

// TestReplayBundled: `mailwire replay NAME` replays the recording bundled
// under that name from any directory, exactly as the file in the source
// checkout replays; a file of that name in the working directory comes
// first, since it is what the user pointed at.
func TestReplayBundled(t *testing.T) {
	src := filepath.Join("..", "..", filepath.FromSlash(content.RecordingFixtureDir))
	names := content.RecordingNames()
	if len(names) != len(recordingFixtures()) {
		t.Fatalf("bundled %v, want one per fixture (%d)", names, len(recordingFixtures()))
	}
	want := map[string]string{}
	for _, name := range []string{"port-587", "scenario-too-early"} {
		code, out, errOut := runMailwire(t, "replay", filepath.Join(src, name+".jsonl"), "--format", "json")
		if code != exitOK && code != exitUnsafe || out == "" {
			t.Fatalf("%s from the checkout: exit %d\n%s", name, code, errOut)
		}
		want[name] = out
	}
	t.Chdir(t.TempDir())
	for name, out := range want {
		for _, arg := range []string{name, name + ".jsonl"} {
			code, got, errOut := runMailwire(t, "replay", arg, "--format", "json")
			if code != exitOK && code != exitUnsafe || got != out {
				t.Errorf("replay %s outside a checkout: exit %d, same output %v\n%s", arg, code, got == out, errOut)
			}
		}
	}
	if err := os.WriteFile("port-587", []byte("not a recording\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runMailwire(t, "replay", "port-587", "--format", "json"); code != exitFailed || !strings.Contains(strings.Join(strings.Fields(errOut), " "), "replay port-587: recording line 1 (header): not a recording header") {
		t.Errorf("a file named port-587 was not the one replayed: exit %d\n%s", code, errOut)
	}
}

// TestReplayStream: the screen's stream of a recording is its events, and
// a line that cannot be read ends it with an error event that names it.
func TestReplayStream(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.jsonl")
	body := `{"mailwire_recording":1,"secrets":"masked","proto":"smtp","port":587}` + "\n" +
		`{"seq":1,"at_ns":5,"kind":"connect","text":"connected"}` + "\n" + `{"seq":2,"kind":`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	want := tui.ReplayRequest(render.RecordingHeader{Port: 587}, p)
	open := tui.ReplayOpener(p, render.RecordingLimits{}, want)
	ch, err := open(context.Background(), want)
	if err != nil {
		t.Fatal(err)
	}
	var kinds, texts []string
	for ev := range ch {
		kinds = append(kinds, string(ev.Kind))
		texts = append(texts, ev.Text)
	}
	if strings.Join(kinds, ",") != "connect,error" || !strings.Contains(texts[1], "recording line 3: unexpected end of JSON input") {
		t.Errorf("stream: %v %q", kinds, texts)
	}
	if _, err := open(context.Background(), tui.ReplayRequest(render.RecordingHeader{Port: 25}, p)); err == nil {
		t.Error("the replay opened a session on another port")
	}
}

var (
	makeRecordings = flag.Bool("make-recordings", false,
		"write the bundled recordings (content/recordings) that are missing, from sessions against the in-process lab")
	rewriteRecordings = flag.Bool("rewrite-recordings", false,
		"with -make-recordings: write every bundled recording again, the existing ones too")
)

// TestMakeRecordingFixtures writes the recordings that
// content/recordings keeps (bundled in the binary: lessons' replay links,
// `mailwire replay NAME`) so that a recording made by
// today's mailwire stays loadable: one per port (all eight) and one per
// scenario with its defaults, each `mailwire session … --record` against
// the in-process lab (never a real server), its demo password masked.
// Only with -make-recordings:
//
//	go test ./cmd/mailwire -run TestMakeRecordingFixtures -make-recordings
//
// writes only the fixtures that have no file yet: a recording made again
// has new timestamps, keys and random bytes, so rewriting all of them
// would change every golden for nothing. -rewrite-recordings writes every
// one again (after a change of the schema, say). Then update the goldens
// that render them (render: -update-recordings; tui: -update), check with
// git status that only the goldens you meant changed, and look at the
// difference.
func TestMakeRecordingFixtures(t *testing.T) {
	if !*makeRecordings {
		t.Skip("-make-recordings not given")
	}
	dir := filepath.Join("..", "..", filepath.FromSlash(content.RecordingFixtureDir))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	for name, args := range recordingFixtures() {
		file := filepath.Join(dir, name+".jsonl")
		if _, err := os.Stat(file); err == nil && !*rewriteRecordings {
			t.Logf("%s: kept (exists; -rewrite-recordings writes it again)", name)
			continue
		}
		code, _, errOut := runMailwire(t, append([]string{"session", "--format", "json", "--record", file, "--lab-state-dir", state}, args...)...)
		if code != exitOK && code != exitUnsafe {
			t.Fatalf("%s: exit %d\n%s", name, code, errOut)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(lab.DemoPassword)) || strings.Contains(decodeBase64Runs(string(b)), lab.DemoPassword) {
			t.Fatalf("%s: the recording holds the lab's password", name)
		}
		// Committed files are read by everyone: 0644, not --record's 0600.
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s", name, strings.TrimSpace(errOut))
	}
}

// TestConnectRecord: mailwire connect in line mode records the typed
// session (typed: true in the header), the password of a typed IMAP
// LOGIN masked in the file, and it replays into the output it printed.
func TestConnectRecord(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ep, _ := l.Endpoint(143)
	file := filepath.Join(t.TempDir(), "typed.jsonl")
	script := "a1 STARTTLS\r\na2 LOGIN " + lab.DemoUser + " " + protocol.IMAPQuote(lab.DemoPassword) + "\r\na3 LOGOUT\r\n"
	code, out, errOut := runMailwireIn(t, script, "connect", ep.Addr, "--proto", "imap", "--sni", lab.Hostname,
		"--ca-file", l.CAPath(), "--format", "json", "--record", file)
	if code != exitOK || !strings.Contains(errOut, "mailwire connect: recorded ") {
		t.Fatalf("exit status %d\n%s", code, errOut)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), lab.DemoPassword) || strings.Contains(decodeBase64Runs(string(b)), lab.DemoPassword) {
		t.Error("the recording holds the typed password")
	}
	rec, err := render.ReadRecording(bytes.NewReader(b), render.RecordingLimits{})
	if err != nil {
		t.Fatal(err)
	}
	if h := rec.Header; !h.Typed || h.Port != 143 || h.Proto != "imap" || h.Target != ep.Addr || h.Options.CAFile != l.CAPath() {
		t.Errorf("header %+v", h)
	}
	code, replayed, errOut := runMailwire(t, "replay", file, "--format", "json")
	if code != exitOK || replayed != out {
		t.Errorf("replay: exit %d, same output %v\n%s", code, replayed == out, errOut)
	}
}

// TestRunRecorder: on the screen of mailwire connect every run is
// recorded as it streams, and the file holds the last run when the
// program ends.
func TestRunRecorder(t *testing.T) {
	file := filepath.Join(t.TempDir(), "screen.jsonl")
	rr := &runRecorder{flags: recordFlags{path: file}}
	run := func(text string) func(context.Context, tui.SessionRequest) (<-chan wire.Event, error) {
		return func(context.Context, tui.SessionRequest) (<-chan wire.Event, error) {
			ch := make(chan wire.Event, 2)
			ch <- wire.Event{Seq: 1, Kind: wire.KindConnect, Text: text}
			ch <- wire.Event{Seq: 2, Kind: wire.KindClose, Text: "closed"}
			close(ch)
			return ch, nil
		}
	}
	for _, text := range []string{"first run", "second run"} {
		ch, err := rr.session(run(text))(context.Background(), tui.SessionRequest{Port: 587, Target: "127.0.0.1:1", Proto: "smtp", TLSMode: "starttls"})
		if err != nil {
			t.Fatal(err)
		}
		for range ch {
		}
	}
	var errOut bytes.Buffer
	if err := rr.finish(&errOut); err != nil || !strings.Contains(errOut.String(), "recorded 2 events") {
		t.Fatalf("finish: %v %q", err, errOut.String())
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "second run") || strings.Contains(string(b), "first run") || !strings.Contains(string(b), `"port":587`) {
		t.Errorf("the file does not hold the last run:\n%s", b)
	}
}
