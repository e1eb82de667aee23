package scan

import (
	"context"
	"encoding/json"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions/lab"
)

// hostileScanLimit is the time limit of one hostile case's scan.
const hostileScanLimit = 8 * time.Second

// TestScanHostile runs the hostile lab servers through the scan, each as
// the port it pretends to be: the floods of issue 11 (tiny records, huge
// literals, endless replies, oversized records, long chains, alerts where
// a greeting belongs) and a sample of the injection cases (all with
// MAILWIRE_HOSTILE_SWEEP=1). Each scan ends within its time limit, its
// report holds no control byte and is of bounded size, every case has
// findings that say what happened, and the heap stays bounded throughout.
func TestScanHostile(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile scans take a while")
	}
	cases := lab.HostileSweepCases()
	for i, c := range lab.HostileCases() {
		if os.Getenv("MAILWIRE_HOSTILE_SWEEP") != "" || i%12 == 0 {
			cases = append(cases, c)
		}
	}
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	})
	sem := make(chan struct{}, 6)
	var wg sync.WaitGroup
	for _, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			scanHostileCase(t, c)
		})
	}
	wg.Wait()
	close(stop)
	sampler.Wait()
	t.Logf("%d hostile cases scanned; peak heap %d MiB", len(cases), peak.Load()>>20)
	if peak.Load() > 512<<20 {
		t.Errorf("peak heap %d MiB scanning hostile servers", peak.Load()>>20)
	}
}

func scanHostileCase(t *testing.T, c lab.HostileCase) {
	s, err := lab.StartHostile(context.Background(), c.Name, lab.HostileOptions{MaxConns: 2000,
		TrickleInterval: 20 * time.Millisecond, ConnTimeout: 30 * time.Second, Lifetime: time.Minute})
	if err != nil {
		t.Errorf("%s: %v", c.Name, err)
		return
	}
	defer s.Close()
	o := Options{Host: "127.0.0.1", Ports: []Port{{c.Port(), s.Addr()}}, ServerName: lab.Hostname, Roots: s.RootCAs(),
		Timeout: hostileScanLimit, ReadTimeout: 2 * time.Second, ProbeTimeout: 2 * time.Second}
	start := time.Now()
	rep := Scan(context.Background(), o)
	if el := time.Since(start); el > hostileScanLimit+5*time.Second {
		t.Errorf("%s: the scan took %v (limit %v)", c.Name, el, hostileScanLimit)
	}
	if len(rep.Findings) == 0 {
		t.Errorf("%s: no findings", c.Name)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Errorf("%s: %v", c.Name, err)
	}
	if len(b) > 4<<20 {
		t.Errorf("%s: a report of %d bytes", c.Name, len(b))
	}
	for _, f := range rep.Findings {
		if strings.ContainsAny(f.Detail, "\x00\x07\x1b\r\n\u009b") || strings.ContainsAny(f.Title, "\x1b") {
			t.Errorf("%s: a control byte in %s: %q", c.Name, f.Key, f.Detail)
		}
	}
	pr := rep.Ports[0]
	for _, s := range append(append([]string{pr.Greeting}, pr.CapsBefore...), pr.Errors...) {
		if strings.ContainsAny(s, "\x00\x07\x1b\r\n\u009b") {
			t.Errorf("%s: a control byte in the port report: %q", c.Name, s)
		}
	}
}
