package main

import (
	"context"
	"strings"
	"testing"
)

// TestFailureSummaryLeadsWithCause: with --tls-max 1.1 the lab's server
// refuses the version with a protocol_version alert (RFC 8996), then
// writes its SMTP error reply in the clear. The summary line named that
// 550 first ("the server sent bytes that are not a TLS record: a
// cleartext SMTP reply (code 550)") and the real cause after it; the
// cause leads now, the after-effect follows.
func TestFailureSummaryLeadsWithCause(t *testing.T) {
	_, _, err := runSessionCmd(t, context.Background(), "--port", "587", "--tls-max", "1.1", "--format", "json",
		"--lab-state-dir", t.TempDir())
	if err == nil {
		t.Fatal("a TLS 1.1 session against the lab succeeded")
	}
	msg := err.Error()
	cause := strings.Index(msg, "protocol version not supported")
	after := strings.Index(msg, "not a TLS record")
	if cause < 0 {
		t.Fatalf("the summary lacks the alert: %s", msg)
	}
	if after >= 0 && after < cause {
		t.Errorf("the summary leads with the cleartext reply after the alert, not the alert: %s", msg)
	}
	if first, _, _ := strings.Cut(msg, ";"); !strings.Contains(first, "protocol version not supported") {
		t.Errorf("the summary's first failure is not the alert: %s", msg)
	}
}
