package checker

import (
	"slices"
	"testing"
)

func TestLatticeFollowsJepsensMap(t *testing.T) {
	for _, tc := range []struct {
		a, b Model
		want bool
	}{
		{StrictSerializable, Linearizable, true},
		{StrictSerializable, ReadUncommitted, true},
		{StrictSerializable, MonotonicReads, true},
		{Linearizable, ReadYourWrites, true},
		{Linearizable, Serializable, false},
		{Serializable, Linearizable, false},
		{Sequential, Linearizable, false},
		{Causal, WritesFollowReads, true},
		{PRAM, WritesFollowReads, false},
		{SnapshotIsolation, RepeatableRead, false},
		{Serializable, SnapshotIsolation, true},
		{ReadCommitted, ReadCommitted, true},
		{Sequential, CausalConvergence, true},
		{CausalConvergence, PRAM, false},
		{CausalConvergence, Causal, false},
		{Causal, WeakCausal, true},
		{WeakCausal, PRAM, false},
		{Linearizable, Convergence, false},
	} {
		if got := Implies(tc.a, tc.b); got != tc.want {
			t.Errorf("Implies(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestModelsStrongestFirst(t *testing.T) {
	all := Models()
	if len(all) != len(implies) {
		t.Fatalf("Models() has %d models, the lattice %d", len(all), len(implies))
	}
	for i, a := range all {
		for _, b := range all[i+1:] {
			if Implies(b, a) {
				t.Errorf("%s comes before %s, which implies it", a, b)
			}
		}
	}
	want := []Model{Sequential, Causal, CausalConvergence, WeakCausal, PRAM, ReadYourWrites, MonotonicReads, MonotonicWrites, WritesFollowReads}
	got := Weaker(Linearizable)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("Weaker(linearizable) = %v, want %v", got, want)
	}
}

func TestParseModel(t *testing.T) {
	if m, err := ParseModel("pram"); err != nil || m != PRAM {
		t.Errorf("ParseModel(pram) = %v, %v", m, err)
	}
	if _, err := ParseModel("linearisable"); err == nil {
		t.Error("ParseModel accepted a misspelt model")
	}
}

func TestVerdictWorse(t *testing.T) {
	if !Invalid.Worse(Unknown) || !Unknown.Worse(Valid) || Valid.Worse(Valid) {
		t.Error("verdicts rank invalid > unknown > valid")
	}
}

func TestSummarizeNamesTheStrongestThatHolds(t *testing.T) {
	r := func(m Model, v Verdict) Result { return Result{Model: m, Verdict: v} }
	holds, breaks := Summarize([]Result{
		r(Linearizable, Invalid), r(Sequential, Invalid), r(Causal, Valid), r(CausalConvergence, Valid),
		r(WeakCausal, Valid), r(PRAM, Valid), r(ReadYourWrites, Valid), r(Convergence, Valid), r(BoundedStaleness, Invalid),
	})
	if want := []Model{Causal, CausalConvergence}; !slices.Equal(sorted(holds), sorted(want)) {
		t.Errorf("holds = %v, want %v", holds, want)
	}
	if want := []Model{Sequential}; !slices.Equal(breaks, want) {
		t.Errorf("breaks = %v, want %v", breaks, want)
	}
}

func sorted(ms []Model) []Model {
	out := slices.Clone(ms)
	slices.Sort(out)
	return out
}
