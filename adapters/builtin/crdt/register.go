package crdt

import (
	"cmp"
	"strings"

	"consist/history"
)

// LWWRegister is a last-writer-wins register, Specification 8 of Shapiro
// et al. (2011): a value and the timestamp of the write that put it there;
// Merge keeps the one with the greater timestamp. A timestamp is a time in
// nanoseconds and the writing node's name, which breaks ties, so that
// timestamps are unique and totally ordered, as the specification asks;
// between equal timestamps (which a correct store never issues twice) the
// canonical encoding of the value decides, so that Merge is a least upper
// bound for every pair of registers. The zero value was never written: it
// holds nil, at time 0.
//
// LWWRegisters are values: no method changes the register it is called
// on.
type LWWRegister struct {
	value any
	time  int64
	node  string
}

// Value returns the register's value: nil if it was never written.
func (r LWWRegister) Value() any { return r.value }

// Timestamp returns the time and node of the write the register holds.
func (r LWWRegister) Timestamp() (time int64, node string) { return r.time, r.node }

// Write returns the register holding value, written at node at time now
// (nanoseconds) — or, if now is not after the register's own timestamp,
// one nanosecond after it. The specification asks for timestamps that are
// consistent with causality: a write must supersede every write its node
// has seen, even when the node's clock runs behind the writer of the one
// it replaces. (The store goes further and keeps a hybrid clock per node;
// see the package documentation.)
func (r LWWRegister) Write(value any, now int64, node string) LWWRegister {
	return LWWRegister{value: value, time: max(now, r.time+1), node: node}
}

// compare orders registers by timestamp, then by value.
func (r LWWRegister) compare(s LWWRegister) int {
	if c := cmp.Compare(r.time, s.time); c != 0 {
		return c
	}
	if c := strings.Compare(r.node, s.node); c != 0 {
		return c
	}
	return strings.Compare(history.Canonical(r.value), history.Canonical(s.value))
}

// Leq reports whether r ≤ s in the semilattice: s's write is r's or a
// later one.
func (r LWWRegister) Leq(s LWWRegister) bool { return r.compare(s) <= 0 }

// Merge returns the register of the later write.
func (r LWWRegister) Merge(s LWWRegister) LWWRegister {
	if r.compare(s) >= 0 {
		return r
	}
	return s
}
