package sessions

import "testing"

// The default envelope sender is the login, with the server's name as
// its domain when it has none; a server named by its IP address gives an
// address literal (RFC 5321 §4.1.2). mailwire sent MAIL
// FROM:<learner@127.0.0.4> to Exim, which is no mailbox.
func TestDefaultFrom(t *testing.T) {
	for _, tc := range []struct {
		target, sni, user, want string
	}{
		{"127.0.0.4:587", "", "learner", "learner@[127.0.0.4]"},
		{"[2001:db8::1]:587", "", "learner", "learner@[IPv6:2001:db8::1]"},
		{"127.0.0.4:587", "mta.example.org", "learner", "learner@mta.example.org"},
		{"mail.example.org:587", "", "learner", "learner@mail.example.org"},
		{"mail.example.org:587", "", "me@example.org", "me@example.org"},
	} {
		o, err := Options{Target: tc.target, ServerName: tc.sni, Username: tc.user}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if o.From != tc.want {
			t.Errorf("%s %s %s: From %q, want %q", tc.target, tc.sni, tc.user, o.From, tc.want)
		}
	}
}
