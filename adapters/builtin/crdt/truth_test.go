package crdt_test

import (
	"context"
	"testing"
	"time"

	"consist/adapters/builtin/crdt"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	countercheck "consist/checker/counter"
	setcheck "consist/checker/set"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/storetest"
	"consist/nemesis"
	consistrun "consist/run"
	"consist/run/sim"
	"consist/workloads"
)

// everyFault is each kind of fault in turn.
var everyFault = nemesis.Kinds()

// run drives the store with a workload for a fixed seed while the nemesis
// cycles through kinds, each lasting 100 ms with 100 ms healed between,
// and returns the history: 10 clients at 1000 operations a second over 5
// keys, then final reads after a 300 ms quiet spell.
func run(t *testing.T, workload string, opts workloads.Options, kinds []nemesis.Kind, seed uint64) *history.History {
	t.Helper()
	net := crdt.New(simnet.Config{Nodes: 3, Seed: seed, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond), Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	opts.Keys = 5
	wl, err := workloads.New(workload, opts)
	if err != nil {
		t.Fatal(err)
	}
	res := storetest.Record(t, consistrun.Config{System: &consistrun.System{Name: "crdt", Store: net}, Workload: wl, Clients: 10,
		Duration: 1500 * time.Millisecond, Rate: 1000, Seed: seed, Faults: kinds, Interval: 100 * time.Millisecond,
		Order: nemesis.Cycle, Quiesce: 300 * time.Millisecond})
	if res.OK < 500 {
		t.Fatalf("only %d operations succeeded; the store did not serve", res.OK)
	}
	return res.History
}

// verdicts checks h against models and fails the test unless each
// verdict is the one wanted.
func verdicts(t *testing.T, h *history.History, want map[checker.Model]checker.Verdict) []checker.Result {
	t.Helper()
	var models []checker.Model
	for m := range want {
		models = append(models, m)
	}
	results := suite.Check(context.Background(), h, checker.Options{Timeout: time.Minute}, models...)
	for _, r := range results {
		if r.Verdict != want[r.Model] {
			t.Errorf("%s: %s (%s) %v; want %s", r.Model, r.Verdict, r.Reason, r.Anomalies, want[r.Model])
		}
	}
	return results
}

// TestSetsLoseNothing: under every kind of fault, no acknowledged element
// goes missing for good and no read returns an element never added.
func TestSetsLoseNothing(t *testing.T) {
	t.Parallel()
	h := run(t, "set", workloads.Options{}, everyFault, 1)
	r := verdicts(t, h, map[checker.Model]checker.Verdict{checker.SetFull: checker.Valid})[0]
	d := r.Details.(*setcheck.Details)
	t.Logf("%+v", *d)
	if d.Lost+d.Unexpected+d.NeverRead > 0 || d.Stable == 0 {
		t.Fatalf("set-full: %+v; want every element stable", *d)
	}
}

// TestCounterReadsLagButNeverOvercount: under partitions, a read at one
// node misses adds acknowledged at another — the counter checker's lower
// bound breaks, as the package documentation says — but no read counts
// more than was attempted, and the final reads count every acknowledged
// add.
func TestCounterReadsLagButNeverOvercount(t *testing.T) {
	t.Parallel()
	h := run(t, "counter", workloads.Options{}, []nemesis.Kind{nemesis.Partition}, 1)
	r := verdicts(t, h, map[checker.Model]checker.Verdict{checker.Counter: checker.Invalid})[0]
	t.Logf("%+v", *r.Details.(*countercheck.Details))
	for _, a := range r.Anomalies {
		if a.Kind != countercheck.KindTooLow {
			t.Fatalf("anomaly %s: %s; want only reads too low", a.Kind, a.Explanation())
		}
	}
	// The final reads begin after the 300 ms quiet spell that follows the
	// last add.
	var lastAdd int64
	acked := map[any]int64{}
	for i := range h.Ops {
		if op := &h.Ops[i]; op.F == "add" {
			lastAdd = max(lastAdd, h.Events[op.Complete].Time)
			if op.Type == history.OK {
				acked[op.Key] += op.Input.(int64)
			}
		}
	}
	finals := 0
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.F != "read" || op.Type != history.OK {
			continue
		}
		var attempted int64
		for j := range h.Ops {
			if a := &h.Ops[j]; a.F == "add" && a.Type != history.Fail && a.Key == op.Key && a.Invoke < op.Complete {
				attempted += a.Input.(int64)
			}
		}
		if got := op.Output.(int64); got > attempted {
			t.Fatalf("a read of %v counted %d, more than the %d attempted", op.Key, got, attempted)
		}
		if h.Events[op.Invoke].Time > lastAdd+int64(250*time.Millisecond) {
			finals++
			if op.Output != acked[op.Key] {
				t.Fatalf("a final read of %v counted %v; want every acknowledged add, %d", op.Key, op.Output, acked[op.Key])
			}
		}
	}
	if finals < 10 {
		t.Fatalf("%d final reads; want one per client and counter", finals)
	}
}

// TestRegistersConvergeCausally: under clock skew, pauses and crashes —
// the faults that would break last-write-wins without causal timestamps —
// the registers keep causal convergence and every client's own writes
// and monotonic reads, and agree in the end; they are not linearizable.
// Without cas, which the store does not make atomic across nodes, causal
// memory, PRAM and the other session guarantees hold too.
func TestRegistersConvergeCausally(t *testing.T) {
	t.Parallel()
	faults := []nemesis.Kind{nemesis.Clock, nemesis.Pause, nemesis.Kill}
	t.Run("with cas", func(t *testing.T) {
		t.Parallel()
		h := run(t, "register", workloads.Options{}, faults, 2)
		verdicts(t, h, map[checker.Model]checker.Verdict{
			checker.Linearizable:      checker.Invalid,
			checker.CausalConvergence: checker.Valid,
			checker.ReadYourWrites:    checker.Valid,
			checker.MonotonicReads:    checker.Valid,
			checker.Convergence:       checker.Valid,
		})
	})
	t.Run("without cas", func(t *testing.T) {
		t.Parallel()
		// The run is deterministic: seed 1 shows a stale read (seed 2,
		// fewer writes among the reads, happens to stay linearizable).
		h := run(t, "register", workloads.Options{Reads: 2, Writes: 1}, faults, 1)
		verdicts(t, h, map[checker.Model]checker.Verdict{
			checker.Linearizable:      checker.Invalid,
			checker.Causal:            checker.Valid,
			checker.CausalConvergence: checker.Valid,
			checker.PRAM:              checker.Valid,
			checker.MonotonicWrites:   checker.Valid,
			checker.WritesFollowReads: checker.Valid,
			checker.Convergence:       checker.Valid,
		})
	})
}
