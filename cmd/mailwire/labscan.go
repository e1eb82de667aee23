package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/tui"
)

// openScan is the terminal interface's scan opener: the scan of the
// running lab's own ports that a lesson's link opens, as `mailwire scan
// --lab` scans them (the lab's name and CA). It scans nothing else.
func (k *labKeeper) openScan(ctx context.Context, r tui.ScanRequest) (<-chan tui.ScanUpdate, error) {
	k.mu.Lock()
	l := k.lab
	k.mu.Unlock()
	if l == nil {
		return nil, errors.New("scan: the lab is not running")
	}
	addrs := map[int]string{}
	for _, e := range l.Endpoints() {
		addrs[e.Canonical] = e.Addr
	}
	so := scan.Options{Host: lab.Hostname, ServerName: lab.Hostname, Roots: l.RootCAs()}
	for _, p := range r.Ports {
		if addr, ok := addrs[p]; !ok || addr != r.Addrs[p] {
			return nil, fmt.Errorf("scan: port %d at %s is not the lab's", p, r.Addrs[p])
		}
		so.Ports = append(so.Ports, scan.Port{Canonical: p, Addr: r.Addrs[p]})
	}
	return streamScan(ctx, so, nil), nil
}
