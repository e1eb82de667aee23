package tui

import (
	"crypto/tls"
	"reflect"
	"strconv"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/sessions/scan"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
)

// TestScanFindingSessions (issue 13: enter on any finding opens the
// session that shows it): per kind of finding, enter opens a session
// held to the version, suites or ALPN protocol of the probe that found
// it (the request's TLS), a plain session where that shows it, or
// nothing, and then the detail and the footer say that no session shows
// it and how many probes it comes from.
func TestScanFindingSessions(t *testing.T) {
	rep := scanFixture(t)
	const addr = "127.0.0.1:10993"
	extra := []scan.Finding{
		{Port: 993, Key: scan.KeyVersionOld, Title: "old", Grade: scan.Bad,
			Show: &scan.Show{Port: 993, Addr: addr, TLS: &scan.ShowTLS{Version: tls.VersionTLS10, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}}}},
		{Port: 993, Key: scan.KeySuite3DES, Title: "3des", Grade: scan.Bad,
			Show: &scan.Show{Port: 993, Addr: addr, TLS: &scan.ShowTLS{Version: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA}}}},
		{Port: 993, Key: scan.KeyVersionNo12, Title: "1.3 only", Grade: scan.Warn,
			Show: &scan.Show{Port: 993, Addr: addr, TLS: &scan.ShowTLS{Version: tls.VersionTLS12}}},
		{Port: 993, Key: scan.KeySuiteAnonymous, Title: "anon", Grade: scan.Bad, Probes: 57},
		{Port: 993, Key: scan.KeyDHWeak, Title: "weak dh", Grade: scan.Bad, Probes: 57},
		{Port: 993, Key: scan.KeyImplicitMissing, Title: "no 993", Grade: scan.Warn},
	}
	rep.Findings = append(extra, rep.Findings...)
	sess := &fakeSessions{evs: fixture587()}
	m := newScanModel(t, 120, 40, &fakeScans{rep: rep}, sess)
	s := scanScr(m)
	kinds := map[string]bool{}
	for i, f := range s.findings {
		if f.Port != 993 && f.Port != 443 && f.Port != 0 || kinds[f.Key] {
			continue
		}
		kinds[f.Key] = true
		s.sel = i
		n := len(sess.reqs)
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEnter)))
		if f.Show == nil {
			if len(sess.reqs) != n || m.active != screenScan {
				t.Errorf("%s: enter opened a session", f.Key)
			}
			view := plain(m)
			words := "no session shows this finding: it comes from"
			if f.Probes > 0 {
				words += " " + strconv.Itoa(f.Probes) + " TLS probes"
			} else {
				words = "no session shows this finding: it compares what the ports showed"
			}
			var detail []string
			for _, l := range s.detailLines(s.layout()) {
				detail = append(detail, strings.TrimSpace(ansi.Strip(l)))
			}
			if !strings.Contains(strings.Join(detail, " "), words) || !strings.Contains(view, "enter "+noShowShort(f)) {
				t.Errorf("%s: the detail does not say %q, or the footer %q:\n%s", f.Key, words, noShowShort(f), view)
			}
			continue
		}
		if len(sess.reqs) != n+1 {
			t.Fatalf("%s: enter opened no session", f.Key)
		}
		got := sess.reqs[n]
		if got.Port != f.Show.Port || got.Target != f.Show.Addr || got.Scenario != f.Show.Scenario || !reflect.DeepEqual(got.TLS, f.Show.TLS) {
			t.Errorf("%s: request %+v (TLS %+v), want the session of %+v (TLS %+v)", f.Key, got, got.TLS, f.Show, f.Show.TLS)
		}
		if f.Show.TLS != nil && !strings.Contains(got.Label, tlsmsg.VersionName(f.Show.TLS.Version)+" only") {
			t.Errorf("%s: label %q does not say the version", f.Key, got.Label)
		}
		pump(t, m, mustUpdate(t, m, keyCode(tea.KeyEscape)))
	}
	for _, k := range []string{scan.KeyVersionOld, scan.KeySuite3DES, scan.KeyVersionNo12, scan.KeySuiteAnonymous, scan.KeyDHWeak,
		scan.KeySuiteOutside, scan.KeyALPNLenient, scan.KeyALPNStrict, scan.KeyOrderServer, scan.KeyVersionsOK, scan.KeySuitesOK,
		scan.KeyCertOK, scan.KeyModeExpected, scan.KeyCertPorts, scan.KeyImplicitMissing} {
		if !kinds[k] {
			t.Errorf("no %s finding was tried", k)
		}
	}
}
