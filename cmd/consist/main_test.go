package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"consist/report"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExamplesHaveTheirVerdicts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"check", "../../examples/register-linearizable.jsonl"}, exitValid, "valid"},
		{[]string{"check", "../../examples/register-stale-read.jsonl"}, exitInvalid, "Process 2's read of key x on node n3 (index 9, line 10) returned 1"},
		{[]string{"check", "--initial", "0", "../../examples/jepsen-cas-register.edn"}, exitValid, "valid"},
		{[]string{"check", "../../examples/causal-chain-broken.jsonl"}, exitInvalid, "Process 0 wrote x=1 (index 1, line 2), process 1 read x=1 (index 3, line 4), then process 1 wrote y=1 (index 5, line 6), process 2 read y=1 (index 7, line 8), then process 2 read x=null (index 9, line 10): it read the initial value although a write of that key was in its causal past"},
		{[]string{"check", "../../examples/causal-chain-broken.jsonl"}, exitInvalid, "Strongest models that hold: PRAM, writes-follow-reads; weakest that break: weak-causal"},
		{[]string{"check", "--session-scope", "key", "--model", "writes-follow-reads", "../../examples/causal-chain-broken.jsonl"}, exitValid, "valid"},
		{[]string{"check", "../../examples/store-buffering.jsonl"}, exitInvalid, "Strongest models that hold: causal, causal-convergence; weakest that break: sequential"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.says) {
			t.Errorf("consist %s: exit %d, want %d; output lacks %q?\n%s%s", strings.Join(tc.args, " "), code, tc.code, tc.says, out, errOut)
		}
	}
}

func TestExitCodes(t *testing.T) {
	valid := writeFile(t, "valid.jsonl", `{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
`)
	invalid := writeFile(t, "invalid.jsonl", `{"type":"invoke","process":0,"f":"read","value":null}
{"type":"ok","process":0,"f":"read","value":7}
`)
	unknown := writeFile(t, "unknown.jsonl", `{"type":"invoke","process":0,"f":"frobnicate","value":1}
{"type":"ok","process":0,"f":"frobnicate","value":1}
`)
	truncated := writeFile(t, "truncated.jsonl", `{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"wri
`)
	torn := writeFile(t, "torn.jsonl", `{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"wri`)
	empty := writeFile(t, "empty.jsonl", "")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"valid", []string{"check", valid}, exitValid, "", "valid"},
		{"invalid", []string{"check", invalid}, exitInvalid, "", "unwritten-read"},
		{"unknown", []string{"check", unknown}, exitUnknown, "", "this history's functions are frobnicate"},
		{"truncated line", []string{"check", truncated}, exitBad, "truncated.jsonl:2", ""},
		{"torn last line of a killed run", []string{"check", torn}, exitValid, "", "line 2 is incomplete"},
		{"empty file", []string{"check", empty}, exitBad, "empty", ""},
		{"missing file", []string{"check", filepath.Join(t.TempDir(), "nope.jsonl")}, exitBad, "no such file", ""},
		{"worst of several: invalid beats unknown", []string{"check", valid, unknown, invalid}, exitInvalid, "", ""},
		{"worst of several: bad input beats invalid", []string{"check", invalid, empty}, exitBad, "", ""},
		{"unknown flag", []string{"check", "--bogus", valid}, exitBad, "unknown flag", ""},
		{"no file", []string{"check"}, exitBad, "requires at least 1 arg", ""},
		{"bad --initial", []string{"check", "--initial", "{", valid}, exitBad, "--initial", ""},
		{"bad --format", []string{"check", "--format", "xml", valid}, exitBad, "--format", ""},
		{"model of other histories", []string{"check", "--model", "serializable", valid}, exitUnknown, "", "serializable is checked on transactional histories"},
		{"unknown model", []string{"check", "--model", "linearisable", valid}, exitBad, "unknown consistency model", ""},
		{"forced format", []string{"check", "--format", "edn", valid}, exitBad, "valid.jsonl:1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if !strings.Contains(errOut, tc.stderr) || !strings.Contains(out, tc.stdout) {
				t.Fatalf("want stderr containing %q and stdout containing %q\nstdout: %s\nstderr: %s", tc.stderr, tc.stdout, out, errOut)
			}
		})
	}
}

func TestJSONOutput(t *testing.T) {
	code, out, _ := runCLI(t, "check", "--json", "../../examples/register-stale-read.jsonl", "../../examples/register-linearizable.jsonl")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d", code, exitInvalid)
	}
	var files []report.FileResult
	if err := json.Unmarshal([]byte(out), &files); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out)
	}
	if len(files) != 2 || files[0].Results[0].Verdict != "invalid" || files[1].Results[0].Verdict != "valid" {
		t.Fatalf("unexpected results: %+v", files)
	}
	a := files[0].Results[0].Anomalies
	if len(a) != 1 || a[0].Kind != "stale-read" || len(a[0].Ops) != 3 || a[0].Key != "x" {
		t.Fatalf("unexpected anomaly: %+v", a)
	}
	// The witness is a chain: write 1 completed before write 2 began,
	// which completed before the read began; each step has its line.
	var chain []string
	for _, s := range a[0].Steps {
		chain = append(chain, fmt.Sprintf("%d@%d %s %s", s.Index, s.Line, s.F, s.Rel))
	}
	if got := strings.Join(chain, "; "); got != "1@2 write realtime; 5@6 write realtime; 9@10 read " {
		t.Errorf("steps %s", got)
	}
	if !strings.Contains(a[0].Explanation(), "(index 9, line 10) returned 1") {
		t.Errorf("explanation %q", a[0].Explanation())
	}
}

func TestHTMLVisualization(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.html")
	code, _, errOut := runCLI(t, "check", "--html", out, "../../examples/register-stale-read.jsonl")
	if code != exitInvalid {
		t.Fatalf("exit %d, want %d: %s", code, exitInvalid, errOut)
	}
	html, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(html, []byte("<html")) || !bytes.Contains(html, []byte("Process 2")) {
		t.Fatalf("the visualization lacks the failing key's operations (%d bytes)", len(html))
	}
}
