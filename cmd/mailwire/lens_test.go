package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestSessionJSONEavesdropperLens: `session --port 587 --lens eavesdropper
// --format json` holds what crossed the wire and nothing more. It ignored
// the lens: 47 of 62 events were there, the decrypted AUTH included
// (issue 10).
func TestSessionJSONEavesdropperLens(t *testing.T) {
	state := t.TempDir()
	all, _, err := runSessionCmd(t, context.Background(), "--port", "587", "--format", "json", "--lab-state-dir", state)
	if err != nil {
		t.Fatal(err)
	}
	eaves, _, err := runSessionCmd(t, context.Background(), "--port", "587", "--format", "json", "--lens", "eavesdropper", "--lab-state-dir", state)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(eaves), "\n")
	if n := len(strings.Split(strings.TrimSpace(all), "\n")); len(lines) >= n {
		t.Fatalf("the eavesdropper lens wrote %d of %d events", len(lines), n)
	}
	for _, l := range lines {
		var ev struct {
			Kind, Layer, Text string
			Raw               []byte
			TLS               any `json:"tls"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		switch {
		case ev.Layer == "decrypted":
			t.Errorf("a decrypted event in the eavesdropper lens: %s", l)
		case ev.TLS != nil:
			t.Errorf("the client's TLS state in the eavesdropper lens: %s", l)
		case ev.Kind == "encrypted" && len(ev.Raw) > 5:
			t.Errorf("an encrypted record's payload in the eavesdropper lens (%d bytes): %s", len(ev.Raw), l)
		case strings.Contains(ev.Text, "AUTH"):
			t.Errorf("AUTH in the eavesdropper lens: %s", l)
		}
	}
}
