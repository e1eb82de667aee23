package main

import (
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Acceptance of issue 9 against real Postfix and Dovecot (../shared/peers),
// through mailwire's own entry point (run, as main calls it): a --target
// session on every port sends no message and reads no mailbox, and
// succeeds; with --to it sends, and Postfix queues the message. Skipped
// unless MAILWIRE_PEERS names the peers' loopback address:
//
//	MAILWIRE_PEERS=127.0.0.2 go test -run Peers -v ./cmd/mailwire/
//
// The peers' fixed setup (../shared/peers/README.md); package
// sessions/internal/peers holds the same for the engine's tests, but
// internal packages under sessions/ cannot be imported from here.
const (
	peersServerName = "mail.peers.test"
	peersUser       = "learner"
	peersPassword   = "correct-horse"
	peersMailbox    = "learner@mail.peers.test"
)

// findPeers returns the peers' IP and CA file, or skips.
func findPeers(t *testing.T) (ip, ca string) {
	t.Helper()
	ip = os.Getenv("MAILWIRE_PEERS")
	if ip == "" {
		t.Skip("MAILWIRE_PEERS not set: no real Postfix/Dovecot to test against")
	}
	if p := net.ParseIP(ip); p == nil || !p.IsLoopback() {
		t.Fatalf("MAILWIRE_PEERS=%q: want a loopback IP such as 127.0.0.2", ip)
	}
	ca = os.Getenv("MAILWIRE_PEERS_CA")
	if ca == "" {
		ca = "/tmp/mailpeers/ca.pem"
	}
	return ip, ca
}

// peersSession runs `mailwire session --target IP:PORT …` against the
// peers, as JSON, and returns the exit status and the events.
func peersSession(t *testing.T, port int, extra ...string) (int, []wire.Event, string) {
	t.Helper()
	ip, ca := findPeers(t)
	args := []string{"session", "--target", net.JoinHostPort(ip, strconv.Itoa(port)),
		"--sni", peersServerName, "--ehlo", "client.peers.test", "--format", "json", "--timeout", "20s"}
	if !slices.Contains(extra, "--insecure") {
		args = append(args, "--ca-file", ca)
	}
	args = append(args, extra...) // a later --sni wins
	code, out, errOut := runMailwire(t, args...)
	return code, decodeEvents(t, out), errOut
}

// clientVerbs lists the commands the client sent, from its line events.
func clientVerbs(evs []wire.Event) []string {
	var out []string
	for _, ev := range evs {
		if ev.Kind == wire.KindLine && ev.Dir == wire.ClientToServer && ev.Line != nil && ev.Line.Command != "" {
			out = append(out, ev.Line.Command)
		}
	}
	return out
}

// dataAccepted says whether the server answered the message's content with
// 250 (RFC 5321 §4.1.1.4: it took responsibility for the message).
func dataAccepted(evs []wire.Event) bool {
	sent := false
	for _, ev := range evs {
		if ev.Kind != wire.KindLine || ev.Line == nil {
			continue
		}
		switch {
		case ev.Dir == wire.ClientToServer:
			sent = ev.Annotation == "smtp.data.content"
		case sent && ev.Line.Code == "250":
			return true
		}
	}
	return false
}

func TestPeersTargetNoSideEffects(t *testing.T) {
	t.Setenv(envPassword, peersPassword)
	for _, tc := range []struct {
		port  int
		login bool
		want  []string // the client's commands, in order
	}{
		{25, false, []string{"EHLO", "STARTTLS", "EHLO", "QUIT"}},
		{587, true, []string{"EHLO", "STARTTLS", "EHLO", "AUTH", "QUIT"}},
		{465, true, []string{"EHLO", "AUTH", "QUIT"}},
		{110, true, []string{"CAPA", "STLS", "CAPA", "USER", "PASS", "QUIT"}},
		{995, true, []string{"CAPA", "USER", "PASS", "QUIT"}},
		{143, true, []string{"CAPABILITY", "STARTTLS", "CAPABILITY", "LOGIN", "LOGOUT"}},
		{993, true, []string{"CAPABILITY", "LOGIN", "LOGOUT"}},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			var extra []string
			if tc.login {
				extra = []string{"--user", peersUser}
			}
			code, evs, errOut := peersSession(t, tc.port, extra...)
			if code != exitOK {
				t.Fatalf("exit status %d, want 0\n%s", code, errOut)
			}
			got := clientVerbs(evs)
			if !slices.Equal(got, tc.want) {
				t.Errorf("client sent %q, want %q", got, tc.want)
			}
			for _, verb := range got {
				if slices.Contains(sideEffects, verb) {
					t.Errorf("client sent %s without being asked", verb)
				}
			}
			for _, ev := range evs {
				if ev.Kind == wire.KindError {
					t.Errorf("error: %s", ev.Text)
				}
			}
		})
	}
}

// sideEffects are the commands that queue a message or read a mailbox.
var sideEffects = []string{"MAIL", "RCPT", "DATA", "STAT", "LIST", "RETR", "TOP", "DELE", "SELECT", "EXAMINE", "FETCH"}

// With --to the message is sent, and Postfix takes it: the 250 after DATA.
// With --fetch the mailbox is read.
func TestPeersTargetWhenAsked(t *testing.T) {
	t.Setenv(envPassword, peersPassword)
	for _, tc := range []struct {
		port int
		args []string
		want []string // commands that must have been sent
	}{
		{25, []string{"--to", peersMailbox}, []string{"MAIL", "RCPT", "DATA"}},
		{587, []string{"--user", peersUser, "--to", peersMailbox}, []string{"AUTH", "MAIL", "RCPT", "DATA"}},
		{465, []string{"--user", peersUser, "--to", peersMailbox, "--from", peersMailbox}, []string{"AUTH", "MAIL", "RCPT", "DATA"}},
		{995, []string{"--user", peersUser, "--fetch"}, []string{"STAT", "LIST"}},
		{993, []string{"--user", peersUser, "--fetch"}, []string{"SELECT"}},
	} {
		t.Run(strconv.Itoa(tc.port)+strings.Join(tc.args, " "), func(t *testing.T) {
			code, evs, errOut := peersSession(t, tc.port, tc.args...)
			if code != exitOK {
				t.Fatalf("exit status %d, want 0\n%s", code, errOut)
			}
			got := clientVerbs(evs)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("client did not send %s: %q", w, got)
				}
			}
			if tc.port == 25 || tc.port == 587 || tc.port == 465 {
				if !dataAccepted(evs) {
					t.Errorf("no 250 after the message's DATA")
				}
			}
		})
	}
}

// --stop-after against the real servers: a clean end, exit status 0.
func TestPeersTargetStopAfter(t *testing.T) {
	t.Setenv(envPassword, peersPassword)
	for _, tc := range []struct {
		port  int
		stage string
		last  string // the client's last command
	}{
		{587, "connect", "QUIT"}, {587, "tls", "QUIT"}, {587, "auth", "QUIT"},
		{143, "tls", "LOGOUT"}, {110, "auth", "QUIT"},
	} {
		t.Run(strconv.Itoa(tc.port)+"/"+tc.stage, func(t *testing.T) {
			code, evs, errOut := peersSession(t, tc.port, "--user", peersUser, "--stop-after", tc.stage)
			if code != exitOK {
				t.Fatalf("exit status %d\n%s", code, errOut)
			}
			verbs := clientVerbs(evs)
			if len(verbs) == 0 || verbs[len(verbs)-1] != tc.last {
				t.Errorf("client sent %q, want it to end with %s", verbs, tc.last)
			}
			stopped := false
			for _, ev := range evs {
				stopped = stopped || ev.Annotation == sessions.ExplainStoppedOnRequest
			}
			if !stopped {
				t.Errorf("no note that the session stopped on request")
			}
		})
	}
}

// Exit status 3 against a real server: the certificate does not cover the
// name asked, whether the handshake stops there or --insecure goes on.
// Exit status 1: a wrong password.
func TestPeersTargetExitStatus(t *testing.T) {
	t.Setenv(envPassword, "wrong-password")
	for _, tc := range []struct {
		name string
		port int
		args []string
		code int
	}{
		{"wrong name", 465, []string{"--sni", "wrong.peers.test"}, exitUnsafe},
		{"wrong name, insecure", 993, []string{"--sni", "wrong.peers.test", "--insecure"}, exitUnsafe},
		{"wrong password", 587, []string{"--user", peersUser}, exitFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := peersSession(t, tc.port, tc.args...)
			if code != tc.code {
				t.Fatalf("exit status %d, want %d\n%s", code, tc.code, errOut)
			}
		})
	}
}
