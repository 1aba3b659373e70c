package causal

import (
	"slices"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/checker/internal/views"
)

// graph is the causal order of a history, with vector clocks.
type graph struct {
	r  *reghist.History
	ch reghist.Chains
	// order is a topological order of co, or nil when co is cyclic.
	order []int32
	// cycle is a cycle of co when there is one.
	cycle []int32
	// clock[op*P+q] is how many of process q's operations are in op's
	// causal past, op included.
	clock []int32
	procs int
	// writes[q][k] lists q's writes of key k in session order, and
	// writePos[q][k] their positions in q's session.
	writes, writePos [][][]int32
	explainer        *views.Checker
}

func newGraph(r *reghist.History) *graph {
	g := &graph{r: r, ch: r.Chains(false), procs: len(r.Sessions)}
	g.explainer = views.New(r, cmRules{r, g.ch})
	g.sort()
	if g.order == nil {
		return g
	}
	P := g.procs
	g.clock = make([]int32, len(r.Ops)*P)
	for _, op := range g.order {
		row := g.clock[int(op)*P : int(op+1)*P]
		if p := g.ch.PrevOp[op]; p != reghist.None {
			copy(row, g.clock[int(p)*P:int(p+1)*P])
		}
		if w := r.Ops[op].Reads; w >= 0 {
			for q, x := range g.clock[int(w)*P : int(w+1)*P] {
				row[q] = max(row[q], x)
			}
		}
		row[r.Ops[op].Process] = r.Ops[op].Pos + 1
	}
	g.writes, g.writePos = make([][][]int32, P), make([][][]int32, P)
	for q, ops := range r.Sessions {
		g.writes[q], g.writePos[q] = make([][]int32, len(r.Keys)), make([][]int32, len(r.Keys))
		for _, op := range ops {
			if o := &r.Ops[op]; o.Writer() {
				g.writes[q][o.Key] = append(g.writes[q][o.Key], op)
				g.writePos[q][o.Key] = append(g.writePos[q][o.Key], o.Pos)
			}
		}
	}
	return g
}

// sort orders co topologically (Kahn), or finds a cycle.
func (g *graph) sort() {
	r := g.r
	n := len(r.Ops)
	indeg := make([]int32, n)
	succ := make([][]int32, n)
	for op := range r.Ops {
		if w := r.Ops[op].Reads; w >= 0 {
			indeg[op]++
			succ[w] = append(succ[w], int32(op))
		}
		if p := g.ch.PrevOp[op]; p != reghist.None {
			indeg[op]++
			succ[p] = append(succ[p], int32(op))
		}
	}
	order := make([]int32, 0, n)
	for op := range indeg {
		if indeg[op] == 0 {
			order = append(order, int32(op))
		}
	}
	for i := 0; i < len(order); i++ {
		for _, s := range succ[order[i]] {
			if indeg[s]--; indeg[s] == 0 {
				order = append(order, s)
			}
		}
	}
	if len(order) == n {
		g.order = order
		return
	}
	// Walk back from any unsorted operation through unsorted predecessors
	// until one repeats: that closes a cycle.
	var start int32
	for op := range indeg {
		if indeg[op] > 0 {
			start = int32(op)
			break
		}
	}
	at := map[int32]int{}
	var walk []int32
	for x := start; ; {
		if i, ok := at[x]; ok {
			cyc := walk[i:]
			// walk runs against precedence; reverse it.
			for a, b := 0, len(cyc)-1; a < b; a, b = a+1, b-1 {
				cyc[a], cyc[b] = cyc[b], cyc[a]
			}
			g.cycle = cyc
			return
		}
		at[x] = len(walk)
		walk = append(walk, x)
		if w := r.Ops[x].Reads; w >= 0 && indeg[w] > 0 {
			x = w
		} else {
			x = g.ch.PrevOp[x]
		}
	}
}

// before reports whether a is in b's causal past, or is b.
func (g *graph) before(a, b int32) bool {
	o := &g.r.Ops[a]
	return g.clock[int(b)*g.procs+int(o.Process)] > o.Pos
}

// latestWrite returns q's last write of key k in op's strict causal past.
func (g *graph) latestWrite(op int32, q int, k int32) int32 {
	pos := g.writePos[q][k]
	bound := g.clock[int(op)*g.procs+q] // q's operations in op's past, op included
	if int32(q) == g.r.Ops[op].Process {
		bound = g.r.Ops[op].Pos
	}
	lo, hi := 0, len(pos) // the first write at or after bound
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if pos[mid] < bound {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return reghist.None
	}
	return g.writes[q][k][lo-1]
}

func (g *graph) judge(m checker.Model, res *checker.Result) {
	if g.order == nil {
		res.Verdict = checker.Invalid
		ops, text := g.explainer.Explain(&views.Violation{Cycle: true, Path: g.cycle}, "the causal order is cyclic: an operation depends on its own effect ("+string(m)+")")
		res.Anomalies = []checker.Anomaly{{Kind: "cyclic-causality", Ops: ops, Explanation: text}}
		return
	}
	if a, ok := g.badRead(m); ok {
		res.Verdict, res.Anomalies = checker.Invalid, []checker.Anomaly{a}
		return
	}
	if m == checker.CausalConvergence {
		if a, ok := g.conflictCycle(); ok {
			res.Verdict, res.Anomalies = checker.Invalid, []checker.Anomaly{a}
			return
		}
	}
	res.Verdict = checker.Valid
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
		for q := range g.procs {
			w := g.latestWrite(op, q, o.Key)
			if w == reghist.None || w == o.Reads {
				continue
			}
			if o.Reads == reghist.Initial {
				path := g.explainer.Ancestry(0, w, op, views.Edge{})
				ops, text := g.explainer.Explain(&views.Violation{Path: path}, "it read the initial value although a write of that key was in its causal past ("+string(m)+")")
				return checker.Anomaly{Kind: "causal-initial-read", Key: r.Keys[o.Key], Ops: ops, Explanation: text}, true
			}
			if g.before(o.Reads, w) {
				first := g.explainer.Ancestry(0, o.Reads, w, views.Edge{})
				second := g.explainer.Ancestry(0, w, op, views.Edge{})
				path := append(first, second[1:]...)
				ops, text := g.explainer.Explain(&views.Violation{Path: path},
					"it read "+reghist.Assign(r.Keys[o.Key], o.Read)+", which "+reghist.Assign(r.Keys[o.Key], r.Ops[w].Written)+" had overwritten in its causal past ("+string(m)+")")
				return checker.Anomaly{Kind: "causal-stale-read", Key: r.Keys[o.Key], Ops: ops, Explanation: text}, true
			}
		}
	}
	return checker.Anomaly{}, false
}

// conflictCycle finds a cycle in co ∪ cf, where w1 cf w2 when a read of
// w2 has w1 (another write of the key) in its causal past.
func (g *graph) conflictCycle() (checker.Anomaly, bool) {
	r := g.r
	var edges []int64 // to<<32 | from
	for _, op := range g.order {
		o := &r.Ops[op]
		if !o.Reader() || o.Reads < 0 {
			continue
		}
		for q := range g.procs {
			if w := g.latestWrite(op, q, o.Key); w != reghist.None && w != o.Reads {
				edges = append(edges, int64(o.Reads)<<32|int64(w))
			}
		}
	}
	if len(edges) == 0 {
		return checker.Anomaly{}, false
	}
	slices.Sort(edges)
	edges = slices.Compact(edges)
	start := make([]int32, len(r.Ops)+1) // cf predecessors of op: edges[start[op]:start[op+1]]
	for _, e := range edges {
		start[e>>32+1]++
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	cyc := findCycle(len(r.Ops), func(op int32, buf []int32) []int32 {
		for _, e := range edges[start[op]:start[op+1]] {
			buf = append(buf, int32(e))
		}
		if p := g.ch.PrevOp[op]; p != reghist.None {
			buf = append(buf, p)
		}
		if w := r.Ops[op].Reads; w >= 0 {
			buf = append(buf, w)
		}
		return buf
	})
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
	ops, text := g.explainer.Explain(v, "no single order of the writes explains every read, so replicas cannot have converged (causal-convergence)")
	last := cyc[len(cyc)-1]
	return checker.Anomaly{Kind: "conflicting-orders", Key: r.Keys[r.Ops[last].Key], Ops: ops, Explanation: text}, true
}

// conflictReason returns a read of to that has from, another write of
// its key, in its causal past — the read behind the cf edge from → to —
// or None when from → to is an edge of co.
func (g *graph) conflictReason(from, to int32) int32 {
	r := g.r
	if !r.Ops[from].Writer() || !r.Ops[to].Writer() || r.Ops[from].Key != r.Ops[to].Key || g.before(from, to) {
		return reghist.None
	}
	for _, op := range g.order {
		if o := &r.Ops[op]; o.Reader() && o.Reads == to && g.before(from, op) {
			return op
		}
	}
	return reghist.None
}

// findCycle returns a cycle of the graph given by preds (each listed
// operation precedes the next, the last precedes the first), or nil.
func findCycle(n int, preds func(op int32, buf []int32) []int32) []int32 {
	const (
		unseen = iota
		open
		done
	)
	state := make([]uint8, n)
	type frame struct {
		op              int32
		next, end, base int
	}
	var stack []frame
	var arena []int32 // every open frame's predecessors, stacked
	push := func(op int32) {
		base := len(arena)
		arena = preds(op, arena)
		stack = append(stack, frame{op: op, next: base, end: len(arena), base: base})
		state[op] = open
	}
	for root := range n {
		if state[root] != unseen {
			continue
		}
		push(int32(root))
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == f.end {
				state[f.op] = done
				arena = arena[:f.base]
				stack = stack[:len(stack)-1]
				continue
			}
			p := arena[f.next]
			f.next++
			switch state[p] {
			case open:
				// p precedes f.op, and each frame precedes the one below
				// it, down to p: f.op … p is the cycle in order.
				var cyc []int32
				for i := len(stack) - 1; i >= 0; i-- {
					cyc = append(cyc, stack[i].op)
					if stack[i].op == p {
						break
					}
				}
				return cyc
			case unseen:
				push(p)
			}
		}
	}
	return nil
}
