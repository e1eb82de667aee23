package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mailwire/mailwire/content"
	"github.com/mailwire/mailwire/sessions/lab"
	"github.com/mailwire/mailwire/sessions/scenario"
	"github.com/mailwire/mailwire/sessions/wire"
)

func TestScenarioCommandList(t *testing.T) {
	out, errOut, err := runSessionCmd(t, context.Background(), "--scenario", "list")
	if err != nil {
		t.Fatalf("exit with error: %v\n%s", err, errOut)
	}
	for _, s := range scenario.All() {
		if !strings.Contains(out, s.Name) {
			t.Errorf("list lacks %s:\n%s", s.Name, out)
		}
	}
}

// Every registered scenario runs from the command line, on its default
// port and variant, against the in-process lab, prints JSON Lines that
// read back, and ends with at least one verdict; the password stays masked.
func TestScenarioCommandEveryScenarioJSON(t *testing.T) {
	dir := t.TempDir()
	for _, s := range scenario.All() {
		t.Run(s.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, errOut, err := runSessionCmd(t, ctx, "--scenario", s.Name, "--format", "json", "--state-dir", dir)
			if !scenarioRan(err) {
				t.Fatalf("exit with error: %v\nstderr: %s\nstdout: %s", err, errOut, out)
			}
			evs := decodeEvents(t, out)
			verdicts, unsafe := 0, false
			for i, ev := range evs {
				if ev.Seq != i+1 {
					t.Fatalf("event %d has seq %d", i, ev.Seq)
				}
				if ev.Kind == wire.KindVerdict {
					verdicts++
					if ev.Verdict == nil || ev.Verdict.Scenario != s.Name || ev.Verdict.Outcome == "" {
						t.Errorf("verdict without its finding: %+v", ev)
					}
					// An informational result (compare, hops) is no
					// finding (sessions.Findings).
					unsafe = unsafe || !ev.Verdict.Safe && !ev.Verdict.Informational
				}
			}
			if verdicts == 0 {
				t.Errorf("no verdict in\n%s", out)
			}
			// The exit status is the verdicts': 3 when one is unsafe.
			if want := map[bool]int{false: exitOK, true: exitUnsafe}[unsafe]; exitCode(err) != want {
				t.Errorf("exit status %d, want %d (an unsafe verdict: %v)", exitCode(err), want, unsafe)
			}
			if strings.Contains(out, lab.DemoPassword) {
				t.Errorf("the password is in the output unmasked")
			}
		})
	}
}

// scenarioRan: the scenario ran to its verdicts, which may be unsafe
// (exit status 3: tls12-vs-13's TLS 1.2 leg shows the certificate).
func scenarioRan(err error) bool { return err == nil || exitCode(err) == exitUnsafe }

func TestScenarioCommandTLSVersions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runSessionCmd(t, ctx, "--scenario", "tls12-vs-13", "--port", "993", "--format", "json", "--state-dir", t.TempDir())
	if !scenarioRan(err) {
		t.Fatalf("exit with error: %v\n%s", err, errOut)
	}
	if !strings.Contains(errOut, "mailwire scenario tls12-vs-13: TLS 1.2 and TLS 1.3 side by side: port 993 (IMAP, implicit TLS)") {
		t.Errorf("stderr does not say what runs: %q", errOut)
	}
	got := map[string]string{}
	for _, ev := range decodeEvents(t, out) {
		if ev.Leg == "" {
			t.Errorf("event without a leg: %+v", ev)
		}
		if ev.Kind == wire.KindVerdict {
			got[ev.Leg] = ev.Verdict.Outcome
		}
	}
	if got[scenario.LegTLS12] != "certificate-visible" || got[scenario.LegTLS13] != "certificate-hidden" {
		t.Errorf("verdicts %v", got)
	}
}

func TestScenarioCommandText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut, err := runSessionCmd(t, ctx, "--scenario", "tls12-vs-13", "--lens", "eavesdropper", "--width", "100", "--state-dir", t.TempDir())
	if !scenarioRan(err) {
		t.Fatalf("exit with error: %v\n%s", err, errOut)
	}
	for _, want := range []string{"VERDICT", "[TLS 1.2] ⚠ UNSAFE: the server's certificate crossed the wire", "[TLS 1.3] ✓ SAFE:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestScenarioCommandBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"--scenario", "no-such-scenario"},
		{"--scenario", "tls12-vs-13", "--port", "2525"},
		{"--scenario", "tls12-vs-13", "--variant", "nope"},
		{"--scenario", "tls12-vs-13", "--tls-max", "1.2"},
		{"--scenario", "tls12-vs-13", "--insecure"},
		{"--scenario", "tls12-vs-13", "--format", "yaml"},
	} {
		_, _, err := runSessionCmd(t, context.Background(), append(args, "--state-dir", dir)...)
		if exitCode(err) != exitUsage {
			t.Errorf("%v: error %v, want a usage error", args, err)
		}
	}
}

// Text and Markdown frame the transcript with the scenario's own prose:
// its title and introduction before, what it shows and its sources after.
func TestScenarioCommandProse(t *testing.T) {
	text, ok := content.ScenarioByName("tls12-vs-13")
	if !ok {
		t.Fatal("no text for tls12-vs-13")
	}
	dir := t.TempDir()
	for format, want := range map[string][]string{
		"text":     {text.Title + "\n", "\nWhat it shows\n", "\nSources\n", "RFC 8446 §4.4.2"},
		"markdown": {"# " + text.Title + ": port ", "\n## What it shows\n", "\n## Sources\n", "RFC 8446 §4.4.2"},
	} {
		t.Run(format, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			out, errOut, err := runSessionCmd(t, ctx, "--scenario", "tls12-vs-13", "--format", format, "--state-dir", dir)
			if !scenarioRan(err) {
				t.Fatalf("exit with error: %v\n%s", err, errOut)
			}
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if i, j := strings.Index(out, text.Title), strings.Index(out, "What it shows"); i < 0 || j < i {
				t.Errorf("the title does not come before the conclusion")
			}
		})
	}
}

// With --target, what cannot run against a real server fails before any
// connection, and says why.
func TestScenarioCommandTargetFlags(t *testing.T) {
	for want, args := range map[string][]string{
		"needs the embedded lab": {"--scenario", "hops"},
		"several ports":          {"--scenario", "compare"},
		"--ca-file":              {"--scenario", "tls12-vs-13", "--port", "993", "--ca-file", "/nonexistent/ca.pem"},
	} {
		_, _, err := runSessionCmd(t, context.Background(), append(args, "--target", "127.0.0.1")...)
		if err == nil || !strings.Contains(err.Error(), want) || exitCode(err) != exitUsage {
			t.Errorf("%v: error %v, want a usage error saying %q", args, err, want)
		}
	}
}
