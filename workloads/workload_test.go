package workloads_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/checker"
	"consist/history"
	"consist/workloads"
)

// run is what drive recorded.
type run struct {
	h *history.History
	// ops are the operations drawn, setup and final ones included, in
	// the order performed.
	ops []adapters.Op
	// state holds every object's value at the end.
	state map[any]any
	// final lists, per worker, the final operations it performed.
	final [][]adapters.Op
}

// drive performs a workload against objects.Apply, one operation at a
// time, as the runner would: the setup operations, then steps operations
// of workers picked at random, then every worker's final operations. Each
// operation takes effect atomically between its invocation and its
// completion, so the history is linearizable.
func drive(t *testing.T, wl workloads.Workload, workers, steps int, seed uint64) run {
	t.Helper()
	r := run{state: map[any]any{}}
	var events []history.Event
	perform := func(p int, gen workloads.Generator, op adapters.Op) {
		r.ops = append(r.ops, op)
		inv := history.Event{Type: history.Invoke, Process: history.Process(p), F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Time: history.NoTime}
		if op.Kind == adapters.Txn {
			inv.Value = adapters.MicroOpsValue(op.Value.([]adapters.MicroOp))
		}
		events = append(events, inv)
		result, err := objects.Do(r.state, op)
		done := inv
		done.Type = adapters.Outcome(err)
		if err == nil {
			switch {
			case op.Kind == adapters.Txn:
				done.Value = adapters.MicroOpsValue(result.([]adapters.MicroOp))
			case op.F == "read":
				done.Value = result
			}
		}
		events = append(events, done)
		if gen != nil {
			gen.Done(op, err == nil, result)
		}
	}
	if s, ok := wl.(workloads.Setup); ok {
		for _, op := range s.Setup() {
			perform(workers, nil, op)
		}
	}
	gens := make([]workloads.Generator, workers)
	for w := range gens {
		gens[w] = wl.Generator(w, rand.New(rand.NewPCG(seed, uint64(w))))
	}
	pick := rand.New(rand.NewPCG(seed, 1<<32))
	for range steps {
		w := pick.IntN(workers)
		perform(w, gens[w], gens[w].Next())
	}
	r.final = make([][]adapters.Op, workers)
	if f, ok := wl.(workloads.Finisher); ok {
		for w := range workers {
			for _, op := range f.Final() {
				perform(w, gens[w], op)
				r.final[w] = append(r.final[w], op)
			}
		}
	}
	for i := range events {
		events[i].Index = int64(i)
	}
	h, err := history.New(t.Name(), events)
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	return r
}

// mustValid checks the history of r against every model the workload
// names, with their checkers.
func mustValid(t *testing.T, wl workloads.Workload, r run, check func(context.Context, *history.History, checker.Options) checker.Result) checker.Result {
	t.Helper()
	res := check(context.Background(), r.h, checker.Options{})
	if res.Verdict != checker.Valid || !slices.Contains(wl.Models(), res.Model) {
		t.Fatalf("%s: %s (%s) %+v; the workload names %v", res.Model, res.Verdict, res.Reason, res.Anomalies, wl.Models())
	}
	return res
}

func mustNew(t *testing.T, name string, opts workloads.Options) workloads.Workload {
	t.Helper()
	wl, err := workloads.New(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	if wl.Name() != name {
		t.Errorf("New(%q).Name() = %q", name, wl.Name())
	}
	return wl
}

func TestNames(t *testing.T) {
	want := []string{"bank", "counter", "list-append", "on-call", "register", "rw-register", "set"}
	if got := workloads.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range want {
		wl := mustNew(t, name, workloads.Options{})
		if _, ok := wl.(workloads.Finisher); !ok {
			t.Errorf("%s has no final reads", name)
		}
		_, setup := wl.(workloads.Setup)
		if setup != (name == "bank" || name == "on-call") {
			t.Errorf("%s: Setup implemented: %v", name, setup)
		}
	}
	if _, err := workloads.New("queue", workloads.Options{}); err == nil || !strings.Contains(err.Error(), "use one of [bank counter list-append on-call register rw-register set]") {
		t.Errorf("New(queue): %v", err)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts workloads.Options
		want string
	}{
		{"counter", workloads.Options{CAS: 1}, "counter workload: it has no cas"},
		{"set", workloads.Options{Reads: -1}, "set workload: negative mix -1:0 (reads:adds)"},
		{"list-append", workloads.Options{Keys: -2}, "list-append workload: -2 keys"},
		{"rw-register", workloads.Options{MaxTxnLength: -1}, "rw-register workload: a max transaction length of -1"},
		{"list-append", workloads.Options{MaxWritesPerKey: -3}, "list-append workload: -3 max writes per key"},
		{"on-call", workloads.Options{Keys: 2, MinOnCall: 2}, "on-call workload: a rule of 2 on call among 2 doctors"},
		{"bank", workloads.Options{Distribution: "pareto"}, `bank workload: unknown key distribution "pareto"`},
		{"bank", workloads.Options{Keys: 1}, "a transfer needs two; use at least 2 keys"},
		{"register", workloads.Options{CAS: -1}, "register workload: negative mix"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := workloads.New(tc.name, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New(%s, %+v) = %v, want an error saying %q", tc.name, tc.opts, err, tc.want)
			}
		})
	}
}

// TestMix checks that Reads and Writes weigh reads against updates, and
// that the defaults draw both.
func TestMix(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     workloads.Options
		min, max int // reads of 1000 operations
	}{
		{"counter", workloads.Options{}, 430, 570},      // 1:1
		{"set", workloads.Options{}, 180, 320},          // 1:3
		{"bank", workloads.Options{}, 430, 570},         // 1:1
		{"counter", workloads.Options{Writes: 1}, 0, 0}, // adds only
		{"set", workloads.Options{Reads: 1}, 1000, 1000},
		{"bank", workloads.Options{Reads: 1, Writes: 3}, 180, 320},
	} {
		gen := mustNew(t, tc.name, tc.opts).Generator(0, rand.New(rand.NewPCG(7, 0)))
		reads := 0
		for range 1000 {
			if gen.Next().F == "read" {
				reads++
			}
		}
		if reads < tc.min || reads > tc.max {
			t.Errorf("%s %+v: %d reads of 1000, want %d to %d", tc.name, tc.opts, reads, tc.min, tc.max)
		}
	}
}

// TestDeterministic checks that a generator's draws depend on its seed
// alone.
func TestDeterministic(t *testing.T) {
	for _, name := range workloads.Names() {
		draw := func(seed uint64) []string {
			gen := mustNew(t, name, workloads.Options{}).Generator(0, rand.New(rand.NewPCG(seed, 0)))
			var out []string
			for range 50 {
				op := gen.Next()
				v := op.Value
				if mops, ok := v.([]adapters.MicroOp); ok {
					v = adapters.MicroOpsValue(mops)
				}
				out = append(out, history.Canonical([]any{op.F, op.Key, v}))
			}
			return out
		}
		a, b, c := draw(3), draw(3), draw(4)
		if !slices.Equal(a, b) {
			t.Errorf("%s: the same seed drew %v and %v", name, a[:3], b[:3])
		}
		if slices.Equal(a, c) {
			t.Errorf("%s: different seeds drew the same operations", name)
		}
	}
}

// TestFinalReadsEveryKey checks each workload's final reads: one read of
// every object, of the workload's kind.
func TestFinalReadsEveryKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		kind adapters.Kind
		keys []any
	}{
		{"register", adapters.Register, []any{"k0", "k1", "k2"}},
		{"counter", adapters.Counter, []any{"c0", "c1", "c2"}},
		{"set", adapters.Set, []any{"s0", "s1", "s2"}},
		{"bank", adapters.Bank, []any{nil}},
	} {
		wl := mustNew(t, tc.name, workloads.Options{Keys: 3})
		var keys []any
		for _, op := range wl.(workloads.Finisher).Final() {
			if op.F != "read" || op.Kind != tc.kind || op.Value != nil {
				t.Errorf("%s: final op %+v is not a %s read", tc.name, op, tc.kind)
			}
			keys = append(keys, op.Key)
		}
		if !slices.Equal(keys, tc.keys) {
			t.Errorf("%s: final reads of %v, want %v", tc.name, keys, tc.keys)
		}
	}
}
