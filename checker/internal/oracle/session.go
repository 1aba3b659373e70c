package oracle

import (
	"fmt"

	"consist/checker"
	"consist/history"
)

// The session guarantees, from their definitions, independently of the
// fast checker's rules.
//
// Terry et al. ("Session Guarantees for Weakly Consistent Replicated
// Data", PDIS 1994) define each guarantee on the states of the servers
// that serve a session: a read is served by some server's state, the set
// of writes it has applied, and returns the newest write of its key there
// (the initial value when the state holds none). In consist's
// per-process formulation (Brzezinski, Sobaniec & Wawrzyniak, PPAM 2003)
// every process p sees the store through one log: a sequence of all the
// writes, in the order p's replica applies them, whose prefixes are the
// states that serve p's reads. Viotti & Vukolić (ACM CSUR 2016, §3.3)
// state the same guarantees on visibility and arbitration: the log is p's
// arbitration, a read's prefix its visible writes. Here, for a viewer p:
//
//   - log: a total order of every kept write (every process's writes and
//     cas; another process's cas acts as a write only).
//   - cut: each read of p is served by a prefix of the log, and returns the
//     value of the last write of its key in that prefix, the initial value
//     when the prefix has none. A read of the initial value therefore
//     means that no write of its key is visible to it, nothing more.
//   - a cas of p reads and writes at one point of the log: its read is
//     served by the prefix just before its own write.
//
// and each guarantee adds (Terry et al.'s sentence, then its reading):
//
//   - read-your-writes: "if Read R follows Write W in a session ... then W
//     is included in DB(S,t)": every write of p before a read of p in
//     session order is in the read's prefix. Here alone a cas of p is a
//     write and a separate read, whose prefix is free.
//   - monotonic-reads: "if Read R1 occurs before R2 in a session ... then
//     RelevantWrites(S1,t1,R1) is a subset of DB(S2,t2)": the prefixes of
//     p's reads grow in session order.
//   - monotonic-writes: "if Write W1 precedes Write W2 in a session, then,
//     for any server S2, if W2 in DB(S2) then W1 in DB(S2) and
//     WriteOrder(W1,W2)": the log orders every process's writes in session
//     order (so every prefix holding W2 holds W1). p's plain reads are
//     otherwise free.
//   - writes-follow-reads: "if Read R1 precedes Write W2 in a session ...
//     then, for any server S2, if W2 in DB(S2) then any W1 in
//     RelevantWrites(S1,t1,R1) is also in DB(S2) and WriteOrder(W1,W2)":
//     for every process q, the log puts the write each read of q saw
//     before each later write of q (a read of the initial value saw none,
//     and constrains nothing); p's cas take effect in the log in the order
//     p issued them. p's plain reads are otherwise free.
//
// A model holds when every process has a log and cuts that meet it.

// guarantee decides session guarantee g on n (which has unique writes).
func (n *norm) guarantee(g checker.Model) bool {
	for _, p := range n.processes() {
		if !n.logExists(g, p) {
			return false
		}
	}
	return true
}

// logExists searches the logs of viewer p under guarantee g, placing
// writes one at a time and serving p's reads at every cut.
func (n *norm) logExists(g checker.Model, p history.Process) bool {
	writes, reads := n.writesAndReads(p)
	ownCAS := func(op int) bool { return n.ops[op].proc == p && n.ops[op].kind == kCAS }
	// must[y]: the writes the guarantee puts before write y in the log.
	must := make([]uint32, len(writes))
	for y, b := range writes {
		for x, a := range writes {
			if n.logOrder(g, p, a, b) {
				if x == y {
					return false // b must precede itself, as when a process read its own later write
				}
				must[y] |= 1 << x
			}
		}
	}
	// free reads are served by any prefix meeting their lower bound;
	// p's cas (except under read-your-writes) only at their own point.
	isFree := func(r int) bool { return g == checker.ReadYourWrites || !ownCAS(reads[r]) }
	// needs[r]: the writes that must be in read r's prefix (read-your-writes).
	needs := make([]uint32, len(reads))
	if g == checker.ReadYourWrites {
		for r, op := range reads {
			for x, w := range writes {
				if n.so(w, op) && n.ops[w].proc == p {
					needs[r] |= 1 << x
				}
			}
		}
	}
	val := make([]int, n.nkeys)
	for k := range val {
		val[k] = n.initial
	}
	legal := func(op int, val []int) bool { return val[n.ops[op].key] == n.ops[op].rval }
	full := uint32(1)<<len(writes) - 1
	allReads := uint32(1)<<len(reads) - 1
	dead := map[string]bool{}
	// served: for monotonic-reads the number of p's reads served, in
	// session order; otherwise the set of p's reads served.
	var search func(placed uint32, val []int, served uint32) bool
	serve := func(placed uint32, val []int, served uint32) uint32 {
		if g == checker.MonotonicReads {
			for int(served) < len(reads) && isFree(int(served)) && legal(reads[served], val) {
				served++
			}
			return served
		}
		for r := range reads {
			if served&(1<<r) == 0 && isFree(r) && needs[r]&^placed == 0 && legal(reads[r], val) {
				served |= 1 << r
			}
		}
		return served
	}
	search = func(placed uint32, val []int, served uint32) bool {
		served = serve(placed, val, served)
		if placed == full {
			if g == checker.MonotonicReads {
				return int(served) == len(reads)
			}
			return served == allReads
		}
		key := fmt.Sprint(placed, val, served)
		if dead[key] {
			return false
		}
		for x, w := range writes {
			if placed&(1<<x) != 0 || must[x]&^placed != 0 {
				continue
			}
			next := served
			if ownCAS(w) && g != checker.ReadYourWrites {
				// its read is served here, just before its write
				if !legal(w, val) {
					continue
				}
				r := indexOf(reads, w)
				if g == checker.MonotonicReads {
					if int(served) != r {
						continue // an earlier read of p is not served yet
					}
					next = served + 1
				} else {
					next |= 1 << r
				}
			}
			nv := append([]int(nil), val...)
			nv[n.ops[w].key] = n.ops[w].wval
			if search(placed|1<<x, nv, next) {
				return true
			}
		}
		dead[key] = true
		return false
	}
	return search(0, val, 0)
}

// logOrder reports whether guarantee g makes the log of viewer p put
// write a before write b.
func (n *norm) logOrder(g checker.Model, p history.Process, a, b int) bool {
	switch g {
	case checker.MonotonicWrites:
		// each process's writes in session order
		return n.so(a, b)
	case checker.WritesFollowReads:
		// p's cas in the order p issued them
		if n.so(a, b) && n.ops[a].proc == p && n.ops[a].kind == kCAS && n.ops[b].kind == kCAS {
			return true
		}
		// the write a read of b's process saw, before b
		for r := range n.ops {
			if n.ops[r].reads() && n.so(r, b) && n.writer[r] == a {
				return true
			}
		}
	}
	return false
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	panic("oracle: not found")
}

// Together decides read-your-writes, monotonic-reads and
// monotonic-writes held at once, in one log per process (Brzezinski,
// Sobaniec & Wawrzyniak, PPAM 2003), on h: for every process p, one log
// of every kept write, with every process's writes in its session order
// (monotonic-writes), and prefixes serving p's reads (its cas at their own
// point) that grow in session order (monotonic-reads), each holding p's
// writes before the read (read-your-writes) and none of p's writes after
// it (Terry et al.'s system model: a write exists in no server's state
// before its session issues it). That conjunction is PRAM; the three
// guarantees judged apart, each with logs of its own, are not (see the
// package doc of checker/session). ok is false when h has repeated
// writes, where neither is defined.
func Together(h *history.History, opts checker.Options) (valid, ok bool, err error) {
	n, err := normalise(h, opts)
	if err != nil || n.repeated {
		return false, false, err
	}
	for _, p := range n.processes() {
		if !n.togetherLog(p) {
			return false, true, nil
		}
	}
	return true, true, nil
}

// togetherLog searches the logs of viewer p under Together's rules,
// placing writes one at a time and serving p's reads, in session order,
// at every cut.
func (n *norm) togetherLog(p history.Process) bool {
	writes, reads := n.writesAndReads(p)
	must := make([]uint32, len(writes)) // monotonic-writes
	for y, b := range writes {
		for x, a := range writes {
			if n.so(a, b) {
				must[y] |= 1 << x
			}
		}
	}
	// readsBefore[x]: how many of p's reads precede write x in session
	// order (all must be served before p's own write x is placed).
	readsBefore := make([]int, len(writes))
	for x, w := range writes {
		for _, r := range reads {
			if n.ops[w].proc == p && n.so(r, w) {
				readsBefore[x]++
			}
		}
	}
	// needs[r]: p's writes before read r (read-your-writes).
	needs := make([]uint32, len(reads))
	for r, op := range reads {
		for x, w := range writes {
			if n.so(w, op) {
				needs[r] |= 1 << x
			}
		}
	}
	isCAS := func(op int) bool { return n.ops[op].kind == kCAS }
	legal := func(op int, val []int) bool { return val[n.ops[op].key] == n.ops[op].rval }
	full := uint32(1)<<len(writes) - 1
	dead := map[string]bool{}
	var search func(placed uint32, val []int, served int) bool
	search = func(placed uint32, val []int, served int) bool {
		// serve p's plain reads in session order while they are legal here
		for served < len(reads) && !isCAS(reads[served]) && needs[served]&^placed == 0 && legal(reads[served], val) {
			served++
		}
		if placed == full {
			return served == len(reads)
		}
		key := fmt.Sprint(placed, val, served)
		if dead[key] {
			return false
		}
		for x, w := range writes {
			if placed&(1<<x) != 0 || must[x]&^placed != 0 || readsBefore[x] > served {
				continue
			}
			next := served
			if n.ops[w].proc == p && isCAS(w) {
				// its read is served here, just before its write, in turn
				if reads[served] != w || needs[served]&^placed != 0 || !legal(w, val) {
					continue
				}
				next++
			}
			nv := append([]int(nil), val...)
			nv[n.ops[w].key] = n.ops[w].wval
			if search(placed|1<<x, nv, next) {
				return true
			}
		}
		dead[key] = true
		return false
	}
	val := make([]int, n.nkeys)
	for k := range val {
		val[k] = n.initial
	}
	return search(0, val, 0)
}

// writesAndReads returns the kept operations a log of viewer p places:
// every write, and p's reads in session order.
func (n *norm) writesAndReads(p history.Process) (writes, reads []int) {
	for i := range n.ops {
		if n.ops[i].writes() {
			writes = append(writes, i)
		}
		if n.ops[i].proc == p && n.ops[i].reads() {
			reads = append(reads, i)
		}
	}
	if len(writes) > 32 || len(reads) > 32 {
		panic("oracle: too many operations")
	}
	return writes, reads
}
