package tui

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/mailwire/mailwire/content"
)

// mailProto is what the endpoint view needs to know about a protocol: the
// openssl -starttls keyword, the command that upgrades the connection, and a
// first login to type once connected.
type mailProto struct {
	starttls string // openssl s_client -starttls value; "" for HTTPS
	upgrade  string // the command that starts TLS on the explicit port
	spec     string // where that command is defined
}

func protoOf(row content.PortRow) mailProto {
	switch row.Protocol {
	case "SMTP", "ESMTP":
		return mailProto{starttls: "smtp", upgrade: "STARTTLS after EHLO", spec: "RFC 3207 §4"}
	case "POP3":
		return mailProto{starttls: "pop3", upgrade: "STLS", spec: "RFC 2595 §4"}
	case "IMAP4":
		return mailProto{starttls: "imap", upgrade: "STARTTLS", spec: "RFC 9051 §6.2.1"}
	}
	return mailProto{}
}

// endpointView shows where the lab serves the selected port, how TLS starts
// there, and a ready-to-copy command to connect by hand.
func (s *portsScreen) endpointView(w int) string {
	st := s.c.Styles
	port := s.Selected()
	row, _ := s.rowOf(port)
	p := protoOf(row)
	explicit := row.Explicit == port

	var b strings.Builder
	line := func(style lipgloss.Style, text string) {
		b.WriteString(style.Render(lipgloss.Wrap(text, w, " -/")))
		b.WriteString("\n")
	}
	line(st.Title, fmt.Sprintf("Lab endpoint for port %d (%s · %s)", port, row.Protocol, row.Purpose))
	b.WriteString("\n")

	lab := s.c.Lab
	switch lab.State {
	case labNone:
		line(st.Warning, "No lab in this mode: there is nothing to connect to.")
		return b.String()
	case labStarting:
		line(st.Muted, "The lab is still starting; its address appears here when it is up.")
		return b.String()
	case labFailed:
		line(st.Error, "The lab failed to start: "+lab.Err.Error())
		return b.String()
	}
	addr, ok := s.labAddr(port)
	if !ok {
		line(st.Warning, fmt.Sprintf("The lab has no endpoint for port %d.", port))
		return b.String()
	}
	info := lab.Info

	line(st.Heading, "Connect with openssl (y copies it, as one line):")
	for _, l := range commandLines(opensslCommand(addr, info, p.starttls, explicit), w) {
		b.WriteString(st.Code.Render(l) + "\n")
	}
	if row.Protocol == "HTTPS" {
		b.WriteString("\n")
		line(st.Heading, "Or with curl (Y copies it):")
		for _, l := range commandLines(curlCommand(addr, info), w) {
			b.WriteString(st.Code.Render(l) + "\n")
		}
	}
	b.WriteString("\n")

	field := func(name, value string) {
		const labelW = 9
		lines := strings.Split(lipgloss.Wrap(value, max(1, w-labelW), " -/"), "\n")
		for i, l := range lines {
			label := strings.Repeat(" ", labelW)
			if i == 0 {
				label = fmt.Sprintf("%-*s", labelW, name)
			}
			b.WriteString(st.Muted.Render(label) + st.Text.Render(l) + "\n")
		}
	}
	field("address", addr)
	if explicit {
		field("TLS", fmt.Sprintf("explicit: cleartext first, then %s (%s)", p.upgrade, p.spec))
	} else {
		field("TLS", "implicit: the TLS handshake starts with the first byte")
	}
	if p.starttls != "" && row.Purpose != "Transfer" {
		field("login", info.User+" / "+info.Password)
	}
	field("CA", info.CAPath)
	if first := firstCommands(p.starttls, row.Purpose == "Transfer", info); len(first) > 0 {
		b.WriteString("\n")
		line(st.Heading, "Then type:")
		for _, l := range first {
			line(st.Code, "  "+l)
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// A command is its arguments in groups: the endpoint view shows a group
// per line, and y copies them all as one line (shellJoin).
type command [][]string

// argv is the command's arguments in order.
func (c command) argv() []string {
	var out []string
	for _, g := range c {
		out = append(out, g...)
	}
	return out
}

// opensslCommand builds an openssl s_client invocation, an option and its
// value per group.
//
// -crlf because SMTP, POP3 and IMAP lines end in CRLF (RFC 5321 §2.3.8,
// RFC 1939 §3, RFC 9051 §2.2). -ign_eof because without it s_client treats a
// line starting with "R" (RCPT TO) or "Q" as its own renegotiate/quit
// command in older OpenSSL versions.
func opensslCommand(addr string, info LabInfo, starttls string, explicit bool) command {
	c := command{{"openssl", "s_client", "-connect", addr}}
	if starttls != "" {
		if explicit {
			c = append(c, []string{"-starttls", starttls})
		}
		c = append(c, []string{"-crlf", "-ign_eof"})
	}
	c = append(c, []string{"-CAfile", info.CAPath})
	if info.Hostname != "" {
		c = append(c, []string{"-verify_hostname", info.Hostname})
	}
	return c
}

// curlCommand fetches the lab's page by its certificate's name, which
// --resolve points at the lab's address.
func curlCommand(addr string, info LabInfo) command {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || info.Hostname == "" {
		return command{{"curl", "--cacert", info.CAPath}, {"https://" + addr + "/"}}
	}
	return command{
		{"curl", "--cacert", info.CAPath},
		{"--resolve", info.Hostname + ":" + port + ":" + host},
		{"https://" + net.JoinHostPort(info.Hostname, port) + "/"},
	}
}

// shellJoin is argv as one line a POSIX shell reads back as argv.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// commandLines lays a command out in w cells: a group per line, indented
// after the first, with a shell continuation at each line's end, and a
// group too wide for the line broken between its arguments, never inside
// one (a CA path was cut at its slashes, and the pasted lines failed).
// An argument wider than the line stays whole on a line of its own.
func commandLines(c command, w int) []string {
	var lines []string
	for gi, g := range c {
		indent := ""
		if gi > 0 {
			indent = "  "
		}
		line := indent
		for _, a := range g {
			q := shellQuote(a)
			switch {
			case line == indent:
				line += q
			case ansi.StringWidth(line+" "+q+" \\") > w:
				lines = append(lines, line)
				line = indent + "  " + q
			default:
				line += " " + q
			}
		}
		lines = append(lines, line)
	}
	for i := range len(lines) - 1 {
		lines[i] += " \\"
	}
	return lines
}

// firstCommands is what to type once connected: a capability query and a
// login with the demo credentials.
// Port 25 gets no login: server-to-server transfer has no user to
// authenticate, and the lab's MX, like a real one, offers no AUTH.
func firstCommands(starttls string, transfer bool, info LabInfo) []string {
	switch starttls {
	case "smtp":
		if transfer {
			return []string{"EHLO me", "QUIT"}
		}
		// AUTH PLAIN's initial response is base64 of
		// authzid NUL authcid NUL password (RFC 4616 §2).
		plain := base64.StdEncoding.EncodeToString([]byte("\x00" + info.User + "\x00" + info.Password))
		return []string{"EHLO me", "AUTH PLAIN " + plain, "QUIT"}
	case "pop3":
		return []string{"CAPA", "USER " + info.User, "PASS " + info.Password, "LIST", "QUIT"}
	case "imap":
		return []string{"a CAPABILITY", "b LOGIN " + info.User + " " + info.Password, "c LOGOUT"}
	}
	return nil
}

// shellQuote quotes a path for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// endpointCommands are the commands of the endpoint view: openssl's, and
// on 443 curl's; none when the lab has no address for the port.
func (s *portsScreen) endpointCommands() (openssl, curl command, ok bool) {
	port := s.Selected()
	addr, ok := s.labAddr(port)
	if !ok || s.mode != modeEndpoint {
		return nil, nil, false
	}
	row, _ := s.rowOf(port)
	info := s.c.Lab.Info
	openssl = opensslCommand(addr, info, protoOf(row).starttls, row.Explicit == port)
	if row.Protocol == "HTTPS" {
		curl = curlCommand(addr, info)
	}
	return openssl, curl, true
}

// copyCommand copies the endpoint view's openssl command (alt: curl's) to
// the clipboard with OSC 52, as one line a shell runs as it is, and says
// so under the pane.
func (s *portsScreen) copyCommand(alt bool) tea.Cmd {
	openssl, curl, ok := s.endpointCommands()
	c, name := openssl, "openssl"
	if alt {
		c, name = curl, "curl"
	}
	if !ok || c == nil {
		return nil
	}
	line := shellJoin(c.argv())
	s.status = fmt.Sprintf("copied the %s command, one line: %s (OSC 52)", name, plural(len(line), "byte"))
	return tea.SetClipboard(line)
}

// copyKeys are the copy keys of the endpoint view, for the help.
func (s *portsScreen) copyKeys() []key.Binding {
	_, curl, ok := s.endpointCommands()
	if !ok {
		return nil
	}
	k := s.c.Keys
	cp := k.Copy
	cp.SetHelp("y", "copy command")
	if curl == nil {
		return []key.Binding{cp}
	}
	cp.SetHelp("y", "copy openssl")
	return []key.Binding{cp, k.CopyAlt}
}
