package loadgen

import (
	"context"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
)

// BenchmarkLoadSubmission500 runs b.N STARTTLS+AUTH submission sessions on
// port 587, 500 at a time, against an in-process lab with its connection
// caps raised to 1000 (the defaults, 64 in all and 16 per client, would
// refuse most of them). Client and lab share the process and its CPUs, so
// the rate is a lower bound for the lab alone. Run with -benchtime=2000x so
// that all 500 are open together:
//
//	go test ./sessions/loadgen -run '^$' -bench LoadSubmission500 -benchtime 2000x
func BenchmarkLoadSubmission500(b *testing.B) {
	l := startLab(b, func(o *lab.Options) {
		o.Limits = lab.Limits{MaxConns: 1000, MaxConnsPerClient: 1000}
	})
	o := labOptions(b, l, 587)
	o.Concurrency, o.Sessions, o.Hold, o.Timeout = 500, b.N, true, time.Minute
	b.ResetTimer()
	r, err := Run(context.Background(), o)
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
