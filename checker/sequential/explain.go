package sequential

import (
	"context"
	"slices"

	"consist/checker"
	cycles "consist/checker/internal/graph"
	"consist/checker/internal/reghist"
)

// KindNoOrder is the kind of every anomaly this checker finds itself: no
// sequential order exists.
const KindNoOrder = checker.NoSequentialOrder

// sequentialTail ends every anomaly's explanation.
const sequentialTail = "no single order keeps each process's order and gives every read the latest value (sequential)"

// link is one edge of a cycle, with the derived edge it came from (-1 for
// a base edge).
type link struct{ to, derived int32 }

// The relations of the must-precede graph's edges, for the cycle search:
// a base edge, or a derived one (base preferred where both join two nodes).
const (
	relBase cycles.Rel = iota
	relDerived
)

// mustPrecede accepts every cycle of the must-precede graph.
var mustPrecede = cycles.AnyCycle("must-precede", relBase, relDerived)

// cycleWork bounds, in edges examined, the search for cycles shorter than
// the first one found (checker/internal/graph's Limits.Work).
const cycleWork = 1 << 24

// cycle returns a short cycle of the graph, whose last sort failed, as
// its nodes and the links between them (links[i] leads from nodes[i] to
// the next node). It is the shortest cycle through a node found by
// walking back from the first unsorted node, or a shorter one of the
// same strongly connected component found within cycleWork.
func (g *graph) cycle(ctx context.Context) ([]int32, []link) {
	b := cycles.NewBuilder(int(g.nodes()))
	in := map[int32]int32{}
	derivedOf := map[[2]int32]int32{}
	add := func(from, to int32, r cycles.Rel) bool {
		if g.pos[from] != -1 || g.pos[to] != -1 {
			return false
		}
		b.Add(from, to, r)
		in[to] = from
		return true
	}
	for _, e := range g.base {
		add(e.from, e.to, relBase)
	}
	for i, d := range g.derived {
		from := g.after(d.w1)
		if add(from, d.w2, relDerived) {
			if _, ok := derivedOf[[2]int32{from, d.w2}]; !ok {
				derivedOf[[2]int32{from, d.w2}] = int32(i)
			}
		}
	}
	// Every node left unsorted has an unsorted predecessor: walking back
	// from any of them must come round to a node seen before, on a cycle.
	start := int32(slices.Index(g.pos, -1))
	seen := map[int32]bool{}
	for !seen[start] {
		seen[start] = true
		start = in[start]
	}
	cg := b.Build()
	var comp []int32
	for _, c := range cg.SCCs() {
		if _, ok := slices.BinarySearch(c, start); ok {
			comp = c
			break
		}
	}
	starts := append([]int32{start}, slices.DeleteFunc(slices.Clone(comp), func(v int32) bool { return v == start })...)
	res := cg.ShortestCycle(ctx, comp, mustPrecede, starts, cycles.Limits{Work: cycleWork, FirstInFull: true})
	c := res.Cycle
	links := make([]link, len(c.Nodes))
	for i := range c.Nodes {
		to := c.Nodes[(i+1)%len(c.Nodes)]
		links[i] = link{to, -1}
		if c.Rels[i] == relDerived {
			links[i].derived = derivedOf[[2]int32{c.Nodes[i], to}]
		}
	}
	return c.Nodes, links
}

// explainCycle describes a cycle of the graph as the anomaly: each
// operation on it must precede the next, and why.
func (g *graph) explainCycle(nodes []int32, links []link) checker.Anomaly {
	// Start at an operation: virtual nodes are folded into the step
	// that crosses them.
	for i, v := range nodes {
		if g.isOp(v) {
			nodes = append(slices.Clone(nodes[i:]), nodes[:i]...)
			links = append(slices.Clone(links[i:]), links[:i]...)
			break
		}
	}
	w := g.r.Witness()
	var steps []checker.Phrase
	from := nodes[0]
	for i := range nodes {
		via := nodes[i]
		l := links[i]
		if !g.isOp(l.to) {
			continue // the next link leaves the virtual node
		}
		steps = append(steps, g.step(w, from, via, l))
		from = l.to
	}
	key := g.r.Keys[g.r.Ops[nodes[0]].Key]
	return w.Anomaly(KindNoOrder, key, checker.Say("every sequential order would need %s — a cycle, so %s", checker.Join(steps, "; "), sequentialTail))
}

// step explains why operation from precedes the operation l leads to,
// from node via (from itself, or a virtual node after it), recording the
// operations it names in w.
func (g *graph) step(w *checker.Witness, from, via int32, l link) checker.Phrase {
	r := g.r
	to := l.to
	head := checker.Say("%s before %s", r.Describe(w, from), r.Describe(w, to))
	rel := func(x checker.Relation) { w.Link(r.Ops[from].Src, x) }
	switch {
	case l.derived >= 0:
		d := g.derived[l.derived]
		rel(checker.WW)
		return checker.Say("%s (%s, as %s)", head, g.overwritten(from, d.w1, to), g.reason(w, d))
	case !g.isOp(via):
		// The only base edges out of a virtual node leave the initial
		// write's: to writes the key.
		rel(checker.RW)
		return checker.Say("%s (it read %s, which every write of %s replaces)", head, g.written(g.afterOf(via)), g.keyName(to))
	case g.isRead(to) && g.source(to) == from:
		rel(checker.WR)
		return checker.Say("%s (it read that write)", head)
	case g.isRead(from) && r.Ops[to].Kind == reghist.CAS && g.source(to) == g.source(from):
		rel(checker.RW)
		return checker.Say("%s (%s directly)", head, g.overwritten(from, g.source(from), to))
	case r.Ops[from].Kind == reghist.CAS && g.isInitial(g.source(from)) && g.isWrite(to) && r.Ops[to].Key == r.Ops[from].Key:
		rel(checker.WW)
		return checker.Say("%s (it directly follows %s, which every write of %s replaces)", head, g.written(g.source(from)), g.keyName(to))
	}
	rel(checker.ProcessOrder)
	return checker.Say("%s (process order)", head)
}

// overwritten says that op, which is write w1 or read it, comes before
// to, which overwrites w1 then or later.
func (g *graph) overwritten(op, w1, to int32) checker.Phrase {
	if op == w1 {
		return checker.Say("%s overwrites %s", g.written(to), g.written(w1))
	}
	return checker.Say("it read %s, which %s overwrites", g.written(w1), g.written(to))
}

// reason says why derived edge d holds.
func (g *graph) reason(w *checker.Witness, d derivedEdge) checker.Phrase {
	if d.because == d.w2 {
		return checker.Say("%s comes before %s", g.r.Describe(w, d.w1), g.r.Describe(w, d.w2))
	}
	return checker.Say("%s although %s comes before it", g.r.Describe(w, d.because), g.r.Describe(w, d.w1))
}

// written renders the value write node w wrote: "x=1", or "the initial
// value x=0".
func (g *graph) written(w int32) checker.Phrase {
	if g.isInitial(w) {
		return checker.Say("the initial value %s", reghist.Assign(g.r.Keys[g.keyOf(w)], g.r.Initial))
	}
	o := &g.r.Ops[w]
	return reghist.Assign(g.r.Keys[o.Key], o.Written)
}

func (g *graph) keyName(op int32) string { return reghist.KeyName(g.r.Keys[g.r.Ops[op].Key]) }

// doubleCAS describes two cas that read the same write: only one of them
// can directly follow it.
func doubleCAS(r *reghist.History, pair [2]int32) checker.Anomaly {
	a, b := pair[0], pair[1]
	o := &r.Ops[a]
	w := r.Witness()
	da, db := r.Describe(w, a), r.Describe(w, b)
	what := checker.Say("the initial value %s", reghist.Assign(r.Keys[o.Key], o.Read))
	if o.Reads >= 0 {
		what = checker.Say("%s (%s)", reghist.Assign(r.Keys[o.Key], o.Read), r.Describe(w, o.Reads))
	}
	return w.Anomaly(KindNoOrder, r.Keys[o.Key], checker.Say("%s and %s both found %s, but in any order the later of them finds the other's value — so %s",
		da, db, what, sequentialTail))
}
