package sessions_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Benchmarks of the session budget (issue 11, README "Performance"): the
// peak heap of a whole session, the events collected as the CLI holds
// them, against the lab's worst volume cases.
//
//	go test ./sessions -run '^$' -bench Budget -benchtime 3x
//
// The heap is sampled every millisecond; peak-heap-MiB is the highest
// HeapInuse seen above the heap before the session, and it includes the
// hostile server in the same process (its buffers are small: it writes
// from one reusable chunk).

// benchBudget plays case name b.N times and reports the peak heap, the
// events kept and the bytes their Raw holds in all.
func benchBudget(b *testing.B, name string, mod func(*sessions.Options)) {
	c, ok := lab.HostileCaseByName(name)
	if !ok {
		b.Fatalf("no case %s", name)
	}
	s, err := lab.StartHostile(context.Background(), name, lab.HostileOptions{MaxConns: 1 << 20, Lifetime: time.Hour, ConnTimeout: 5 * time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	o := sessions.Options{
		Target: s.Addr(), Proto: c.Proto, TLSMode: sessions.TLSMode(c.TLS),
		ServerName: lab.Hostname, Verify: wire.VerifyPool, RootCAs: s.RootCAs(),
		Username: lab.DemoUser, Password: lab.DemoPassword, Role: sessions.RoleRetrieval, Fetch: true,
		ReadTimeout: 30 * time.Second, SessionTimeout: 5 * time.Minute,
	}
	if mod != nil {
		mod(&o)
	}
	var peak uint64
	var events, kept int
	b.ResetTimer()
	for range b.N {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() {
			var p uint64
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				p = max(p, ms.HeapInuse)
				select {
				case <-stop:
					done <- p
					return
				case <-time.After(time.Millisecond):
				}
			}
		}()
		evs, err := sessions.Collect(context.Background(), o)
		close(stop)
		if p := <-done; p > base {
			peak = max(peak, p-base)
		}
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		events, kept = len(evs), 0
		for _, ev := range evs {
			kept += len(ev.Raw)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(events), "events")
	b.ReportMetric(float64(kept)/(1<<20), "kept-MiB")
	if peak > 200<<20 {
		b.Errorf("peak heap %d MiB, over 200 MiB", peak>>20)
	}
}

// BenchmarkBudgetRecordFlood: a 1,000,000-byte message, one byte per TLS
// record (pop3s-fetch-tiny-records): a million records, coalesced.
func BenchmarkBudgetRecordFlood(b *testing.B) {
	benchBudget(b, "pop3s-fetch-tiny-records", nil)
}

// BenchmarkBudgetHugeLiteral: a 1 GiB IMAP literal (imaps-fetch-literal-1g),
// read in chunks and kept up to the budget.
func BenchmarkBudgetHugeLiteral(b *testing.B) {
	benchBudget(b, "imaps-fetch-literal-1g", nil)
}
