package wire

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ReadJSON decodes render.JSON output back into events. It reads at most
// maxEvents events and rejects a line longer than maxLine bytes, so a
// hostile file cannot exhaust memory.
func ReadJSON(r io.Reader, maxEvents, maxLine int) ([]Event, error) {
	d := NewJSONLines(r, maxLine)
	var evs []Event
	for {
		b, err := d.Next()
		if err == io.EOF {
			return evs, nil
		}
		if err != nil {
			return evs, fmt.Errorf("json %w", err)
		}
		if len(evs) >= maxEvents {
			return evs, fmt.Errorf("json line %d: more than %d events", d.Line(), maxEvents)
		}
		ev, err := d.Event(b)
		if err != nil {
			return evs, fmt.Errorf("json %w", err)
		}
		evs = append(evs, ev)
	}
}

// JSONLines reads a JSON Lines file (https://jsonlines.org) one line at a
// time, with a bound on a line's length, and counts the lines so that an
// error names the one it is about. ReadJSON and render's recording reader
// read through it.
type JSONLines struct {
	sc      *bufio.Scanner
	line    int
	maxLine int
}

// NewJSONLines reads lines of at most maxLine bytes from r.
func NewJSONLines(r io.Reader, maxLine int) *JSONLines {
	maxLine = max(maxLine, 1)
	sc := bufio.NewScanner(r)
	// The buffer starts small and grows to maxLine only for a line that
	// long: a recording of short lines costs little.
	sc.Buffer(make([]byte, 0, min(64<<10, maxLine)), maxLine)
	return &JSONLines{sc: sc, maxLine: maxLine}
}

// Next returns the next line that is not empty, without its line ending,
// or io.EOF after the last. The bytes are valid until the next call. A
// line longer than the limit is an error that names it; so is a read
// error.
func (d *JSONLines) Next() ([]byte, error) {
	for d.sc.Scan() {
		d.line++
		if b := d.sc.Bytes(); len(b) > 0 {
			return b, nil
		}
	}
	err := d.sc.Err()
	switch {
	case err == nil:
		return nil, io.EOF
	case errors.Is(err, bufio.ErrTooLong):
		// The scanner stopped inside the line after the last one it
		// returned.
		return nil, fmt.Errorf("line %d: longer than %d bytes", d.line+1, d.maxLine)
	}
	return nil, fmt.Errorf("line %d: read: %w", d.line+1, err)
}

// Line is the number (from 1) of the line Next returned last.
func (d *JSONLines) Line() int { return d.line }

// Event decodes line b, as Next returned it, into an event; an error names
// the line.
func (d *JSONLines) Event(b []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("line %d: %w", d.line, err)
	}
	return ev, nil
}
