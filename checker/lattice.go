package checker

import (
	"fmt"
	"slices"
	"strings"
)

// Model names a consistency model, spelled as Jepsen spells it, lower case.
type Model string

// The models consist knows. Non-transactional models follow Viotti &
// Vukolić, "Consistency in Non-Transactional Distributed Storage Systems"
// (ACM CSUR 2016); transactional ones Adya (1999) and Kingsbury & Alvaro,
// "Elle" (VLDB 2020).
const (
	StrictSerializable Model = "strict-serializable"
	Serializable       Model = "serializable"
	SnapshotIsolation  Model = "snapshot-isolation"
	RepeatableRead     Model = "repeatable-read"
	ReadCommitted      Model = "read-committed"
	ReadUncommitted    Model = "read-uncommitted"

	// Elle's further transactional models (Adya 1999; Bailis et al.,
	// "Highly Available Transactions", VLDB 2014; Daudjee & Salem 2006).
	StrongSessionSerializable      Model = "strong-session-serializable"
	StrongSnapshotIsolation        Model = "strong-snapshot-isolation"
	StrongSessionSnapshotIsolation Model = "strong-session-snapshot-isolation"
	UpdateSerializable             Model = "update-serializable"
	ConsistentView                 Model = "consistent-view"
	CursorStability                Model = "cursor-stability"
	MonotonicAtomicView            Model = "monotonic-atomic-view"

	Linearizable      Model = "linearizable"
	Sequential        Model = "sequential"
	Causal            Model = "causal"
	CausalConvergence Model = "causal-convergence"
	WeakCausal        Model = "weak-causal"
	PRAM              Model = "PRAM"
	ReadYourWrites    Model = "read-your-writes"
	MonotonicReads    Model = "monotonic-reads"
	MonotonicWrites   Model = "monotonic-writes"
	WritesFollowReads Model = "writes-follow-reads"

	// BoundedStaleness and Convergence are measures of how far replicas
	// lag and whether they agree in the end. They are not consistency
	// models in the lattice: they imply and are implied by nothing.
	BoundedStaleness Model = "bounded-staleness"
	Convergence      Model = "convergence"

	// Counter, SetFull and Bank are the invariants of Jepsen's counter,
	// set-full and bank tests: properties of one data type's histories,
	// outside the lattice like the measures above.
	Counter Model = "counter"
	SetFull Model = "set-full"
	Bank    Model = "bank"
	// OnCall is the invariant of the on-call workload, the doctors'
	// write-skew example (Cahill, Röhm & Fekete, "Serializable Isolation
	// for Snapshot Databases", SIGMOD 2008): at least the minimum of
	// doctors on call in every state a committed transaction reads.
	OnCall Model = "on-call"
)

// implies is the model lattice, as on Jepsen's map of consistency models
// and Elle's elle.consistency-model/models graph (transactional models),
// with the three causal variants of Bouajjani, Enea, Guerraoui and Hamza
// ("On verifying causal consistency", POPL 2017): causal memory (causal)
// and causal convergence each imply weak causal consistency, and
// sequential consistency implies both. Each model lists the models it
// directly implies; everything else about the lattice is derived from
// this table.
var implies = map[Model][]Model{
	StrictSerializable:             {Serializable, Linearizable, StrongSnapshotIsolation, StrongSessionSerializable},
	StrongSessionSerializable:      {Serializable, StrongSessionSnapshotIsolation},
	StrongSnapshotIsolation:        {StrongSessionSnapshotIsolation},
	StrongSessionSnapshotIsolation: {SnapshotIsolation},
	Serializable:                   {RepeatableRead, SnapshotIsolation, UpdateSerializable},
	UpdateSerializable:             {ConsistentView}, // through Adya's forward consistent view
	SnapshotIsolation:              {ConsistentView, MonotonicAtomicView},
	ConsistentView:                 {CursorStability},
	RepeatableRead:                 {CursorStability, MonotonicAtomicView},
	CursorStability:                {ReadCommitted},
	MonotonicAtomicView:            {ReadCommitted},
	ReadCommitted:                  {ReadUncommitted},
	ReadUncommitted:                nil,

	Linearizable:      {Sequential},
	Sequential:        {Causal, CausalConvergence},
	Causal:            {WeakCausal, WritesFollowReads, PRAM},
	CausalConvergence: {WeakCausal},
	WeakCausal:        nil,
	PRAM:              {ReadYourWrites, MonotonicReads, MonotonicWrites},
	ReadYourWrites:    nil,
	MonotonicReads:    nil,
	MonotonicWrites:   nil,
	WritesFollowReads: nil,

	BoundedStaleness: nil,
	Convergence:      nil,
	Counter:          nil,
	SetFull:          nil,
	Bank:             nil,
	OnCall:           nil,
}

// Models returns every known model, strongest first: by level (the
// longest chain of implications from a model nothing implies), ties broken
// by name, and models outside the order (no implications either way)
// last. No model comes after one it implies.
func Models() []Model {
	all := make([]Model, 0, len(implies))
	for m := range implies {
		all = append(all, m)
	}
	level := levels()
	isolated := func(m Model) bool { return len(implies[m]) == 0 && !hasAbove(m) }
	slices.SortFunc(all, func(a, b Model) int {
		if ia, ib := isolated(a), isolated(b); ia != ib {
			if ia {
				return 1
			}
			return -1
		}
		if d := level[a] - level[b]; d != 0 {
			return d
		}
		return strings.Compare(string(a), string(b))
	})
	return all
}

// levels gives each model the length of the longest chain of direct
// implications leading to it.
func levels() map[Model]int {
	level := map[Model]int{}
	var walk func(Model, int)
	walk = func(m Model, d int) {
		if d <= level[m] && d > 0 {
			return
		}
		level[m] = max(level[m], d)
		for _, c := range implies[m] {
			walk(c, level[m]+1)
		}
	}
	for m := range implies {
		if !hasAbove(m) {
			walk(m, 0)
		}
	}
	return level
}

// ParseModel returns the model named s, accepting any letter case.
func ParseModel(s string) (Model, error) {
	for m := range implies {
		if strings.EqualFold(string(m), s) {
			return m, nil
		}
	}
	names := make([]string, 0, len(implies))
	for _, m := range Models() {
		names = append(names, string(m))
	}
	return "", fmt.Errorf("unknown consistency model %q: use one of %s", s, strings.Join(names, ", "))
}

// Implies reports whether every history valid under a is valid under b. A
// model implies itself.
func Implies(a, b Model) bool {
	if a == b {
		return true
	}
	for _, c := range implies[a] {
		if Implies(c, b) {
			return true
		}
	}
	return false
}

// Weaker returns every model that m implies, m excluded, strongest first.
func Weaker(m Model) []Model {
	below := closure(m)
	var out []Model
	for _, x := range Models() {
		if below[x] {
			out = append(out, x)
		}
	}
	return out
}

// closure returns the set of models m implies, m excluded.
func closure(m Model) map[Model]bool {
	seen := map[Model]bool{}
	var walk func(Model)
	walk = func(x Model) {
		for _, c := range implies[x] {
			if !seen[c] {
				seen[c] = true
				walk(c)
			}
		}
	}
	walk(m)
	return seen
}

// Summarize reads a set of results through the lattice: holds lists the
// strongest models judged valid (none of them implied by another valid
// one), and breaks the weakest judged invalid (none of them implying
// another invalid one) — "causal holds; sequential breaks". Models outside
// the lattice's order (bounded-staleness, convergence, counter, set-full,
// bank) are left out.
func Summarize(results []Result) (holds, breaks []Model) {
	verdict := map[Model]Verdict{}
	for _, r := range results {
		if len(implies[r.Model]) > 0 || hasAbove(r.Model) {
			verdict[r.Model] = r.Verdict
		}
	}
	for _, m := range Models() {
		switch verdict[m] {
		case Valid:
			top := true
			for x, v := range verdict {
				if x != m && v == Valid && Implies(x, m) {
					top = false
				}
			}
			if top {
				holds = append(holds, m)
			}
		case Invalid:
			bottom := true
			for x, v := range verdict {
				if x != m && v == Invalid && Implies(m, x) {
					bottom = false
				}
			}
			if bottom {
				breaks = append(breaks, m)
			}
		}
	}
	return holds, breaks
}

// hasAbove reports whether some model implies m.
func hasAbove(m Model) bool {
	for x := range implies {
		if x != m && Implies(x, m) {
			return true
		}
	}
	return false
}
