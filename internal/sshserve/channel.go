package sshserve

import (
	"strings"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// What a student's connection may ask of the server (RFC 4254): one
// "session" channel at a time with a pty, a shell and window changes; a
// few environment variables. Everything else is refused before it reaches
// the session: no direct-tcpip or forwarded-tcpip channels (no port
// forwarding, §7; the server has no handler for them and no
// tcpip-forward global request handler), no subsystem (no SFTP, §6.5), no
// agent forwarding (auth-agent-req@openssh.com) and no X11 (§6.3.1). An
// exec request (§6.5) is let through only to be answered, by the session
// handler, that this server runs nothing but the mailwire screen.

// Environment variables a student's client may set (RFC 4254 §6.4), for
// the screen's colours and language; any other is refused. OpenSSH sends
// LANG and LC_* by default (Debian's ssh_config SendEnv), the others with
// -o SendEnv=NAME or -o SetEnv=NAME=value.
var allowedEnv = map[string]bool{
	"COLORFGBG": true, "COLORTERM": true, "NO_COLOR": true, "MAILWIRE_THEME": true, "LANG": true,
}

// Bounds of the environment a client may send.
const (
	maxEnvVars  = 16
	maxEnvValue = 256
)

// envAllowed says whether the server keeps this variable.
func envAllowed(name, value string) bool {
	if len(value) > maxEnvValue {
		return false
	}
	return allowedEnv[name] || (strings.HasPrefix(name, "LC_") && len(name) <= 32)
}

// sessionChannel is the "session" channel handler: one screen per
// connection, its requests filtered (filteredChannel), then the ssh
// package's own session handling.
func sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	st := connFrom(ctx)
	if st == nil || !st.openSession() {
		// RFC 4254 §5.1: a refused channel open says why.
		_ = nc.Reject(gossh.Prohibited, "one mailwire screen per SSH connection: open another connection for another screen")
		return
	}
	defer st.closeSession()
	ssh.DefaultSessionHandler(srv, conn, filteredChannel{nc}, ctx)
}

// filteredChannel is a new session channel whose requests pass through
// filterRequests.
type filteredChannel struct{ gossh.NewChannel }

func (c filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go filterRequests(reqs, out)
	return ch, out, nil
}

// filterRequests forwards the channel requests a student may make, and
// refuses the others itself.
func filterRequests(in <-chan *gossh.Request, out chan<- *gossh.Request) {
	defer close(out)
	envs := 0
	for req := range in {
		if !requestAllowed(req, &envs) {
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
			continue
		}
		out <- req
	}
}

func requestAllowed(req *gossh.Request, envs *int) bool {
	switch req.Type {
	case "pty-req", "window-change", "shell", "exec", "signal", "break":
		return true
	case "env":
		var kv struct{ Name, Value string }
		if gossh.Unmarshal(req.Payload, &kv) != nil || *envs >= maxEnvVars || !envAllowed(kv.Name, kv.Value) {
			return false
		}
		*envs++
		return true
	}
	// subsystem (sftp), auth-agent-req@openssh.com, x11-req, and anything
	// newer.
	return false
}
