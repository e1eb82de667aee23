package content

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// sectionTitles holds the title of every RFC section that a port page, a
// scenario or a lesson lists among its references, copied from that RFC's
// table of contents when the citation was checked against the RFC's text. A
// new section-level citation in content/ports, content/scenarios or
// content/lessons must be checked the same way and
// added here; the test below also keeps the page's own title for the
// reference from drifting away from the section it names (a "§4.3 | Result
// of the STARTTLS command" typo fails). RFC 8314 §4.1 carries the title as
// RFC 8997 §3 updated it.
var sectionTitles = map[string]string{
	"RFC 1939 §1":       "Introduction",
	"RFC 1939 §3":       "Basic Operation",
	"RFC 1939 §7":       "Optional POP3 Commands",
	"RFC 2476 §3.1":     "Submission Identification",
	"RFC 2595 §2.2":     "Privacy Operational Mode Security Requirements",
	"RFC 2595 §2.3":     "Clear-Text Password Requirements",
	"RFC 2595 §4":       "POP3 STARTTLS extension",
	"RFC 2595 §7":       "imaps and pop3s ports",
	"RFC 2818 §2.1":     "Connection Initiation",
	"RFC 3207 §4":       "The STARTTLS Command",
	"RFC 3207 §4.2":     "Result of the STARTTLS Command",
	"RFC 3207 §6":       "Security Considerations",
	"RFC 3501 §6.2.1":   "STARTTLS Command",
	"RFC 3848 §1":       "IANA Considerations",
	"RFC 4033 §3":       "Services Provided by DNS Security",
	"RFC 4033 §4":       "Services Not Provided by DNS Security",
	"RFC 4034 §2":       "The DNSKEY Resource Record",
	"RFC 4034 §3":       "The RRSIG Resource Record",
	"RFC 4034 §4":       "The NSEC Resource Record",
	"RFC 4034 §5":       "The DS Resource Record",
	"RFC 4035 §5":       "Authenticating DNS Responses",
	"RFC 4616 §2":       "PLAIN SASL Mechanism",
	"RFC 4954 §4":       "The AUTH Command",
	"RFC 5246 §7.4.2":   "Server Certificate",
	"RFC 5321 §2.1":     "Basic Structure",
	"RFC 5321 §4.4":     "Trace Information",
	"RFC 5321 §4.5.4.2": "Receiving Strategy",
	"RFC 5321 §5":       "Address Resolution and Mail Handling",
	"RFC 5321 §5.1":     "Locating the Target Host",
	"RFC 6066 §3":       "Server Name Indication",
	"RFC 6409 §3.1":     "Submission Identification",
	"RFC 6409 §4.3":     "Require Authentication",
	"RFC 6698 §2.1":     "TLSA RDATA Wire Format",
	"RFC 6698 §2.1.1":   "The Certificate Usage Field",
	"RFC 6698 §2.1.2":   "The Selector Field",
	"RFC 6698 §2.1.3":   "The Matching Type Field",
	"RFC 6698 §3":       "Domain Names for TLSA Certificate Associations",
	"RFC 7301 §3.1":     "The Application-Layer Protocol Negotiation Extension",
	"RFC 7301 §3.2":     "Protocol Selection",
	"RFC 7672 §1.3":     "SMTP Channel Security",
	"RFC 7672 §1.3.1":   "STARTTLS Downgrade Attack",
	"RFC 7672 §1.3.2":   "Insecure Server Name without DNSSEC",
	"RFC 7672 §2.2":     "TLS Discovery",
	"RFC 7672 §3":       "DANE Authentication",
	"RFC 7672 §3.1.1":   "Certificate Usage DANE-EE(3)",
	"RFC 8314 §3":       "Implicit TLS",
	"RFC 8314 §3.1":     "Implicit TLS for POP",
	"RFC 8314 §3.2":     "Implicit TLS for IMAP",
	"RFC 8314 §3.3":     "Implicit TLS for SMTP Submission",
	"RFC 8314 §4.1":     "Deprecation of Services Using Cleartext and TLS Versions Less Than 1.2",
	"RFC 8314 §5.2":     "Minimum Confidentiality Level",
	"RFC 8314 §5.3":     "Certificate Validation",
	"RFC 8314 §7.1":     "POP3S Port Registration Update",
	"RFC 8314 §7.2":     "IMAPS Port Registration Update",
	"RFC 8314 §7.3":     "Submissions Port Registration",
	"RFC 8446 §1.2":     "Major Differences from TLS 1.2",
	"RFC 8446 §2":       "Protocol Overview",
	"RFC 8446 §2.3":     "0-RTT Data",
	"RFC 8446 §4.1.2":   "Client Hello",
	"RFC 8446 §4.3.1":   "Encrypted Extensions",
	"RFC 8446 §4.4.2":   "Certificate",
	"RFC 8460 §3":       "Reporting Policy",
	"RFC 8461 §3.1":     "MTA-STS TXT Records",
	"RFC 8461 §3.2":     "MTA-STS Policies",
	"RFC 8461 §3.3":     "HTTPS Policy Fetching",
	"RFC 8461 §4.1":     "MX Host Validation",
	"RFC 8461 §4.2":     "Recipient MTA Certificate Validation",
	"RFC 8461 §5":       "Policy Application",
	"RFC 8461 §8.3":     "Removing MTA-STS",
	"RFC 8461 §10":      "Security Considerations",
	"RFC 8997 §3":       "Updates to RFC 8314",
	"RFC 9051 §6.2.1":   "STARTTLS Command",
	"RFC 9051 §6.2.2":   "AUTHENTICATE Command",
	"RFC 9051 §6.2.3":   "LOGIN Command",
	"RFC 9110 §4.2.2":   "https URI Scheme",
	"RFC 9110 §4.3.4":   "https Certificate Verification",
	"RFC 9325 §3.1.1":   "SSL/TLS Protocol Versions",
	"RFC 9325 §3.1.3":   "Fallback to Lower Versions",
	"RFC 9325 §4.1":     "General Guidelines",
	"RFC 9325 §4.2":     "Cipher Suites for TLS 1.2",
	"RFC 9325 §4.5":     "Public Key Length",
	"RFC 9325 §5.2":     "Opportunistic Security",
	"RFC 9525 §6":       "Verifying Service Identity",
}

// titleKey reduces a title to lower-case letters and digits, so that
// "Clear-text password requirements" matches "Clear-Text Password
// Requirements" and "ClientHello" matches "Client Hello".
func titleKey(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkCitedTitle reports a section-level reference whose section is not in
// sectionTitles, or whose own title shares nothing with the section's real
// title (one must contain the other: "Minimum confidentiality level" for
// "Minimum Confidentiality Level", "Security considerations: deleting the
// STARTTLS response" for "Security Considerations").
func checkCitedTitle(where string, r Ref) []string {
	if r.Section == "" {
		return nil
	}
	var errs []string
	official, ok := sectionTitles[r.String()]
	if !ok {
		return append(errs, where+": "+r.String()+" is not in sectionTitles; check it against the RFC and add its title")
	}
	page, real := titleKey(r.Title), titleKey(official)
	if page != "" && !strings.Contains(page, real) && !strings.Contains(real, page) {
		errs = append(errs, where+": "+r.String()+" is titled "+strconv.Quote(r.Title)+", but that section is "+strconv.Quote(official))
	}
	return errs
}

func TestSectionTitlesAreKnownSections(t *testing.T) {
	re := regexp.MustCompile(`^RFC (\d+) §(.+)$`)
	for cite := range sectionTitles {
		m := re.FindStringSubmatch(cite)
		if m == nil {
			t.Errorf("sectionTitles key %q: want \"RFC <n> §<section>\"", cite)
			continue
		}
		n, _ := strconv.Atoi(m[1])
		if err := checkSection(Ref{RFC: n, Section: m[2]}); err != nil {
			t.Errorf("sectionTitles: %v", err)
		}
	}
}

// citedRE finds "RFC 8314 §3.3", "RFC 8314 §3.3, §7.3" and "RFC 8461" in
// prose; the sections after the first belong to the same RFC.
var citedRE = regexp.MustCompile(`RFC (\d+)((?:,? §[0-9]+(?:\.[0-9]+)*)*)`)

// citedInProse lists the RFC citations a text makes, one per section.
func citedInProse(text string) []Ref {
	var refs []Ref
	for _, m := range citedRE.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		if m[2] == "" {
			refs = append(refs, Ref{RFC: n})
			continue
		}
		for _, sec := range strings.Split(m[2], "§")[1:] {
			refs = append(refs, Ref{RFC: n, Section: strings.TrimRight(strings.TrimSpace(sec), ",")})
		}
	}
	return refs
}

func TestCitedInProse(t *testing.T) {
	got := citedInProse("listens here (RFC 5321 §2.1, §5); see RFC 8461 and RFC 8314 §3.3, §7.3.")
	want := []Ref{{RFC: 5321, Section: "2.1"}, {RFC: 5321, Section: "5"}, {RFC: 8461},
		{RFC: 8314, Section: "3.3"}, {RFC: 8314, Section: "7.3"}}
	if !slices.Equal(got, want) {
		t.Errorf("citedInProse = %+v, want %+v", got, want)
	}
}

// hasCitation reports whether refs list the cited RFC section; a citation
// of the whole RFC is satisfied by any reference to that RFC.
func hasCitation(refs []Ref, cited Ref) bool {
	return slices.ContainsFunc(refs, func(r Ref) bool {
		return r.RFC == cited.RFC && (cited.Section == "" || r.Section == cited.Section)
	})
}

// Every port page's references exist in their RFC with the title they are
// given, and every RFC section its prose cites is listed among them, so a
// reader can look it up.
func TestPortPageCitations(t *testing.T) {
	pages, err := Ports()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range pages {
		where := "port " + strconv.Itoa(d.Port)
		for _, r := range d.Refs {
			if err := checkSection(r); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			for _, e := range checkCitedTitle(where, r) {
				t.Error(e)
			}
		}
		prose := strings.Join([]string{d.Purpose, d.HowTLSStarts, d.WhatGoesWrong, d.Policy}, "\n")
		for _, c := range citedInProse(prose) {
			if !hasCitation(d.Refs, c) {
				t.Errorf("%s: the prose cites %s, which is not among its references", where, c)
			}
		}
	}
}

// The same for the scenarios' sources (the prose check itself lives in
// TestScenarioTextsParse; this one also reads "RFC 8314 §3.3, §7.3").
func TestScenarioSourceCitations(t *testing.T) {
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		var refs []Ref
		for _, src := range s.Sources {
			if src.Ref == nil {
				continue
			}
			r := *src.Ref
			r.Title = src.Text
			refs = append(refs, r)
			for _, e := range checkCitedTitle(s.Name, r) {
				t.Error(e)
			}
		}
		for _, c := range citedInProse(s.Intro + "\n" + s.Conclusion) {
			if !hasCitation(refs, c) {
				t.Errorf("%s: the prose cites %s, which is not among its sources", s.Name, c)
			}
		}
	}
}

// portText is everything a port page says, references included.
func portText(t *testing.T, port int) string {
	t.Helper()
	d, ok := Port(port)
	if !ok {
		t.Fatalf("port %d missing", port)
	}
	text := strings.Join([]string{d.Purpose, d.HowTLSStarts, d.WhatGoesWrong, d.Policy}, "\n")
	for _, r := range d.Refs {
		text += "\n" + r.String() + " | " + r.Title
	}
	return text
}

// scenarioText is everything a scenario says, sources included.
func scenarioText(t *testing.T, name string) string {
	t.Helper()
	s, ok := ScenarioByName(name)
	if !ok {
		t.Fatalf("no scenario %s", name)
	}
	text := strings.Join([]string{s.Summary, s.Intro, s.Conclusion}, "\n")
	for _, src := range s.Sources {
		text += "\n" + src.String()
	}
	return text
}

// annotationText is an entry's title, risk, text and references.
func annotationText(t *testing.T, key string) string {
	t.Helper()
	a, ok := Lookup(key)
	if !ok || a.Key != key {
		t.Fatalf("no annotation %s", key)
	}
	return strings.Join([]string{a.Title, a.Risk, a.Text, JoinRefs(a.Refs)}, "\n")
}

// The corrections of issue 12's review, one case each; every case fails on
// the text before its correction.
func TestReviewCorrections(t *testing.T) {
	type check struct {
		name      string
		text      func(t *testing.T) string
		want      []string         // must appear
		forbidden []*regexp.Regexp // must not match
	}
	checks := []check{
		{
			// RFC 6409 §3.1 reserves 587 and lets a site use 25 too; 465
			// comes from RFC 8314 §3.3 and §7.3.
			name: "25: submission ports and their sources",
			text: func(t *testing.T) string { return portText(t, 25) },
			want: []string{"587, which RFC 6409 §3.1 reserves", "465 with implicit TLS (RFC 8314 §3.3, §7.3)",
				"RFC 6409 §3.1 still lets a site choose to take submissions on port 25"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`587 or 465 \(RFC 6409`),
				regexp.MustCompile(`should not submit mail here`)},
		},
		{
			// Only mode: enforce makes an MTA-STS sender refuse delivery;
			// under DANE the certificate must match the TLSA records.
			name: "25: MTA-STS enforce and testing, DANE matching",
			text: func(t *testing.T) string { return portText(t, 25) },
			want: []string{"only when the policy says mode: enforce", "mode: testing it delivers anyway",
				"(RFC 8461 §5)", "matches those records", "(RFC 7672 §2.2, §3)"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`senders that honour them refuse to deliver without valid TLS`)},
		},
		{
			// RFC 4954 §4 requires servers to implement a configuration
			// that refuses plaintext mechanisms before TLS, and sites
			// SHOULD use it; it does not require refusing all AUTH.
			name: "587: what RFC 4954 §4 requires",
			text: func(t *testing.T) string { return portText(t, 587) },
			want: []string{"no plaintext password mechanism such as PLAIN or LOGIN",
				"RFC 4954 §4 requires servers to implement a configuration that refuses plaintext password mechanisms",
				"sites SHOULD NOT run without it"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`refuses AUTH until TLS is active: RFC 4954`)},
		},
		{
			// RFC 8461 §10 names removing STARTTLS, altering the
			// negotiation and impersonating the MX, not 454/501/502, HELO
			// fallback or PREAUTH; under DANE a valid certificate is one
			// that matches the TLSA records.
			name: "strip-opportunistic: what RFC 8461 §10 lists, what DANE checks",
			text: func(t *testing.T) string { return scenarioText(t, "strip-opportunistic") },
			want: []string{"RFC 8461 §10 names are removing the STARTTLS offer, altering the TLS negotiation and impersonating the MX",
				"does not list the individual tricks", "matches the domain's TLSA records under DANE (RFC 7672 §3)"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`§10 lists these attacks`),
				regexp.MustCompile(`TLS, with a valid certificate, is required`)},
		},
		{
			name:      "hops: what a valid certificate means under DANE",
			text:      func(t *testing.T) string { return scenarioText(t, "hops") },
			want:      []string{"matches the domain's TLSA records (DANE)"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`require TLS with a valid certificate on that hop`)},
		},
		{
			name:      "tls.verify.opportunistic: what MTA-STS and DANE insist on",
			text:      func(t *testing.T) string { return annotationText(t, "tls.verify.opportunistic") },
			want:      []string{"matches the domain's TLSA records under DANE"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`insist on a verified certificate`)},
		},
		{
			// IMAP servers advertise LOGINDISABLED before TLS (RFC 9051
			// §6.2.3) rather than only leaving AUTH out.
			name:      "too-early: IMAP's LOGINDISABLED",
			text:      func(t *testing.T) string { return scenarioText(t, "too-early") },
			want:      []string{"a careful IMAP server advertises LOGINDISABLED, which forbids the client to send LOGIN (RFC 9051 §6.2.3)"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`can only decline to advertise AUTH`)},
		},
		{
			// "Only metadata and the server name" holds for TLS 1.3; with
			// TLS 1.2 the server's certificate crosses in the clear too.
			name: "implicit-under-attack: TLS 1.2 shows the certificate",
			text: func(t *testing.T) string { return scenarioText(t, "implicit-under-attack") },
			want: []string{"with TLS 1.3, only record types and sizes plus the server name",
				"with TLS 1.2, the server's certificate as well"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`shows the attacker only record types and sizes, plus the server name`)},
		},
		{
			name:      "attack.passthrough: TLS 1.2 shows the certificate",
			text:      func(t *testing.T) string { return annotationText(t, "attack.passthrough") },
			want:      []string{"the server's certificate too if TLS 1.2 is negotiated (TLS 1.3 encrypts it)", "RFC 5246 §7.4.2"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`in the ClientHello, then the type, size and timing`)},
		},
		{
			name: "verdict.only-metadata: TLS 1.2 shows the certificate",
			text: func(t *testing.T) string { return annotationText(t, "verdict.only-metadata") },
			want: []string{"under TLS 1.2 it also read the server's certificate"},
			// No SNI crosses when the client dials an IP address (a
			// target by address), so the server name is not a given.
			forbidden: []*regexp.Regexp{regexp.MustCompile(`and timing\. The content`),
				regexp.MustCompile(`learned the server name from the ClientHello`)},
		},
		{
			// The ClientHello is cleartext unless Encrypted Client Hello
			// (RFC 9849) encrypts the real one inside an outer one.
			name:      "tls.handshake.client_hello: the ECH qualification",
			text:      func(t *testing.T) string { return annotationText(t, "tls.handshake.client_hello") },
			want:      []string{"unless the client uses Encrypted Client Hello (RFC 9849)", "RFC 9849"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`always travels in cleartext`)},
		},
		{
			name: "tls.ext.server_name: the ECH qualification",
			text: func(t *testing.T) string { return annotationText(t, "tls.ext.server_name") },
			want: []string{"Only Encrypted Client Hello (RFC 9849) hides it."},
		},
		{
			name: "ECH entries cite RFC 9849",
			text: func(t *testing.T) string {
				return annotationText(t, "tls.ext.encrypted_client_hello") + annotationText(t, "tls.ext.ech_outer_extensions") +
					annotationText(t, "tls.alert.ech_required")
			},
			want:      []string{"RFC 9849; RFC 8446 §4.1.2", "Defined by Encrypted Client Hello (RFC 9849)"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`Encrypted Client Hello specification`)},
		},
		{
			// RFC 8997 (TLS 1.2 minimum for mail, updating RFC 8314) was
			// never mentioned where mail's TLS versions come up.
			name: "port pages: RFC 8997's TLS 1.2 minimum",
			text: func(t *testing.T) string {
				var all string
				for _, p := range []int{110, 143, 465, 587, 993, 995} {
					text := portText(t, p)
					if !strings.Contains(text, "RFC 8997 §3 updated RFC 8314 to make TLS 1.2 the minimum") ||
						!strings.Contains(text, "RFC 8997 §3 | Updates to RFC 8314") {
						t.Errorf("port %d does not mention RFC 8997's TLS 1.2 minimum", p)
					}
					all += text
				}
				return all
			},
			want: []string{"TLS 1.2 or later with a validated certificate (RFC 8314 §5.2)"},
		},
		{
			name: "tls.alert.protocol_version: the mail minimum",
			text: func(t *testing.T) string { return annotationText(t, "tls.alert.protocol_version") },
			want: []string{"RFC 8997 §3 makes TLS 1.2 the minimum", "RFC 8996"},
		},
		{
			// RFC 9325 replaced RFC 7525; its §4.5 (Public Key Length)
			// makes 2048-bit RSA a MUST.
			name:      "tls.verify.weak_key: RFC 9325 §4.5",
			text:      func(t *testing.T) string { return annotationText(t, "tls.verify.weak_key") },
			want:      []string{"RFC 9325 §4.5", "servers MUST authenticate with RSA keys of at least 2048 bits"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`RFC 7525 §4\.3`), regexp.MustCompile(`SHOULD authenticate`)},
		},
		{
			// The unexpected_message rule for unknown record types is in
			// RFC 8446 §5; §5.1 only lists the content types.
			name: "tls.record.unknown cites RFC 8446 §5",
			text: func(t *testing.T) string { return annotationText(t, "tls.record.unknown") },
			want: []string{"RFC 8446 §5; RFC 8446 §5.1"},
		},
		{
			// Only servers ignore unknown extensions (RFC 8446 §4.1.2); a
			// client aborts on one it never offered (§4.2).
			name:      "tls.ext.unknown: who ignores what",
			text:      func(t *testing.T) string { return annotationText(t, "tls.ext.unknown") },
			want:      []string{"A server must ignore extensions it does not recognise in a ClientHello", "must abort with unsupported_extension"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`TLS endpoints ignore extensions`)},
		},
		{
			// RFC 8446 §6: unknown alert types MUST be treated as error
			// alerts, whatever their level.
			name: "tls.alert.unknown: TLS 1.3 ends the connection",
			text: func(t *testing.T) string { return annotationText(t, "tls.alert.unknown") },
			want: []string{"treats an unknown alert as an error alert and closes the connection whatever its level field says"},
		},
		{
			// RFC 8996 obsoleted RFC 7507; RFC 9325 §3.1.3 says clients no
			// longer need the SCSV.
			name: "tls.alert.inappropriate_fallback: RFC 7507 is obsolete",
			text: func(t *testing.T) string { return annotationText(t, "tls.alert.inappropriate_fallback") },
			want: []string{"RFC 8996 has since obsoleted RFC 7507", "RFC 9325 §3.1.3"},
		},
		{
			// RFC 8314 §5.3 requires validating the certificate; refusing
			// the session when it fails comes from §5.2's minimum level.
			name:      "993 and 995: where refusing comes from",
			text:      func(t *testing.T) string { return portText(t, 993) + portText(t, 995) },
			forbidden: []*regexp.Regexp{regexp.MustCompile(`refuses the session if it fails \(RFC 8314 §5\.3\)`)},
			want:      []string{"refuses the session if the check fails (RFC 8314 §5.2)"},
		},
		{
			// TLS 1.3 early data carries HTTP before the handshake ends;
			// ECH hides the server name; TLS 1.2 shows the certificate.
			name: "443: early data, ECH and the TLS 1.2 certificate",
			text: func(t *testing.T) string { return portText(t, 443) },
			want: []string{"encrypted TLS 1.3 early data (RFC 8446 §2.3)", "unless the client uses Encrypted Client Hello (RFC 9849)",
				"with TLS 1.2 also the server's certificate"},
			forbidden: []*regexp.Regexp{regexp.MustCompile(`no HTTP byte is sent before the handshake completes`)},
		},
		{
			// RFC 8446 §5.1: the first ClientHello's record may carry
			// 0x0301, so not every legacy version field says TLS 1.2.
			name: "tls.ext.supported_versions: legacy version fields",
			text: func(t *testing.T) string { return annotationText(t, "tls.ext.supported_versions") },
			want: []string{"the record header of the first ClientHello may even say TLS 1.0", "RFC 8446 §5.1"},
		},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			text := c.text(t)
			for _, w := range c.want {
				if !strings.Contains(text, w) {
					t.Errorf("lacks %q", w)
				}
			}
			for _, f := range c.forbidden {
				if f.MatchString(text) {
					t.Errorf("still says %q", f.FindString(text))
				}
			}
		})
	}
}

// RFC 9325 replaced RFC 7525 (BCP 195), so nothing in the repository cites
// a section of RFC 7525 any more: content, README or Go comments.
func TestNoRFC7525Citations(t *testing.T) {
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "testdata" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".md" || strings.HasSuffix(path, "review_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if i := strings.Index(string(b), "RFC 7525 §"); i >= 0 {
			t.Errorf("%s cites %q; RFC 9325 replaced RFC 7525 (public key length is RFC 9325 §4.5)", path, string(b[i:min(len(b), i+16)]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
