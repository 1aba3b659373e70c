package linearizable

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"consist/history"
)

// EngineReadMapping is the name Stats.Engine reports for objects decided
// by the read-mapping engine (see readMapping); objects it does not
// qualify for are searched (Engine), and a check that used both reports
// "read-mapping+wgl-search".
const EngineReadMapping = "read-mapping"

// The read-mapping engine decides, in O(n log n) time and O(n) memory, the
// linearizability of a register (read, write, cas) whose written values are
// unique: no two writes or cas write the same value, and none writes the
// initial value. Every read — and every cas, as a read of its expected
// value — then names the one write it observed, its read-mapping, and the
// question becomes one of ordering writes.
//
// Definitions (Gibbons & Korach, "Testing shared memories", SIAM J. Comput.
// 26(4):1208-1244, 1997, who decide the read/write case with a known
// read-mapping in O(n log n); the zones as Golab, Li & Shah, "Analyzing
// consistency properties for fun and profit", PODC 2011, restate them for
// unique writes): the cluster of a write is the write and the
// reads that observed it. In any linearization a cluster is contiguous —
// its write, then its reads — so a linearization is an order of the
// clusters, and it respects real time exactly when, for clusters C placed
// before D, no operation of D completed before an operation of C began:
// min return(D) > max call(C). Write f(C) for a cluster's least return and
// s(C) for its greatest call; Gibbons & Korach's zone conditions (forward
// zones [f, s] do not overlap, no backward zone lies inside a forward one)
// are the statement that no two clusters each need to precede the other.
//
// consist extends this to cas and crashed operations:
//
//   - A crashed (info) write or cas took effect exactly when some kept
//     operation observed its value; those are kept, with no return (they may
//     take effect at any time after their call), and the others are dropped:
//     a write nobody observed can always be left out. Failed operations
//     and crashed reads are dropped, as everywhere in this package.
//   - A cas from a to b observed a and wrote b, so b's cluster comes right
//     after a's: cas ties clusters into chains, which must be contiguous
//     and in chain order. Two cas that both took effect from the same a
//     are a lost update; cas that observe each other in a ring are
//     impossible. A chain is placed as a unit, with f and s taken over
//     all its clusters, and its own order checked the same way.
//   - The initial value is the cluster of a write before every operation.
//
// The order: chains sorted by min(f, s). When no two chains each need to
// precede the other, that sort is a linear extension of "C must precede D
// when f(C) < s(D)" (if f(C) < s(D) and not f(D) < s(C), then min(f(C),
// s(C)) < min(f(D), s(D))), so a single pass over the sorted chains either
// places them all or finds two that each need to come first.
//
// Nothing is taken on trust. A valid verdict is backed by an explicit
// linearization, replayed against the register and checked against real
// time before it is returned. An invalid verdict is backed by a handful of
// operations, closed under "what they observed", that on their own have no
// linearization, as the search confirms; those operations are the witness.
// Should either check ever fail, the object is handed to the search.
//
// The engine's memory is bounded by the check's budget and it honours the
// context; either limit ends in Unknown.
type readMapping struct {
	p *partition
	// n is the number of operations; index n is the pseudo-write of the
	// initial value, called and returned before every operation.
	n    int
	kind []registerOp
	// inv and ret are call and return positions; ret is never for
	// crashed operations, -1 for the pseudo-write, whose inv is -1 too.
	inv, ret []int
	ok       []bool
	// src is, for a read or cas, the operation that wrote the value it
	// observed: n for the initial value, rmNone when nothing did.
	src []int32
	// kept marks the operations every linearization contains: the ok
	// ones and the crashed writes and cas whose value was observed.
	kept []bool
	// conflict is the contradiction found, for the explanation.
	conflict *rmConflict
}

// rmNone marks the absence of an operation.
const rmNone int32 = -1

// rmBytesPerOp is the engine's memory per operation, an upper estimate
// charged to the budget before it allocates.
const rmBytesPerOp = 256

// errNotUnique says a partition does not qualify for the read-mapping
// engine; the search decides it.
var errNotUnique = errors.New("not a register with unique written values")

// newReadMapping prepares p for the engine, or returns an error wrapping
// errNotUnique when p is not a register with unique written values.
func newReadMapping(p *partition, obj object, initial any) (*readMapping, error) {
	if obj != register {
		return nil, fmt.Errorf("%w: not a register", errNotUnique)
	}
	n := len(p.ops)
	rm := &readMapping{
		p: p, n: n,
		kind: make([]registerOp, n+1), inv: make([]int, n+1), ret: make([]int, n+1),
		ok: make([]bool, n+1), src: make([]int32, n+1), kept: make([]bool, n+1),
	}
	rm.kind[n], rm.inv[n], rm.ret[n], rm.ok[n], rm.src[n] = regWrite, -1, -1, true, rmNone
	writers := newValueTable(n)
	writers.insert(initial, int32(n))
	for i, op := range p.ops {
		rm.inv[i], rm.ret[i], rm.ok[i], rm.src[i] = op.Invoke, op.Complete, op.Type == history.OK, rmNone
		if !rm.ok[i] {
			rm.ret[i] = never
		}
		var w any
		switch op.F {
		case "read":
			rm.kind[i] = regRead
			continue
		case "write":
			rm.kind[i], w = regWrite, op.Input
		case "cas":
			rm.kind[i], w = regCAS, op.Input.([]any)[1]
		default:
			return nil, fmt.Errorf("%w: operation %s", errNotUnique, op.F)
		}
		if prev, fresh := writers.insert(w, int32(i)); !fresh {
			if prev == int32(n) {
				return nil, fmt.Errorf("%w: %s writes the initial value", errNotUnique, history.Describe(w))
			}
			return nil, fmt.Errorf("%w: %s is written more than once", errNotUnique, history.Describe(w))
		}
	}
	for i, op := range p.ops {
		if v, ok := observed(op); ok {
			if w, found := writers.lookup(v); found {
				rm.src[i] = w
			}
		}
	}
	return rm, nil
}

// reads reports whether operation i observes a value (a read or a cas).
func (rm *readMapping) reads(i int) bool { return i < rm.n && rm.kind[i] != regWrite }

// keep marks the operations every linearization contains: the ok ones,
// then, transitively, the crashed writes and cas whose value a kept
// operation observed.
func (rm *readMapping) keep() {
	rm.kept[rm.n] = true
	var stack []int32
	for i := range rm.n {
		if rm.ok[i] {
			rm.kept[i] = true
			stack = append(stack, int32(i))
		}
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !rm.reads(int(i)) {
			continue
		}
		if w := rm.src[i]; w != rmNone && !rm.kept[w] {
			rm.kept[w] = true
			stack = append(stack, w)
		}
	}
}

// rmDecision is what the engine concluded about one object.
type rmDecision struct {
	rm    *readMapping
	valid bool
	// order is the linearization backing a valid verdict (operation
	// indices, the pseudo-write left out).
	order []int32
	// conflict is the witness of an invalid one.
	conflict *rmConflict
}

// decide runs the engine on one object. It returns errNotUnique (wrapped)
// when the object does not qualify, errMemory or errTimeout when a limit
// ended it, and an error wrapping errUnconfirmed in the should-not-happen
// case that its own answer failed its check; the caller then searches.
func decideReadMapping(ctx context.Context, p *partition, obj object, initial any, mem *share) (rmDecision, error) {
	cost := int64(len(p.ops)+1) * rmBytesPerOp
	if !mem.take(cost) {
		return rmDecision{}, errMemory
	}
	defer mem.give(cost)
	rm, err := newReadMapping(p, obj, initial)
	if err != nil {
		return rmDecision{}, err
	}
	rm.keep()
	if err := ctx.Err(); err != nil {
		return rmDecision{}, errTimeout
	}
	if c := rm.directConflict(); c != nil {
		return rm.confirmed(ctx, c, initial)
	}
	ord, c := rm.orderClusters(ctx)
	if err := ctx.Err(); err != nil {
		return rmDecision{}, errTimeout
	}
	if c != nil {
		return rm.confirmed(ctx, c, initial)
	}
	lin := rm.linearization(ord)
	if err := rm.verify(lin); err != nil {
		return rmDecision{}, err
	}
	return rmDecision{rm: rm, valid: true, order: lin}, nil
}

// errUnconfirmed marks an answer of the engine that failed its own check.
var errUnconfirmed = errors.New("read-mapping answer not confirmed")

// verify replays lin against the register and checks it against real time
// and for completeness: every ok operation in it, once.
func (rm *readMapping) verify(lin []int32) error {
	state := int32(rm.n)
	maxInv := -1
	seen := make([]bool, rm.n)
	okCount := 0
	for _, i := range lin {
		if seen[i] {
			return fmt.Errorf("%w: operation %d placed twice", errUnconfirmed, i)
		}
		seen[i] = true
		if rm.ok[i] {
			okCount++
		}
		if rm.ret[i] < maxInv {
			return fmt.Errorf("%w: operation %d placed after one that began after it returned", errUnconfirmed, i)
		}
		maxInv = max(maxInv, rm.inv[i])
		switch rm.kind[i] {
		case regRead:
			if rm.src[i] != state {
				return fmt.Errorf("%w: read %d placed where it cannot see its value", errUnconfirmed, i)
			}
		case regWrite:
			state = i
		case regCAS:
			if rm.src[i] != state {
				return fmt.Errorf("%w: cas %d placed where it cannot find its value", errUnconfirmed, i)
			}
			state = i
		}
	}
	want := 0
	for i := range rm.n {
		if rm.ok[i] {
			want++
		}
	}
	if okCount != want {
		return fmt.Errorf("%w: %d of %d ok operations placed", errUnconfirmed, okCount, want)
	}
	return nil
}

// valueTable maps values to operation indices under history.Canonical's
// equality, without building canonical strings for integers and strings,
// the values histories nearly always hold.
type valueTable struct {
	ints  map[int64]int32
	strs  map[string]int32
	other map[string]int32
}

func newValueTable(n int) *valueTable {
	return &valueTable{ints: make(map[int64]int32, n), strs: map[string]int32{}, other: map[string]int32{}}
}

// slot returns the map and key under which v is stored.
func (t *valueTable) slot(v any) (ints bool, i int64, m map[string]int32, s string) {
	switch v := v.(type) {
	case int64:
		return true, v, nil, ""
	case string:
		return false, 0, t.strs, v
	}
	c := history.Canonical(v)
	if i, err := strconv.ParseInt(c, 10, 64); err == nil {
		return true, i, nil, ""
	}
	if len(c) > 0 && c[0] == '"' {
		if s, err := strconv.Unquote(c); err == nil {
			return false, 0, t.strs, s
		}
	}
	return false, 0, t.other, c
}

// insert stores v's operation unless v is present; it returns the
// operation stored under v and whether it was this one.
func (t *valueTable) insert(v any, op int32) (int32, bool) {
	isInt, i, m, s := t.slot(v)
	if isInt {
		if prev, ok := t.ints[i]; ok {
			return prev, false
		}
		t.ints[i] = op
		return op, true
	}
	if prev, ok := m[s]; ok {
		return prev, false
	}
	m[s] = op
	return op, true
}

func (t *valueTable) lookup(v any) (int32, bool) {
	isInt, i, m, s := t.slot(v)
	if isInt {
		op, ok := t.ints[i]
		return op, ok
	}
	op, ok := m[s]
	return op, ok
}
