package lab

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// toolTimeout bounds every external client a test runs: a hung openssl or
// curl must fail the test, not stall the suite.
const toolTimeout = 20 * time.Second

// toolOutputCap bounds what a test keeps of a tool's output.
const toolOutputCap = 1 << 20

// needTool skips the test when an external client is not installed. CI
// (.ci/run) installs openssl, curl and swaks, so there the tests always run.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (CI installs it): %v", name, err)
	}
	return path
}

// toolResult is what one run of an external client produced.
type toolResult struct {
	cmd  string
	out  string // stdout and stderr, interleaved as written
	code int    // exit code; -1 if the tool did not exit normally
}

// cappedBuffer keeps at most toolOutputCap bytes.
type cappedBuffer struct{ bytes.Buffer }

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := toolOutputCap - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// runTool runs an external client with stdin, under toolTimeout, and
// returns its combined output and exit code. A timeout or a failure to
// start fails the test. The output is logged when the test fails.
func runTool(t *testing.T, stdin string, name string, args ...string) toolResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out cappedBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// Keep the tools off any proxy and config the environment may set.
	cmd.Env = append(os.Environ(), "NO_PROXY=*", "no_proxy=*", "CURL_HOME="+t.TempDir())
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	res := toolResult{cmd: name + " " + strings.Join(args, " "), out: out.String(), code: -1}
	if cmd.ProcessState != nil {
		res.code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		t.Fatalf("%s: timed out after %v; output:\n%s", res.cmd, toolTimeout, res.out)
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("%s: %v; output:\n%s", res.cmd, err, res.out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("$ %s\n(exit %d)\n%s", res.cmd, res.code, res.out)
		}
	})
	return res
}

// wantExit fails the test unless the tool exited with code.
func (r toolResult) wantExit(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit code %d, want %d (output logged below)", r.cmd, r.code, code)
	}
}

// wantContains fails the test unless every sub is in the output.
func (r toolResult) wantContains(t *testing.T, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(r.out, s) {
			t.Errorf("%s: output lacks %q (output logged below)", r.cmd, s)
		}
	}
}

// wantLacks fails the test if any sub is in the output.
func (r toolResult) wantLacks(t *testing.T, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(r.out, s) {
			t.Errorf("%s: output has %q (output logged below)", r.cmd, s)
		}
	}
}

// e2eLab is a lab on free loopback ports plus its CA written to a file of
// its own, as a user would export it for their clients.
type e2eLab struct {
	*Lab
	caFile string
}

func startE2ELab(t *testing.T) *e2eLab {
	t.Helper()
	l := startLab(t, nil)
	caFile := filepath.Join(t.TempDir(), "lab-ca.pem")
	if err := os.WriteFile(caFile, l.CACertPEM(), 0o600); err != nil {
		t.Fatalf("write CA: %v", err)
	}
	return &e2eLab{Lab: l, caFile: caFile}
}

// port returns the port (as a string) the endpoint for canonical listens on.
func (l *e2eLab) port(t *testing.T, canonical int) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr(t, l.Lab, canonical))
	if err != nil {
		t.Fatalf("endpoint %d: %v", canonical, err)
	}
	return p
}

// curlArgs are the options every curl run gets: bounded time, the lab CA,
// and Hostname mapped to 127.0.0.1 for this port only, so the client checks
// the certificate against the name a user would type and nothing touches
// /etc/hosts or DNS.
func (l *e2eLab) curlArgs(t *testing.T, canonical int) []string {
	p := l.port(t, canonical)
	return []string{"-sS", "--max-time", "15", "--cacert", l.caFile,
		"--resolve", Hostname + ":" + p + ":127.0.0.1", "--noproxy", "*"}
}

// url builds scheme://mail.lab.test:PORT/path for canonical.
func (l *e2eLab) url(t *testing.T, scheme string, canonical int, path string) string {
	return scheme + "://" + Hostname + ":" + l.port(t, canonical) + "/" + path
}
