package mitm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// On an implicit-TLS port the first byte is TLS (RFC 8314 §3): there is no
// cleartext offer to remove. The attacker can present its own certificate,
// which a verifying client refuses; cut the connection, which the client
// notices; or relay records it cannot read.

// attackerCAName is the subject of the attacker's CA.
const attackerCAName = "mailwire attacker CA (not trusted by anyone)"

// ownCert terminates the client's TLS with the attacker's certificate and,
// if the client accepts it, relays to the server over the attacker's own
// TLS, reading everything.
func (c *pconn) ownCert() {
	defer c.finish()
	c.p.note(fmt.Sprintf("the attacker answers the client's ClientHello itself, with a certificate for %s issued by its own CA %q: "+
		"the name is right, but a client that checks the chain against the roots it trusts (RFC 8314 §5.3) refuses it",
		c.cfg.ServerName, attackerCAName), "attack.own_cert.presented", nil)
	tc := tls.Server(c.client, &tls.Config{Certificates: []tls.Certificate{*c.p.cert}, MinVersion: tls.VersionTLS12})
	_ = c.client.SetDeadline(c.deadline(c.cfg.Timeout))
	err := tc.HandshakeContext(c.ctx)
	_ = c.client.SetDeadline(time.Time{})
	if err != nil {
		c.p.note(fmt.Sprintf("the client refused the attacker's certificate (%v): it sent nothing more, so the attacker learned nothing but the server name",
			err), "attack.own_cert.refused", nil)
		return
	}
	c.p.note("the client accepted the attacker's certificate: everything it sends from here, the password included, is readable by the attacker",
		"attack.own_cert.accepted", nil)
	c.cconn = tc
	c.cr = protocol.NewLineReader(tc, c.cfg.MaxLine)
	c.cr.SetBefore(c.clientDeadline)
	if err := c.dialUpstream(); err != nil {
		return
	}
	if err := c.startUpstreamTLS("tls.boundary.implicit",
		"the attacker opens its own implicit-TLS connection to the server: TLS from the first byte (RFC 8314 §3)"); err != nil {
		return
	}
	c.relay()
}

// breakOnHello reads the first record header of the client's ClientHello
// and resets the connection.
func (c *pconn) breakOnHello() {
	_ = c.client.SetReadDeadline(c.deadline(c.cfg.Timeout))
	var hdr [5]byte
	if _, err := io.ReadFull(c.client, hdr[:]); err != nil {
		c.p.fail("read the client's ClientHello", err, "")
		return
	}
	what := fmt.Sprintf("the client's first TLS record header (%s, %d bytes: its ClientHello)",
		dissect.RecordTypeName(hdr[0]), int(hdr[3])<<8|int(hdr[4]))
	if !looksLikeTLS(hdr[:]) {
		// As they crossed: the printers escape the note's text once.
		what = fmt.Sprintf("the client's first bytes, which are not a TLS record (%s)", wire.Quote(string(hdr[:]), len(hdr)))
	}
	c.p.note("the attacker read "+what+" and cut the connection with a TCP reset: the client learns only that "+
		"the connection broke, sends nothing more, and cannot be talked into cleartext (RFC 8314 §3)",
		"attack.break.reset", hdr[:])
	if tc, ok := c.client.(*net.TCPConn); ok {
		// SO_LINGER 0: close sends RST instead of FIN.
		_ = tc.SetLinger(0)
	}
	c.client.Close()
	c.p.emit(wire.Event{Kind: wire.KindClose, Dir: wire.Local, Layer: wire.LayerTCP,
		Visible: wire.VisibleMetadata, Annotation: "tcp.close",
		Text: "the attacker reset the client's connection; it never connected to the server"})
}

// passthrough relays bytes both ways untouched; the dissector shows what
// the attacker sees of them: record types and sizes, and the handshake
// messages that travel in the clear.
func (c *pconn) passthrough() {
	if err := c.dialUpstream(); err != nil {
		return
	}
	defer c.finish()
	c.p.note("the attacker relays the client's bytes untouched: all it can read is the cleartext part of the handshake "+
		"(the server name, the offered versions and ciphers) and the type and size of each record",
		"attack.passthrough", nil)
	c.diss = dissect.New()
	c.tap.SetTap(c.feed) // reads from the tap are server→client, writes client→server
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.pipe(c.tap, c.client, 0)
		c.closeAll()
	}()
	c.pipe(c.client, c.tap, c.cfg.Timeout)
	c.closeAll()
	<-done
}

// pipe copies from → to until either ends; idle bounds each read (0: only
// the connection's time limit).
func (c *pconn) pipe(from, to net.Conn, idle time.Duration) {
	buf := make([]byte, 32<<10)
	for {
		_ = from.SetReadDeadline(c.deadline(idle))
		n, err := from.Read(buf)
		if n > 0 {
			_ = to.SetWriteDeadline(c.deadline(c.cfg.Timeout))
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && c.ctx.Err() == nil {
				c.p.fail("relay", err, "")
			}
			return
		}
	}
}

// newAttackerCert makes a CA that nobody trusts and a server certificate
// from it for name, in memory only. ECDSA P-256 keeps it fast.
func newAttackerCert(name string, now time.Time) (*tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial := func() (*big.Int, error) { return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)) }
	caSerial, err := serial()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: attackerCAName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafSerial, err := serial()
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: leafSerial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	// The same name the real server's certificate carries (RFC 6125): only
	// the issuer gives the attacker away.
	if ip := net.ParseIP(name); ip != nil {
		leafTmpl.IPAddresses = []net.IP{ip}
	} else {
		leafTmpl.DNSNames = []string{name}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}, nil
}
