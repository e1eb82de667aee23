// Package sessions is mailwire's session engine: it dials a target
// through a wire.Tap, plays a protocol driver (SMTP, POP3, IMAP, HTTPS, or
// the interactive driver for lines a person types), feeds the TLS bytes to
// the dissector and emits one ordered stream of wire.Events (Run, Stream,
// Collect). Findings grades a stream.
//
// The engine knows nothing of any user interface: the TUI and the
// printers of package render are pure functions of the event stream, and
// the teaching prose for an event lives in package content under its
// Annotation key.
package sessions
