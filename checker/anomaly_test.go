package checker

import (
	"slices"
	"testing"
)

// The taxonomy is consistent: every kind is described, every kind it
// implies exists, implication is acyclic, and every model it rules out is
// a model of the lattice.
func TestTaxonomyIsConsistent(t *testing.T) {
	models := map[Model]bool{}
	for _, m := range Models() {
		models[m] = true
	}
	for _, k := range Kinds() {
		if k.Description() == "" {
			t.Errorf("%s has no description", k)
		}
		for _, x := range k.Implies() {
			if !x.Known() {
				t.Errorf("%s implies %s, which is not a kind", k, x)
			}
		}
		for _, m := range k.DirectlyRulesOut() {
			if !models[m] {
				t.Errorf("%s rules out %s, which is not a model", k, m)
			}
		}
		if len(k.RulesOut()) == 0 {
			t.Errorf("%s rules out no model, directly or through the kinds it implies", k)
		}
	}
	// Acyclic: a depth-first search never meets a kind on its own path.
	const (
		unseen = iota
		open
		done
	)
	state := map[Kind]int{}
	var visit func(k Kind, path []Kind)
	visit = func(k Kind, path []Kind) {
		switch state[k] {
		case open:
			t.Fatalf("implications are cyclic: %v", append(path, k))
		case done:
			return
		}
		state[k] = open
		for _, x := range k.Implies() {
			visit(x, append(path, k))
		}
		state[k] = done
	}
	for _, k := range Kinds() {
		visit(k, nil)
	}
}

// What an anomaly rules out follows the kinds it implies and the lattice,
// as Elle's anomalies->impossible-models does.
func TestKindRulesOut(t *testing.T) {
	for _, tc := range []struct {
		kind     Kind
		out, not []Model
	}{
		{StaleRead, []Model{Linearizable, StrictSerializable}, []Model{Sequential, Causal}},
		{LostCASUpdate, []Model{Sequential, Linearizable}, []Model{Causal, PRAM}},
		{UnwrittenRead, []Model{ReadYourWrites, MonotonicReads, WeakCausal, Causal, Linearizable, ReadUncommitted, ReadCommitted, StrictSerializable}, []Model{Counter, BoundedStaleness}},
		{EffectBeforeCause, []Model{WritesFollowReads, Causal, Sequential}, []Model{PRAM, WeakCausal}},
		{GSingle, []Model{ConsistentView, SnapshotIsolation, Serializable, StrictSerializable, UpdateSerializable}, []Model{RepeatableRead, ReadCommitted, CursorStability}},
		{G2Item, []Model{RepeatableRead, Serializable}, []Model{SnapshotIsolation, ReadCommitted}},
		{LostUpdate, []Model{CursorStability, RepeatableRead, Serializable, StrictSerializable}, []Model{ReadCommitted, MonotonicAtomicView}},
		{G1a, []Model{ReadCommitted, SnapshotIsolation, Serializable}, []Model{ReadUncommitted}},
		{G0, []Model{ReadUncommitted, ReadCommitted, StrictSerializable}, []Model{Linearizable}},
		{FutureRead, []Model{ReadCommitted}, []Model{ReadUncommitted}},
		{G2Process, []Model{StrongSessionSerializable, StrictSerializable}, []Model{Serializable, StrongSnapshotIsolation}},
		{GNonadjRealtime, []Model{StrongSnapshotIsolation, StrictSerializable}, []Model{SnapshotIsolation, Serializable}},
		{StaleBeyondBound, []Model{BoundedStaleness}, []Model{Linearizable}},
	} {
		got := tc.kind.RulesOut()
		for _, m := range tc.out {
			if !slices.Contains(got, m) {
				t.Errorf("%s does not rule out %s: %v", tc.kind, m, got)
			}
		}
		for _, m := range tc.not {
			if slices.Contains(got, m) {
				t.Errorf("%s rules out %s: %v", tc.kind, m, got)
			}
		}
	}
	if got := GSingle.AllImplied(); !slices.Contains(got, G2) || !slices.Contains(got, GNonadjRealtime) {
		t.Errorf("G-single implies %v, want G2 and G-nonadjacent-realtime among them", got)
	}
}
