package render

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

func renderHTML(t *testing.T, evs []wire.Event, o Options) string {
	t.Helper()
	if o.Annotations == nil {
		o.Annotations = fixtureAnnotations
	}
	var b bytes.Buffer
	if err := HTML(&b, evs, o); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestHTMLSelfContained: the page parses, loads nothing from outside (no
// src, no link, no url() or remote address in href), and holds both
// lenses' exchanges, the explanations and what an eavesdropper learned.
func TestHTMLSelfContained(t *testing.T) {
	page := renderHTML(t, fixture587(), Options{})
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var sections []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch {
				case a.Key == "src", n.Data == "link":
					t.Errorf("<%s %s=%q> loads an asset", n.Data, a.Key, a.Val)
				case a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
					t.Errorf("<%s href=%q> leaves the page", n.Data, a.Val)
				case a.Key == "data-lens" && n.Data == "section":
					sections = append(sections, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if strings.Join(sections, ",") != "endpoint,eavesdropper" {
		t.Errorf("lens sections %v", sections)
	}
	if strings.Contains(page, "url(") || strings.Contains(page, "@import") {
		t.Error("the CSS loads something")
	}
	for _, want := range []string{"What the lines mean", "STARTTLS: the same connection turns into TLS", "RFC 3207 §4",
		"What an eavesdropper saw", "Switch lens"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The endpoint's exchange has the decrypted EHLO inside TLS; the
	// eavesdropper's does not, and shows the records' lengths instead.
	endpoint, eaves, _ := strings.Cut(page, `id="lens-eavesdropper"`)
	if strings.Count(endpoint, "EHLO client.test") != 2 || strings.Count(eaves, "EHLO client.test") != 1 {
		t.Errorf("EHLO appears %d times in the endpoint lens, %d in the eavesdropper's (want 2 and 1)",
			strings.Count(endpoint, "EHLO client.test"), strings.Count(eaves, "EHLO client.test"))
	}
}

// TestHTMLEavesdropperLensOnly: asked for the eavesdropper's lens, the page
// holds that lens alone (issue 10: the lens holds in every format). No
// endpoint section, no toggle, and nothing from inside TLS anywhere in the
// file: the EHLO sent after STARTTLS and the AUTH capability the server
// advertised there appear nowhere, as in the text and Markdown.
func TestHTMLEavesdropperLensOnly(t *testing.T) {
	page := renderHTML(t, fixture587(), Options{Lens: lens.Eavesdropper})
	if strings.Contains(page, `id="lens-endpoint"`) || !strings.Contains(page, `id="lens-eavesdropper"`) {
		t.Error("the page does not hold the eavesdropper's lens alone")
	}
	for _, bad := range []string{"Switch lens", "<script", "Endpoint lens", "decrypted lines included"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	text := html.UnescapeString(page)
	if n := strings.Count(text, "EHLO client.test"); n != 1 {
		t.Errorf("EHLO appears %d times, want once (the cleartext one before STARTTLS)", n)
	}
	if strings.Contains(text, "AUTH PLAIN LOGIN") {
		t.Error("the page holds the AUTH capability advertised inside TLS")
	}
	var md bytes.Buffer
	if err := Markdown(&md, fixture587(), Options{Lens: lens.Eavesdropper, Annotations: fixtureAnnotations}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "AUTH PLAIN LOGIN") {
		t.Fatal("the fixture's AUTH PLAIN LOGIN shows in the Markdown too: pick another secret")
	}
	// The default keeps both, with the toggle.
	both := renderHTML(t, fixture587(), Options{})
	if !strings.Contains(both, `id="lens-endpoint"`) || !strings.Contains(both, "Switch lens") {
		t.Error("the default page lost the endpoint's lens or the toggle")
	}
}

// TestHTMLEscapesPeerStrings: markup, an escape sequence and a C1 control
// from a hostile server arrive as text, never as markup or raw bytes.
func TestHTMLEscapesPeerStrings(t *testing.T) {
	var b fixtureBuilder
	b.line(wire.ServerToClient, false, "220 <script>alert(1)</script> \x1b]52;c;aGk=\x07 \u009b31m\"'&\r\n", "smtp.reply.220", wire.Line{Code: "220"})
	b.add(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP, Visible: wire.VisibleMetadata, Text: "closed </td><img src=x>"})
	page := renderHTML(t, b.evs, Options{})
	for _, bad := range []string{"<script>alert", "<img", "\x1b", "\x07", "\u009b"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the peer's markup is not shown as text")
	}
}

// TestHTMLMasksPassword: the password, its base64 form and the AUTH PLAIN
// blob are absent unless RevealSecrets.
func TestHTMLMasksPassword(t *testing.T) {
	evs := append(fixtureCleartextAuth(), fixture587()...)
	page := renderHTML(t, evs, Options{})
	for _, secret := range secretForms() {
		if strings.Contains(page, secret) {
			t.Errorf("page holds %q", secret)
		}
	}
	if !strings.Contains(renderHTML(t, evs, Options{RevealSecrets: true}), fixturePassword) {
		t.Error("RevealSecrets did not reveal the password")
	}
}

// TestHTMLInChromium opens the page offline in headless Chromium: the
// script runs (it marks the body), the lens chosen in the address
// (#lens=eavesdropper, the toggle's own function) is the one shown, and a
// screenshot is taken (MAILWIRE_SCREENSHOT_DIR keeps it to look at).
// .ci/run installs chromium; without it the test skips.
func TestHTMLInChromium(t *testing.T) {
	chromium := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		t.Skip("no chromium (Debian package chromium; .ci/run installs it)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "session.html")
	if err := os.WriteFile(file, []byte(renderHTML(t, fixture587(), Options{})), 0o600); err != nil {
		t.Fatal(err)
	}
	shotDir := os.Getenv("MAILWIRE_SCREENSHOT_DIR")
	if shotDir == "" {
		shotDir = dir
	}
	for _, tc := range []struct{ lens, hash string }{{"endpoint", ""}, {"eavesdropper", "#lens=eavesdropper"}} {
		url := "file://" + file + tc.hash
		dom := runChromium(t, chromium, dir, "--dump-dom", url)
		if !strings.Contains(dom, `data-lens="`+tc.lens+`"`) || !strings.Contains(dom, `class="js"`) {
			t.Fatalf("%s: the script did not run or did not choose the lens:\n%.2000s", tc.lens, dom)
		}
		if !strings.Contains(dom, `class="lens shown" id="lens-`+tc.lens+`"`) {
			t.Errorf("%s: its section is not the one shown", tc.lens)
		}
		shot := filepath.Join(shotDir, "session-"+tc.lens+".png")
		runChromium(t, chromium, dir, "--screenshot="+shot, "--window-size=1200,900", url)
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
			t.Errorf("screenshot is %v", b)
		}
		// The page's background is the screen's dark one, not a
		// browser's white: the CSS applied.
		if r, g, bl, _ := img.At(5, 5).RGBA(); r>>8 > 0x30 || g>>8 > 0x30 || bl>>8 > 0x30 {
			t.Errorf("background at (5,5) is %x %x %x, want the dark #0d1117", r>>8, g>>8, bl>>8)
		}
	}
}

func runChromium(t *testing.T, chromium, dir string, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--virtual-time-budget=2000"}
	cmd := exec.Command(chromium, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("chromium %v: no answer in 60 s\n%s", args, stderr.String())
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}

// TestEavesdropperSummaryNoTLSState: the summary at the top of the HTML
// page and the Markdown handout lists the client's TLS state ("certificate
// verified") only in the endpoint's lens (lens.ShowsTLSState); an
// observer of a TLS 1.3 handshake never sees the certificate.
func TestEavesdropperSummaryNoTLSState(t *testing.T) {
	const state = "certificate verified"
	for _, l := range lens.All() {
		page := html.UnescapeString(renderHTML(t, fixture587(), Options{Lens: l}))
		var md bytes.Buffer
		if err := Markdown(&md, fixture587(), Options{Lens: l, Annotations: fixtureAnnotations}); err != nil {
			t.Fatal(err)
		}
		for name, out := range map[string]string{"html": page, "markdown": md.String()} {
			if got, want := strings.Contains(out, state), l == lens.Endpoint; got != want {
				t.Errorf("%s, %s lens: holds %q: %v, want %v", name, l, state, got, want)
			}
		}
	}
}
