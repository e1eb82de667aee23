package tlsmsg

import (
	"crypto/tls"
	"net"
	"testing"
)

// SNIFor says what crypto/tls sends: the ClientHello a tls.Client writes
// for each name is read back with the dissector's parser.
func TestSNIFor(t *testing.T) {
	for _, name := range []string{
		"mail.lab.test", "mail.lab.test.", "127.0.0.2", "::1", "[::1]", "fe80::1%eth0", "localhost", "",
	} {
		got := SNIFor(name)
		if sent := clientHelloSNI(t, name); got != sent {
			t.Errorf("SNIFor(%q) = %q, crypto/tls sends %q", name, got, sent)
		}
	}
}

// clientHelloSNI is the server_name of the ClientHello crypto/tls writes
// for name, as the dissector's Parser reads it.
func clientHelloSNI(t *testing.T, name string) string {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		// The handshake never finishes: the peer reads the ClientHello
		// and hangs up.
		_ = tls.Client(c, &tls.Config{ServerName: name, InsecureSkipVerify: true}).Handshake()
		c.Close()
	}()
	buf := make([]byte, 16<<10)
	n := 0
	for n < 5 || n < 5+int(buf[3])<<8|int(buf[4]) {
		m, err := s.Read(buf[n:])
		if err != nil {
			t.Fatalf("read the ClientHello: %v", err)
		}
		n += m
	}
	var p Parser
	h := p.Parse(buf[5:n])
	if h == nil || h.ClientHello == nil {
		t.Fatalf("no ClientHello parsed from %d bytes", n-5)
	}
	return h.ClientHello.ServerName()
}

func TestSNIQuoted(t *testing.T) {
	for name, want := range map[string]string{
		"mail.lab.test.": `SNI "mail.lab.test"`,
		"127.0.0.2":      `no SNI, name "127.0.0.2"`,
		"":               `no SNI, name ""`,
	} {
		if got := SNIQuoted(name); got != want {
			t.Errorf("SNIQuoted(%q) = %s, want %s", name, got, want)
		}
	}
}
