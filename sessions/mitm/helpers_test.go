package mitm_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/mitm"
	"github.com/mailwire/mailwire/sessions/wire"
)

// recorder collects the proxy's events.
type recorder struct {
	mu  sync.Mutex
	evs []wire.Event
}

func (r *recorder) emit(ev wire.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, ev)
}

func (r *recorder) events() []wire.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}

func startLab(t *testing.T) *lab.Lab {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l, err := lab.Start(ctx, lab.Options{AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// startProxy puts a proxy with attack in front of the lab's endpoint for a
// canonical port.
func startProxy(t *testing.T, l *lab.Lab, port int, attack mitm.Attack) (*mitm.Proxy, *recorder) {
	t.Helper()
	ep, ok := l.Endpoint(port)
	if !ok {
		t.Fatalf("lab has no endpoint %d", port)
	}
	rec := &recorder{}
	p, err := mitm.Start(context.Background(), mitm.Config{
		Upstream: ep.Addr, Proto: ep.Proto, Implicit: ep.TLS == lab.TLSImplicit, Attack: attack,
		ServerName: lab.Hostname, Emit: rec.emit, Timeout: 5 * time.Second, SessionTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p, rec
}

// clientOptions are a mailwire session's options for a canonical port,
// dialing the proxy, trusting the lab's CA, with the demo credentials.
func clientOptions(t *testing.T, l *lab.Lab, p *mitm.Proxy, port int, mode sessions.TLSMode) sessions.Options {
	t.Helper()
	o, err := sessions.OptionsForPort(p.Addr(), port)
	if err != nil {
		t.Fatal(err)
	}
	o.TLSMode = mode
	o.RootCAs, o.Verify = l.RootCAs(), wire.VerifyPool
	o.ServerName = lab.Hostname
	o.Username, o.Password = lab.DemoUser, lab.DemoPassword
	o.EHLOName = "client.mailwire.invalid"
	o.ReadTimeout, o.SessionTimeout = 5*time.Second, 30*time.Second
	return o
}

// runThrough runs a client session through the proxy and returns the
// client's events, the proxy's (after every proxied connection ended) and
// the session's error.
func runThrough(t *testing.T, p *mitm.Proxy, rec *recorder, o sessions.Options) ([]wire.Event, []wire.Event, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	evs, err := sessions.Collect(ctx, o)
	if werr := p.Wait(ctx); werr != nil {
		t.Fatalf("proxy did not finish: %v", werr)
	}
	pevs := rec.events()
	for _, ev := range pevs {
		if ev.Leg != wire.LegAttackerServer {
			t.Errorf("proxy event %q on leg %q, want %q", ev.Text, ev.Leg, wire.LegAttackerServer)
		}
	}
	assertKeysResolve(t, pevs)
	if t.Failed() {
		dump(t, "client", evs)
		dump(t, "proxy", pevs)
	}
	return evs, pevs, err
}

func dump(t *testing.T, who string, evs []wire.Event) {
	t.Helper()
	for _, ev := range evs {
		t.Logf("%s %-9s %-5s %-9s %-24s %s", who, ev.Kind, ev.Dir, ev.Layer, ev.Annotation, wire.SafeString(ev.Text))
	}
}

// assertKeysResolve: every annotation the proxy emits leads to prose, and
// the attack's own keys to their own entries.
func assertKeysResolve(t *testing.T, evs []wire.Event) {
	t.Helper()
	for _, ev := range evs {
		keys := append([]string{ev.Annotation}, ev.Also...)
		for _, k := range keys {
			if k == "" {
				continue
			}
			a, ok := content.Lookup(k)
			if !ok {
				t.Errorf("annotation %q of %q has no entry", k, ev.Text)
			} else if strings.HasPrefix(k, "attack.") && a.Key != k {
				t.Errorf("annotation %q only resolves to %q", k, a.Key)
			}
		}
	}
}

// credentials returns the events carrying a credential with a password.
func credentials(evs []wire.Event) []wire.Event {
	var out []wire.Event
	for _, ev := range evs {
		if ev.Credential != nil {
			out = append(out, ev)
		}
	}
	return out
}

// assertNoCredential: no credential crossed the client's leg or the
// attacker's.
func assertNoCredential(t *testing.T, evs, pevs []wire.Event) {
	t.Helper()
	if c := credentials(append(slices.Clone(evs), pevs...)); len(c) > 0 {
		t.Errorf("a credential crossed: %q", c[0].Text)
	}
}

func explainOf(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == wire.KindError && ev.Err != nil {
			out = append(out, ev.Err.Explain)
		}
	}
	return out
}

func hasAnnotation(evs []wire.Event, key string) bool {
	return slices.ContainsFunc(evs, func(ev wire.Event) bool { return ev.Annotation == key })
}

func hasKind(evs []wire.Event, k wire.Kind) bool {
	return slices.ContainsFunc(evs, func(ev wire.Event) bool { return ev.Kind == k })
}
