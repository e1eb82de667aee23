package tlsprobe

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/tlsmsg"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// Builders of server answers, byte by byte.

// hrrRandom is a HelloRetryRequest's Random: SHA-256 of
// "HelloRetryRequest" (RFC 8446 §4.1.3).
var hrrRandom = []byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

func record(typ uint8, version uint16, body []byte) []byte {
	return append([]byte{typ, byte(version >> 8), byte(version), byte(len(body) >> 8), byte(len(body))}, body...)
}

func handshakeMsg(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

type ext struct {
	id   uint16
	data []byte
}

func serverHelloBody(version, suite uint16, random []byte, exts ...ext) []byte {
	if random == nil {
		random = bytes.Repeat([]byte{7}, 32)
	}
	var b cryptobyte.Builder
	b.AddUint16(version)
	b.AddBytes(random)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(bytes.Repeat([]byte{1}, 32)) })
	b.AddUint16(suite)
	b.AddUint8(0)
	if exts != nil {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range exts {
				b.AddUint16(e.id)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
			}
		})
	}
	return b.BytesOrPanic()
}

func certificateBody(ders ...[]byte) []byte {
	var b cryptobyte.Builder
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, d := range ders {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(d) })
		}
	})
	return b.BytesOrPanic()
}

func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

// flight12 is a TLS 1.2 first flight: ServerHello, Certificate,
// ServerKeyExchange (ECDHE x25519), ServerHelloDone, in one record.
func flight12(suite uint16, ske []byte) []byte {
	var msgs []byte
	msgs = append(msgs, handshakeMsg(tlsmsg.TypeServerHello, serverHelloBody(VersionTLS12, suite, nil, ext{tlsmsg.ExtRenegotiationInfo, []byte{0}}))...)
	msgs = append(msgs, handshakeMsg(tlsmsg.TypeCertificate, certificateBody([]byte("leaf-der"), []byte("ca-der")))...)
	msgs = append(msgs, handshakeMsg(tlsmsg.TypeServerKeyExchange, ske)...)
	msgs = append(msgs, handshakeMsg(tlsmsg.TypeServerHelloDone, nil)...)
	return record(dissect.RecordHandshake, VersionTLS12, msgs)
}

// skeX25519 is an ECDHE ServerKeyExchange on x25519 (RFC 8422 §5.4),
// signed by rsa_pss_rsae_sha256.
var skeX25519 = func() []byte {
	var b cryptobyte.Builder
	b.AddUint8(3) // named_curve
	b.AddUint16(29)
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
	b.AddUint16(0x0804)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 256)) })
	return b.BytesOrPanic()
}()

// skeDH is a DHE ServerKeyExchange with a prime of bits bits (RFC 5246
// §7.4.3), signed unless anonymous.
func skeDH(bits int, signed bool) []byte {
	p := make([]byte, (bits+7)/8)
	p[0] = 0x80 >> ((8 - bits%8) % 8)
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{2}) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(p) })
	if signed {
		b.AddUint16(0x0804)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 256)) })
	}
	return b.BytesOrPanic()
}

// answerCases are answers with what ReadAnswer must make of them; the
// fuzz test starts from them.
var answerCases = []struct {
	name   string
	data   []byte
	flight bool
	check  func(*testing.T, *Answer)
}{
	{"tls12 flight", flight12(0xc02f, skeX25519), true, func(t *testing.T, a *Answer) {
		if !a.Hello || a.Version != VersionTLS12 || a.Suite != 0xc02f || a.Group != 29 || len(a.Certificates) != 2 ||
			string(a.Certificates[0]) != "leaf-der" || a.FlightError != "" {
			t.Errorf("%+v", a)
		}
	}},
	{"tls12 hello only", flight12(0xc02f, skeX25519), false, func(t *testing.T, a *Answer) {
		if !a.Hello || a.Suite != 0xc02f || a.Certificates != nil {
			t.Errorf("%+v", a)
		}
	}},
	{"dhe 1024", flight12(0x0033, skeDH(1024, true)), true, func(t *testing.T, a *Answer) {
		if a.DHBits != 1024 || a.Group != 0 {
			t.Errorf("DH bits %d group %d", a.DHBits, a.Group)
		}
	}},
	{"anonymous dh, no certificate", record(dissect.RecordHandshake, VersionTLS12, append(append(
		handshakeMsg(tlsmsg.TypeServerHello, serverHelloBody(VersionTLS12, 0x00a7, nil)),
		handshakeMsg(tlsmsg.TypeServerKeyExchange, skeDH(3072, false))...), handshakeMsg(tlsmsg.TypeServerHelloDone, nil)...)), true,
		func(t *testing.T, a *Answer) {
			if !a.Hello || a.Suite != 0x00a7 || a.DHBits != 3072 || a.Certificates != nil {
				t.Errorf("%+v", a)
			}
		}},
	// A 6144-bit prime's length starts with 0x03, which the engine's
	// parser takes for an ECDHE named_curve when it cannot name the suite:
	// no made-up curve may come of it.
	{"anonymous dh 6144", record(dissect.RecordHandshake, VersionTLS12, append(append(
		handshakeMsg(tlsmsg.TypeServerHello, serverHelloBody(VersionTLS12, 0x00a7, nil)),
		handshakeMsg(tlsmsg.TypeServerKeyExchange, skeDH(6144, false))...), handshakeMsg(tlsmsg.TypeServerHelloDone, nil)...)), true,
		func(t *testing.T, a *Answer) {
			if !a.Hello || a.Suite != 0x00a7 || a.Group != 0 {
				t.Errorf("%+v", a)
			}
		}},
	{"tls13 supported_versions", record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeServerHello,
		serverHelloBody(VersionTLS12, 0x1302, nil, ext{tlsmsg.ExtSupportedVersions, u16(VersionTLS13)},
			ext{tlsmsg.ExtKeyShare, append(u16(29), append(u16(32), make([]byte, 32)...)...)}))), true,
		func(t *testing.T, a *Answer) {
			if !a.Hello || a.Version != VersionTLS13 || a.Suite != 0x1302 || a.Group != 29 || a.HelloRetry {
				t.Errorf("%+v", a)
			}
		}},
	{"hello retry request", record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeServerHello,
		serverHelloBody(VersionTLS12, 0x1301, hrrRandom, ext{tlsmsg.ExtSupportedVersions, u16(VersionTLS13)}, ext{tlsmsg.ExtKeyShare, u16(23)}))), true,
		func(t *testing.T, a *Answer) {
			if !a.Hello || !a.HelloRetry || a.Suite != 0x1301 || a.Group != 23 {
				t.Errorf("%+v", a)
			}
		}},
	{"alpn selected", record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeServerHello,
		serverHelloBody(VersionTLS12, 0xc02f, nil, ext{tlsmsg.ExtALPN, []byte{0, 5, 4, 'i', 'm', 'a', 'p'}}))), false,
		func(t *testing.T, a *Answer) {
			if a.ALPN != "imap" {
				t.Errorf("ALPN %q", a.ALPN)
			}
		}},
	{"fatal alert", record(dissect.RecordAlert, VersionTLS12, []byte{2, 40}), true, func(t *testing.T, a *Answer) {
		if a.Hello || a.Refusal == nil || a.Refusal.Kind != RefusedAlert || a.Refusal.Alert != 40 || !a.Refusal.Fatal {
			t.Errorf("%+v %+v", a, a.Refusal)
		}
	}},
	{"close_notify", record(dissect.RecordAlert, VersionTLS10, []byte{1, 0}), true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedAlert || a.Refusal.Alert != 0 || a.Refusal.Fatal {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"closed", nil, true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedClosed {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"cleartext greeting", []byte("220 mail.example.org ESMTP\r\n"), true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedNotTLS || !strings.Contains(a.Refusal.Detail, `220 mail.example.org ESMTP\r\n`) {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"short cleartext", []byte("+"), true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedNotTLS {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"record over 2^14", append([]byte{22, 3, 3, 0xff, 0xff}, make([]byte, 100)...), true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedMalformed || !strings.Contains(a.Refusal.Detail, "65535") {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"record cut", []byte{22, 3, 3, 0, 50, 2, 0}, true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedMalformed {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"certificate before hello", record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeCertificate, certificateBody([]byte("x")))), true,
		func(t *testing.T, a *Answer) {
			if a.Refusal == nil || a.Refusal.Kind != RefusedMalformed {
				t.Errorf("%+v", a.Refusal)
			}
		}},
	{"application data first", record(dissect.RecordApplicationData, VersionTLS12, []byte("x")), true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedMalformed {
			t.Errorf("%+v", a.Refusal)
		}
	}},
	{"flight cut after hello", record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeServerHello, serverHelloBody(VersionTLS12, 0xc02f, nil))), true,
		func(t *testing.T, a *Answer) {
			if !a.Hello || a.FlightError == "" || a.Refusal != nil {
				t.Errorf("%+v", a)
			}
		}},
	{"one-byte records", tinyRecords(flight12(0xc030, skeX25519)), true, func(t *testing.T, a *Answer) {
		if !a.Hello || a.Suite != 0xc030 || len(a.Certificates) != 2 || a.Group != 29 {
			t.Errorf("%+v", a)
		}
	}},
	{"handshake message over the limit", record(dissect.RecordHandshake, VersionTLS12, []byte{tlsmsg.TypeServerHello, 0x10, 0, 0}), true,
		func(t *testing.T, a *Answer) {
			if a.Refusal == nil || a.Refusal.Kind != RefusedMalformed {
				t.Errorf("%+v", a.Refusal)
			}
		}},
	{"endless empty records", bytes.Repeat([]byte{22, 3, 3, 0, 0}, MaxAnswerBytes/5+10), true, func(t *testing.T, a *Answer) {
		if a.Refusal == nil || a.Refusal.Kind != RefusedTooLong || a.Bytes > MaxAnswerBytes {
			t.Errorf("%+v bytes %d", a.Refusal, a.Bytes)
		}
	}},
}

// tinyRecords re-frames the handshake records in b one byte per record, as
// the hostile smtps-handshake-tiny-records server does.
func tinyRecords(b []byte) []byte {
	var out []byte
	for len(b) >= 5 {
		n := int(b[3])<<8 | int(b[4])
		for _, c := range b[5 : 5+n] {
			out = append(out, record(b[0], VersionTLS12, []byte{c})...)
		}
		b = b[5+n:]
	}
	return out
}

func TestReadAnswer(t *testing.T) {
	for _, tc := range answerCases {
		t.Run(tc.name, func(t *testing.T) {
			a := ReadAnswer(bytes.NewReader(tc.data), tc.flight)
			tc.check(t, a)
			if a.Hello == (a.Refusal != nil) {
				t.Errorf("hello %v and refusal %+v", a.Hello, a.Refusal)
			}
		})
	}
}

// TestReadAnswerStopsReading: the answer is read up to what the probe
// needs and no further (the rest of a TLS 1.3 flight is encrypted).
func TestReadAnswerStopsReading(t *testing.T) {
	sh := record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeServerHello,
		serverHelloBody(VersionTLS12, 0x1301, nil, ext{tlsmsg.ExtSupportedVersions, u16(VersionTLS13)})))
	data := append(bytes.Clone(sh), record(dissect.RecordApplicationData, VersionTLS12, make([]byte, 4000))...)
	a := ReadAnswer(bytes.NewReader(data), true)
	if !a.Hello || a.Bytes != len(sh) {
		t.Errorf("read %d bytes, want the ServerHello's %d", a.Bytes, len(sh))
	}
}

// A reader that fails as a network connection does.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) > 0 {
		n := copy(p, r.data)
		r.data = r.data[n:]
		return n, nil
	}
	return 0, r.err
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestReadAnswerNetworkEnds(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want RefusalKind
	}{
		{timeoutErr{}, RefusedTimeout},
		{&net.OpError{Op: "read", Err: timeoutErr{}}, RefusedTimeout},
		{io.EOF, RefusedClosed},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, RefusedReset},
	} {
		a := ReadAnswer(&errReader{err: tc.err}, true)
		if a.Refusal == nil || a.Refusal.Kind != tc.want {
			t.Errorf("%v: %+v, want %s", tc.err, a.Refusal, tc.want)
		}
	}
	// A timeout after the ServerHello keeps the hello.
	sh := record(dissect.RecordHandshake, VersionTLS12, handshakeMsg(tlsmsg.TypeServerHello, serverHelloBody(VersionTLS12, 0xc02f, nil)))
	a := ReadAnswer(&errReader{data: sh, err: timeoutErr{}}, true)
	if !a.Hello || !strings.Contains(a.FlightError, "timeout") {
		t.Errorf("%+v", a)
	}
}

// testCert makes a self-signed ECDSA certificate for crypto/tls servers.
func testCert(t testing.TB) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probe.test"}, DNSNames: []string{"probe.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// answerFromGo sends h to a crypto/tls server configured by cfg and reads
// its answer.
func answerFromGo(t *testing.T, cfg *tls.Config, h Hello) *Answer {
	t.Helper()
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		srv := tls.Server(server, cfg)
		srv.SetDeadline(time.Now().Add(5 * time.Second))
		srv.Handshake()
		server.Close()
	}()
	rec, err := h.Records()
	if err != nil {
		t.Fatal(err)
	}
	client.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := client.Write(rec); err != nil {
		t.Fatal(err)
	}
	return ReadAnswer(client, true)
}

// TestAnswersOfCryptoTLS reads real answers of crypto/tls.
func TestAnswersOfCryptoTLS(t *testing.T) {
	cert := testCert(t)
	base := func(min, max uint16) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: min, MaxVersion: max}
	}
	t.Run("tls12", func(t *testing.T) {
		a := answerFromGo(t, base(tls.VersionTLS12, tls.VersionTLS12), Hello{Version: VersionTLS12, Suites: LegacySuites()})
		if !a.Hello || a.Version != VersionTLS12 || a.Suite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 ||
			len(a.Certificates) != 1 || !bytes.Equal(a.Certificates[0], cert.Certificate[0]) || a.Group != 29 {
			t.Errorf("%+v", a)
		}
	})
	t.Run("tls10", func(t *testing.T) {
		a := answerFromGo(t, base(tls.VersionTLS10, tls.VersionTLS10), Hello{Version: VersionTLS10, Suites: LegacySuites()})
		if !a.Hello || a.Version != VersionTLS10 || a.Suite != tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA {
			t.Errorf("%+v", a)
		}
	})
	t.Run("tls13", func(t *testing.T) {
		a := answerFromGo(t, base(tls.VersionTLS13, tls.VersionTLS13), Hello{Version: VersionTLS13, Suites: TLS13Suites()})
		if !a.Hello || a.Version != VersionTLS13 || a.Suite != tls.TLS_AES_128_GCM_SHA256 || a.Group != 29 || a.HelloRetry || a.Certificates != nil {
			t.Errorf("%+v", a)
		}
	})
	t.Run("hello retry", func(t *testing.T) {
		cfg := base(tls.VersionTLS13, tls.VersionTLS13)
		cfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
		a := answerFromGo(t, cfg, Hello{Version: VersionTLS13, Suites: TLS13Suites()})
		if !a.Hello || !a.HelloRetry || a.Group != uint16(tls.CurveP256) || a.Suite != tls.TLS_AES_128_GCM_SHA256 {
			t.Errorf("%+v", a)
		}
	})
	t.Run("version refused", func(t *testing.T) {
		a := answerFromGo(t, base(tls.VersionTLS12, tls.VersionTLS13), Hello{Version: VersionTLS11, Suites: LegacySuites()})
		if a.Refusal == nil || a.Refusal.Kind != RefusedAlert || a.Refusal.Alert != 70 {
			t.Errorf("%+v", a.Refusal)
		}
	})
	t.Run("suite refused", func(t *testing.T) {
		a := answerFromGo(t, base(tls.VersionTLS12, tls.VersionTLS12), Hello{Version: VersionTLS12, Suites: []uint16{0x00a7, 0x000a}})
		if a.Refusal == nil || a.Refusal.Kind != RefusedAlert || a.Refusal.Alert != 40 {
			t.Errorf("%+v", a.Refusal)
		}
	})
	t.Run("strict alpn", func(t *testing.T) {
		cfg := base(tls.VersionTLS12, tls.VersionTLS13)
		cfg.NextProtos = []string{"h2"}
		a := answerFromGo(t, cfg, Hello{Version: VersionTLS13, Suites: TLS13Suites(), ALPN: []string{UnknownALPN}})
		if a.Refusal == nil || a.Refusal.Alert != alertNoApplicationProtocol {
			t.Errorf("%+v", a.Refusal)
		}
		a = answerFromGo(t, cfg, Hello{Version: VersionTLS12, Suites: LegacySuites(), ALPN: []string{UnknownALPN}})
		if a.Refusal == nil || a.Refusal.Alert != alertNoApplicationProtocol {
			t.Errorf("%+v", a.Refusal)
		}
		// Under TLS 1.2 the choice is in the ServerHello (RFC 7301 §3.1);
		// under TLS 1.3 in EncryptedExtensions, out of sight.
		a = answerFromGo(t, cfg, Hello{Version: VersionTLS12, Suites: LegacySuites(), ALPN: []string{"h2"}})
		if !a.Hello || a.ALPN != "h2" {
			t.Errorf("%+v", a)
		}
	})
}

func FuzzReadAnswer(f *testing.F) {
	for _, tc := range answerCases {
		if len(tc.data) < 64<<10 {
			f.Add(tc.data, tc.flight)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, flight bool) {
		a := ReadAnswer(bytes.NewReader(data), flight)
		if a.Hello == (a.Refusal != nil) {
			t.Fatalf("hello %v, refusal %+v", a.Hello, a.Refusal)
		}
		if a.Refusal != nil && a.Refusal.Kind == "" {
			t.Fatal("refusal without a kind")
		}
		if a.Bytes < 0 || a.Bytes > len(data) || a.Bytes > MaxAnswerBytes {
			t.Fatalf("read %d of %d bytes", a.Bytes, len(data))
		}
		if len(a.Certificates) > maxCerts {
			t.Fatalf("%d certificates kept", len(a.Certificates))
		}
	})
}
