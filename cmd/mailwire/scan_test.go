package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/resolver/resolvertest"
	"github.com/mailwire/mailwire/sessions/scan"
)

// Exit status 2 for what mailwire scan refuses before it dials.
func TestScanUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scan"}, "want one of HOST"},
		{[]string{"scan", "a.example", "b.example"}, "accepts at most 1 arg"},
		{[]string{"scan", "mail.example.org", "--domain", "example.org"}, "want one of HOST"},
		{[]string{"scan", "--domain", "example.org", "--lab"}, "want one of HOST"},
		{[]string{"scan", "mail.example.org", "--ca-file", "x.pem", "--insecure"}, "choose one"},
		{[]string{"scan", "mail.example.org:25"}, "without a port"},
		{[]string{"scan", "mail.example.org", "--format", "xml"}, "--format"},
		{[]string{"scan", "mail.example.org", "--ports", "2525"}, "--ports"},
		{[]string{"scan", "mail.example.org", "--ports", "587,587"}, "listed twice"},
		{[]string{"scan", "mail.example.org", "--ports", "587=x"}, "--ports"},
		{[]string{"scan", "mail.example.org", "--resolver", "127.0.0.1"}, "only with --domain"},
		{[]string{"scan", "mail.example.org", "--ca-file", "/nonexistent/ca.pem"}, "--ca-file"},
		{[]string{"scan", "--domain", "not a domain"}, "not a domain name"},
		{[]string{"scan", "--domain", "example.org", "--https"}, "not with --domain"},
		{[]string{"scan", "--domain", "example.org", "--trust-anchor", "/nonexistent"}, "--trust-anchor"},
	} {
		code, _, errOut := runMailwire(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// TestScanLab: mailwire scan --lab, as JSON: eight ports, nothing bad.
func TestScanLab(t *testing.T) {
	code, out, errOut := runMailwire(t, "scan", "--lab", "--state-dir", t.TempDir(), "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep scan.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Ports) != 8 || rep.Worst != scan.Warn || rep.ServerName != lab.Hostname {
		t.Errorf("%d ports, worst %s, SNI %q", len(rep.Ports), rep.Worst, rep.ServerName)
	}
}

// TestScanExitStatus: 3 when a finding is bad (a login checked before
// TLS), 1 when no port answered, 0 otherwise; in text and Markdown.
func TestScanExitStatus(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	careless, err := l.AddEndpoint(587, lab.ModeCleartextAuth)
	if err != nil {
		t.Fatal(err)
	}
	normal, _ := l.Endpoint(993)
	_, carelessPort, _ := net.SplitHostPort(careless.Addr)
	_, normalPort, _ := net.SplitHostPort(normal.Addr)
	common := []string{"scan", "127.0.0.1", "--sni", lab.Hostname, "--ca-file", l.CAPath()}

	code, out, errOut := runMailwire(t, append(common, "--ports", "587="+carelessPort)...)
	if code != exitUnsafe || !strings.Contains(out, "The server checked a password sent before TLS") ||
		!strings.Contains(errOut, "587: The server checked a password sent before TLS") {
		t.Errorf("careless 587: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = runMailwire(t, append(common, "--ports", "993="+normalPort, "--format", "markdown")...)
	if code != exitOK || !strings.Contains(out, "# Mail server scan: 127.0.0.1") || !strings.Contains(out, "| Grade | Finding |") {
		t.Errorf("993: exit %d\n%s", code, out)
	}
	_, closed, _ := net.SplitHostPort(closedPort(t))
	code, _, errOut = runMailwire(t, append(common, "--ports", "587="+closed)...)
	if code != exitFailed || !strings.Contains(errOut, "no port answered") {
		t.Errorf("closed port: exit %d, %s", code, errOut)
	}
}

// TestScanDomainCommand: mailwire scan --domain against a signed test
// hierarchy (its trust anchor in a file), with the lab as the MX host
// whose TLSA record matches its key.
func TestScanDomainCommand(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Options{AnyPort: true, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e, _ := l.Endpoint(465)
	c, err := tls.Dial("tcp", e.Addr, &tls.Config{ServerName: lab.Hostname, RootCAs: l.RootCAs()})
	if err != nil {
		t.Fatal(err)
	}
	spki := sha256.Sum256(c.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	c.Close()
	smtp, _ := l.Endpoint(25)
	_, mxPort, _ := net.SplitHostPort(smtp.Addr)

	h := resolvertest.New(time.Now())
	root := h.Zone(".", dns.ECDSAP256SHA256)
	tld := h.Zone("test.", dns.ECDSAP256SHA256)
	zone := h.Zone("lab.test.", dns.ECDSAP256SHA256)
	zone.Add("lab.test. 300 IN MX 10 mail.lab.test.", "mail.lab.test. 300 IN A 127.0.0.1",
		"_25._tcp.mail.lab.test. 300 IN TLSA 3 1 1 "+hex.EncodeToString(spki[:]))
	h.Delegate(root, tld, true)
	h.Delegate(tld, zone, true)
	if err := h.Sign(); err != nil {
		t.Fatal(err)
	}
	server := h.Serve(t)
	anchors := filepath.Join(t.TempDir(), "anchors")
	var ds []string
	for _, a := range h.Anchor() {
		ds = append(ds, a.String())
	}
	if err := os.WriteFile(anchors, []byte(strings.Join(ds, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMailwire(t, "scan", "--domain", "lab.test", "--resolver", server, "--trust-anchor", anchors,
		"--mx-port", mxPort, "--ca-file", l.CAPath(), "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	var rep scan.DomainReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.MX) != 1 || rep.MX[0].Host != "mail.lab.test" || len(rep.MX[0].DANE) != 1 || !rep.MX[0].DANE[0].Matched ||
		rep.MX[0].Port == nil || rep.MX[0].Port.State != scan.StateOpen {
		t.Errorf("MX %+v", rep.MX)
	}
	code, out, _ = runMailwire(t, "scan", "--domain", "lab.test", "--resolver", server, "--trust-anchor", anchors,
		"--mx-port", mxPort, "--ca-file", l.CAPath())
	if code != exitOK || !strings.Contains(out, "MX mail.lab.test") || !strings.Contains(out, "A TLSA record matches") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
}
