package workloads_test

import (
	"testing"

	"consist/adapters"
	"consist/checker/counter"
	"consist/workloads"
)

func TestCounter(t *testing.T) {
	wl := mustNew(t, "counter", workloads.Options{})
	r := drive(t, wl, 4, 2000, 1)
	sums := map[any]int64{}
	for _, op := range r.ops {
		if op.Kind != adapters.Counter || op.Key != "c0" {
			t.Fatalf("op %+v: want counter ops on the one default counter c0", op)
		}
		switch op.F {
		case "add":
			d, ok := op.Value.(int64)
			if !ok || d < 1 || d > workloads.MaxCounterDelta {
				t.Fatalf("add of %v: want a delta from 1 to %d", op.Value, workloads.MaxCounterDelta)
			}
			sums[op.Key] += d
		case "read":
		default:
			t.Fatalf("op %+v", op)
		}
	}
	if r.state["c0"] != sums["c0"] {
		t.Errorf("the counter holds %v, the adds sum to %d", r.state["c0"], sums["c0"])
	}
	res := mustValid(t, wl, r, counter.Check)
	if d := res.Details.(*counter.Details); d.Reads < 800 || d.Counters != 1 {
		t.Errorf("details %+v", d)
	}
}

func TestCounterKeys(t *testing.T) {
	wl := mustNew(t, "counter", workloads.Options{Keys: 3, Distribution: "zipf"})
	r := drive(t, wl, 4, 500, 2)
	seen := map[any]bool{}
	for _, op := range r.ops {
		seen[op.Key] = true
	}
	if len(seen) != 3 || !seen["c0"] || !seen["c1"] || !seen["c2"] {
		t.Errorf("keys %v, want c0, c1 and c2", seen)
	}
	mustValid(t, wl, r, counter.Check)
}
