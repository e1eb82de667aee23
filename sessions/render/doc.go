// Package render writes a session's event stream without a terminal: as
// annotated text (Text, TextPrinter), JSON Lines (JSON) and Markdown
// (Markdown), in either lens. It is the only room outside the TUI that
// uses lipgloss; every peer byte it prints is sanitized first.
package render
