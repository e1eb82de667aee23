package pcap_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/pcap"
	"github.com/mailwire/mailwire/sessions/wire"
)

// TestTsharkDecryptsLabSessions: Wireshark reads the files as a learner
// would open them. For sessions against the lab on TLS 1.2 and 1.3, tshark
// with the session's key log (-o tls.keylog_file) finds the EHLO sent
// inside TLS after STARTTLS (the second EHLO, RFC 3207 §4.2), the IMAP LOGIN
// inside TLS after STARTTLS, and an HTTP/2 HEADERS frame of the client
// (ALPN h2); without the key log it finds none of them inside TLS. .ci/run
// installs tshark; without it the test skips.
func TestTsharkDecryptsLabSessions(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("no tshark (Debian package tshark; .ci/run installs it)")
	}
	l, err := lab.Start(context.Background(), lab.Options{
		ListenHost: "127.0.0.1", AnyPort: true, StateDir: t.TempDir(), Logf: t.Logf,
	})
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	t.Cleanup(func() { l.Close() })

	cases := []struct {
		name   string
		port   int
		filter string // a display filter matching the decrypted request
	}{
		{"smtp 587 STARTTLS EHLO", 587, `smtp.req.command == "EHLO" && tls`},
		{"imap 143 STARTTLS LOGIN", 143, `imap.request.command == "LOGIN" && tls`},
		{"https 443 HTTP/2 request", 443, `http2.type == 1 && tcp.dstport == 443`},
	}
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, tc := range cases {
			t.Run(tls.VersionName(version)+" "+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				pcapFile, keyFile := filepath.Join(dir, "s.pcap"), filepath.Join(dir, "s.keys")
				writeLabSession(t, l, tc.port, version, pcapFile, keyFile)
				out := runTshark(t, tshark, pcapFile, keyFile, tc.filter)
				if strings.TrimSpace(out) == "" {
					t.Errorf("tshark found no %q with the key log; all it decoded:\n%s", tc.filter,
						runTshark(t, tshark, pcapFile, keyFile, ""))
				}
				if out := runTshark(t, tshark, pcapFile, "", tc.filter); strings.TrimSpace(out) != "" {
					t.Errorf("tshark found %q without the key log:\n%s", tc.filter, out)
				}
			})
		}
	}
}

// writeLabSession runs one lab session with a capture and a key log and
// writes them as the CLI's --pcap and --keylog do.
func writeLabSession(t *testing.T, l *lab.Lab, port int, version uint16, pcapFile, keyFile string) {
	t.Helper()
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
	o.MinTLS, o.MaxTLS = version, version
	o.ReadTimeout, o.SessionTimeout = 3*time.Second, 15*time.Second
	o.Capture = wire.NewCapture(0)
	var keys wire.KeyLogBuffer
	o.KeyLog = &keys
	if evs, err := sessions.Collect(context.Background(), o); err != nil {
		t.Fatalf("session: %v (%d events)", err, len(evs))
	}
	var buf bytes.Buffer
	st, err := pcap.Write(&buf, o.Capture.Snapshot(), pcap.Options{ServerPort: port})
	if err != nil {
		t.Fatal(err)
	}
	if st.Conns != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	if err := os.WriteFile(pcapFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keys.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d packets, %d bytes of pcap, key log %d bytes", pcapFile, st.Packets, buf.Len(), len(keys.Bytes()))
}

// runTshark lists the frames matching filter (all with ""), one line each:
// the frame number, its protocols and the columns tshark shows.
func runTshark(t *testing.T, tshark, pcapFile, keyFile, filter string) string {
	t.Helper()
	args := []string{"-n", "-r", pcapFile, "-T", "fields", "-e", "frame.number", "-e", "frame.protocols", "-e", "_ws.col.Info"}
	if keyFile != "" {
		args = append(args, "-o", "tls.keylog_file:"+keyFile)
	}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	cmd := exec.Command(tshark, args...)
	// tshark wants a writable home for its profile; a fresh one keeps the
	// user's preferences out of the test.
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
