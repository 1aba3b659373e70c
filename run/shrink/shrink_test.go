package shrink_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"consist/checker"
	"consist/nemesis"
	"consist/run"
	"consist/run/shrink"
	"consist/workloads"
)

// failing is a run of the register workload against store under faults
// for d of simulated time, and the workload maker shrink needs.
func failing(t *testing.T, store string, d time.Duration, faults ...nemesis.Kind) (run.Config, func(int) (workloads.Workload, error)) {
	t.Helper()
	mk := func(keys int) (workloads.Workload, error) {
		return workloads.New("register", workloads.Options{Keys: keys})
	}
	wl, err := mk(5)
	if err != nil {
		t.Fatal(err)
	}
	return run.Config{Store: store, Workload: wl, Faults: faults, Interval: time.Second, Clients: 10, Duration: d,
		Rate: 1000, OpTimeout: 2 * time.Second, Quiesce: 500 * time.Millisecond, Seed: 1}, mk
}

// firstKind runs cfg and returns its first anomaly's kind.
func firstKind(t *testing.T, cfg run.Config) checker.Kind {
	t.Helper()
	res, err := run.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Results() {
		if len(r.Anomalies) > 0 {
			return r.Anomalies[0].Kind
		}
	}
	t.Fatalf("%s under %v shows no anomaly: nothing to shrink", cfg.Store, cfg.Faults)
	return ""
}

func shrinkStore(t *testing.T, store string, d time.Duration, faults ...nemesis.Kind) (shrink.Result, checker.Kind) {
	t.Helper()
	base, mk := failing(t, store, d, faults...)
	kind := firstKind(t, base)
	res, err := shrink.Shrink(context.Background(), shrink.Config{Base: base, Keys: 5, Workload: mk, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	b, a := res.Before, res.After
	t.Logf("%s keeping %s in %d replays: operations %d -> %d, clients %d -> %d, keys %d -> %d, faults %v (%d) -> %v (%d), events %d -> %d\nplan before: %s\nplan after: %s",
		store, kind, res.Replays, b.Operations, a.Operations, b.Clients, a.Clients, b.Keys, a.Keys, b.Faults, b.Injected, a.Faults, a.Injected, b.Events, a.Events, b.InjectedPlan, a.Plan)
	switch {
	case res.BudgetSpent:
		t.Fatal("no budget was given, yet the search says it ran out")
	case !shrink.Shows(res.Run.Results(), kind):
		t.Fatalf("the smallest run does not show %s", kind)
	case a.Operations >= b.Operations:
		t.Fatalf("operations %d -> %d: not smaller", b.Operations, a.Operations)
	case a.Events >= b.Events || a.Clients > b.Clients || a.Keys > b.Keys || len(a.Faults) > len(b.Faults):
		t.Fatalf("the smallest run grew in some dimension: %+v -> %+v", b, a)
	case res.Run.History == nil || len(res.Run.History.Events) != a.Events:
		t.Fatalf("the result's history does not match its measure (%d events)", a.Events)
	}
	// The smallest run replays as it is: run again at its size, it still
	// shows the kind, with the same history.
	again := base
	again.Workload, _ = mk(a.Keys)
	again.Clients, again.Ops, again.Duration, again.Faults, again.Interval, again.Plan = a.Clients, a.Ops, a.Duration, a.Faults, a.Interval, a.Plan
	if a.Plan != nil {
		again.Faults = nil
	}
	r, err := run.Run(context.Background(), again)
	if err != nil {
		t.Fatal(err)
	}
	if !shrink.Shows(r.Results(), kind) || !reflect.DeepEqual(r.History.Events, res.Run.History.Events) {
		t.Fatalf("replaying the smallest run (%s) gave another history or lost %s", a.Size, kind)
	}
	return res, kind
}

func TestShrinkEventual(t *testing.T) {
	shrinkStore(t, "eventual", 3*time.Second, nemesis.Partition, nemesis.Kill)
}

// TestShrinkQuorumIsDeterministic shrinks a quorum run under partitions
// twice and gets the same smallest run, history included.
func TestShrinkQuorumIsDeterministic(t *testing.T) {
	one, kind := shrinkStore(t, "quorum", 2*time.Second, nemesis.Partition)
	base, mk := failing(t, "quorum", 2*time.Second, nemesis.Partition)
	two, err := shrink.Shrink(context.Background(), shrink.Config{Base: base, Keys: 5, Workload: mk, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one.After, two.After) || one.Replays != two.Replays || !reflect.DeepEqual(one.Run.History.Events, two.Run.History.Events) {
		t.Fatalf("shrinking twice differs: %+v in %d replays, then %+v in %d", one.After, one.Replays, two.After, two.Replays)
	}
}

func TestShrinkRefuses(t *testing.T) {
	base, mk := failing(t, "single", 200*time.Millisecond)
	ctx := context.Background()
	// A store that keeps the model shows no stale read to keep.
	if _, err := shrink.Shrink(ctx, shrink.Config{Base: base, Keys: 5, Workload: mk, Kind: checker.Kind("stale-read")}); !errors.Is(err, shrink.ErrNoReplay) {
		t.Fatalf("shrinking a valid run: %v, want ErrNoReplay", err)
	}
	realTime := base
	realTime.RealTime = true
	noStore := base
	noStore.Store = ""
	for name, cfg := range map[string]shrink.Config{
		"real time":   {Base: realTime, Keys: 5, Workload: mk, Kind: "stale-read"},
		"no store":    {Base: noStore, Keys: 5, Workload: mk, Kind: "stale-read"},
		"no kind":     {Base: base, Keys: 5, Workload: mk},
		"no keys":     {Base: base, Workload: mk, Kind: "stale-read"},
		"no workload": {Base: base, Keys: 5, Kind: "stale-read"},
	} {
		if _, err := shrink.Shrink(ctx, cfg); err == nil || errors.Is(err, shrink.ErrNoReplay) {
			t.Errorf("%s: %v, want it refused before any replay", name, err)
		}
	}
}

// TestBudgetEndsTheSearch: a budget spent keeps the smallest run found so
// far, still failing.
func TestBudgetEndsTheSearch(t *testing.T) {
	base, mk := failing(t, "eventual", 3*time.Second, nemesis.Partition, nemesis.Kill)
	kind := firstKind(t, base)
	replays := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res, err := shrink.Shrink(ctx, shrink.Config{Base: base, Keys: 5, Workload: mk, Kind: kind, Tried: func(shrink.Size, bool) {
		if replays++; replays == 4 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.BudgetSpent || !shrink.Shows(res.Run.Results(), kind) || res.Replays > 5 {
		t.Fatalf("cancelled after 4 replays: spent %v, %d replays, shows %s: %v", res.BudgetSpent, res.Replays, kind, shrink.Shows(res.Run.Results(), kind))
	}
}

// TestShrinkDropsFaults: a session run under five kills shows
// no-sequential-order, which the store shows only under a kill; shrinking
// keeps one kill of the five, with its node, and the smallest run replays
// from its plan.
func TestShrinkDropsFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("shrinks an 11 s run")
	}
	base, mk := failing(t, "session", 11*time.Second, nemesis.Kill)
	const kind = checker.Kind("no-sequential-order")
	if !shrink.Shows(mustRun(t, base).Results(), kind) {
		t.Fatalf("session under kills shows no %s", kind)
	}
	calm := base
	calm.Faults = nil
	calm.Workload, _ = mk(5)
	if shrink.Shows(mustRun(t, calm).Results(), kind) {
		t.Fatalf("session shows %s without faults: the case does not test dropping faults", kind)
	}
	res, err := shrink.Shrink(context.Background(), shrink.Config{Base: base, Keys: 5, Workload: mk, Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	b, a := res.Before, res.After
	t.Logf("session keeping %s in %d replays: operations %d -> %d, clients %d -> %d, faults %d -> %d\nplan before: %s\nplan after: %s",
		kind, res.Replays, b.Operations, a.Operations, b.Clients, a.Clients, b.Injected, a.Injected, b.InjectedPlan, a.Plan)
	if b.Injected < 5 || b.InjectedPlan.Len() != b.Injected {
		t.Fatalf("the run injected %d faults, read back as %d: want 5 or more", b.Injected, b.InjectedPlan.Len())
	}
	if a.Injected != 1 || a.Plan.Len() != 1 || a.Plan.Faults[0].Kind != nemesis.Kill {
		t.Fatalf("shrunk to %d faults injected, plan %s: want the one kill the anomaly needs", a.Injected, a.Plan)
	}
	if !slices.ContainsFunc(b.InjectedPlan.Faults, func(f nemesis.Fault) bool { return slices.Equal(f.Nodes, a.Plan.Faults[0].Nodes) }) {
		t.Fatalf("the kill kept hits %v, which no kill of the run did: %s", a.Plan.Faults[0].Nodes, b.InjectedPlan)
	}
	// The plan read back replays the smallest run.
	again := base
	again.Workload, _ = mk(a.Keys)
	again.Clients, again.Ops, again.Duration, again.Faults, again.Plan = a.Clients, a.Ops, a.Duration, nil, a.Plan
	r := mustRun(t, again)
	if !shrink.Shows(r.Results(), kind) || !reflect.DeepEqual(r.History.Events, res.Run.History.Events) {
		t.Fatalf("replaying the smallest run from its plan (%s) gave another history or lost %s", a.Plan, kind)
	}
}

func mustRun(t *testing.T, cfg run.Config) run.Result {
	t.Helper()
	r, err := run.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
