package tui

import (
	"bytes"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestExportMenu: x opens the menu on the session screen; each entry,
// chosen by its number, writes its file in a tea.Cmd under the XDG data
// directory, and the status line names the file and its size. No file
// holds the password or its base64 forms, even with passwords shown on
// the screen; the recording reads back; the pcap comes with the key log.
func TestExportMenu(t *testing.T) {
	dataHome := t.TempDir()
	t.Setenv("XDG_DATA_HOME", dataHome)
	c := wire.NewCapture(0)
	cc := c.Open("", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 10587},
		time.Unix(1700000000, 0), time.Millisecond)
	cc.Add(wire.ServerToClient, 2*time.Millisecond, []byte("220 mail.lab.test ESMTP\r\n"))
	cc.Closed(3 * time.Millisecond)
	var keys wire.KeyLogBuffer
	keys.Write([]byte("CLIENT_RANDOM 00 11\n"))
	req := SessionRequest{Port: 587, Target: "127.0.0.1:10587", Proto: "smtp", TLSMode: "starttls", Label: "lab"}
	m := replayModel(req, append(fixtureCleartextAuth(), fixture587()...), ThemeDark, 100, 30)
	s := m.screens[screenSession].(*sessionScreen)
	s.capture, s.keys = c, &keys
	s.now = func() time.Time { return time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) }
	press(m, "p") // passwords shown on the screen: still masked in files

	wantExt := []string{".jsonl", ".md", ".html", ".pcap", ".cast"}
	for i, ext := range wantExt {
		press(m, "x")
		if !strings.Contains(plain(m), "Export this session") {
			t.Fatalf("x did not open the menu:\n%s", plain(m))
		}
		cmd := press(m, string(rune('1'+i)))
		if cmd == nil {
			t.Fatalf("entry %d: no command", i+1)
		}
		msg := cmd()
		done, ok := msg.(exportDoneMsg)
		if !ok || done.err != nil {
			t.Fatalf("entry %d: %#v", i+1, msg)
		}
		m.Update(msg)
		path := done.files[0].path
		if filepath.Ext(path) != ext || !strings.HasPrefix(path, filepath.Join(dataHome, "mailwire", "exports")) {
			t.Errorf("entry %d wrote %s", i+1, path)
		}
		header := strings.SplitN(plain(m), "\n", 3)[1]
		if !strings.Contains(header, "wrote") || !strings.Contains(header, filepath.Base(path)[:12]) {
			t.Errorf("entry %d: status line %q", i+1, header)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != done.files[0].size {
			t.Errorf("%s: %d bytes, status says %d", path, len(b), done.files[0].size)
		}
		for _, f := range done.files {
			b, _ := os.ReadFile(f.path)
			for _, secret := range []string{fixturePassword, base64.StdEncoding.EncodeToString([]byte(fixturePassword)),
				base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword))} {
				if bytes.Contains(b, []byte(secret)) {
					t.Errorf("%s holds %q", f.path, secret)
				}
			}
		}
		switch ext {
		case ".jsonl":
			rec, err := render.ReadRecording(bytes.NewReader(b), render.DefaultRecordingLimits())
			if err != nil || len(rec.Events) != len(s.evs) {
				t.Errorf("recording reads back: %v", err)
			}
		case ".pcap":
			if len(done.files) != 2 || filepath.Ext(done.files[1].path) != ".keys" {
				t.Errorf("pcap export wrote %v, want the pcap and its key log", done.files)
			}
		}
	}
}

// TestExportMenuEsc: esc closes the menu without writing anything.
func TestExportMenuEsc(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	m := replayModel(SessionRequest{Port: 587, Proto: "smtp"}, fixture587(), ThemeDark, 100, 30)
	press(m, "x")
	if cmd := pressKey(m, tea.KeyPressMsg{Code: tea.KeyEscape}); cmd != nil {
		t.Error("esc returned a command")
	}
	if strings.Contains(plain(m), "Export this session") {
		t.Error("esc left the menu open")
	}
}

// TestExportPcapWithoutCapture: a session without a connection captured
// (here a replay) says on the status line why there is no pcap.
func TestExportPcapWithoutCapture(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	m := replayModel(SessionRequest{Port: 587, Proto: "smtp"}, fixture587(), ThemeDark, 100, 30)
	press(m, "x")
	m.Update(press(m, "4")())
	if header := strings.SplitN(plain(m), "\n", 3)[1]; !strings.Contains(header, "no connection captured: no pcap written") {
		t.Errorf("status line %q", header)
	}
}

func press(m *Model, k string) tea.Cmd {
	return pressKey(m, tea.KeyPressMsg{Code: []rune(k)[0], Text: k})
}

func pressKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	_, cmd := m.Update(msg)
	return cmd
}
