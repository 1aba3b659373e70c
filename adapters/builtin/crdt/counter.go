package crdt

import "maps"

// GCounter is a grow-only counter, Specification 6 of Shapiro et al.
// (2011): one entry per node, the sum of the increments made there. Its
// value is the sum of the entries; Merge takes each entry's maximum, and
// one counter is below another (Leq) when each of its entries is. A node
// must only increment its own entry. The zero value is a counter at 0.
//
// GCounters are values: no method changes the counter it is called on, so
// replicas, messages and disks may share them. Sums wrap around past
// 2^64 - 1.
type GCounter struct {
	n map[string]uint64
}

// Increment returns the counter with node's entry raised by delta.
func (c GCounter) Increment(node string, delta uint64) GCounter {
	out := make(map[string]uint64, len(c.n)+1)
	maps.Copy(out, c.n)
	out[node] += delta
	return GCounter{out}
}

// Value returns the sum of the entries.
func (c GCounter) Value() uint64 {
	var sum uint64
	for _, n := range c.n {
		sum += n
	}
	return sum
}

// Leq reports whether c ≤ d in the semilattice (Shapiro's compare): d has
// seen every increment c has.
func (c GCounter) Leq(d GCounter) bool {
	for node, n := range c.n {
		if n > d.n[node] {
			return false
		}
	}
	return true
}

// Merge returns the least upper bound of c and d: each node's entry is
// the larger of theirs.
func (c GCounter) Merge(d GCounter) GCounter {
	switch {
	case d.Leq(c):
		return c
	case c.Leq(d):
		return d
	}
	out := make(map[string]uint64, max(len(c.n), len(d.n)))
	maps.Copy(out, c.n)
	for node, n := range d.n {
		out[node] = max(out[node], n)
	}
	return GCounter{out}
}

// PNCounter is a counter that goes up and down, Specification 7 of
// Shapiro et al. (2011): a G-Counter of increments and one of decrements;
// its value is their difference, and it merges each half on its own. A
// PN-Counter that is only ever incremented is a G-Counter (its decrements
// stay empty), which is why the store keeps every counter in a PNCounter.
// The zero value is a counter at 0; PNCounters are values, like GCounters.
type PNCounter struct {
	inc, dec GCounter
}

// Add returns the counter with delta added at node: to the increments when
// it is positive, to the decrements when negative.
func (c PNCounter) Add(node string, delta int64) PNCounter {
	if delta >= 0 {
		return PNCounter{c.inc.Increment(node, uint64(delta)), c.dec}
	}
	return PNCounter{c.inc, c.dec.Increment(node, uint64(-(delta+1))+1)}
}

// Value returns the increments less the decrements.
func (c PNCounter) Value() int64 { return int64(c.inc.Value() - c.dec.Value()) }

// Leq reports whether c ≤ d in the semilattice: d has seen every
// increment and decrement c has.
func (c PNCounter) Leq(d PNCounter) bool { return c.inc.Leq(d.inc) && c.dec.Leq(d.dec) }

// Merge returns the least upper bound of c and d.
func (c PNCounter) Merge(d PNCounter) PNCounter {
	switch {
	case d.Leq(c):
		return c
	case c.Leq(d):
		return d
	}
	return PNCounter{c.inc.Merge(d.inc), c.dec.Merge(d.dec)}
}
