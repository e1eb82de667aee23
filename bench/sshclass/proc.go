package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memory samples a process's resident memory from /proc (Linux).
type memory struct {
	pid  int
	done chan struct{}
	wg   sync.WaitGroup

	mu     sync.Mutex
	maxRSS int64
}

// reading is what memory measured.
type reading struct {
	rss, maxRSS, hwm int64 // bytes
	cpu              time.Duration
}

func startMemory(pid int) *memory {
	m := &memory{pid: pid, done: make(chan struct{})}
	if pid == 0 {
		return m
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			if rss := statusKiB(pid, "VmRSS:") * 1024; rss > 0 {
				m.mu.Lock()
				m.maxRSS = max(m.maxRSS, rss)
				m.mu.Unlock()
			}
			select {
			case <-m.done:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// now is the resident memory at this moment, and the CPU time so far.
func (m *memory) now() reading {
	if m.pid == 0 {
		return reading{}
	}
	return reading{rss: statusKiB(m.pid, "VmRSS:") * 1024, cpu: cpuTime(m.pid)}
}

// stop ends the sampling: the largest RSS seen, the kernel's high-water
// mark, the CPU time.
func (m *memory) stop() reading {
	close(m.done)
	m.wg.Wait()
	if m.pid == 0 {
		return reading{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return reading{maxRSS: m.maxRSS, hwm: statusKiB(m.pid, "VmHWM:") * 1024, cpu: cpuTime(m.pid)}
}

// statusKiB reads a "Name:  N kB" line of /proc/PID/status.
func statusKiB(pid int, name string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// cpuTime is the process's user and system time (/proc/PID/stat fields
// 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count after its ')'.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	k, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+k) * 10 * time.Millisecond
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
