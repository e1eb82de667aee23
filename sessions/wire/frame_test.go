package wire

import (
	"bytes"
	"strings"
	"testing"
)

// frameTypeName stands in for the driver's table (x/net/http2's names).
func frameTypeName(t uint8) string {
	names := []string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}
	if int(t) < len(names) {
		return names[t]
	}
	return "UNKNOWN_FRAME_TYPE_" + string(rune('0'+t%10))
}

// frame builds the bytes of a frame: header (RFC 9113 §4.1), then payload.
func frame(typ, flags uint8, stream uint32, payload []byte) []byte {
	n := len(payload)
	h := []byte{byte(n >> 16), byte(n >> 8), byte(n), typ, flags, byte(stream >> 24), byte(stream >> 16), byte(stream >> 8), byte(stream)}
	return append(h, payload...)
}

func TestFrameHeader(t *testing.T) {
	raw := frame(0x0, 0x1, 1, []byte("<!doctype html>\n<p>hi</p>\n"))
	f := ParseFrameHeader(raw, frameTypeName)
	if f == nil || f.Type != "DATA" || f.Stream != 1 || f.Length != len(raw)-9 || strings.Join(f.FlagNames(), ",") != "END_STREAM" {
		t.Fatalf("DATA header: %+v", f)
	}
	if got := string(f.Payload(raw)); got != "<!doctype html>\n<p>hi</p>\n" {
		t.Errorf("payload %q", got)
	}
	// The reserved bit is not part of the stream id.
	if f := ParseFrameHeader(frame(0x4, 0x1, 0x80000000, nil), frameTypeName); f.Stream != 0 || strings.Join(f.FlagNames(), ",") != "ACK" {
		t.Errorf("SETTINGS ACK: %+v %v", f, f.FlagNames())
	}
	if ParseFrameHeader(raw[:8], frameTypeName) != nil {
		t.Error("a header from 8 bytes")
	}
	// The same bit is END_STREAM on HEADERS, ACK on PING; END_HEADERS is
	// HEADERS', PRIORITY means nothing on DATA.
	for _, c := range []struct {
		typ, flags uint8
		want       string
	}{
		{0x1, 0x25, "END_STREAM,END_HEADERS,PRIORITY"},
		{0x6, 0x1, "ACK"},
		{0x0, 0x2d, "END_STREAM,PADDED"},
		{0x9, 0x4, "END_HEADERS"},
		{0x8, 0xff, ""},
	} {
		f := ParseFrameHeader(frame(c.typ, c.flags, 3, nil), frameTypeName)
		if got := strings.Join(f.FlagNames(), ","); got != c.want {
			t.Errorf("type %d flags %#x: %q, want %q", c.typ, c.flags, got, c.want)
		}
	}
}

// TestFramePayloadPadding: a PADDED frame's pad length and padding, and a
// HEADERS frame's priority fields, are not content (RFC 9113 §6.1, §6.2).
func TestFramePayloadPadding(t *testing.T) {
	padded := frame(0x0, 0x8, 1, append(append([]byte{3}, "body"...), 0, 0, 0))
	f := ParseFrameHeader(padded, frameTypeName)
	if got := string(f.Payload(padded)); got != "body" {
		t.Errorf("padded DATA: %q", got)
	}
	// Kept in part (the body preview): no padding to strip at the end.
	if got := string(f.Payload(padded[:12])); got != "bo" {
		t.Errorf("padded DATA kept in part: %q", got)
	}
	prio := frame(0x1, 0x28, 1, append(append([]byte{2, 0, 0, 0, 3, 16}, "hpack"...), 0, 0))
	f = ParseFrameHeader(prio, frameTypeName)
	if got := string(f.Payload(prio)); got != "hpack" {
		t.Errorf("HEADERS with PADDED and PRIORITY: %q", got)
	}
	// A pad length longer than the frame leaves the payload as it is.
	bad := frame(0x0, 0x8, 1, []byte{200, 'x'})
	if got := string(ParseFrameHeader(bad, frameTypeName).Payload(bad)); got != "x" {
		t.Errorf("pad length over the frame: %q", got)
	}
	var nilFrame *Frame
	if nilFrame.Payload(padded) != nil {
		t.Error("nil frame has a payload")
	}
}

// FuzzFramePayload: whatever the bytes, decoding never panics and the
// content is a part of them.
func FuzzFramePayload(f *testing.F) {
	f.Add(frame(0x0, 0x8, 1, []byte{3, 'a', 0, 0, 0}))
	f.Add(frame(0x1, 0x2c, 1, []byte{1, 0, 0, 0, 1, 9, 'x', 0}))
	f.Add([]byte{0, 0, 9, 1, 0x28})
	f.Fuzz(func(t *testing.T, raw []byte) {
		fr := ParseFrameHeader(raw, frameTypeName)
		if fr == nil {
			if len(raw) >= 9 {
				t.Fatal("no header from 9 bytes")
			}
			return
		}
		p := fr.Payload(raw)
		if len(p) > 0 && !bytes.Contains(raw[9:], p) {
			t.Fatalf("payload %x not in %x", p, raw)
		}
		_ = fr.FlagNames()
	})
}
