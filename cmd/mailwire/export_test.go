package main

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/lab"
)

// TestSessionExports: --pcap, $SSLKEYLOGFILE, --cast and --format html on
// a lab session: each file is written and named on stderr, the key log
// with a warning that it decrypts everything, the key log is appended to
// (as NSS and curl do), and no file but the pcap and the key log can
// reveal the password (the HTML and the cast mask it; inside TLS the pcap
// holds it encrypted).
func TestSessionExports(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "sslkeylog")
	if err := os.WriteFile(keys, []byte("# earlier\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSLKEYLOGFILE", keys)
	pcapFile, castFile := filepath.Join(dir, "s.pcap"), filepath.Join(dir, "s.cast")
	out, errOut, err := runSessionCmd(t, context.Background(), "--port", "587", "--lab-state-dir", filepath.Join(dir, "lab"),
		"--pcap", pcapFile, "--cast", castFile, "--cast-size", "80x24", "--cast-pause", "500ms", "--format", "html")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.HasPrefix(out, "<!DOCTYPE html>") {
		t.Errorf("--format html wrote %.80q", out)
	}
	for _, want := range []string{"WARNING: writing this session's TLS secrets to " + keys + " (SSLKEYLOGFILE)",
		"pcap " + pcapFile, "cast " + castFile, "key log " + keys} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	log, _ := os.ReadFile(keys)
	if !strings.HasPrefix(string(log), "# earlier\n") || !strings.Contains(string(log), "CLIENT_TRAFFIC_SECRET_0 ") {
		t.Errorf("key log:\n%s", log)
	}
	if fi, err := os.Stat(pcapFile); err != nil || fi.Size() < 1000 || fi.Mode().Perm() != 0o600 {
		t.Errorf("pcap: %v %v", fi, err)
	}
	cast, err := os.ReadFile(castFile)
	if err != nil || !strings.HasPrefix(string(cast), `{"version":2,"width":80,"height":24`) {
		t.Errorf("cast: %v %.80q", err, cast)
	}
	for name, b := range map[string]string{"html": out, "cast": string(cast)} {
		for _, s := range []string{lab.DemoPassword, base64.StdEncoding.EncodeToString([]byte(lab.DemoPassword)),
			base64.StdEncoding.EncodeToString([]byte("\x00" + lab.DemoUser + "\x00" + lab.DemoPassword))} {
			if strings.Contains(b, s) {
				t.Errorf("%s holds %q", name, s)
			}
		}
	}
}

// TestExportFlagErrors: a bad --cast-size is a usage error.
func TestExportFlagErrors(t *testing.T) {
	_, _, err := runSessionCmd(t, context.Background(), "--port", "587", "--lab-state-dir", t.TempDir(),
		"--cast", filepath.Join(t.TempDir(), "c"), "--cast-size", "40x10")
	if err == nil || !strings.Contains(err.Error(), "--cast-size") {
		t.Errorf("err %v", err)
	}
}
