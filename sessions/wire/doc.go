// Package wire is the vocabulary of mailwire's event stream: the typed
// Event every room passes on (its kinds, layers, directions, who can read
// it), the Tap that records every byte both ways as it crosses the wire,
// and the helpers every renderer needs to show a peer's bytes safely
// (SafeText and its kin) and an event's time (FormatDuration). ReadJSON
// reads a stream back from JSON Lines.
//
// It imports no other room but the typed TLS messages (tlsmsg) and the
// certificate facts (certs) that events carry.
package wire
