// Package storetest holds what the bundled stores' tests share: a run of
// the register workload under faults, and the verdicts it must bring.
package storetest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/nemesis"
	"consist/workloads"
	"consist/workloads/runner"
)

// Run drives net with ten clients of the register workload over five
// keys for 1.5 s, the nemesis cycling through kinds every 100 ms, and
// returns the recorded history; it fails t if fewer than 500 operations
// succeeded.
func Run(t *testing.T, net *simnet.Network, kinds []nemesis.Kind, seed uint64) *history.History {
	t.Helper()
	wl, err := workloads.New("register", workloads.Options{Keys: 5})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	nem, err := nemesis.New(net, nemesis.Schedule{Kinds: kinds, Interval: 100 * time.Millisecond, Order: nemesis.Cycle, Seed: seed}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{Store: net, Workload: wl, Recorder: rec, Clients: 10, Duration: 1500 * time.Millisecond,
		Rate: 1000, OpTimeout: 250 * time.Millisecond, Seed: seed, Nemesis: nem, Quiesce: 300 * time.Millisecond}, &counts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if counts.OK.Load() < 500 {
		t.Fatalf("only %d operations succeeded: the store did not serve", counts.OK.Load())
	}
	h, err := history.Parse(out.Bytes(), t.Name(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Expect fails t unless every model of hold is valid on h and every
// model of break_ invalid.
func Expect(t *testing.T, h *history.History, hold, break_ []checker.Model) {
	t.Helper()
	results := suite.Check(context.Background(), h, checker.Options{Timeout: 30 * time.Second}, append(hold, break_...)...)
	want := map[checker.Model]checker.Verdict{}
	for _, m := range hold {
		want[m] = checker.Valid
	}
	for _, m := range break_ {
		want[m] = checker.Invalid
	}
	for _, r := range results {
		if r.Verdict != want[r.Model] {
			var first checker.Anomaly
			if len(r.Anomalies) > 0 {
				first = r.Anomalies[0]
			}
			t.Errorf("%s: %s (%s %s); want %s", r.Model, r.Verdict, r.Reason, first.Explanation, want[r.Model])
		}
	}
}
