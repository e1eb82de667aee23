// Package peers finds the real Postfix and Dovecot that ../shared/peers
// starts on loopback, for the interop tests of every package: one place
// that reads MAILWIRE_PEERS and MAILWIRE_PEERS_CA, refuses any address
// that is not loopback (tests talk to 127.0.0.0/8 only) and skips when the
// peers are not configured.
package peers

import (
	"crypto/x509"
	"net"
	"os"
	"strconv"
	"testing"
)

// The peers' fixed setup (../shared/peers/README.md).
const (
	EnvAddr    = "MAILWIRE_PEERS"    // their loopback IP, e.g. 127.0.0.2
	EnvCA      = "MAILWIRE_PEERS_CA" // their CA file
	DefaultCA  = "/tmp/mailpeers/ca.pem"
	ServerName = "mail.peers.test" // the name on their certificate
	User       = "learner"
	Password   = "correct-horse"
	Mailbox    = "learner@mail.peers.test"
)

// Peers is a configured set of peers.
type Peers struct {
	IP     string         // loopback IP they listen on
	CAFile string         // their CA, PEM
	Roots  *x509.CertPool // the CA as a pool
}

// Find returns the peers, or skips t when MAILWIRE_PEERS is unset. It fails
// t on an address that is not loopback or an unreadable CA.
func Find(t testing.TB) Peers {
	t.Helper()
	ip := os.Getenv(EnvAddr)
	if ip == "" {
		t.Skipf("%s not set: no real Postfix/Dovecot to test against", EnvAddr)
	}
	if p := net.ParseIP(ip); p == nil || !p.IsLoopback() {
		t.Fatalf("%s=%q: want a loopback IP such as 127.0.0.2", EnvAddr, ip)
	}
	ca := os.Getenv(EnvCA)
	if ca == "" {
		ca = DefaultCA
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatalf("peers CA (%s): %v", EnvCA, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("peers CA %s: no certificate in it", ca)
	}
	return Peers{IP: ip, CAFile: ca, Roots: pool}
}

// Addr is the address of one of their ports.
func (p Peers) Addr(port int) string { return net.JoinHostPort(p.IP, strconv.Itoa(port)) }
