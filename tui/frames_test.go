package tui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/wire"
)

// h2Frame is the bytes of an HTTP/2 frame (RFC 9113 §4.1).
func h2Frame(typ, flags uint8, stream uint32, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}, payload...)
}

// fixtureH2 is the HTTP/2 part of a session on 443 as the HTTPS driver
// emits it: the response's HEADERS (an HPACK block) and a DATA frame whose
// body is HTML, then the close.
func fixtureH2() []wire.Event {
	var b builder
	names := func(t uint8) string { return map[uint8]string{0: "DATA", 1: "HEADERS"}[t] }
	frameEv := func(raw []byte, text, ann string, code string, also ...string) {
		l := wire.Line{Proto: "http", Code: code, Frame: wire.ParseFrameHeader(raw, names)}
		b.add(wire.Event{Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerDecrypted, Visible: wire.VisibleEndpoints,
			Raw: raw, Text: text, Annotation: ann, Also: also, Line: &l})
	}
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Text: "connected", Annotation: "tcp.connect"})
	block := []byte{0x88, 0x5f, 0x87, 0x49, 0x7c, 0xa5, 0x8a, 0xe8, 0x19, 0xaa}
	frameEv(h2Frame(1, 0x4, 1, block), "HEADERS stream 1 (END_HEADERS): :status 200, content-type: text/html", "http.h2.response", "200",
		"http.h2.frame.headers", "http.status.200")
	body := "<!doctype html>\n<html lang=\"en\">\n<title>\x1b]52;c;aGk=\x07lab</title>\n"
	frameEv(h2Frame(0, 0x1, 1, []byte(body)), fmt.Sprintf("DATA stream 1 (END_STREAM): %d bytes", len(body)), "http.body", "", "http.h2.frame.data")
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Text: "client closed the connection", Annotation: "tcp.close"})
	return b.evs
}

// TestH2FrameRows: the DATA row shows the frame decoded, not its header's
// bytes as escapes (it read `\x00\x00?\x00\x01\x00\x00\x00\x01<!doctype
// html>`); the detail pane decodes the header (type, flags, stream,
// length) and shows a DATA frame's content as text, a HEADERS frame's HPACK
// block as hex; HEADERS is explained as HTTP/2 with RFC 9113 and HPACK
// (RFC 7541), not with an HTTP/1.1 status line (RFC 9112).
func TestH2FrameRows(t *testing.T) {
	m := newSessionModel(t, 120, 40, &fakeSessions{evs: fixtureH2()})
	v := plain(m)
	if strings.Contains(v, `\x00`) {
		t.Errorf("a row shows the frame header as escapes:\n%s", v)
	}
	if !strings.Contains(v, "DATA stream 1 (END_STREAM): 64 bytes") {
		t.Errorf("no DATA row:\n%s", v)
	}

	selectText(t, m, "DATA stream 1")
	pane := flatten(session(m).detail.View())
	for _, want := range []string{"HTTP/2 frame header (RFC 9113 §4.1)", "type: DATA (0)", "flags: END_STREAM (0x01)", "stream: 1",
		"length: 64 bytes", "Content (64 bytes, as text)", `<!doctype html>`, `<title>\x1b]52;c;aGk=\x07lab</title>`} {
		if !strings.Contains(pane, want) {
			t.Errorf("DATA pane lacks %q:\n%s", want, pane)
		}
	}
	if strings.Contains(pane, "As written on the connection") {
		t.Errorf("a frame shown as lines written:\n%s", pane)
	}

	selectText(t, m, "HEADERS stream 1")
	pane = flatten(session(m).detail.View())
	for _, want := range []string{"HTTP/2 response: a HEADERS frame with :status", "RFC 9113 §8.3.2", "RFC 7541",
		"type: HEADERS (1)", "flags: END_HEADERS (0x04)", "Field block, HPACK-encoded: 10 (hex | ASCII)", "88 5f 87 49"} {
		if !strings.Contains(pane, want) {
			t.Errorf("HEADERS pane lacks %q:\n%s", want, pane)
		}
	}
	for _, bad := range []string{"RFC 9112", "status line (version"} {
		if strings.Contains(pane, bad) {
			t.Errorf("HEADERS pane explains HTTP/1.1 (%q):\n%s", bad, pane)
		}
	}
}

// brokenEscape matches a line that ends inside a wire.SafeText escape: a
// backslash, or \x, \u, \U with fewer hex digits than the escape has.
var brokenEscape = regexp.MustCompile(`(^|[^\\])(\\\\)*\\(x[0-9a-f]?|u[0-9a-f]{0,3}|U[0-9a-f]{0,7})?$`)

// TestWrapAtEscapeBoundaries: escaped output wraps between escapes, never
// inside one (a `\x1b` was cut into `\x` and `1b`), at every width, in the
// detail pane's written lines and in a long value's words.
func TestWrapAtEscapeBoundaries(t *testing.T) {
	raw := "250-" + strings.Repeat("\x1b[2J\x9b\u202e\\Seen\r", 12) + "\r\n"
	safe := wire.SafeString(raw)
	for w := 8; w <= 80; w++ { // from the widest escape here, \u202e
		lines := wrapEscaped(safe, w)
		if strings.Join(lines, "") != safe {
			t.Fatalf("%d: text changed", w)
		}
		for _, l := range lines[:len(lines)-1] {
			if ansi.StringWidth(l) > w {
				t.Errorf("%d: %q wider than the line", w, l)
			}
			if brokenEscape.MatchString(l) {
				t.Errorf("%d: line ends inside an escape: %q", w, l)
			}
		}
		for _, l := range strings.Split(wrapText("value: "+safe, w), "\n") {
			if brokenEscape.MatchString(l) {
				t.Errorf("wrapText %d: line ends inside an escape: %q", w, l)
			}
		}
	}
	// Through the detail pane: a reply line full of escapes.
	var b builder
	b.line(wire.ServerToClient, false, raw, "smtp.reply.250", wire.Line{Code: "250"})
	m := newSessionModel(t, 80, 24, &fakeSessions{evs: b.evs})
	s := session(m)
	text := ansi.Strip(s.explain.text(s.detailSubject(), 40))
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, `\x1b`) || strings.Contains(l, `\u009b`) {
			n++
		}
		if brokenEscape.MatchString(l) {
			t.Errorf("pane line ends inside an escape: %q", l)
		}
	}
	if n < 3 {
		t.Errorf("the escapes did not wrap over several lines (%d):\n%s", n, text)
	}
}
