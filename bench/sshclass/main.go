// Command sshclass is the class of the mailwire serve benchmark (README
// "Teaching a class over SSH", issue 15 §3): STUDENTS SSH clients
// (golang.org/x/crypto/ssh, each with a pty and a terminal emulator, as
// internal/sshserve/sshtest drives them) log in to a running `mailwire
// serve` and, once a second each for DURATION, run a session on port 587
// from the port table and go back to it. It measures what the students
// see, from the moment a key is sent to the moment the screen that
// reflects it has arrived and been drawn in the student's emulator:
//
//   - enter → frame: enter on the port table to the first frame of the
//     session screen (its header, SMTP 587 · STARTTLS);
//   - enter → done: to the frame where the whole session (56 events, to
//     221 Bye and the close) is on screen, "done in";
//   - esc → frame: esc on the session to the port table's frame (a lone
//     esc is told from the start of an escape sequence by 50 ms without a
//     next byte, ultraviolet's DefaultEscTimeout: the floor of this one);
//   - k/j → frame: a key on the port table (to port 25 and back) to the
//     frame with that port's page.
//
// With -pid it samples the server's memory (VmRSS, and VmHWM at the end,
// from /proc) and its CPU time. bench/serve.sh runs it against a fresh
// server; run it by hand as
//
//	go run ./bench/sshclass -addr 127.0.0.1:2222 -pid $(pgrep -n mailwire)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/mailwire/mailwire/internal/sshserve/sshtest"
)

type options struct {
	addr          string
	students      int
	duration      time.Duration
	every         time.Duration
	idle          time.Duration
	width, height int
	pid           int
	passphrase    string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:2222", "the class server's address")
	flag.IntVar(&o.students, "students", 30, "students at once")
	flag.DurationVar(&o.duration, "duration", time.Minute, "how long each student works")
	flag.DurationVar(&o.every, "every", time.Second, "a session this often, each student")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "how long the logged-in class first sits idle (its CPU is measured)")
	flag.IntVar(&o.width, "width", 80, "each student's window")
	flag.IntVar(&o.height, "height", 24, "")
	flag.IntVar(&o.pid, "pid", 0, "the server's process, for its memory and CPU (0: not measured)")
	flag.StringVar(&o.passphrase, "passphrase", os.Getenv("MAILWIRE_CLASS_PASSPHRASE"), "the class passphrase, if the server asks for one")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "sshclass:", err)
		os.Exit(1)
	}
}

// samples are one kind of latency, from every student.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) row(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := slices.Clone(s.d)
	slices.Sort(d)
	if len(d) == 0 {
		return fmt.Sprintf("| %s | 0 | – | – | – | – |", name)
	}
	q := func(p float64) string { return ms(d[min(len(d)-1, int(p*float64(len(d))))]) }
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s |", name, len(d), q(0.5), q(0.9), q(0.99), ms(d[len(d)-1]))
}

func pct(part, whole time.Duration) float64 { return 100 * float64(part) / float64(whole) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

type results struct {
	enterFrame, enterDone, escFrame, moveFrame samples
	mu                                         sync.Mutex
	sessions                                   int
	errs                                       []string
}

func (r *results) fail(student int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf("student %d: %v", student, err))
}

func run(o options) error {
	mem := startMemory(o.pid)
	var r results
	var wg sync.WaitGroup
	ready := make(chan struct{})
	var joined sync.WaitGroup
	joined.Add(o.students)
	for i := range o.students {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.student(o, i+1, &joined, ready)
		}()
	}
	joined.Wait() // every student logged in and sees the port table
	idle := mem.now()
	// What a class that reads its screens costs: no key for o.idle.
	time.Sleep(o.idle)
	idleEnd := mem.now()
	start := time.Now()
	close(ready)
	wg.Wait()
	elapsed := time.Since(start)
	peak := mem.stop()

	fmt.Printf("%d students, a session each every %s for %s, %d×%d; %d sessions in %s\n\n",
		o.students, o.every, o.duration, o.width, o.height, r.sessions, elapsed.Round(time.Second))
	fmt.Println("| what the student waits for | samples | p50 | p90 | p99 | max |")
	fmt.Println("|---|---|---|---|---|---|")
	fmt.Println(r.enterFrame.row("enter → the session's first frame"))
	fmt.Println(r.enterDone.row("enter → the whole session on screen"))
	fmt.Println(r.escFrame.row("esc → the port table's frame"))
	fmt.Println(r.moveFrame.row("k or j → the port's page on the port table"))
	if o.pid != 0 {
		fmt.Printf("\nserver (pid %d): RSS %s with %d students logged in and idle, %s at most during the run (VmHWM %s)\n",
			o.pid, mib(idle.rss), o.students, mib(peak.maxRSS), mib(peak.hwm))
		fmt.Printf("server CPU: %s in %s of idle students (%.1f%% of one core), %s in the %s run (%.0f%% of one core)\n",
			(idleEnd.cpu - idle.cpu).Round(10*time.Millisecond), o.idle, pct(idleEnd.cpu-idle.cpu, o.idle),
			(peak.cpu - idleEnd.cpu).Round(10*time.Millisecond), elapsed.Round(time.Second), pct(peak.cpu-idleEnd.cpu, elapsed))
	}
	fmt.Printf("the class itself (these %d clients and their terminal emulators, pid %d): CPU %s\n",
		o.students, os.Getpid(), cpuTime(os.Getpid()).Round(10*time.Millisecond))
	if len(r.errs) > 0 {
		fmt.Printf("\n%d errors:\n  %s\n", len(r.errs), strings.Join(r.errs[:min(10, len(r.errs))], "\n  "))
		return errors.New("some students failed")
	}
	return nil
}

// student logs in, waits for the lab, and then runs a session every
// o.every until o.duration has passed.
func (r *results) student(o options, id int, joined *sync.WaitGroup, ready <-chan struct{}) {
	var once sync.Once
	join := func() { once.Do(joined.Done) }
	defer join()
	cfg := &gossh.ClientConfig{User: fmt.Sprintf("student%d", id)}
	if o.passphrase != "" {
		cfg.Auth = []gossh.AuthMethod{gossh.Password(o.passphrase)}
	}
	c, err := sshtest.Dial(o.addr, cfg)
	if err != nil {
		r.fail(id, err)
		return
	}
	st, err := sshtest.Open(c, sshtest.Options{Width: o.width, Height: o.height})
	if err != nil {
		r.fail(id, err)
		c.Close()
		return
	}
	defer st.Close()
	if _, err := st.WaitText(30*time.Second, "lab ready"); err != nil {
		r.fail(id, err)
		return
	}
	// The port table's cursor to 587 (it starts on 25).
	if err := st.Type("j"); err != nil {
		r.fail(id, err)
		return
	}
	if _, err := st.WaitText(10*time.Second, "Port 587: message submission"); err != nil {
		r.fail(id, err)
		return
	}
	join()
	<-ready
	// Spread over the first period, as a class does not press keys in
	// step.
	time.Sleep(rand.N(o.every))
	end := time.Now().Add(o.duration)
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	for time.Now().Before(end) {
		if err := r.cycle(st); err != nil {
			r.fail(id, err)
			return
		}
		<-tick.C
	}
}

// cycle is one session: enter on 587, the session to its end, esc; then
// up to 25 and back down to 587.
func (r *results) cycle(st *sshtest.Student) error {
	t0 := time.Now()
	if err := st.Type("\r"); err != nil {
		return err
	}
	if err := waitScreen(st, "SMTP 587 · STARTTLS"); err != nil {
		return err
	}
	r.enterFrame.add(time.Since(t0))
	if err := waitScreen(st, "done in", "221 2.0.0 Bye"); err != nil {
		return err
	}
	r.enterDone.add(time.Since(t0))
	t1 := time.Now()
	if err := st.Type("\x1b"); err != nil {
		return err
	}
	if err := waitScreen(st, "Port 587: message submission"); err != nil {
		return err
	}
	r.escFrame.add(time.Since(t1))
	for _, k := range []struct{ key, page string }{{"k", "Port 25: SMTP relay"}, {"j", "Port 587: message submission"}} {
		t := time.Now()
		if err := st.Type(k.key); err != nil {
			return err
		}
		if err := waitScreen(st, k.page); err != nil {
			return err
		}
		r.moveFrame.add(time.Since(t))
	}
	r.mu.Lock()
	r.sessions++
	r.mu.Unlock()
	return nil
}

func waitScreen(st *sshtest.Student, all ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	screen, err := st.WaitFor(ctx, func(s string) bool {
		for _, a := range all {
			if !strings.Contains(s, a) {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("waiting for %q: %w; the screen:\n%s", all, err, screen)
	}
	return nil
}
