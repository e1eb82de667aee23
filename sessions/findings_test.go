package sessions_test

import (
	"context"
	"slices"
	"testing"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/wire"
)

func findingKinds(fs []sessions.Finding) []sessions.FindingKind {
	var out []sessions.FindingKind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

// Findings grades what real sessions against the lab show: nothing on a
// healthy session, the certificate when it does not match the name asked
// (whether the handshake stopped there or went on because verification
// was off).
func TestFindingsOfLabSessions(t *testing.T) {
	l := startLab(t)
	for _, tc := range []struct {
		name string
		opts func(*sessions.Options)
		want []sessions.FindingKind
		ann  string
	}{
		{"healthy 587", func(o *sessions.Options) {}, nil, ""},
		{"healthy 993 stop after auth", func(o *sessions.Options) { o.StopAfter = sessions.StageAuth }, nil, ""},
		{"wrong name", func(o *sessions.Options) { o.ServerName = "wrong.example" },
			[]sessions.FindingKind{sessions.FindingCertificate}, "tls.verify.hostname"},
		{"wrong name, verification off", func(o *sessions.Options) { o.ServerName, o.Verify = "wrong.example", wire.VerifyOff },
			[]sessions.FindingKind{sessions.FindingCertificate}, "tls.state"},
		{"cleartext by choice", func(o *sessions.Options) { o.TLSMode, o.To = sessions.TLSNone, "" }, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := 587
			if tc.name == "healthy 993 stop after auth" {
				port = 993
			}
			o := labOptions(t, l, port)
			tc.opts(&o)
			evs, _ := sessions.Collect(context.Background(), o)
			fs := sessions.Findings(evs)
			if got := findingKinds(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("findings %+v, want kinds %v\n%s", fs, tc.want, text(evs))
			}
			for _, f := range fs {
				if f.Annotation != tc.ann {
					t.Errorf("finding annotation %q, want %q", f.Annotation, tc.ann)
				}
				if f.Seq < 1 || f.Seq > len(evs) || f.Text == "" {
					t.Errorf("finding %+v does not rest on an event", f)
				}
			}
		})
	}
}

// The rules one by one, on synthetic streams: STARTTLS missing, PREAUTH in
// cleartext, an opportunistic client going on without TLS, a password on
// the wire before TLS (the user name alone is no finding); and a
// scenario's stream, whose verdicts alone are its findings.
func TestFindingsRules(t *testing.T) {
	errEv := func(seq int, explain string) wire.Event {
		return wire.Event{Seq: seq, Kind: wire.KindError, Annotation: explain, Text: "x",
			Err: &wire.ErrorInfo{Op: "starttls", Message: "no STARTTLS", Explain: explain}}
	}
	cred := func(seq int, pass string) wire.Event {
		return wire.Event{Seq: seq, Kind: wire.KindLine, Dir: wire.ClientToServer, Layer: wire.LayerCleartext,
			Visible:    wire.VisibleAnyone,
			Credential: &wire.Credential{Mechanism: "USER/PASS", Username: "u", Password: pass, OnWire: true}}
	}
	verdict := func(seq int, leg string, safe bool) wire.Event {
		return wire.Event{Seq: seq, Kind: wire.KindVerdict, Leg: leg, Annotation: "verdict.x", Text: "v",
			Verdict: &wire.Verdict{Scenario: "s", Outcome: "x", Safe: safe}}
	}
	for _, tc := range []struct {
		name string
		evs  []wire.Event
		want []sessions.FindingKind
	}{
		{"no starttls", []wire.Event{errEv(3, sessions.ExplainNoStartTLS)}, []sessions.FindingKind{sessions.FindingNoTLS}},
		{"preauth", []wire.Event{errEv(2, sessions.ExplainPreauth)}, []sessions.FindingKind{sessions.FindingNoTLS}},
		{"refused", []wire.Event{errEv(2, "smtp.reply.554")}, nil},
		{"opportunistic", []wire.Event{{Seq: 4, Kind: wire.KindNote, Annotation: sessions.ExplainOpportunisticCleartext, Text: "on"}},
			[]sessions.FindingKind{sessions.FindingNoTLS}},
		{"user name alone", []wire.Event{cred(5, "")}, nil},
		{"password", []wire.Event{cred(5, ""), cred(6, "secret")}, []sessions.FindingKind{sessions.FindingCleartextCredential}},
		{"scenario: verdicts only", []wire.Event{cred(1, "secret"), errEv(2, "tls.verify.hostname"),
			verdict(3, "a", true), verdict(4, "b", false)}, []sessions.FindingKind{sessions.FindingUnsafeVerdict}},
		{"scenario: all safe", []wire.Event{cred(1, "secret"), verdict(2, "", true)}, nil},
		{"scenario: an informational result grades nothing", []wire.Event{cred(1, "secret"), func() wire.Event {
			v := verdict(2, "", false)
			v.Verdict.Informational = true
			return v
		}()}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := sessions.Findings(tc.evs)
			if got := findingKinds(fs); !slices.Equal(got, tc.want) {
				t.Fatalf("findings %+v, want %v", fs, tc.want)
			}
			for _, f := range fs {
				if a, ok := content.Lookup(f.Annotation); !ok && f.Annotation != "verdict.x" {
					t.Errorf("finding annotation %q has no entry (%+v)", f.Annotation, a)
				}
			}
		})
	}
}
