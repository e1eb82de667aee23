package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestBenchInProcessLab(t *testing.T) {
	var out bytes.Buffer
	err := runBench(context.Background(), &out, io.Discard, benchFlags{
		concurrency: 20, sessions: 60, hold: true, timeout: 20e9,
		format: "text", stateDir: t.TempDir(),
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
	err := runBench(context.Background(), &out, io.Discard, benchFlags{
		concurrency: 2, sessions: 4, timeout: 20e9, format: "json",
		stateDir: t.TempDir(), user: "learner", password: "wrong",
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
		{benchFlags{concurrency: 1, sessions: 1, format: "text", timeout: -1e9}, "--timeout -1s"},
		{benchFlags{target: "127.0.0.1:587", concurrency: 1, sessions: 1, format: "text", user: "u", password: "p", caFile: "/nonexistent/ca.pem"}, "--ca-file"},
	}
	for _, tc := range cases {
		var out bytes.Buffer
		err := runBench(context.Background(), &out, io.Discard, tc.f)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want %q", tc.f, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("%+v: printed %q before refusing", tc.f, out.String())
		}
	}
}

// bench shows its progress on stderr while it runs (a line every few
// seconds when stderr is not a terminal), and stdout keeps the report
// alone.
func TestBenchProgress(t *testing.T) {
	old := benchProgressEvery
	benchProgressEvery = time.Millisecond
	defer func() { benchProgressEvery = old }()
	var out, errOut bytes.Buffer
	err := runBench(context.Background(), &out, &errOut, benchFlags{
		concurrency: 4, sessions: 40, timeout: 20e9, format: "json", stateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "mailwire bench: ") || !strings.Contains(errOut.String(), "/40 sessions (0 failed)") {
		t.Errorf("no progress on stderr:\n%s", errOut.String())
	}
	var rep benchReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.OK != 40 {
		t.Errorf("stdout is not the report alone: %v\n%s", err, out.String())
	}
}
