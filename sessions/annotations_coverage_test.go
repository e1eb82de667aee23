package sessions_test

import (
	"context"
	"crypto/tls"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/certs"
	"github.com/mailwire/mailwire/sessions/dissect"
	"github.com/mailwire/mailwire/sessions/wire"
)

// Every annotation key the engine can emit must lead to prose in package
// content: a key without an entry shows the learner nothing, and a key that
// only resolves by fallback shows something more general than the event.

// TestDissectorKeysHaveEntries: the dissector's keys are a closed set
// (name tables plus fixed keys), so each must have its own entry.
func TestDissectorKeysHaveEntries(t *testing.T) {
	keys := dissect.AnnotationKeys()
	if len(keys) < 100 {
		t.Fatalf("DissectorAnnotationKeys returned %d keys; expected the full name tables", len(keys))
	}
	for _, k := range keys {
		assertOwnEntry(t, k)
	}
	// Decrypting the TLS 1.3 handshake from the session's own key log adds
	// its notes; the decrypted messages reuse the keys above.
	for _, k := range dissect.KeyLogAnnotationKeys() {
		assertOwnEntry(t, k)
	}
}

// engineKeys lists the complete annotation and explain keys written as
// string literals in the engine and the drivers (not the dissector, whose
// keys come from dissect.AnnotationKeys). Regenerate the candidates with
//
//	grep -ohE '"(smtp|pop3|imap|http|tls|net|session|proto|mismatch|tcp|wire)\.[a-z0-9_./=*+-]+"' \
//	    $(ls sessions/*.go | grep -v _test) | sort -u
//
// and drop the prefixes ending in "." (keys built at run time; those are
// covered by builtKeys and by TestSessionAnnotationsResolve).
var engineKeys = []string{
	"http.body", "http.h2.frame.goaway", "http.h2.frame.headers", "http.h2.frame.invalid",
	"http.h2.frame.rst_stream", "http.h2.frame.settings", "http.h2.preface", "http.h2.request", "http.h2.response", "http.request",
	"http.response", "http.response.incomplete",
	"imap.continuation", "imap.greeting", "imap.note.auth_refused_cleartext",
	"imap.note.capabilities_changed", "imap.note.empty", "imap.note.logindisabled",
	"imap.note.no_credentials", "imap.note.no_fetch", "imap.note.response_injection_discarded", "imap.response.incomplete",
	"mismatch.busy_before_tls", "mismatch.cleartext_on_implicit", "mismatch.http", "mismatch.no_starttls", "mismatch.not_tls",
	"mismatch.preauth", "mismatch.silent_greeting", "mismatch.sslv2", "mismatch.tls_on_cleartext",
	"net.closed_early", "net.dns", "net.error", "net.refused", "net.timeout",
	"pop3.greeting", "pop3.note.auth_refused_cleartext", "pop3.note.capabilities_changed",
	"pop3.note.empty", "pop3.note.no_credentials", "pop3.note.no_fetch", "pop3.note.response_injection_discarded",
	"pop3.note.truncated", "pop3.reply.err", "pop3.reply.incomplete", "pop3.reply.ok",
	"proto.line_too_long", "proto.malformed", "proto.reply_too_long",
	"scenario.opportunistic-cleartext",
	"session.cancelled", "session.note.stopped_on_request", "session.note.unread_bytes", "session.options",
	"smtp.cmd.ehlo", "smtp.data.content", "smtp.note.auth_mechanism_switched",
	"smtp.note.auth_refused_cleartext", "smtp.note.capabilities_changed", "smtp.note.no_auth_offered",
	"smtp.note.no_credentials", "smtp.note.no_message", "smtp.note.response_injection_discarded", "smtp.reply.421",
	"smtp.reply.530", "smtp.reply.530.in_tls", "smtp.reply.incomplete", "smtp.reply.wrong_code",
	"tcp.close", "tcp.connect",
	"tls.alert.malformed", "tls.alert.received", "tls.alert.unknown", "tls.boundary.implicit",
	"tls.boundary.starttls", "tls.handshake.failed", "tls.record.coalesced", "tls.state",
	"tls.verify.off", "tls.verify.opportunistic", "tls.version.deprecated",
	"wire.cleartext", "wire.credentials", "wire.encrypted", "wire.metadata",
}

// builtKeys are keys the drivers build at run time whose values are known
// in advance: the HTTP/2 frame types of x/net/http2's FrameType.String
// (RFC 9113 §6), lower-cased as https.go does; the ALPN outcomes; and the
// untagged IMAP data responses of RFC 9051 §7 the IMAP driver meets.
var builtKeys = []string{
	"http.h2.frame.data", "http.h2.frame.headers", "http.h2.frame.priority", "http.h2.frame.rst_stream",
	"http.h2.frame.settings", "http.h2.frame.push_promise", "http.h2.frame.ping", "http.h2.frame.goaway",
	"http.h2.frame.window_update", "http.h2.frame.continuation", "http.h2.frame.unknown",
	"http.alpn.h2", "http.alpn.http/1.1", "http.alpn.none",
	"imap.data.capability", "imap.data.exists", "imap.data.recent", "imap.data.flags",
	"imap.data.fetch", "imap.data.list", "imap.data.expunge", "imap.data.unknown",
	"imap.code.unseen",
}

func TestEngineKeysHaveEntries(t *testing.T) {
	if !slices.IsSorted(engineKeys) {
		t.Error("engineKeys is not sorted; keep it sorted so the grep output diffs cleanly")
	}
	for _, k := range engineKeys {
		assertOwnEntry(t, k)
	}
	for _, k := range builtKeys {
		assertOwnEntry(t, k)
	}
	for _, k := range wire.BudgetKeys() {
		assertOwnEntry(t, k)
	}
	// The explain keys are exported constants: check them by value too,
	// so that renaming one without its entry fails here.
	for _, k := range []string{
		sessions.ExplainRefused, sessions.ExplainTimeout, sessions.ExplainClosedEarly, sessions.ExplainDNS,
		sessions.ExplainNet, sessions.ExplainCancelled, sessions.ExplainLineTooLong, sessions.ExplainReplyTooLong,
		sessions.ExplainMalformed, sessions.ExplainCleartextOnImplict, sessions.ExplainSilentGreeting,
		sessions.ExplainNoStartTLS, sessions.ExplainTLSAlert, sessions.ExplainHandshake,
		sessions.ExplainOptions, sessions.ExplainPreauth,
	} {
		assertOwnEntry(t, k)
	}
}

// TestCertKeysHaveEntries: every verification result package certs can
// return (the keys of its problem kinds, and tls.verify.ok) and every fact
// a chain view explains has its own entry, and every problem says what to
// change on the server, except "failed", whose cause the error names.
func TestCertKeysHaveEntries(t *testing.T) {
	assertOwnEntry(t, certs.KeyOK)
	for _, k := range certs.FactKeys() {
		assertOwnEntry(t, k)
	}
	for _, k := range certs.Kinds() {
		assertOwnEntry(t, k.Key())
		if a, _ := content.Lookup(k.Key()); a.Fix == "" && k != certs.Failed {
			t.Errorf("%s: no Fix line: a problem must say what to change on the server", k.Key())
		}
	}
}

func assertOwnEntry(t *testing.T, k string) {
	t.Helper()
	a, ok := content.Lookup(k)
	switch {
	case !ok:
		t.Errorf("key %q has no annotation at all", k)
	case a.Key != k:
		t.Errorf("key %q only resolves by fallback to %q; give it its own entry", k, a.Key)
	}
}

// TestSessionAnnotationsResolve runs real sessions against the embedded lab
// on every port, plus two port/mode mismatches whose failures carry explain
// keys, and checks that every key that actually appeared (the event's
// Annotation, its Also keys, each handshake Field's Annotation and each
// error's Explain) resolves in content. Fallbacks are allowed here (a
// server's reply code or capability is open-ended) but logged, so a new key
// built at run time shows up in the test output.
func TestSessionAnnotationsResolve(t *testing.T) {
	l := startLab(t)
	fallbacks := map[string]string{}
	for _, tc := range []struct {
		name    string
		port    int
		max     uint16
		mode    sessions.TLSMode
		explain string // the failure expected, for the mismatches
	}{
		{"25", 25, 0, "", ""}, {"587", 587, 0, "", ""}, {"587 TLS 1.2", 587, tls.VersionTLS12, "", ""},
		{"465", 465, 0, "", ""}, {"110", 110, 0, "", ""}, {"995", 995, 0, "", ""}, {"143", 143, 0, "", ""},
		{"993", 993, 0, "", ""}, {"443", 443, 0, "", ""},
		{"implicit TLS to 587", 587, 0, sessions.TLSImplicit, sessions.ExplainCleartextOnImplict},
		{"STARTTLS to 993", 993, 0, sessions.TLSStartTLS, sessions.ExplainSilentGreeting},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := labOptions(t, l, tc.port)
			o.MaxTLS = tc.max
			if tc.mode != "" {
				o.TLSMode = tc.mode
				o.ReadTimeout = 500 * time.Millisecond
			}
			evs, err := sessions.Collect(context.Background(), o)
			if (err != nil) != (tc.explain != "") {
				t.Fatalf("error %v, want explain %q\n%s", err, tc.explain, text(evs))
			}
			if tc.explain != "" {
				e := lastError(evs)
				if e == nil || e.Err.Explain != tc.explain {
					t.Errorf("error event %+v, want explain %q\n%s", e, tc.explain, text(evs))
				}
			} else if len(evs) < 10 {
				t.Fatalf("only %d events\n%s", len(evs), text(evs))
			}
			maps.Copy(fallbacks, checkEventAnnotations(t, evs))
		})
	}
	logFallbacks(t, fallbacks)
}

func lastError(evs []wire.Event) *wire.Event {
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == wire.KindError && evs[i].Err != nil {
			return &evs[i]
		}
	}
	return nil
}

// checkEventAnnotations fails the test for any key in evs that resolves to
// nothing, and returns the keys that resolved only by fallback (key → the
// entry that matched).
func checkEventAnnotations(t *testing.T, evs []wire.Event) map[string]string {
	t.Helper()
	fallbacks := map[string]string{}
	check := func(where, k string) {
		if k == "" {
			return
		}
		a, ok := content.Lookup(k)
		switch {
		case !ok:
			t.Errorf("%s: key %q has no annotation", where, k)
		case a.Key != k:
			fallbacks[k] = a.Key
		}
	}
	for _, ev := range evs {
		where := "event " + strconv.Itoa(ev.Seq) + " " + string(ev.Kind)
		if ev.Annotation == "" {
			t.Errorf("%s %q has no annotation key", where, ev.Text)
		}
		check(where, ev.Annotation)
		for _, k := range ev.Also {
			check(where+" also", k)
		}
		if ev.Handshake != nil {
			for _, f := range ev.Handshake.Fields {
				check(where+" field "+f.Name, f.Annotation)
			}
		}
		if ev.Err != nil {
			check(where+" explain", ev.Err.Explain)
		}
	}
	return fallbacks
}

func logFallbacks(t *testing.T, fallbacks map[string]string) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(fallbacks))
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("\n  " + k + " → " + fallbacks[k])
	}
	t.Logf("%d keys resolved only by fallback:%s", len(keys), b.String())
}
