package render

import "fmt"

// Notes is how much a printed transcript (text, Markdown) explains, for
// readers who know the protocols (--notes): the events are the same in
// each, only what is said about them changes.
//
//   - NotesFull, the default: each event with its meaning (the annotation's
//     title), the decoded fields under it, the certificate chain, and the
//     first time a meaning appears its prose, risk, fix and RFCs.
//   - NotesShort: one line per event, its meaning and its RFCs on it; the
//     chain as its one-line verdict.
//   - NotesOff: the wire lines with their who-can-read badges, no
//     meanings: about as compact as openssl s_client's output.
//
// Whatever the notes, what crossed the wire stays: every line of a
// multi-line reply (an EHLO's extensions), the credential warning, the
// TLS boundary, the chain's verdict, the eavesdropper's summary.
type Notes string

const (
	NotesFull  Notes = "full"
	NotesShort Notes = "short"
	NotesOff   Notes = "off"
)

// ParseNotes reads a --notes value; "" is full.
func ParseNotes(s string) (Notes, error) {
	switch n := Notes(s); n {
	case "":
		return NotesFull, nil
	case NotesFull, NotesShort, NotesOff:
		return n, nil
	}
	return NotesFull, fmt.Errorf("notes %q: want full, short or off", s)
}

// String is the value's name; the zero value is full.
func (n Notes) String() string {
	if n == "" {
		return string(NotesFull)
	}
	return string(n)
}

// MarshalText writes the name (flags).
func (n Notes) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText reads a name.
func (n *Notes) UnmarshalText(b []byte) error {
	v, err := ParseNotes(string(b))
	if err != nil {
		return err
	}
	*n = v
	return nil
}

// full says whether everything is explained (the zero value too).
func (n Notes) full() bool { return n == "" || n == NotesFull }
