package wire

import (
	"fmt"
	"unicode/utf8"
)

// Budget bounds what one session keeps and shows, whatever the server
// sends: the engine (events, bytes), the protocol readers (untagged
// responses, literals) and the printers (line length) read their limit
// here. Reaching a limit is never a failure: the session goes on reading
// and counting to its natural end or its time limit, and a note (its own
// annotation key, BudgetKey) says which limit was reached and how to raise
// it. README "Budgets" documents the defaults; the flags are --max-events,
// --max-event-bytes, --max-bytes, --max-line, --max-untagged and
// --max-literal.
//
// A zero field takes its default (DefaultBudget); a negative one has no
// limit.
type Budget struct {
	// Events is how many events a session holds. Past it, events are
	// counted and dropped, except a reserve of the ones a reader cannot
	// do without (errors, the TLS boundary and state, verdicts, notes, the
	// close), which may go Events/10 further.
	Events int
	// EventBytes is how many bytes of Raw one event keeps; the rest is
	// counted in RawLen.
	EventBytes int
	// TotalBytes is how many bytes of Raw the session's events keep in all.
	TotalBytes int64
	// LineWidth is how long an output line may be: a longer Text is cut
	// with "… N more bytes", and the printers cut what they show alike.
	LineWidth int
	// Untagged is how many untagged IMAP responses are shown for one
	// command; the rest are read, counted and summed up in one note.
	Untagged int
	// Literal is how many bytes of an IMAP literal, a POP3 message or
	// listing, or an HTTP body are kept; the rest are read and counted,
	// never held.
	Literal int
}

// Defaults of the budget. A normal session keeps a few hundred events and
// some tens of kilobytes; these leave room for a large mailbox or message
// while bounding memory and output: 4 MiB of raw bytes are at most about
// 5.4 MB of JSON (base64), so that with 10,000 events of a few hundred
// bytes each a JSON Lines transcript stays under 10 MB.
const (
	DefaultBudgetEvents     = 10_000
	DefaultBudgetEventBytes = 64 << 10
	DefaultBudgetTotalBytes = 4 << 20
	DefaultBudgetLineWidth  = 4096
	DefaultBudgetUntagged   = 50
	DefaultBudgetLiteral    = 64 << 10
)

// DefaultBudget returns the default limits.
func DefaultBudget() Budget {
	return Budget{
		Events:     DefaultBudgetEvents,
		EventBytes: DefaultBudgetEventBytes,
		TotalBytes: DefaultBudgetTotalBytes,
		LineWidth:  DefaultBudgetLineWidth,
		Untagged:   DefaultBudgetUntagged,
		Literal:    DefaultBudgetLiteral,
	}
}

// WithDefaults fills the zero fields from DefaultBudget.
func (b Budget) WithDefaults() Budget {
	d := DefaultBudget()
	if b.Events == 0 {
		b.Events = d.Events
	}
	if b.EventBytes == 0 {
		b.EventBytes = d.EventBytes
	}
	if b.TotalBytes == 0 {
		b.TotalBytes = d.TotalBytes
	}
	if b.LineWidth == 0 {
		b.LineWidth = d.LineWidth
	}
	if b.Untagged == 0 {
		b.Untagged = d.Untagged
	}
	if b.Literal == 0 {
		b.Literal = d.Literal
	}
	return b
}

// Unlimited is the limit a negative budget field stands for.
const Unlimited = int(^uint(0) >> 1)

// Limit returns n, or Unlimited when n is negative.
func Limit(n int) int {
	if n < 0 {
		return Unlimited
	}
	return n
}

// Annotation keys of the budget's notes, one per limit (content/annotations/errors.md).
const (
	BudgetKeyEvents     = "session.budget.events"
	BudgetKeyEventBytes = "session.budget.event_bytes"
	BudgetKeyTotalBytes = "session.budget.total_bytes"
	BudgetKeyUntagged   = "session.budget.untagged"
	BudgetKeyLiteral    = "session.budget.literal"
)

// BudgetKeys lists the budget's annotation keys.
func BudgetKeys() []string {
	return []string{BudgetKeyEvents, BudgetKeyEventBytes, BudgetKeyTotalBytes, BudgetKeyUntagged, BudgetKeyLiteral}
}

// Elide returns s cut to at most width bytes (on a rune boundary, as
// Truncate cuts), with "… N more bytes" in place of the rest, so that a
// line from a hostile peer cannot run for megabytes. It does not sanitize.
func Elide(s string, width int) string {
	if width <= 0 || len(s) <= width {
		return s
	}
	keep := width
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + fmt.Sprintf("… %s more bytes", GroupDigits(int64(len(s)-keep)))
}

// GroupDigits writes n with a comma every three digits: 999,980.
func GroupDigits(n int64) string {
	s := fmt.Sprint(n)
	neg := ""
	if n < 0 {
		neg, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return neg + s
}
