// Package dissect turns the bytes a wire.Tap recorded into the TLS record
// and handshake events a passive observer on the path could decode
// (Dissector): records, reassembly of handshake messages across them,
// encrypted records as type and size, streams that are not TLS at all. With
// the session's own key log (KeyLog) it also decrypts a TLS 1.3
// handshake, marking what it recovered as readable by the endpoints only.
// Every read is bounded.
package dissect
