package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/tui"
)

// The terminal interface scans its lab (a lesson's scan link): progress,
// then a report of every port, graded; no lab, or a port that is not the
// lab's, is refused.
func TestLabKeeperScan(t *testing.T) {
	k := &labKeeper{listen: "127.0.0.1", offset: 21000 + os.Getpid()%20000, stateDir: t.TempDir()}
	if _, err := k.openScan(context.Background(), tui.ScanRequest{}); err == nil {
		t.Fatal("a scan without a lab started")
	}
	info, err := k.start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	req := tui.ScanRequest{Host: info.ListenHost, ServerName: info.Hostname, CAFile: info.CAPath, Addrs: map[int]string{}}
	for _, p := range info.Ports() {
		req.Ports = append(req.Ports, p)
		req.Addrs[p] = info.Endpoints[p]
	}
	bad := req
	bad.Addrs = map[int]string{25: "127.0.0.1:1"}
	bad.Ports = []int{25}
	if _, err := k.openScan(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "not the lab's") {
		t.Errorf("a port elsewhere: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, err := k.openScan(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	progress := 0
	var last tui.ScanUpdate
	for u := range ch {
		if u.Progress != nil {
			progress++
		}
		last = u
	}
	if progress == 0 || last.Report == nil {
		t.Fatalf("%d progress updates, report %v", progress, last.Report)
	}
	if len(last.Report.Ports) != len(req.Ports) || len(last.Report.Findings) == 0 {
		t.Errorf("report of %d ports (want %d), %d findings", len(last.Report.Ports), len(req.Ports), len(last.Report.Findings))
	}
}
