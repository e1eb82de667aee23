package lab

import (
	"reflect"
	"testing"
)

// TestPlanFromCanonicalPorts: the plan made from package content's table
// of canonical ports is the lab's port plan, with each port's policy, and
// speaks only the names the lab defines.
func TestPlanFromCanonicalPorts(t *testing.T) {
	want := []endpointSpec{
		{Endpoint{Canonical: 25, Proto: ProtoSMTP, TLS: TLSStartTLS, Purpose: PurposeTransfer}, transferPolicy},
		{Endpoint{Canonical: 587, Proto: ProtoSMTP, TLS: TLSStartTLS, Purpose: PurposeSubmission}, submissionPolicy},
		{Endpoint{Canonical: 465, Proto: ProtoSMTP, TLS: TLSImplicit, Purpose: PurposeSubmission}, submissionsPolicy},
		{Endpoint{Canonical: 110, Proto: ProtoPOP3, TLS: TLSStartTLS, Purpose: PurposeRetrieval}, retrievalPolicy},
		{Endpoint{Canonical: 995, Proto: ProtoPOP3, TLS: TLSImplicit, Purpose: PurposeRetrieval}, retrievalPolicy},
		{Endpoint{Canonical: 143, Proto: ProtoIMAP, TLS: TLSStartTLS, Purpose: PurposeRetrieval}, retrievalPolicy},
		{Endpoint{Canonical: 993, Proto: ProtoIMAP, TLS: TLSImplicit, Purpose: PurposeRetrieval}, retrievalPolicy},
		{Endpoint{Canonical: 443, Proto: ProtoHTTPS, TLS: TLSImplicit, Purpose: PurposeWeb}, webPolicy},
	}
	if got := plan(); !reflect.DeepEqual(got, want) {
		t.Fatalf("plan() = %+v\nwant %+v", got, want)
	}
}
