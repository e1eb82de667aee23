package lab

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkDeliverAtCap: one delivery into an INBOX already at its
// message cap, which drops the oldest message to make room (store.go's
// enforceCap). The cost per delivery should not grow with the cap.
func BenchmarkDeliverAtCap(b *testing.B) {
	msg := []byte("Subject: bench\r\n\r\n" + strings.Repeat("x", 998) + "\r\n")
	now := time.Now()
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("cap=%d", n), func(b *testing.B) {
			s := newStore(n)
			for range n {
				if err := s.deliver(msg, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.deliver(msg, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeliverUnderCap: one delivery into an INBOX of n messages, well
// under its cap: only the cap's check, which should not grow with n.
func BenchmarkDeliverUnderCap(b *testing.B) {
	msg := []byte("Subject: bench\r\n\r\n" + strings.Repeat("x", 98) + "\r\n")
	now := time.Now()
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("held=%d", n), func(b *testing.B) {
			s := newStore(n + b.N + 1)
			for range n {
				if err := s.deliver(msg, now); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.deliver(msg, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
