package sequential

import (
	"context"
	"errors"
	"slices"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/history"
)

var errMemory = errors.New("memory budget exceeded")

// search looks for a legal total order of a subset of a history's
// operations that respects session order.
type search struct {
	r        *reghist.History
	sessions [][]int32
	// readVal and writeVal are interned (key, value) ids; 0 is never used.
	readVal, writeVal []int32
	initial           []int32 // per key
	unique            bool
	readersLeft       []int32 // per value id: reads of it not yet placed
	pos, cur          []int32
	placed            int
	log               []undo
	failed            map[[2]uint64]struct{}
	maxFailed         int
	hash              [2]uint64
	explored          int64
	deepest           int
	deepestPos        []int32
}

type undo struct {
	proc, key, prev int32 // key < 0: no value change
	readOf          int32 // value id whose readersLeft was decremented, or 0
	skipped         bool
}

type move struct {
	proc int32
	skip bool
}

func newSearch(r *reghist.History, memory int64) *search {
	return newSubsetSearch(r, nil, memory)
}

// newSubsetSearch searches over the operations keep marks (all when keep
// is nil).
func newSubsetSearch(r *reghist.History, keep []bool, memory int64) *search {
	s := &search{r: r, unique: r.Unique, failed: map[[2]uint64]struct{}{}, maxFailed: int(memory / 64)}
	ids := map[[2]string]int32{}
	intern := func(k int32, v any) int32 {
		key := [2]string{history.Canonical(r.Keys[k]), history.Canonical(v)}
		id, ok := ids[key]
		if !ok {
			id = int32(len(ids) + 1)
			ids[key] = id
		}
		return id
	}
	s.initial = make([]int32, len(r.Keys))
	for k := range r.Keys {
		s.initial[k] = intern(int32(k), r.Initial)
	}
	n := len(r.Ops)
	s.readVal, s.writeVal = make([]int32, n), make([]int32, n)
	for i := range r.Ops {
		o := &r.Ops[i]
		if o.Reader() {
			s.readVal[i] = intern(o.Key, o.Read)
		}
		if o.Writer() {
			s.writeVal[i] = intern(o.Key, o.Written)
		}
	}
	s.readersLeft = make([]int32, len(ids)+1)
	for _, ops := range r.Sessions {
		var mine []int32
		for _, op := range ops {
			if keep == nil || keep[op] {
				mine = append(mine, op)
				if r.Ops[op].Reader() {
					s.readersLeft[s.readVal[op]]++
				}
			}
		}
		s.sessions = append(s.sessions, mine)
	}
	s.pos = make([]int32, len(s.sessions))
	s.cur = slices.Clone(s.initial)
	for p := range s.sessions {
		s.hash[0] ^= zobrist(0, uint64(p)<<32)
		s.hash[1] ^= zobrist(1, uint64(p)<<32)
	}
	for k, v := range s.cur {
		s.hash[0] ^= zobrist(2, uint64(k)<<32|uint64(v))
		s.hash[1] ^= zobrist(3, uint64(k)<<32|uint64(v))
	}
	return s
}

func zobrist(seed, x uint64) uint64 {
	x += 0x9e3779b97f4a7c15 * (seed + 1)
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s *search) setPos(p, to int32) {
	from := uint64(p)<<32 | uint64(uint32(s.pos[p]))
	dest := uint64(p)<<32 | uint64(uint32(to))
	s.hash[0] ^= zobrist(0, from) ^ zobrist(0, dest)
	s.hash[1] ^= zobrist(1, from) ^ zobrist(1, dest)
	s.pos[p] = to
}

func (s *search) setCur(k, v int32) {
	from := uint64(k)<<32 | uint64(uint32(s.cur[k]))
	dest := uint64(k)<<32 | uint64(uint32(v))
	s.hash[0] ^= zobrist(2, from) ^ zobrist(2, dest)
	s.hash[1] ^= zobrist(3, from) ^ zobrist(3, dest)
	s.cur[k] = v
}

func (s *search) head(p int32) int32 {
	if int(s.pos[p]) == len(s.sessions[p]) {
		return reghist.None
	}
	return s.sessions[p][s.pos[p]]
}

// can reports whether process p's next operation can go now; crashed
// operations may also be skipped when values repeat.
func (s *search) can(op int32) bool {
	o := &s.r.Ops[op]
	k := o.Key
	if o.Reader() && s.cur[k] != s.readVal[op] {
		return false
	}
	if o.Writer() && s.unique {
		// Overwriting a value some read has still to see dooms that read.
		left := s.readersLeft[s.cur[k]]
		if o.Reader() {
			left--
		}
		if left > 0 {
			return false
		}
	}
	return true
}

// apply places p's next operation (or skips it) and logs how to undo it.
func (s *search) apply(p int32, skip bool) {
	op := s.head(p)
	u := undo{proc: p, key: -1, skipped: skip}
	if !skip {
		o := &s.r.Ops[op]
		if o.Reader() {
			u.readOf = s.readVal[op]
			s.readersLeft[u.readOf]--
		}
		if o.Writer() {
			u.key, u.prev = o.Key, s.cur[o.Key]
			s.setCur(o.Key, s.writeVal[op])
		}
		s.placed++
	}
	s.setPos(p, s.pos[p]+1)
	s.log = append(s.log, u)
}

func (s *search) undoTo(n int) {
	for len(s.log) > n {
		u := s.log[len(s.log)-1]
		s.log = s.log[:len(s.log)-1]
		s.setPos(u.proc, s.pos[u.proc]-1)
		if u.key >= 0 {
			s.setCur(u.key, u.prev)
		}
		if u.readOf != 0 {
			s.readersLeft[u.readOf]++
		}
		if !u.skipped {
			s.placed--
		}
	}
}

// closure places every read that can go now; reads change nothing, so
// placing them early never loses an order.
func (s *search) closure() {
	for progress := true; progress; {
		progress = false
		for p := range s.sessions {
			for {
				op := s.head(int32(p))
				if op == reghist.None || s.r.Ops[op].Kind != reghist.Read || !s.can(op) {
					break
				}
				s.apply(int32(p), false)
				progress = true
			}
		}
	}
}

func (s *search) done() bool {
	for p := range s.sessions {
		if int(s.pos[p]) < len(s.sessions[p]) {
			return false
		}
	}
	return true
}

func (s *search) moves(buf []move) []move {
	buf = buf[:0]
	for p := range s.sessions {
		op := s.head(int32(p))
		if op == reghist.None {
			continue
		}
		if s.can(op) {
			buf = append(buf, move{proc: int32(p)})
		}
		if !s.unique && s.r.Ops[op].Src.Type != history.OK {
			buf = append(buf, move{proc: int32(p), skip: true})
		}
	}
	slices.SortStableFunc(buf, func(a, b move) int {
		return s.r.Ops[s.head(a.proc)].Src.ID - s.r.Ops[s.head(b.proc)].Src.ID
	})
	return buf
}

type frame struct {
	logStart int
	moves    []move
	next     int
	hash     [2]uint64
}

// run searches depth first; it reports whether an order exists.
func (s *search) run(ctx context.Context) (bool, error) {
	var stack []frame
	enter := func(logStart int) bool {
		s.closure()
		s.explored++
		if s.placed > s.deepest {
			s.deepest = s.placed
			s.deepestPos = slices.Clone(s.pos)
		}
		if _, bad := s.failed[s.hash]; bad {
			s.undoTo(logStart)
			return false
		}
		stack = append(stack, frame{logStart: logStart, moves: s.moves(nil), hash: s.hash})
		return true
	}
	enter(0)
	for len(stack) > 0 {
		if s.explored&0x3f == 0 { // a state can take milliseconds on a long history
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			checker.ReportProgress(ctx, checker.Step{Model: checker.Sequential, Unit: "placed operation", Done: s.deepest, Total: len(s.r.Ops)})
		}
		f := &stack[len(stack)-1]
		if s.done() {
			return true, nil
		}
		if f.next == len(f.moves) {
			s.failed[f.hash] = struct{}{}
			if len(s.failed) > s.maxFailed {
				return false, errMemory
			}
			s.undoTo(f.logStart)
			stack = stack[:len(stack)-1]
			continue
		}
		m := f.moves[f.next]
		f.next++
		mark := len(s.log)
		s.apply(m.proc, m.skip)
		enter(mark)
	}
	return false, nil
}

// deepestHeads returns the next operation of every unfinished process at
// the furthest point the search reached.
func (s *search) deepestHeads() []int32 {
	var out []int32
	for p, at := range s.deepestPos {
		if int(at) < len(s.sessions[p]) {
			out = append(out, s.sessions[p][at])
		}
	}
	return out
}

// coreLimit bounds the histories whose violations are shrunk to a core.
const coreLimit = 64

// minimalCore shrinks an impossible history, when it has at most
// coreLimit operations, by dropping reads (and then writes nobody left
// reads) while it stays impossible. It returns nil for larger histories.
func minimalCore(ctx context.Context, r *reghist.History) []int32 {
	if len(r.Ops) > coreLimit {
		return nil
	}
	keep := make([]bool, len(r.Ops))
	for i := range keep {
		keep[i] = true
	}
	impossible := func() bool {
		s := newSubsetSearch(r, keep, 64<<20)
		found, err := s.run(ctx)
		return err == nil && !found
	}
	readBy := func(w int32) bool {
		for i := range r.Ops {
			if keep[i] && r.Ops[i].Reads == w {
				return true
			}
		}
		return false
	}
	passes := 2
	if !r.Unique {
		passes = 1 // without unique values, which write a read saw is unknown
	}
	for pass := 0; pass < passes; pass++ {
		for i := range r.Ops {
			o := &r.Ops[i]
			if !keep[i] || (pass == 0 && o.Kind != reghist.Read) || (pass == 1 && (o.Kind != reghist.Write || readBy(int32(i)))) {
				continue
			}
			keep[i] = false
			if !impossible() {
				keep[i] = true
			}
		}
	}
	var core []int32
	for i, k := range keep {
		if k {
			core = append(core, int32(i))
		}
	}
	return core
}
