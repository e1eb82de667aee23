package scenario_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

// No real password ever crosses the wire in cleartext because of mailwire
// (issue 9). The property: every scenario, on every port, with every
// variant, run against the lab *as a target* (its endpoints, without its
// special modes, as `--target` does) with a known password, never shows
// that password, in any of the forms a client sends it, in any byte of any
// event before the TLS boundary on any leg.

// targetEnv is the lab seen as a target: its addresses, name and CA, and
// the demo login as the user's own credentials, but no Lab, so nothing
// can switch a server into a special mode.
func targetEnv(t *testing.T) scenario.Env {
	t.Helper()
	env := labEnv(t)
	eps := map[int]string{}
	for _, ep := range env.Lab.Endpoints() {
		eps[ep.Canonical] = ep.Addr
	}
	return scenario.Env{Endpoints: eps, ServerName: env.ServerName, RootCAs: env.RootCAs,
		Username: lab.DemoUser, Password: lab.DemoPassword, EHLOName: env.EHLOName,
		ReadTimeout: 5 * time.Second, SessionTimeout: 20 * time.Second}
}

// passwordForms are the forms a client sends a password in: as is (POP3
// PASS), the AUTH PLAIN initial response (RFC 4616 §2: NUL user NUL
// password, base64), the AUTH LOGIN answer (the password alone, base64) and
// an IMAP quoted string (RFC 9051 §4.3).
func passwordForms(user, password string) []string {
	b64 := base64.StdEncoding.EncodeToString
	return []string{
		password,
		b64([]byte("\x00" + user + "\x00" + password)),
		b64([]byte(password)),
		`"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(password) + `"`,
	}
}

// cleartextLeaks returns the events that show a form of the password
// before TLS: on each leg, every event before that leg's first TLS
// boundary, and every cleartext-layer event wherever it is (an
// opportunistic client going on without TLS has no boundary at all).
func cleartextLeaks(evs []wire.Event, forms []string) []wire.Event {
	tlsBegan := map[string]bool{}
	var out []wire.Event
	for _, ev := range evs {
		if ev.Kind == wire.KindBoundary {
			tlsBegan[ev.Leg] = true
		}
		if tlsBegan[ev.Leg] && ev.Layer != wire.LayerCleartext {
			continue
		}
		for _, f := range forms {
			leak := bytes.Contains(ev.Raw, []byte(f)) || strings.Contains(ev.Text, f) ||
				(ev.Credential != nil && ev.Credential.Password != "" && strings.Contains(f, ev.Credential.Password))
			if leak {
				out = append(out, ev)
				break
			}
		}
	}
	return out
}

func TestNoRealPasswordBeforeTLSAgainstTarget(t *testing.T) {
	env := targetEnv(t)
	forms := passwordForms(lab.DemoUser, lab.DemoPassword)
	runs := 0
	for _, s := range scenario.All() {
		ports := s.Ports
		if len(ports) == 0 {
			ports = []int{0} // the scenario picks its own (compare, hops)
		}
		for _, port := range ports {
			variants := s.VariantsFor(port)
			if len(variants) == 0 {
				variants = []string{""}
			}
			for _, v := range variants {
				runs++
				t.Run(s.Name+"/"+strconv.Itoa(port)+"/"+v, func(t *testing.T) {
					req := scenario.Request{Name: s.Name, Port: port, Variant: v, Env: env}
					evs, err := scenario.Collect(context.Background(), req)
					if s.NeedsLab {
						// Refused before anything is dialed.
						if err == nil || !strings.Contains(err.Error(), "needs the embedded lab") {
							t.Fatalf("a scenario that needs the lab ran against a target: %v\n%s", err, dump(evs))
						}
						if has(evs, func(ev wire.Event) bool { return ev.Kind == wire.KindConnect }) {
							t.Fatalf("refused, yet connected\n%s", dump(evs))
						}
						return
					}
					if err != nil {
						t.Fatalf("scenario could not run: %v\n%s", err, dump(evs))
					}
					for _, ev := range cleartextLeaks(evs, forms) {
						t.Errorf("the real password crossed before TLS on leg %q, event %d: %s", ev.Leg, ev.Seq, wire.SafeString(ev.Text))
					}
					// Where the client logs in before TLS, it does so as
					// the decoy, and says so.
					if len(scenario.CredentialsOnWire(evs)) > 0 &&
						!has(evs, func(ev wire.Event) bool { return ev.Annotation == scenario.AnnotationDecoy }) {
						t.Errorf("a login crossed in cleartext without the decoy note\n%s", dump(evs))
					}
					// A verdict on the decoy's login must not tell the user
					// their password leaked and has to be changed.
					for _, ev := range evs {
						if ev.Kind != wire.KindVerdict || ev.Verdict.Outcome != scenario.OutcomeCredentialsLeaked {
							continue
						}
						a, ok := content.Lookup(ev.Annotation)
						if ev.Annotation != scenario.AnnotationLeakedDecoy || !ok || a.Risk != "" ||
							strings.Contains(a.Text, "only remedy") || !strings.Contains(ev.Text, "decoy") {
							t.Errorf("verdict %d on the decoy's login: annotation %q (risk %q): %s",
								ev.Seq, ev.Annotation, a.Risk, wire.SafeString(ev.Text))
						}
					}
					if t.Failed() {
						t.Log("\n" + dump(evs))
					}
				})
			}
		}
	}
	if runs < 60 {
		t.Errorf("only %d scenario runs: the registry or the variants shrank", runs)
	}
}

// The checker above catches what it must: against the lab itself (whose
// demo password is public) too-early sends the demo password in cleartext
// on purpose, and cleartextLeaks finds it.
func TestCleartextLeaksFindsTheLabsDemoPassword(t *testing.T) {
	evs := play(t, scenario.Request{Name: "too-early", Port: 587, Env: labEnv(t)})
	if len(cleartextLeaks(evs, passwordForms(lab.DemoUser, lab.DemoPassword))) == 0 {
		t.Fatalf("too-early against the lab: no demo password found before TLS\n%s", dump(evs))
	}
	if has(evs, func(ev wire.Event) bool { return ev.Annotation == scenario.AnnotationDecoy }) {
		t.Errorf("the lab's own run used a decoy\n%s", dump(evs))
	}
	if v := wantVerdict(t, evs, scenario.LegNormalPort, scenario.OutcomeCredentialsLeaked); v.Annotation != "verdict."+scenario.OutcomeCredentialsLeaked {
		t.Errorf("the lab's demo password leaked, yet the verdict is explained by %q", v.Annotation)
	}
}

// Against a target, too-early still shows the server's policy: the decoy
// crosses before TLS, the server refuses it (530, NO [PRIVACYREQUIRED],
// -ERR [AUTH]), and the verdict says the password was the decoy. One decoy
// per run, announced once; a fresh one each run.
func TestTooEarlyDecoyShowsPolicy(t *testing.T) {
	env := targetEnv(t)
	seen := map[string]bool{}
	for _, tc := range []struct {
		port   int
		answer string
	}{
		{587, "530"}, {143, "NO"}, {110, "-ERR"},
	} {
		t.Run(strconv.Itoa(tc.port), func(t *testing.T) {
			evs := play(t, scenario.Request{Name: "too-early", Port: tc.port, Env: env})
			var notes []wire.Event
			for _, ev := range evs {
				if ev.Annotation == scenario.AnnotationDecoy {
					notes = append(notes, ev)
				}
			}
			if len(notes) != 1 || notes[0].Leg != "" {
				t.Fatalf("want one decoy note on the scenario's own leg, got %d\n%s", len(notes), dump(evs))
			}
			leaked := scenario.CredentialsOnWire(evs)
			if len(leaked) == 0 {
				t.Fatalf("the decoy did not cross: the scenario shows nothing\n%s", dump(evs))
			}
			cr := evs[leaked[0]-1].Credential
			if !strings.HasPrefix(cr.Username, scenario.DecoyUserPrefix) || cr.Password == lab.DemoPassword || len(cr.Password) < 20 {
				t.Errorf("credential %+v is not a decoy", cr)
			}
			if !strings.Contains(notes[0].Text, cr.Username) {
				t.Errorf("the note does not name the decoy user %q: %s", cr.Username, notes[0].Text)
			}
			if seen[cr.Password] {
				t.Errorf("decoy password reused across runs")
			}
			seen[cr.Password] = true
			v := wantVerdict(t, evs, scenario.LegNormalPort, "credentials-leaked")
			if !strings.Contains(v.Text, "("+tc.answer) || !strings.Contains(v.Text, "decoy") {
				t.Errorf("verdict %q: want the server's %s and the decoy named", v.Text, tc.answer)
			}
		})
	}
}
