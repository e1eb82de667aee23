package lab

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLoadSubmission500 runs b.N STARTTLS+AUTH submission sessions on
// port 587, 500 at a time, against an in-process lab with its connection
// caps raised to 1000 (the defaults, 64 in all and 16 per client, would
// refuse most of them). Client and lab share the process and its CPUs, so
// the rate is a lower bound for the lab alone. Run with -benchtime=2000x so
// that all 500 are open together:
//
//	go test ./sessions/lab -run '^$' -bench LoadSubmission500 -benchtime 2000x
func BenchmarkLoadSubmission500(b *testing.B) {
	l, err := Start(context.Background(), Options{
		ListenHost: "127.0.0.1",
		AnyPort:    true,
		StateDir:   b.TempDir(),
		Limits:     Limits{MaxConns: 1000, MaxConnsPerClient: 1000},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	e, _ := l.Endpoint(587)
	o := LoadOptions{
		Target:      e.Addr,
		TLS:         clientTLS(l),
		User:        DemoUser,
		Password:    DemoPassword,
		Concurrency: 500,
		Sessions:    b.N,
		Hold:        true,
		Timeout:     time.Minute,
	}
	b.ResetTimer()
	r, err := RunLoad(context.Background(), o)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if r.Failed > 0 {
		b.Fatalf("%d of %d sessions failed: %v", r.Failed, r.Sessions, r.Errors)
	}
	b.ReportMetric(r.Rate, "sessions/s")
	b.ReportMetric(float64(r.PeakOpen), "peak-open")
	b.ReportMetric(float64(r.PeakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(r.P99.Microseconds())/1000, "p99-ms")
}
