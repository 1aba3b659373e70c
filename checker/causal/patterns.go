package causal

import (
	"sort"

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
	// writes[q][k] lists q's writes of key k in session order.
	writes    [][][]int32
	explainer *views.Checker
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
	g.writes = make([][][]int32, P)
	for q, ops := range r.Sessions {
		g.writes[q] = make([][]int32, len(r.Keys))
		for _, op := range ops {
			if o := &r.Ops[op]; o.Writer() {
				g.writes[q][o.Key] = append(g.writes[q][o.Key], op)
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
	ws := g.writes[q][k]
	bound := g.clock[int(op)*g.procs+q] // q's operations in op's past, op included
	if int32(q) == g.r.Ops[op].Process {
		bound = g.r.Ops[op].Pos
	}
	i := sort.Search(len(ws), func(i int) bool { return g.r.Ops[ws[i]].Pos >= bound })
	if i == 0 {
		return reghist.None
	}
	return ws[i-1]
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
				path := g.explainer.Ancestry(0, w, op)
				ops, text := g.explainer.Explain(&views.Violation{Path: path}, "it read the initial value although a write of that key was in its causal past ("+string(m)+")")
				return checker.Anomaly{Kind: "causal-initial-read", Key: r.Keys[o.Key], Ops: ops, Explanation: text}, true
			}
			if g.before(o.Reads, w) {
				first := g.explainer.Ancestry(0, o.Reads, w)
				second := g.explainer.Ancestry(0, w, op)
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
	cf := map[int32][]int32{}
	because := map[views.Edge]int32{}
	for _, op := range g.order {
		o := &r.Ops[op]
		if !o.Reader() || o.Reads < 0 {
			continue
		}
		for q := range g.procs {
			w := g.latestWrite(op, q, o.Key)
			if w == reghist.None || w == o.Reads {
				continue
			}
			e := views.Edge{From: w, To: o.Reads}
			if _, dup := because[e]; !dup {
				because[e] = op
				cf[o.Reads] = append(cf[o.Reads], w)
			}
		}
	}
	if len(cf) == 0 {
		return checker.Anomaly{}, false
	}
	cyc := findCycle(len(r.Ops), func(op int32, buf []int32) []int32 {
		buf = append(buf, cf[op]...)
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
		e := views.Edge{From: cyc[i], To: cyc[(i+1)%len(cyc)]}
		if rd, ok := because[e]; ok {
			v.Because[e] = rd
		}
	}
	ops, text := g.explainer.Explain(v, "no single order of the writes explains every read, so replicas cannot have converged (causal-convergence)")
	last := cyc[len(cyc)-1]
	return checker.Anomaly{Kind: "conflicting-orders", Key: r.Keys[r.Ops[last].Key], Ops: ops, Explanation: text}, true
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
		op    int32
		preds []int32
		next  int
	}
	for root := range n {
		if state[root] != unseen {
			continue
		}
		stack := []frame{{op: int32(root), preds: preds(int32(root), nil)}}
		state[root] = open
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == len(f.preds) {
				state[f.op] = done
				stack = stack[:len(stack)-1]
				continue
			}
			p := f.preds[f.next]
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
				state[p] = open
				stack = append(stack, frame{op: p, preds: preds(p, nil)})
			}
		}
	}
	return nil
}
