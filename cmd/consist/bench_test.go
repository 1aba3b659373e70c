package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchInProcess generates two small histories, one with a violation,
// and checks that the table shows both checkers' verdicts side by side.
func TestBenchInProcess(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"bench", "--in-process", "--ops", "300", "--processes", "4", "--count", "2", "--invalid", "0.5", "--timeout", "10s"}, &out, &errOut)
	if code != exitValid {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{"consist time", "porcupine verdict", "time ratio", "seed 1", "seed 2 (", "valid (read-mapping)", "invalid (read-mapping)", "total: consist", "bytes allocated"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "DISAGREEMENT") {
		t.Errorf("the checkers disagree:\n%s", text)
	}
}

// TestBenchChildProcesses measures in child processes (this test binary
// re-executed as consist), on a history file given as an argument.
func TestBenchChildProcesses(t *testing.T) {
	old := benchChildCommand
	t.Cleanup(func() { benchChildCommand = old })
	benchChildCommand = func(ctx context.Context, args []string) (*exec.Cmd, error) {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childArgs+"="+strings.Join(append([]string{"bench"}, args...), "\n"))
		return cmd, nil
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"bench", "--timeout", "10s", "../../examples/register-stale-read.jsonl"}, &out, &errOut)
	if code != exitValid {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	text := out.String()
	for _, want := range []string{"register-stale-read.jsonl", "invalid (read-mapping)", "│ invalid ", "peak RSS"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestBenchRejectsBadShapes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"bench", "--in-process", "--ops", "0"}, &out, &errOut); code != exitBad {
		t.Fatalf("exit %d, want %d: %s", code, exitBad, errOut.String())
	}
}

// TestCheckMaxMemory: a tiny --max-memory ends in unknown, with the
// reason, never in a crash or a guess.
func TestCheckMaxMemory(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"check", "--model", "linearizable", "--max-memory", "100B", "../../examples/register-stale-read.jsonl"}, &out, &errOut)
	if code != exitUnknown || !strings.Contains(out.String(), "--max-memory budget of 100B") || !strings.Contains(out.String(), "--max-memory") {
		t.Fatalf("exit %d, want %d with the reason:\n%s%s", code, exitUnknown, out.String(), errOut.String())
	}
}
