package lab

// Interop tests: the lab claims to behave like a real mail server on the
// points it teaches (what is offered before and after TLS, what is refused
// and with which codes). These tests hold it to that claim by running the
// same scripted client against the lab and against real Postfix and Dovecot
// (../shared/peers), and comparing status codes and response codes (never
// free text, which differs by design).
//
// They run only when MAILWIRE_PEERS names the peers' loopback address
// (e.g. 127.0.0.2); MAILWIRE_PEERS_CA is their CA file (default
// /tmp/mailpeers/ca.pem). Run:
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/lab/

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	peerenv "github.com/mailwire/mailwire/sessions/internal/peers"
)

// peersHostname is the name on the peers' certificate.
const peersHostname = peerenv.ServerName

// peerTarget is one side of a comparison: the lab or the real servers.
type peerTarget struct {
	name   string
	addr   func(port int) string
	tls    *tls.Config // verifies the side's certificate for its own name
	domain string      // its local mail domain
}

// peerTargets returns the lab (started here) and the peers, or skips the
// test when MAILWIRE_PEERS is unset.
func peerTargets(t *testing.T) (lab, peers peerTarget) {
	t.Helper()
	p := peerenv.Find(t)
	host, pool := p.IP, p.Roots

	l := startLab(t, nil)
	lab = peerTarget{
		name:   "lab",
		addr:   func(port int) string { return addr(t, l, port) },
		tls:    clientTLS(l),
		domain: Hostname,
	}
	peers = peerTarget{
		name:   "peers",
		addr:   func(port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) },
		tls:    &tls.Config{RootCAs: pool, ServerName: peersHostname},
		domain: peersHostname,
	}
	return lab, peers
}

// observations are what one side did, as short comparable values keyed by
// the step that produced them, in the order they were made.
type observations struct {
	keys []string
	vals map[string]string
}

func (o *observations) set(key, val string) {
	if o.vals == nil {
		o.vals = make(map[string]string)
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = val
}

// comparePeers fails for every step where the lab and the peers differ, and
// for every expected value the peers themselves do not show (the peers are
// the reference, so they are checked against what README/RFC promise too).
func comparePeers(t *testing.T, want map[string]string, lab, peers observations) {
	t.Helper()
	keys := append([]string(nil), peers.keys...)
	for _, k := range lab.keys {
		if _, ok := peers.vals[k]; !ok {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		lv, lok := lab.vals[k]
		pv, pok := peers.vals[k]
		switch {
		case !lok:
			lv = "(not observed)"
		case !pok:
			pv = "(not observed)"
		}
		if lv != pv {
			t.Errorf("DIFFERS %s: lab %q, real server %q", k, lv, pv)
		} else {
			t.Logf("same    %s: %q on both", k, lv)
		}
		if w, ok := want[k]; ok && pv != w {
			t.Errorf("%s: the real server shows %q, expected %q (are the peers configured as in ../shared/peers?)", k, pv, w)
		}
	}
}

var (
	smtpStatusRE = regexp.MustCompile(`^([2-5][0-9][0-9])[ -](?:([245]\.[0-9]{1,3}\.[0-9]{1,3})\b)?`)
	imapStatusRE = regexp.MustCompile(`^\S+ (OK|NO|BAD)(?: \[([A-Za-z0-9-]+)[^\]]*\])?`)
	pop3StatusRE = regexp.MustCompile(`^(\+OK|-ERR)(?: \[([A-Za-z0-9/-]+)\])?`)
)

// smtpStatus reduces an SMTP reply to its code and enhanced status code
// (RFC 5321 §4.2, RFC 3463), e.g. "530 5.7.0".
func smtpStatus(lines []string) string {
	last := lines[len(lines)-1]
	m := smtpStatusRE.FindStringSubmatch(last)
	if m == nil {
		return "unparsable: " + last
	}
	if m[2] == "" {
		return m[1]
	}
	return m[1] + " " + m[2]
}

// smtpCode is only the three-digit code.
func smtpCode(lines []string) string {
	s := smtpStatus(lines)
	if len(s) >= 3 {
		return s[:3]
	}
	return s
}

// ehloKeywords returns the EHLO keywords (RFC 5321 §4.1.1.1) and the AUTH
// mechanisms (RFC 4954 §3) of an EHLO reply.
func ehloKeywords(lines []string) (kw map[string]bool, mechs []string) {
	kw = make(map[string]bool)
	for _, l := range lines[1:] { // the first line is the greeting
		if len(l) < 5 {
			continue
		}
		f := strings.Fields(strings.ToUpper(l[4:]))
		if len(f) == 0 {
			continue
		}
		kw[f[0]] = true
		if f[0] == "AUTH" {
			mechs = f[1:]
		}
	}
	return kw, mechs
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// authPlain is the RFC 4616 initial response for the shared credentials.
func authPlain() string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + DemoUser + "\x00" + DemoPassword))
}

func TestPeersSubmission587(t *testing.T) {
	lab, peers := peerTargets(t)
	run := func(tg peerTarget) observations {
		var o observations
		w := dialWire(t, tg.addr(587))
		o.set("greeting", smtpCode(w.smtpReply()))
		w.send("EHLO client.test")
		kw, _ := ehloKeywords(w.smtpReply())
		o.set("pre-TLS EHLO offers STARTTLS", yesNo(kw["STARTTLS"]))
		o.set("pre-TLS EHLO offers AUTH", yesNo(kw["AUTH"]))
		// RFC 4954 §4 and RFC 3207 §4: no password and no mail in the
		// clear on submission.
		w.send("AUTH PLAIN " + authPlain())
		o.set("pre-TLS AUTH PLAIN", smtpStatus(w.smtpReply()))
		w.send("MAIL FROM:<" + DemoUser + "@" + tg.domain + ">")
		o.set("pre-TLS MAIL FROM", smtpStatus(w.smtpReply()))
		w.send("STARTTLS")
		o.set("STARTTLS", smtpCode(w.smtpReply()))
		w.startTLS(tg.tls)
		// RFC 3207 §4.2: the client must EHLO again after TLS.
		w.send("EHLO client.test")
		kw, mechs := ehloKeywords(w.smtpReply())
		o.set("TLS EHLO offers AUTH", yesNo(kw["AUTH"]))
		o.set("TLS EHLO offers STARTTLS again", yesNo(kw["STARTTLS"]))
		o.set("TLS AUTH mechanisms", strings.Join(mechs, " "))
		w.send("AUTH PLAIN " + authPlain())
		// RFC 4954 §6: 235 2.7.0 Authentication Succeeded.
		o.set("TLS AUTH PLAIN", smtpStatus(w.smtpReply()))
		w.send("MAIL FROM:<" + DemoUser + "@" + tg.domain + ">")
		o.set("TLS+AUTH MAIL FROM", smtpCode(w.smtpReply()))
		w.send("RCPT TO:<" + DemoUser + "@" + tg.domain + ">")
		o.set("TLS+AUTH RCPT TO local", smtpCode(w.smtpReply()))
		w.send("QUIT")
		o.set("QUIT", smtpCode(w.smtpReply()))
		return o
	}
	comparePeers(t, map[string]string{
		"pre-TLS EHLO offers STARTTLS": "yes",
		"pre-TLS EHLO offers AUTH":     "no",
		"pre-TLS AUTH PLAIN":           "530 5.7.0",
		"pre-TLS MAIL FROM":            "530 5.7.0",
		"STARTTLS":                     "220",
		"TLS EHLO offers AUTH":         "yes",
		"TLS AUTH mechanisms":          "PLAIN LOGIN",
		"TLS AUTH PLAIN":               "235 2.7.0",
		"TLS+AUTH MAIL FROM":           "250",
		"TLS+AUTH RCPT TO local":       "250",
	}, run(lab), run(peers))
}

// TestPeersSubmission587NoAuth: over TLS but without AUTH, where does each
// side refuse a message, and with what? RFC 6409 §4.3 has a submission
// server refuse MAIL before AUTH by default; Postfix, with the usual
// submission settings (smtpd_recipient_restrictions =
// permit_sasl_authenticated, reject), lets MAIL through and refuses at RCPT
// with 554 5.7.1. The lab follows Postfix so that a learner comparing the
// two sees the same transcript.
func TestPeersSubmission587NoAuth(t *testing.T) {
	lab, peers := peerTargets(t)
	run := func(tg peerTarget) observations {
		var o observations
		w := dialWire(t, tg.addr(587))
		w.smtpReply()
		w.send("EHLO client.test")
		w.smtpReply()
		w.send("STARTTLS")
		w.smtpReply()
		w.startTLS(tg.tls)
		w.send("EHLO client.test")
		w.smtpReply()
		w.send("MAIL FROM:<" + DemoUser + "@" + tg.domain + ">")
		mail := w.smtpReply()
		refused := "none"
		if smtpCode(mail) != "250" {
			refused = "MAIL FROM " + smtpStatus(mail)
		} else {
			w.send("RCPT TO:<" + DemoUser + "@" + tg.domain + ">")
			if r := w.smtpReply(); smtpCode(r) != "250" {
				refused = "RCPT TO " + smtpStatus(r)
			}
		}
		o.set("unauthenticated message over TLS first refused at", refused)
		w.send("QUIT")
		w.smtpReply()
		return o
	}
	comparePeers(t, map[string]string{
		"unauthenticated message over TLS first refused at": "RCPT TO 554 5.7.1",
	}, run(lab), run(peers))
}

func TestPeersTransfer25(t *testing.T) {
	lab, peers := peerTargets(t)
	run := func(tg peerTarget) observations {
		var o observations
		w := dialWire(t, tg.addr(25))
		o.set("greeting", smtpCode(w.smtpReply()))
		w.send("EHLO client.test")
		kw, _ := ehloKeywords(w.smtpReply())
		// RFC 3207 §4 and RFC 7435: opportunistic TLS, offered not
		// required; no AUTH on the MTA port.
		o.set("EHLO offers STARTTLS", yesNo(kw["STARTTLS"]))
		o.set("EHLO offers AUTH", yesNo(kw["AUTH"]))
		w.send("MAIL FROM:<sender@example.test>")
		o.set("cleartext MAIL FROM", smtpCode(w.smtpReply()))
		// RFC 5321 §3.6.2 / §7.1: no relaying for strangers.
		w.send("RCPT TO:<someone@example.com>")
		o.set("cleartext RCPT TO outside domain", smtpStatus(w.smtpReply()))
		w.send("RCPT TO:<" + DemoUser + "@" + tg.domain + ">")
		o.set("cleartext RCPT TO local", smtpCode(w.smtpReply()))
		w.send("RSET")
		o.set("RSET", smtpCode(w.smtpReply()))
		w.send("STARTTLS")
		o.set("STARTTLS", smtpCode(w.smtpReply()))
		w.startTLS(tg.tls)
		w.send("EHLO client.test")
		kw, _ = ehloKeywords(w.smtpReply())
		o.set("TLS EHLO offers AUTH", yesNo(kw["AUTH"]))
		w.send("AUTH PLAIN " + authPlain())
		o.set("TLS AUTH PLAIN refused", smtpCode(w.smtpReply()))
		w.send("QUIT")
		o.set("QUIT", smtpCode(w.smtpReply()))
		return o
	}
	comparePeers(t, map[string]string{
		"EHLO offers STARTTLS":             "yes",
		"EHLO offers AUTH":                 "no",
		"cleartext MAIL FROM":              "250",
		"cleartext RCPT TO outside domain": "554 5.7.1",
		"cleartext RCPT TO local":          "250",
		"STARTTLS":                         "220",
		"TLS EHLO offers AUTH":             "no",
	}, run(lab), run(peers))
}

// imapStatus reduces a tagged IMAP completion to its status and response
// code (RFC 3501 §7.1, RFC 5530), e.g. "NO [PRIVACYREQUIRED]".
func imapStatus(lines []string) string {
	last := lines[len(lines)-1]
	m := imapStatusRE.FindStringSubmatch(last)
	if m == nil {
		return "unparsable: " + last
	}
	if m[2] == "" {
		return m[1]
	}
	return m[1] + " [" + strings.ToUpper(m[2]) + "]"
}

// imapCaps returns the capabilities of the untagged CAPABILITY response
// among lines (RFC 3501 §7.2.1).
func imapCaps(lines []string) map[string]bool {
	caps := make(map[string]bool)
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(strings.ToUpper(rest)) {
				caps[c] = true
			}
		}
	}
	return caps
}

func TestPeersIMAP143(t *testing.T) {
	lab, peers := peerTargets(t)
	run := func(tg peerTarget) observations {
		var o observations
		w := dialWire(t, tg.addr(143))
		g := w.line()
		o.set("greeting", strings.Fields(g + " x x")[1])
		caps := imapCaps(w.imapCmd("c1", "CAPABILITY"))
		// RFC 3501 §6.2.3 and RFC 2595 §3.2: LOGINDISABLED until TLS.
		o.set("pre-TLS STARTTLS", yesNo(caps["STARTTLS"]))
		o.set("pre-TLS LOGINDISABLED", yesNo(caps["LOGINDISABLED"]))
		o.set("pre-TLS AUTH=PLAIN", yesNo(caps["AUTH=PLAIN"]))
		o.set("pre-TLS LOGIN", imapStatus(w.imapCmd("a1", "LOGIN "+DemoUser+" "+DemoPassword)))
		o.set("STARTTLS", imapStatus(w.imapCmd("s1", "STARTTLS")))
		w.startTLS(tg.tls)
		caps = imapCaps(w.imapCmd("c2", "CAPABILITY"))
		o.set("TLS LOGINDISABLED", yesNo(caps["LOGINDISABLED"]))
		o.set("TLS STARTTLS again", yesNo(caps["STARTTLS"]))
		o.set("TLS AUTH=PLAIN", yesNo(caps["AUTH=PLAIN"]))
		login := w.imapCmd("a2", "LOGIN "+DemoUser+" "+DemoPassword)
		// Only the status: both may add a CAPABILITY response code.
		o.set("TLS LOGIN", strings.Fields(imapStatus(login))[0])
		o.set("TLS SELECT INBOX", strings.Fields(imapStatus(w.imapCmd("a3", "SELECT INBOX")))[0])
		o.set("LOGOUT", imapStatus(w.imapCmd("z1", "LOGOUT")))
		return o
	}
	comparePeers(t, map[string]string{
		"greeting":              "OK",
		"pre-TLS STARTTLS":      "yes",
		"pre-TLS LOGINDISABLED": "yes",
		"pre-TLS LOGIN":         "NO [PRIVACYREQUIRED]",
		"STARTTLS":              "OK",
		"TLS LOGINDISABLED":     "no",
		"TLS LOGIN":             "OK",
		"TLS SELECT INBOX":      "OK",
	}, run(lab), run(peers))
}

// pop3Status reduces a POP3 reply to its status and RFC 2449 §8 response
// code, e.g. "-ERR [AUTH]".
func pop3Status(line string) string {
	m := pop3StatusRE.FindStringSubmatch(line)
	if m == nil {
		return "unparsable: " + line
	}
	if m[2] == "" {
		return m[1]
	}
	return m[1] + " [" + m[2] + "]"
}

// pop3Capa sends CAPA (RFC 2449 §5) and returns the capability names.
func (w *wire) pop3Capa() (string, map[string]bool) {
	w.t.Helper()
	w.send("CAPA")
	status := pop3Status(w.line())
	caps := make(map[string]bool)
	if status != "+OK" {
		return status, caps
	}
	for i := 0; i < 100; i++ {
		l := w.line()
		if l == "." {
			return status, caps
		}
		if f := strings.Fields(strings.ToUpper(l)); len(f) > 0 {
			caps[f[0]] = true
		}
	}
	w.t.Fatalf("CAPA: no end after 100 lines")
	return status, caps
}

func TestPeersPOP3110(t *testing.T) {
	lab, peers := peerTargets(t)
	run := func(tg peerTarget) observations {
		var o observations
		w := dialWire(t, tg.addr(110))
		o.set("greeting", pop3Status(w.line()))
		st, caps := w.pop3Capa()
		o.set("pre-TLS CAPA", st)
		o.set("pre-TLS STLS offered", yesNo(caps["STLS"]))
		// RFC 2595 §2 and RFC 8314 §3: no password before STLS.
		w.send("USER " + DemoUser)
		o.set("pre-TLS USER", pop3Status(w.line()))
		w.send("STLS")
		o.set("STLS", pop3Status(w.line()))
		w.startTLS(tg.tls)
		st, caps = w.pop3Capa()
		o.set("TLS CAPA", st)
		o.set("TLS STLS offered again", yesNo(caps["STLS"]))
		o.set("TLS USER offered", yesNo(caps["USER"]))
		w.send("USER " + DemoUser)
		o.set("TLS USER", pop3Status(w.line()))
		w.send("PASS " + DemoPassword)
		o.set("TLS PASS", pop3Status(w.line()))
		w.send("QUIT")
		o.set("QUIT", pop3Status(w.line()))
		return o
	}
	comparePeers(t, map[string]string{
		"greeting":             "+OK",
		"pre-TLS STLS offered": "yes",
		"pre-TLS USER":         "-ERR [AUTH]",
		"STLS":                 "+OK",
		"TLS USER":             "+OK",
		"TLS PASS":             "+OK",
	}, run(lab), run(peers))
}

// TestPeersImplicitTLS: RFC 8314 §3, TLS from the first byte on 465, 993
// and 995, each side verified with its own CA for its own name, and the
// protocol greeting arriving inside TLS.
func TestPeersImplicitTLS(t *testing.T) {
	lab, peers := peerTargets(t)
	run := func(tg peerTarget) observations {
		var o observations
		for _, port := range []int{465, 993, 995} {
			w := dialWireTLS(t, tg.addr(port), tg.tls)
			tc, ok := w.conn.(*tls.Conn)
			if !ok {
				t.Fatalf("%s %d: not a TLS connection", tg.name, port)
			}
			st := tc.ConnectionState()
			o.set(fmt.Sprintf("%d handshake verified", port), yesNo(st.HandshakeComplete && len(st.VerifiedChains) > 0))
			o.set(fmt.Sprintf("%d TLS 1.2 or newer", port), yesNo(st.Version >= tls.VersionTLS12))
			switch port {
			case 465:
				o.set("465 greeting", smtpCode(w.smtpReply()))
				w.send("QUIT")
				o.set("465 QUIT", smtpCode(w.smtpReply()))
			case 993:
				o.set("993 greeting", strings.Fields(w.line() + " x x")[1])
				o.set("993 LOGOUT", imapStatus(w.imapCmd("z1", "LOGOUT")))
			case 995:
				o.set("995 greeting", pop3Status(w.line()))
				w.send("QUIT")
				o.set("995 QUIT", pop3Status(w.line()))
			}
			w.conn.Close()

			// RFC 8996: TLS 1.0 and 1.1 are deprecated; both sides
			// accept only TLS 1.2 and 1.3. Compare only whether the
			// handshake fails: Postfix and Go send a protocol_version
			// alert, Dovecot just closes.
			old := tg.tls.Clone()
			old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
			d := &net.Dialer{Timeout: wireTimeout}
			c, err := tls.DialWithDialer(d, "tcp", tg.addr(port), old)
			refused := err != nil
			switch {
			case err == nil:
				c.Close()
			case strings.Contains(err.Error(), "remote error"), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
				// The server refused: an alert, or a close.
				t.Logf("%s %d with TLS 1.1: %v", tg.name, port, err)
			default:
				// Anything else (a local config error, a timeout)
				// says nothing about the server.
				t.Fatalf("%s %d with TLS 1.1: not a refusal by the server: %v", tg.name, port, err)
			}
			o.set(fmt.Sprintf("%d TLS 1.1 refused", port), yesNo(refused))
		}
		return o
	}
	comparePeers(t, map[string]string{
		"465 handshake verified": "yes",
		"993 handshake verified": "yes",
		"995 handshake verified": "yes",
		"465 greeting":           "220",
		"993 greeting":           "OK",
		"995 greeting":           "+OK",
		"465 TLS 1.1 refused":    "yes",
		"993 TLS 1.1 refused":    "yes",
		"995 TLS 1.1 refused":    "yes",
	}, run(lab), run(peers))
}
