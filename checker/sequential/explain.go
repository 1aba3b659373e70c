package sequential

import (
	"slices"

	"consist/checker"
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

// cycle returns a shortest cycle through one node of a cycle of the
// graph, whose last sort failed, as its nodes and the links between them
// (links[i] leads from nodes[i] to the next node).
func (g *graph) cycle() ([]int32, []link) {
	out := map[int32][]link{}
	in := map[int32]int32{}
	add := func(from, to, derived int32) {
		if g.pos[from] == -1 && g.pos[to] == -1 {
			out[from] = append(out[from], link{to, derived})
			in[to] = from
		}
	}
	for _, e := range g.base {
		add(e.from, e.to, -1)
	}
	for i, d := range g.derived {
		add(g.after(d.w1), d.w2, int32(i))
	}
	// Every node left unsorted has an unsorted predecessor: walking back
	// from any of them must come round to a node seen before, on a cycle.
	start := int32(slices.Index(g.pos, -1))
	seen := map[int32]bool{}
	for !seen[start] {
		seen[start] = true
		start = in[start]
	}
	return shortestCycle(start, out)
}

// shortestCycle finds, breadth first, a shortest cycle through start.
func shortestCycle(start int32, out map[int32][]link) ([]int32, []link) {
	type back struct {
		from int32
		via  link
	}
	parent := map[int32]back{}
	queue := []int32{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, l := range out[v] {
			if l.to == start {
				nodes, links := []int32{v}, []link{l}
				for x := v; x != start; {
					b := parent[x]
					nodes, links = append(nodes, b.from), append(links, b.via)
					x = b.from
				}
				slices.Reverse(nodes)
				slices.Reverse(links)
				return nodes, links
			}
			if _, ok := parent[l.to]; !ok {
				parent[l.to] = back{v, l}
				queue = append(queue, l.to)
			}
		}
	}
	return nil, nil
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
