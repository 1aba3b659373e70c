// Package graph holds directed graphs whose edges carry relations (ww,
// wr, rw, process order, real time, …) and the algorithms the cycle-based
// checkers share: strongly connected components and the shortest cycle
// whose sequence of relations a small automaton accepts.
//
// The cycle search follows Elle (Kingsbury & Alvaro, "Elle: Inferring
// Isolation Anomalies from Experimental Observations", VLDB 2020, §4.2):
// anomalies are cycles of the dependency graph, told apart by the kinds of
// their edges (Adya, "Weak Consistency", MIT 1999: G0 is a cycle of ww
// edges, G1c of ww and wr edges, G-single has exactly one rw edge, G2 at
// least one), so the search for each kind is the search for a cycle whose
// relations spell a word of a regular language; it runs breadth first on
// the product of the graph and the language's automaton, inside one
// strongly connected component at a time, since every cycle lies in one.
//
// It is consist's one cycle finder: checker/txn's anomalies,
// checker/sequential's must-precede cycles and checker/causal's cyclic
// causal orders and conflicting write orders are all searched here.
package graph

import (
	"context"
	"math/bits"
	"slices"
)

// Rel is one relation, a small integer chosen by the caller (at most 32
// of them).
type Rel uint8

// Mask is a set of relations.
type Mask uint32

// Of returns the set of the given relations.
func Of(rels ...Rel) Mask {
	var m Mask
	for _, r := range rels {
		m |= 1 << r
	}
	return m
}

// Has reports whether r is in m.
func (m Mask) Has(r Rel) bool { return m&(1<<r) != 0 }

// Builder collects edges; Build freezes them into a Graph.
type Builder struct {
	n    int
	from []int32
	to   []int32
	rels []Mask
}

// NewBuilder returns a builder of a graph on nodes 0..n-1.
func NewBuilder(n int) *Builder { return &Builder{n: n} }

// Grow makes room for edges more edges, so that adding them allocates
// nothing.
func (b *Builder) Grow(edges int) {
	b.from = slices.Grow(b.from, edges)
	b.to = slices.Grow(b.to, edges)
	b.rels = slices.Grow(b.rels, edges)
}

// Add adds the edge from → to with relation r. Adding the same pair again
// with another relation gives one edge carrying both.
func (b *Builder) Add(from, to int32, r Rel) {
	b.from = append(b.from, from)
	b.to = append(b.to, to)
	b.rels = append(b.rels, 1<<r)
}

// AddMask adds the edge from → to with every relation of m.
func (b *Builder) AddMask(from, to int32, m Mask) {
	if m == 0 {
		return
	}
	b.from = append(b.from, from)
	b.to = append(b.to, to)
	b.rels = append(b.rels, m)
}

// Graph is an immutable directed graph in compressed sparse rows: node
// v's edges are to[off[v]:off[v+1]], sorted by target, with one Mask of
// relations each.
type Graph struct {
	off  []int32
	to   []int32
	rels []Mask
}

// Len returns the number of edges added so far.
func (b *Builder) Len() int { return len(b.from) }

// Edge returns the i-th edge added: its source and target.
func (b *Builder) Edge(i int) (from, to int32) { return b.from[i], b.to[i] }

// Build sorts and merges the edges into a Graph: b's, and those of more
// (builders of the same nodes, filled apart, on other goroutines for
// example). The builders may be reused afterwards only to build the same
// graph again. It is two stable counting sorts, by target then by
// source, so each row comes out sorted by target: linear in nodes and
// edges, with no allocation per row.
func (b *Builder) Build(more ...*Builder) *Graph {
	parts := append([]*Builder{b}, more...)
	total := 0
	for _, p := range parts {
		total += len(p.to)
	}
	// edge numbers run through the parts in order.
	part := func(i int32) (*Builder, int32) {
		for _, p := range parts {
			if int(i) < len(p.to) {
				return p, i
			}
			i -= int32(len(p.to))
		}
		panic("graph: edge out of range")
	}
	g := &Graph{off: make([]int32, b.n+1)}
	// By target: byTo lists the edges in ascending order of target.
	at := make([]int32, b.n+1)
	for _, p := range parts {
		for _, t := range p.to {
			at[t+1]++
		}
	}
	for v := 0; v < b.n; v++ {
		at[v+1] += at[v]
	}
	byTo := make([]int32, total)
	base := int32(0)
	for _, p := range parts {
		for i, t := range p.to {
			byTo[at[t]] = base + int32(i)
			at[t]++
		}
		base += int32(len(p.to))
	}
	// By source, keeping that order within each row.
	for _, p := range parts {
		for _, f := range p.from {
			g.off[f+1]++
		}
	}
	for v := 0; v < b.n; v++ {
		g.off[v+1] += g.off[v]
	}
	to := make([]int32, total)
	rels := make([]Mask, total)
	fill := at[:b.n] // reused: the targets' offsets are no longer needed
	copy(fill, g.off[:b.n])
	for _, e := range byTo {
		p, i := b, e
		if len(parts) > 1 {
			p, i = part(e)
		}
		f := p.from[i]
		j := fill[f]
		fill[f]++
		to[j], rels[j] = p.to[i], p.rels[i]
	}
	// Merge duplicates in place.
	w := int32(0)
	for v := 0; v < b.n; v++ {
		lo, hi := g.off[v], g.off[v+1]
		g.off[v] = w
		for i := lo; i < hi; i++ {
			if w > g.off[v] && to[w-1] == to[i] {
				rels[w-1] |= rels[i]
				continue
			}
			to[w], rels[w] = to[i], rels[i]
			w++
		}
	}
	g.off[b.n] = w
	g.to, g.rels = to[:w:w], rels[:w:w]
	return g
}

// Nodes returns the number of nodes.
func (g *Graph) Nodes() int { return len(g.off) - 1 }

// Edges returns the number of edges (pairs of nodes; one edge may carry
// several relations).
func (g *Graph) Edges() int { return len(g.to) }

// Out returns v's successors and the relations of each edge; the slices
// belong to the graph.
func (g *Graph) Out(v int32) ([]int32, []Mask) {
	lo, hi := g.off[v], g.off[v+1]
	return g.to[lo:hi], g.rels[lo:hi]
}

// Rels returns the relations of the edge from → to, 0 when there is none.
func (g *Graph) Rels(from, to int32) Mask {
	ts, rs := g.Out(from)
	if i, ok := slices.BinarySearch(ts, to); ok {
		return rs[i]
	}
	return 0
}

// Restrict returns the graph of the edges carrying a relation of keep,
// each keeping only those relations.
func (g *Graph) Restrict(keep Mask) *Graph {
	out := &Graph{off: make([]int32, len(g.off))}
	n := 0
	for _, m := range g.rels {
		if m&keep != 0 {
			n++
		}
	}
	out.to, out.rels = make([]int32, 0, n), make([]Mask, 0, n)
	for v := 0; v < g.Nodes(); v++ {
		ts, rs := g.Out(int32(v))
		for i, t := range ts {
			if m := rs[i] & keep; m != 0 {
				out.to = append(out.to, t)
				out.rels = append(out.rels, m)
			}
		}
		out.off[v+1] = int32(len(out.to))
	}
	return out
}

// SCCs returns the strongly connected components that can hold a cycle
// (two nodes or more, or one with an edge to itself), each sorted, in
// ascending order of their smallest node. It is Tarjan's algorithm
// (SIAM J. Comput. 1(2), 1972), iterative so that deep graphs cannot
// overflow the stack; linear in nodes and edges.
func (g *Graph) SCCs() [][]int32 {
	n := g.Nodes()
	const unseen = -1
	index := make([]int32, n)
	low := make([]int32, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = unseen
	}
	var stack []int32
	type frame struct {
		v    int32
		next int32 // position in v's row
	}
	var call []frame
	var out [][]int32
	counter := int32(0)
	for root := int32(0); root < int32(n); root++ {
		if index[root] != unseen {
			continue
		}
		call = append(call, frame{v: root, next: g.off[root]})
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.next < g.off[v+1] {
				w := g.to[f.next]
				f.next++
				switch {
				case index[w] == unseen:
					index[w], low[w] = counter, counter
					counter++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{v: w, next: g.off[w]})
				case onStack[w]:
					low[v] = min(low[v], index[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] != index[v] {
				continue
			}
			i := len(stack) - 1
			for stack[i] != v {
				i--
			}
			comp := stack[i:]
			for _, w := range comp {
				onStack[w] = false
			}
			if len(comp) > 1 || g.Rels(v, v) != 0 {
				comp = slices.Clone(comp) // only these: most components are single nodes
				slices.Sort(comp)
				out = append(out, comp)
			}
			stack = stack[:i]
		}
	}
	slices.SortFunc(out, func(a, b []int32) int { return int(a[0]) - int(b[0]) })
	return out
}

// Automaton is a deterministic finite automaton over relations: the
// language of cycles of one anomaly kind, read edge by edge from a start
// node back to it. State 0 is the start state; a missing transition
// rejects. Build one with NewAutomaton.
type Automaton struct {
	name   string
	next   [][32]int8 // next[s][r]: the state r leads to from s, or -1
	out    []Mask     // out[s]: the relations with a transition from s
	accept []bool
}

// Transition is one edge of an automaton: From --Rel--> To.
type Transition struct {
	From int
	Rel  Rel
	To   int
}

// NewAutomaton returns the automaton of states states with the given
// transitions, accepting in the states of accept. It panics on a state or
// relation out of range, which is a programming error.
func NewAutomaton(name string, states int, accept []int, transitions ...Transition) *Automaton {
	if states > 64 {
		panic("graph: an automaton has at most 64 states")
	}
	a := &Automaton{name: name, next: make([][32]int8, states), out: make([]Mask, states), accept: make([]bool, states)}
	for s := range a.next {
		for r := range a.next[s] {
			a.next[s][r] = -1
		}
	}
	for _, t := range transitions {
		a.next[t.From][t.Rel] = int8(t.To)
		a.out[t.From] |= 1 << t.Rel
	}
	for _, s := range accept {
		a.accept[s] = true
	}
	return a
}

// AnyCycle returns the automaton of every cycle whose edges carry one of
// rels: one state, accepting. Its search is the plain shortest-cycle
// search, and it finds a cycle in every component.
func AnyCycle(name string, rels ...Rel) *Automaton {
	ts := make([]Transition, len(rels))
	for i, r := range rels {
		ts[i] = Transition{0, r, 0}
	}
	return NewAutomaton(name, 1, []int{0}, ts...)
}

// Name returns the automaton's name.
func (a *Automaton) Name() string { return a.name }

// States returns the number of states.
func (a *Automaton) States() int { return len(a.next) }

// step returns the states reachable from s over an edge carrying rels, as
// a bit set (an edge with several relations may be read as any of them).
func (a *Automaton) step(s int, rels Mask) uint64 {
	var out uint64
	for m := rels & a.out[s]; m != 0; m &= m - 1 {
		out |= 1 << a.next[s][bits.TrailingZeros32(uint32(m))]
	}
	return out
}

// Accepts reports whether the relations, read in order, spell a word of
// a's language, one relation chosen per edge.
func (a *Automaton) Accepts(edges []Mask) bool {
	cur := uint64(1)
	for _, m := range edges {
		var next uint64
		for s := 0; s < a.States(); s++ {
			if cur&(1<<s) != 0 {
				next |= a.step(s, m)
			}
		}
		cur = next
	}
	for s := 0; s < a.States(); s++ {
		if cur&(1<<s) != 0 && a.accept[s] {
			return true
		}
	}
	return false
}

// Cycle is a cycle of the graph: Nodes[i] → Nodes[i+1] by Rels[i], the
// last node back to the first by the last relation. Rels are the single
// relations the automaton read.
type Cycle struct {
	Nodes []int32
	Rels  []Rel
}

// Limits bound a search: Work counts edges examined (0: no bound).
type Limits struct {
	Work int64
	// FirstInFull searches the first start to its end whatever Work says,
	// so that a cycle through it, when there is one, is always found;
	// Work then bounds the search for shorter cycles through the other
	// starts. With AnyCycle a search with FirstInFull always finds a
	// cycle, at the cost of one breadth-first search of the component.
	FirstInFull bool
}

// Search is the outcome of a cycle search.
type Search struct {
	// Cycle is the shortest cycle found, nil when none was.
	Cycle *Cycle
	// Complete is false when the search stopped at its work limit or its
	// context before trying every start: Cycle, when there is one, is a
	// true cycle but perhaps not the shortest, and nil does not prove
	// there is none.
	Complete bool
	// Work is the number of edges the search examined.
	Work int64
}

// ShortestCycle finds the shortest cycle inside comp (a component from
// SCCs) whose relations a accepts. starts, when not nil, lists the only
// nodes a cycle must pass through to be of interest (for example the
// sources of rw edges, when the kind needs one): fewer starts, less work.
// The search is breadth first from each start on the product of comp and
// a, so each cycle it finds is a shortest closed walk through its start;
// a walk that repeats a node is cut at the repetition into a simple cycle
// that is still accepted, and when none is, the start yields nothing and
// the search is not Complete. Every cycle returned is simple.
func (g *Graph) ShortestCycle(ctx context.Context, comp []int32, a *Automaton, starts []int32, lim Limits) Search {
	res := Search{Complete: true}
	g.shortestIn(ctx, comp, a, starts, lim, &res)
	return res
}

// ShortestCycleOfAll searches every component of g (those SCCs returns),
// smallest first, and returns the shortest cycle a accepts in any of
// them; nil when g has none. Limits apply to the whole search, and
// FirstInFull to the first start of the first component.
func (g *Graph) ShortestCycleOfAll(ctx context.Context, a *Automaton, lim Limits) Search {
	comps := g.SCCs()
	slices.SortStableFunc(comps, func(x, y []int32) int { return len(x) - len(y) })
	res := Search{Complete: true}
	for _, comp := range comps {
		if res.Cycle != nil && len(res.Cycle.Nodes) == 1 {
			break
		}
		g.shortestIn(ctx, comp, a, nil, lim, &res)
		lim.FirstInFull = false
	}
	return res
}

// shortestIn searches comp from each start for a cycle shorter than
// res.Cycle, updating res; lim.Work bounds res.Work, the work so far.
func (g *Graph) shortestIn(ctx context.Context, comp []int32, a *Automaton, starts []int32, lim Limits, res *Search) {
	s := newSearcher(g, comp, a)
	s.ctx = ctx
	s.work = res.Work
	if starts == nil {
		starts = comp
	}
	for i, start := range starts {
		full := i == 0 && lim.FirstInFull
		if i&63 == 0 && ctx.Err() != nil && !full {
			res.Complete = false
			break
		}
		if lim.Work > 0 && s.work >= lim.Work && !full {
			res.Complete = false
			break
		}
		bound := 0
		if res.Cycle != nil {
			bound = len(res.Cycle.Nodes) - 1
			if bound < 1 {
				break // a self-loop: nothing is shorter
			}
		}
		workLimit := lim.Work
		if full {
			workLimit = 0
		}
		c := s.from(start, bound, workLimit)
		if c == nil {
			if s.stopped {
				res.Complete = false // the context ended inside the search
				break
			}
			if workLimit > 0 && s.work >= workLimit {
				res.Complete = false // cut short: a cycle through start may be missed
			}
			continue
		}
		if c, ok := simplify(c, a); ok {
			res.Cycle = c
		} else {
			// The shortest walk through start repeats a node and no
			// simple cycle inside it is of the kind: a longer simple
			// cycle through start may exist that this search cannot see.
			res.Complete = false
		}
	}
	res.Work = s.work
}

// searcher holds the buffers of searches in one component, reused across
// starts; a visit mark is the start's generation, so nothing is cleared.
type searcher struct {
	g      *Graph
	a      *Automaton
	local  func(int32) (int32, bool) // node → position in comp
	comp   []int32
	mark   []uint32 // per (local node, state)
	parent []int32  // per (local node, state): the previous product node
	via    []Rel    // per (local node, state): the relation read to reach it
	gen    uint32
	queue  []int32
	work   int64
	// ctx is looked at every so many nodes of one search; stopped says
	// it ended one.
	ctx     context.Context
	stopped bool
}

// ctxEvery is how many product nodes a search visits between two looks
// at its context.
const ctxEvery = 1 << 14

func newSearcher(g *Graph, comp []int32, a *Automaton) *searcher {
	k := len(comp) * a.States()
	s := &searcher{g: g, a: a, comp: comp, mark: make([]uint32, k), parent: make([]int32, k), via: make([]Rel, k)}
	if len(comp)*16 < g.Nodes() {
		m := make(map[int32]int32, len(comp))
		for i, v := range comp {
			m[v] = int32(i)
		}
		s.local = func(v int32) (int32, bool) { i, ok := m[v]; return i, ok }
	} else {
		dense := make([]int32, g.Nodes())
		for i := range dense {
			dense[i] = -1
		}
		for i, v := range comp {
			dense[v] = int32(i)
		}
		s.local = func(v int32) (int32, bool) { i := dense[v]; return i, i >= 0 }
	}
	return s
}

// from searches breadth first for an accepted closed walk through start
// shorter than bound edges (0: any length).
func (s *searcher) from(start int32, bound int, workLimit int64) *Cycle {
	s.gen++
	q := int32(s.a.States())
	ls, ok := s.local(start)
	if !ok {
		return nil
	}
	origin := ls * q
	s.queue = append(s.queue[:0], origin)
	s.mark[origin] = s.gen
	levelEnd, level := 1, 0
	for head := 0; head < len(s.queue); head++ {
		if head == levelEnd {
			level++
			levelEnd = len(s.queue)
			if bound > 0 && level >= bound {
				return nil
			}
		}
		if head&(ctxEvery-1) == ctxEvery-1 && s.ctx != nil && s.ctx.Err() != nil {
			s.stopped = true
			return nil
		}
		p := s.queue[head]
		v, st := s.comp[p/q], int(p%q)
		ts, rs := s.g.Out(v)
		for i, w := range ts {
			s.work++
			lw, ok := s.local(w)
			if !ok {
				continue
			}
			for m := rs[i] & s.a.out[st]; m != 0; m &= m - 1 {
				r := Rel(bits.TrailingZeros32(uint32(m)))
				nst := s.a.next[st][r]
				np := lw*q + int32(nst)
				if w == start && s.a.accept[nst] {
					return s.trace(p, origin, w, r)
				}
				if s.mark[np] == s.gen {
					continue
				}
				s.mark[np], s.parent[np], s.via[np] = s.gen, p, r
				s.queue = append(s.queue, np)
			}
		}
		if workLimit > 0 && s.work >= workLimit {
			return nil
		}
	}
	return nil
}

// trace rebuilds the walk that ends with last → start by relation r.
func (s *searcher) trace(last, origin, start int32, r Rel) *Cycle {
	q := int32(s.a.States())
	var nodes []int32
	rels := []Rel{r}
	for p := last; ; p = s.parent[p] {
		nodes = append(nodes, s.comp[p/q])
		if p == origin {
			break
		}
		rels = append(rels, s.via[p])
	}
	slices.Reverse(nodes)
	slices.Reverse(rels)
	return &Cycle{Nodes: nodes, Rels: rels}
}

// simplify cuts a closed walk that repeats a node into a simple cycle the
// automaton still accepts; ok is false when no cut keeps it accepted. For
// languages that count relations (every edge ww; at least one wr; exactly
// one rw; at least one rw) a cut always succeeds, since one of the two
// pieces keeps the count.
func simplify(c *Cycle, a *Automaton) (*Cycle, bool) {
	for {
		i, j := repeat(c.Nodes)
		if i < 0 {
			return c, true
		}
		inner := &Cycle{Nodes: slices.Clone(c.Nodes[i:j]), Rels: slices.Clone(c.Rels[i:j])}
		outer := &Cycle{Nodes: append(slices.Clone(c.Nodes[:i]), c.Nodes[j:]...), Rels: append(slices.Clone(c.Rels[:i]), c.Rels[j:]...)}
		switch {
		case acceptsRotation(a, inner.Rels):
			c = rotate(inner, a)
		case acceptsRotation(a, outer.Rels):
			c = rotate(outer, a)
		default:
			return nil, false
		}
	}
}

// repeat returns the first pair of positions i < j holding the same node,
// or -1, -1.
func repeat(nodes []int32) (int, int) {
	seen := map[int32]int{}
	for j, v := range nodes {
		if i, ok := seen[v]; ok {
			return i, j
		}
		seen[v] = j
	}
	return -1, -1
}

// acceptsRotation reports whether some rotation of rels is accepted.
func acceptsRotation(a *Automaton, rels []Rel) bool {
	return rotation(a, rels) >= 0
}

func rotation(a *Automaton, rels []Rel) int {
	ms := make([]Mask, len(rels))
	for k := range rels {
		for i := range rels {
			ms[i] = Of(rels[(i+k)%len(rels)])
		}
		if a.Accepts(ms) {
			return k
		}
	}
	return -1
}

// rotate starts c where the automaton accepts it.
func rotate(c *Cycle, a *Automaton) *Cycle {
	k := rotation(a, c.Rels)
	n := len(c.Nodes)
	out := &Cycle{Nodes: make([]int32, n), Rels: make([]Rel, n)}
	for i := 0; i < n; i++ {
		out.Nodes[i] = c.Nodes[(i+k)%n]
		out.Rels[i] = c.Rels[(i+k)%n]
	}
	return out
}
