package workloads_test

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/workloads"
)

// TestOnCall drives the on-call workload against an atomic store: the
// setup writes the rule and every doctor on call, every transaction reads
// every doctor, doctors leave only while enough stay (some attempts
// abort), flags are unique, and the history keeps the rule and is
// strict-serializable.
func TestOnCall(t *testing.T) {
	wl := mustNew(t, "on-call", workloads.Options{Keys: 3, MinOnCall: 1})
	if workloads.KindOf(wl) != adapters.Txn || wl.Models()[0] != checker.OnCall {
		t.Fatalf("kind %s, models %v", workloads.KindOf(wl), wl.Models())
	}
	setup := wl.(workloads.Setup).Setup()
	if len(setup) != 1 || history.Canonical(adapters.MicroOpsValue(setup[0].Value.([]adapters.MicroOp))) != `[["w","min-on-call",1],["w","d0",1],["w","d1",2],["w","d2",3]]` {
		t.Fatalf("setup %+v", setup)
	}
	r := drive(t, wl, 4, 2000, 3)
	flags := map[int64]bool{}
	var offs, ons, fails int
	for i := range r.h.Ops {
		op := &r.h.Ops[i]
		mops := op.Input.([]any)
		if op.Type == history.Fail {
			fails++
		}
		for j, m := range mops {
			m := m.([]any)
			if m[0] != "w" {
				if j > 0 && mops[j-1].([]any)[0] == "w" {
					t.Fatalf("transaction %v reads after writing", mops)
				}
				continue
			}
			if m[1] == workloads.OnCallRuleKey {
				continue
			}
			v := m[2].(int64)
			if flags[max(v, -v)] {
				t.Fatalf("flag %d written twice", v)
			}
			flags[max(v, -v)] = true
			if op.Type == history.OK && v < 0 {
				offs++
			} else if op.Type == history.OK {
				ons++
			}
		}
	}
	if offs < 100 || ons < 100 || fails < 50 {
		t.Fatalf("%d doctors left, %d came back, %d leaves refused: want many of each", offs, ons, fails)
	}
	for _, res := range suite.Check(context.Background(), r.h, checker.Options{WFRKeys: true}, checker.OnCall, checker.StrictSerializable) {
		if res.Verdict != checker.Valid {
			t.Fatalf("%s: %s (%s) %v", res.Model, res.Verdict, res.Reason, res.Anomalies)
		}
	}
}

// TestOnCallGuard checks the condition of a doctor leaving: it aborts
// when the doctor is off already or too few others stay on.
func TestOnCallGuard(t *testing.T) {
	wl := mustNew(t, "on-call", workloads.Options{Keys: 2})
	objs := map[any]any{}
	for _, op := range wl.(workloads.Setup).Setup() {
		if _, err := objects.Do(objs, op); err != nil {
			t.Fatal(err)
		}
	}
	// Both on call: one may leave, the other then may not.
	objs["d1"] = int64(-10)
	var leave adapters.Op
	g := wl.Generator(0, newRand(1))
	for range 100 {
		op := g.Next()
		mops := op.Value.([]adapters.MicroOp)
		if last := mops[len(mops)-1]; last.F == "w" && last.Value.(int64) < 0 && last.Key == "d0" {
			leave = op
			break
		}
	}
	if leave.Guard == nil {
		t.Fatal("no guarded leave of d0 drawn")
	}
	_, err := objects.Do(objs, leave)
	if !errors.Is(err, adapters.ErrNotApplied) || objs["d0"] != int64(1) {
		t.Fatalf("d0 left with nobody else on call: %v, d0 holds %v", err, objs["d0"])
	}
	objs["d1"] = int64(11)
	if _, err := objects.Do(objs, leave); err != nil || objs["d0"].(int64) >= 0 {
		t.Fatalf("d0 could not leave with d1 on call: %v", err)
	}
	if _, err := objects.Do(objs, leave); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("d0 left twice: %v", err)
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }

// TestOnCallUnderSnapshotIsolation drives the on-call workload against a
// small snapshot-isolation executor (each transaction reads the snapshot
// taken when it began, and commits unless a key it writes was committed
// by another since: first committer wins), with two doctors and several
// workers whose transactions overlap. Doctors write only their own flag,
// so two leaving at once never conflict: write skew. The on-call checker
// must flag the rule broken, naming the write skew, and the transactional
// checker, assuming writes follow reads (every writer read its doctor
// first), must find G2-item: not serializable, yet snapshot isolation.
func TestOnCallUnderSnapshotIsolation(t *testing.T) {
	wl := mustNew(t, "on-call", workloads.Options{Keys: 2, MinOnCall: 1})
	state := map[any]any{}
	version := map[any]int{}
	var events []history.Event
	record := func(typ history.Type, p int, value any, errText string) {
		events = append(events, history.Event{Type: typ, Process: history.Process(p), F: "txn", Value: value, HasValue: true, Error: errText, Time: history.NoTime})
	}
	for _, op := range wl.(workloads.Setup).Setup() {
		record(history.Invoke, 9, adapters.MicroOpsValue(op.Value.([]adapters.MicroOp)), "")
		if _, err := objects.Do(state, op); err != nil {
			t.Fatal(err)
		}
		record(history.OK, 9, adapters.MicroOpsValue(op.Value.([]adapters.MicroOp)), "")
	}
	type open struct {
		op       adapters.Op
		snapshot map[any]any
		versions map[any]int
	}
	const workers = 4
	gens := make([]workloads.Generator, workers)
	txns := make([]*open, workers)
	for w := range gens {
		gens[w] = wl.Generator(w, newRand(uint64(w)))
	}
	pick := newRand(99)
	for range 3000 {
		w := pick.IntN(workers)
		if txns[w] == nil {
			op := gens[w].Next()
			txns[w] = &open{op, maps.Clone(state), maps.Clone(version)}
			record(history.Invoke, w, adapters.MicroOpsValue(op.Value.([]adapters.MicroOp)), "")
			continue
		}
		o := txns[w]
		txns[w] = nil
		snap := maps.Clone(o.snapshot)
		result, err := objects.Do(snap, o.op)
		if err == nil {
			for _, m := range o.op.Value.([]adapters.MicroOp) {
				if m.F == "w" && version[m.Key] != o.versions[m.Key] {
					err = adapters.NotApplied("first committer wins")
				}
			}
		}
		if err != nil {
			record(history.Fail, w, adapters.MicroOpsValue(o.op.Value.([]adapters.MicroOp)), err.Error())
			gens[w].Done(o.op, false, nil)
			continue
		}
		for _, m := range o.op.Value.([]adapters.MicroOp) {
			if m.F == "w" {
				state[m.Key] = m.Value
				version[m.Key]++
			}
		}
		record(history.OK, w, adapters.MicroOpsValue(result.([]adapters.MicroOp)), "")
		gens[w].Done(o.op, true, result)
	}
	for i := range events {
		events[i].Index = int64(i)
	}
	h, err := history.New(t.Name(), events)
	if err != nil {
		t.Fatal(err)
	}
	res := suite.Check(context.Background(), h, checker.Options{WFRKeys: true}, checker.OnCall, checker.Serializable, checker.SnapshotIsolation)
	want := map[checker.Model]checker.Verdict{checker.OnCall: checker.Invalid, checker.Serializable: checker.Invalid, checker.SnapshotIsolation: checker.Valid}
	for _, r := range res {
		if r.Verdict != want[r.Model] {
			t.Errorf("%s: %s (%s) %v; want %s", r.Model, r.Verdict, r.Reason, r.Anomalies, want[r.Model])
		}
		switch {
		case r.Model == checker.OnCall && len(r.Anomalies) > 0:
			t.Logf("%s: %s", r.Reason, r.Anomalies[0].Explanation())
			if e := r.Anomalies[0].Explanation(); !strings.Contains(e, "(write skew)") {
				t.Errorf("the on-call witness does not name the write skew: %s", e)
			}
		case r.Model == checker.Serializable && len(r.Anomalies) > 0:
			kinds := map[checker.Kind]bool{}
			for _, a := range r.Anomalies {
				kinds[a.Kind] = true
			}
			if !kinds[checker.G2Item] {
				t.Errorf("serializable broken by %v, want G2-item among them", kinds)
			}
		}
	}
}
