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
	if s.work%1024 == 0 {
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
	if s.step() {
		return false
	}
	s.buf = encode(appendInt(s.buf[:0], int(placed)), st)
	key := string(s.buf)
	if s.memo[key] {
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
	s.memo[key] = true
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
func (s *search) si(started, committed uint32, snap []uint32, st state) bool {
	ok := s.p.okMask
	if committed&ok == ok && started == committed {
		s.events = s.events[:0]
		return true
	}
	if s.step() {
		return false
	}
	// The memo key: the sets, the committed state, and for each active
	// writer what committed since it started (the conflicts still to
	// check). What an active transaction read was checked when it started.
	b := appendInt(s.buf[:0], int(started)|int(committed)<<32)
	for active := started &^ committed; active != 0; active &= active - 1 {
		i := bits.TrailingZeros32(active)
		if s.p.txns[i].writes != 0 {
			b = appendInt(b, int(committed&^snap[i]))
		}
	}
	s.buf = encode(b, st)
	key := string(s.buf)
	if s.memo[key] {
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
		if conflict {
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
	s.memo[key] = true
	return false
}
