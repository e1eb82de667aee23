package wire

import "slices"

// Legs returns the connections of a stream in the order they first appear
// ("" is left out: events of the stream as a whole, such as a scenario's
// own notes and verdicts).
func Legs(evs []Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Leg != "" && !slices.Contains(out, ev.Leg) {
			out = append(out, ev.Leg)
		}
	}
	return out
}

// OnLeg returns the events of one connection.
func OnLeg(evs []Event, leg string) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Leg == leg {
			out = append(out, ev)
		}
	}
	return out
}
