package txnoracle

import (
	"fmt"
	"math/bits"
)

// search is one exhaustive search for a witness.
type search struct {
	p   *prepared
	ctx interface{ Err() error }
	// pred[j] are the transactions that must come before j (committed
	// before j starts, for snapshot isolation) when both are included;
	// succ is its transpose.
	pred, succ []uint32
	work, max  int
	stopped    string // why the search gave up, or ""
	// memo holds the nodes from which no witness exists.
	memo map[string]bool
	buf  []byte
	// plain turns off the memo and every reduction, leaving only the
	// definitions (for the tests, which compare the two).
	plain bool
	// order and events are the witness, built as the search unwinds.
	order  []int
	events []Event
}

// step counts a node and reports whether the search must stop.
func (s *search) step() bool {
	if s.stopped != "" {
		return true
	}
	s.work++
	if s.work > s.max {
		s.stopped = fmt.Sprintf("search went past its work bound of %d nodes", s.max)
		return true
	}
	if s.work%1024 == 1 {
		if err := s.ctx.Err(); err != nil {
			s.stopped = fmt.Sprintf("stopped: %v", err)
			return true
		}
	}
	return false
}

// serial looks for a serial order that begins with the transactions in
// placed, in some order leaving the database in st. It places, one at a
// time, any transaction whose required predecessors (by s.pred) that must
// be included are already placed and that must not come before any placed
// one, executes it on st and, for an OK transaction, requires its reads to
// match. An Info transaction may be placed or left out; the order is
// complete when every OK transaction is placed. On success s.order holds
// the witness.
func (s *search) serial(placed uint32, st state) bool {
	ok := s.p.okMask
	if placed&ok == ok {
		s.order = s.order[:0]
		return true
	}
	if s.step() || !s.plain && !s.p.viable(placed, st) {
		return false
	}
	s.buf = encode(appendInt(s.buf[:0], int(placed)), st)
	key := string(s.buf)
	if !s.plain && s.memo[key] {
		return false
	}
	for i := range s.p.txns {
		bit := uint32(1) << i
		if placed&bit != 0 || s.pred[i]&ok&^placed != 0 || s.succ[i]&placed != 0 {
			continue
		}
		t := &s.p.txns[i]
		next, good := exec(t, st, t.ok)
		if !good {
			continue
		}
		if s.serial(placed|bit, next) {
			s.order = append([]int{i}, s.order...)
			return true
		}
		if s.stopped != "" {
			return false
		}
	}
	if !s.plain {
		s.memo[key] = true
	}
	return false
}

// si looks for an order of start and commit events that continues from a
// point at which the transactions in started have taken their snapshots
// (snap[i] holding the transactions committed when i started), those in
// committed have committed, and st is the committed state (their effects
// applied in commit order).
//
// A transaction may start when every OK transaction that must precede it
// (by s.pred) has committed; its snapshot is st, and an OK transaction's
// reads must match what executing it on its snapshot gives. A started
// transaction may commit when no transaction it must precede has started
// yet, and when no transaction committed since it started writes a key it
// writes (First-Committer-Wins); committing applies its appends and writes
// to st. The order is complete when every OK transaction has committed and
// every started transaction has committed; an Info transaction may never
// start. On success s.events holds the witness.
//
// Three reductions keep the search small without changing its answer
// (s.plain turns them off, and the tests compare). A commit that would
// conflict with a transaction still active is not taken: that one could
// then never commit, and every started one must. A transaction that writes
// nothing commits at once after it starts: its commit changes no state and
// conflicts with nothing, and committing earlier only helps the
// transactions that must start after it. A transaction none of whose
// checked reads depends on its snapshot (an Info one, an OK one that only
// writes, or one that reads only registers it wrote before) starts just
// before it commits: its snapshot matters to no read, and starting later
// only shrinks its interval (fewer conflicts) and helps the transactions
// that must commit before it starts. Such transactions take their start
// and commit as one step.
func (s *search) si(started, committed uint32, snap []uint32, st state) bool {
	ok := s.p.okMask
	if committed&ok == ok && started == committed {
		s.events = s.events[:0]
		return true
	}
	if s.step() || !s.plain && !s.p.viable(started, st) {
		return false
	}
	// The memo key: the sets and the committed state. What an active
	// transaction read was checked when it started, and no active
	// transaction has a conflict yet (a commit that would give one is not
	// taken), so when the active ones started does not change what can
	// follow.
	s.buf = encode(appendInt(s.buf[:0], int(started)|int(committed)<<32), st)
	key := string(s.buf)
	if !s.plain && s.memo[key] {
		return false
	}
	// Commits first: a serial-looking witness is found soonest.
	for active := started &^ committed; active != 0; active &= active - 1 {
		i := bits.TrailingZeros32(active)
		bit := uint32(1) << i
		t := &s.p.txns[i]
		if s.succ[i]&started != 0 {
			continue
		}
		conflict := false
		for since := committed &^ snap[i]; since != 0; since &= since - 1 {
			if s.p.txns[bits.TrailingZeros32(since)].writes&t.writes != 0 {
				conflict = true
				break
			}
		}
		if conflict || !s.plain && s.conflictsActive(i, started&^committed&^bit) {
			continue
		}
		next, _ := exec(t, st, false)
		if s.si(started, committed|bit, snap, next) {
			s.events = append([]Event{{Kind: Commit, Txn: i}}, s.events...)
			return true
		}
		if s.stopped != "" {
			return false
		}
	}
	for i := range s.p.txns {
		bit := uint32(1) << i
		if started&bit != 0 || s.pred[i]&ok&^committed != 0 {
			continue
		}
		t := &s.p.txns[i]
		if t.ok {
			if _, good := exec(t, st, true); !good {
				continue
			}
		}
		if !s.plain && (t.writes == 0 || !t.external) {
			// Atomic: start and commit at once (see above). Like any
			// commit, it may not conflict with an active transaction.
			if s.succ[i]&started != 0 || s.conflictsActive(i, started&^committed) {
				continue
			}
			next := st
			if t.writes != 0 {
				next, _ = exec(t, st, false)
			}
			if s.si(started|bit, committed|bit, snap, next) {
				s.events = append([]Event{{Kind: Start, Txn: i}, {Kind: Commit, Txn: i}}, s.events...)
				return true
			}
			if s.stopped != "" {
				return false
			}
			continue
		}
		old := snap[i]
		snap[i] = committed
		found := s.si(started|bit, committed, snap, st)
		snap[i] = old
		if found {
			s.events = append([]Event{{Kind: Start, Txn: i}}, s.events...)
			return true
		}
		if s.stopped != "" {
			return false
		}
	}
	if !s.plain {
		s.memo[key] = true
	}
	return false
}

// conflictsActive reports whether transaction i writes a key that one of
// the active transactions writes. Committing i would then leave that one
// unable ever to commit (First-Committer-Wins), and every started
// transaction must commit, so such a commit is never taken; this keeps the
// invariant that no active transaction has a conflict yet, on which the
// memo key relies.
func (s *search) conflictsActive(i int, active uint32) bool {
	w := s.p.txns[i].writes
	if w == 0 {
		return false
	}
	for ; active != 0; active &= active - 1 {
		if s.p.txns[bits.TrailingZeros32(active)].writes&w != 0 {
			return true
		}
	}
	return false
}
