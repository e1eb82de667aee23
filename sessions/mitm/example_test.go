package mitm_test

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/wire"
)

// How a scenario uses the proxy: start it in front of the server, point
// the client's session at it, merge both streams, wait for the proxy to
// finish, then judge from the events.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mitm-example")
	defer os.RemoveAll(dir)
	l, err := lab.Start(ctx, lab.Options{AnyPort: true, StateDir: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	ep, _ := l.Endpoint(587)

	var mu sync.Mutex
	var stream []wire.Event
	emit := func(ev wire.Event) { // one merged stream, as scenario.Run.Emit keeps it
		mu.Lock()
		defer mu.Unlock()
		stream = append(stream, ev)
	}
	p, err := mitm.Start(ctx, mitm.Config{Upstream: ep.Addr, Proto: ep.Proto, Attack: mitm.StripRemove,
		ServerName: lab.Hostname, Emit: emit}) // the proxy names its leg itself
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()

	o, _ := sessions.OptionsForPort(p.Addr(), 587)
	o.TLSMode, o.AllowCleartextAuth = sessions.TLSOpportunistic, true // a careless client
	o.RootCAs, o.ServerName = l.RootCAs(), lab.Hostname
	o.Username, o.Password = lab.DemoUser, lab.DemoPassword
	err = sessions.Run(ctx, o, func(ev wire.Event) {
		ev.Leg = wire.LegClientAttacker
		emit(ev)
	})
	if err := p.Wait(ctx); err != nil {
		fmt.Println(err)
		return
	}

	var onWire, attackerRead bool
	for _, ev := range stream {
		if ev.Credential == nil || ev.Credential.Password != lab.DemoPassword {
			continue
		}
		switch ev.Leg {
		case wire.LegClientAttacker:
			onWire = onWire || ev.Credential.OnWire
		case wire.LegAttackerServer:
			attackerRead = true
		}
	}
	fmt.Println("session error:", err)
	fmt.Println("password in cleartext on the client's leg:", onWire)
	fmt.Println("password read by the attacker:", attackerRead)
	// Output:
	// session error: <nil>
	// password in cleartext on the client's leg: true
	// password read by the attacker: true
}
