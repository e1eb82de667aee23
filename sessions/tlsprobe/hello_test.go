package tlsprobe

import (
	"crypto/tls"
	"errors"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"net"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// seenByGo feeds a hello to crypto/tls's server and returns what its
// ClientHello parser read from it: the hello is then well-formed in the
// eyes of an independent implementation.
func seenByGo(t *testing.T, h Hello) *tls.ClientHelloInfo {
	t.Helper()
	rec, err := h.Records()
	if err != nil {
		t.Fatal(err)
	}
	client, server := net.Pipe()
	defer client.Close()
	var info *tls.ClientHelloInfo
	errStop := errors.New("seen")
	done := make(chan error, 1)
	go func() {
		cfg := &tls.Config{
			MinVersion: tls.VersionTLS10,
			GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
				info = chi
				return nil, errStop
			},
		}
		srv := tls.Server(server, cfg)
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		done <- srv.Handshake()
		server.Close()
	}()
	go func() {
		client.Write(rec)
		// Drain whatever the server answers (an alert) until it closes.
		buf := make([]byte, 512)
		for {
			if _, err := client.Read(buf); err != nil {
				return
			}
		}
	}()
	if err := <-done; !errors.Is(err, errStop) {
		t.Fatalf("crypto/tls did not get to GetConfigForClient: %v", err)
	}
	return info
}

func TestHelloParsedByCryptoTLS(t *testing.T) {
	for _, v := range Versions() {
		t.Run(versionName(v), func(t *testing.T) {
			h := Hello{Version: v, Suites: candidates(v), ServerName: "mail.example.org", ALPN: []string{"x-one", "imap"}}
			info := seenByGo(t, h)
			if !slices.Equal(info.CipherSuites, h.Suites) {
				t.Errorf("suites seen %d, offered %d (first seen %04x)", len(info.CipherSuites), len(h.Suites), info.CipherSuites[:1])
			}
			// crypto/tls reads the offered versions from supported_versions
			// or, without it, from legacy_version down (RFC 8446 §4.2.1).
			if len(info.SupportedVersions) == 0 || info.SupportedVersions[0] != v {
				if v != VersionSSL30 {
					t.Errorf("versions seen %04x, want %04x first", info.SupportedVersions, v)
				}
			}
			if v == VersionTLS13 && !slices.Equal(info.SupportedVersions, []uint16{VersionTLS13}) {
				t.Errorf("TLS 1.3 hello offers %04x, want only 0x0304", info.SupportedVersions)
			}
			if v == VersionSSL30 {
				// RFC 6101: no extensions at all.
				if info.ServerName != "" || len(info.SupportedProtos) > 0 || len(info.SupportedCurves) > 0 {
					t.Errorf("SSL 3.0 hello carries extensions: %+v", info)
				}
				return
			}
			if info.ServerName != "mail.example.org" {
				t.Errorf("SNI %q", info.ServerName)
			}
			if !slices.Equal(info.SupportedProtos, h.ALPN) {
				t.Errorf("ALPN %q", info.SupportedProtos)
			}
			if len(info.SupportedCurves) == 0 || info.SupportedCurves[0] != tls.X25519 {
				t.Errorf("groups %v", info.SupportedCurves)
			}
			if !slices.Equal(info.SupportedPoints, []uint8{0}) {
				t.Errorf("point formats %v", info.SupportedPoints)
			}
			if (len(info.SignatureSchemes) > 0) != (v >= VersionTLS12) {
				t.Errorf("%s hello: signature_algorithms %v (RFC 5246 §7.4.1.4.1: only with TLS 1.2)", versionName(v), info.SignatureSchemes)
			}
		})
	}
}

func TestHelloNoSNIForAddress(t *testing.T) {
	for _, name := range []string{"127.0.0.1", "::1"} {
		info := seenByGo(t, Hello{Version: VersionTLS12, Suites: []uint16{0xc02f}, ServerName: name})
		if info.ServerName != "" {
			t.Errorf("SNI %q sent for an IP address (RFC 6066 §3)", info.ServerName)
		}
	}
}

// TestHelloWire reads a hello back byte by byte: the record framing and
// the extensions crypto/tls does not report.
func TestHelloWire(t *testing.T) {
	for _, v := range Versions() {
		h := Hello{Version: v, Suites: candidates(v), ServerName: "mx.example.org"}
		rec, err := h.Records()
		if err != nil {
			t.Fatal(err)
		}
		wantRec := VersionTLS10
		if v == VersionSSL30 {
			wantRec = VersionSSL30
		}
		if rec[0] != dissect.RecordHandshake || uint16(rec[1])<<8|uint16(rec[2]) != wantRec || int(rec[3])<<8|int(rec[4]) != len(rec)-5 {
			t.Fatalf("%s: record header % x", versionName(v), rec[:5])
		}
		s := cryptobyte.String(rec[5:])
		var typ uint8
		var body, sid, suites, comp, exts cryptobyte.String
		var legacy uint16
		if !s.ReadUint8(&typ) || typ != tlsmsg.TypeClientHello || !s.ReadUint24LengthPrefixed(&body) || !s.Empty() ||
			!body.ReadUint16(&legacy) || !body.Skip(32) || !body.ReadUint8LengthPrefixed(&sid) ||
			!body.ReadUint16LengthPrefixed(&suites) || !body.ReadUint8LengthPrefixed(&comp) {
			t.Fatalf("%s: hello does not parse", versionName(v))
		}
		if want := min(v, VersionTLS12); legacy != want {
			t.Errorf("%s: legacy_version %04x, want %04x", versionName(v), legacy, want)
		}
		if string(comp) != "\x00" {
			t.Errorf("%s: compression % x", versionName(v), []byte(comp))
		}
		if v == VersionSSL30 {
			if !body.Empty() {
				t.Errorf("SSL 3.0 hello has %d bytes of extensions", len(body))
			}
			continue
		}
		if !body.ReadUint16LengthPrefixed(&exts) || !body.Empty() {
			t.Fatalf("%s: extensions do not parse", versionName(v))
		}
		seen := map[uint16]cryptobyte.String{}
		for !exts.Empty() {
			var id uint16
			var data cryptobyte.String
			if !exts.ReadUint16(&id) || !exts.ReadUint16LengthPrefixed(&data) {
				t.Fatalf("%s: extension does not parse", versionName(v))
			}
			if _, dup := seen[id]; dup {
				t.Errorf("%s: extension %d twice", versionName(v), id)
			}
			seen[id] = data
		}
		_, reneg := seen[tlsmsg.ExtRenegotiationInfo]
		_, ks := seen[tlsmsg.ExtKeyShare]
		_, psk := seen[tlsmsg.ExtPSKModes]
		_, ems := seen[tlsmsg.ExtExtendedMasterSecret]
		if v == VersionTLS13 {
			if reneg || !ks || !psk || len(sid) != 32 {
				t.Errorf("TLS 1.3 hello: renegotiation_info %v, key_share %v, psk modes %v, session id %d bytes", reneg, ks, psk, len(sid))
			}
			var shares, key cryptobyte.String
			var group uint16
			d := seen[tlsmsg.ExtKeyShare]
			if !d.ReadUint16LengthPrefixed(&shares) || !shares.ReadUint16(&group) || !shares.ReadUint16LengthPrefixed(&key) ||
				group != groupX25519 || len(key) != 32 {
				t.Errorf("key_share: group %d, key %d bytes; want one X25519 share of 32", group, len(key))
			}
		} else if !reneg || ks || psk || len(sid) != 0 {
			t.Errorf("%s hello: renegotiation_info %v, key_share %v, psk modes %v, session id %d bytes", versionName(v), reneg, ks, psk, len(sid))
		}
		if !ems {
			t.Errorf("%s: no extended_master_secret", versionName(v))
		}
		// No ffdhe group next to a TLS ≤ 1.2 hello (RFC 7919 §4).
		groups := seen[tlsmsg.ExtSupportedGroups]
		var list cryptobyte.String
		groups.ReadUint16LengthPrefixed(&list)
		for !list.Empty() {
			var g uint16
			list.ReadUint16(&g)
			if v < VersionTLS13 && g >= 256 && g < 512 {
				t.Errorf("%s: ffdhe group %d offered", versionName(v), g)
			}
		}
	}
}

func TestHelloRefusesNonsense(t *testing.T) {
	for _, h := range []Hello{{Version: 0x0200, Suites: []uint16{1}}, {Version: 0x0305, Suites: []uint16{1}}, {Version: VersionTLS12}} {
		if _, err := h.Marshal(); err == nil {
			t.Errorf("%+v: no error", h)
		}
	}
}

// TestCandidates: what each version offers.
func TestCandidates(t *testing.T) {
	legacy, modern := LegacySuites(), TLS13Suites()
	if !slices.Equal(modern, []uint16{0x1301, 0x1302, 0x1303, 0x1304, 0x1305}) {
		t.Errorf("TLS 1.3 suites %04x, want RFC 8446 §B.4's five", modern)
	}
	for _, id := range legacy {
		switch {
		case id == 0x0000, id == 0x00ff, id == 0x5600:
			t.Errorf("0x%04x offered (a null suite or a signalling value)", id)
		case id>>8 == 0x13:
			t.Errorf("0x%04x (TLS 1.3) among the legacy suites", id)
		}
	}
	if len(legacy) < 300 {
		t.Errorf("only %d legacy suites", len(legacy))
	}
	// The strongest first, the weakest last.
	if first, _ := Info(legacy[0]); !first.ForwardSecret() || !first.AEAD() {
		t.Errorf("first offered %s", first.Name)
	}
	if last, _ := Info(legacy[len(legacy)-1]); !(last.Anonymous() || last.Export || last.Null() || last.Auth == "PSK" || last.Auth == "SRP" || last.Auth == "KRB5" || last.Auth == "GOST" || last.Auth == "ECCPWD") {
		t.Errorf("last offered %s", last.Name)
	}
}

// A name with its trailing dot is sent without it, as crypto/tls sends
// it (tlsmsg.SNIFor): RFC 6066 §3 leaves the dot out, and crypto/tls
// rejected the probe's hello that kept it as malformed.
func TestHelloSNIWithoutTrailingDot(t *testing.T) {
	info := seenByGo(t, Hello{Version: VersionTLS12, Suites: []uint16{0xc02f}, ServerName: "mail.example.org."})
	if info.ServerName != "mail.example.org" {
		t.Errorf("SNI %q, want mail.example.org", info.ServerName)
	}
}
