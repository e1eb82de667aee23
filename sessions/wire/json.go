package wire

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
)

// ReadJSON decodes render.JSON output back into events. It reads at most
// maxEvents events and rejects a line longer than maxLine bytes, so a
// hostile file cannot exhaust memory.
func ReadJSON(r io.Reader, maxEvents, maxLine int) ([]Event, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(64<<10, maxLine)), maxLine)
	var evs []Event
	for n := 1; sc.Scan(); n++ {
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		if len(evs) >= maxEvents {
			return evs, fmt.Errorf("json line %d: more than %d events", n, maxEvents)
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			return evs, fmt.Errorf("json line %d: %w", n, err)
		}
		evs = append(evs, ev)
	}
	if err := sc.Err(); err != nil {
		return evs, fmt.Errorf("read json events: %w", err)
	}
	return evs, nil
}
