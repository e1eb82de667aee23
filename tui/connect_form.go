package tui

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The connect form: a real server to type a session against (`c` on the
// port table, esc from a typed session). Host, port, protocol, TLS mode,
// SNI, CA file and user; enter connects, and the target joins the recent
// ones (recent.go), which are listed under the form.

// Choices of the form's protocol and TLS mode fields. HTTPS has no prompt
// (the scripted session runs from the port table); opportunistic is a
// scripted client's behaviour, not something typed.
var (
	formProtos   = []string{protocol.SMTP, protocol.POP3, protocol.IMAP}
	formTLSModes = []string{string(sessions.TLSStartTLS), string(sessions.TLSImplicit), string(sessions.TLSNone)}
)

// The form's fields, in order.
const (
	fieldHost = iota
	fieldPort
	fieldProto
	fieldTLS
	fieldSNI
	fieldCA
	fieldUser
	formFields
)

var fieldLabels = [formFields]string{"host", "port", "protocol", "TLS", "SNI", "CA file", "user"}

// formKeys are the form's keys: none is a letter, so every field takes
// text freely.
type formKeys struct {
	Next, Prev, Choice, Connect, Back key.Binding
}

func defaultFormKeys() formKeys {
	return formKeys{
		Next:    key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next")),
		Prev:    key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous")),
		Choice:  key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "choose")),
		Connect: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "connect")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "port table")),
	}
}

// recentLoadedMsg carries the recent targets read from the state file.
type recentLoadedMsg struct {
	list []recentTarget
	err  error
}

// recentSavedMsg carries the outcome of writing them.
type recentSavedMsg struct{ err error }

type formScreen struct {
	c    *Common
	keys formKeys

	inputs [formFields]textinput.Model // host, port, SNI, CA file, user (the choices have none)
	proto  int                         // index into formProtos
	mode   int                         // index into formTLSModes
	focus  int                         // a field, or formFields+i for recent target i

	recent []recentTarget
	msg    string // why enter did nothing, or news about the recent file
	warn   bool

	width, height int
}

func newFormScreen(c *Common, m openFormMsg) *formScreen {
	f := &formScreen{c: c, keys: defaultFormKeys(), width: defaultWidth, height: defaultHeight}
	km := textinput.DefaultKeyMap()
	km.AcceptSuggestion = key.NewBinding(key.WithDisabled())
	km.NextSuggestion = key.NewBinding(key.WithDisabled())
	km.PrevSuggestion = key.NewBinding(key.WithDisabled())
	for i := range f.inputs {
		in := textinput.New()
		in.Prompt = ""
		in.KeyMap = km
		in.CharLimit = maxRecentText
		f.inputs[i] = in
	}
	f.inputs[fieldHost].Placeholder = "mail.example.org"
	f.inputs[fieldPort].CharLimit = 5
	f.inputs[fieldSNI].Placeholder = "the host"
	f.inputs[fieldCA].Placeholder = "system roots"
	f.inputs[fieldUser].Placeholder = "for the AUTH helper"
	switch {
	case m.have:
		f.fill(m.req)
	case c.Target != nil:
		f.fill(*c.Target)
	}
	f.restyle()
	f.focusField(fieldHost)
	f.updatePortHint()
	return f
}

// fill sets the fields from a request.
func (f *formScreen) fill(r SessionRequest) {
	host, port, err := net.SplitHostPort(r.Target)
	if err != nil {
		host = r.Target
	}
	f.inputs[fieldHost].SetValue(host)
	f.inputs[fieldPort].SetValue(port)
	if i := slices.Index(formProtos, r.Proto); i >= 0 {
		f.proto = i
	}
	if i := slices.Index(formTLSModes, r.TLSMode); i >= 0 {
		f.mode = i
	}
	f.inputs[fieldSNI].SetValue(r.ServerName)
	f.inputs[fieldCA].SetValue(r.CAFile)
	f.inputs[fieldUser].SetValue(r.User)
}

// Init reads the recent targets.
func (f *formScreen) Init() tea.Cmd {
	path := f.c.recentFile
	return func() tea.Msg {
		list, err := loadRecent(path)
		return recentLoadedMsg{list: list, err: err}
	}
}

func (f *formScreen) restyle() {
	for i := range f.inputs {
		f.inputs[i].SetStyles(f.c.Styles.Input)
	}
}

// SetSize sets the area the form may draw in.
func (f *formScreen) SetSize(width, height int) {
	f.width, f.height = width, height
	for i := range f.inputs {
		f.inputs[i].SetWidth(max(10, min(48, width-formLabelW-32)))
	}
}

// typing says whether a text field has the focus: keys are text then, and
// the root keeps only ctrl+c and F1.
func (f *formScreen) typing() bool { return f.focus < formFields && f.isText(f.focus) }

func (f *formScreen) isText(field int) bool { return field != fieldProto && field != fieldTLS }

func (f *formScreen) focusField(i int) {
	if f.focus == fieldPort && i != fieldPort {
		f.portChosen()
	}
	for j := range f.inputs {
		f.inputs[j].Blur()
	}
	f.focus = i
	if i < formFields && f.isText(i) {
		f.inputs[i].Focus()
		f.inputs[i].CursorEnd()
	}
}

// portChosen: a canonical port typed into the port field names its
// protocol and TLS mode (RFC 8314 §7.3, RFC 6409), as HOST:PORT does on
// the command line.
func (f *formScreen) portChosen() {
	n, err := strconv.Atoi(f.inputs[fieldPort].Value())
	if err != nil {
		return
	}
	o, err := sessions.OptionsForPort("", n)
	if err != nil || !slices.Contains(formProtos, o.Proto) {
		return
	}
	f.proto = slices.Index(formProtos, o.Proto)
	f.mode = slices.Index(formTLSModes, string(o.TLSMode))
	f.updatePortHint()
}

// defaultPort is the port of the chosen protocol and TLS mode, as a mail
// client uses them (content.ClientPort: 587, not 25, for SMTP).
func (f *formScreen) defaultPort() int {
	return content.ClientPort(formProtos[f.proto], formTLSModes[f.mode] == string(sessions.TLSImplicit))
}

func (f *formScreen) updatePortHint() {
	f.inputs[fieldPort].Placeholder = strconv.Itoa(f.defaultPort())
}

func (f *formScreen) Update(msg tea.Msg) (screen, tea.Cmd) {
	switch msg := msg.(type) {
	case recentLoadedMsg:
		f.recent = msg.list
		if msg.err != nil {
			f.msg, f.warn = msg.err.Error(), true
		}
	case recentSavedMsg:
		if msg.err != nil {
			f.msg, f.warn = msg.err.Error(), true
		}
	case tea.BackgroundColorMsg:
		f.restyle()
	case tea.KeyPressMsg:
		return f, f.handleKey(msg)
	case tea.PasteMsg:
		if f.typing() {
			var cmd tea.Cmd
			f.inputs[f.focus], cmd = f.inputs[f.focus].Update(msg)
			return f, cmd
		}
	}
	return f, nil
}

func (f *formScreen) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	k := f.keys
	last := formFields + len(f.recent) - 1
	switch {
	case key.Matches(msg, k.Back):
		return func() tea.Msg { return switchScreenMsg{to: screenPorts} }
	case key.Matches(msg, k.Connect):
		if f.focus >= formFields {
			f.fill(f.recent[f.focus-formFields].request())
		}
		return f.connect()
	case key.Matches(msg, k.Next):
		f.focusField(min(last, f.focus+1))
		return nil
	case key.Matches(msg, k.Prev):
		f.focusField(max(0, f.focus-1))
		return nil
	case (f.focus == fieldProto || f.focus == fieldTLS) && key.Matches(msg, k.Choice):
		d := 1
		if msg.String() == "left" {
			d = -1
		}
		if f.focus == fieldProto {
			f.proto = (f.proto + d + len(formProtos)) % len(formProtos)
		} else {
			f.mode = (f.mode + d + len(formTLSModes)) % len(formTLSModes)
		}
		f.updatePortHint()
		return nil
	}
	if f.typing() {
		var cmd tea.Cmd
		f.inputs[f.focus], cmd = f.inputs[f.focus].Update(msg)
		if f.msg != "" && !f.warn {
			f.msg = ""
		}
		return cmd
	}
	return nil
}

// request builds the typed session's request from the fields, or says
// what is wrong with them.
func (f *formScreen) request() (SessionRequest, error) {
	host := strings.TrimSpace(f.inputs[fieldHost].Value())
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || strings.ContainsAny(host, " /") {
		return SessionRequest{}, fmt.Errorf("host: want a host name or an address, such as mail.example.org")
	}
	port := f.defaultPort()
	if p := strings.TrimSpace(f.inputs[fieldPort].Value()); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return SessionRequest{}, fmt.Errorf("port %q: want a number from 1 to 65535", p)
		}
		port = n
	}
	sni := strings.TrimSpace(f.inputs[fieldSNI].Value())
	if strings.ContainsAny(sni, " /") {
		return SessionRequest{}, fmt.Errorf("SNI %q: want a host name", sni)
	}
	user := f.inputs[fieldUser].Value()
	if strings.ContainsAny(user, "\r\n\x00") {
		return SessionRequest{}, fmt.Errorf("user: no line breaks")
	}
	proto, mode := formProtos[f.proto], formTLSModes[f.mode]
	canonical := f.defaultPort()
	if o, err := sessions.OptionsForPort("", port); err == nil && o.Proto == proto && string(o.TLSMode) == mode {
		canonical = port // 25 is not 587: the port says what it is for
	}
	name, verify := host, wire.VerifySystem
	if sni != "" {
		name = sni
	}
	if ca := strings.TrimSpace(f.inputs[fieldCA].Value()); ca != "" {
		verify = wire.VerifyCAFile
	}
	label := SessionLabel(mode, name, string(verify))
	return SessionRequest{
		Port: canonical, Target: net.JoinHostPort(host, strconv.Itoa(port)), Proto: proto, TLSMode: mode,
		Label: label, Prompt: true, ServerName: sni, CAFile: strings.TrimSpace(f.inputs[fieldCA].Value()), User: user,
	}, nil
}

// connect opens a typed session on the form's target and remembers it.
func (f *formScreen) connect() tea.Cmd {
	req, err := f.request()
	if err != nil {
		f.msg, f.warn = err.Error(), true
		return nil
	}
	if f.c.OpenPrompt == nil {
		f.msg, f.warn = "typed sessions cannot be run in this mode", true
		return nil
	}
	f.c.Target = &req
	t := recentOf(req)
	f.recent = addRecent(f.recent, t)
	list, path := slices.Clone(f.recent), f.c.recentFile
	return tea.Batch(
		func() tea.Msg { return recentSavedMsg{err: saveRecent(path, list)} },
		func() tea.Msg { return openSessionMsg{req: req} },
	)
}

// recentOf is what the recent list keeps of a request: no password (the
// form has none).
func recentOf(r SessionRequest) recentTarget {
	host, port, _ := net.SplitHostPort(r.Target)
	n, _ := strconv.Atoi(port)
	return recentTarget{Host: host, Port: n, Proto: r.Proto, TLS: r.TLSMode, SNI: r.ServerName, CAFile: r.CAFile, User: r.User}
}

// request is a remembered target as the form fills it in.
func (t recentTarget) request() SessionRequest {
	return SessionRequest{Target: net.JoinHostPort(t.Host, strconv.Itoa(t.Port)), Proto: t.Proto, TLSMode: t.TLS,
		ServerName: t.SNI, CAFile: t.CAFile, User: t.User}
}

func (t recentTarget) String() string {
	s := net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) + " · " + strings.ToUpper(t.Proto) + " " + tlsModeLabel(t.TLS)
	if t.SNI != "" {
		s += " · SNI " + t.SNI
	}
	if t.User != "" {
		s += " · " + t.User
	}
	return s
}

// formLabelW is the width of the labels column.
const formLabelW = 10

// View renders the form, the recent targets and a status line.
func (f *formScreen) View() string {
	st := f.c.Styles
	w, h := max(f.width, 1), max(f.height, 1)
	var lines []string
	add := func(s string) { lines = append(lines, ansi.Truncate(s, w, "…")) }
	add(st.Title.Render("mailwire") + st.Muted.Render(" · connect to a server and type the protocol yourself"))
	add(st.Muted.Render("Lines go as typed, CRLF added, and nothing else is sent; STARTTLS upgrades."))
	add("")
	for i := range formFields {
		label := fmt.Sprintf("  %-*s", formLabelW, fieldLabels[i])
		if f.focus == i {
			label = st.Selected.Render(fmt.Sprintf("› %-*s", formLabelW, fieldLabels[i]))
		} else {
			label = st.Text.Render(label)
		}
		var value string
		switch i {
		case fieldProto:
			value = f.choices(formProtos, f.proto, strings.ToUpper)
		case fieldTLS:
			value = f.choices(formTLSModes, f.mode, tlsModeLabel)
		default:
			value = f.inputs[i].View()
		}
		add(label + " " + value + st.Muted.Render(fieldHint(i)))
	}
	add("")
	if len(f.recent) > 0 {
		add(st.Heading.Render("Recent"))
		for i, t := range f.recent {
			line := fmt.Sprintf("  %d %s", i+1, wire.SafeString(t.String()))
			if f.focus == formFields+i {
				add(st.Selected.Render(line))
			} else {
				add(st.Text.Render(line))
			}
		}
		add("")
	}
	status := "enter connects · the session opens with a prompt; no password is stored"
	style := st.Muted
	if f.msg != "" {
		status = f.msg
		if f.warn {
			style = st.Warning
		}
	}
	statusLines := strings.Split(lipgloss.Wrap(wire.SafeString(status), w, " /"), "\n")
	for _, l := range statusLines {
		add(style.Render(l))
	}
	if len(lines) > h {
		// Short: the recent list gives way first, the status stays.
		n := len(statusLines)
		lines = append(lines[:max(0, h-n)], lines[len(lines)-n:]...)
		lines = lines[max(0, len(lines)-h):]
	}
	return strings.Join(lines, "\n")
}

// choices renders a choice field: the chosen one marked.
func (f *formScreen) choices(list []string, chosen int, name func(string) string) string {
	st := f.c.Styles
	var parts []string
	for i, c := range list {
		if i == chosen {
			parts = append(parts, st.Selected.Render("‹"+name(c)+"›"))
		} else {
			parts = append(parts, st.Muted.Render(" "+name(c)+" "))
		}
	}
	return strings.Join(parts, " ")
}

func fieldHint(i int) string {
	switch i {
	case fieldPort:
		return "  empty: the protocol's"
	case fieldProto, fieldTLS:
		return "  ←/→"
	case fieldCA:
		return "  PEM file"
	}
	return ""
}

// ShortHelp lists the form's keys.
func (f *formScreen) ShortHelp() []key.Binding {
	k := f.keys
	return []key.Binding{k.Connect, k.Next, k.Choice, k.Back}
}

// FullHelp lists every key of the form.
func (f *formScreen) FullHelp() [][]key.Binding {
	k := f.keys
	return [][]key.Binding{{k.Connect, k.Back}, {k.Next, k.Prev, k.Choice}}
}
