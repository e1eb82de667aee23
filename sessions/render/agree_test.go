package render_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/render"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The property of issue 10: for every port × TLS version of a lab session
// and for every scenario and variant, the JSON, text, Markdown and HTML
// renderings of the eavesdropper lens agree with the lens's observation,
// and none of them holds a byte of decrypted application data or of a TLS
// 1.3 handshake message decrypted with the key log. (The session screen's side of the
// same property is in tui.)

func agreeEnv(t *testing.T) (*lab.Lab, scenario.Env) {
	t.Helper()
	dir := t.TempDir()
	l, err := lab.Start(context.Background(), lab.Options{ListenHost: "127.0.0.1", AnyPort: true, StateDir: dir})
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	env := scenario.LabEnv(l, dir)
	env.ReadTimeout, env.SessionTimeout = 5*time.Second, 30*time.Second
	return l, env
}

// streams are the streams the property is checked on, by name.
func streams(t *testing.T) map[string][]wire.Event {
	t.Helper()
	l, env := agreeEnv(t)
	out := map[string][]wire.Event{}
	for _, port := range []int{25, 587, 465, 110, 995, 143, 993, 443} {
		for _, ver := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			ep, _ := l.Endpoint(port)
			o, err := sessions.OptionsForPort(ep.Addr, port)
			if err != nil {
				t.Fatal(err)
			}
			o.ServerName, o.Verify, o.RootCAs = lab.Hostname, wire.VerifyPool, l.RootCAs()
			o.Username, o.Password, o.EHLOName = lab.DemoUser, lab.DemoPassword, lab.DemoClientName
			o.To, o.Fetch, o.MaxTLS = env.Recipient, true, ver
			o.ReadTimeout, o.SessionTimeout = env.ReadTimeout, env.SessionTimeout
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("session %d/%s: %v", port, tls.VersionName(ver), err)
			}
			out[fmt.Sprintf("session %d %s", port, tls.VersionName(ver))] = evs
		}
	}
	for _, s := range scenario.All() {
		ports := s.Ports
		if len(ports) == 0 {
			ports = []int{0}
		}
		for _, port := range ports {
			for _, v := range variantsOrNone(s.VariantsFor(port)) {
				evs, err := scenario.Collect(context.Background(), scenario.Request{Name: s.Name, Port: port, Variant: v, Env: env})
				if err != nil {
					t.Fatalf("scenario %s %d %s: %v", s.Name, port, v, err)
				}
				out[fmt.Sprintf("scenario %s %d %s", s.Name, port, v)] = evs
			}
		}
	}
	return out
}

func variantsOrNone(vs []string) []string {
	if len(vs) == 0 {
		return []string{""}
	}
	return vs
}

func TestEavesdropperRenderingsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every session and scenario against the lab")
	}
	for name, evs := range streams(t) {
		t.Run(name, func(t *testing.T) {
			o := render.Options{Lens: lens.Eavesdropper, Width: 100}
			var js, text, md, page bytes.Buffer
			if err := render.JSON(&js, evs, o); err != nil {
				t.Fatal(err)
			}
			if err := render.Text(&text, evs, o); err != nil {
				t.Fatal(err)
			}
			if err := render.Markdown(&md, evs, o); err != nil {
				t.Fatal(err)
			}
			if err := render.HTML(&page, evs, o); err != nil {
				t.Fatal(err)
			}
			// The page's text as a reader sees it: html/template escapes
			// quotes and angle brackets, which must not hide a secret.
			htmlText := html.UnescapeString(page.String())
			projected, err := wire.ReadJSON(&js, 1<<20, 16<<20)
			if err != nil {
				t.Fatalf("read the JSON back: %v", err)
			}
			// The JSON masks passwords (in raw too): the lens's
			// observation of the same masked events is what it must tell.
			masked, _ := protocol.RedactSecrets(evs)
			jsonAgrees(t, masked, projected)
			summaryAgrees(t, evs, text.String(), wire.SafeString, "text")
			summaryAgrees(t, evs, md.String(), mdQuote, "markdown")
			summaryAgrees(t, evs, htmlText, func(s string) string { return "“" + wire.SafeString(s) + "”" }, "html")
			for _, s := range decryptedSecrets(evs) {
				for format, out := range map[string]string{"json": js.String(), "text": text.String(), "markdown": md.String(), "html": htmlText} {
					if strings.Contains(out, s) {
						t.Errorf("%s: the eavesdropper output holds %q, which only the endpoints read", format, s)
					}
				}
			}
		})
	}
}

// jsonAgrees: what the JSON Lines of the eavesdropper lens hold lets a
// reader work out exactly the lens's observation, at every event, on every
// connection: nothing an observer learned is missing from them, and
// nothing is there that it could not have learned.
func jsonAgrees(t *testing.T, evs, projected []wire.Event) {
	t.Helper()
	idx := map[int]int{}
	for i, ev := range evs {
		idx[ev.Seq] = i
	}
	legs := append([]string{""}, wire.Legs(evs)...)
	for j, p := range projected {
		i, ok := idx[p.Seq]
		if !ok {
			t.Fatalf("projected event #%d is not in the stream", p.Seq)
		}
		for _, leg := range legs {
			want := lens.Observe(evs, i, leg)
			got := lens.Observe(projected, j, leg)
			want.Events, got.Events = 0, 0
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("at #%d on %q the JSON tells %+v, the lens %+v", p.Seq, leg, got, want)
			}
		}
	}
}

// summaryAgrees: the summary of the text or Markdown output says every
// fact of each connection's observation, in the lens's words.
func summaryAgrees(t *testing.T, evs []wire.Event, out string, quote func(string) string, format string) {
	t.Helper()
	flat := strings.Join(strings.Fields(out), " ")
	for _, ob := range render.LearnedPerLeg(evs) {
		for _, item := range render.Learned(ob, quote) {
			if !strings.Contains(flat, strings.Join(strings.Fields(item), " ")) {
				t.Errorf("%s: the summary of %q lacks %q", format, ob.Leg, item)
			}
		}
	}
}

func mdQuote(s string) string {
	// As Markdown quotes a value outside a table: a code span.
	var b bytes.Buffer
	if err := render.Markdown(&b, []wire.Event{{Seq: 1, Kind: wire.KindConnect, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata},
		{Seq: 2, Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: wire.LayerCleartext, Visible: wire.VisibleAnyone,
			Raw: []byte(s + "\r\n"), Line: &wire.Line{Proto: "smtp", Command: s}}}, render.Options{Lens: lens.Eavesdropper}); err != nil {
		panic(err)
	}
	// "… including the client's `X`: readable …"
	_, after, _ := strings.Cut(b.String(), "including the client's ")
	q, _, _ := strings.Cut(after, ": readable")
	return q
}

// decryptedSecrets are strings only the endpoints read: distinctive
// protocol lines inside TLS that never crossed in the clear, and for a TLS
// 1.3 handshake the certificate's organisation, which TLS 1.3 encrypts
// (RFC 8446 §4.4.2) and which appears nowhere else.
func decryptedSecrets(evs []wire.Event) []string {
	clear := map[string]bool{}
	for _, ev := range evs {
		if lens.Readable(ev) {
			for _, l := range strings.Split(string(ev.Raw), "\r\n") {
				clear[l] = true
			}
		}
	}
	var out []string
	tls13 := false
	for _, ev := range evs {
		if ev.Handshake != nil && ev.Handshake.Encrypted {
			tls13 = true
		}
		if ev.Kind != wire.KindLine || ev.Layer != wire.LayerDecrypted {
			continue
		}
		for _, l := range strings.Split(string(ev.Raw), "\r\n") {
			if len(l) >= 16 && !clear[l] && wire.SafeString(l) == l {
				out = append(out, l)
			}
		}
	}
	if tls13 && !anyCertInClear(evs) {
		out = append(out, "O=mailwire lab")
	}
	return out
}

// anyCertInClear: some connection of the stream (a TLS 1.2 one, in
// tls12-vs-13) sent its certificate in the clear.
func anyCertInClear(evs []wire.Event) bool {
	for _, ev := range evs {
		if ev.Handshake != nil && ev.Handshake.Certificate != nil && !ev.Handshake.Encrypted {
			return true
		}
	}
	return false
}

// TestScenarioSummaryPerLeg: the summary of a scenario is one part per
// connection. strip-opportunistic/replace reported the SNI "the client
// asked for", although only the attacker's own connection to the server
// did TLS (issue 10).
func TestScenarioSummaryPerLeg(t *testing.T) {
	_, env := agreeEnv(t)
	evs, err := scenario.Collect(context.Background(), scenario.Request{Name: "strip-opportunistic", Port: 587, Variant: "replace", Env: env})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := render.Text(&b, evs, render.Options{Lens: lens.Eavesdropper, Width: 200}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	client, attacker, ok := strings.Cut(out, "What an eavesdropper on "+wire.LegAttackerServer+" saw")
	if !ok {
		t.Fatalf("no part for %s:\n%s", wire.LegAttackerServer, out)
	}
	_, client, ok = strings.Cut(client, "What an eavesdropper on "+wire.LegClientAttacker+" saw")
	if !ok {
		t.Fatalf("no part for %s:\n%s", wire.LegClientAttacker, out)
	}
	if strings.Contains(client, "SNI") || !strings.Contains(client, "Credentials in the clear") {
		t.Errorf("the client's connection stayed in cleartext, its login readable, and sent no SNI:\n%s", client)
	}
	if !strings.Contains(attacker, "SNI, RFC 6066 §3): "+lab.Hostname) || strings.Contains(attacker, "Credentials in the clear") {
		t.Errorf("the attacker's connection did TLS with SNI %s and carried the login inside it:\n%s", lab.Hostname, attacker)
	}
}
