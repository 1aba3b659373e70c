// Package vclock is vector clocks, shared by the bundled stores that track
// causality.
package vclock

import "fmt"

// Clock is a vector clock (Fidge 1988, Mattern 1989; Dynamo §4.4): for
// each node, how many writes made there a version has seen, its own
// included. A missing node counts as 0. Clocks are values: Merge and Tick return
// new clocks and never change the ones they are given.
type Clock map[string]uint64

// Order is how two vector clocks relate.
type Order int8

// The orders of two vector clocks a and b, as a.Compare(b) reports them.
const (
	// Equal: the same clock, so the same version.
	Equal Order = iota
	// Before: a happened before b; b supersedes a.
	Before
	// After: b happened before a; a supersedes b.
	After
	// Concurrent: neither saw the other; both are kept as siblings.
	Concurrent
)

// String names the order.
func (o Order) String() string {
	switch o {
	case Equal:
		return "equal"
	case Before:
		return "before"
	case After:
		return "after"
	case Concurrent:
		return "concurrent"
	}
	return fmt.Sprintf("Order(%d)", int8(o))
}

// Compare returns how a relates to b.
func (a Clock) Compare(b Clock) Order {
	aGE, bGE := a.Descends(b), b.Descends(a)
	switch {
	case aGE && bGE:
		return Equal
	case aGE:
		return After
	case bGE:
		return Before
	}
	return Concurrent
}

// Descends reports whether a has seen everything b has: every entry of a
// is at least b's. A clock descends from itself.
func (a Clock) Descends(b Clock) bool {
	for node, n := range b {
		if a[node] < n {
			return false
		}
	}
	return true
}

// Merge returns the least clock that descends from both a and b: the
// entry-wise maximum.
func (a Clock) Merge(b Clock) Clock {
	out := make(Clock, max(len(a), len(b)))
	for node, n := range a {
		out[node] = n
	}
	for node, n := range b {
		out[node] = max(out[node], n)
	}
	return out
}

// Tick returns a copy of a with node's entry incremented: the clock of a
// write at node that has seen a.
func (a Clock) Tick(node string) Clock {
	out := a.Merge(nil)
	out[node]++
	return out
}
