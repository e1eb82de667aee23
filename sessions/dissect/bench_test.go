package dissect

import (
	"math/rand/v2"
	"testing"

	"github.com/mailwire/mailwire/sessions/wire"
)

// BenchmarkDissect dissects a realistic session: the TLS 1.3 fixture's
// handshake followed by 1 MiB of application data in full-size records,
// fed in 16 KiB reads as a tap would see them.
func BenchmarkDissect(b *testing.B) {
	chunks := readTranscript(b, "tls13.bin")
	rng := rand.New(rand.NewPCG(3, 4))
	var app []byte
	for sent := 0; sent < 1<<20; {
		// 2^14 bytes of plaintext + 1 content type byte + 16-byte AEAD tag.
		payload := make([]byte, 1<<14+17)
		for i := range payload {
			payload[i] = byte(rng.Uint32())
		}
		app = append(app, recordBytes(RecordApplicationData, payload)...)
		sent += 1 << 14
	}
	for len(app) > 0 {
		n := min(len(app), 16<<10)
		chunks = append(chunks, chunk{wire.ServerToClient, app[:n]})
		app = app[n:]
	}
	total := 0
	for _, c := range chunks {
		total += len(c.data)
	}
	b.SetBytes(int64(total))
	b.ReportAllocs()
	for b.Loop() {
		d := New()
		n := 0
		for _, c := range chunks {
			n += len(d.Feed(c.dir, c.data))
		}
		if n < 64 {
			b.Fatalf("only %d events", n)
		}
	}
}
