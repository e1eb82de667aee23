package render

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// fuzzInert fails when out could act on a terminal: invalid UTF-8, a C0
// control other than LF and TAB, DEL, a C1 control, or a bidirectional
// override or isolate (CVE-2021-42574).
func fuzzInert(t *testing.T, what, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%s: output is not valid UTF-8", what)
	}
	for i, r := range out {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			t.Fatalf("%s: control %U at %d: %q", what, r, i, out[max(0, i-40):min(len(out), i+40)])
		}
	}
}

// FuzzReadJSON reads a saved session (JSON output, an untrusted file:
// `mailwire replay` and the TUI load them) and renders what it read in
// every format. ReadJSON must keep its bounds; every printer must cope with
// any event a file can describe (nil and empty parts, unknown kinds, huge
// or negative numbers, hostile strings) without panicking and without
// letting a control character through; and a stream written back with
// JSON must read back the same (after the first read has replaced
// invalid UTF-8 with U+FFFD).
func FuzzReadJSON(f *testing.F) {
	raw := base64.StdEncoding.EncodeToString([]byte("AUTH PLAIN AGxlYXJuZXIAcHc=\r\n"))
	for _, s := range []string{
		`{"seq":1,"at_ns":0,"kind":"connect","dir":"local","layer":"tcp","visible":"metadata","text":"connected","annotation":"tcp.connect"}`,
		`{"seq":2,"kind":"line","dir":"c2s","layer":"cleartext","visible":"anyone","raw":"` + raw + `","text":"AUTH PLAIN AGxlYXJuZXIAcHc=","line":{"proto":"smtp","command":"AUTH"},"credential":{"mechanism":"AUTH PLAIN","username":"learner","password":"pw","on_wire":true}}`,
		`{"seq":3,"kind":"line","dir":"s2c","layer":"cleartext","visible":"anyone","text":"250-mail \u001b[2J\u009b","also":["smtp.ehlo.starttls",""],"line":{"proto":"smtp","code":"250","capabilities":["STARTTLS","\u202e"]}}`,
		`{"seq":4,"kind":"record","dir":"s2c","layer":"tls","visible":"metadata","raw":"FgMDAAQ=","record":{"content_type":"handshake","version":"TLS 1.2","length":-1}}`,
		`{"seq":5,"kind":"handshake","dir":"s2c","layer":"tls","visible":"metadata","handshake":{"type":"Certificate","fields":[{"name":"subject","value":"CN=\u0007x","annotation":"tls.cert.subject"},{}],"encrypted":true}}`,
		`{"seq":5,"kind":"handshake","dir":"s2c","layer":"tls","visible":"metadata","handshake":{"type":"server_hello","msg_type":2,"server_hello":{"random":"AAE=","cipher_suite":4865,"extensions":[{"id":43,"codes":[772,1]},{"id":51,"key_shares":[]},{"id":16,"names":["\u001b[2J"]}]},"client_hello":{"compression_methods":[0,255],"extensions":[{"id":0,"names":["\u202e"]},{"id":16,"names":[]},{"id":65037,"ech":{"type":7}}]},"certificate":{"entries":[{"der":"AAE="}]}}}`,
		`{"seq":6,"kind":"tls-state","dir":"local","layer":"tls","visible":"endpoints","tls":{"version":"TLS 1.3","peer_chain":["CN=a","\u2066"],"verify_error":"x\ny"}}`,
		`{"seq":7,"kind":"error","dir":"local","layer":"note","visible":"none","text":"","error":{"op":"read","message":"\u001b]52;c;aGk=\u0007","explain":"net.closed_early"}}`,
		// A chain as a hostile file may describe it: problems about
		// certificates that are not there, a kind without the facts its
		// words need, peer strings with controls.
		`{"seq":8,"kind":"error","dir":"local","layer":"note","visible":"none","error":{"op":"verify certificate"},"tls":{"verify_method":"off","chain":{"name":"\u001b[2J","more_certs":-3,"certs":[{"subject":"CN=\u009b","dns_names":["\u202e"],"key_type":"RSA","scts":[{}],"issuer_urls":[]},{}],"problems":[{"kind":"incomplete_chain","annotation":"tls.verify.incomplete_chain","cert":0,"fatal":true},{"kind":"expired","cert":99},{"kind":"hostname","cert":-7},{"kind":"x","annotation":"\u0007","cert":1,"detail":"\u001b]0;t\u0007"}]}}}`,
		`{"seq":-1,"at_ns":-9223372036854775808,"kind":"close","dir":"sideways","layer":"?","visible":"all","text":"\ud800"}`,
		"{}\n\n{}\r\n", `{"kind":"line","line":null,"record":{}}`, `[1,2]`, `{"seq":1e400}`, `{"raw":"!!"}`,
		`{"kind":"encrypted","dir":"c2s","layer":"encrypted","visible":"endpoints","raw":"FwMDABAAAAAAAAAAAAAAAAAAAAAA","record":{"content_type":"application_data","version":"TLS 1.2","length":16}}`,
		`{"kind":"line","dir":"c2s","raw":"UEFTUyBzM2NyZXQNCg==","text":"PASS s3cret","line":{"proto":"pop3","command":"PASS"},"credential":{"mechanism":"USER/PASS","password":"s3cret"}}`,
	} {
		f.Add([]byte(s))
	}
	// A line of a real stream fits in 64 KiB (raw is bounded by the
	// readers); a fuzz input holds a few dozen events at most.
	const maxEvents, maxLine = 64, 64 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		evs, err := wire.ReadJSON(bytes.NewReader(data), maxEvents, maxLine)
		if len(evs) > maxEvents {
			t.Fatalf("%d events read, over %d", len(evs), maxEvents)
		}
		if err != nil && len(evs) == 0 {
			return
		}
		for _, view := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
			o := Options{Lens: view, Hex: true, Width: 60}
			var b bytes.Buffer
			if err := Text(&b, evs, o); err != nil {
				t.Fatalf("PrintText %s: %v", view, err)
			}
			fuzzInert(t, "PrintText "+view.String(), b.String())
			b.Reset()
			if err := Markdown(&b, evs, o); err != nil {
				t.Fatalf("PrintMarkdown %s: %v", view, err)
			}
			fuzzInert(t, "PrintMarkdown "+view.String(), b.String())
		}
		// Unless asked, no printer shows a password the file carries.
		for _, ev := range evs {
			if ev.Credential == nil || len(ev.Credential.Password) < 6 || strings.Contains(ev.Credential.Password, protocol.Mask("x")) {
				continue
			}
			var b bytes.Buffer
			if err := JSON(&b, []wire.Event{ev}, Options{}); err != nil {
				t.Fatal(err)
			}
			back, err := wire.ReadJSON(&b, 1, maxLine*2)
			if err != nil || len(back) != 1 {
				t.Fatalf("PrintJSON output does not read back: %v", err)
			}
			if back[0].Credential.Password == ev.Credential.Password {
				t.Fatalf("password %q printed unmasked", ev.Credential.Password)
			}
		}

		once := roundTripJSON(t, evs)
		twice := roundTripJSON(t, once)
		if !reflect.DeepEqual(once, twice) {
			for i := range once {
				if !reflect.DeepEqual(once[i], twice[i]) {
					t.Fatalf("event %d changed when written and read again:\n%+v\n%+v", i, once[i], twice[i])
				}
			}
			t.Fatalf("stream changed when written and read again")
		}
	})
}

// roundTripJSON writes evs with JSON (secrets revealed, so nothing is
// masked) and reads them back.
func roundTripJSON(t *testing.T, evs []wire.Event) []wire.Event {
	t.Helper()
	var b bytes.Buffer
	if err := JSON(&b, evs, Options{RevealSecrets: true}); err != nil {
		t.Fatalf("PrintJSON: %v", err)
	}
	fuzzInert(t, "PrintJSON", b.String())
	if n := strings.Count(b.String(), "\n"); n != len(evs) {
		t.Fatalf("PrintJSON wrote %d lines for %d events", n, len(evs))
	}
	back, err := wire.ReadJSON(&b, len(evs), b.Len()+1)
	if err != nil {
		t.Fatalf("PrintJSON output does not read back: %v\n%s", err, fmt.Sprint(evs))
	}
	return back
}
