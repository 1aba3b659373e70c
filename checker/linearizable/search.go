package linearizable

import (
	"cmp"
	"context"
	"errors"
	"math"
	"slices"
	"sync/atomic"
)

// spec is a sequential specification over interned states: every state is
// an int32 the spec hands out, so the search compares and hashes states in
// O(1). Step applies the partition's operation op to state.
type spec interface {
	init() int32
	step(state int32, op int) (next int32, ok bool)
	// describe renders a state for explanations.
	describe(state int32) string
}

// operation is what the search knows of one operation: when it was invoked
// and when it returned, as positions in the history, and whether it may
// never have taken effect (crashed). The spec knows what it does.
type operation struct {
	call, ret int
	optional  bool
}

// never is the return position of a crashed operation: it may take effect
// at any time after its call.
const never = math.MaxInt

var (
	errTimeout = errors.New("timed out")
	errMemory  = errors.New("memory budget exhausted")
	// errSteps ends a search that used up its step limit; the caller
	// retries it later without one.
	errSteps = errors.New("step limit reached")
)

// budget is memory shared by the searches of one check.
type budget struct {
	left atomic.Int64
}

func newBudget(bytes int64) *budget {
	b := &budget{}
	b.left.Store(bytes)
	return b
}

// share is one object's use of the check's budget. It remembers a refusal,
// so that a search that failed for want of memory is never mistaken for a
// violation, whatever other objects give back meanwhile. It is used by one
// goroutine.
type share struct {
	of      *budget
	refused bool
}

func (s *share) take(n int64) bool {
	if s.of.left.Add(-n) >= 0 {
		return true
	}
	s.of.left.Add(n)
	s.refused = true
	return false
}

func (s *share) give(n int64) { s.of.left.Add(n) }

// outcome is what a search found.
type outcome struct {
	ok bool
	// blocker is the operation no linearization got past: in the
	// configuration that reached furthest into the history, the earliest
	// returning operation that could not be linearized. -1 when ok.
	blocker int
	// prefix is that configuration's linearized operations, in order,
	// and state the spec's state after them.
	prefix []int
	state  int32
	// explored counts configurations visited.
	explored int64
}

// search decides whether ops, under sp, have a linearization, by the
// Wing & Gong algorithm with Lowe's memoisation of visited configurations
// (G. Lowe, "Testing for linearizability", Concurrency and Computation
// 29(4), 2017): a depth-first search that linearizes, in turn, each pending
// operation whose call precedes the first pending return, and backtracks
// when the first pending return cannot be passed. A configuration (the set
// of linearized operations and the state) seen before is not explored
// again. Crashed operations have no return: they may be linearized at any
// point after their call, or never.
//
// A positive maxSteps bounds the configurations visited; the search then
// gives up with errSteps.
func search(ctx context.Context, sp spec, ops []operation, mem *share, maxSteps int64) (outcome, error) {
	n := len(ops)
	l := newEventList(ops)
	words := (n + 63) / 64
	linearized := make([]uint64, words)
	seen := newConfigCache(words, mem)
	defer seen.release()
	zobrist := make([]uint64, n)
	rng := uint64(0x9e3779b97f4a7c15)
	for i := range zobrist {
		rng = splitmix(rng)
		zobrist[i] = rng
	}

	type frame struct {
		node  int32
		state int32
	}
	var stack []frame
	required := 0
	for _, op := range ops {
		if !op.optional {
			required++
		}
	}
	state := sp.init()
	var hash uint64
	best := outcome{blocker: -1}
	bestRet := -1
	var steps int64
	cur := l.next[head]
	for {
		if required == 0 {
			best = outcome{ok: true, blocker: -1, state: state, explored: steps}
			for _, f := range stack {
				best.prefix = append(best.prefix, int(l.op[f.node]))
			}
			return best, nil
		}
		steps++
		if steps&1023 == 0 {
			if ctx.Err() != nil {
				best.explored = steps
				return best, errTimeout
			}
			if maxSteps > 0 && steps >= maxSteps {
				best.explored = steps
				return best, errSteps
			}
		}
		if cur != end && l.isCall[cur] {
			op := int(l.op[cur])
			next, ok := sp.step(state, op)
			if ok {
				linearized[op>>6] |= 1 << (op & 63)
				h := hash ^ zobrist[op]
				fresh, err := seen.add(h^mixState(next), linearized, next)
				if err != nil {
					best.explored = steps
					return best, err
				}
				if fresh {
					stack = append(stack, frame{cur, state})
					state, hash = next, h
					l.lift(cur)
					if !ops[op].optional {
						required--
					}
					cur = l.next[head]
					continue
				}
				linearized[op>>6] &^= 1 << (op & 63)
			}
			cur = l.next[cur]
			continue
		}
		// cur is the first pending return (or, with only crashed calls
		// pending, the end): this configuration cannot go further.
		if cur != end {
			op := int(l.op[cur])
			if ops[op].ret > bestRet {
				bestRet = ops[op].ret
				best.blocker, best.state = op, state
				best.prefix = best.prefix[:0]
				for _, f := range stack {
					best.prefix = append(best.prefix, int(l.op[f.node]))
				}
			}
		}
		if len(stack) == 0 {
			best.explored = steps
			return best, nil
		}
		top := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		op := int(l.op[top.node])
		l.unlift(top.node)
		linearized[op>>6] &^= 1 << (op & 63)
		hash ^= zobrist[op]
		state = top.state
		if !ops[op].optional {
			required++
		}
		cur = l.next[top.node]
	}
}

// eventList is the doubly linked list of pending calls and returns, in
// history order, in index form: node 0 is the head sentinel and end marks
// the end.
type eventList struct {
	next, prev []int32
	op         []int32
	isCall     []bool
	match      []int32 // a call's return node, or end for a crashed call
}

const (
	head int32 = 0
	end  int32 = -1
)

func newEventList(ops []operation) *eventList {
	type ev struct {
		pos    int
		op     int
		isCall bool
	}
	evs := make([]ev, 0, 2*len(ops))
	for i, op := range ops {
		evs = append(evs, ev{op.call, i, true})
		if op.ret != never {
			evs = append(evs, ev{op.ret, i, false})
		}
	}
	slices.SortFunc(evs, func(a, b ev) int { return cmp.Compare(a.pos, b.pos) })
	m := len(evs) + 1
	l := &eventList{
		next: make([]int32, m), prev: make([]int32, m),
		op: make([]int32, m), isCall: make([]bool, m), match: make([]int32, m),
	}
	retNode := make([]int32, len(ops))
	for i := range retNode {
		retNode[i] = end
	}
	for i, e := range evs {
		node := int32(i + 1)
		l.op[node], l.isCall[node] = int32(e.op), e.isCall
		l.prev[node] = node - 1
		l.next[node] = node + 1
		if !e.isCall {
			retNode[e.op] = node
		}
	}
	l.next[m-1] = end
	l.next[head] = end
	if m > 1 {
		l.next[head] = 1
	}
	for node := int32(1); node < int32(m); node++ {
		if l.isCall[node] {
			l.match[node] = retNode[l.op[node]]
		}
	}
	return l
}

func (l *eventList) unlink(n int32) {
	p, nx := l.prev[n], l.next[n]
	l.next[p] = nx
	if nx != end {
		l.prev[nx] = p
	}
}

func (l *eventList) relink(n int32) {
	p, nx := l.prev[n], l.next[n]
	l.next[p] = n
	if nx != end {
		l.prev[nx] = n
	}
}

// lift removes a call and its return from the list; unlift undoes the most
// recent lift.
func (l *eventList) lift(call int32) {
	l.unlink(call)
	if r := l.match[call]; r != end {
		l.unlink(r)
	}
}

func (l *eventList) unlift(call int32) {
	if r := l.match[call]; r != end {
		l.relink(r)
	}
	l.relink(call)
}

// configCache remembers visited configurations (linearized set, state).
// Sets live in an arena of fixed-size chunks, so that the cache grows by
// a chunk at a time and never copies itself into an array larger by a
// quarter, which would make the process's memory jump by tens of
// megabytes between two samples of the memory budget's watch; entries
// with the same hash are chained.
type configCache struct {
	words  int
	heads  map[uint64]int32
	chunks [][]uint64
	// perChunk is the number of sets a chunk holds.
	perChunk int
	states   []int32
	chain    []int32
	mem      *share
	taken    int64
}

// chunkBytes is about the size of an arena chunk.
const chunkBytes = 1 << 20

// set returns entry e's set.
func (c *configCache) set(e int32) []uint64 {
	off := (int(e) % c.perChunk) * c.words
	return c.chunks[int(e)/c.perChunk][off : off+c.words]
}

// release returns the cache's memory to the budget once the search that
// used it is over.
func (c *configCache) release() { c.mem.give(c.taken) }

func newConfigCache(words int, mem *share) *configCache {
	return &configCache{words: words, heads: make(map[uint64]int32), mem: mem, perChunk: max(1, chunkBytes/8/max(words, 1))}
}

// add records the configuration and reports whether it was new.
func (c *configCache) add(h uint64, set []uint64, state int32) (bool, error) {
	first, ok := c.heads[h]
	if ok {
		for e := first; e >= 0; e = c.chain[e] {
			if c.states[e] == state && equalWords(c.set(e), set) {
				return false, nil
			}
		}
	} else {
		first = -1
	}
	// An entry costs its set, its state and chain link, and a map slot.
	cost := int64(c.words*8 + 8 + 48)
	if !c.mem.take(cost) {
		return false, errMemory
	}
	c.taken += cost
	e := int32(len(c.states))
	if n := len(c.chunks); n == 0 || len(c.chunks[n-1]) == c.perChunk*c.words {
		c.chunks = append(c.chunks, make([]uint64, 0, c.perChunk*c.words))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, set...)
	c.states = append(c.states, state)
	c.chain = append(c.chain, first)
	c.heads[h] = e
	return true, nil
}

func equalWords(a, b []uint64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func mixState(s int32) uint64 { return splitmix(uint64(uint32(s)) + 0x51ed270b) }
