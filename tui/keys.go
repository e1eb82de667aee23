package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every key binding of the TUI. Screens match with key.Matches
// and expose the bindings they use through help.KeyMap.
type KeyMap struct {
	Up, Down, Left, Right key.Binding
	// Move is for help display only: one entry standing for the four arrows.
	Move             key.Binding
	PageUp, PageDown key.Binding
	Open, Back       key.Binding
	Help, Quit       key.Binding
}

// DefaultKeyMap returns the standard bindings: arrows and hjkl to move,
// pgup/pgdn and K/J to scroll the detail pane, enter to open, esc to go back,
// ? for full help, q or ctrl+c to quit.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		Left:     key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "explicit TLS column")),
		Right:    key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "implicit TLS column")),
		Move:     key.NewBinding(key.WithKeys("up", "down", "left", "right"), key.WithHelp("←↓↑→/hjkl", "select port")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "K"), key.WithHelp("pgup/K", "scroll up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "J"), key.WithHelp("pgdn/J", "scroll down")),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "lab endpoint")),
		Back:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Help:     key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:     key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
	}
}
