package render

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"github.com/mailwire/mailwire/sessions/wire"
)

var updatePrint = flag.Bool("update-print", false, "rewrite the printer goldens in testdata/print")

type printer func(w *bytes.Buffer, evs []wire.Event, o Options) error

var printers = map[string]printer{
	"text":     func(w *bytes.Buffer, evs []wire.Event, o Options) error { return Text(w, evs, o) },
	"json":     func(w *bytes.Buffer, evs []wire.Event, o Options) error { return JSON(w, evs, o) },
	"markdown": func(w *bytes.Buffer, evs []wire.Event, o Options) error { return Markdown(w, evs, o) },
}

func render(t *testing.T, format string, evs []wire.Event, o Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := printers[format](&b, evs, o); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.String()
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "print", name)
	if *updatePrint {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-print to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden (run with -update-print after checking):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestPrintGoldens(t *testing.T) {
	fixtures := map[string][]wire.Event{"587": fixture587(), "cleartext_auth": fixtureCleartextAuth()}
	for fname, evs := range fixtures {
		for _, tc := range []struct {
			name, format string
			o            Options
		}{
			{"text", "text", Options{}},
			{"text_eavesdropper", "text", Options{Lens: lens.Eavesdropper}},
			{"text_eavesdropper_hex_w60", "text", Options{Lens: lens.Eavesdropper, Hex: true, Width: 60}},
			{"text_color", "text", Options{Color: true}},
			{"json", "json", Options{}},
			{"markdown", "markdown", Options{}},
			{"markdown_eavesdropper", "markdown", Options{Lens: lens.Eavesdropper}},
		} {
			t.Run(fname+"/"+tc.name, func(t *testing.T) {
				tc.o.Annotations = fixtureAnnotations
				ext := map[string]string{"text": ".txt", "json": ".jsonl", "markdown": ".md"}[tc.format]
				checkGolden(t, fname+"_"+tc.name+ext, render(t, tc.format, evs, tc.o))
			})
		}
	}
}

// TestPrintTextShape checks the properties the goldens encode, so that a
// golden regenerated carelessly cannot lose them.
func TestPrintTextShape(t *testing.T) {
	o := Options{Annotations: fixtureAnnotations}
	out := render(t, "text", fixture587(), o)
	for _, want := range []string{
		"S→C  CLEARTEXT  220 mail.lab.test ESMTP Service Ready  — 220 Service ready",
		"C→S  CLEARTEXT  STARTTLS",
		"═══ TLS STARTS HERE ═══",
		"C→S  HANDSHAKE  ClientHello: SNI mail.lab.test",
		"C→S  ENCRYPTED  AUTH PLAIN ••••••••",
		"RFC 4954 §4; RFC 4616 §2",
		"⚠ Before TLS anyone on the path can decode the password.",
		"   250-STARTTLS", // the rest of a multi-line reply
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	// Prose appears once per annotation, however often the key recurs.
	if n := strings.Count(out, "The command succeeded."); n != 1 {
		t.Errorf("250 prose printed %d times", n)
	}
	for _, l := range strings.Split(out, "\n") {
		if w := utf8.RuneCountInString(l); w > defaultPrintWidth {
			t.Errorf("line wider than %d: %q", defaultPrintWidth, l)
		}
	}

	clear := render(t, "text", fixtureCleartextAuth(), o)
	if strings.Count(clear, credentialWarning) != 2 { // user name line and password line
		t.Errorf("want 2 credential warnings:\n%s", clear)
	}
	if !strings.Contains(clear, "··   ERROR      session: read reply: EOF") {
		t.Errorf("no error line:\n%s", clear)
	}
}

func TestPrintEavesdropperLens(t *testing.T) {
	o := Options{Annotations: fixtureAnnotations, Lens: lens.Eavesdropper}
	out := render(t, "text", fixture587(), o)
	for _, want := range []string{
		"CLEARTEXT  EHLO client.test",
		"HANDSHAKE  TLS handshake record, 180 bytes",
		"SNI: mail.lab.test",
		"certificate[0] subject: CN=mail.lab.test,O=mailwire lab",
		"ENCRYPTED  encrypted TLS application_data record, 69 bytes",
		"What an eavesdropper saw",
		"6 encrypted records (337 bytes): only their type, length and timing.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("eavesdropper text lacks %q:\n%s", want, out)
		}
	}
	// Inside TLS the observer sees nothing of the lines, the TLS state or
	// the fields that are not metadata.
	for _, hidden := range []string{"AUTH PLAIN ••", "235 2.0.0", "QUIT", "certificate verified", "legacy_version", "ECDSA P-256", "AUTH PLAIN"} {
		if strings.Contains(out, hidden) {
			t.Errorf("eavesdropper text shows %q", hidden)
		}
	}
	clear := render(t, "text", fixtureCleartextAuth(), o)
	for _, want := range []string{"No TLS so far: everything sent was readable.", "⚠ Credentials in the clear: AUTH LOGIN, user learner, and the password",
		"Anyone on the path can read this password."} {
		if !strings.Contains(clear, want) {
			t.Errorf("cleartext session, eavesdropper lens lacks %q:\n%s", want, clear)
		}
	}
	if _, err := printText(fixture587(), Options{Lens: lens.Lens(7)}); err == nil {
		t.Error("unknown lens accepted")
	}
}

func printText(evs []wire.Event, o Options) (string, error) {
	var b bytes.Buffer
	err := Text(&b, evs, o)
	return b.String(), err
}

func TestPrintJSONRoundTrip(t *testing.T) {
	for _, evs := range [][]wire.Event{fixture587(), fixtureCleartextAuth()} {
		for _, reveal := range []bool{false, true} {
			out := render(t, "json", evs, Options{RevealSecrets: reveal})
			if n := strings.Count(out, "\n"); n != len(evs) {
				t.Fatalf("%d lines for %d events", n, len(evs))
			}
			got, err := wire.ReadJSON(strings.NewReader(out), 1000, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			want := evs
			if !reveal {
				want, _ = protocol.RedactSecrets(evs)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("reveal=%v: round trip differs:\ngot  %+v\nwant %+v", reveal, got, want)
			}
		}
	}
	if _, err := wire.ReadJSON(strings.NewReader(strings.Repeat("{}\n", 5)), 4, 100); err == nil {
		t.Error("ReadJSON read past maxEvents")
	}
	if _, err := wire.ReadJSON(strings.NewReader(`{"seq":1,"text":"`+strings.Repeat("a", 200)+`"}`), 4, 100); err == nil {
		t.Error("ReadJSON read a line past maxLine")
	}
}

// secretForms are the ways the fixture password can appear in output.
func secretForms() []string {
	return []string{
		fixturePassword,
		base64.StdEncoding.EncodeToString([]byte(fixturePassword)),
		base64.StdEncoding.EncodeToString([]byte("\x00learner\x00" + fixturePassword)),
	}
}

func TestPrintMasksPasswords(t *testing.T) {
	for name, evs := range map[string][]wire.Event{"587": fixture587(), "cleartext": fixtureCleartextAuth()} {
		for format := range printers {
			for _, view := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
				for _, hex := range []bool{false, true} {
					o := Options{Lens: view, Hex: hex}
					out := render(t, format, evs, o)
					// JSON carries Raw as base64: decode every base64 run too.
					decoded := decodeBase64Runs(out)
					for _, s := range secretForms() {
						if strings.Contains(out, s) || strings.Contains(decoded, s) {
							t.Errorf("%s %s lens=%s hex=%v: output holds %q", name, format, view, hex, s)
						}
					}
					if !strings.Contains(out, protocol.Mask("x")) && (view == lens.Endpoint || name == "cleartext") {
						t.Errorf("%s %s lens=%s: no mask shown", name, format, view)
					}
				}
			}
			o := Options{RevealSecrets: true}
			if out := render(t, format, evs, o); !strings.Contains(out, fixturePassword) && !strings.Contains(decodeBase64Runs(out), fixturePassword) {
				t.Errorf("%s %s: RevealSecrets does not show the password", name, format)
			}
		}
	}
	// The input is never modified.
	evs := fixture587()
	protocol.RedactSecrets(evs)
	if !bytes.Contains(evs[len(evs)-7].Raw, []byte("AUTH PLAIN AGxl")) || evs[len(evs)-7].Credential.Password != fixturePassword {
		t.Error("RedactSecrets changed its input")
	}
}

var base64Run = regexp.MustCompile(`[A-Za-z0-9+/]{8,}={0,2}`)

func decodeBase64Runs(s string) string {
	var b strings.Builder
	for _, m := range base64Run.FindAllString(s, -1) {
		if d, err := base64.StdEncoding.DecodeString(m); err == nil {
			b.Write(d)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// hostileEvents carry, in every peer-controlled field, bytes a terminal
// would act on: ESC sequences (CSI, OSC 52 clipboard write, OSC 0 title),
// BEL, 8-bit C1 CSI (0x9b, raw and UTF-8 encoded), bidi overrides and
// invalid UTF-8.
func hostileEvents() []wire.Event {
	const h = "\x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\x1b]0;pwned\x07\x9b31m\u009b\u202e\xff\xfe\x00\x7f"
	evs := fixture587()
	for i := range evs {
		ev := &evs[i]
		ev.Text += h
		if len(ev.Raw) > 0 {
			ev.Raw = append(append([]byte{}, ev.Raw...), h+"\r\n"+h...)
		}
		if ev.Line != nil {
			l := *ev.Line
			l.Command += h
			l.Code += h
			l.Capabilities = append(l.Capabilities, h)
			ev.Line = &l
		}
		if ev.Handshake != nil {
			hs := *ev.Handshake
			hs.Type += h
			hs.Fields = append([]tlsmsg.Field{}, hs.Fields...)
			for j := range hs.Fields {
				hs.Fields[j].Name += h
				hs.Fields[j].Value += h
			}
			if hs.ClientHello != nil {
				// The summary reads the server name and ALPN from the
				// typed message: the peer chose those bytes too.
				ch := *hs.ClientHello
				ch.Extensions = []tlsmsg.Extension{
					{ID: tlsmsg.ExtServerName, Names: []string{"mail.lab.test" + h}},
					{ID: tlsmsg.ExtALPN, Names: []string{h, "smtp"}},
				}
				hs.ClientHello = &ch
			}
			ev.Handshake = &hs
		}
		if ev.TLS != nil {
			st := *ev.TLS
			st.PeerChain = []string{"CN=" + h}
			st.ServerName += h
			st.ALPN = h
			st.VerifyError = h
			st.VerifyMethod = h
			// Every string of a chain comes from the server's certificates
			// (or crypto/x509's words about them).
			st.Chain = &certs.Chain{Name: h, Anchor: "CN=" + h, Certs: []certs.Cert{{
				Subject: "CN=" + h, Issuer: "CN=" + h, Serial: h, DNSNames: []string{h}, IPAddresses: []string{h},
				Emails: []string{h}, URIs: []string{h}, KeyType: h, Curve: h, SignatureAlgorithm: h,
				IssuerURLs: []string{h}, SCTs: []certs.SCT{{LogID: h}},
			}}, Problems: []certs.Problem{
				{Kind: certs.WrongName, Annotation: certs.WrongName.Key(), Cert: 0, Fatal: true},
				{Kind: certs.IncompleteChain, Annotation: certs.IncompleteChain.Key(), Cert: 0, Fatal: true},
				{Kind: certs.Invalid, Annotation: certs.Invalid.Key(), Cert: 0, Fatal: true, Detail: h},
				{Kind: certs.Failed, Annotation: h, Cert: -1, Fatal: true, Detail: h},
			}}
			ev.TLS = &st
		}
		if ev.Record != nil {
			r := *ev.Record
			r.ContentType += h
			ev.Record = &r
		}
		if ev.Credential != nil {
			c := *ev.Credential
			c.Username += h
			c.Mechanism += h
			c.OnWire = true
			ev.Credential = &c
		}
	}
	var b fixtureBuilder
	b.at = evs[len(evs)-1].At
	b.evs = evs
	b.add(wire.Event{Kind: wire.KindError, Dir: wire.Local, Layer: wire.LayerNote, Visible: wire.VisibleNone, Text: "dial: " + h,
		Err: &wire.ErrorInfo{Op: "dial", Message: h}})
	b.add(wire.Event{Kind: wire.KindNote, Dir: wire.ServerToClient, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone, Raw: []byte(h),
		Text: "discarded: " + h, Annotation: "smtp.note.response_injection_discarded"})
	b.add(wire.Event{Kind: wire.KindConnect, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Text: "connected to " + h})
	return b.evs
}

// dangerous reports the first byte or rune in s that a terminal could act
// on: C0 controls but \n, DEL, ESC, C1 controls (as a raw byte or as UTF-8),
// bidi overrides, invalid UTF-8.
func dangerous(s string) (string, bool) {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return s[i:min(i+4, len(s))], true
		case r < 0x20 && r != '\n', r == 0x7f, r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
			return s[i:min(i+4, len(s))], true
		}
	}
	return "", false
}

var ourSGR = regexp.MustCompile("\x1b\\[[0-9;:]*m")

func TestPrintHostileStrings(t *testing.T) {
	evs := hostileEvents()
	for format := range printers {
		for _, o := range []Options{
			{}, {Lens: lens.Eavesdropper}, {Hex: true}, {Lens: lens.Eavesdropper, Hex: true}, {RevealSecrets: true}, {Width: 40},
		} {
			for _, ann := range []func(string) (content.Annotation, bool){fixtureAnnotations, nil} {
				o.Annotations = ann
				out := render(t, format, evs, o)
				if bad, ok := dangerous(out); ok {
					t.Errorf("%s %+v: output holds %q", format, o, bad)
				}
			}
		}
		// With colour on, the only escapes are our own SGR sequences.
		out := render(t, format, evs, Options{Color: true, Annotations: fixtureAnnotations})
		if bad, ok := dangerous(ourSGR.ReplaceAllString(out, "")); ok {
			t.Errorf("%s with colour: output holds %q", format, bad)
		}
	}
	// Markdown: peer text cannot close its code span or split a table cell.
	md := render(t, "markdown", []wire.Event{{Kind: wire.KindLine, Dir: wire.ServerToClient, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
		Text: "250 ``ok`` | <script>alert(1)</script> [x](javascript:y)", Line: &wire.Line{Proto: protocol.SMTP}}}, Options{})
	if !strings.Contains(md, "| ``` 250 ``ok`` \\| <script>alert(1)</script> [x](javascript:y) ``` |") &&
		!strings.Contains(md, "```250 ``ok`` \\| <script>alert(1)</script> [x](javascript:y)```") {
		t.Errorf("markdown does not fence peer text:\n%s", md)
	}
}

func TestPrintColor(t *testing.T) {
	plain := render(t, "text", fixture587(), Options{Annotations: fixtureAnnotations})
	if strings.Contains(plain, "\x1b") {
		t.Error("escape sequence without Color")
	}
	col := render(t, "text", fixture587(), Options{Color: true, Annotations: fixtureAnnotations})
	if !strings.Contains(col, "\x1b[") {
		t.Fatal("no styling with Color")
	}
	if got := ourSGR.ReplaceAllString(col, ""); got != plain {
		t.Errorf("colour changes the text, not only its style:\n%s\n---\n%s", got, plain)
	}
}

// TestPrintWithContent prints through the real dictionary: every key the
// fixture uses that content defines shows its title.
func TestPrintWithContent(t *testing.T) {
	out := render(t, "text", fixture587(), Options{})
	a, ok := content.Lookup("tls.boundary.starttls")
	if !ok {
		t.Skip("content has no tls.boundary.starttls yet")
	}
	first, _, _ := strings.Cut(a.Text, ". ")
	if !strings.Contains(strings.Join(strings.Fields(out), " "), first) {
		t.Errorf("boundary prose %q missing:\n%s", first, out)
	}
	md := render(t, "markdown", fixture587(), Options{})
	if !strings.Contains(md, "### "+a.Title) {
		t.Errorf("markdown lacks the boundary's section %q", a.Title)
	}
}

func TestPrintHexBounded(t *testing.T) {
	ev := wire.Event{Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
		Raw: bytes.Repeat([]byte("A"), maxHexBytes+100), Text: "AAAA", Line: &wire.Line{Proto: protocol.SMTP}}
	out := render(t, "text", []wire.Event{ev}, Options{Hex: true, Annotations: fixtureAnnotations})
	if n := strings.Count(out, "|AAAAAAAAAAAAAAAA|"); n != maxHexBytes/16 {
		t.Errorf("%d hex rows, want %d", n, maxHexBytes/16)
	}
	if !strings.Contains(out, "… 100 bytes more") {
		t.Errorf("no truncation note:\n%s", out)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  []string
	}{
		{"short", 20, []string{"short"}},
		{"250  two  spaces kept", 40, []string{"250  two  spaces kept"}},
		{"aaaa bbbb cccc dddd", 10, []string{"aaaa bbbb", "cccc dddd"}},
		{strings.Repeat("x", 25), 10, []string{"xxxxxxxxxx", "xxxxxxxxxx", "xxxxx"}},
		{"ab " + strings.Repeat("•", 12), 10, []string{"ab", "••••••••••", "••"}},
		{"", 10, []string{""}},
	} {
		if got := wrap(tc.in, tc.width); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// TestTextPrinterStreams: each Print reaches the writer at once (a live
// session shows where a server stalls), and printing event by event gives
// exactly Text's output.
func TestTextPrinterStreams(t *testing.T) {
	evs := fixtureCleartextAuth()
	for _, view := range []lens.Lens{lens.Endpoint, lens.Eavesdropper} {
		o := Options{Lens: view, Annotations: fixtureAnnotations}
		var b bytes.Buffer
		p, err := NewTextPrinter(&b, o)
		if err != nil {
			t.Fatal(err)
		}
		for i, ev := range evs {
			before := b.Len()
			if err := p.Print(ev); err != nil {
				t.Fatal(err)
			}
			if b.Len() == before && lens.Eavesdropper.Shows(ev) {
				t.Errorf("%s: event %d not written at once", view, i)
			}
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if want := render(t, "text", evs, o); b.String() != want {
			t.Errorf("%s: streamed output differs from PrintText", view)
		}
	}
	if _, err := NewTextPrinter(&bytes.Buffer{}, Options{Lens: lens.Lens(9)}); err == nil {
		t.Error("bad lens accepted")
	}
}

// A scenario's stream holds several connections: the handout names each,
// with its own address and outcome, instead of titling them all after the
// first.
func TestPrintMarkdownNamesEveryLeg(t *testing.T) {
	evs := []wire.Event{
		{Seq: 1, Leg: "client-attacker", Kind: wire.KindConnect, Text: "connected to 127.0.0.1:41249 (127.0.0.1:41249) in 2ms"},
		{Seq: 2, Leg: "attacker-server", Kind: wire.KindConnect, Text: "attacker connected to the server 127.0.0.1:10587 on behalf of the client 127.0.0.1:45182 (connection 1)"},
		{Seq: 3, Leg: "attacker-server", Kind: wire.KindTLSState, TLS: &wire.TLSState{Version: "TLS 1.3"}, Text: "TLS 1.3, between the attacker and the server"},
		{Seq: 4, Leg: "client-attacker", Kind: wire.KindError, Text: "client gave up"},
		{Seq: 5, Kind: wire.KindVerdict, Text: "credentials leaked"},
	}
	got := render(t, "markdown", evs, Options{})
	for _, want := range []string{
		"# mailwire sessions: 2 connections\n",
		"- *client-attacker*: `127.0.0.1:41249`\n  - Result: **failed**: `client gave up`\n  - Events: 2\n",
		"- *attacker-server*: `127.0.0.1:10587`\n  - Result: completed\n  - TLS: `TLS 1.3, between the attacker and the server`\n  - Events: 2\n",
		"- Events: 5\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("handout lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "# mailwire session:") {
		t.Errorf("a multi-connection handout titled after one connection:\n%s", got)
	}
	// One connection keeps the single title.
	one := render(t, "markdown", evs[:1], Options{})
	if !strings.HasPrefix(one, "# mailwire session: `127.0.0.1:41249`\n") {
		t.Errorf("single connection:\n%s", one)
	}
}
