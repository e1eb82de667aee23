package dissect

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The fuzz input is a script: a control byte c (bit 0: direction, bits 1–7:
// k), then k*k+1 bytes fed in that direction, repeated. Squares let one
// byte address both single bytes and whole records.

func decodeFuzzScript(data []byte) []chunk {
	var out []chunk
	for len(data) > 0 {
		c := data[0]
		data = data[1:]
		dir := wire.ClientToServer
		if c&1 == 1 {
			dir = wire.ServerToClient
		}
		k := int(c >> 1)
		n := min(k*k+1, len(data))
		out = append(out, chunk{dir, data[:n]})
		data = data[n:]
	}
	return out
}

func encodeFuzzScript(chunks []chunk) []byte {
	var out []byte
	for _, c := range chunks {
		bit := byte(0)
		if c.dir == wire.ServerToClient {
			bit = 1
		}
		for rest := c.data; len(rest) > 0; {
			k := 127
			for k*k+1 > len(rest) {
				k--
			}
			out = append(out, byte(k<<1)|bit)
			out = append(out, rest[:k*k+1]...)
			rest = rest[k*k+1:]
		}
	}
	return out
}

func FuzzDissect(f *testing.F) {
	for _, name := range []string{"tls13.bin", "tls12.bin", "tls13_hrr.bin"} {
		f.Add(encodeFuzzScript(readTranscript(f, name)))
	}
	f.Add(encodeFuzzScript([]chunk{{wire.ServerToClient, []byte("220 mail.example ESMTP\r\n")}}))
	f.Add(encodeFuzzScript([]chunk{{wire.ServerToClient, []byte("HTTP/1.1 400 Bad Request\r\n\r\n")}}))
	f.Add(encodeFuzzScript([]chunk{{wire.ServerToClient, recordBytes(RecordAlert, []byte{2, 40})}}))
	f.Add(encodeFuzzScript([]chunk{{wire.ClientToServer, recordBytes(RecordHandshake, []byte{tlsmsg.TypeClientHello, 0, 0, 3, 3, 3, 0})}}))

	f.Fuzz(func(t *testing.T, data []byte) {
		chunks := decodeFuzzScript(data)
		d := New()
		var evs []wire.Event
		for _, c := range chunks {
			evs = append(evs, d.Feed(c.dir, c.data)...)
			for _, st := range []*dirState{&d.c2s, &d.s2c} {
				if len(st.buf) > recordHeaderLen+maxRecordPayload || len(st.hs) > maxHandshakeBuf || len(st.sample) > mismatchSample {
					t.Fatalf("buffer over its cap: buf %d, hs %d, sample %d", len(st.buf), len(st.hs), len(st.sample))
				}
			}
		}
		evs = append(evs, d.Flush(wire.ClientToServer)...)
		evs = append(evs, d.Flush(wire.ServerToClient)...)
		checkEvents(t, evs)

		// The records' Raw bytes are the stream, in order, with nothing
		// skipped: per direction they form a prefix of what was fed.
		streams := map[wire.Direction][]byte{}
		for _, c := range chunks {
			streams[c.dir] = append(streams[c.dir], c.data...)
		}
		got := map[wire.Direction][]byte{}
		for _, e := range evs {
			if e.Kind == wire.KindRecord || e.Kind == wire.KindEncrypted {
				got[e.Dir] = append(got[e.Dir], e.Raw...)
			}
		}
		for dir, b := range got {
			if !bytes.HasPrefix(streams[dir], b) {
				t.Fatalf("%s: record bytes are not a prefix of the stream", dir)
			}
		}

		// Byte-at-a-time feeding in the same cross-direction order gives
		// the same events.
		d2 := New()
		var evs2 []wire.Event
		for _, c := range chunks {
			for i := range c.data {
				evs2 = append(evs2, d2.Feed(c.dir, c.data[i:i+1])...)
			}
		}
		evs2 = append(evs2, d2.Flush(wire.ClientToServer)...)
		evs2 = append(evs2, d2.Flush(wire.ServerToClient)...)
		if !reflect.DeepEqual(evs, evs2) {
			t.Fatalf("byte-at-a-time differs:\n got %q\nwant %q", shape(evs2), shape(evs))
		}
	})
}

func TestFuzzScriptRoundTrip(t *testing.T) {
	chunks := readTranscript(t, "tls12.bin")
	back := decodeFuzzScript(encodeFuzzScript(chunks))
	var a, b []byte
	for _, c := range chunks {
		a = append(a, c.data...)
	}
	for _, c := range back {
		b = append(b, c.data...)
	}
	if !bytes.Equal(a, b) || len(back) < len(chunks) {
		t.Fatal("fuzz script encoding does not round-trip")
	}
}
