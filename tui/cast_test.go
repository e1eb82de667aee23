package tui

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/vt"
)

// TestCastFormat writes a cast of a STARTTLS session and reads it back
// line by line as an asciicast v2 player would: a header object (version
// 2, the width and height asked for), then [time, "o", data] events in
// order of time, one frame per step, a pause apart. Replayed through a
// terminal emulator (the Charm stack's vt), the last frame is the screen's
// own last frame, and the golden file pins it.
func TestCastFormat(t *testing.T) {
	evs := fixture587()
	req := SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls", Label: "lab"}
	var buf bytes.Buffer
	st, err := WriteCast(&buf, req, evs, CastOptions{Width: 100, Height: 30, Pause: 1500 * time.Millisecond, Title: "587"})
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	if !sc.Scan() {
		t.Fatal("empty cast")
	}
	var h map[string]any
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil {
		t.Fatalf("header %q: %v", sc.Text(), err)
	}
	if h["version"] != float64(2) || h["width"] != float64(100) || h["height"] != float64(30) || h["title"] != "587" {
		t.Errorf("header %v", h)
	}
	term := vt.NewEmulator(100, 30)
	var times []float64
	line := 1
	for sc.Scan() {
		line++
		var ev []any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d %q: %v", line, sc.Text(), err)
		}
		if len(ev) != 3 {
			t.Fatalf("line %d: %d elements, want [time, code, data]", line, len(ev))
		}
		at, ok1 := ev[0].(float64)
		code, ok2 := ev[1].(string)
		data, ok3 := ev[2].(string)
		if !ok1 || !ok2 || !ok3 || code != "o" {
			t.Fatalf("line %d: %v is not [number, \"o\", string]", line, ev)
		}
		if n := len(times); n > 0 && at < times[n-1] {
			t.Errorf("line %d: time %v goes back from %v", line, at, times[n-1])
		}
		times = append(times, at)
		if _, err := term.WriteString(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	// One event per frame and the closing pause.
	if len(times) != st.Frames+1 || st.Frames < 10 {
		t.Fatalf("%d events for %d frames", len(times), st.Frames)
	}
	for i := 1; i < len(times); i++ {
		if d := times[i] - times[i-1]; d < 1.499 || d > 1.501 {
			t.Errorf("event %d comes %.3f s after the one before, want the 1.5 s pause", i, d)
			break
		}
	}
	screen := term.String()
	if want := trimLines(ansi.Strip(st.Final)); trimLines(screen) != want {
		t.Errorf("the emulator's last screen differs from the last frame:\n%s\n--- want ---\n%s", screen, want)
	}
	golden.RequireEqual(t, []byte(trimLines(screen)))
}

// TestCastMasksPassword: a cast of a session that logged in, in the
// clear and inside TLS, holds neither the password nor its base64 forms,
// in any frame; with RevealSecrets it does.
func TestCastMasksPassword(t *testing.T) {
	for name, evs := range map[string]int{"587": 0, "cleartext": 1} {
		t.Run(name, func(t *testing.T) {
			events := fixture587()
			if evs == 1 {
				events = fixtureCleartextAuth()
			}
			var buf bytes.Buffer
			if _, err := WriteCast(&buf, SessionRequest{Port: 587, Proto: "smtp"}, events, CastOptions{}); err != nil {
				t.Fatal(err)
			}
			cast := ansi.Strip(buf.String())
			for _, s := range []string{fixturePassword, base64.StdEncoding.EncodeToString([]byte(fixturePassword)),
				base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))} {
				if strings.Contains(cast, s) {
					t.Errorf("cast holds %q", s)
				}
			}
		})
	}
}

// TestCastRefusesSmallSize: the screens are laid out for 80×24 or more.
func TestCastRefusesSmallSize(t *testing.T) {
	if _, err := WriteCast(&bytes.Buffer{}, SessionRequest{}, fixture587(), CastOptions{Width: 60, Height: 20}); err == nil {
		t.Error("a 60x20 cast was written")
	}
}

// trimLines drops trailing spaces of each line and trailing empty lines.
func trimLines(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
