package lens_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

var (
	labOnce sync.Once
	theLab  *lab.Lab
	labErr  error
)

// sharedLab starts one lab for the package's tests (they only read from it).
func sharedLab(t *testing.T) *lab.Lab {
	t.Helper()
	labOnce.Do(func() {
		theLab, labErr = lab.Start(context.Background(), lab.Options{
			ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir(),
		})
	})
	if labErr != nil {
		t.Fatalf("lab: %v", labErr)
	}
	return theLab
}

// labSession runs one session against the lab on a canonical port, with
// TLS at most maxTLS.
func labSession(t *testing.T, port int, maxTLS uint16) []wire.Event {
	t.Helper()
	l := sharedLab(t)
	ep, ok := l.Endpoint(port)
	if !ok {
		t.Fatalf("no lab endpoint %d", port)
	}
	o, err := sessions.OptionsForPort(ep.Addr, port)
	if err != nil {
		t.Fatal(err)
	}
	o.ServerName = lab.Hostname
	o.Verify, o.RootCAs = wire.VerifyPool, l.RootCAs()
	o.Username, o.Password = lab.DemoUser, lab.DemoPassword
	o.EHLOName = "client.test"
	o.MaxTLS = maxTLS
	if o.Proto == protocol.SMTP {
		o.To = lab.DemoUser + "@" + lab.Hostname // the lab's demo: a message, sent inside TLS
	}
	o.ReadTimeout, o.SessionTimeout = 5*time.Second, 20*time.Second
	evs, err := sessions.Collect(context.Background(), o)
	if err != nil {
		t.Fatalf("session on %d: %v", port, err)
	}
	return evs
}

var ports = []int{25, 587, 465, 110, 995, 143, 993, 443}

func implicitPort(p int) bool { return p == 465 || p == 995 || p == 993 || p == 443 }

func TestParse(t *testing.T) {
	for _, l := range lens.All() {
		got, err := lens.Parse(l.String())
		if err != nil || got != l {
			t.Errorf("Parse(%q) = %v, %v", l, got, err)
		}
	}
	if l, err := lens.Parse(""); err != nil || l != lens.Endpoint {
		t.Errorf(`Parse("") = %v, %v; want the endpoint lens`, l, err)
	}
	if _, err := lens.Parse("attacker"); err == nil {
		t.Error("Parse accepted an unknown lens")
	}
	var l lens.Lens
	if err := l.UnmarshalText([]byte("eavesdropper")); err != nil || l != lens.Eavesdropper {
		t.Errorf("UnmarshalText = %v, %v", l, err)
	}
}

// TestObserveLabSessions checks, at every event of a session on every port
// and both TLS versions, that what the observer has learned is true of the
// wire so far: nothing before it crossed, nothing only an endpoint knows.
func TestObserveLabSessions(t *testing.T) {
	for _, port := range ports {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(fmt.Sprintf("%d/%s", port, tls.VersionName(ver)), func(t *testing.T) {
				evs := labSession(t, port, ver)
				checkObservations(t, port, ver, evs)
			})
		}
	}
}

func checkObservations(t *testing.T, port int, ver uint16, evs []wire.Event) {
	t.Helper()
	first := lens.Observe(evs, 0, "")
	if evs[0].Kind != wire.KindConnect || !first.Connected {
		t.Fatalf("event 1 is %s; observation %+v", evs[0].Kind, first)
	}
	if first.Readable() || first.TLSBegun() || len(first.SNI) > 0 || first.EncryptedRecords > 0 {
		t.Errorf("at the TCP connect the observer already knows %+v", first)
	}
	var prev lens.Observation
	ob := lens.NewObserver("")
	for i := range evs {
		got := lens.Observe(evs, i, "")
		ob.Add(evs[i])
		if inc := ob.Observation(); !equalObs(inc, got) {
			t.Fatalf("event %d: the Observer says %+v, Observe %+v", evs[i].Seq, inc, got)
		}
		if got.Events != i+1 {
			t.Fatalf("event %d: %d events observed", evs[i].Seq, got.Events)
		}
		// Facts only accumulate.
		if got.Cleartext.Total() < prev.Cleartext.Total() || got.EncryptedRecords < prev.EncryptedRecords ||
			len(got.SNI) < len(prev.SNI) || len(got.Certificates) < len(prev.Certificates) {
			t.Fatalf("event %d: the observation shrank: %+v after %+v", evs[i].Seq, got, prev)
		}
		if implicitPort(port) && got.Readable() {
			t.Fatalf("event %d: cleartext on implicit-TLS port %d: %+v", evs[i].Seq, port, got)
		}
		prev = got
	}
	end := prev
	if !slices.Equal(end.SNI, []string{lab.Hostname}) {
		t.Errorf("SNI = %q, want %q", end.SNI, lab.Hostname)
	}
	wantBoundary := lens.BoundaryStartTLS
	if implicitPort(port) {
		wantBoundary = lens.BoundaryImplicit
	}
	if end.Boundary != wantBoundary {
		t.Errorf("boundary %q, want %q", end.Boundary, wantBoundary)
	}
	if ver == tls.VersionTLS12 {
		if len(end.Certificates) == 0 || end.CertificateHidden {
			t.Errorf("TLS 1.2: the certificate crosses in the clear, observed %q (hidden %v)", end.Certificates, end.CertificateHidden)
		}
	} else if len(end.Certificates) > 0 || !end.CertificateHidden {
		t.Errorf("TLS 1.3: the certificate is encrypted, observed %q (hidden %v)", end.Certificates, end.CertificateHidden)
	}
	// The dissector's typed ServerHello gives the version chosen as its
	// name: "TLS 1.3", not a display value such as "TLS 1.3 (selected)".
	if want := tls.VersionName(ver); end.Version != want || end.CipherSuite == "" {
		t.Errorf("version %q, cipher suite %q; want %s", end.Version, end.CipherSuite, want)
	}
	if end.EncryptedRecords == 0 || end.ToEncrypted < 0 {
		t.Errorf("no encrypted record observed: %+v", end)
	}
	if len(end.Credentials) > 0 {
		t.Errorf("the lab session logged in inside TLS, but the observer read %+v", end.Credentials)
	}
	if port == 587 {
		if !slices.Contains(end.Commands, "STARTTLS") || slices.Contains(end.Commands, "AUTH") {
			t.Errorf("587: cleartext commands %q", end.Commands)
		}
		if end.GreetingHost == "" || end.ClientName != "client.test" {
			t.Errorf("587: greeting host %q, client name %q", end.GreetingHost, end.ClientName)
		}
	}
}

func equalObs(a, b lens.Observation) bool {
	return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b)
}

// TestEavesdropperProjection: what the eavesdropper lens writes out holds
// no byte that only the endpoints could read, on every port and version.
func TestEavesdropperProjection(t *testing.T) {
	for _, port := range ports {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(fmt.Sprintf("%d/%s", port, tls.VersionName(ver)), func(t *testing.T) {
				evs := labSession(t, port, ver)
				secret := decryptedBytes(evs)
				shown := 0
				for _, ev := range evs {
					p, ok := lens.Eavesdropper.Project(ev)
					if !ok {
						if lens.Eavesdropper.Shows(ev) {
							t.Fatalf("event %d: Shows but not projected", ev.Seq)
						}
						continue
					}
					shown++
					if p.Layer == wire.LayerDecrypted {
						t.Fatalf("event %d (%s): decrypted content projected", ev.Seq, ev.Kind)
					}
					if p.TLS != nil {
						t.Fatalf("event %d: the client's TLS state projected", ev.Seq)
					}
					if p.Kind == wire.KindEncrypted && len(p.Raw) > 5 {
						t.Fatalf("event %d: %d bytes of an encrypted record projected", ev.Seq, len(p.Raw))
					}
					for _, s := range secret {
						if bytes.Contains(p.Raw, s) || strings.Contains(p.Text, string(s)) {
							t.Fatalf("event %d: holds decrypted bytes %q", ev.Seq, s)
						}
					}
				}
				if shown == 0 || shown == len(evs) {
					t.Fatalf("the eavesdropper lens shows %d of %d events", shown, len(evs))
				}
			})
		}
	}
}

// decryptedBytes are distinctive lines only the endpoints read: those
// inside TLS that never crossed in the clear (the greeting of an implicit
// port, the second EHLO's reply, AUTH, the message).
func decryptedBytes(evs []wire.Event) [][]byte {
	var clear [][]byte
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Layer == wire.LayerCleartext {
			clear = append(clear, ev.Raw)
		}
	}
	var out [][]byte
	for _, ev := range evs {
		if ev.Kind != wire.KindLine || ev.Layer != wire.LayerDecrypted || len(ev.Raw) < 12 {
			continue
		}
		dup := false
		for _, c := range clear {
			if bytes.Equal(c, ev.Raw) {
				dup = true
			}
		}
		if !dup {
			out = append(out, ev.Raw)
		}
	}
	return out
}

func TestShowsAndBytes(t *testing.T) {
	rec := []byte{23, 3, 3, 0, 4, 1, 2, 3, 4}
	cases := []struct {
		name       string
		ev         wire.Event
		eaves      bool
		eavesBytes int
	}{
		{"cleartext line", wire.Event{Kind: wire.KindLine, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone, Raw: []byte("EHLO x\r\n")}, true, 8},
		{"decrypted line", wire.Event{Kind: wire.KindLine, Layer: wire.LayerDecrypted, Visible: wire.VisibleEndpoints, Raw: []byte("AUTH PLAIN x\r\n")}, false, 0},
		{"encrypted record", wire.Event{Kind: wire.KindEncrypted, Layer: wire.LayerEncrypted, Visible: wire.VisibleEndpoints, Raw: rec, Record: &wire.Record{ContentType: "application_data", Length: 4}}, true, 5},
		{"decrypted handshake", wire.Event{Kind: wire.KindHandshake, Layer: wire.LayerDecrypted, Visible: wire.VisibleEndpoints, Raw: []byte{8, 0, 0, 0}, Handshake: &tlsmsg.Handshake{Type: "encrypted_extensions", Encrypted: true}}, false, 0},
		{"tls state", wire.Event{Kind: wire.KindTLSState, Layer: wire.LayerTLS, Visible: wire.VisibleEndpoints, TLS: &wire.TLSState{Version: "TLS 1.3"}}, false, 0},
		{"note", wire.Event{Kind: wire.KindNote, Layer: wire.LayerNote, Visible: wire.VisibleNone}, false, 0},
		{"injected bytes", wire.Event{Kind: wire.KindNote, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone, Raw: []byte("250 x\r\n")}, true, 7},
		{"error", wire.Event{Kind: wire.KindError, Layer: wire.LayerNote, Visible: wire.VisibleNone}, true, 0},
		{"verdict", wire.Event{Kind: wire.KindVerdict, Layer: wire.LayerNote, Visible: wire.VisibleNone}, true, 0},
	}
	for _, c := range cases {
		if !lens.Endpoint.Shows(c.ev) {
			t.Errorf("%s: the endpoint lens hides it", c.name)
		}
		if got := lens.Eavesdropper.Shows(c.ev); got != c.eaves {
			t.Errorf("%s: eavesdropper Shows = %v, want %v", c.name, got, c.eaves)
		}
		if got := len(lens.Eavesdropper.Bytes(c.ev)); got != c.eavesBytes {
			t.Errorf("%s: eavesdropper Bytes has %d bytes, want %d", c.name, got, c.eavesBytes)
		}
	}
}

// TestCredentialInClear: a login read in the clear is in the observation
// (AUTH LOGIN's two lines once), one sent inside TLS only counted.
func TestCredentialInClear(t *testing.T) {
	clear := func(seq int, raw, user, pw string) wire.Event {
		return wire.Event{Seq: seq, Kind: wire.KindLine, Dir: wire.ClientToServer,
			Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone, Raw: []byte(raw),
			Line:       &wire.Line{Proto: "smtp", Command: "AUTH"},
			Credential: &wire.Credential{Mechanism: "AUTH LOGIN", Username: user, Password: pw, OnWire: true}}
	}
	evs := []wire.Event{
		{Seq: 1, Kind: wire.KindConnect, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata},
		clear(2, "dXNlcg==\r\n", "user", ""),
		clear(3, "cGFzcw==\r\n", "user", "pass"),
		{Seq: 4, Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: wire.LayerDecrypted, Visible: wire.VisibleEndpoints,
			Credential: &wire.Credential{Mechanism: "AUTH PLAIN", Username: "user", Password: "pass"}},
	}
	o := lens.Observe(evs, len(evs), "")
	if len(o.Credentials) != 1 || !o.Credentials[0].Password || o.Credentials[0].Seq != 3 {
		t.Errorf("credentials %+v, want one AUTH LOGIN with its password at #3", o.Credentials)
	}
	if !lens.Eavesdropper.ShowsCredential(evs[2]) || lens.Eavesdropper.ShowsCredential(evs[3]) {
		t.Error("ShowsCredential: the observer reads the cleartext one only")
	}
}

// TestObserveLegs: an observer sits on one connection's path.
func TestObserveLegs(t *testing.T) {
	evs := []wire.Event{
		{Seq: 1, Leg: "a", Kind: wire.KindConnect, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata},
		{Seq: 2, Leg: "b", Kind: wire.KindConnect, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata},
		{Seq: 3, Leg: "b", Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
			Raw: []byte("220 mx.example ESMTP\r\n"), Line: &wire.Line{Proto: "smtp", Code: "220"}},
	}
	if a := lens.Observe(evs, 2, "a"); a.Readable() || a.Events != 1 {
		t.Errorf("leg a observed %+v", a)
	}
	if b := lens.Observe(evs, 2, "b"); b.GreetingHost != "mx.example" || b.Events != 2 {
		t.Errorf("leg b observed %+v", b)
	}
	if b := lens.Observe(evs, 1, "b"); b.Readable() {
		t.Errorf("up to #2, leg b has read nothing yet: %+v", b)
	}
}
