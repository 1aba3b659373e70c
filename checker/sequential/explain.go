package sequential

import (
	"fmt"
	"slices"
	"strings"

	"consist/checker"
	"consist/checker/internal/reghist"
)

// KindNoOrder is the kind of every anomaly this checker reports: no
// sequential order exists.
const KindNoOrder = "no-sequential-order"

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
	involved := []int32{}
	var steps []string
	from := nodes[0]
	for i := range nodes {
		via := nodes[i]
		l := links[i]
		if !g.isOp(l.to) {
			continue // the next link leaves the virtual node
		}
		text, ops := g.step(from, via, l)
		steps = append(steps, text)
		involved = append(involved, from)
		involved = append(involved, ops...)
		from = l.to
	}
	key := g.r.Keys[g.r.Ops[nodes[0]].Key]
	return checker.Anomaly{
		Kind: KindNoOrder,
		Key:  key,
		Ops:  g.r.Indices(involved...),
		Explanation: "every sequential order would need " + strings.Join(steps, "; ") +
			" — a cycle, so " + sequentialTail,
	}
}

// step explains why operation from precedes the operation l leads to,
// from node via (from itself, or a virtual node after it). It returns the
// text and the further operations it names.
func (g *graph) step(from, via int32, l link) (string, []int32) {
	r := g.r
	to := l.to
	head := r.Describe(from) + " before " + r.Describe(to)
	switch {
	case l.derived >= 0:
		d := g.derived[l.derived]
		return head + " (" + g.overwritten(from, d.w1, to) + ", as " + g.reason(d) + ")", []int32{d.w1, d.because}
	case !g.isOp(via):
		// The only base edges out of a virtual node leave the initial
		// write's: to writes the key.
		return head + fmt.Sprintf(" (it read %s, which every write of %s replaces)", g.written(g.afterOf(via)), g.keyName(to)), nil
	case g.isRead(to) && g.source(to) == from:
		return head + " (it read that write)", nil
	case g.isRead(from) && r.Ops[to].Kind == reghist.CAS && g.source(to) == g.source(from):
		return head + " (" + g.overwritten(from, g.source(from), to) + " directly)", nil
	case r.Ops[from].Kind == reghist.CAS && g.isInitial(g.source(from)) && g.isWrite(to) && r.Ops[to].Key == r.Ops[from].Key:
		return head + fmt.Sprintf(" (it directly follows %s, which every write of %s replaces)", g.written(g.source(from)), g.keyName(to)), nil
	}
	return head + " (process order)", nil
}

// overwritten says that op, which is write w1 or read it, comes before
// to, which overwrites w1 then or later.
func (g *graph) overwritten(op, w1, to int32) string {
	if op == w1 {
		return fmt.Sprintf("%s overwrites %s", g.written(to), g.written(w1))
	}
	return fmt.Sprintf("it read %s, which %s overwrites", g.written(w1), g.written(to))
}

// reason says why derived edge d holds.
func (g *graph) reason(d derivedEdge) string {
	if d.because == d.w2 {
		return fmt.Sprintf("%s comes before %s", g.r.Describe(d.w1), g.r.Describe(d.w2))
	}
	return fmt.Sprintf("%s although %s comes before it", g.r.Describe(d.because), g.r.Describe(d.w1))
}

// written renders the value write node w wrote: "x=1", or "the initial
// value x=0".
func (g *graph) written(w int32) string {
	if g.isInitial(w) {
		return "the initial value " + reghist.Assign(g.r.Keys[g.keyOf(w)], g.r.Initial)
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
	what := "the initial value " + reghist.Assign(r.Keys[o.Key], o.Read)
	ops := []int32{a, b}
	if o.Reads >= 0 {
		what = reghist.Assign(r.Keys[o.Key], o.Read) + " (" + r.Describe(o.Reads) + ")"
		ops = append(ops, o.Reads)
	}
	return checker.Anomaly{
		Kind: KindNoOrder,
		Key:  r.Keys[o.Key],
		Ops:  r.Indices(ops...),
		Explanation: fmt.Sprintf("%s and %s both found %s, but in any order the later of them finds the other's value — so %s",
			r.Describe(a), r.Describe(b), what, sequentialTail),
	}
}
