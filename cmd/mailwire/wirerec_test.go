package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/pcap"
	"github.com/mailwire/mailwire/sessions/wire"
	"github.com/mailwire/mailwire/tui"
)

// pcapPackets writes conns as a pcap, as the export menu does, and reads
// it back: how many packets a reader finds in it.
func pcapPackets(t *testing.T, conns []wire.CaptureConn) int {
	t.Helper()
	var buf bytes.Buffer
	if _, err := pcap.Write(&buf, conns, pcap.Options{}); err != nil {
		t.Fatalf("pcap: %v", err)
	}
	r, err := pcapgo.NewReader(&buf)
	if err != nil {
		t.Fatalf("pcap header: %v", err)
	}
	n := 0
	for {
		_, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("pcap packet %d: %v", n+1, err)
		}
		n++
	}
}

func drainWithin(t *testing.T, ch <-chan wire.Event, d time.Duration) []wire.Event {
	t.Helper()
	var evs []wire.Event
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return evs
			}
			evs = append(evs, ev)
		case <-timeout:
			t.Fatalf("the session did not end within %v", d)
		}
	}
}

// TestOpenersRecordWire: every opener of the session screen (the lab's
// scripted session and scenario, a target's scripted session, the typed
// prompt) keeps the wire in the recorders the screen gives it, so that
// the export menu's pcap has packets and its key log secrets, and writes
// the secrets to $SSLKEYLOGFILE's file (base.KeyLog) too. The target
// opener once did not: `mailwire connect` then `x`, pcap wrote an empty
// pcap (24 bytes) and no key log. The lab serves as the target.
func TestOpenersRecordWire(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	target := func(port int, prompt bool) tui.SessionRequest {
		ep, _ := l.Endpoint(port)
		return tui.SessionRequest{Port: port, Target: ep.Addr, ServerName: lab.Hostname, CAFile: l.CAPath(), Label: "target", Prompt: prompt}
	}
	type opened struct {
		ch    <-chan wire.Event
		close func()
	}
	cases := []struct {
		name  string
		conns int // at least
		keys  []string
		open  func(ctx context.Context, env io.Writer) (opened, error)
	}{
		{"target scripted 587", 1, []string{"CLIENT_TRAFFIC_SECRET_0 "}, func(ctx context.Context, env io.Writer) (opened, error) {
			var last runRecord
			ch, err := targetOpener(sessions.Options{KeyLog: env}, &last)(ctx, target(587, false))
			return opened{ch: ch}, err
		}},
		{"typed prompt 465", 1, []string{"CLIENT_TRAFFIC_SECRET_0 "}, func(ctx context.Context, env io.Writer) (opened, error) {
			h, ch, err := promptOpener(sessions.Options{KeyLog: env}, nil)(ctx, target(465, true))
			if err != nil {
				return opened{}, err
			}
			// Implicit TLS: the handshake is done before anything is
			// typed; QUIT ends the session.
			if err := h.Send(sessions.Input{Line: "QUIT"}); err != nil {
				return opened{}, err
			}
			return opened{ch: ch, close: h.Close}, nil
		}},
		{"lab scripted 993", 1, []string{"CLIENT_TRAFFIC_SECRET_0 "}, func(ctx context.Context, env io.Writer) (opened, error) {
			k := &labKeeper{lab: l, keys: env}
			ch, err := k.openSession(ctx, tui.SessionRequest{Port: 993, Label: "lab"})
			return opened{ch: ch}, err
		}},
		// Every leg of a scenario: TLS 1.2's secret and TLS 1.3's.
		{"lab scenario tls12-vs-13", 2, []string{"CLIENT_RANDOM ", "CLIENT_TRAFFIC_SECRET_0 "}, func(ctx context.Context, env io.Writer) (opened, error) {
			k := &labKeeper{lab: l, keys: env}
			ch, err := k.openSession(ctx, tui.SessionRequest{Port: 587, Scenario: "tls12-vs-13", Label: "lab"})
			return opened{ch: ch}, err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			capture, buf, env := wire.NewCapture(0), &wire.KeyLogBuffer{}, &wire.KeyLogBuffer{}
			ctx, cancel := context.WithTimeout(tui.WithWireRecorders(context.Background(), capture, buf), 30*time.Second)
			defer cancel()
			o, err := c.open(ctx, env)
			if err != nil {
				t.Fatal(err)
			}
			evs := drainWithin(t, o.ch, 40*time.Second)
			if o.close != nil {
				o.close()
			}
			for _, ev := range evs {
				if ev.Kind == wire.KindError {
					t.Errorf("session error: %s", ev.Text)
				}
			}
			conns := capture.Snapshot()
			if len(conns) < c.conns {
				t.Fatalf("capture holds %d connections, want %d at least", len(conns), c.conns)
			}
			if n := pcapPackets(t, conns); n < 6 {
				t.Errorf("pcap holds %d packets", n)
			}
			for name, k := range map[string][]byte{"the screen's key log": buf.Bytes(), "$SSLKEYLOGFILE": env.Bytes()} {
				for _, want := range c.keys {
					if !bytes.Contains(k, []byte(want)) {
						t.Errorf("%s lacks %q:\n%s", name, want, k)
					}
				}
			}
		})
	}
}

// TestScenarioExports: --pcap, --keylog and --cast with --scenario write
// every leg's connections (to the lab's port written as 587), every leg's
// secrets and the merged stream's cast (they were silently ignored).
func TestScenarioExports(t *testing.T) {
	dir := t.TempDir()
	pcapFile, keyFile, castFile := filepath.Join(dir, "s.pcap"), filepath.Join(dir, "s.keys"), filepath.Join(dir, "s.cast")
	t.Setenv("SSLKEYLOGFILE", "")
	_, errOut, err := runSessionCmd(t, context.Background(), "--scenario", "tls12-vs-13", "--port", "587",
		"--state-dir", filepath.Join(dir, "lab"), "--pcap", pcapFile, "--keylog", keyFile,
		"--cast", castFile, "--cast-size", "80x24", "--cast-pause", "100ms")
	if code := exitCode(err); code != exitUnsafe { // TLS 1.2's leg shows the certificate
		t.Fatalf("exit status %d: %v\n%s", code, err, errOut)
	}
	for _, want := range []string{"WARNING: writing this scenario's TLS secrets to " + keyFile + " (--keylog)",
		"pcap " + pcapFile, "cast " + castFile, "key log " + keyFile} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	b, err := os.ReadFile(pcapFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// Each leg's connection opens with its own SYN.
	syns := 0
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		// Ethernet (14) + IPv4 (20): TCP flags at byte 13 of the header.
		// The lab's port is written as the canonical one, for
		// Wireshark's dissectors.
		if tcp := data[min(len(data), 14+20):]; len(tcp) > 13 && tcp[13]&0x12 == 0x02 {
			syns++
			if port := int(tcp[2])<<8 | int(tcp[3]); port != 587 {
				t.Errorf("a connection to port %d, want 587", port)
			}
		}
	}
	if syns < 2 {
		t.Errorf("pcap holds %d connections, want one per leg (2)", syns)
	}
	keys, _ := os.ReadFile(keyFile)
	for _, want := range []string{"CLIENT_RANDOM ", "CLIENT_TRAFFIC_SECRET_0 "} {
		if !bytes.Contains(keys, []byte(want)) {
			t.Errorf("key log lacks %q (TLS 1.2's leg and 1.3's):\n%s", want, keys)
		}
	}
	cast, err := os.ReadFile(castFile)
	if err != nil || !strings.HasPrefix(string(cast), `{"version":2,"width":80,"height":24`) || !strings.Contains(string(cast), "tls12-vs-13") {
		t.Errorf("cast: %v %.200q", err, cast)
	}
}

// TestSSLKeyLogFileEntryPoints: $SSLKEYLOGFILE gets the secrets of
// connect's line mode and of a scenario, not only of a plain session; it
// is appended to, with a warning.
func TestSSLKeyLogFileEntryPoints(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	keys := filepath.Join(t.TempDir(), "sslkeylog")
	if err := os.WriteFile(keys, []byte("# earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSLKEYLOGFILE", keys)

	ep, _ := l.Endpoint(587)
	code, _, errOut := runMailwireIn(t, "EHLO me.test\r\nSTARTTLS\r\nEHLO me.test\r\nQUIT\r\n",
		"connect", ep.Addr, "--sni", lab.Hostname, "--ca-file", l.CAPath(), "--format", "json")
	if code != exitOK {
		t.Fatalf("connect: exit status %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "WARNING: writing these sessions' TLS secrets to "+keys+" (SSLKEYLOGFILE)") {
		t.Errorf("connect's stderr lacks the warning:\n%s", errOut)
	}
	afterConnect, _ := os.ReadFile(keys)
	if !strings.HasPrefix(string(afterConnect), "# earlier\n") || !strings.Contains(string(afterConnect), "CLIENT_TRAFFIC_SECRET_0 ") {
		t.Fatalf("key log after connect:\n%s", afterConnect)
	}

	_, errOut, err = runSessionCmd(t, context.Background(), "--scenario", "tls12-vs-13", "--port", "587",
		"--state-dir", filepath.Join(t.TempDir(), "lab"))
	if code := exitCode(err); code != exitUnsafe {
		t.Fatalf("scenario: exit status %d: %v\n%s", code, err, errOut)
	}
	if !strings.Contains(errOut, "WARNING: writing this scenario's TLS secrets to "+keys+" (SSLKEYLOGFILE)") {
		t.Errorf("the scenario's stderr lacks the warning:\n%s", errOut)
	}
	all, _ := os.ReadFile(keys)
	added := strings.TrimPrefix(string(all), string(afterConnect))
	if len(added) == len(all) || !strings.Contains(added, "CLIENT_RANDOM ") || !strings.Contains(added, "CLIENT_TRAFFIC_SECRET_0 ") {
		t.Errorf("the scenario appended:\n%s", added)
	}
}

// TestOpenKeyLogMode: --keylog's file is 0600 even when it existed with a
// wider mode (O_TRUNC keeps an existing file's mode); a fresh
// $SSLKEYLOGFILE is created 0600 and an existing one keeps its owner's.
func TestOpenKeyLogMode(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "old.keys")
	if err := os.WriteFile(old, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(old, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	k, err := openKeyLog(io.Discard, old, "test")
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	if fi, err := os.Stat(old); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 0 {
		t.Errorf("--keylog over a 0644 file: %v, %v (want 0600, truncated)", fi.Mode().Perm(), err)
	}

	shared := filepath.Join(dir, "shared.keys")
	t.Setenv("SSLKEYLOGFILE", shared)
	k, err = openKeyLog(io.Discard, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	k.Close()
	if fi, err := os.Stat(shared); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a fresh $SSLKEYLOGFILE: %v, %v (want 0600)", fi.Mode().Perm(), err)
	}
}

// TestCreatePrivate: what --record, --keylog, --pcap and --cast write is
// 0600 and truncated, even over an existing 0644 file.
func TestCreatePrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "old")
	if err := os.WriteFile(p, []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := createPrivate(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 0 {
		t.Errorf("over a 0644 file: %v, %v (want 0600, truncated)", fi.Mode().Perm(), err)
	}
}
