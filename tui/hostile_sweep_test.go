package tui

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The session screen's side of the hostile sweep (issue 11; the CLI's is
// cmd/mailwire/hostile_sweep_test.go): the events of a session against
// each sweep case, written as JSON Lines and read back (wire.ReadJSON, as
// a recording is), go into the session screen, whose every row is then
// selected in both lenses. The heap may grow by at most sweepMaxHeap over
// the whole run, the screen must take the events quickly (it once spent
// 30 s on the 400,000 records the CLI printed in 3.6 s), and no frame may
// carry a control byte from the peer.
//
// The cases of sweepScreenShort run in every go test; all of them with
// MAILWIRE_HOSTILE_SWEEP=1. MAILWIRE_HOSTILE_SWEEP_EVENTS=dir reads the
// JSON the CLI sweep recorded there instead of running the sessions.

const (
	sweepMaxHeap   = 200 << 20
	sweepMaxIngest = 2 * time.Second // the events into the screen, and its first frame
	sweepRows      = 200             // rows selected per lens (the first, then the last)
)

var sweepScreenShort = []string{
	"smtp-after-tls-tiny-records",
	"smtp-greeting-tls-alert",
	"smtp-handshake-long-chain",
	"imap-capabilities-literals",
	"smtps-handshake-tiny-records",
}

// sweepSessionEvents plays case c against the engine with the default
// budget, as `mailwire session` does with the case's client flags.
func sweepSessionEvents(t *testing.T, c lab.HostileCase) []wire.Event {
	t.Helper()
	s, err := lab.StartHostile(context.Background(), c.Name, lab.HostileOptions{MaxConns: 2, Lifetime: 5 * time.Minute, ConnTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o := sessions.Options{
		Target: s.Addr(), Proto: c.Proto, TLSMode: sessions.TLSMode(c.TLS),
		ServerName: lab.Hostname, Verify: wire.VerifyPool, RootCAs: s.RootCAs(),
		Username: lab.DemoUser, Password: "hostile-sweep", Role: sessions.RoleSubmission,
		ReadTimeout: 2 * time.Second, SessionTimeout: 10 * time.Second,
	}
	if c.Proto == "https" {
		o.Username, o.Password, o.Role = "", "", sessions.RoleWeb
	}
	flags := c.ClientFlags
	for i := 0; i < len(flags); i++ {
		switch flags[i] {
		case "--fetch":
			o.Fetch = true
		case "--to":
			i++
			o.To = flags[i]
		case "--tls-min":
			i++
			o.MinTLS = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11}[flags[i]]
		case "--scenario":
			i++
			env := scenario.Env{Endpoints: map[int]string{c.Port(): s.Addr()}, ServerName: lab.Hostname, RootCAs: s.RootCAs(),
				ReadTimeout: 2 * time.Second, SessionTimeout: 10 * time.Second}
			evs, _ := scenario.Collect(context.Background(), scenario.Request{Name: flags[i], Port: c.Port(), Env: env})
			return evs
		}
	}
	evs, _ := sessions.Collect(context.Background(), o)
	return evs
}

// sweepRecorded returns the case's events as a recording holds them:
// written as JSON Lines and read back.
func sweepRecorded(t *testing.T, c lab.HostileCase) []wire.Event {
	t.Helper()
	var js []byte
	if dir := os.Getenv("MAILWIRE_HOSTILE_SWEEP_EVENTS"); dir != "" {
		b, err := os.ReadFile(filepath.Join(dir, c.Name+".jsonl"))
		if err != nil {
			t.Skipf("no recording: %v", err)
		}
		js = b
	} else {
		var b bytes.Buffer
		if err := render.JSON(&b, sweepSessionEvents(t, c), render.Options{Lens: lens.Endpoint}); err != nil {
			t.Fatal(err)
		}
		js = b.Bytes()
	}
	evs, err := wire.ReadJSON(bytes.NewReader(js), 1_000_000, 16<<20)
	if err != nil {
		t.Fatalf("ReadJSON: %v", err)
	}
	return evs
}

// heapPeak samples the heap in use until stop is closed and returns the
// highest value seen.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return out
}

func TestSessionScreenSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("plays hostile servers that send megabytes")
	}
	full := os.Getenv("MAILWIRE_HOSTILE_SWEEP") != ""
	for _, c := range lab.HostileSweepCases() {
		if !full && !slices.Contains(sweepScreenShort, c.Name) {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			base := ms.HeapInuse
			stop := make(chan struct{})
			peak := heapPeak(stop)
			var ingest atomic.Int64

			evs := sweepRecorded(t, c)
			if len(evs) == 0 {
				t.Fatal("no events")
			}
			start := time.Now()
			m := newSessionModel(t, 120, 40, &fakeSessions{evs: evs})
			s := session(m)
			frame := m.View().Content
			ingest.Store(int64(time.Since(start)))
			if len(s.evs) != len(evs) {
				t.Fatalf("the screen holds %d of %d events", len(s.evs), len(evs))
			}
			assertInertView(t, "first frame", frame)
			for _, l := range []string{"endpoint", "eavesdropper"} {
				mustUpdate(t, m, keyText('g'))
				for i := 0; i <= min(len(s.tl.rows), sweepRows); i++ {
					if i == sweepRows/2 && len(s.tl.rows) > sweepRows {
						mustUpdate(t, m, keyText('G'))
					}
					if !assertInertView(t, l, m.View().Content) {
						break
					}
					mustUpdate(t, m, keyCode(tea.KeyDown))
				}
				mustUpdate(t, m, keyCode(tea.KeyTab))
			}
			close(stop)
			grew := int64(<-peak) - int64(base)
			took := time.Duration(ingest.Load())
			t.Logf("%d events; the screen took them in %v; heap grew by at most %d MiB", len(evs), took.Round(time.Millisecond), max(grew, 0)>>20)
			if grew > sweepMaxHeap {
				t.Errorf("heap grew by %d MiB; bound %d MiB", grew>>20, sweepMaxHeap>>20)
			}
			if took > sweepMaxIngest {
				t.Errorf("the screen took %v for %d events; bound %v", took, len(evs), sweepMaxIngest)
			}
			// The budget's notes and the coalesced runs reach the screen
			// as the CLI shows them.
			if i := slices.IndexFunc(evs, func(ev wire.Event) bool { return strings.HasPrefix(ev.Annotation, "session.budget.") }); i >= 0 {
				if s.evs[i].Annotation != evs[i].Annotation {
					t.Errorf("event %d changed on the way in", i)
				}
			}
		})
	}
}
