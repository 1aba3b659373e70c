// Package oracle is a test oracle: a brute-force reference implementation
// of consist's register consistency models, written straight from their
// definitions, against which the fast checkers (checker/linearizable,
// checker/sequential, checker/causal, checker/session) are compared on
// tiny histories.
//
// The definitions are those of consist's model specification: the
// normalised register history (which operations are kept), session order
// so, reads-from wr, the causal order co = (so ∪ wr)+, views, and for each
// model the orders that must exist. Linearizability is Herlihy & Wing's:
// a total order of the ok operations and of any crashed writes, respecting
// real time, legal for every read.
//
// Nothing here is clever. Every model is decided by enumerating the total
// orders the definition quantifies over (sequential orders, per-process
// views, arbitrations) that respect the model's ordering constraints, and
// testing whether one of them makes the reads legal. The four session
// guarantees are decided apart, in session.go, straight from Terry et
// al.'s sentences: for each process, every log of the writes, and for each
// of its reads the prefix of the log that serves it; nothing there is
// shared with the fast checker's ordering rules. The one economy is
// that a search remembers a set of placed operations and register values
// from which no legal completion exists, which cannot change the answer.
// The cost is exponential, so Verdicts refuses histories with more than
// MaxOps operations to consider.
//
// The package is for tests only: it is slow by design and reports
// verdicts, never anomalies.
package oracle

import (
	"errors"
	"fmt"

	"consist/checker"
	"consist/history"
)

// MaxOps is the largest number of operations Verdicts considers: ok reads,
// and ok or crashed writes and cas (failed operations and crashed reads do
// not count). Larger histories are refused with an error.
const MaxOps = 10

// ErrTooLarge is returned (wrapped) by Verdicts for histories with more
// than MaxOps operations to consider.
var ErrTooLarge = errors.New("history too large for the brute-force oracle")

// SessionModels are the four session guarantees, the models whose verdict
// depends on checker.Options.SessionScope.
var SessionModels = []checker.Model{
	checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.WritesFollowReads,
}

// AllModels are the models Verdicts decides, strongest first.
var AllModels = []checker.Model{
	checker.Linearizable, checker.Sequential, checker.Causal, checker.CausalConvergence,
	checker.WeakCausal, checker.PRAM, checker.ReadYourWrites, checker.MonotonicReads,
	checker.MonotonicWrites, checker.WritesFollowReads,
}

// Verdicts decides every model in AllModels on h by brute force, with
// opts.Initial as every key's initial value, opts.NilRead for the meaning
// of nil reads and opts.SessionScope for the session guarantees. Every
// verdict is checker.Valid or checker.Invalid.
//
// When some (key, value) is written twice, or a write writes the initial
// value, only linearizable and sequential are defined, and the map holds
// only those two. Verdicts returns an error when h holds an operation other
// than read, write or cas, a malformed cas, or more than MaxOps operations
// to consider.
func Verdicts(h *history.History, opts checker.Options) (map[checker.Model]checker.Verdict, error) {
	n, err := normalise(h, opts)
	if err != nil {
		return nil, err
	}
	out := map[checker.Model]checker.Verdict{
		checker.Linearizable: verdict(n.linearizable()),
		checker.Sequential:   verdict(n.sequential()),
	}
	if n.repeated {
		return out, nil
	}
	out[checker.Causal] = verdict(n.causal())
	out[checker.CausalConvergence] = verdict(n.causalConvergence())
	out[checker.WeakCausal] = verdict(n.weakCausal())
	out[checker.PRAM] = verdict(n.everyView(n.pramOrder))

	scopes := []*norm{n}
	if opts.SessionScope == checker.ScopeKey {
		scopes = scopes[:0]
		for k := range n.nkeys {
			scopes = append(scopes, n.project(k))
		}
	}
	all := func(valid func(m *norm) bool) checker.Verdict {
		for _, m := range scopes {
			if !valid(m) {
				return checker.Invalid
			}
		}
		return checker.Valid
	}
	for _, g := range SessionModels {
		out[g] = all(func(m *norm) bool { return m.guarantee(g) })
	}
	return out, nil
}

func verdict(ok bool) checker.Verdict {
	if ok {
		return checker.Valid
	}
	return checker.Invalid
}

// kind is what a register operation does.
type kind uint8

const (
	kRead kind = iota
	kWrite
	kCAS
)

// rop is one register operation the models consider.
type rop struct {
	proc history.Process
	key  int  // key id
	kind kind // read, write or cas
	rval int  // value id read (read: the output; cas: the expected value)
	wval int  // value id written (write: the input; cas: the new value)
	// invoke and complete are the positions of the operation's events in
	// History.Events; complete is -1 for an operation that never completed.
	invoke, complete int
	ok               bool // completed ok, as opposed to crashed or open
}

func (o *rop) reads() bool  { return o.kind != kWrite }
func (o *rop) writes() bool { return o.kind != kRead }

// norm is the normalised register history of the specification.
type norm struct {
	// all holds every operation linearizability considers: ok reads
	// (less nil reads when their value is unknown) and ok or crashed
	// writes and cas, in invocation order.
	all []rop
	// ops holds the kept operations, in invocation order: those of all
	// that completed ok, and the crashed writes and cas whose written
	// value some kept operation read.
	ops      []rop
	nkeys    int
	initial  int  // value id of the initial value
	repeated bool // some (key, value) is written twice, or the initial value is written

	writer []int    // writer[i]: the kept op whose write ops[i] read, -1 for none (initial or thin air)
	co     [][]bool // co[a][b]: a precedes b in (so ∪ wr)+
}

// interner numbers distinct values (or keys) by their canonical form.
type interner map[string]int

func (in interner) id(v any) int {
	c := history.Canonical(v)
	if id, ok := in[c]; ok {
		return id
	}
	id := len(in)
	in[c] = id
	return id
}

func normalise(h *history.History, opts checker.Options) (*norm, error) {
	nilUnknown := opts.NilRead.Resolve(h.Format) == checker.NilReadUnknown
	values, keys := interner{}, interner{}
	n := &norm{initial: values.id(history.Normalize(opts.Initial))}
	for i := range h.Ops {
		op := &h.Ops[i]
		o := rop{proc: op.Process, invoke: op.Invoke, complete: op.Complete, ok: op.Type == history.OK}
		switch op.F {
		case "read":
			if op.Type != history.OK || (nilUnknown && op.Output == nil) {
				continue
			}
			o.kind, o.rval = kRead, values.id(op.Output)
		case "write":
			if op.Type == history.Fail {
				continue
			}
			o.kind, o.wval = kWrite, values.id(op.Input)
		case "cas":
			if op.Type == history.Fail {
				continue
			}
			pair, ok := op.Input.([]any)
			if !ok || len(pair) != 2 {
				return nil, fmt.Errorf("oracle: op %d: cas input %s is not [expected, new]", op.ID, history.Describe(op.Input))
			}
			o.kind, o.rval, o.wval = kCAS, values.id(pair[0]), values.id(pair[1])
		default:
			return nil, fmt.Errorf("oracle: op %d: function %q is not read, write or cas", op.ID, op.F)
		}
		o.key = keys.id(op.Key)
		n.all = append(n.all, o)
	}
	if len(n.all) > MaxOps {
		return nil, fmt.Errorf("oracle: %d operations to consider, more than %d: %w", len(n.all), MaxOps, ErrTooLarge)
	}
	n.nkeys = len(keys)

	// Keep the ok operations, then, until nothing changes, every crashed
	// write or cas whose written value a kept operation read.
	kept := make([]bool, len(n.all))
	for i := range n.all {
		kept[i] = n.all[i].ok
	}
	for changed := true; changed; {
		changed = false
		for i, w := range n.all {
			if kept[i] {
				continue
			}
			for j, r := range n.all {
				if kept[j] && r.reads() && r.key == w.key && r.rval == w.wval {
					kept[i], changed = true, true
					break
				}
			}
		}
	}
	for i := range n.all {
		if kept[i] {
			n.ops = append(n.ops, n.all[i])
		}
	}

	written := map[[2]int]bool{}
	for _, o := range n.ops {
		if !o.writes() {
			continue
		}
		kv := [2]int{o.key, o.wval}
		if written[kv] || o.wval == n.initial {
			n.repeated = true
		}
		written[kv] = true
	}
	if !n.repeated {
		n.relations()
	}
	return n, nil
}

// relations computes writer and co for a history with unique writes.
func (n *norm) relations() {
	size := len(n.ops)
	n.writer = make([]int, size)
	n.co = make([][]bool, size)
	for i := range n.co {
		n.co[i] = make([]bool, size)
	}
	for r := range n.ops {
		n.writer[r] = -1
		if !n.ops[r].reads() || n.ops[r].rval == n.initial {
			continue
		}
		for w := range n.ops {
			if n.ops[w].writes() && n.ops[w].key == n.ops[r].key && n.ops[w].wval == n.ops[r].rval {
				n.writer[r] = w
				n.co[w][r] = true // wr
			}
		}
	}
	for a := range n.ops {
		for b := a + 1; b < size; b++ {
			if n.ops[a].proc == n.ops[b].proc {
				n.co[a][b] = true // so
			}
		}
	}
	for k := range size { // transitive closure
		for a := range size {
			for b := range size {
				if n.co[a][k] && n.co[k][b] {
					n.co[a][b] = true
				}
			}
		}
	}
}

// acyclic reports whether co is a strict partial order.
func (n *norm) acyclic() bool {
	for i := range n.ops {
		if n.co[i][i] {
			return false
		}
	}
	return true
}

// so reports whether kept op a precedes kept op b in session order.
func (n *norm) so(a, b int) bool { return a < b && n.ops[a].proc == n.ops[b].proc }

// processes returns the processes that have kept operations, in order of
// first appearance.
func (n *norm) processes() []history.Process {
	var ps []history.Process
	seen := map[history.Process]bool{}
	for _, o := range n.ops {
		if !seen[o.proc] {
			seen[o.proc] = true
			ps = append(ps, o.proc)
		}
	}
	return ps
}

// project returns the projection of n (which has unique writes) on key k:
// its operations on k alone.
func (n *norm) project(k int) *norm {
	m := &norm{nkeys: n.nkeys, initial: n.initial}
	for _, o := range n.ops {
		if o.key == k {
			m.ops = append(m.ops, o)
		}
	}
	m.relations()
	return m
}

// point is one step of a candidate total order: an operation, or for
// read-your-writes half of a cas.
type point struct {
	key    int
	check  bool // the read must be legal: return the key's current value
	reads  bool
	rval   int
	writes bool
	wval   int
}

// pointOf returns o as one atomic point; its read is checked when check.
func pointOf(o *rop, check bool) point {
	return point{key: o.key, check: check && o.reads(), reads: o.reads(), rval: o.rval, writes: o.writes(), wval: o.wval}
}

// legalOrderExists reports whether some total order of pts, in which a
// comes before b whenever before[a][b], is legal: every checked point
// returns the value the last writing point on its key before it wrote, or
// initial when there is none. A point that reads and writes reads first.
func legalOrderExists(pts []point, before [][]bool, nkeys, initial int) bool {
	if len(pts) > 32 {
		panic("oracle: too many points")
	}
	preds := make([]uint32, len(pts))
	for a := range pts {
		for b := range pts {
			if before[a][b] {
				preds[b] |= 1 << a
			}
		}
	}
	full := uint32(1)<<len(pts) - 1
	state := make([]int, nkeys)
	for k := range state {
		state[k] = initial
	}
	type memo struct {
		placed uint32
		state  string
	}
	dead := map[memo]bool{} // partial orders known to have no legal completion
	var search func(placed uint32, state []int) bool
	search = func(placed uint32, state []int) bool {
		if placed == full {
			return true
		}
		m := memo{placed, fmt.Sprint(state)}
		if dead[m] {
			return false
		}
		for i, p := range pts {
			if placed&(1<<i) != 0 || preds[i]&^placed != 0 {
				continue
			}
			if p.check && state[p.key] != p.rval {
				continue
			}
			next := state
			if p.writes {
				next = append([]int(nil), state...)
				next[p.key] = p.wval
			}
			if search(placed|1<<i, next) {
				return true
			}
		}
		dead[m] = true
		return false
	}
	return search(0, state)
}

// linearizable: some total order of the ok operations and any subset of
// the crashed writes and cas, respecting real time (a before b when a
// completed ok before b was invoked; a crashed operation may take effect
// at any time after its invocation), is legal.
func (n *norm) linearizable() bool {
	var crashed []int
	for i := range n.all {
		if !n.all[i].ok {
			crashed = append(crashed, i)
		}
	}
	for subset := 0; subset < 1<<len(crashed); subset++ {
		var ids []int
		for i := range n.all {
			if n.all[i].ok {
				ids = append(ids, i)
			}
		}
		for j, i := range crashed {
			if subset&(1<<j) != 0 {
				ids = append(ids, i)
			}
		}
		pts := make([]point, len(ids))
		before := square(len(ids))
		for x, a := range ids {
			pts[x] = pointOf(&n.all[a], true)
			for y, b := range ids {
				A, B := &n.all[a], &n.all[b]
				before[x][y] = A.ok && A.complete < B.invoke // a crashed op never completes
			}
		}
		if legalOrderExists(pts, before, n.nkeys, n.initial) {
			return true
		}
	}
	return false
}

// sequential: one total order of all kept operations, respecting session
// order, legal for every read.
func (n *norm) sequential() bool {
	pts := make([]point, len(n.ops))
	before := square(len(n.ops))
	for a := range n.ops {
		pts[a] = pointOf(&n.ops[a], true)
		for b := range n.ops {
			before[a][b] = a < b && n.ops[a].proc == n.ops[b].proc
		}
	}
	return legalOrderExists(pts, before, n.nkeys, n.initial)
}

// viewOps returns the kept operations in a view for p: every write-part
// operation and every operation of p, in invocation order.
func (n *norm) viewOps(p history.Process) []int {
	var ids []int
	for i := range n.ops {
		if n.ops[i].writes() || n.ops[i].proc == p {
			ids = append(ids, i)
		}
	}
	return ids
}

// viewExists reports whether there is a view for p (a total order of
// viewOps(p), legal for p's reads, other processes' cas acting only as
// writes) in which a precedes b whenever before(a, b), for kept operations
// a and b.
func (n *norm) viewExists(p history.Process, before func(a, b int) bool) bool {
	ids := n.viewOps(p)
	pts := make([]point, len(ids))
	rel := square(len(ids))
	for x, a := range ids {
		pts[x] = pointOf(&n.ops[a], n.ops[a].proc == p)
		for y, b := range ids {
			rel[x][y] = before(a, b)
		}
	}
	return legalOrderExists(pts, rel, n.nkeys, n.initial)
}

// everyView reports whether every process has a view whose order respects
// the relation order(p) gives.
func (n *norm) everyView(order func(p history.Process) func(a, b int) bool) bool {
	for _, p := range n.processes() {
		if !n.viewExists(p, order(p)) {
			return false
		}
	}
	return true
}

// causal (causal memory): co acyclic, and for every p a view respecting co.
func (n *norm) causal() bool {
	if !n.acyclic() {
		return false
	}
	return n.everyView(func(history.Process) func(a, b int) bool {
		return func(a, b int) bool { return n.co[a][b] }
	})
}

// causalConvergence: co acyclic, and one total order arb of all kept
// operations extending co in which every read returns the value of the
// arb-last write on its key among its strict co-predecessors. The orders
// are enumerated one by one.
func (n *norm) causalConvergence() bool {
	if !n.acyclic() {
		return false
	}
	placed := make([]bool, len(n.ops))
	var arb []int
	var extend func() bool
	extend = func() bool {
		if len(arb) == len(n.ops) {
			return true
		}
		for r := range n.ops {
			if placed[r] || !n.predsIn(r, placed) {
				continue
			}
			if o := &n.ops[r]; o.reads() {
				val := n.initial
				for i := len(arb) - 1; i >= 0; i-- {
					w := &n.ops[arb[i]]
					if w.writes() && w.key == o.key && n.co[arb[i]][r] {
						val = w.wval
						break
					}
				}
				if val != o.rval {
					continue
				}
			}
			placed[r] = true
			arb = append(arb, r)
			if extend() {
				return true
			}
			arb = arb[:len(arb)-1]
			placed[r] = false
		}
		return false
	}
	return extend()
}

// predsIn reports whether every co-predecessor of b is placed.
func (n *norm) predsIn(b int, placed []bool) bool {
	for a := range n.ops {
		if n.co[a][b] && !placed[a] {
			return false
		}
	}
	return true
}

// weakCausal: co acyclic, and for every read r some total order of r's
// strict co-predecessors and r, extending co, in which r returns the value
// of the last write on its key before it.
func (n *norm) weakCausal() bool {
	if !n.acyclic() {
		return false
	}
	for r := range n.ops {
		if !n.ops[r].reads() {
			continue
		}
		var ids []int
		for a := range n.ops {
			if n.co[a][r] || a == r {
				ids = append(ids, a)
			}
		}
		pts := make([]point, len(ids))
		before := square(len(ids))
		for x, a := range ids {
			pts[x] = pointOf(&n.ops[a], a == r)
			for y, b := range ids {
				before[x][y] = n.co[a][b]
			}
		}
		if !legalOrderExists(pts, before, n.nkeys, n.initial) {
			return false
		}
	}
	return true
}

// pramOrder: p's operations in program order, and every other process's
// writes in that process's program order; that is, session order
// restricted to the view.
func (n *norm) pramOrder(history.Process) func(a, b int) bool {
	return n.so
}

func square(size int) [][]bool {
	m := make([][]bool, size)
	for i := range m {
		m[i] = make([]bool, size)
	}
	return m
}
