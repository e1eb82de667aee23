package sessions_test

import (
	"context"
	"crypto/tls"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/wire"
)

// The explanations of issue 11, against the lab's sweep cases
// (lab.HostileSweepCases): each failure or note carries its own key and
// says what was required. The volumes are measured by the sweep in
// cmd/mailwire; these cases are small and quick.

func sweepSession(t *testing.T, name string, mod func(*sessions.Options)) ([]wire.Event, error) {
	t.Helper()
	c, ok := lab.HostileCaseByName(name)
	if !ok {
		t.Fatalf("no case %s", name)
	}
	s, err := lab.StartHostile(context.Background(), name, lab.HostileOptions{MaxConns: 2, Lifetime: 20 * time.Second, ConnTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	o := sessions.Options{
		Target: s.Addr(), Proto: c.Proto, TLSMode: sessions.TLSMode(c.TLS),
		ServerName: lab.Hostname, Verify: wire.VerifyPool, RootCAs: s.RootCAs(),
		Username: lab.DemoUser, Password: lab.DemoPassword, Role: sessions.RoleSubmission,
		DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, SessionTimeout: 3 * time.Second,
	}
	if mod != nil {
		mod(&o)
	}
	return sessions.Collect(context.Background(), o)
}

func hasKey(evs []wire.Event, key string) int {
	return slices.IndexFunc(evs, func(ev wire.Event) bool {
		return ev.Annotation == key || slices.Contains(ev.Also, key) || (ev.Err != nil && ev.Err.Explain == key)
	})
}

func dumpEvents(evs []wire.Event) string {
	var b strings.Builder
	for _, ev := range evs {
		b.WriteString(string(ev.Kind) + " " + ev.Annotation + " " + wire.SafeString(wire.Truncate(ev.Text, 160)) + "\n")
	}
	return b.String()
}

// TestExplainTLSInsteadOfGreeting: a TLS alert where the greeting of a
// STARTTLS port belongs is explained as a port that speaks TLS from the
// first byte, with the alert decoded, whether the server closes or holds
// the connection.
func TestExplainTLSInsteadOfGreeting(t *testing.T) {
	for _, name := range []string{"smtp-greeting-tls-alert", "smtp-greeting-tls-alert-held", "pop3-greeting-tls-alert", "imap-greeting-tls-alert"} {
		t.Run(name, func(t *testing.T) {
			evs, err := sweepSession(t, name, nil)
			if err == nil {
				t.Fatal("the session succeeded")
			}
			e := firstError(evs)
			alert := hasKey(evs, "tls.alert.protocol_version")
			if e == nil || e.Err.Explain != sessions.ExplainTLSOnCleartext || alert < 0 || evs[alert].Seq > e.Seq {
				t.Fatalf("want the alert, then %s:\n%s", sessions.ExplainTLSOnCleartext, dumpEvents(evs))
			}
			if !strings.Contains(e.Err.Message, "fatal protocol_version") || !strings.Contains(e.Err.Message, "try implicit TLS") {
				t.Errorf("message %q", e.Err.Message)
			}
		})
	}
}

// TestExplainOversizedRecord: a record declaring 65535 bytes is a record
// over TLS's limit, not cleartext on an implicit-TLS port.
func TestExplainOversizedRecord(t *testing.T) {
	evs, err := sweepSession(t, "smtps-handshake-record-65535", nil)
	e := firstError(evs)
	if err == nil || e == nil || e.Err.Explain != sessions.ExplainRecordTooLong {
		t.Fatalf("error %+v:\n%s", e, dumpEvents(evs))
	}
	if i := hasKey(evs, sessions.ExplainCleartextOnImplict); i >= 0 {
		t.Errorf("still called cleartext: %q", evs[i].Text)
	}
}

// TestExplainWrongPositiveCode: a positive reply that is not the one the
// command requires names the code required and where.
func TestExplainWrongPositiveCode(t *testing.T) {
	for name, want := range map[string]string{
		"smtp-greeting-250":       "where 220 was required (RFC 5321 §4.3.2)",
		"smtp-starttls-reply-250": "where 220 was required (RFC 3207 §4)",
		"smtp-auth-reply-250":     "where 235 was required (RFC 4954 §6)",
		"smtp-data-reply-250":     "where 354 was required (RFC 5321 §4.1.1.4)",
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := sweepSession(t, name, func(o *sessions.Options) { o.To = lab.DemoRecipient })
			e := firstError(evs)
			if err == nil || e == nil || e.Err.Explain != sessions.ExplainWrongCode || !strings.Contains(e.Err.Message, want) {
				t.Fatalf("error %+v, want %q:\n%s", e, want, dumpEvents(evs))
			}
		})
	}
}

// TestExplainDeprecatedVersion: TLS 1.0 or 1.1, negotiated because the
// client was allowed to, carries the RFC 8996 note; the session succeeds.
func TestExplainDeprecatedVersion(t *testing.T) {
	for name, v := range map[string]uint16{"smtp-handshake-tls10-only": tls.VersionTLS10, "smtp-handshake-tls11-only": tls.VersionTLS11} {
		t.Run(name, func(t *testing.T) {
			evs, err := sweepSession(t, name, func(o *sessions.Options) { o.MinTLS = v })
			if err != nil {
				t.Fatalf("%v:\n%s", err, dumpEvents(evs))
			}
			i := hasKey(evs, sessions.ExplainDeprecatedVersion)
			if i < 0 || !strings.Contains(evs[i].Text, "RFC 8996") || !strings.Contains(evs[i].Text, tls.VersionName(v)) {
				t.Errorf("no deprecation note:\n%s", dumpEvents(evs))
			}
		})
	}
	// TLS 1.2 and 1.3 carry none.
	evs, err := sweepSession(t, "smtp-greeting-421", nil)
	if err == nil || hasKey(evs, sessions.ExplainDeprecatedVersion) >= 0 {
		t.Errorf("a note where no TLS was negotiated:\n%s", dumpEvents(evs))
	}
}

// TestExplainLongChainIsANote: a Certificate message over the dissector's
// limit is a note, and the session ends as the protocol does (221).
func TestExplainLongChainIsANote(t *testing.T) {
	evs, err := sweepSession(t, "smtp-handshake-long-chain", nil)
	if err != nil {
		t.Fatalf("the session failed for mailwire's own limit: %v\n%s", err, dumpEvents(evs))
	}
	i := hasKey(evs, "tls.error.handshake_too_long")
	if i < 0 || evs[i].Kind != wire.KindNote || !strings.Contains(evs[i].Text, "not decoded here") {
		t.Fatalf("no note:\n%s", dumpEvents(evs))
	}
	for _, ev := range evs {
		if ev.Kind == wire.KindError {
			t.Errorf("error event %q", ev.Text)
		}
	}
	// The chain view keeps its own bound (certs.MaxCerts) and counts the rest.
	j := slices.IndexFunc(evs, func(ev wire.Event) bool { return ev.TLS != nil && ev.TLS.Chain != nil })
	if j < 0 || len(evs[j].TLS.PeerChain)+evs[j].TLS.Chain.MoreCerts != 200 {
		t.Errorf("the TLS state does not account for the 200 certificates the client received")
	}
}

// TestCoalescedTinyRecords: a handshake split into one-byte records comes
// out as runs of records, each one event with its count, and the
// handshake messages are still decoded between them.
func TestCoalescedTinyRecords(t *testing.T) {
	evs, err := sweepSession(t, "smtps-handshake-tiny-records", func(o *sessions.Options) { o.TLSMode = sessions.TLSImplicit })
	if err != nil {
		t.Fatalf("%v\n%s", err, dumpEvents(evs))
	}
	runs, records := 0, 0
	for _, ev := range evs {
		if ev.Annotation == "tls.record.coalesced" {
			runs++
			records += ev.Record.Records()
		}
	}
	if runs < 3 || records < 300 || hasKey(evs, "tls.handshake.certificate") < 0 || hasKey(evs, "tls.handshake.server_hello") < 0 {
		t.Errorf("%d runs of %d records:\n%s", runs, records, dumpEvents(evs))
	}
	if len(evs) > 100 {
		t.Errorf("%d events for a handshake", len(evs))
	}
}
