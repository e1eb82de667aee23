package peers

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The local openssl as a second opinion: the interop tests of the TLS
// probes (sessions/tlsprobe) and of the scan (sessions/scan) check what
// they found on the peers against openssl s_client, suite by suite.

// OpenSSLSuite is one cipher suite the local openssl knows.
type OpenSSLSuite struct {
	ID       uint16
	Name     string // OpenSSL's name: ECDHE-RSA-AES256-GCM-SHA384
	StdName  string // the registry's: TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	TLS13    bool
	Auth     string // Au=: RSA, ECDSA, None, …
	Versions string // the version column: TLSv1.2, TLSv1.3, SSLv3
}

// OpenSSLSuites lists what the local openssl offers at security level 0;
// it skips t when openssl is missing or lists too few.
func OpenSSLSuites(t testing.TB) []OpenSSLSuite {
	t.Helper()
	out, err := exec.Command("openssl", "ciphers", "-V", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output()
	if err != nil {
		t.Skipf("openssl ciphers: %v", err)
	}
	var list []OpenSSLSuite
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		// 0xC0,0x30 - TLS_ECDHE_RSA_... - ECDHE-RSA-AES256-GCM-SHA384 TLSv1.2 Kx=ECDH Au=RSA Enc=... Mac=AEAD
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "-" || f[3] != "-" {
			continue
		}
		hi, lo, ok := strings.Cut(f[0], ",")
		a, err1 := strconv.ParseUint(strings.TrimPrefix(hi, "0x"), 16, 8)
		b, err2 := strconv.ParseUint(strings.TrimPrefix(lo, "0x"), 16, 8)
		if !ok || err1 != nil || err2 != nil {
			continue
		}
		s := OpenSSLSuite{ID: uint16(a)<<8 | uint16(b), StdName: f[2], Name: f[4], Versions: f[5], TLS13: f[5] == "TLSv1.3"}
		for _, x := range f[6:] {
			if v, ok := strings.CutPrefix(x, "Au="); ok {
				s.Auth = v
			}
		}
		list = append(list, s)
	}
	if len(list) < 50 {
		t.Skipf("openssl lists only %d suites", len(list))
	}
	return list
}

// SClient runs openssl s_client once against addr (with -starttls when
// starttls names a protocol) and says whether the handshake completed,
// and with which suite (OpenSSL's name).
func SClient(ctx context.Context, addr, starttls string, args ...string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	a := []string{"s_client", "-brief", "-connect", addr}
	if starttls != "" {
		a = append(a, "-starttls", starttls)
	}
	cmd := exec.CommandContext(ctx, "openssl", append(a, args...)...)
	out, _ := cmd.CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(strings.TrimSpace(line), "Ciphersuite: "); ok {
			return true, s
		}
	}
	return false, ""
}
