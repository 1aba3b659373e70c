package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"consist/history"
)

// TestRunWritesACheckedHistory runs the single store and checks the run's
// folder: the history reads back with every operation, results.json holds
// the verdicts, and latest points at the run.
func TestRunWritesACheckedHistory(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runCLI(t, "run", "--store", "single", "--ops", "600", "--rate", "0", "--clients", "4", "--store-dir", dir)
	if code != exitValid {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "Strongest models that hold: linearizable") {
		t.Fatalf("the report does not say the baseline is linearizable:\n%s", stdout)
	}
	latest := filepath.Join(dir, "latest")
	h, err := history.ReadFile(filepath.Join(latest, "history.jsonl"), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 600+4*5 {
		t.Fatalf("the history holds %d operations, want 600 and a final read of each of 5 keys by each of 4 clients", len(h.Ops))
	}
	data, err := os.ReadFile(filepath.Join(latest, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results []struct {
		Ops     int `json:"ops"`
		Results []struct {
			Model, Verdict string
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &results); err != nil {
		t.Fatalf("results.json: %v", err)
	}
	if len(results) != 1 || results[0].Ops != 620 || len(results[0].Results) == 0 || results[0].Results[0].Verdict != "valid" {
		t.Fatalf("results.json does not hold the run's verdicts: %s", data)
	}
}

func TestRunRejectsUnknownStore(t *testing.T) {
	code, _, stderr := runCLI(t, "run", "--store", "nosuch", "--store-dir", t.TempDir())
	if code != exitBad || !strings.Contains(stderr, "use one of [") {
		t.Fatalf("exit %d, stderr %q; want 3 and the stores to use", code, stderr)
	}
}
