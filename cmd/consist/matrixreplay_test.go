package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"consist/adapters/builtin"
	"consist/checker"
	"consist/matrix"
)

// TestMatrixCommandReplaysTheRun: the command a matrix cell gives, run
// by consist run, makes the same run: the same counts, and the break the
// profile claims under that seed (crdt breaks causal memory under seed 7
// and only a few others).
func TestMatrixCommandReplaysTheRun(t *testing.T) {
	s, err := builtin.Lookup("crdt")
	if err != nil {
		t.Fatal(err)
	}
	var claim builtin.Break
	for _, b := range s.Profile.Breaks {
		if b.Model == checker.Causal {
			claim = b
		}
	}
	if claim.Seed == 0 {
		t.Fatal("the crdt profile no longer claims a causal break: pick another claimed break")
	}
	s.Profile = builtin.Profile{Breaks: []builtin.Break{claim}}
	m, err := matrix.Run(context.Background(), matrix.Config{Stores: []builtin.Store{s}, Seed: claim.Seed})
	if err != nil {
		t.Fatal(err)
	}
	cell := m.Rows[0].Cells[0]
	if cell.Seed != claim.Seed || cell.Err != "" {
		t.Fatalf("the cell is seed %d (%s), want %d", cell.Seed, cell.Err, claim.Seed)
	}
	dir := t.TempDir()
	args := append(slices.Clone(cell.Command[1:]), "--store-dir", dir)
	if code, _, errOut := runCLI(t, args...); code != exitInvalid {
		t.Fatalf("consist %v: exit %d, want %d (invalid): %s", args, code, exitInvalid, errOut)
	}
	var run struct{ OK, Fail, Info int64 }
	data, err := os.ReadFile(filepath.Join(dir, "latest", "run.json"))
	if err != nil || json.Unmarshal(data, &run) != nil {
		t.Fatalf("run.json: %v: %s", err, data)
	}
	if run.OK != cell.OK || run.Fail != cell.Fail || run.Info != cell.Info {
		t.Fatalf("consist %v made %d/%d/%d ok/fail/info; the matrix's run made %d/%d/%d", args, run.OK, run.Fail, run.Info, cell.OK, cell.Fail, cell.Info)
	}
	var results []struct {
		Results []struct{ Model, Verdict string } `json:"results"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "latest", "results.json"))
	if err != nil || json.Unmarshal(data, &results) != nil || len(results) != 1 {
		t.Fatalf("results.json: %v: %s", err, data)
	}
	for _, r := range results[0].Results {
		if r.Model == string(checker.Causal) && r.Verdict == "invalid" {
			return
		}
	}
	t.Fatalf("consist %v did not break causal: %+v", args, results[0].Results)
}
