package workloads_test

import (
	"testing"

	"consist/adapters"
	"consist/checker/set"
	"consist/history"
	"consist/workloads"
)

func TestSet(t *testing.T) {
	wl := mustNew(t, "set", workloads.Options{})
	r := drive(t, wl, 4, 2000, 1)
	added := map[int64]any{} // element -> set
	for _, op := range r.ops {
		if op.Kind != adapters.Set {
			t.Fatalf("op %+v is not a set's", op)
		}
		if op.F != "add" {
			continue
		}
		e, ok := op.Value.(int64)
		if !ok {
			t.Fatalf("add of %v: want an integer", op.Value)
		}
		if k, dup := added[e]; dup {
			t.Fatalf("element %d added to %v and to %v", e, k, op.Key)
		}
		added[e] = op.Key
	}
	total := 0
	for _, k := range []string{"s0", "s1", "s2", "s3", "s4"} {
		elems, _ := r.state[k].([]any)
		total += len(elems)
	}
	if total != len(added) || len(added) < 1000 {
		t.Errorf("the sets hold %d elements, %d were added", total, len(added))
	}
	res := mustValid(t, wl, r, set.Check)
	// The final reads began after every add: every element is judged.
	if d := res.Details.(*set.Details); d.Stable != len(added) || d.NeverRead != 0 || d.Sets != 5 {
		t.Errorf("details %+v, want %d elements stable", d, len(added))
	}
	// The last operations are the 4 workers' final reads of the 5 sets,
	// and they saw everything.
	for _, op := range r.h.Ops[len(r.h.Ops)-4*5:] {
		if op.F != "read" || !history.Equal(op.Output, r.state[op.Key]) {
			t.Errorf("final %s of %v returned %s, not every element", op.F, op.Key, history.Describe(op.Output))
		}
	}
}
