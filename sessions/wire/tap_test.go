package wire

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// tapPair returns a loopback connection pair.
func tapPair(tb testing.TB) (client, server net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- nil
			return
		}
		ch <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	server = <-ch
	if server == nil {
		tb.Fatal("accept failed")
	}
	return client, server
}

func TestWireTapRecordsBothDirections(t *testing.T) {
	client, server := tapPair(t)
	defer server.Close()
	var mu sync.Mutex
	seen := map[Direction]*bytes.Buffer{ClientToServer: {}, ServerToClient: {}}
	var last time.Duration
	tap := NewTap(client, time.Now(), func(dir Direction, at time.Duration, b []byte) {
		mu.Lock()
		defer mu.Unlock()
		if at < last {
			t.Errorf("time went back: %v < %v", at, last)
		}
		last = at
		seen[dir].Write(b)
	})
	defer tap.Close()
	go func() {
		buf := make([]byte, 5)
		io.ReadFull(server, buf)
		server.Write([]byte("world!"))
	}()
	if _, err := tap.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	if _, err := io.ReadFull(tap, got); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[ClientToServer].String() != "hello" || seen[ServerToClient].String() != "world!" {
		t.Errorf("tap saw %q / %q", seen[ClientToServer], seen[ServerToClient])
	}
	if tap.BytesWritten() != 5 || tap.BytesRead() != 6 {
		t.Errorf("counters %d/%d", tap.BytesWritten(), tap.BytesRead())
	}
	tap.SetTap(nil)
	go server.Write([]byte("x"))
	io.ReadFull(tap, got[:1])
	if seen[ServerToClient].Len() != 6 || tap.BytesRead() != 7 {
		t.Error("SetTap(nil) should stop reporting but keep counting")
	}
}

// BenchmarkTapOverhead compares a bulk loopback transfer read through a
// plain connection with the same read through a Tap whose TapFunc
// counts the bytes. The target is at most 5% slower.
func BenchmarkTapOverhead(b *testing.B) {
	const total = 64 << 20
	run := func(b *testing.B, tapped bool) {
		b.SetBytes(total)
		for b.Loop() {
			client, server := tapPair(b)
			var r io.Reader = client
			var counted int
			if tapped {
				r = NewTap(client, time.Now(), func(_ Direction, _ time.Duration, p []byte) { counted += len(p) })
			}
			go func() {
				chunk := make([]byte, 64<<10)
				for sent := 0; sent < total; sent += len(chunk) {
					if _, err := server.Write(chunk); err != nil {
						break
					}
				}
				server.Close()
			}()
			buf := make([]byte, 32<<10)
			got := 0
			for {
				n, err := r.Read(buf)
				got += n
				if err != nil {
					break
				}
			}
			client.Close()
			if got != total || (tapped && counted != total) {
				b.Fatalf("got %d, counted %d", got, counted)
			}
		}
	}
	b.Run("plain", func(b *testing.B) { run(b, false) })
	b.Run("tapped", func(b *testing.B) { run(b, true) })
}
