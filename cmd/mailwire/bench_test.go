package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchInProcessLab(t *testing.T) {
	var out bytes.Buffer
	err := runBench(context.Background(), &out, benchFlags{
		concurrency: 20, sessions: 60, hold: true, timeout: 20e9,
		format: "text", labState: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"(in-process lab, connection caps raised to 36)",
		"60 ok, 0 failed (EHLO, STARTTLS, EHLO, AUTH PLAIN, QUIT)",
		"concurrency  20 (peak 20 authenticated at once)",
		"sessions/s",
		"peak Go heap",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBenchJSONAndFailures(t *testing.T) {
	var out bytes.Buffer
	err := runBench(context.Background(), &out, benchFlags{
		concurrency: 2, sessions: 4, timeout: 20e9, format: "json",
		labState: t.TempDir(), user: "learner", password: "wrong",
	})
	if err == nil || !strings.Contains(err.Error(), "4 of 4 sessions failed") {
		t.Fatalf("err = %v, want 4 of 4 failed", err)
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if rep.OK != 0 || rep.Failed != 4 || !rep.InProcess ||
		rep.Errors["AUTH: 535 5.7.8 Error: authentication failed: authentication failure"] != 4 {
		t.Fatalf("report %+v", rep)
	}
}

func TestBenchRefusesBadFlags(t *testing.T) {
	cases := []struct {
		f    benchFlags
		want string
	}{
		{benchFlags{target: "192.0.2.1:587", concurrency: 1, sessions: 1, format: "text", user: "u", password: "p"}, "not loopback"},
		{benchFlags{target: "127.0.0.1:587", concurrency: 1, sessions: 1, format: "text"}, "needs --user"},
		{benchFlags{concurrency: 1, sessions: 1, format: "yaml"}, "--format"},
		{benchFlags{concurrency: 0, sessions: 1, format: "text"}, "positive"},
		{benchFlags{concurrency: 1, sessions: 1, format: "text", sourceIPs: 500}, "--source-ips"},
		{benchFlags{target: "127.0.0.1:587", concurrency: 1, sessions: 1, format: "text", user: "u", password: "p", caFile: "/nonexistent/ca.pem"}, "--ca-file"},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		err := runBench(context.Background(), &out, tc.f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.f, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%+v: printed %q before refusing", tc.f, out.String())
		}
	}
}
