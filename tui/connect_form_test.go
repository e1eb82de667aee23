package tui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/scenario"
)

// The connect form from the port table (c): fields, a canonical port that
// names its protocol, and a typed session on enter.
func TestConnectFormFromPortTable(t *testing.T) {
	f := &fakePrompts{}
	info := fakeLabInfo()
	m := newModel(Options{StartLab: func(context.Context) (LabInfo, error) { return info, nil },
		OpenSession: (&fakeSessions{}).open, OpenPrompt: f.open, RecentFile: filepath.Join(t.TempDir(), "state", "recent.json")})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	mustUpdate(t, m, labResultMsg{info: info})
	if !strings.Contains(plain(m), "c connect") {
		t.Errorf("the port table does not offer c:\n%s", plain(m))
	}
	pump(t, m, mustUpdate(t, m, keyText('c')))
	if m.active != screenForm || !m.typing() {
		t.Fatalf("c: screen %v", m.active)
	}
	typeText(t, m, "imap.example.test")
	mustUpdate(t, m, keyCode(tea.KeyTab))
	typeText(t, m, "993")
	mustUpdate(t, m, keyCode(tea.KeyTab)) // leaving the port: 993 is IMAP over implicit TLS
	form := m.screens[screenForm].(*formScreen)
	if formProtos[form.proto] != protocol.IMAP || formTLSModes[form.mode] != "implicit" || m.typing() {
		t.Fatalf("993 gave %s %s (typing %v)", formProtos[form.proto], formTLSModes[form.mode], m.typing())
	}
	// On a choice field the arrows choose; letters are not text there.
	mustUpdate(t, m, keyCode(tea.KeyRight))
	if formProtos[form.proto] != protocol.SMTP {
		t.Errorf("→ on the protocol: %s", formProtos[form.proto])
	}
	mustUpdate(t, m, keyCode(tea.KeyLeft))
	for range 3 {
		mustUpdate(t, m, keyCode(tea.KeyTab)) // TLS, SNI, CA file
	}
	typeText(t, m, "/tmp/ca.pem")
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if m.active != screenSession || len(f.reqs) != 1 {
		t.Fatalf("enter: screen %v, requests %+v", m.active, f.reqs)
	}
	want := SessionRequest{Port: 993, Target: "imap.example.test:993", Proto: "imap", TLSMode: "implicit",
		Label: "SNI imap.example.test, certificate: CA file", Prompt: true, CAFile: "/tmp/ca.pem"}
	if f.reqs[0] != want {
		t.Errorf("request %+v, want %+v", f.reqs[0], want)
	}
	// The lab's port table is still the lab's.
	if _, ok := ports(m).sessionRequest(); !ok {
		t.Error("the lab's port table lost its sessions")
	}
	dir, _ := os.Stat(filepath.Dir(m.common.recentFile))
	if dir == nil || dir.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v", dir)
	}
}

// The form says what is wrong instead of connecting.
func TestConnectFormErrors(t *testing.T) {
	f := &fakePrompts{}
	m := newModel(Options{OpenPrompt: f.open})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	pump(t, m, mustUpdate(t, m, openFormMsg{}))
	for _, tc := range []struct{ host, port, want string }{
		{"", "", "host"},
		{"a host", "", "host"},
		{"mx.example.test", "99999", "port"},
		{"mx.example.test", "x", "port"},
	} {
		form := m.screens[screenForm].(*formScreen)
		form.inputs[fieldHost].SetValue(tc.host)
		form.inputs[fieldPort].SetValue(tc.port)
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
		if m.active != screenForm || len(f.reqs) != 0 || !strings.Contains(plain(m), tc.want) {
			t.Errorf("%q %q: screen %v, requests %d\n%s", tc.host, tc.port, m.active, len(f.reqs), plain(m))
		}
	}
}

// Recent targets: bounded, most recent first, tolerant of a bad file.
func TestRecentTargets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mailwire", "recent.json")
	if list, err := loadRecent(path); list != nil || err != nil {
		t.Fatalf("missing file: %v %v", list, err)
	}
	var list []recentTarget
	for i := range 15 {
		list = addRecent(list, recentTarget{Host: "h" + string(rune('a'+i)) + ".test", Port: 25, Proto: "smtp", TLS: "starttls"})
	}
	list = addRecent(list, list[3]) // again: moves to the front, once
	if len(list) != maxRecent || list[0].Host != "hl.test" || list[1].Host != "ho.test" {
		t.Fatalf("list %+v", list)
	}
	if err := saveRecent(path, list); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}
	got, err := loadRecent(path)
	if err != nil || len(got) != maxRecent || got[0] != list[0] {
		t.Fatalf("read back %+v, %v", got, err)
	}
	for name, content := range map[string]string{
		"corrupt":     "{not json",
		"version":     `{"version": 99, "targets": []}`,
		"too large":   `{"version":1,"targets":[` + strings.Repeat(" ", maxRecentSize) + `]}`,
		"wrong types": `{"version": 1, "targets": "no"}`,
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := loadRecent(path); got != nil || err == nil {
			t.Errorf("%s: %+v, %v", name, got, err)
		}
	}
	// Entries the form could not have written are dropped, the rest kept.
	mixed := `{"version":1,"targets":[{"host":"ok.test","port":143,"proto":"imap","tls":"starttls"},` +
		`{"host":"evil\u001b[2J","port":25,"proto":"smtp","tls":"starttls"},{"host":"x.test","port":0,"proto":"smtp","tls":"none"},` +
		`{"host":"y.test","port":25,"proto":"gopher","tls":"none"}]}`
	if err := os.WriteFile(path, []byte(mixed), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := loadRecent(path); err != nil || len(got) != 1 || got[0].Host != "ok.test" {
		t.Errorf("mixed: %+v, %v", got, err)
	}
	// A bad file does not stop the form: it opens, says so, and connecting
	// replaces the file.
	f := &fakePrompts{}
	m := newModel(Options{OpenPrompt: f.open, RecentFile: path})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	pump(t, m, mustUpdate(t, m, openFormMsg{}))
	if !strings.Contains(flatten(plain(m)), "not readable") {
		t.Errorf("the form does not say the file was unreadable:\n%s", plain(m))
	}
	typeText(t, m, "mx.example.test")
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	if got, err := loadRecent(path); err != nil || len(got) != 1 || got[0].Host != "mx.example.test" {
		t.Errorf("after connecting: %+v, %v", got, err)
	}
	t.Setenv("XDG_STATE_HOME", "/x/state")
	if p := DefaultRecentFile(); p != "/x/state/mailwire/recent.json" {
		t.Errorf("DefaultRecentFile = %q", p)
	}
	t.Setenv("XDG_STATE_HOME", "relative/state") // ignored, as the spec says
	if p := DefaultRecentFile(); !strings.HasSuffix(p, filepath.Join(".local", "state", "mailwire", "recent.json")) {
		t.Errorf("relative XDG_STATE_HOME: %q", p)
	}
}

// Target mode (mailwire connect): the port table runs its sessions
// against the target, the picker offers the scenarios that run there, and
// esc from the form leads to that table, not to a lab that is not there.
func TestTargetModePortTable(t *testing.T) {
	fp := &fakePrompts{}
	fs := &fakeSessions{evs: fixture587()}
	req := SessionRequest{Port: 587, Target: "mx.example.test:587", Proto: "smtp", TLSMode: "starttls", Prompt: true,
		ServerName: "mail.example.test", CAFile: "/tmp/ca.pem", User: "me"}
	m := newModel(Options{OpenPrompt: fp.open, OpenSession: fs.open, Connect: &req, RecentFile: filepath.Join(t.TempDir(), "r.json")})
	mustUpdate(t, m, tea.WindowSizeMsg{Width: 120, Height: 40})
	pump(t, m, m.Init())
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape))) // the form
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape))) // the port table
	if m.active != screenPorts || !strings.Contains(plain(m), "target mx.example.test") {
		t.Fatalf("esc esc: screen %v\n%s", m.active, plain(m))
	}
	// No lab: neither the help bar nor the footer offers its endpoint,
	// and e does not open a view that says there is none.
	if v := plain(m); strings.Contains(v, "lab endpoint") {
		t.Errorf("target mode offers the lab endpoint:\n%s", v)
	}
	mustUpdate(t, m, keyText('e'))
	if v := plain(m); strings.Contains(v, "No lab in this mode") {
		t.Errorf("e in target mode:\n%s", v)
	}
	mustUpdate(t, m, keyCode(tea.KeyDown))  // 587
	mustUpdate(t, m, keyCode(tea.KeyRight)) // 465
	pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
	want := SessionRequest{Port: 465, Target: "mx.example.test:465", Proto: "smtp", TLSMode: "implicit", Label: "target",
		ServerName: "mail.example.test", CAFile: "/tmp/ca.pem", User: "me"}
	if m.active != screenSession || len(fs.reqs) != 1 || fs.reqs[0] != want {
		t.Fatalf("enter on 465: screen %v, requests %+v", m.active, fs.reqs)
	}
	mustUpdate(t, m, keyCode(tea.KeyEscape))
	pump(t, m, mustUpdate(t, m, keyText('S')))
	pk, ok := m.screens[screenPicker].(*pickerScreen)
	if !ok || m.active != screenPicker {
		t.Fatalf("S: screen %v", m.active)
	}
	for _, s := range pk.scenarios() {
		if s.NeedsLab || len(s.Ports) == 0 {
			t.Errorf("the picker offers %s against a target", s.Name)
		}
		if err := s.CheckEnv(scenario.Env{Endpoints: map[int]string{465: "mx.example.test:465"}}); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
	if len(pk.scenarios()) == 0 {
		t.Fatal("no scenario runs against a target?")
	}
	// The picker says where its scenarios run, and its prose is the
	// target's: no lab anywhere on the screen.
	if v := plain(m); !strings.Contains(v, "runs live against mx.example.test") {
		t.Errorf("the picker in target mode:\n%s", v)
	}
	mustUpdate(t, m, keyText('a')) // every scenario, not only 465's
	for range pk.scenarios() {
		mustUpdate(t, m, keyCode(tea.KeyUp))
	}
	for range pk.scenarios() {
		name := pk.highlighted().Name
		if v := plain(m); strings.Contains(v, "and the lab") || strings.Contains(v, "the lab CA") ||
			strings.Contains(v, "normal lab") || strings.Contains(v, "lab's normal port") {
			t.Errorf("the picker in target mode, %s:\n%s", name, v)
		}
		if c, ok := content.ScenarioByName(name); ok && c.TargetIntro != "" && m.common.scenarioProse(name).Intro != c.TargetIntro {
			t.Errorf("%s: the target mode's introduction is not the one for a real server", name)
		}
		mustUpdate(t, m, keyCode(tea.KeyDown))
	}
}
