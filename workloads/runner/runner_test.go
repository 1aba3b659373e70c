package runner_test

import (
	"bytes"
	"context"
	"testing"

	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/workloads"
	"consist/workloads/runner"
)

// TestSingleIsLinearizable runs the register workload against the
// linearizable baseline and checks the recorded history: it must read
// back, hold every operation, and be linearizable.
func TestSingleIsLinearizable(t *testing.T) {
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	wl, err := workloads.New("register", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{Store: single.New(simnet.Config{Seed: 1}), Workload: wl, Recorder: rec, Clients: 8, Ops: 4000, Seed: 1}, &counts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), "run", history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 4000 || counts.Total() != 4000 {
		t.Fatalf("recorded %d operations, counted %d; want 4000", len(h.Ops), counts.Total())
	}
	if counts.OK.Load() == 0 || counts.Fail.Load() == 0 {
		t.Fatalf("want both ok operations and failed cas, got %d ok, %d fail", counts.OK.Load(), counts.Fail.Load())
	}
	for _, r := range suite.Check(context.Background(), h, checker.Options{}, checker.Linearizable) {
		if r.Verdict != checker.Valid {
			t.Fatalf("%s: %s %s %v", r.Model, r.Verdict, r.Reason, r.Anomalies)
		}
	}
}
