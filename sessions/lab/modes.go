package lab

// On-demand endpoints for the scenarios: one more listener with the
// semantics of one of the lab's canonical ports, departing from the normal
// lab in one deliberate way (a Mode). They share the lab's CA, certificate,
// mail store, connection limits and timeouts, and close with it. A mode is
// a policy value (policy.go) played by the lab's real servers wherever they
// can play it; only the STARTTLS input-buffer bug needs a scripted server
// for SMTP and IMAP (vulnerable.go says why).

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/mailwire/mailwire/content"
)

// Mode is how an on-demand endpoint departs from the normal lab.
type Mode string

const (
	// ModeNormal: as the lab's own endpoint for the port.
	ModeNormal Mode = ""
	// ModeCleartextAuth (587, 110, 143): a careless server that offers and
	// accepts AUTH PLAIN/LOGIN, IMAP LOGIN and POP3 USER/PASS before
	// STARTTLS/STLS, which servers must be able to refuse and sites should
	// refuse (RFC 4954 §4 for SMTP, RFC 9051 §6.2.3 for IMAP LOGIN, RFC
	// 2595 §2.3 for POP3). STARTTLS is still offered. On 587 mail may be
	// submitted in cleartext too (no RequireTLS); recipients still need
	// AUTH (RFC 6409 §4.3), and it never relays.
	ModeCleartextAuth Mode = "cleartext-auth"
	// ModeInjectionVulnerable (25, 587, 110, 143): keeps its cleartext
	// input buffer across STARTTLS/STLS and answers commands pipelined
	// after STARTTLS as if they had come inside TLS: the CVE-2011-0411
	// class bug (Postfix fixed it in 2.7.3/2.8). RFC 3207 §4.2 and RFC
	// 2595 §4 require the server to discard what it learned before TLS;
	// RFC 2920 §3.1 makes STARTTLS the last command of a pipelined group.
	ModeInjectionVulnerable Mode = "injection-vulnerable"
	// ModeResponseInjection (25, 587, 110, 143): the lab's server, which
	// writes InjectedLines(proto) right after its positive STARTTLS/STLS
	// reply, in the same write, before the handshake; then TLS goes on
	// normally with the lab's certificate. A client that reads those lines
	// as the first replies inside TLS believes a man in the middle: the
	// client-side twin of CVE-2011-0411, "response injection" in
	// Poddebniak et al., "Why TLS is better without STARTTLS" (USENIX
	// Security 2021). RFC 3207 §4.2 has the client discard what it knew.
	ModeResponseInjection Mode = "response-injection"
	// ModeOtherName (every mail port): the lab's own server, whose TLS
	// certificate is issued by the lab CA for OtherName only, not for
	// Hostname, localhost or any address. A client that checks the name
	// (RFC 9525 §6; RFC 8314 §5.3 for mail clients) ends the handshake; one
	// that goes on inside TLS did not check it, and the lab monitor flags
	// it (sessions/monitor). A client that asked for OtherName in its SNI
	// is the one client for which the certificate is right.
	ModeOtherName Mode = "other-name"
)

// modePorts are the canonical ports each mode (other than ModeNormal)
// supports: the STARTTLS ports where the departure means something.
var modePorts = map[Mode][]int{
	ModeCleartextAuth:       {587, 110, 143},
	ModeInjectionVulnerable: {25, 587, 110, 143},
	ModeResponseInjection:   {25, 587, 110, 143},
	ModeOtherName:           content.MailPorts(),
}

// Modes returns the modes AddEndpoint supports besides ModeNormal, with
// their canonical ports.
func Modes() map[Mode][]int {
	out := make(map[Mode][]int, len(modePorts))
	for m, p := range modePorts {
		out[m] = slices.Clone(p)
	}
	return out
}

// Go-ahead replies of the lab's servers to STARTTLS/STLS, as written on the
// wire (for IMAP, after the command's tag): go-smtp's, go-imap's and
// pop3.go's.
const (
	smtpGoAhead = "220 2.0.0 Ready to start TLS\r\n"
	imapGoAhead = " OK Begin TLS negotiation now\r\n"
	pop3GoAhead = "+OK Begin TLS negotiation\r\n"
)

// injectedLines are what ModeResponseInjection writes after the go-ahead:
// a second EHLO reply offering AUTH LOGIN (SMTP), a CAPABILITY offering
// AUTH=PLAIN (IMAP), an extra positive reply (POP3).
var injectedLines = map[string]string{
	ProtoSMTP: "250-evil.lab.test\r\n250 AUTH LOGIN\r\n",
	ProtoIMAP: "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n",
	ProtoPOP3: "+OK injected\r\n",
}

// InjectedLines returns the bytes a ModeResponseInjection endpoint of proto
// ("smtp", "imap", "pop3") writes right after its STARTTLS/STLS go-ahead,
// or "" for another protocol.
func InjectedLines(proto string) string { return injectedLines[proto] }

// modeSpec is the endpoint and policy of (canonical, mode).
func modeSpec(canonical int, mode Mode) (endpointSpec, error) {
	var spec endpointSpec
	found := false
	for _, s := range plan() {
		if s.Canonical == canonical {
			spec, found = s, true
			break
		}
	}
	if !found {
		return spec, fmt.Errorf("the lab has no port %d", canonical)
	}
	spec.Mode = mode
	if mode == ModeNormal {
		return spec, nil
	}
	ports, ok := modePorts[mode]
	if !ok {
		return spec, fmt.Errorf("unknown mode %q", mode)
	}
	if !slices.Contains(ports, canonical) {
		return spec, fmt.Errorf("mode %s is for ports %v, not %d", mode, ports, canonical)
	}
	p := spec.policy
	// Whatever else a mode gets wrong, nothing leaves the lab through it.
	p.NoRelay = true
	switch mode {
	case ModeCleartextAuth:
		p.AuthBeforeTLS = true
		p.RequireTLS = false
	case ModeInjectionVulnerable:
		p.KeepPipelinedAfterTLS = true
	case ModeResponseInjection:
		p.InjectAfterStartTLS = injectedLines[spec.Proto]
	}
	spec.policy = p
	return spec, nil
}

// AddEndpoint starts one more endpoint with the semantics of canonical port
// canonical and the given mode, on a free port of the lab's ListenHost,
// sharing the lab's CA, certificate, mail store and limits; it closes with
// the lab. Unsupported (port, mode) pairs return an error, as does a call
// after Close. It is safe to call concurrently, and while Close runs.
func (l *Lab) AddEndpoint(canonical int, mode Mode) (Endpoint, error) {
	spec, err := modeSpec(canonical, mode)
	if err != nil {
		return Endpoint{}, fmt.Errorf("lab: add endpoint %d %q: %w", canonical, mode, err)
	}
	l.modeMu.Lock()
	defer l.modeMu.Unlock()
	if l.stopping() {
		return Endpoint{}, fmt.Errorf("lab: add endpoint %d %q: the lab is closed", canonical, mode)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(l.opts.ListenHost, "0"))
	if err != nil {
		return Endpoint{}, fmt.Errorf("lab: add endpoint %d %q: listen: %w", canonical, mode, err)
	}
	spec.Addr = ln.Addr().String()
	if err := l.serveMode(spec, ln); err != nil {
		ln.Close()
		return Endpoint{}, fmt.Errorf("lab: add endpoint %d %q: %w", canonical, mode, err)
	}
	l.added = append(l.added, spec.Endpoint)
	return spec.Endpoint, nil
}

// AddedEndpoints returns the endpoints AddEndpoint started, in order.
func (l *Lab) AddedEndpoints() []Endpoint {
	l.modeMu.Lock()
	defer l.modeMu.Unlock()
	return slices.Clone(l.added)
}

// serveMode starts the server of a mode endpoint on ln. Called with
// l.modeMu held and the lab not stopping.
func (l *Lab) serveMode(spec endpointSpec, ln net.Listener) error {
	if spec.Mode == ModeInjectionVulnerable && spec.Proto != ProtoPOP3 {
		// go-smtp and go-imap cannot keep the buffer (vulnerable.go).
		gl := &guardedListener{Listener: ln, lab: l, endpoint: spec.Endpoint}
		return l.serveVulnerable(spec, gl)
	}
	if inj := spec.policy.InjectAfterStartTLS; inj != "" {
		goAhead := map[string]string{ProtoSMTP: smtpGoAhead, ProtoIMAP: imapGoAhead, ProtoPOP3: pop3GoAhead}[spec.Proto]
		if goAhead == "" {
			return fmt.Errorf("response injection: no STARTTLS reply known for %s", spec.Proto)
		}
		gl := &guardedListener{Listener: ln, lab: l, endpoint: spec.Endpoint,
			wrap: func(c *labConn) net.Conn {
				return &injectConn{labConn: c, goAhead: []byte(goAhead), inject: []byte(inj)}
			}}
		switch spec.Proto {
		case ProtoSMTP:
			return l.serveSMTP(spec, gl)
		case ProtoIMAP:
			return l.serveIMAP(spec, gl)
		default:
			return l.servePOP3(spec, gl)
		}
	}
	return l.serve(spec, ln)
}

// injectConn is a ModeResponseInjection connection: the first write that
// ends with the server's STARTTLS go-ahead, while the connection is still
// cleartext, goes out with the injected lines appended, in the same
// write, so they reach the client before the TLS handshake begins, exactly
// where a man in the middle would put them.
type injectConn struct {
	*labConn
	goAhead, inject []byte

	mu   sync.Mutex
	done bool
}

// NetConn leads labConnOf (and so the rate limit and configForClient) to
// the labConn underneath.
func (c *injectConn) NetConn() net.Conn { return c.labConn }

func (c *injectConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	fire := !c.done && bytes.HasSuffix(p, c.goAhead) && !c.tlsStarted()
	if fire {
		c.done = true
	}
	c.mu.Unlock()
	if !fire {
		return c.labConn.Write(p)
	}
	buf := make([]byte, 0, len(p)+len(c.inject))
	buf = append(append(buf, p...), c.inject...)
	n, err := c.labConn.Write(buf)
	if err != nil {
		return min(n, len(p)), fmt.Errorf("write starttls reply with injected lines: %w", err)
	}
	// The server wrote p; the rest is this mode's own.
	return len(p), nil
}

// tlsStarted reports whether a TLS session runs on the labConn.
func (c *labConn) tlsStarted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tlsActive
}
