package sessions_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/internal/peers"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Interop: mailwire's drivers against real Postfix and Dovecot (see
// ../shared/peers/README.md). Skipped unless MAILWIRE_PEERS names the peers'
// address, a loopback address such as 127.0.0.2:
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./sessions/
//
// The peers' certificates are verified against their own CA
// (MAILWIRE_PEERS_CA, default /tmp/mailpeers/ca.pem) for the name
// mail.peers.test, as the acceptance asks.

const (
	peersServerName = peers.ServerName
	peersUser       = peers.User
	peersPassword   = peers.Password
	peersMailbox    = peers.Mailbox
)

// peersOptions returns session options for one canonical port of the peers,
// or skips the test when no peers are configured.
func peersOptions(t *testing.T, port int) sessions.Options {
	t.Helper()
	p := peers.Find(t)
	o, err := sessions.OptionsForPort(p.Addr(port), port)
	if err != nil {
		t.Fatal(err)
	}
	o.ServerName = peersServerName
	o.Verify, o.CAFile = wire.VerifyCAFile, p.CAFile
	o.Username, o.Password = peersUser, peersPassword
	o.From, o.To = peersMailbox, peersMailbox
	o.EHLOName = "client.peers.test"
	o.ReadTimeout, o.SessionTimeout = 5*time.Second, 30*time.Second
	return o
}

// peersSecrets are the forms of the password that must never be readable in
// an event an observer on the path can see: the password itself, the AUTH
// PLAIN initial response (RFC 4616 §2) and the AUTH LOGIN answer, both
// base64.
func peersSecrets() [][]byte { return secretsOf(peersUser, peersPassword) }

// secretsOf is a password in every form a driver may send it: as is, in an
// AUTH PLAIN response and in an AUTH LOGIN response.
func secretsOf(user, password string) [][]byte {
	return [][]byte{
		[]byte(password),
		[]byte(base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + password))),
		[]byte(base64.StdEncoding.EncodeToString([]byte(password))),
	}
}

func TestPeersSessions(t *testing.T) {
	// Real servers word and split things differently from the lab: every
	// key they lead the drivers to emit must still resolve in content.
	fallbacks := map[string]string{}
	defer func() {
		if len(fallbacks) > 0 || testing.Verbose() {
			logFallbacks(t, fallbacks)
		}
	}()
	for _, tc := range []struct {
		port int
		// cleartext lines expected before the boundary (prefixes, in
		// order); nil for implicit TLS.
		cleartext []string
		// credPrefix starts the decrypted line that carries the
		// password; mech is the Credential's Mechanism.
		credPrefix, mech string
		// done is a prefix of the server line that shows the session
		// reached its end as intended.
		done string
	}{
		// Port 25 offers no AUTH (README): the session sends the mail to
		// the local mailbox without credentials.
		{25, []string{"220 ", "EHLO", "250", "STARTTLS", "220 "}, "", "", "221 "},
		{587, []string{"220 ", "EHLO", "250", "STARTTLS", "220 "}, "AUTH PLAIN", "AUTH PLAIN", "221 "},
		{465, nil, "AUTH PLAIN", "AUTH PLAIN", "221 "},
		{110, []string{"+OK", "CAPA", "+OK", "STLS", "+OK"}, "PASS ", "USER/PASS", "+OK"},
		{995, nil, "PASS ", "USER/PASS", "+OK"},
		{143, []string{"* OK", "a1 CAPABILITY", "* CAPABILITY", "a1 OK", "a2 STARTTLS", "a2 OK"}, "LOGIN", "LOGIN", "* BYE"},
		{993, nil, "LOGIN", "LOGIN", "* BYE"},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			o := peersOptions(t, tc.port)
			if tc.port == 25 {
				o.Username, o.Password = "", ""
			}
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			assertPeersSession(t, evs, tc.cleartext, tc.credPrefix, tc.mech)
			maps.Copy(fallbacks, checkEventAnnotations(t, evs))
			st := annotated(evs, "tls.state")
			if st == nil || !st.TLS.Verified || st.TLS.VerifyMethod != string(wire.VerifyCAFile) ||
				st.TLS.ServerName != peersServerName || len(st.TLS.PeerChain) == 0 ||
				!strings.Contains(st.TLS.PeerChain[0], peersServerName) {
				t.Errorf("TLS state: %+v", st)
			}
			done := false
			for _, ev := range evs {
				done = done || ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient &&
					ev.Layer == wire.LayerDecrypted && bytes.HasPrefix(ev.Raw, []byte(tc.done))
			}
			if !done {
				t.Errorf("no decrypted %q from the server\n%s", tc.done, text(evs))
			}
		})
	}
}

// assertPeersSession checks the stream of one session against a real
// server: the cleartext lines before TLS, the boundary, a ClientHello
// with SNI mail.peers.test and a ServerHello, then only TLS on the wire
// while the decrypted lines carry the credential; the password is never
// readable in an event an observer could see; no error.
func assertPeersSession(t *testing.T, evs []wire.Event, cleartext []string, credPrefix, mech string) {
	t.Helper()
	assertSessionStream(t, evs, cleartext, credPrefix, mech, peersServerName, peersUser, peersPassword)
}

// assertSessionStream is assertPeersSession for any server: its name (SNI)
// and the login whose password must never be readable on the wire.
func assertSessionStream(t *testing.T, evs []wire.Event, cleartext []string, credPrefix, mech, serverName, user, password string) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Log("\n" + text(evs))
		}
	}()
	i := 0
	for _, want := range cleartext {
		for i < len(evs) && !(evs[i].Kind == wire.KindLine && bytes.HasPrefix(evs[i].Raw, []byte(want))) {
			if evs[i].Kind == wire.KindBoundary {
				t.Fatalf("boundary before cleartext %q", want)
			}
			i++
		}
		if i == len(evs) {
			t.Fatalf("no cleartext %q", want)
		}
		if evs[i].Layer != wire.LayerCleartext || evs[i].Visible != wire.VisibleAnyone {
			t.Errorf("%q: layer %s, visible %s", want, evs[i].Layer, evs[i].Visible)
		}
		i++
	}
	b := -1
	for j := i; j < len(evs); j++ {
		if evs[j].Kind == wire.KindBoundary {
			b = j
			break
		}
	}
	if b < 0 {
		t.Fatal("no boundary")
	}
	if len(cleartext) == 0 && b != 1 {
		t.Errorf("implicit TLS: boundary is event %d, want right after connect", b)
	}
	var sni, serverHello, cred, encC2S, encS2C bool
	for _, ev := range evs[b:] {
		switch {
		case ev.Kind == wire.KindHandshake && ev.Handshake.Type == "client_hello":
			for _, f := range ev.Handshake.Fields {
				sni = sni || f.Name == "SNI" && f.Value == serverName
			}
		case ev.Kind == wire.KindHandshake && ev.Handshake.Type == "server_hello":
			serverHello = true
		case ev.Kind == wire.KindEncrypted:
			encC2S = encC2S || ev.Dir == wire.ClientToServer
			encS2C = encS2C || ev.Dir == wire.ServerToClient
		case credPrefix != "" && ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer &&
			(bytes.HasPrefix(ev.Raw, []byte(credPrefix)) || credPrefix == "LOGIN" && bytes.Contains(ev.Raw, []byte(" LOGIN "))):
			if ev.Credential == nil || ev.Credential.Password != password || ev.Credential.OnWire ||
				ev.Credential.Mechanism != mech || ev.Layer != wire.LayerDecrypted || ev.Visible != wire.VisibleEndpoints {
				t.Errorf("credential line %q (%s, %s): %+v", ev.Text, ev.Layer, ev.Visible, ev.Credential)
			}
			cred = true
		}
		// After the boundary an observer sees TLS only: handshake
		// messages and records in the clear, everything else encrypted.
		if ev.Layer == wire.LayerCleartext {
			t.Errorf("cleartext after the boundary: %q", ev.Text)
		}
		if ev.Dir != wire.Local && ev.Layer != wire.LayerTLS && ev.Visible != wire.VisibleEndpoints &&
			ev.Kind != wire.KindEncrypted {
			t.Errorf("after the boundary, %s %s event %q is visible to %s", ev.Layer, ev.Kind, ev.Text, ev.Visible)
		}
	}
	if !sni || !serverHello || !encC2S || !encS2C || credPrefix != "" && !cred {
		t.Errorf("ClientHello with SNI %s %v, ServerHello %v, encrypted records c2s %v s2c %v, credential line %v",
			serverName, sni, serverHello, encC2S, encS2C, cred)
	}
	for _, ev := range evs {
		if ev.Visible == wire.VisibleAnyone || ev.Visible == wire.VisibleMetadata {
			for _, s := range secretsOf(user, password) {
				if bytes.Contains(ev.Raw, s) || strings.Contains(ev.Text, string(s)) {
					t.Errorf("password readable in %s event %d %q", ev.Visible, ev.Seq, ev.Text)
				}
			}
		}
		if ev.Kind == wire.KindError {
			t.Errorf("error event: %q", ev.Text)
		}
	}
}

// TestPeersCertificateVisibility: in TLS 1.2 Postfix's certificate crosses
// the wire in a cleartext Certificate message (RFC 5246 §7.4.2), so an
// observer reads subject and SAN; in TLS 1.3 it travels encrypted after
// ServerHello (RFC 8446 §4.4.2), so no certificate event is readable.
func TestPeersCertificateVisibility(t *testing.T) {
	for _, tc := range []struct {
		name     string
		max      uint16
		wantCert bool
		version  string
	}{
		{"TLS 1.2", tls.VersionTLS12, true, "TLS 1.2"},
		{"TLS 1.3", tls.VersionTLS13, false, "TLS 1.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := peersOptions(t, 587)
			o.MaxTLS = tc.max
			evs, err := sessions.Collect(context.Background(), o)
			if err != nil {
				t.Fatalf("%v\n%s", err, text(evs))
			}
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			assertPeersSession(t, evs, []string{"220 ", "EHLO", "250", "STARTTLS", "220 "}, "AUTH PLAIN", "AUTH PLAIN")
			if st := annotated(evs, "tls.state"); st == nil || st.TLS.Version != tc.version || !st.TLS.Verified {
				t.Errorf("TLS state %+v, want verified %s", st, tc.version)
			}
			var certs []wire.Event
			for _, ev := range evs {
				if ev.Kind == wire.KindHandshake && ev.Handshake.Type == "certificate" && !ev.Handshake.Encrypted {
					certs = append(certs, ev)
				}
			}
			if !tc.wantCert {
				for _, c := range certs {
					t.Errorf("certificate readable on the wire in %s: %q (%s)", tc.version, c.Text, c.Visible)
				}
				return
			}
			if len(certs) != 1 {
				t.Fatalf("%d certificate events on the wire, want 1", len(certs))
			}
			c := certs[0]
			if c.Dir != wire.ServerToClient || c.Layer != wire.LayerTLS || c.Visible == wire.VisibleEndpoints {
				t.Errorf("certificate event: dir %s, layer %s, visible %s", c.Dir, c.Layer, c.Visible)
			}
			var subject, san bool
			for _, f := range c.Handshake.Fields {
				switch f.Annotation {
				case "tls.cert.subject":
					subject = subject || strings.Contains(f.Value, peersServerName)
				case "tls.cert.san":
					san = san || strings.Contains(f.Value, peersServerName)
				}
			}
			if !subject || !san {
				t.Errorf("certificate fields %+v: subject with %s %v, SAN %v", c.Handshake.Fields, peersServerName, subject, san)
			}
		})
	}
}

// TestPeersCleartextRefusals: without TLS, and even with cleartext
// authentication allowed, the real servers refuse before any password
// crosses the wire, each in its own way: Postfix offers no AUTH on 587
// before STARTTLS and answers MAIL with 530 5.7.0 (RFC 3207 §4); Dovecot
// answers USER with -ERR [AUTH] (RFC 2449 §8.1) and advertises
// LOGINDISABLED on 143 (RFC 9051 §6.2.3).
func TestPeersCleartextRefusals(t *testing.T) {
	for _, tc := range []struct {
		port    int
		explain string // the failure expected; "" for a session that ends cleanly
		note    string // a note the driver must emit
		never   string // a client command prefix that must not be sent
	}{
		{587, "smtp.reply.530", "smtp.note.no_auth_offered", "AUTH"},
		{110, "pop3.code.auth", "", "PASS"},
		{143, "", "imap.note.logindisabled", "a2 LOGIN"},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			o := peersOptions(t, tc.port)
			o.TLSMode = sessions.TLSNone
			o.AllowCleartextAuth = true
			evs, err := sessions.Collect(context.Background(), o)
			if testing.Verbose() {
				t.Log("\n" + text(evs))
			}
			if (err != nil) != (tc.explain != "") {
				t.Fatalf("error %v, want explain %q\n%s", err, tc.explain, text(evs))
			}
			if tc.explain != "" {
				if e := lastError(evs); e == nil || e.Err.Explain != tc.explain {
					t.Errorf("error event %+v, want explain %q", e, tc.explain)
				}
			}
			if tc.note != "" && annotated(evs, tc.note) == nil {
				t.Errorf("no %s note\n%s", tc.note, text(evs))
			}
			for _, ev := range evs {
				if ev.Layer != wire.LayerCleartext && ev.Kind != wire.KindConnect && ev.Kind != wire.KindClose && ev.Dir != wire.Local {
					t.Errorf("%s event on a cleartext session: %q", ev.Layer, ev.Text)
				}
				if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && bytes.HasPrefix(ev.Raw, []byte(tc.never)) {
					t.Errorf("client sent %q", ev.Text)
				}
				for _, s := range peersSecrets() {
					if bytes.Contains(ev.Raw, s) || strings.Contains(ev.Text, string(s)) {
						t.Errorf("password in event %d %q", ev.Seq, ev.Text)
					}
				}
			}
			checkEventAnnotations(t, evs)
		})
	}
}
