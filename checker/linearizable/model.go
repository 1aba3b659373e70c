package linearizable

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"consist/checker"
	"consist/history"
)

// Model is the sequential specification of a data type of the caller's own
// (a queue, a key-value map, a lock service ...), in the spirit of
// Porcupine's Model: CheckModel decides whether a history of operations on
// it is linearizable, by the same Wing & Gong search with Lowe's
// memoisation that decides consist's own objects (see search), and reports
// a violation with the operations that show it.
//
// S is the type of the object's state. Step must be a pure function: it
// must not change the state it is given (copy a slice or map before
// changing it, and return the copy).
type Model[S any] struct {
	// Init returns the state of an object before any operation.
	Init func() S
	// Step applies op to state: ok reports whether op could have
	// happened in that state, with the result it returned, and next is
	// the state after it. op.F, op.Key, op.Input (the invocation's
	// value) and op.Output (the completion's) say what op did. An
	// operation whose outcome is unknown (op.Type is history.Info: it
	// crashed or timed out) has no output; Step must then allow any
	// result and return the state as if op took effect.
	Step func(state S, op *history.Op) (ok bool, next S)
	// Equal reports whether two states are the same. When nil, states
	// are compared with ==, and S must then be comparable.
	Equal func(a, b S) bool
	// Hash, optional, returns a hash of a state; equal states must have
	// equal hashes. Give it with Equal for a data type with many states:
	// without it, each new state is compared with every state seen.
	Hash func(S) uint64
	// DescribeOperation, optional, renders an operation for
	// explanations, e.g. "dequeue -> 3"; by default its function, key,
	// input and output, as in `put of "a" "hello"` and `get of "a" -> "hello"`.
	DescribeOperation func(op *history.Op) string
	// DescribeState, optional, renders a state for explanations; by
	// default as JSON (history.Describe), or with fmt's %v when the state
	// has no JSON form.
	DescribeState func(S) string
	// WholeHistory checks every operation as acting on one object. By
	// default the operations of each key (history.Op.Key) are checked
	// apart, since linearizability is local (Herlihy & Wing 1990,
	// Theorem 1) — which is right whenever an operation acts on the one
	// key it names. Set it when operations span keys.
	WholeHistory bool
}

// CheckModel decides whether h is linearizable (Herlihy & Wing, TOPLAS
// 12(3), 1990; see the package documentation) as a history of objects of
// the data type m specifies. Operations that failed are left out; those
// that crashed (info) may take effect at any point after their invocation,
// or never. Like Check it honours opts.Timeout, opts.MaxMemory and ctx
// with an Unknown verdict, and reports a violation as an anomaly of kind
// KindNonlinearizable naming, by index, the operation no order of the
// history gets past, the last operation of the longest legal order before
// it, and the operations pending beside it.
func CheckModel[S any](ctx context.Context, h *history.History, m Model[S], opts checker.Options) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.Linearizable, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()
	if m.Init == nil || m.Step == nil {
		res.Verdict, res.Reason = checker.Unknown, "the model has no Init or no Step function: give both"
		return res
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	parts := modelPartitions(h, m.WholeHistory)
	mem := newBudget(opts.MemoryBudget())
	type found struct {
		outcome
		sp  *modelSpec[S]
		err error
	}
	outs := make([]found, len(parts))
	runParallel(len(parts), func(i int) {
		own := &share{of: mem}
		sp := &modelSpec[S]{m: m, ops: parts[i].ops, mem: own, memo: map[[2]int32]int32{}, byHash: map[uint64][]int32{}, byValue: map[any]int32{}}
		ops := make([]operation, len(parts[i].ops))
		for j, op := range parts[i].ops {
			ops[j] = operation{call: op.Invoke, ret: op.Complete, optional: op.Type != history.OK}
			if ops[j].optional {
				ops[j].ret = never
			}
		}
		var o outcome
		var err error
		if _, ok := sp.intern(m.Init()); ok {
			o, err = search(ctx, sp, ops, own, 0)
		} else if sp.err == nil {
			err = errMemory
		}
		switch {
		case sp.err != nil:
			err = sp.err
		case err == nil && !o.ok && own.refused:
			err = errMemory
		case errors.Is(err, errTimeout) && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
			err = fmt.Errorf("cancelled: %w", ctx.Err())
		}
		outs[i] = found{o, sp, err}
	})
	var undecided []string
	for i, o := range outs {
		res.Stats.Explored += o.explored
		switch {
		case o.err != nil:
			undecided = append(undecided, fmt.Sprintf("%s %v", parts[i].name(), o.err))
		case !o.ok:
			res.Anomalies = append(res.Anomalies, o.sp.explain(h, parts[i], o.outcome))
		}
	}
	settleVerdict(&res, undecided, opts)
	return res
}

// modelPartitions splits h's operations that can constrain an order (all
// but the failed) by key, or keeps them together.
func modelPartitions(h *history.History, whole bool) []*partition {
	byKey := map[string]*partition{}
	var parts []*partition
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Type == history.Fail {
			continue
		}
		k := ""
		if !whole {
			k = history.Canonical(op.Key)
		}
		p, ok := byKey[k]
		if !ok {
			p = &partition{}
			if !whole {
				p.keys = []any{op.Key}
			}
			byKey[k] = p
			parts = append(parts, p)
		}
		p.ops = append(p.ops, op)
	}
	return parts
}

// modelSpec adapts a Model to the search: states are interned to int32,
// and each (state, operation) step is computed once.
type modelSpec[S any] struct {
	m       Model[S]
	ops     []*history.Op
	states  []S
	byHash  map[uint64][]int32 // with Hash, or Equal alone (all in bucket 0)
	byValue map[any]int32      // with neither: states compared by ==
	memo    map[[2]int32]int32 // (state, op) -> next state, or -1
	mem     *share
	// err is a fault of the model found during the search (a state that
	// cannot be compared); it makes the verdict Unknown.
	err error
}

func (s *modelSpec[S]) init() int32 {
	id, _ := s.intern(s.m.Init())
	return id
}

func (s *modelSpec[S]) step(state int32, op int) (int32, bool) {
	key := [2]int32{state, int32(op)}
	if next, ok := s.memo[key]; ok {
		return next, next >= 0
	}
	if !s.mem.take(48) { // the memo entry
		return state, false
	}
	ok, next := s.m.Step(s.states[state], s.ops[op])
	id := int32(-1)
	if ok {
		var fits bool
		if id, fits = s.intern(next); !fits {
			return state, false // out of memory or a fault: the share or err says so
		}
	}
	s.memo[key] = id
	return id, id >= 0
}

// intern returns the id of state, adding it if it is new; false when the
// memory budget is spent or the state cannot be compared.
func (s *modelSpec[S]) intern(state S) (int32, bool) {
	switch {
	case s.m.Equal == nil && s.m.Hash == nil:
		v := any(state)
		if v != nil && !reflect.ValueOf(v).Comparable() {
			if s.err == nil {
				s.err = fmt.Errorf("the model's states (%T) cannot be compared with ==: give the model an Equal function", v)
			}
			return -1, false
		}
		if id, ok := s.byValue[v]; ok {
			return id, true
		}
		if !s.mem.take(96) {
			return -1, false
		}
		id := int32(len(s.states))
		s.states = append(s.states, state)
		s.byValue[v] = id
		return id, true
	}
	var h uint64
	if s.m.Hash != nil {
		h = s.m.Hash(state)
	}
	for _, id := range s.byHash[h] {
		if s.equal(s.states[id], state) {
			return id, true
		}
	}
	if !s.mem.take(96) {
		return -1, false
	}
	id := int32(len(s.states))
	s.states = append(s.states, state)
	s.byHash[h] = append(s.byHash[h], id)
	return id, true
}

func (s *modelSpec[S]) equal(a, b S) bool {
	if s.m.Equal != nil {
		return s.m.Equal(a, b)
	}
	return any(a) == any(b)
}

func (s *modelSpec[S]) describe(state int32) string {
	if s.m.DescribeState != nil {
		return s.m.DescribeState(s.states[state])
	}
	if v, err := history.NormalizeGo(s.states[state]); err == nil {
		return history.Describe(v)
	}
	return fmt.Sprintf("%v", s.states[state])
}

// describeOp renders an operation with its process: "process 1's
// dequeue -> 3"; the witness adds where it is.
func (s *modelSpec[S]) describeOp(op *history.Op) string {
	var what string
	if s.m.DescribeOperation != nil {
		what = s.m.DescribeOperation(op)
	} else {
		what = op.F
		if op.Key != nil {
			what += " of " + history.Describe(op.Key)
		}
		if op.Input != nil {
			what += " " + history.Describe(op.Input)
		}
		if op.Type == history.OK && op.HasOutput && (op.Output != nil || op.Input == nil) {
			what += " -> " + history.Describe(op.Output)
		}
	}
	if op.Type == history.Info {
		what += " (crashed)"
	}
	return fmt.Sprintf("process %v's %s", op.Process, what)
}

// explain turns a failed search into an anomaly, as furthest does for
// consist's own objects.
func (s *modelSpec[S]) explain(h *history.History, p *partition, o outcome) checker.Anomaly {
	f := p.ops[o.blocker]
	w := checker.NewWitness(h)
	w.Add(f)
	var key any
	if len(p.keys) == 1 {
		key = p.keys[0]
	}
	var last checker.Phrase
	if n := len(o.prefix); n > 0 {
		prev := p.ops[o.prefix[n-1]]
		last = checker.Say(", the last of them %s (%s)", s.describeOp(prev), w.At(prev))
	}
	linearized := map[int]bool{}
	for _, i := range o.prefix {
		linearized[i] = true
	}
	var pending []checker.Phrase
	for i, op := range p.ops {
		if op == f || linearized[i] || op.Invoke > f.Complete {
			continue
		}
		if len(pending) == 3 {
			pending = append(pending, checker.Say("..."))
			break
		}
		pending = append(pending, checker.Say("%s (%s)", s.describeOp(op), w.At(op)))
	}
	beside := checker.Say("no other operation was pending")
	if len(pending) > 0 {
		beside = checker.Say("none of the operations pending beside it (%s) can be ordered to allow it", checker.Join(pending, "; "))
	}
	where := ""
	if key != nil {
		where = " of " + checker.KeyName(key)
	}
	return w.Anomaly(checker.Nonlinearizable, key, checker.Say("%s (%s) cannot be placed in any order consistent with real time: the longest legal order of the operations%s before it has %s%s, leaving the state %s, and %s.",
		s.describeOp(f), w.At(f), where, count(len(o.prefix), "operation"), last, s.describe(o.state), beside))
}

// count renders n things: "1 operation", "2 operations".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
