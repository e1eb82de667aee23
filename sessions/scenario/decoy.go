package scenario

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"

	"github.com/mailwire/mailwire/sessions"
	"github.com/mailwire/mailwire/sessions/wire"
)

// No real password ever crosses the wire in cleartext because of mailwire.
// The scenarios that stage a careless client (too-early logs in before
// STARTTLS; the opportunistic strips log in on whatever connection they
// get) would do exactly that against a real server with the user's own
// password. So against any server that is not the embedded lab, a session
// that may expose its credentials logs in as a decoy made up for the run.
// The decoy still shows the server's policy: a server that refuses logins
// before TLS answers before it looks at the password (530 5.7.0, RFC 3207
// §4; NO [PRIVACYREQUIRED], RFC 9051 §7.1; -ERR [AUTH], RFC 3206 §5), and
// one that checks the decoy (535, RFC 4954 §6) shows it takes logins in
// cleartext.

// AnnotationDecoy is the key of the note saying a scenario logs in as a
// decoy; the CLI repeats the note on stderr.
const AnnotationDecoy = "scenario.decoy-credentials"

// OutcomeCredentialsLeaked is the verdict of a run whose login crossed
// the wire readable. When the run logged in as a decoy, the verdict's
// annotation is AnnotationLeakedDecoy instead of "verdict." + the outcome:
// what leaked was made up for the run, and the finding about the server
// is its answer to it.
const (
	OutcomeCredentialsLeaked = "credentials-leaked"
	AnnotationLeakedDecoy    = "verdict.credentials-leaked.decoy"
)

// DecoyUserPrefix starts every decoy user name, so a server's log shows
// what it was.
const DecoyUserPrefix = "mailwire-decoy-"

type decoy struct{ user, password string }

// newDecoy makes up a user name and a password (144 random bits, far
// beyond guessing) from crypto/rand.
func newDecoy() decoy {
	var u [4]byte
	var p [18]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(p[:])
	return decoy{user: DecoyUserPrefix + hex.EncodeToString(u[:]), password: base64.RawURLEncoding.EncodeToString(p[:])}
}

// mayExposeCredentials says whether a session could send its credentials
// where someone other than a verified server reads them: before TLS (a
// client allowed to log in in cleartext, a session without TLS), or inside
// a TLS whose certificate is not enforced (opportunistic, verification off).
func mayExposeCredentials(o sessions.Options) bool {
	return o.AllowCleartextAuth || o.TLSMode == sessions.TLSNone ||
		o.TLSMode == sessions.TLSOpportunistic || o.Verify == wire.VerifyOff
}

// guardCredentials returns o unchanged against the lab (its demo login is
// public) and for sessions that keep credentials inside verified TLS;
// otherwise it replaces the credentials by the run's decoy, announced once
// per run by a note on the scenario's own leg.
func (r *Run) guardCredentials(o sessions.Options) sessions.Options {
	if r.Req.Env.Lab != nil || !mayExposeCredentials(o) {
		return o
	}
	r.decoyOnce.Do(func() {
		r.decoy = newDecoy()
		r.Note("", "not the lab: this client may send its login before TLS, so it logs in as a decoy made up for this run (user "+
			r.decoy.user+", a random password), never a real password; the server's answer still shows its policy",
			AnnotationDecoy)
	})
	o.Username, o.Password = r.decoy.user, r.decoy.password
	return o
}

// decoyUsed says whether the run logged in as a decoy.
func (r *Run) decoyUsed() bool {
	return r.decoy.user != ""
}

// passwordWord names the password a verdict talks about: the decoy's when
// the run used one.
func (r *Run) passwordWord() string {
	if r.decoyUsed() {
		return "the password (this run's decoy, not a real one)"
	}
	return "the password"
}
