package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every key binding of the TUI. Screens match with key.Matches
// and expose the bindings they use through help.KeyMap. Two bindings may
// share a key when no screen uses both (K/J scroll the port table's detail
// pane and the session's detail pane). l opens a lesson from every screen,
// so no screen binds it to anything else.
type KeyMap struct {
	Up, Down, Left, Right key.Binding
	// Move is for help display only: one entry standing for the four arrows.
	Move             key.Binding
	PageUp, PageDown key.Binding
	Open, Back       key.Binding
	// Endpoint shows the lab endpoint of the selected port (port table).
	Endpoint key.Binding
	// Connect opens the connect form (port table): a real server to type
	// a session against.
	Connect key.Binding
	// Scan scans the target's host (port table, in target mode). It
	// shares s with Step, which only the session screen uses.
	Scan key.Binding

	// Session screen.
	PrevPage, NextPage key.Binding // timeline pages
	Top, Bottom        key.Binding // first and last event
	DetailUp           key.Binding // scroll the detail pane
	DetailDown         key.Binding
	Lens               key.Binding // endpoint ⇄ eavesdropper
	Reveal             key.Binding // show passwords
	Step               key.Binding // step mode on/off
	Next, Prev         key.Binding // step forward/back
	Auto               key.Binding // auto-play the steps
	Faster, Slower     key.Binding // auto-play speed
	Rerun              key.Binding // run the session again
	Export             key.Binding // the export menu (export.go)
	Save               key.Binding // save the session as a recording, under a name (save.go)

	// Finding, keeping, looking (session screen; Copy also in the port
	// table's endpoint view, with CopyAlt for its second command).
	Copy, CopyAlt                  key.Binding // copy the selected event, or a command (OSC 52)
	Search                         key.Binding // search the timeline
	NextMatch, PrevMatch           key.Binding // the search's next and previous match
	NextError, PrevError           key.Binding // the next and previous error
	NextCredential, PrevCredential key.Binding // … credential
	NextVerdict, PrevVerdict       key.Binding // … scenario verdict
	Zoom                           key.Binding // hide the detail pane, and back

	// Scenarios.
	Scenarios key.Binding // open the scenario picker (port table, session)
	Legs      key.Binding // cycle the leg filter: all legs, then each one
	Panel     key.Binding // the compare table / hop diagram of a scenario
	Story     key.Binding // the scenario's introduction and conclusion
	AllItems  key.Binding // the picker: every scenario, not only the port's
	Number    key.Binding // the picker: choose the item with that number

	// Presenter mode (presenter.go): the projector layout, on the
	// session screen. PresentNext and PresentPrev are Next and Prev plus
	// what a presentation clicker sends (page down and up).
	Present                  key.Binding
	PresentNext, PresentPrev key.Binding

	// Lessons (lesson.go): l opens the lesson on the topic of the screen
	// in front; on the lesson, tab and shift+tab choose a "Try it" link
	// and enter opens it.
	Lesson             key.Binding
	NextLink, PrevLink key.Binding

	Help, Quit key.Binding
}

// DefaultKeyMap returns the standard bindings: arrows and hjkl to move,
// pgup/pgdn and K/J to scroll the detail pane, enter to open, esc to go back,
// ? for full help, q or ctrl+c to quit.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "explicit TLS column")),
		Right:    key.NewBinding(key.WithKeys("right"), key.WithHelp("→", "implicit TLS column")),
		Move:     key.NewBinding(key.WithKeys("up", "down", "left", "right"), key.WithHelp("←↓↑→/hjk", "select port")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "K"), key.WithHelp("pgup/K", "scroll up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "J"), key.WithHelp("pgdn/J", "scroll down")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "run session")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Endpoint: key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "lab endpoint")),
		Connect:  key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "connect…")),
		Scan:     key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "scan host")),

		PrevPage:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		NextPage:   key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:        key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		Bottom:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
		DetailUp:   key.NewBinding(key.WithKeys("K", "shift+up"), key.WithHelp("K", "detail up")),
		DetailDown: key.NewBinding(key.WithKeys("J", "shift+down"), key.WithHelp("J", "detail down")),
		Lens:       key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "lens")),
		Reveal:     key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "show password")),
		Step:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "step mode")),
		Next:       key.NewBinding(key.WithKeys("space", "right"), key.WithHelp("space/→", "next step")),
		Prev:       key.NewBinding(key.WithKeys("backspace", "left"), key.WithHelp("⌫/←", "step back")),
		Auto:       key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "auto-play")),
		Faster:     key.NewBinding(key.WithKeys("+", "="), key.WithHelp("+", "faster")),
		Slower:     key.NewBinding(key.WithKeys("-", "_"), key.WithHelp("-", "slower")),
		Rerun:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "re-run")),
		Export:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "export…")),
		// w as in write; s is step mode. ctrl+s is every editor's save.
		Save: key.NewBinding(key.WithKeys("w", "ctrl+s"), key.WithHelp("w", "save recording…")),

		// y as in vi's yank, / n N as in less and vi; e, u and v are the
		// first letters of error, user (a credential) and verdict, shifted
		// to go backwards. e is the lab endpoint on the port table only.
		Copy:           key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy")),
		CopyAlt:        key.NewBinding(key.WithKeys("Y"), key.WithHelp("Y", "copy curl")),
		Search:         key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
		NextMatch:      key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next match")),
		PrevMatch:      key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "previous match")),
		NextError:      key.NewBinding(key.WithKeys("e"), key.WithHelp("e/E", "next/prev error")),
		PrevError:      key.NewBinding(key.WithKeys("E"), key.WithHelp("E", "previous error")),
		NextCredential: key.NewBinding(key.WithKeys("u"), key.WithHelp("u/U", "next/prev credential")),
		PrevCredential: key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "previous credential")),
		NextVerdict:    key.NewBinding(key.WithKeys("v"), key.WithHelp("v/V", "next/prev verdict")),
		PrevVerdict:    key.NewBinding(key.WithKeys("V"), key.WithHelp("V", "previous verdict")),
		Zoom:           key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "zoom")),

		// S, not s: s is step mode on the session screen, and one key
		// opens the picker everywhere.
		Scenarios: key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "scenarios")),
		Legs:      key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "filter leg")),
		Panel:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "table")),
		Story:     key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "intro")),
		AllItems:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "all scenarios")),
		Number:    key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1–9", "choose by number")),

		// P as in present; F5 is the slideshow key of presentation
		// programs, which a clicker's slideshow button sends (and esc
		// the next time, which leaves presenter mode too). p is the
		// password.
		Present:     key.NewBinding(key.WithKeys("P", "f5"), key.WithHelp("P", "presenter mode")),
		PresentNext: key.NewBinding(key.WithKeys("pgdown", "space", "right"), key.WithHelp("pgdn/space/→", "next step")),
		PresentPrev: key.NewBinding(key.WithKeys("pgup", "left", "backspace"), key.WithHelp("pgup/←", "previous step")),

		Lesson:   key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "lesson")),
		NextLink: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab/⇧tab", "choose link")),
		PrevLink: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("⇧tab", "previous link")),

		Help: key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit: key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}
