package workloads_test

import (
	"slices"
	"testing"

	"consist/adapters"
	"consist/workloads"
)

func TestListAppend(t *testing.T) {
	wl := mustNew(t, "list-append", workloads.Options{Keys: 2})
	if wl.Models() != nil {
		t.Errorf("models %v: no checker judges list appends yet", wl.Models())
	}
	r := drive(t, wl, 3, 1000, 1)
	appended := map[any][]any{}
	seen := map[int64]bool{}
	for _, op := range r.ops {
		if op.Kind != adapters.List || (op.Key != "l0" && op.Key != "l1") {
			t.Fatalf("op %+v: want list ops on l0 and l1", op)
		}
		if op.F != "append" {
			continue
		}
		v := op.Value.(int64)
		if seen[v] {
			t.Fatalf("%d appended twice", v)
		}
		seen[v] = true
		appended[op.Key] = append(appended[op.Key], v)
	}
	for k, want := range appended {
		if got, _ := r.state[k].([]any); !slices.Equal(got, want) {
			t.Errorf("list %v holds %v, want the appends in order %v", k, got, want)
		}
	}
	// Final reads: each of the 3 workers reads both lists last.
	last := r.ops[len(r.ops)-6:]
	for i, op := range last {
		if op.F != "read" || op.Key != []string{"l0", "l1"}[i%2] {
			t.Errorf("final op %d: %+v", i, op)
		}
	}
}
