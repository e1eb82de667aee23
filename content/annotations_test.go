package content

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestAnnotationFilesParse(t *testing.T) {
	for _, err := range annotationErrors() {
		t.Error(err)
	}
	keys := AnnotationKeys()
	if len(keys) < 300 {
		t.Errorf("only %d annotation keys parsed; expected the full dictionary", len(keys))
	}
	if !slices.IsSorted(keys) {
		t.Error("AnnotationKeys is not sorted")
	}
	// Every file the brief names exists and contributes entries.
	for _, f := range []string{"smtp", "pop3", "imap", "tls", "http", "errors", "wire"} {
		b, err := annotationFS.ReadFile("annotations/" + f + ".md")
		if err != nil {
			t.Errorf("annotations/%s.md: %v", f, err)
			continue
		}
		if !strings.Contains(string(b), "\n## ") {
			t.Errorf("annotations/%s.md has no entries", f)
		}
	}
}

func TestAnnotationEntriesComplete(t *testing.T) {
	for _, k := range AnnotationKeys() {
		a, ok := Lookup(k)
		if !ok || a.Key != k {
			t.Errorf("Lookup(%q) = %q, %v; want the entry itself", k, a.Key, ok)
			continue
		}
		if a.Title == "" || a.Text == "" || len(a.Refs) == 0 {
			t.Errorf("%s: title %q, text %q, %d refs", k, a.Title, a.Text, len(a.Refs))
		}
		if len(a.Title) > 90 {
			t.Errorf("%s: title is %d bytes; keep it short", k, len(a.Title))
		}
		// 1–4 sentences: count sentence ends, allowing for abbreviations
		// like "e.g." being absent from the prose (we do not use them).
		if n := sentenceCount(a.Text); n < 1 || n > 5 {
			t.Errorf("%s: %d sentences; want 1–4 (5 tolerated)", k, n)
		}
		if strings.Contains(a.Text, "TODO") || strings.Contains(a.Text, "TBD") {
			t.Errorf("%s: placeholder text", k)
		}
		for _, r := range a.Refs {
			if r.RFC <= 0 {
				t.Errorf("%s: bad ref %+v", k, r)
			}
			if err := checkSection(r); err != nil {
				t.Errorf("%s: %v", k, err)
			}
		}
		if k != strings.ToLower(k) {
			t.Errorf("%s: keys must be lower case", k)
		}
	}
}

// sentenceCount counts ". ", "! ", "? " and a final terminator.
func sentenceCount(s string) int {
	n := 0
	s = strings.ReplaceAll(s, "\n\n", " ")
	for i := 0; i < len(s); i++ {
		if (s[i] == '.' || s[i] == '!' || s[i] == '?') && (i == len(s)-1 || s[i+1] == ' ') {
			// ignore dots inside numbers and names like "5.7.0 " or "RFC 8446 §4.1.3 "
			if i > 0 && s[i-1] >= '0' && s[i-1] <= '9' && i+2 < len(s) && s[i+2] >= 'a' && s[i+2] <= 'z' {
				continue
			}
			n++
		}
	}
	return n
}

// knownSections lists, per RFC cited, the sections (and appendices) that
// exist in that RFC's table of contents as far as the dictionary uses them.
// It guards against typos such as "RFC 3207 §4.4": a new citation must be
// checked against the RFC and added here. An empty list means the RFC is
// only ever cited as a whole.
var knownSections = map[int][]string{
	821:  {},
	1034: {},
	1870: {"3"},
	1939: {"1", "3", "4", "5", "6", "7", "8"},
	1985: {},
	2034: {"3", "4", "6"},
	2177: {"3"},
	2181: {"10.3"},
	2221: {},
	2342: {},
	2449: {"5", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7", "6.8", "6.9", "8", "8.1"},
	2476: {"3.1"},
	2595: {"2.2", "2.3", "4", "7"},
	2818: {"2.1"},
	2852: {},
	2920: {"3"},
	2971: {},
	3030: {"2", "3"},
	3206: {"4", "5", "6"},
	3207: {"2", "4", "4.2", "6"},
	3348: {},
	3461: {"4"},
	3463: {"2", "3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7", "3.8"},
	3501: {"2.2.2", "2.3.2", "3.1", "4.3", "6.1.1", "6.2.1", "6.2.3", "6.3.1", "6.3.2", "6.3.8", "6.4.5", "7", "7.1",
		"7.2.1", "7.2.2", "7.2.6", "7.3.1", "7.3.2", "7.4.1", "7.4.2", "7.5"},
	3502: {},
	3516: {},
	3691: {},
	3848: {"1"},
	4033: {"3", "4"},
	4034: {"2", "3", "4", "5"},
	4035: {"4.3", "4.4", "4.9.3", "5", "5.2", "5.3", "5.3.1", "5.3.3", "5.4", "5.5"},
	4315: {},
	4469: {},
	4616: {"2"},
	4731: {},
	4954: {"3", "4", "6"},
	4959: {},
	5032: {},
	5034: {"4"},
	5077: {"3.2", "3.3"},
	5155: {"6", "8.4", "8.6", "9.2", "10.3"},
	5161: {},
	5182: {},
	5246: {"Appendix A.5", "6.2.3", "7.1", "7.2", "7.2.1", "7.2.2", "7.4.1.1", "7.4.1.2", "7.4.1.3", "7.4.2", "7.4.3", "7.4.4",
		"7.4.5", "7.4.7", "7.4.7.1", "7.4.8", "7.4.9", "Appendix E.2"},
	5255: {},
	5256: {},
	5258: {},
	5267: {},
	5280: {"4.1", "4.1.1.2", "4.1.2.4", "4.1.2.5", "4.1.2.6", "4.1.2.7", "4.2.1.6", "4.2.1.9", "4.2.1.12", "4.2.2.1",
		"6", "6.1", "6.1.3"},
	5321: {"2.1", "2.2.1", "2.2.2", "3.1", "3.3", "3.5", "3.8", "4.1", "4.1.1.1", "4.1.1.2", "4.1.1.3", "4.1.1.4",
		"4.1.1.5", "4.1.1.6", "4.1.1.8", "4.1.1.9", "4.1.1.10", "4.1.4", "4.2", "4.2.1", "4.2.3", "4.2.4", "4.4", "4.5.2",
		"4.5.3.1.4", "4.5.3.1.5", "4.5.3.1.10", "4.5.3.2", "4.5.3.2.7", "4.5.4.2", "5", "5.1", "6.1", "7.3", "2.3.8"},
	5465: {},
	5550: {},
	5746: {"3.2"},
	5819: {},
	5957: {},
	6066: {"3", "4", "5", "8"},
	6152: {"2"},
	6154: {},
	6176: {},
	6520: {"2", "3"},
	6531: {"3.1"},
	6698: {"2.1", "2.1.1", "2.1.2", "2.1.3", "3", "4.1"},
	6840: {"4.3", "4.4", "5.2", "5.9"},
	6851: {},
	6409: {"3.1", "4.3"},
	6797: {},
	6855: {},
	6962: {"3.3"},
	7162: {},
	7258: {},
	7301: {"3.1", "3.2", "6"},
	7366: {"2"},
	7435: {},
	7465: {},
	7505: {},
	7568: {},
	7507: {"3"},
	7541: {"2", "6"},
	7627: {"4", "5.1"},
	7633: {},
	7671: {},
	7672: {"1.3", "1.3.1", "1.3.2", "2.2", "3", "2.1.1", "2.1.2", "2.2.1", "2.2.2", "3.1.1", "3.1.2", "3.1.3"},
	7685: {"3"},
	7817: {},
	7888: {},
	7889: {},
	8314: {"1", "3", "3.1", "3.2", "3.3", "4.1", "4.4", "5.2", "5.3", "7.1", "7.2", "7.3"},
	8422: {"5.1.1", "5.1.2"},
	8438: {},
	8446: {"1.2", "2", "2.3", "4", "4.1.2", "4.1.3", "4.1.4", "4.2", "4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.6", "4.2.7",
		"4.2.8", "4.2.9", "4.2.10", "4.2.11", "4.3.1", "4.3.2", "4.4", "4.4.1", "4.4.2", "4.4.2.1", "4.4.3",
		"4.4.4", "4.5", "4.6.1", "4.6.3", "5", "5.1", "5.2", "5.4", "6", "6.1", "6.2", "7.1", "7.3", "8", "Appendix D.4"},
	8449: {"4"},
	8460: {"3", "4.1"},
	8461: {"4.2", "5", "10", "3.1", "3.2", "3.3", "4.1", "7.2", "8.2", "8.3"},
	8514: {},
	8551: {},
	8689: {"2", "4"},
	8701: {"2", "3"},
	8879: {"3", "4"},
	8970: {},
	8996: {},
	8997: {"3"},
	9001: {"8.2"},
	9051: {"2.2.2", "2.3.1.1", "4.3", "5.4", "7", "6", "6.1.1", "6.1.2", "6.1.3", "6.2.1", "6.2.2", "6.2.3", "6.3.1", "6.3.2", "6.3.3",
		"6.3.9", "6.3.10", "6.3.13", "6.4.5", "7.1", "7.1.1", "7.1.2", "7.1.3", "7.1.4", "7.1.5"},
	9110: {"4.2.2", "4.3.4", "9", "15", "15.2", "15.3", "15.4", "15.5", "15.6"},
	9112: {"3", "4", "6", "6.3", "8"},
	9113: {"3.2", "3.4", "4.1", "4.3", "5.4", "5.5", "6.1", "6.2", "6.3", "6.4", "6.5", "6.6", "6.7", "6.8", "6.9",
		"6.10", "8.1", "8.3.1", "8.3.2", "8.7"},
	9155: {},
	9276: {"3.2"},
	9293: {"3.5", "3.5.2", "3.5.3", "3.6", "3.8.3"},
	9325: {"3.1.1", "3.1.3", "4.1", "4.2", "4.2.1", "4.5", "5.2"},
	9345: {},
	9422: {},
	9525: {"6"},
	9580: {},
	9718: {},
	9849: {},
}

func checkSection(r Ref) error {
	secs, ok := knownSections[r.RFC]
	if !ok {
		return fmt.Errorf("%s: RFC %d is not in knownSections; check the citation and add it", r, r.RFC)
	}
	if r.Section == "" {
		return nil
	}
	if !slices.Contains(secs, r.Section) {
		return fmt.Errorf("%s: section not in knownSections for RFC %d; check it exists and add it", r, r.RFC)
	}
	return nil
}

// requiredKeys are the keys the session engine and drivers emit (the naming
// convention in the brief for the annotation dictionary). Each must resolve
// through Lookup, exactly or by fallback.
var requiredKeys = []string{
	// SMTP
	"smtp.greeting",
	"smtp.cmd.ehlo", "smtp.cmd.helo", "smtp.cmd.starttls", "smtp.cmd.auth", "smtp.cmd.mail",
	"smtp.cmd.rcpt", "smtp.cmd.data", "smtp.cmd.rset", "smtp.cmd.noop", "smtp.cmd.quit", "smtp.cmd.vrfy",
	"smtp.reply.220", "smtp.reply.221", "smtp.reply.235", "smtp.reply.250", "smtp.reply.334",
	"smtp.reply.354", "smtp.reply.421", "smtp.reply.450", "smtp.reply.451", "smtp.reply.452",
	"smtp.reply.454", "smtp.reply.500", "smtp.reply.501", "smtp.reply.502", "smtp.reply.503",
	"smtp.reply.504", "smtp.reply.530", "smtp.reply.534", "smtp.reply.535", "smtp.reply.538",
	"smtp.reply.550", "smtp.reply.552", "smtp.reply.553", "smtp.reply.554", "smtp.reply.555",
	"smtp.reply.2xx", "smtp.reply.3xx", "smtp.reply.4xx", "smtp.reply.5xx",
	"smtp.enhanced.2.0.0", "smtp.enhanced.2.1.0", "smtp.enhanced.2.1.5", "smtp.enhanced.2.7.0",
	"smtp.enhanced.5.7.0", "smtp.enhanced.5.7.1", "smtp.enhanced.5.7.8", "smtp.enhanced.5.7.11",
	"smtp.enhanced.4.7.0", "smtp.enhanced.5.5.1", "smtp.enhanced.5.5.2", "smtp.enhanced.5.3.4",
	"smtp.enhanced.5.1.1",
	"smtp.ext.pipelining", "smtp.ext.size", "smtp.ext.8bitmime", "smtp.ext.enhancedstatuscodes",
	"smtp.ext.auth", "smtp.ext.starttls", "smtp.ext.requiretls", "smtp.ext.smtputf8",
	"smtp.ext.chunking", "smtp.ext.binarymime", "smtp.ext.dsn", "smtp.ext.etrn", "smtp.ext.deliverby",
	"smtp.ext.help", "smtp.ext.vrfy", "smtp.ext.unknown",
	"smtp.note.capabilities_changed", "smtp.note.response_injection_discarded",
	// POP3
	"pop3.greeting",
	"pop3.cmd.capa", "pop3.cmd.stls", "pop3.cmd.user", "pop3.cmd.pass", "pop3.cmd.auth",
	"pop3.cmd.stat", "pop3.cmd.list", "pop3.cmd.uidl", "pop3.cmd.retr", "pop3.cmd.top",
	"pop3.cmd.dele", "pop3.cmd.noop", "pop3.cmd.rset", "pop3.cmd.quit",
	"pop3.reply.ok", "pop3.reply.err",
	"pop3.code.auth", "pop3.code.sys/temp", "pop3.code.in-use", "pop3.code.login-delay",
	"pop3.capa.top", "pop3.capa.uidl", "pop3.capa.user", "pop3.capa.sasl", "pop3.capa.resp-codes",
	"pop3.capa.pipelining", "pop3.capa.auth-resp-code", "pop3.capa.stls", "pop3.capa.expire",
	"pop3.capa.login-delay", "pop3.capa.implementation", "pop3.capa.unknown",
	// IMAP
	"imap.greeting",
	"imap.cmd.capability", "imap.cmd.starttls", "imap.cmd.login", "imap.cmd.authenticate",
	"imap.cmd.select", "imap.cmd.examine", "imap.cmd.fetch", "imap.cmd.logout", "imap.cmd.noop",
	"imap.cmd.list", "imap.cmd.idle",
	"imap.status.ok", "imap.status.no", "imap.status.bad", "imap.status.bye", "imap.status.preauth",
	"imap.code.privacyrequired", "imap.code.authenticationfailed", "imap.code.capability",
	"imap.code.alert", "imap.code.trycreate", "imap.code.unavailable",
	"imap.cap.imap4rev1", "imap.cap.imap4rev2", "imap.cap.starttls", "imap.cap.logindisabled",
	"imap.cap.auth=plain", "imap.cap.sasl-ir", "imap.cap.idle", "imap.cap.literal+",
	"imap.cap.literal-", "imap.cap.namespace", "imap.cap.id", "imap.cap.enable", "imap.cap.uidplus",
	"imap.cap.move", "imap.cap.condstore", "imap.cap.special-use", "imap.cap.unknown",
	// HTTP
	"http.request", "http.response", "http.h2.request", "http.h2.response",
	"http.status.2xx", "http.status.3xx", "http.status.4xx", "http.status.5xx",
	"http.alpn.h2", "http.alpn.http/1.1",
	// TLS, from the session engine
	"tls.boundary.starttls", "tls.boundary.implicit", "tls.state",
	"tls.verify.ok", "tls.verify.hostname", "tls.verify.unknown_authority", "tls.verify.expired",
	"tls.verify.off",
	// certificates (sessions/certs): every problem kind and every fact a chain view explains
	"tls.verify.not_yet_valid", "tls.verify.self_signed", "tls.verify.incomplete_chain",
	"tls.verify.sha1_signature", "tls.verify.weak_key", "tls.verify.failed",
	"tls.cert.chain", "tls.cert.signature_algorithm", "tls.cert.fingerprint", "tls.cert.ca",
	"tls.cert.must_staple", "tls.cert.sct",
	// errors and mismatches
	"mismatch.cleartext_on_implicit", "mismatch.tls_on_starttls", "mismatch.no_starttls",
	"net.refused", "net.timeout", "net.reset", "net.closed",
	"session.line_too_long", "session.too_many_lines",
	// eavesdropper lens
	"wire.cleartext", "wire.metadata", "wire.encrypted", "wire.credentials",
	// Keys the engine and drivers emit beyond the brief's list (see
	// sessions/annotations_coverage_test.go, which checks them against the
	// live code): connection events, failure explanations, notes.
	"tcp.connect", "tcp.close",
	"net.closed_early", "net.dns", "net.error",
	"session.cancelled", "session.options", "session.note.unread_bytes",
	"proto.line_too_long", "proto.reply_too_long", "proto.malformed",
	"mismatch.silent_greeting", "mismatch.preauth",
	"tls.verify.invalid", "tls.alert.received", "tls.handshake.failed",
	"smtp.note.no_credentials", "smtp.note.auth_refused_cleartext", "smtp.note.no_auth_offered",
	"smtp.note.auth_mechanism_switched", "smtp.reply.incomplete", "smtp.data.content",
	"pop3.note.capabilities_changed", "pop3.note.response_injection_discarded", "pop3.note.no_credentials",
	"pop3.note.auth_refused_cleartext", "pop3.note.empty", "pop3.note.truncated", "pop3.reply.incomplete",
	"imap.continuation", "imap.response.incomplete", "imap.note.capabilities_changed",
	"imap.note.response_injection_discarded", "imap.note.no_credentials", "imap.note.auth_refused_cleartext",
	"imap.note.logindisabled", "imap.note.empty",
	"imap.data.capability", "imap.data.exists", "imap.data.recent", "imap.data.flags", "imap.data.fetch",
	"imap.data.list", "imap.data.expunge", "imap.data.unknown", "imap.code.unseen",
	"http.body", "http.response.incomplete", "http.alpn.none", "http.h2.preface",
	"http.h2.frame.data", "http.h2.frame.headers", "http.h2.frame.priority", "http.h2.frame.rst_stream",
	"http.h2.frame.settings", "http.h2.frame.push_promise", "http.h2.frame.ping", "http.h2.frame.goaway",
	"http.h2.frame.window_update", "http.h2.frame.continuation", "http.h2.frame.unknown",
	"http.h2.frame.invalid",
	"tls.keylog.decrypt_failed", "tls.keylog.no_secret",
}

// dissectorKeys is sessions.DissectorAnnotationKeys() as of commit 5314644
// (sessions/dissect_names.go): the name tables for record types, handshake
// types, extensions and alerts, plus the fixed keys. A cross-package test
// against the live function belongs outside package content, which must not
// import sessions.
var dissectorKeys = []string{
	"mismatch.cleartext_on_implicit", "mismatch.http", "mismatch.not_tls", "mismatch.sslv2",
	"tls.alert.access_denied", "tls.alert.bad_certificate", "tls.alert.bad_certificate_hash_value",
	"tls.alert.bad_certificate_status_response", "tls.alert.bad_record_mac",
	"tls.alert.certificate_expired", "tls.alert.certificate_required", "tls.alert.certificate_revoked",
	"tls.alert.certificate_unknown", "tls.alert.certificate_unobtainable", "tls.alert.close_notify",
	"tls.alert.decode_error", "tls.alert.decompression_failure", "tls.alert.decrypt_error",
	"tls.alert.decryption_failed", "tls.alert.ech_required", "tls.alert.export_restriction",
	"tls.alert.handshake_failure", "tls.alert.illegal_parameter", "tls.alert.inappropriate_fallback",
	"tls.alert.insufficient_security", "tls.alert.internal_error", "tls.alert.malformed",
	"tls.alert.missing_extension", "tls.alert.no_application_protocol", "tls.alert.no_certificate",
	"tls.alert.no_renegotiation", "tls.alert.protocol_version", "tls.alert.record_overflow",
	"tls.alert.unexpected_message", "tls.alert.unknown", "tls.alert.unknown_ca",
	"tls.alert.unknown_psk_identity", "tls.alert.unrecognized_name",
	"tls.alert.unsupported_certificate", "tls.alert.unsupported_extension", "tls.alert.user_canceled",
	"tls.cert.issuer", "tls.cert.key", "tls.cert.san", "tls.cert.subject", "tls.cert.unparseable",
	"tls.cert.validity",
	"tls.downgrade_sentinel",
	"tls.encrypted.alert", "tls.encrypted.application_data", "tls.encrypted.early_data",
	"tls.encrypted.finished", "tls.encrypted.handshake",
	"tls.encrypted.handshake_or_application_data", "tls.encrypted.heartbeat",
	"tls.error.buffer_limit", "tls.error.handshake_interleaved", "tls.error.handshake_too_long",
	"tls.error.malformed_handshake", "tls.error.record_too_long", "tls.error.truncated",
	"tls.ext.application_layer_protocol_negotiation", "tls.ext.application_settings",
	"tls.ext.application_settings_old", "tls.ext.certificate_authorities",
	"tls.ext.compress_certificate", "tls.ext.cookie", "tls.ext.delegated_credential",
	"tls.ext.early_data", "tls.ext.ec_point_formats", "tls.ext.ech_outer_extensions",
	"tls.ext.encrypt_then_mac", "tls.ext.encrypted_client_hello", "tls.ext.extended_master_secret",
	"tls.ext.grease", "tls.ext.heartbeat", "tls.ext.key_share", "tls.ext.max_fragment_length",
	"tls.ext.next_protocol_negotiation", "tls.ext.padding", "tls.ext.post_handshake_auth",
	"tls.ext.pre_shared_key", "tls.ext.psk_key_exchange_modes", "tls.ext.quic_transport_parameters",
	"tls.ext.record_size_limit", "tls.ext.renegotiation_info", "tls.ext.server_name",
	"tls.ext.session_ticket", "tls.ext.signature_algorithms", "tls.ext.signature_algorithms_cert",
	"tls.ext.signed_certificate_timestamp", "tls.ext.status_request", "tls.ext.supported_groups",
	"tls.ext.supported_versions", "tls.ext.unknown",
	"tls.handshake.certificate", "tls.handshake.certificate_request",
	"tls.handshake.certificate_status", "tls.handshake.certificate_url",
	"tls.handshake.certificate_verify", "tls.handshake.client_hello",
	"tls.handshake.client_key_exchange", "tls.handshake.compressed_certificate",
	"tls.handshake.encrypted_extensions", "tls.handshake.end_of_early_data", "tls.handshake.finished",
	"tls.handshake.hello_request", "tls.handshake.hello_retry_request", "tls.handshake.key_update",
	"tls.handshake.message_hash", "tls.handshake.new_session_ticket", "tls.handshake.server_hello",
	"tls.handshake.server_hello_done", "tls.handshake.server_key_exchange", "tls.handshake.unknown",
	"tls.kex.rsa_key_transport",
	"tls.record.alert", "tls.record.application_data", "tls.record.change_cipher_spec",
	"tls.record.change_cipher_spec.compat", "tls.record.empty", "tls.record.handshake",
	"tls.record.heartbeat",
}

func TestRequiredKeysResolve(t *testing.T) {
	for _, k := range requiredKeys {
		if _, ok := Lookup(k); !ok {
			t.Errorf("required key %q does not resolve", k)
		}
	}
}

// The dissector's keys are a closed set, so each must have its own entry,
// not just a fallback: a fallback would show "unknown extension" for a
// named one.
func TestDissectorKeysDefinedExactly(t *testing.T) {
	for _, k := range dissectorKeys {
		a, ok := Lookup(k)
		if !ok || a.Key != k {
			t.Errorf("dissector key %q: got entry %q, %v; want an exact entry", k, a.Key, ok)
		}
	}
}

// The brief's explicit lists are also meant to have their own entries,
// except the class fallbacks, which are entries in their own right.
func TestRequiredKeysDefinedExactly(t *testing.T) {
	for _, k := range requiredKeys {
		if a, ok := Lookup(k); ok && a.Key != k {
			t.Errorf("required key %q only resolves by fallback to %q", k, a.Key)
		}
	}
}

func TestLookupFallbacks(t *testing.T) {
	tests := []struct{ key, want string }{
		{"smtp.reply.554", "smtp.reply.554"},
		{"SMTP.Reply.554", "smtp.reply.554"},
		{" smtp.reply.554 ", "smtp.reply.554"},
		{"smtp.reply.556", "smtp.reply.5xx"},
		{"smtp.reply.299", "smtp.reply.2xx"},
		{"smtp.reply.421", "smtp.reply.421"},
		{"smtp.reply.470", "smtp.reply.4xx"},
		{"http.status.404", "http.status.4xx"},
		{"http.status.200", "http.status.2xx"},
		{"http.status.999", "http.status.unknown"},
		{"smtp.enhanced.5.7.1", "smtp.enhanced.5.7.1"},
		{"smtp.enhanced.5.7.26", "smtp.enhanced.x.7.x"},
		{"smtp.enhanced.4.4.1", "smtp.enhanced.x.4.x"},
		{"smtp.enhanced.5.9.9", "smtp.enhanced.5.x.x"},
		{"smtp.enhanced.9.9.9", "smtp.enhanced.unknown"},
		{"smtp.ext.x-exps", "smtp.ext.unknown"},
		{"smtp.ext.xclient", "smtp.ext.unknown"},
		{"smtp.cmd.expn", "smtp.cmd.unknown"},
		{"pop3.code.sys/temp", "pop3.code.sys/temp"},
		{"pop3.code.sys/other", "pop3.code.sys"},
		{"pop3.code.utf8", "pop3.code.unknown"},
		{"pop3.capa.lang", "pop3.capa.unknown"},
		{"imap.cap.auth=plain", "imap.cap.auth=plain"},
		{"imap.cap.AUTH=XOAUTH2", "imap.cap.auth=*"},
		{"imap.cap.compress=deflate", "imap.cap.unknown"},
		{"imap.code.overquota", "imap.code.overquota"},
		{"imap.code.x-something", "imap.code.unknown"},
		{"tls.ext.foo", "tls.ext.unknown"},
		{"tls.alert.whatever", "tls.alert.unknown"},
		{"tls.handshake.new_thing", "tls.handshake.unknown"},
		{"tls.record.change_cipher_spec.compat", "tls.record.change_cipher_spec.compat"},
		{"tls.record.change_cipher_spec.other", "tls.record.change_cipher_spec.unknown"},
		{"http.alpn.http/1.1", "http.alpn.http/1.1"},
		{"http.alpn.spdy/3", "http.alpn.unknown"},
	}
	for _, tt := range tests {
		a, ok := Lookup(tt.key)
		got := a.Key
		if !ok {
			got = "(none)"
		}
		if tt.want == "tls.record.change_cipher_spec.unknown" {
			// No such entry: falls further back to tls.record.unknown.
			tt.want = "tls.record.unknown"
		}
		if got != tt.want {
			t.Errorf("Lookup(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	for _, k := range []string{"", "nonsense", "nope.nothing", "zzz.cmd.quit"} {
		if a, ok := Lookup(k); ok {
			t.Errorf("Lookup(%q) = %q, want no match", k, a.Key)
		}
	}
}

func TestAnnotationRefString(t *testing.T) {
	tests := []struct {
		r    Ref
		want string
	}{
		{Ref{RFC: 8314, Section: "3.3"}, "RFC 8314 §3.3"},
		{Ref{RFC: 8446, Section: "Appendix D.4"}, "RFC 8446 Appendix D.4"},
		{Ref{RFC: 1985}, "RFC 1985"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
	a, _ := Lookup("smtp.reply.530")
	var got []string
	for _, r := range a.Refs {
		got = append(got, r.String())
	}
	if want := []string{"RFC 3207 §4", "RFC 4954 §6"}; !slices.Equal(got, want) {
		t.Errorf("smtp.reply.530 refs = %q, want %q", got, want)
	}
}

func TestParseAnnotationFileErrors(t *testing.T) {
	tests := []struct {
		name, src, wantErr string
		wantOK             int
	}{
		{"good", "# t\n\n## a.b\nTitle\nRefs: RFC 1 §2; RFC 3 Appendix B.1 | Some title\nRisk: r\nFix: f\nText one.\nmore.\n\nPara two.\n", "", 1},
		{"no refs", "## a.b\nTitle\nText.\n", "no Refs", 0},
		{"no text", "## a.b\nTitle\nRefs: RFC 1\n", "no text", 0},
		{"no title", "## a.b\n\n", "no title", 0},
		{"bad ref", "## a.b\nTitle\nRefs: RFC one §2\nText.\n", "bad reference", 0},
		{"bad section", "## a.b\nTitle\nRefs: RFC 1 section 2\nText.\n", "bad reference", 0},
		{"refs first", "## a.b\nRefs: RFC 1\nTitle\nText.\n", "first line must be the title", 0},
		{"refs late", "## a.b\nTitle\nRefs: RFC 1\nText.\nRefs: RFC 2\n", "after the prose", 0},
		{"fix late", "## a.b\nTitle\nRefs: RFC 1\nText.\nFix: f\n", "Fix line after the prose", 0},
		{"fix first", "## a.b\nFix: f\nTitle\nRefs: RFC 1\nText.\n", "first line must be the title", 0},
		{"second fix", "## a.b\nTitle\nRefs: RFC 1\nFix: f\nFix: g\nText.\n", "second Fix line", 0},
		{"empty fix", "## a.b\nTitle\nRefs: RFC 1\nFix:\nText.\n", "empty Fix line", 0},
		{"empty risk", "## a.b\nTitle\nRefs: RFC 1\nRisk: \nText.\n", "empty Risk line", 0},
		{"bad key", "## A.B\nTitle\nRefs: RFC 1\nText.\n", "bad key", 0},
		{"one-segment key", "## abc\nTitle\nRefs: RFC 1\nText.\n", "bad key", 0},
		{"stray heading", "## a.b\nTitle\nRefs: RFC 1\nText.\n### sub\n", "unexpected heading", 0},
		{"second bad, first kept", "## a.b\nT\nRefs: RFC 1\nX.\n## c.d\nT\nX.\n", "no Refs", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			anns, errs := parseAnnotationFile("x.md", tt.src)
			if len(anns) != tt.wantOK {
				t.Errorf("got %d entries, want %d", len(anns), tt.wantOK)
			}
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Errorf("unexpected errors: %v", errs)
				}
				return
			}
			found := false
			for _, e := range errs {
				if strings.Contains(e.Error(), tt.wantErr) && strings.HasPrefix(e.Error(), "x.md:") {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %v, want one containing %q", errs, tt.wantErr)
			}
		})
	}
	anns, _ := parseAnnotationFile("x.md", tests[0].src)
	want := Annotation{Key: "a.b", Title: "Title", Text: "Text one. more.\n\nPara two.", Risk: "r", Fix: "f",
		Refs: []Ref{{RFC: 1, Section: "2"}, {RFC: 3, Section: "Appendix B.1", Title: "Some title"}}}
	if len(anns) != 1 || anns[0].Key != want.Key || anns[0].Title != want.Title || anns[0].Text != want.Text ||
		anns[0].Risk != want.Risk || anns[0].Fix != want.Fix || !slices.Equal(anns[0].Refs, want.Refs) {
		t.Errorf("parsed %+v, want %+v", anns, want)
	}
}

func TestParseAnnotationFSDuplicates(t *testing.T) {
	fsys := fstest.MapFS{
		"d/a.md":     {Data: []byte("## x.y\nT\nRefs: RFC 1\nX.\n")},
		"d/b.md":     {Data: []byte("## x.y\nT\nRefs: RFC 1\nY.\n")},
		"d/skip.txt": {Data: []byte("## not.parsed\n")},
	}
	byKey, errs := parseAnnotationFS(fsys, "d")
	if len(byKey) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "defined twice") {
		t.Errorf("got %d keys, errors %v; want 1 key and one duplicate error", len(byKey), errs)
	}
	if _, errs := parseAnnotationFS(fsys, "missing"); len(errs) != 1 {
		t.Errorf("missing dir: errors %v, want one", errs)
	}
}

func FuzzParseAnnotationFile(f *testing.F) {
	b, _ := annotationFS.ReadFile("annotations/smtp.md")
	f.Add(string(b))
	f.Add("## a.b\nT\nRefs: RFC 1 §2\nRisk: x\ntext\n")
	f.Fuzz(func(t *testing.T, src string) {
		anns, _ := parseAnnotationFile("f.md", src)
		for _, a := range anns {
			if a.Title == "" || a.Text == "" || len(a.Refs) == 0 || !annotationKeyRE().MatchString(a.Key) {
				t.Fatalf("accepted an incomplete entry: %+v", a)
			}
		}
	})
}

// TestLazyEntriesEqualFullParse: Lookup parses one entry at a time from
// the index; every entry must come out as the full parse has it, and the
// index must hold exactly the keys the full parse keeps.
func TestLazyEntriesEqualFullParse(t *testing.T) {
	full, errs := parseAnnotationFS(annotationFS, "annotations")
	if len(errs) > 0 {
		t.Fatalf("dictionary errors: %v", errs)
	}
	keys := AnnotationKeys()
	if len(keys) != len(full) {
		t.Fatalf("index has %d keys, the full parse %d", len(keys), len(full))
	}
	for _, k := range keys {
		want, ok := full[k]
		if !ok {
			t.Fatalf("index key %q not in the full parse", k)
		}
		got, ok := entry(k)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Fatalf("entry %q parsed alone:\n%+v\nfull parse:\n%+v", k, got, want)
		}
	}
}

func BenchmarkFirstLookup(b *testing.B) {
	for b.Loop() {
		annotations.index = indexAnnotationFS(annotationFS, "annotations")
		annotations.parsed = map[string]parsedEntry{}
		if _, ok := Lookup("smtp.reply.250"); !ok {
			b.Fatal("no smtp.reply.250")
		}
	}
}
