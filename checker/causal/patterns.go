package causal

import (
	"cmp"
	"context"
	"slices"
	"sort"

	"consist/checker"
	cycles "consist/checker/internal/graph"
	"consist/checker/internal/reghist"
	"consist/checker/internal/views"
)

// graph is the causal order of a history, summarised for the bad
// patterns. Every causal-past question they ask is whether a write is in
// the past of an operation on the write's key, so the summary keeps, for
// every operation op, maxPast[op]: the writes of op's key that are maximal
// in op's strict causal past; and it places writes on chains of co, with
// vector clocks over the chains to order them.
//
// With fewer sessions than keys, the chains are the sessions and every
// operation has a clock (clockSessions). Otherwise — a client that
// crashes continues under a fresh process id, so long histories have
// thousands of sessions — every operation carries its front, the maximal
// writes of each key in its past, a few per key, and the relevant writes
// of each key are covered by chains of their own (followFronts). A write
// is relevant when a strict co-descendant reads or writes its key: any
// other write is in the past of no operation on its key but itself.
type graph struct {
	r  *reghist.History
	ch reghist.Chains
	// order is a topological order of co, or nil when co is cyclic.
	order []int32
	// cycle is a cycle of co when there is one.
	cycle []int32
	// The reads of write w are readOps[readAt[w]:readAt[w+1]].
	readAt, readOps []int32
	// maxPast[op] holds, for a read or an operation on no chain, the
	// writes of op's key that are maximal in op's strict causal past.
	maxPast []span
	// chain[op] numbers op's chain (among those of op's key, with
	// fronts) and rank[op] is op's place in it; chain[op] is -1 for an
	// operation on no chain.
	chain, rank []int32
	// clock[op] holds, for an operation on a chain, how many operations
	// of each chain are in its causal past, op included: of every
	// session, or of every chain of op's key begun before op's.
	clock     []span
	lists     arena // of maxPast and clock
	explainer *views.Checker
}

// arena stores lists in chunks, so that it grows without copying what it
// holds.
type arena struct{ chunks [][]int32 }

// span is a list stored in an arena.
type span struct{ chunk, from, to int32 }

const chunkSize = 1 << 16

// newArena returns an arena whose first chunk fits about hint entries.
func newArena(hint int) arena {
	return arena{[][]int32{make([]int32, 0, min(max(hint, 64), chunkSize))}}
}

func (a *arena) of(s span) []int32 { return a.chunks[s.chunk][s.from:s.to] }

// keep stores a copy of list.
func (a *arena) keep(list []int32) span {
	last := len(a.chunks) - 1
	if len(a.chunks[last])+len(list) > cap(a.chunks[last]) {
		a.chunks = append(a.chunks, make([]int32, 0, max(len(list), chunkSize)))
		last++
	}
	from := len(a.chunks[last])
	a.chunks[last] = append(a.chunks[last], list...)
	return span{int32(last), int32(from), int32(len(a.chunks[last]))}
}

func newGraph(ctx context.Context, r *reghist.History) *graph {
	g := &graph{r: r, ch: r.Chains(false)}
	g.explainer = views.New(r, cmRules{r, g.ch})
	g.linkReads()
	g.sort(ctx)
	if g.order != nil {
		g.summarise()
	}
	return g
}

// linkReads lists the reads of every write, by counting sort.
func (g *graph) linkReads() {
	ops := g.r.Ops
	g.readAt = make([]int32, len(ops)+1)
	for i := range ops {
		if w := ops[i].Reads; w >= 0 {
			g.readAt[w+1]++
		}
	}
	for w := range ops {
		g.readAt[w+1] += g.readAt[w]
	}
	g.readOps = make([]int32, g.readAt[len(ops)])
	next := slices.Clone(g.readAt[:len(ops)])
	for i := range ops {
		if w := ops[i].Reads; w >= 0 {
			g.readOps[next[w]] = int32(i)
			next[w]++
		}
	}
}

func (g *graph) readsOf(w int32) []int32 { return g.readOps[g.readAt[w]:g.readAt[w+1]] }

// nextOp returns the operation after op in its session, or None.
func (g *graph) nextOp(op int32) int32 {
	o := &g.r.Ops[op]
	if s := g.r.Sessions[o.Process]; int(o.Pos)+1 < len(s) {
		return s[o.Pos+1]
	}
	return reghist.None
}

// sort orders co topologically (Kahn), or finds a shortest cycle.
func (g *graph) sort(ctx context.Context) {
	r := g.r
	n := len(r.Ops)
	indeg := make([]int32, n)
	for op := range r.Ops {
		if r.Ops[op].Reads >= 0 {
			indeg[op]++
		}
		if g.ch.PrevOp[op] != reghist.None {
			indeg[op]++
		}
	}
	order := make([]int32, 0, n)
	for op := range indeg {
		if indeg[op] == 0 {
			order = append(order, int32(op))
		}
	}
	release := func(op int32) {
		if indeg[op]--; indeg[op] == 0 {
			order = append(order, op)
		}
	}
	for i := 0; i < len(order); i++ {
		if s := g.nextOp(order[i]); s != reghist.None {
			release(s)
		}
		for _, s := range g.readsOf(order[i]) {
			release(s)
		}
	}
	if len(order) == n {
		g.order = order
		return
	}
	// The operations left unsorted hold a cycle: find the shortest.
	b := cycles.NewBuilder(n)
	for op := range r.Ops {
		if indeg[op] == 0 {
			continue
		}
		if w := r.Ops[op].Reads; w >= 0 && indeg[w] > 0 {
			b.Add(w, int32(op), relReads)
		}
		if p := g.ch.PrevOp[op]; p != reghist.None && indeg[p] > 0 {
			b.Add(p, int32(op), relProcess)
		}
	}
	g.cycle = shortestCycle(ctx, b)
}

// summarise computes maxPast, chain, rank and clock, in topological order.
func (g *graph) summarise() {
	r := g.r
	n := len(r.Ops)
	g.maxPast, g.clock = make([]span, n), make([]span, n)
	g.chain, g.rank = make([]int32, n), make([]int32, n)
	for i := range g.chain {
		g.chain[i] = reghist.None
	}
	g.lists = newArena(len(r.Ops))
	if bySessions(r) {
		g.clockSessions()
	} else {
		g.followFronts()
	}
}

// bySessions reports whether to summarise with clocks over the sessions
// rather than with fronts: each operation then carries one count per
// session instead of a few writes per key.
func bySessions(r *reghist.History) bool { return len(r.Sessions) < len(r.Keys) }

// clockSessions summarises with vector clocks over the sessions, which
// are chains of co: clock[op] counts each session's operations in op's
// past, and for a read maxPast[op] keeps the maximal ones among each
// session's latest write of op's key in op's strict past.
func (g *graph) clockSessions() {
	r := g.r
	at, writes := g.writesBySession()
	clock := make([]int32, len(r.Sessions))
	var past []int32
	for _, op := range g.order {
		o := &r.Ops[op]
		clear(clock)
		if p := g.ch.PrevOp[op]; p != reghist.None {
			copy(clock, g.lists.of(g.clock[p]))
		}
		if o.Reads >= 0 {
			for q, x := range g.lists.of(g.clock[o.Reads]) {
				clock[q] = max(clock[q], x)
			}
		}
		if o.Reader() {
			past = past[:0]
			for q, seen := range clock {
				if w := g.latestWrite(writes[at[q]:at[q+1]], o.Key, seen); w != reghist.None {
					past = g.addMaximal(past, w)
				}
			}
			g.maxPast[op] = g.lists.keep(past)
		}
		clock[o.Process] = o.Pos + 1
		g.clock[op] = g.lists.keep(clock)
		g.chain[op], g.rank[op] = o.Process, o.Pos
	}
}

// writesBySession lists the writes of session q as writes[at[q]:at[q+1]],
// sorted by key and then by position.
func (g *graph) writesBySession() (at, writes []int32) {
	at = make([]int32, len(g.r.Sessions)+1)
	for q, ops := range g.r.Sessions {
		from := len(writes)
		for _, op := range ops {
			if g.r.Ops[op].Writer() {
				writes = append(writes, op)
			}
		}
		slices.SortStableFunc(writes[from:], func(a, b int32) int { return cmp.Compare(g.key(a), g.key(b)) })
		at[q+1] = int32(len(writes))
	}
	return at, writes
}

// latestWrite returns the last of a session's writes, sorted by key and
// position, that writes key k before position end, or None.
func (g *graph) latestWrite(writes []int32, k, end int32) int32 {
	i := sort.Search(len(writes), func(i int) bool {
		o := &g.r.Ops[writes[i]]
		return o.Key > k || o.Key == k && o.Pos >= end
	})
	if i == 0 || g.key(writes[i-1]) != k {
		return reghist.None
	}
	return writes[i-1]
}

// addMaximal adds write w to antichain, writes of its key none of which
// precedes another, and keeps it so.
func (g *graph) addMaximal(antichain []int32, w int32) []int32 {
	if g.precedesAny(w, antichain) {
		return antichain
	}
	antichain = slices.DeleteFunc(antichain, func(m int32) bool { return g.precedes(m, w) })
	return append(antichain, w)
}

// followFronts summarises with fronts over the keys, and clocks over
// chains of the relevant writes of each key.
func (g *graph) followFronts() {
	r := g.r
	n := len(r.Ops)
	f := &frontier{ahead: g.keysAhead(), front: make([]span, n), lists: newArena(4 * n), tails: make([][]int32, len(r.Keys))}
	for _, op := range g.order {
		o := &r.Ops[op]
		var prev, read []int32
		if p := g.ch.PrevOp[op]; p != reghist.None {
			prev = f.lists.of(f.front[p])
		}
		if o.Reads >= 0 {
			read = f.lists.of(f.front[o.Reads])
		}
		f.strict = g.union(f.strict[:0], prev, read)
		past := g.ofKey(f.strict, o.Key)
		g.maxPast[op] = g.lists.keep(past)
		relevant := o.Writer() && f.ahead[op]&keyBit(o.Key) != 0
		if relevant {
			g.place(f, op, past)
		}
		f.front[op] = g.advance(f, op, relevant)
	}
}

// frontier is what followFronts needs only while it runs.
type frontier struct {
	// ahead[op] masks the keys that op's strict descendants read or write.
	ahead []uint64
	// front[op] holds the relevant writes maximal in op's causal past, op
	// included, of the keys ahead of op, grouped by key in increasing
	// order.
	front []span
	lists arena // of front
	// tails[k][c] is the last write of chain c of key k.
	tails [][]int32
	// strict, clock and scratch are scratch space.
	strict, clock, scratch []int32
}

// keyBit is key k's bit in a key mask; beyond 64 keys share bits.
func keyBit(k int32) uint64 { return 1 << (uint32(k) % 64) }

// keysAhead returns for every operation the mask of the keys its strict
// causal descendants read or write.
func (g *graph) keysAhead() []uint64 {
	ops := g.r.Ops
	ahead := make([]uint64, len(ops))
	for i := len(g.order) - 1; i >= 0; i-- {
		op := g.order[i]
		if s := g.nextOp(op); s != reghist.None {
			ahead[op] |= keyBit(ops[s].Key) | ahead[s]
		}
		for _, s := range g.readsOf(op) {
			ahead[op] |= keyBit(ops[s].Key) | ahead[s]
		}
	}
	return ahead
}

func (g *graph) key(op int32) int32 { return g.r.Ops[op].Key }

// keyRun returns how many operations at the head of list are on the key
// of the first.
func (g *graph) keyRun(list []int32) int {
	k := g.key(list[0])
	n := 1
	for n < len(list) && g.key(list[n]) == k {
		n++
	}
	return n
}

// ofKey returns the operations of list on key k, list being grouped by
// key in increasing order.
func (g *graph) ofKey(list []int32, k int32) []int32 {
	for len(list) > 0 && g.key(list[0]) < k {
		list = list[g.keyRun(list):]
	}
	if len(list) == 0 || g.key(list[0]) != k {
		return nil
	}
	return list[:g.keyRun(list)]
}

// union appends to dst the maximal writes of x ∪ y, two fronts.
func (g *graph) union(dst, x, y []int32) []int32 {
	for len(x) > 0 && len(y) > 0 {
		kx, ky := g.key(x[0]), g.key(y[0])
		switch {
		case kx < ky:
			n := g.keyRun(x)
			dst, x = append(dst, x[:n]...), x[n:]
		case ky < kx:
			n := g.keyRun(y)
			dst, y = append(dst, y[:n]...), y[n:]
		default:
			nx, ny := g.keyRun(x), g.keyRun(y)
			dst = g.maxima(dst, x[:nx], y[:ny])
			x, y = x[nx:], y[ny:]
		}
	}
	dst = append(dst, x...)
	return append(dst, y...)
}

// maxima appends to dst the maximal writes of x ∪ y, two antichains of
// writes of one key.
func (g *graph) maxima(dst, x, y []int32) []int32 {
	if slices.Equal(x, y) {
		return append(dst, x...)
	}
	for _, a := range x {
		if !g.precedesAny(a, y) {
			dst = append(dst, a)
		}
	}
	for _, b := range y {
		if !slices.Contains(x, b) && !g.precedesAny(b, x) {
			dst = append(dst, b)
		}
	}
	return dst
}

// precedes reports whether write a is in the strict causal past of b, a
// write of its key on a chain. A write on no chain is in the past of no
// operation that asks.
func (g *graph) precedes(a, b int32) bool {
	c := g.chain[a]
	if c < 0 || a == b {
		return false
	}
	clock := g.lists.of(g.clock[b])
	return int(c) < len(clock) && clock[c] > g.rank[a]
}

func (g *graph) precedesAny(a int32, bs []int32) bool {
	for _, b := range bs {
		if g.precedes(a, b) {
			return true
		}
	}
	return false
}

// place puts relevant write w at the end of a chain of its key whose last
// write is in w's past — its process's if it can — or else of a new
// chain, and computes w's clock from past, the maximal writes of its key
// in its strict past.
func (g *graph) place(f *frontier, w int32, past []int32) {
	k := g.key(w)
	clock := slices.Grow(f.clock[:0], len(f.tails[k])+1)[:len(f.tails[k])]
	clear(clock)
	for _, m := range past {
		for c, x := range g.lists.of(g.clock[m]) {
			clock[c] = max(clock[c], x)
		}
	}
	c := g.extensible(w, clock, f.tails[k])
	if c < 0 {
		c = len(clock)
		clock = append(clock, 0)
		f.tails[k] = append(f.tails[k], w)
	} else {
		g.rank[w] = g.rank[f.tails[k][c]] + 1
		f.tails[k][c] = w
	}
	g.chain[w] = int32(c)
	clock[c] = g.rank[w] + 1
	g.clock[w] = g.lists.keep(clock)
	f.clock = clock
}

// extensible returns a chain whose last write is in the past given by
// clock, preferably one of w's process, or -1.
func (g *graph) extensible(w int32, clock, tails []int32) int {
	found := -1
	for c, t := range tails {
		if clock[c] == g.rank[t]+1 {
			if g.r.Ops[t].Process == g.r.Ops[w].Process {
				return c
			}
			if found < 0 {
				found = c
			}
		}
	}
	return found
}

// advance stores op's front: that of its strict past without the keys
// no descendant touches and, when op writes, with op in place of the
// writes of its key.
func (g *graph) advance(f *frontier, op int32, relevant bool) span {
	o := &g.r.Ops[op]
	strict, front := f.strict, f.scratch[:0]
	pending := relevant
	for len(strict) > 0 {
		k, n := g.key(strict[0]), g.keyRun(strict)
		if pending && k >= o.Key {
			front, pending = append(front, op), false
		}
		if f.ahead[op]&keyBit(k) != 0 && !(o.Writer() && k == o.Key) {
			front = append(front, strict[:n]...)
		}
		strict = strict[n:]
	}
	if pending {
		front = append(front, op)
	}
	f.scratch = front
	return f.lists.keep(front)
}

// before reports whether write a is in the causal past of b, an
// operation on a's key, or is b.
func (g *graph) before(a, b int32) bool {
	switch {
	case a == b:
		return true
	case g.chain[b] >= 0:
		return g.precedes(a, b)
	}
	for _, m := range g.lists.of(g.maxPast[b]) {
		if m == a || g.precedes(a, m) {
			return true
		}
	}
	return false
}

func (g *graph) judge(ctx context.Context, m checker.Model, res *checker.Result) {
	if g.order == nil {
		res.Verdict = checker.Invalid
		w := g.r.Witness()
		text := g.explainer.Explain(w, &views.Violation{Cycle: true, Path: g.cycle}, checker.Say("the causal order is cyclic: an operation depends on its own effect"))
		res.Anomalies = []checker.Anomaly{w.Anomaly(checker.CyclicCausality, nil, text)}
		return
	}
	if a, ok := g.badRead(m); ok {
		res.Verdict, res.Anomalies = checker.Invalid, []checker.Anomaly{a}
		return
	}
	if m == checker.CausalConvergence {
		if a, ok := g.conflictCycle(ctx); ok {
			res.Verdict, res.Anomalies = checker.Invalid, []checker.Anomaly{a}
			return
		}
	}
	res.Verdict = checker.Valid
}

// newerWrite returns a write in op's strict causal past, of the key op
// reads, that is newer than the write op read — any, when op read the
// initial value — or None.
func (g *graph) newerWrite(op int32) int32 {
	read := g.r.Ops[op].Reads
	for _, w := range g.lists.of(g.maxPast[op]) {
		if read == reghist.Initial || g.precedes(read, w) {
			return w
		}
	}
	return reghist.None
}

// badRead finds a read that is not maximal in its causal past: WriteCOInitRead
// and WriteCORead.
func (g *graph) badRead(m checker.Model) (checker.Anomaly, bool) {
	r := g.r
	for _, op := range g.order {
		o := &r.Ops[op]
		if !o.Reader() {
			continue
		}
		w := g.newerWrite(op)
		if w == reghist.None {
			continue
		}
		if o.Reads == reghist.Initial {
			path := g.explainer.Ancestry(0, w, op, views.Edge{})
			w := r.Witness()
			text := g.explainer.Explain(w, &views.Violation{Path: path}, checker.Say("it read the initial value although a write of that key was in its causal past"))
			return w.Anomaly(checker.CausalInitialRead, r.Keys[o.Key], text), true
		}
		first := g.explainer.Ancestry(0, o.Reads, w, views.Edge{})
		second := g.explainer.Ancestry(0, w, op, views.Edge{})
		path := append(first, second[1:]...)
		wit := r.Witness()
		text := g.explainer.Explain(wit, &views.Violation{Path: path},
			checker.Say("it read %s, which %s had overwritten in its causal past", reghist.Assign(r.Keys[o.Key], o.Read), reghist.Assign(r.Keys[o.Key], r.Ops[w].Written)))
		return wit.Anomaly(checker.CausalStaleRead, r.Keys[o.Key], text), true
	}
	return checker.Anomaly{}, false
}

// conflictCycle finds a cycle in co ∪ cf, where w1 cf w2 when a read of
// w2 has w1 (another write of the key) in its causal past. It takes only
// the cf edges from the maximal such w1: the others follow through co.
func (g *graph) conflictCycle(ctx context.Context) (checker.Anomaly, bool) {
	r := g.r
	cyc := g.conflictCycleOps(ctx)
	if cyc == nil {
		return checker.Anomaly{}, false
	}
	v := &views.Violation{Cycle: true, Path: cyc, Because: map[views.Edge]int32{}}
	for i := range cyc {
		from, to := cyc[i], cyc[(i+1)%len(cyc)]
		if rd := g.conflictReason(from, to); rd != reghist.None {
			v.Because[views.Edge{From: from, To: to}] = rd
		}
	}
	w := r.Witness()
	text := g.explainer.Explain(w, v, checker.Say("no single order of the writes explains every read, so replicas cannot have converged (causal-convergence)"))
	last := cyc[len(cyc)-1]
	return w.Anomaly(checker.ConflictingOrders, r.Keys[r.Ops[last].Key], text), true
}

// conflictCycleOps returns a shortest cycle of co ∪ cf (see shortestCycle)
// as its operations in order, or nil.
func (g *graph) conflictCycleOps(ctx context.Context) []int32 {
	r := g.r
	var edges []int64 // to<<32 | from
	for _, op := range g.order {
		o := &r.Ops[op]
		if !o.Reader() || o.Reads < 0 {
			continue
		}
		for _, w := range g.lists.of(g.maxPast[op]) {
			if w != o.Reads {
				edges = append(edges, int64(o.Reads)<<32|int64(w))
			}
		}
	}
	if len(edges) == 0 {
		return nil
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	n := len(r.Ops)
	start := make([]int32, n+1) // cf predecessors of op: edges[start[op]:start[op+1]]
	for _, e := range edges {
		start[e>>32+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	preds := func(op int32, each func(p int32, r cycles.Rel)) {
		for _, e := range edges[start[op]:start[op+1]] {
			each(int32(e), relConflict)
		}
		if p := g.ch.PrevOp[op]; p != reghist.None {
			each(p, relProcess)
		}
		if w := r.Ops[op].Reads; w >= 0 {
			each(w, relReads)
		}
	}
	// Sort co ∪ cf topologically, from the last operations back (Kahn on
	// the predecessor lists): almost always it sorts, and there is no
	// cycle to look for. What it leaves holds the cycles.
	succs := make([]int32, n)
	for op := range n {
		preds(int32(op), func(p int32, _ cycles.Rel) { succs[p]++ })
	}
	var ready []int32
	for op := range n {
		if succs[op] == 0 {
			ready = append(ready, int32(op))
		}
	}
	for i := 0; i < len(ready); i++ {
		preds(ready[i], func(p int32, _ cycles.Rel) {
			if succs[p]--; succs[p] == 0 {
				ready = append(ready, p)
			}
		})
	}
	if len(ready) == n {
		return nil
	}
	b := cycles.NewBuilder(n)
	for op := range n {
		if succs[op] > 0 {
			preds(int32(op), func(p int32, rel cycles.Rel) {
				if succs[p] > 0 {
					b.Add(p, int32(op), rel)
				}
			})
		}
	}
	return shortestCycle(ctx, b)
}

// conflictReason returns a read of to that has from, another write of
// its key, in its causal past — the read behind the cf edge from → to —
// or None when from → to is an edge of co.
func (g *graph) conflictReason(from, to int32) int32 {
	r := g.r
	if !r.Ops[from].Writer() || !r.Ops[to].Writer() || r.Ops[from].Key != r.Ops[to].Key || g.before(from, to) {
		return reghist.None
	}
	for _, op := range g.readsOf(to) {
		if g.before(from, op) {
			return op
		}
	}
	return reghist.None
}

// The relations of the causal order's edges, and of cf's, for the cycle
// search.
const (
	relProcess cycles.Rel = iota
	relReads
	relConflict
)

// anyCycle accepts every cycle of co ∪ cf.
var anyCycle = cycles.AnyCycle("causal", relProcess, relReads, relConflict)

// cycleWork bounds, in edges examined, the search for cycles shorter than
// the first one found (checker/internal/graph's Limits.Work).
const cycleWork = 1 << 24

// shortestCycle returns a cycle of the graph b holds — each operation
// precedes the next, the last precedes the first — or nil when it has
// none: the shortest of them all when the search finishes within
// cycleWork and ctx, else the shortest it found, through the first node
// of the smallest strongly connected component at least.
func shortestCycle(ctx context.Context, b *cycles.Builder) []int32 {
	res := b.Build().ShortestCycleOfAll(ctx, anyCycle, cycles.Limits{Work: cycleWork, FirstInFull: true})
	if res.Cycle == nil {
		return nil
	}
	return res.Cycle.Nodes
}

// summaryBytes estimates the memory newGraph needs for r: some 128 bytes
// per operation, and with clocks over the sessions, one count per session
// per operation; with fronts, four writes per key per operation, and per
// write a clock over the chains of its key, of which there are at most as
// many as sessions or writes of the key.
func summaryBytes(r *reghist.History) int64 {
	n, sessions := int64(len(r.Ops)), int64(len(r.Sessions))
	if bySessions(r) {
		return 128*n + 4*n*sessions
	}
	var clocks int64
	for _, ws := range r.WritesOf {
		clocks += int64(len(ws)) * min(sessions, int64(len(ws)))
	}
	return 128*n + 4*(4*n*int64(len(r.Keys))+clocks)
}
