package wire

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestTapRecordsEverything: a tap with a capture keeps every byte read and
// written, in order, whatever its TapFunc (none here, as before TLS on an
// implicit port), and the server's end of stream.
func TestTapRecordsEverything(t *testing.T) {
	client, server := net.Pipe()
	c := NewCapture(0)
	tap := NewTap(client, time.Now(), nil)
	cc := c.Open("", client.LocalAddr(), client.RemoteAddr(), time.Now(), 0)
	tap.Record(cc)
	go func() {
		buf := make([]byte, 5)
		_, _ = io.ReadFull(server, buf)
		_, _ = server.Write([]byte("hello back"))
		server.Close()
	}()
	if _, err := tap.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(tap)
	if err != nil || string(got) != "hello back" {
		t.Fatalf("read %q, %v", got, err)
	}
	cc.Closed(time.Second)
	snap := c.Snapshot()
	if len(snap) != 1 {
		t.Fatalf("%d connections", len(snap))
	}
	var c2s, s2c []byte
	for _, ch := range snap[0].Chunks {
		if ch.Dir == ClientToServer {
			c2s = append(c2s, ch.Data...)
		} else {
			s2c = append(s2c, ch.Data...)
		}
	}
	if string(c2s) != "hello" || string(s2c) != "hello back" {
		t.Errorf("captured %q and %q", c2s, s2c)
	}
	if snap[0].PeerFIN == 0 || snap[0].End != time.Second {
		t.Errorf("peer FIN %v, end %v", snap[0].PeerFIN, snap[0].End)
	}
}

// TestCaptureLimit: past its limit a capture counts and drops, and a
// snapshot does not change as recording goes on.
func TestCaptureLimit(t *testing.T) {
	c := NewCapture(8)
	cc := c.Open("leg", nil, nil, time.Now(), 0)
	cc.Add(ClientToServer, 1, []byte("12345"))
	snap := c.Snapshot()
	cc.Add(ServerToClient, 2, []byte("67890"))
	cc.Add(ServerToClient, 3, []byte("123"))
	if len(snap[0].Chunks) != 1 {
		t.Errorf("snapshot changed: %d chunks", len(snap[0].Chunks))
	}
	now := c.Snapshot()[0]
	if len(now.Chunks) != 2 || now.Dropped != 5 || !bytes.Equal(now.Chunks[1].Data, []byte("123")) {
		t.Errorf("chunks %v, dropped %d", now.Chunks, now.Dropped)
	}
}

// TestKeyLogBufferBounded: a key log buffer never fails a write and stops
// keeping past its bound.
func TestKeyLogBufferBounded(t *testing.T) {
	var k KeyLogBuffer
	line := bytes.Repeat([]byte("x"), 1000)
	for range 100 {
		if n, err := k.Write(line); n != len(line) || err != nil {
			t.Fatalf("write: %d, %v", n, err)
		}
	}
	if n := len(k.Bytes()); n > maxKeyLogBuffer || n == 0 {
		t.Errorf("kept %d bytes", n)
	}
}
