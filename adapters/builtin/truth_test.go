package builtin_test

import (
	"context"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/storetest"
	"consist/nemesis"
	"consist/run"
	"consist/workloads"
)

// truthRun runs the register workload against a bundled store under one
// kind of fault for a fixed seed and returns the recorded history.
func truthRun(t *testing.T, store string, kinds []nemesis.Kind, seed uint64) *history.History {
	t.Helper()
	wl, err := workloads.New("register", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	res := storetest.Record(t, run.Config{Store: store, Workload: wl, Clients: 6,
		Duration: time.Second, Rate: 1500, OpTimeout: 250 * time.Millisecond, Seed: seed, Faults: kinds,
		Interval: 150 * time.Millisecond, Order: nemesis.Cycle, Quiesce: 300 * time.Millisecond})
	if res.OK < 100 {
		t.Fatalf("%s under %v: only %d operations succeeded; the store did not serve", store, kinds, res.OK)
	}
	return res.History
}

// TestLinearizableStoresStayLinearizable runs each store that promises
// linearizability under every kind of fault, one kind at a time.
func TestLinearizableStoresStayLinearizable(t *testing.T) {
	for _, store := range []string{"single", "paxos"} {
		for _, kind := range nemesis.Kinds() {
			t.Run(store+"/"+string(kind), func(t *testing.T) {
				t.Parallel()
				h := truthRun(t, store, []nemesis.Kind{kind}, 11)
				r := linearizable.Check(context.Background(), h, checker.Options{Timeout: time.Minute})
				if r.Verdict != checker.Valid {
					t.Fatalf("%s under %s: %s (%s) %v", store, kind, r.Verdict, r.Reason, r.Anomalies)
				}
				for _, r := range suite.Check(context.Background(), h, checker.Options{}, checker.Convergence) {
					if r.Verdict == checker.Invalid {
						t.Fatalf("%s under %s did not converge: %v", store, kind, r.Anomalies)
					}
				}
			})
		}
	}
}

// TestEventualIsNotLinearizableUnderPartitions runs the eventual store
// under partitions: consist must report it not linearizable, with stale
// reads witnessed.
func TestEventualIsNotLinearizableUnderPartitions(t *testing.T) {
	h := truthRun(t, "eventual", []nemesis.Kind{nemesis.Partition}, 5)
	r := linearizable.Check(context.Background(), h, checker.Options{Timeout: time.Minute})
	if r.Verdict != checker.Invalid {
		t.Fatalf("eventual under partitions: %s (%s); want invalid", r.Verdict, r.Reason)
	}
	for _, a := range r.Anomalies {
		if a.Kind == linearizable.KindStaleRead {
			return
		}
	}
	t.Fatalf("eventual under partitions: no stale read among %v", r.Anomalies)
}
