package main

import (
	"encoding/base64"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Line mode against real Postfix (587) and Dovecot (143), STARTTLS typed
// mid-stream, a login typed inside TLS (issue 9 §2 acceptance). Skipped
// without MAILWIRE_PEERS (peers_test.go).
func TestConnectLinesPeers(t *testing.T) {
	ip, ca := findPeers(t)
	plain := base64.StdEncoding.EncodeToString([]byte("\x00" + peersUser + "\x00" + peersPassword))
	for _, tc := range []struct {
		name, port, proto string
		script            []string
		login             string // the login line as the transcript shows it, masked
		accepted          string // the answer to the login
	}{
		{"postfix 587", "587", "smtp",
			[]string{"EHLO client.peers.test", "STARTTLS", "EHLO client.peers.test", "AUTH PLAIN " + plain, "QUIT"},
			"AUTH PLAIN " + protocol.Mask("x"), "235"},
		{"dovecot 143", "143", "imap",
			[]string{"a1 CAPABILITY", "a2 STARTTLS", "a3 CAPABILITY", `a4 LOGIN "` + peersUser + `" "` + peersPassword + `"`, "a5 LOGOUT"},
			`a4 LOGIN "` + peersUser + `" ` + protocol.Mask("x"), "a4 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMailwireIn(t, strings.Join(tc.script, "\r\n")+"\r\n",
				"connect", net.JoinHostPort(ip, tc.port), "--proto", tc.proto, "--sni", peersServerName, "--ca-file", ca, "--format", "json")
			if code != exitOK {
				t.Fatalf("exit status %d\n%s\n%s", code, errOut, out)
			}
			evs := decodeEvents(t, out)
			want := slices.Clone(tc.script)
			want[3] = tc.login
			if got := typedLines(evs); !slices.Equal(got, want) {
				t.Errorf("sent %q, want %q", got, want)
			}
			var boundary, state, login int
			for _, ev := range evs {
				switch {
				case ev.Kind == wire.KindBoundary:
					boundary = ev.Seq
				case ev.Kind == wire.KindTLSState && ev.TLS != nil && ev.TLS.Verified:
					state = ev.Seq
				case ev.Kind == wire.KindLine && ev.Dir == wire.ServerToClient && strings.HasPrefix(ev.Text, tc.accepted):
					login = ev.Seq
				}
				if ev.Credential != nil && ev.Credential.OnWire {
					t.Errorf("a credential crossed in cleartext: %q", ev.Text)
				}
			}
			if boundary == 0 || state < boundary || login < state {
				t.Errorf("boundary %d, verified TLS %d, login accepted %d\n%s", boundary, state, login, out)
			}
			if strings.Contains(out, peersPassword) || strings.Contains(out, plain) {
				t.Error("the transcript shows the password unmasked")
			}
		})
	}
}
