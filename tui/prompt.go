package tui

import (
	"errors"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The prompt: the line a protocol is typed into, at the bottom of a typed
// session (prompt_screen.go). It is a part of the session screen like the
// timeline or the detail pane: its own state, size and keys.
//
// No keyboard traps: whatever can be protocol text goes into the line, q,
// r and ? included (openssl s_client quits or renegotiates on a line
// starting with Q or R, openssl issue 27443). mailwire's own actions live
// on keys no protocol line is made of: enter, tab, the arrows, ctrl+
// combinations, esc and F1 (help, in the root). The textinput's own
// ctrl+a (line start) and ctrl+d (delete) are taken off it for that; home
// and delete still do both.

// promptKeys are the prompt's keys.
type promptKeys struct {
	Send, Complete       key.Binding
	HistoryUp, HistoryDn key.Binding
	History              key.Binding // help only: both arrows
	Auth, End            key.Binding
	Focus                key.Binding // to the timeline and back
	Back                 key.Binding // to the connect form
	Confirm, Cancel      key.Binding // a held line; the AUTH helper
	NextField, Mechanism key.Binding // the AUTH helper's fields
}

func defaultPromptKeys() promptKeys {
	return promptKeys{
		Send:      key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		Complete:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "complete")),
		HistoryUp: key.NewBinding(key.WithKeys("up")),
		HistoryDn: key.NewBinding(key.WithKeys("down")),
		History:   key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "history")),
		Auth:      key.NewBinding(key.WithKeys("ctrl+a"), key.WithHelp("ctrl+a", "AUTH helper")),
		End:       key.NewBinding(key.WithKeys("ctrl+d"), key.WithHelp("ctrl+d", "end session")),
		Focus:     key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "timeline")),
		Back:      key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "connect form")),
		Confirm:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send anyway")),
		Cancel:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		NextField: key.NewBinding(key.WithKeys("tab", "down", "up"), key.WithHelp("tab", "next field")),
		Mechanism: key.NewBinding(key.WithKeys("left", "right"), key.WithHelp("←/→", "mechanism")),
	}
}

// promptMode is what the prompt is doing.
type promptMode int

const (
	promptTyping  promptMode = iota
	promptConfirm            // a line carrying a password before TLS waits for enter again
	promptAuth               // the AUTH helper's fields
)

// maxHistory bounds the lines remembered for up/down.
const maxHistory = 200

// promptModel is the prompt's model.
type promptModel struct {
	c     *Common
	keys  promptKeys
	proto string
	// handle takes what is typed; nil until the session is open.
	handle PromptHandle
	input  textinput.Model
	mode   promptMode
	held   string // the line promptConfirm asks about

	history []string
	histPos int    // len(history): the line being typed
	draft   string // the line being typed, while history is shown

	// Completion: the candidates of the last tab and which one is shown;
	// compBase is the line the tabs started from.
	comp     []string
	compIdx  int
	compBase string

	tagN int // IMAP: the number of the next tag offered ("a1", "a2", …)

	auth authForm

	// What the session is known to be, from its events.
	tls, ended bool
	note       string // the hint line's news: a refusal, an error
	noteWarn   bool

	width int
}

// authForm is the AUTH helper's fields: a mechanism, a user name and a
// password in a masked field (textinput.EchoPassword).
type authForm struct {
	mechs      []string
	mech       int
	user, pass textinput.Model
	field      int // 0 mechanism, 1 user, 2 password
}

func newPromptModel(c *Common, proto, user string) *promptModel {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = placeholderFor(proto)
	km := textinput.DefaultKeyMap()
	// The prompt's own keys win over the textinput's: ctrl+a and ctrl+d
	// are mailwire's, up/down are history, tab is completion.
	km.LineStart = key.NewBinding(key.WithKeys("home"))
	km.DeleteCharacterForward = key.NewBinding(key.WithKeys("delete"))
	km.AcceptSuggestion = key.NewBinding(key.WithDisabled())
	km.NextSuggestion = key.NewBinding(key.WithDisabled())
	km.PrevSuggestion = key.NewBinding(key.WithDisabled())
	in.KeyMap = km
	in.CharLimit = protocol.DefaultMaxLineLength - 2 // the driver adds CRLF
	in.Focus()
	p := &promptModel{c: c, keys: defaultPromptKeys(), proto: proto, input: in, tagN: 1}
	p.auth = newAuthForm(proto, user, km)
	p.restyle()
	return p
}

func newAuthForm(proto, user string, km textinput.KeyMap) authForm {
	u := textinput.New()
	u.Prompt = ""
	u.Placeholder = "user"
	u.KeyMap = km
	u.CharLimit = 256
	u.SetValue(user)
	pw := textinput.New()
	pw.Prompt = ""
	pw.Placeholder = "password"
	pw.KeyMap = km
	pw.CharLimit = 256
	pw.EchoMode = textinput.EchoPassword
	pw.EchoCharacter = '•'
	return authForm{mechs: sessions.AuthMechanisms(proto), user: u, pass: pw}
}

// placeholderFor shows the first thing to type.
func placeholderFor(proto string) string {
	switch proto {
	case protocol.POP3:
		return "type a POP3 command, e.g. CAPA (tab completes)"
	case protocol.IMAP:
		return "type a tagged IMAP command, e.g. a1 CAPABILITY (tab completes)"
	}
	return "type an SMTP command, e.g. EHLO me.example (tab completes)"
}

// restyle follows the theme.
func (p *promptModel) restyle() {
	for _, in := range []*textinput.Model{&p.input, &p.auth.user, &p.auth.pass} {
		in.SetStyles(p.c.Styles.Input)
	}
}

// SetSize sets the prompt's width; it is always promptHeight lines high.
func (p *promptModel) SetSize(width, _ int) {
	p.width = width
	// Room for the longer label (TLS comes during the session) and the
	// cursor after the last character.
	p.input.SetWidth(max(1, width-ansi.StringWidth(strings.ToUpper(p.proto)+" TLS ›")-2))
	p.auth.user.SetWidth(16)
	p.auth.pass.SetWidth(16)
}

// promptHeight is the prompt's height: the line and the hint under it.
const promptHeight = 2

// attach gives the prompt the session's handle once it is open.
func (p *promptModel) attach(h PromptHandle) {
	p.handle = h
	p.tls, p.ended = false, false
	p.setNote("", false)
}

// observe follows the session from its events: TLS up, the end.
func (p *promptModel) observe(evs []wire.Event) {
	for i := range evs {
		switch evs[i].Kind {
		case wire.KindTLSState:
			p.tls = true
		case wire.KindClose:
			p.ended = true
			if p.mode != promptTyping {
				p.setMode(promptTyping)
			}
		}
	}
}

func (p *promptModel) setNote(s string, warn bool) { p.note, p.noteWarn = s, warn }

func (p *promptModel) setMode(m promptMode) {
	p.mode = m
	p.input.Blur()
	p.auth.user.Blur()
	p.auth.pass.Blur()
	switch m {
	case promptAuth:
		p.authFocus()
	default:
		p.input.Focus()
	}
	if m != promptAuth {
		p.auth.pass.SetValue("") // the password lives no longer than the form
	}
}

// Update takes a key (or a paste) while the prompt has the focus. ok says
// it was the prompt's: every key is, but the ones the screen keeps
// (shift+tab, and esc while typing, which leave the prompt).
func (p *promptModel) Update(msg tea.Msg) (tea.Cmd, bool) {
	switch p.mode {
	case promptAuth:
		return p.updateAuth(msg)
	case promptConfirm:
		if k, ok := msg.(tea.KeyPressMsg); ok {
			switch {
			case key.Matches(k, p.keys.Confirm):
				line := p.held
				p.setMode(promptTyping)
				p.submit(sessions.Input{Line: line, ConfirmCleartext: true}, line)
				return nil, true
			case key.Matches(k, p.keys.Cancel):
				p.setMode(promptTyping)
				p.setNote("not sent; edit the line, or type STARTTLS first", false)
				return nil, true
			}
		}
		p.setMode(promptTyping) // any other key edits the line again
	}
	k, isKey := msg.(tea.KeyPressMsg)
	if !isKey {
		cmd := p.edit(msg)
		return cmd, true
	}
	switch {
	case key.Matches(k, p.keys.Focus), key.Matches(k, p.keys.Back):
		return nil, false
	case key.Matches(k, p.keys.Send):
		p.enter()
	case key.Matches(k, p.keys.HistoryUp):
		p.historyMove(-1)
	case key.Matches(k, p.keys.HistoryDn):
		p.historyMove(1)
	case key.Matches(k, p.keys.Complete):
		p.complete()
	case key.Matches(k, p.keys.Auth):
		p.openAuth()
	case key.Matches(k, p.keys.End):
		p.end()
	default:
		return p.edit(msg), true
	}
	return nil, true
}

// edit gives a key or a paste to the line itself.
func (p *promptModel) edit(msg tea.Msg) tea.Cmd {
	before := p.input.Value()
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	if p.input.Value() != before {
		p.comp = nil // the next tab completes what is there now
		if p.note != "" && !p.noteWarn {
			p.setNote("", false)
		}
	}
	return cmd
}

// enter sends the line, unless it would put a password on the wire before
// TLS: that waits for a second enter (once sent it cannot be unsent).
func (p *promptModel) enter() {
	line := p.input.Value()
	switch {
	case p.handle == nil:
		p.setNote("not connected yet: the line stays here", true)
		return
	case p.ended:
		p.setNote("the session has ended: esc for the connect form, shift+tab for the timeline (r reconnects)", true)
		return
	}
	if cr := p.handle.Exposes(line); cr != nil {
		p.held = line
		p.setMode(promptConfirm)
		p.setNote("⚠ this line carries a password ("+cr.Mechanism+") and the connection is not TLS: anyone on the path reads it. enter sends it anyway · esc edits", true)
		return
	}
	p.submit(sessions.Input{Line: line}, line)
}

// submit queues an input and remembers the line.
func (p *promptModel) submit(in sessions.Input, line string) {
	if err := p.handle.Send(in); err != nil {
		p.setNote(sendError(err), true)
		return
	}
	p.remember(line)
	if p.proto == protocol.IMAP {
		if f := strings.Fields(line); len(f) > 0 && f[0] == p.nextTag() {
			p.tagN++
		}
	}
	p.input.SetValue("")
	p.comp = nil
	p.setNote("", false)
}

func sendError(err error) string {
	switch {
	case errors.Is(err, sessions.ErrSessionEnded):
		return "the session has ended; the line was not sent"
	case errors.Is(err, sessions.ErrPromptClosed):
		return "the input is closed (ctrl+d); the line was not sent"
	case errors.Is(err, sessions.ErrPromptBusy):
		return "too many lines wait for the server: this one was not sent"
	}
	return "not sent: " + err.Error()
}

// remember adds a line to the history; a line that carries a password is
// not kept (up would show it again).
func (p *promptModel) remember(line string) {
	if line == "" || p.carriesSecret(line) {
		p.histPos = len(p.history)
		p.draft = ""
		return
	}
	if n := len(p.history); n == 0 || p.history[n-1] != line {
		p.history = append(p.history, line)
		if len(p.history) > maxHistory {
			p.history = p.history[len(p.history)-maxHistory:]
		}
	}
	p.histPos, p.draft = len(p.history), ""
}

// carriesSecret says whether a line holds a password in any form the
// decoder knows (AUTH PLAIN's response, PASS, LOGIN), whatever the
// state of an exchange: such lines stay out of the history.
func (p *promptModel) carriesSecret(line string) bool {
	var st protocol.CredentialState
	cr := protocol.DecodeCredential(p.proto, []byte(line+"\r\n"), &st)
	return cr != nil && cr.Password != ""
}

// historyMove shows an older (d < 0) or newer line of the history.
func (p *promptModel) historyMove(d int) {
	to := p.histPos + d
	if to < 0 || to > len(p.history) || len(p.history) == 0 {
		return
	}
	if p.histPos == len(p.history) {
		p.draft = p.input.Value()
	}
	p.histPos = to
	if to == len(p.history) {
		p.input.SetValue(p.draft)
	} else {
		p.input.SetValue(p.history[to])
	}
	p.input.CursorEnd()
	p.comp = nil
}

// end closes the input: the answers still due are read, then the
// connection closes, without a QUIT nobody typed.
func (p *promptModel) end() {
	if p.handle == nil || p.ended {
		return
	}
	p.handle.Close()
	p.setNote("input ended: the answers still due are read, then mailwire closes the connection (it sends no QUIT you did not type)", false)
}

// nextTag is the IMAP tag completion offers.
func (p *promptModel) nextTag() string { return "a" + strconv.Itoa(p.tagN) }

// promptCommands are what tab completes, per protocol: the commands of
// RFC 5321 §4.1, RFC 1939 with RFC 2449 and RFC 2595, RFC 9051 §6, with
// the argument a first try needs.
var promptCommands = map[string][]string{
	protocol.SMTP: {"EHLO ", "HELO ", "STARTTLS", "AUTH PLAIN ", "AUTH LOGIN", "MAIL FROM:<", "RCPT TO:<",
		"DATA", "RSET", "NOOP", "VRFY ", "HELP", "QUIT"},
	protocol.POP3: {"CAPA", "STLS", "USER ", "PASS ", "AUTH PLAIN", "AUTH LOGIN", "STAT", "LIST", "UIDL",
		"RETR ", "TOP ", "DELE ", "NOOP", "RSET", "QUIT"},
	protocol.IMAP: {"CAPABILITY", "STARTTLS", "LOGIN ", "AUTHENTICATE PLAIN", "ID NIL", "ENABLE ",
		`LIST "" "*"`, "SELECT INBOX", "EXAMINE INBOX", "STATUS INBOX (MESSAGES UNSEEN)", "FETCH 1:* (FLAGS)",
		"IDLE", "NOOP", "CLOSE", "LOGOUT"},
}

// complete completes the command being typed. One candidate replaces
// what was typed; several fill in what they share and are listed, and
// tab again goes through them. In IMAP a line without a tag gets the next
// one.
func (p *promptModel) complete() {
	if len(p.comp) > 1 {
		p.compIdx = (p.compIdx + 1) % len(p.comp)
		p.input.SetValue(p.comp[p.compIdx])
		p.input.CursorEnd()
		return
	}
	line := p.input.Value()
	prefix, typed := "", line
	if p.proto == protocol.IMAP {
		if tag, rest, ok := strings.Cut(line, " "); ok {
			prefix, typed = tag+" ", rest
		} else {
			prefix = p.nextTag() + " "
		}
	}
	var cands []string
	for _, c := range promptCommands[p.proto] {
		if strings.HasPrefix(strings.ToUpper(c), strings.ToUpper(typed)) {
			cands = append(cands, prefix+c)
		}
	}
	switch len(cands) {
	case 0:
		p.setNote("no command of "+strings.ToUpper(p.proto)+" starts so; tab completes the protocol's commands", false)
		return
	case 1:
		p.input.SetValue(cands[0])
	default:
		p.input.SetValue(commonPrefix(cands, len(prefix)+len(typed)))
		var names []string
		for _, c := range cands {
			names = append(names, strings.TrimSpace(strings.TrimPrefix(c, prefix)))
		}
		p.setNote(strings.Join(names, " · "), false)
		p.comp, p.compIdx, p.compBase = cands, -1, line
	}
	p.input.CursorEnd()
}

// commonPrefix is what the candidates share, at least the first n bytes
// (what was typed, case-folded to the candidates').
func commonPrefix(cands []string, n int) string {
	pre := cands[0]
	for _, c := range cands[1:] {
		i := 0
		for i < len(pre) && i < len(c) && pre[i] == c[i] {
			i++
		}
		pre = pre[:i]
	}
	if len(pre) < n {
		return cands[0][:min(n, len(cands[0]))]
	}
	return pre
}

// openAuth opens the AUTH helper's fields.
func (p *promptModel) openAuth() {
	switch {
	case p.handle == nil || p.ended:
		p.setNote("the AUTH helper needs an open session", true)
		return
	case len(p.auth.mechs) == 0:
		p.setNote("no AUTH helper for "+strings.ToUpper(p.proto), true)
		return
	}
	p.auth.field = 2
	if p.auth.user.Value() == "" {
		p.auth.field = 1
	}
	p.setMode(promptAuth)
	if !p.tls {
		p.setNote("not TLS yet: the helper refuses to send a password in cleartext (except to the lab). type STARTTLS first", true)
	} else {
		p.setNote("", false)
	}
}

func (p *promptModel) authFocus() {
	p.auth.user.Blur()
	p.auth.pass.Blur()
	switch p.auth.field {
	case 1:
		p.auth.user.Focus()
	case 2:
		p.auth.pass.Focus()
	}
}

// updateAuth takes the AUTH helper's keys.
func (p *promptModel) updateAuth(msg tea.Msg) (tea.Cmd, bool) {
	a := &p.auth
	k, isKey := msg.(tea.KeyPressMsg)
	if isKey {
		switch {
		case key.Matches(k, p.keys.Cancel):
			p.setMode(promptTyping)
			p.setNote("AUTH helper closed; nothing was sent", false)
			return nil, true
		case key.Matches(k, p.keys.Send):
			return nil, p.sendAuth()
		case k.String() == "shift+tab" || k.String() == "up":
			a.field = (a.field + 2) % 3
			p.authFocus()
			return nil, true
		case key.Matches(k, p.keys.NextField):
			a.field = (a.field + 1) % 3
			p.authFocus()
			return nil, true
		case a.field == 0 && key.Matches(k, p.keys.Mechanism):
			d := 1
			if k.String() == "left" {
				d = len(a.mechs) - 1
			}
			a.mech = (a.mech + d) % len(a.mechs)
			return nil, true
		}
	}
	var cmd tea.Cmd
	switch a.field {
	case 1:
		a.user, cmd = a.user.Update(msg)
	case 2:
		a.pass, cmd = a.pass.Update(msg)
	}
	return cmd, true
}

// sendAuth hands the helper its login. The password goes to the session
// and is cleared from the field.
func (p *promptModel) sendAuth() bool {
	a := &p.auth
	if a.user.Value() == "" {
		a.field = 1
		p.authFocus()
		p.setNote("the helper needs a user name", true)
		return true
	}
	h := &sessions.AuthHelp{Mechanism: a.mechs[a.mech], User: a.user.Value(), Password: a.pass.Value()}
	if p.proto == protocol.IMAP {
		h.Tag = p.nextTag()
	}
	if err := p.handle.Send(sessions.Input{Auth: h}); err != nil {
		p.setNote(sendError(err), true)
		return true
	}
	if h.Tag != "" {
		p.tagN++
	}
	p.setMode(promptTyping)
	p.setNote("AUTH helper: "+authWords(p.proto, h.Mechanism)+" sent for "+h.User+"; the timeline shows it masked", false)
	return true
}

// authWords names what the helper sends.
func authWords(proto, mech string) string {
	switch {
	case proto == protocol.IMAP && mech == "LOGIN":
		return "LOGIN"
	case proto == protocol.IMAP:
		return "AUTHENTICATE PLAIN"
	case mech == "USER":
		return "USER and PASS"
	}
	return "AUTH " + mech
}

// label is the prompt's lead: the protocol and whether what is typed
// travels in the clear.
func (p *promptModel) label() string {
	if p.tls {
		return strings.ToUpper(p.proto) + " TLS ›"
	}
	return strings.ToUpper(p.proto) + " ›"
}

// View renders the prompt line and the hint under it, each exactly the
// prompt's width.
func (p *promptModel) View() string {
	st := p.c.Styles
	w := max(p.width, 1)
	lead := st.Cleartext.Render(p.label())
	if p.tls {
		lead = st.Encrypted.Render(p.label())
	}
	var line string
	switch p.mode {
	case promptAuth:
		line = p.authView()
	default:
		line = lead + " " + p.input.View()
	}
	hint := p.hint()
	hs := st.Muted
	if p.noteWarn {
		hs = st.Warning
	}
	return padTo(ansi.Truncate(line, w, "…"), w) + "\n" + hs.Render(padTo(ansi.Truncate(hint, w, "…"), w))
}

// authView is the helper's row: mechanism, user, masked password.
func (p *promptModel) authView() string {
	st := p.c.Styles
	a := &p.auth
	mark := func(i int, s string) string {
		if a.field == i {
			return st.Selected.Render(s)
		}
		return st.Text.Render(s)
	}
	mech := mark(0, "‹"+authWords(p.proto, a.mechs[a.mech])+"›")
	return st.Title.Render("AUTH helper") + " " + mech + st.Muted.Render(" user ") + a.user.View() +
		st.Muted.Render(" password ") + a.pass.View()
}

// hint is the line under the prompt: news first, else what the keys do.
func (p *promptModel) hint() string {
	if p.note != "" {
		return p.note
	}
	switch {
	case p.mode == promptAuth:
		return "tab next field · ←/→ mechanism · enter send · esc cancel"
	case p.ended:
		return "the session has ended · esc connect form · shift+tab timeline (r reconnects)"
	case p.handle == nil:
		return "connecting…"
	case !p.tls:
		return "cleartext: anyone on the path reads what you type · ctrl+a AUTH helper · ctrl+d end"
	}
	return "inside TLS · ctrl+a AUTH helper · ctrl+d end · shift+tab timeline"
}

// ShortHelp lists the prompt's keys, most important first.
func (p *promptModel) ShortHelp() []key.Binding {
	k := p.keys
	switch p.mode {
	case promptAuth:
		return []key.Binding{k.Send, k.NextField, k.Mechanism, k.Cancel}
	case promptConfirm:
		return []key.Binding{k.Confirm, k.Cancel}
	}
	if p.ended {
		return []key.Binding{k.Back, k.Focus}
	}
	return []key.Binding{k.Send, k.Complete, k.Focus, k.Auth, k.Back, k.End, k.History}
}

// FullHelp lists every key of the prompt.
func (p *promptModel) FullHelp() [][]key.Binding {
	k := p.keys
	return [][]key.Binding{{k.Send, k.Complete, k.History}, {k.Auth, k.End, k.Focus, k.Back}}
}
