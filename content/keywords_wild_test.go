package content

import "testing"

// The EHLO keywords real servers advertise by default each have their
// own explanation, not "An EHLO keyword mailwire does not describe …
// should be registered": Exim 4.96 (PIPECONNECT, CHUNKING, SMTPUTF8,
// HELP), OpenSMTPD 6.8 (ENHANCEDSTATUSCODES, DSN), Postfix 3.7 with
// broken_sasl_auth_clients (AUTH=PLAIN LOGIN).
func TestServerKeywordsInTheWild(t *testing.T) {
	for _, k := range []string{
		"smtp.ext.pipeconnect", "smtp.ext.auth=plain", "smtp.ext.auth", "smtp.ext.chunking", "smtp.ext.smtputf8",
		"smtp.ext.help", "smtp.ext.enhancedstatuscodes", "smtp.ext.dsn", "smtp.ext.size", "smtp.ext.8bitmime",
		"smtp.ext.pipelining", "smtp.ext.starttls",
	} {
		a, ok := Lookup(k)
		if !ok || a.Key == "smtp.ext.unknown" {
			t.Errorf("%s: explained by %q", k, a.Key)
		}
	}
}
