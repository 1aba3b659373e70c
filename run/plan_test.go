package run_test

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"consist/history"
	"consist/nemesis"
	"consist/run"
	"consist/workloads"
)

// jsonl is the history's file form, the bytes a run folder would hold.
func jsonl(t *testing.T, h *history.History) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := history.WriteJSONL(&b, h.Events); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPlanRoundTrip runs bundled stores under random faults, reads the
// faults back from the history as a plan, and replays the run with the
// plan: the history is the same bytes. The cases cover every kind of
// fault, a fault cut short by the end of the run, and a workload whose
// setup takes time before the main phase (bank).
func TestPlanRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name, store, workload string
		faults                []nemesis.Kind
		interval, duration    time.Duration
	}{
		{"eventual", "eventual", "register", []nemesis.Kind{nemesis.Partition, nemesis.Kill}, time.Second, 6 * time.Second},
		{"mvcc-list-append", "mvcc", "list-append", []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Partition}, 500 * time.Millisecond, 3 * time.Second},
		{"paxos-every-kind", "paxos", "register", nemesis.Kinds(), 300 * time.Millisecond, 4 * time.Second},
		{"quorum-cut-short", "quorum", "register", []nemesis.Kind{nemesis.Partition, nemesis.Clock, nemesis.Loss}, 700 * time.Millisecond, 2500 * time.Millisecond},
		{"paxos-bank", "paxos", "bank", []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Latency}, 400 * time.Millisecond, 3 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			wl, err := workloads.New(c.workload, workloads.Options{Keys: 3})
			if err != nil {
				t.Fatal(err)
			}
			cfg := run.Config{Store: c.store, Workload: wl, Clients: 4, Duration: c.duration, Seed: 11, Faults: c.faults,
				Interval: c.interval, OpTimeout: time.Second, Quiesce: 200 * time.Millisecond, Rate: 500, NoCheck: true}
			random, err := run.Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			plan, err := random.Plan()
			if err != nil {
				t.Fatal(err)
			}
			if plan.Len() < 2 {
				t.Fatalf("%d faults read back: the case should inject several", plan.Len())
			}
			replay := cfg
			if replay.Workload, err = workloads.New(c.workload, workloads.Options{Keys: 3}); err != nil {
				t.Fatal(err)
			}
			replay.Faults, replay.Interval, replay.Plan = nil, 0, plan
			planned, err := run.Run(t.Context(), replay)
			if err != nil {
				t.Fatal(err)
			}
			a, b := jsonl(t, random.History), jsonl(t, planned.History)
			if sha256.Sum256(a) != sha256.Sum256(b) {
				t.Fatalf("the plan %s replays another history (%d and %d bytes); first difference:\n%s", plan, len(a), len(b), firstDiff(a, b))
			}
			again, err := planned.Plan()
			if err != nil || again.String() != plan.String() {
				t.Fatalf("the replay's plan differs: %v (%v)\nwas %v", again, err, plan)
			}
			for _, k := range plan.Kinds() {
				if !slices.Contains(c.faults, k) {
					t.Fatalf("plan %s holds %s, which the run did not inject", plan, k)
				}
			}
			if c.workload == "bank" && random.MainStart == 0 {
				t.Fatal("the bank workload's setup took no time: the case does not test the plan's origin")
			}
		})
	}
}
