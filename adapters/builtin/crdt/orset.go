package crdt

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"consist/history"
)

// Tag identifies one add to an ORSet: the node that made it and a number
// that node never used for another add.
type Tag struct {
	// Node names the node that made the add.
	Node string
	// Seq numbers the node's adds, from 1.
	Seq uint64
}

// ORSet is an observed-remove set, Specification 15 of Shapiro et al.
// (2011): each add of an element carries a unique tag; a remove takes away
// the tags of the element that the replica has seen (observed), so an add
// concurrent with a remove survives it (add wins). The state is two
// grow-only sets — every tagged add seen, and the tags removed (the
// tombstones) — and an element is present when one of its adds is not
// removed. Merge unites both sets, so it is a least upper bound as long as
// no tag is ever used for two different elements: a store must make tags
// unique (this one numbers each node's adds and keeps the number on disk).
// Tombstones are kept for ever, as in the specification.
//
// Elements are history values, compared by their canonical encoding. The
// zero value is an empty set. ORSets are values: no method changes the set
// it is called on.
type ORSet struct {
	adds    map[Tag]any // every add seen: its tag and element
	removed map[Tag]struct{}
}

// Add returns the set with element e added under tag, which must be new.
func (s ORSet) Add(e any, tag Tag) ORSet {
	adds := make(map[Tag]any, len(s.adds)+1)
	maps.Copy(adds, s.adds)
	adds[tag] = e
	return ORSet{adds, s.removed}
}

// Remove returns the set without element e: every add of e it has seen is
// removed. An add of e this replica has not seen yet survives the remove.
func (s ORSet) Remove(e any) ORSet {
	var removed map[Tag]struct{}
	for tag, x := range s.adds {
		if _, gone := s.removed[tag]; gone || !history.Equal(x, e) {
			continue
		}
		if removed == nil {
			removed = make(map[Tag]struct{}, len(s.removed)+1)
			maps.Copy(removed, s.removed)
		}
		removed[tag] = struct{}{}
	}
	if removed == nil {
		return s
	}
	return ORSet{s.adds, removed}
}

// Contains reports whether e is in the set.
func (s ORSet) Contains(e any) bool {
	for tag, x := range s.adds {
		if _, gone := s.removed[tag]; !gone && history.Equal(x, e) {
			return true
		}
	}
	return false
}

// Elements returns the elements in the set, each once, sorted as package
// objects sorts a set's read: integers first, by value, then every other
// value by its canonical encoding. It is never nil.
func (s ORSet) Elements() []any {
	seen := map[string]bool{}
	out := []any{}
	for tag, x := range s.adds {
		if _, gone := s.removed[tag]; gone {
			continue
		}
		if c := history.Canonical(x); !seen[c] {
			seen[c] = true
			out = append(out, x)
		}
	}
	slices.SortFunc(out, compareValues)
	return out
}

// compareValues orders history values as package objects orders a set:
// integers first, as numbers, then the rest by canonical encoding.
func compareValues(a, b any) int {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	switch {
	case aInt && bInt:
		return cmp.Compare(ai, bi)
	case aInt:
		return -1
	case bInt:
		return 1
	}
	return strings.Compare(history.Canonical(a), history.Canonical(b))
}

// Leq reports whether s ≤ t in the semilattice: t has seen every add and
// every remove s has.
func (s ORSet) Leq(t ORSet) bool {
	if len(s.adds) > len(t.adds) || len(s.removed) > len(t.removed) {
		return false
	}
	for tag := range s.adds {
		if _, ok := t.adds[tag]; !ok {
			return false
		}
	}
	for tag := range s.removed {
		if _, ok := t.removed[tag]; !ok {
			return false
		}
	}
	return true
}

// Merge returns the least upper bound of s and t: the union of their adds
// and of their tombstones.
func (s ORSet) Merge(t ORSet) ORSet {
	switch {
	case t.Leq(s):
		return s
	case s.Leq(t):
		return t
	}
	return ORSet{union(s.adds, t.adds), union(s.removed, t.removed)}
}

// union returns a new map holding the entries of a and b; where both hold
// a key, a's value is kept.
func union[V any](a, b map[Tag]V) map[Tag]V {
	out := make(map[Tag]V, max(len(a), len(b)))
	maps.Copy(out, b)
	maps.Copy(out, a)
	return out
}
