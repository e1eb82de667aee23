package sessions

import (
	"strings"

	"github.com/mailwire/mailwire/sessions/lens"
	"github.com/mailwire/mailwire/sessions/wire"
)

// FindingKind names what an unsafe finding is about.
type FindingKind string

const (
	// FindingNoTLS: TLS did not start where the port's protocol provides
	// for it: the server offered no STARTTLS/STLS on an explicit-TLS port
	// (RFC 3207 §4, RFC 2595 §4, RFC 9051 §6.2.1), greeted with PREAUTH in
	// cleartext (RFC 9051 §6.2.1), or an opportunistic client went on
	// without TLS (RFC 7435 §1).
	FindingNoTLS FindingKind = "no-tls"
	// FindingCertificate: the server's certificate did not verify for the
	// name asked (wrong name, unknown authority, expired, …; RFC 9525
	// §6, RFC 8314 §5.3), whether the session stopped there or went on
	// because verification was not enforced.
	FindingCertificate FindingKind = "certificate"
	// FindingCleartextCredential: a password crossed the wire before TLS,
	// readable by anyone on the path (RFC 8314 §5.2).
	FindingCleartextCredential FindingKind = "cleartext-credential"
	// FindingUnsafeVerdict: a scenario's verdict says something was
	// exposed (Verdict.Safe is false).
	FindingUnsafeVerdict FindingKind = "unsafe-verdict"
)

// Finding is one unsafe fact a stream shows: what an admin needs to know
// about the server (or, for a scenario, about the staged situation), and
// what a script reads from the exit status. Every field comes from the
// event it rests on.
type Finding struct {
	Kind FindingKind `json:"kind"`
	// Annotation is the content key that explains it: the key of the
	// event it rests on (mismatch.no_starttls, tls.verify.hostname,
	// wire.credentials, verdict.credentials-leaked, …).
	Annotation string `json:"annotation"`
	// Text says it in one line. It may hold bytes from the peer:
	// sanitize before printing (SafeString).
	Text string `json:"text"`
	Seq  int    `json:"seq"`           // the event it rests on
	Leg  string `json:"leg,omitempty"` // that event's leg
}

// Findings returns the unsafe findings of a stream, in stream order; none
// means nothing in it was graded unsafe. It is a pure function of the
// events. A stream with verdicts is a scenario's: its verdicts already
// judge its legs, where failures and leaks are staged on purpose, so they
// alone are its findings. Otherwise each session event is graded: TLS
// missing where the protocol provides for it, a certificate that did not
// verify, a password on the wire before TLS.
func Findings(evs []wire.Event) []Finding {
	var out []Finding
	add := func(ev wire.Event, kind FindingKind, ann, text string) {
		out = append(out, Finding{Kind: kind, Annotation: ann, Text: text, Seq: ev.Seq, Leg: ev.Leg})
	}
	for _, ev := range evs {
		if ev.Kind != wire.KindVerdict || ev.Verdict == nil || ev.Verdict.Safe || ev.Verdict.Informational {
			// An informational result (compare, hops) shows how the
			// ways differ; it grades nothing.
			continue
		}
		add(ev, FindingUnsafeVerdict, ev.Annotation, ev.Text)
	}
	if hasVerdict(evs) {
		return out
	}
	for _, ev := range evs {
		switch {
		case ev.Kind == wire.KindError && ev.Err != nil &&
			(ev.Err.Explain == ExplainNoStartTLS || ev.Err.Explain == ExplainPreauth):
			add(ev, FindingNoTLS, ev.Err.Explain, ev.Err.Message)
		case ev.Kind == wire.KindNote && ev.Annotation == ExplainOpportunisticCleartext:
			add(ev, FindingNoTLS, ev.Annotation, ev.Text)
		case ev.Kind == wire.KindError && ev.Err != nil && strings.HasPrefix(ev.Err.Explain, "tls.verify."):
			// The handshake stopped on the certificate (no TLS state
			// follows, so this is its only trace).
			add(ev, FindingCertificate, ev.Err.Explain, ev.Err.Message)
		case ev.Kind == wire.KindTLSState && ev.TLS != nil && !ev.TLS.Verified:
			// The session went on: verification was off or
			// opportunistic, and the check still failed.
			add(ev, FindingCertificate, ev.Annotation, "certificate not verified: "+ev.TLS.VerifyError)
		case lens.Eavesdropper.ShowsCredential(ev) && ev.Credential.Password != "":
			// Who read the password is the lens's fact: an observer on
			// the path did, when it crossed the wire in the clear.
			add(ev, FindingCleartextCredential, "wire.credentials",
				"a password crossed the wire before TLS ("+ev.Credential.Mechanism+")")
		}
	}
	return out
}

func hasVerdict(evs []wire.Event) bool {
	for _, ev := range evs {
		if ev.Kind == wire.KindVerdict {
			return true
		}
	}
	return false
}
