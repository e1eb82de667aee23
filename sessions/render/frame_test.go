package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// h2DataEvent is an HTTP/2 DATA frame as the HTTPS driver emits it: Raw
// the frame (9-octet header, then the body's bytes), Text its decoded
// header.
func h2DataEvent() wire.Event {
	body := "<!doctype html>\n<html lang=\"en\">\n<p>\x1b[31mhi</p>\n"
	n := len(body)
	raw := append([]byte{byte(n >> 16), byte(n >> 8), byte(n), 0x0, 0x1, 0, 0, 0, 1}, body...)
	f := wire.ParseFrameHeader(raw, func(uint8) string { return "DATA" })
	return wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerDecrypted, Visible: wire.VisibleEndpoints,
		Raw: raw, Text: "DATA stream 1 (END_STREAM): 51 bytes", Annotation: "http.body",
		Line: &wire.Line{Proto: "http", Frame: f}}
}

// TestFrameNotLines: an HTTP/2 frame's one-line text is its decoded header,
// not the bytes of the header escaped (it read
// `\x00\x003\x00\x01\x00\x00\x00\x01<!doctype html>`), and the lines under
// it are the DATA frame's content, sanitized.
func TestFrameNotLines(t *testing.T) {
	ev := h2DataEvent()
	if got := FirstLine(ev); got != "DATA stream 1 (END_STREAM): 51 bytes" {
		t.Errorf("FirstLine = %q", got)
	}
	lines := extraLines(ev)
	if len(lines) != 3 || lines[0] != "<!doctype html>" || lines[2] != `<p>\x1b[31mhi</p>` {
		t.Errorf("extraLines = %q", lines)
	}
	if got := FrameLines(ev); len(got) != 3 {
		t.Errorf("FrameLines = %q", got)
	}
	var buf bytes.Buffer
	p, err := NewTextPrinter(&buf, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Print(ev); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Contains(out, `\x00`) || !strings.Contains(out, "DATA stream 1") || strings.Contains(out, "\x1b") {
		t.Errorf("text printer:\n%s", out)
	}
	// A protocol line that is not a frame keeps its first line.
	ev.Line.Frame = nil
	if got := FirstLine(ev); !strings.HasPrefix(got, `\x00`) {
		t.Errorf("a non-frame line's FirstLine = %q", got)
	}
	// Other frames' payloads are binary: no lines.
	ev = h2DataEvent()
	ev.Line.Frame.Type = "HEADERS"
	if FrameLines(ev) != nil || extraLines(ev) != nil {
		t.Errorf("HEADERS payload as lines: %q", extraLines(ev))
	}
}
