package sequential

import (
	"context"
	"slices"

	"consist/checker/internal/reghist"
)

// graph is the must-precede graph of a history with unique values: an
// edge u → v says every sequential order puts u before v. Its nodes are
// the operations, then one virtual node per key standing for the key's
// initial write, and the "after" nodes below.
//
// For a write w (or a key's initial write), after(w) stands for "once w
// and every read of w is done": all of them precede it. If a cas read w,
// that cas is after(w) — it directly follows w in every order, so the
// other reads of w come before it; otherwise after(w) is a virtual node.
// An edge after(w1) → w2 then says that w2 overwrites w1 later (w1
// precedes w2 in the key's write order ws), with the from-read edges
// (fr) that implies.
//
// The base edges are session order (so), reads-from (rf: a write precedes
// its reads), each read before after() of its write, each write before
// its after(), and after(initial) before every write of the key: a read
// of the initial value precedes every write. The derived edges are
// write-order edges that saturation proves.
type graph struct {
	r *reghist.History
	// n is the number of operations, k the number of keys.
	n, k int32
	// casReader holds, per write node, the cas that read it, or None.
	casReader []int32
	base      []edge
	derived   []derivedEdge
	// seen holds the derived edges' (w1, w2), to derive each once.
	seen map[[2]int32]struct{}
	// Compressed successor lists of base ∪ derived, rebuilt by link.
	succStart, succ []int32
	// order is a topological order of the nodes and pos each node's
	// place in it, or -1 when a cycle kept it out (set by sort).
	order, pos []int32
}

// edge is an edge of the must-precede graph.
type edge struct{ from, to int32 }

// derivedEdge says w1 precedes w2 in the write order of their key; it
// adds the edge after(w1) → w2. because is the operation whose
// predecessors showed it: a read of w2 (or w2 itself) that w1 precedes.
type derivedEdge struct{ w1, w2, because int32 }

// Node numbering: operations are 0 to n-1 and their virtual after()
// nodes n to 2n-1 (used by writes only), then come each key's initial
// write and its virtual after() node.
func (g *graph) nodes() int32                { return 2*g.n + 2*g.k }
func (g *graph) initialNode(key int32) int32 { return 2*g.n + key }

// endNode is the virtual after() node of a write node.
func (g *graph) endNode(w int32) int32 {
	if w < g.n {
		return g.n + w
	}
	return w + g.k
}

// isOp reports whether node v is an operation.
func (g *graph) isOp(v int32) bool { return v < g.n }

// isInitial reports whether node v is a key's initial write.
func (g *graph) isInitial(v int32) bool { return v >= 2*g.n && v < 2*g.n+g.k }

// isWrite reports whether node v is an operation that writes.
func (g *graph) isWrite(v int32) bool { return v < g.n && g.r.Ops[v].Writer() }

// isRead reports whether node v is an operation that reads.
func (g *graph) isRead(v int32) bool { return v < g.n && g.r.Ops[v].Reader() }

// keyOf returns the key of an operation or initial write.
func (g *graph) keyOf(v int32) int32 {
	if v < g.n {
		return g.r.Ops[v].Key
	}
	return v - 2*g.n
}

// source returns the write node a reading operation read.
func (g *graph) source(op int32) int32 {
	if w := g.r.Ops[op].Reads; w != reghist.Initial {
		return w
	}
	return g.initialNode(g.r.Ops[op].Key)
}

// after returns the node that follows write node w and all its reads.
func (g *graph) after(w int32) int32 {
	if c := g.casReader[w]; c != reghist.None {
		return c
	}
	return g.endNode(w)
}

// afterOf returns the write node w with after(w) = v, or None.
func (g *graph) afterOf(v int32) int32 {
	w := reghist.None
	switch {
	case v < g.n:
		if g.r.Ops[v].Kind == reghist.CAS {
			return g.source(v)
		}
	case v < 2*g.n:
		w = v - g.n
	case v >= 2*g.n+g.k:
		w = v - g.k
	}
	if w != reghist.None && g.casReader[w] != reghist.None {
		return reghist.None // the cas is after(w); this node is unused
	}
	return w
}

// newGraph builds the base graph of r, whose values are unique. Two cas
// that read the same write can never both directly follow it; newGraph
// returns them, and no graph, when it finds such a pair.
func newGraph(r *reghist.History) (*graph, [2]int32) {
	g := &graph{r: r, n: int32(len(r.Ops)), k: int32(len(r.Keys))}
	g.casReader = make([]int32, g.nodes())
	for i := range g.casReader {
		g.casReader[i] = reghist.None
	}
	for i := range r.Ops {
		if r.Ops[i].Kind != reghist.CAS {
			continue
		}
		w := g.source(int32(i))
		if other := g.casReader[w]; other != reghist.None {
			return nil, [2]int32{other, int32(i)}
		}
		g.casReader[w] = int32(i)
	}
	g.base = make([]edge, 0, 5*len(r.Ops))
	for _, ops := range r.Sessions {
		for i := 1; i < len(ops); i++ {
			g.base = append(g.base, edge{ops[i-1], ops[i]})
		}
	}
	for i := range r.Ops {
		op := int32(i)
		if g.isRead(op) {
			w := g.source(op)
			g.base = append(g.base, edge{w, op})
			if r.Ops[i].Kind == reghist.Read {
				g.base = append(g.base, edge{op, g.after(w)})
			}
		}
		if g.isWrite(op) && g.casReader[op] == reghist.None {
			g.base = append(g.base, edge{op, g.endNode(op)})
		}
	}
	for key, writes := range r.WritesOf {
		init := g.initialNode(int32(key))
		if g.casReader[init] == reghist.None {
			g.base = append(g.base, edge{init, g.endNode(init)})
		}
		for _, w := range writes {
			if w != g.casReader[init] {
				g.base = append(g.base, edge{g.after(init), w})
			}
		}
	}
	return g, [2]int32{}
}

// link rebuilds the successor lists from the base and derived edges.
func (g *graph) link() {
	nodes := g.nodes()
	if g.succStart == nil {
		g.succStart = make([]int32, nodes+1)
	}
	start := g.succStart
	clear(start)
	for _, e := range g.base {
		start[e.from+1]++
	}
	for _, d := range g.derived {
		start[g.after(d.w1)+1]++
	}
	for v := int32(1); v <= nodes; v++ {
		start[v] += start[v-1]
	}
	g.succ = slices.Grow(g.succ[:0], int(start[nodes]))[:start[nodes]]
	fill := slices.Clone(start[:nodes])
	put := func(from, to int32) {
		g.succ[fill[from]] = to
		fill[from]++
	}
	for _, e := range g.base {
		put(e.from, e.to)
	}
	for _, d := range g.derived {
		put(g.after(d.w1), d.w2)
	}
}

// successors returns v's successors.
func (g *graph) successors(v int32) []int32 { return g.succ[g.succStart[v]:g.succStart[v+1]] }

// sort orders the nodes topologically (Kahn's algorithm) and reports
// whether every node was ordered; when not, the graph has a cycle among
// the nodes left with pos -1. Among the operations ready it takes the
// first invoked, virtual nodes as soon as they are ready, so that the
// order follows the history's time where the graph leaves it free: the
// writes near a node in the order are those near it in time.
func (g *graph) sort(ctx context.Context) (bool, error) {
	nodes := g.nodes()
	g.order = slices.Grow(g.order[:0], int(nodes))
	var ops opHeap
	var virtual []int32
	ready := func(v int32) {
		if g.isOp(v) {
			ops.push(v)
		} else {
			virtual = append(virtual, v)
		}
	}
	indeg := g.indegrees(ready)
	for len(virtual) > 0 || len(ops) > 0 {
		if len(g.order)&0xffff == 0xffff && ctx.Err() != nil {
			return false, ctx.Err()
		}
		var v int32
		if n := len(virtual); n > 0 {
			v, virtual = virtual[n-1], virtual[:n-1]
		} else {
			v = ops.pop()
		}
		g.order = append(g.order, v)
		for _, s := range g.successors(v) {
			if indeg[s]--; indeg[s] == 0 {
				ready(s)
			}
		}
	}
	if g.pos == nil {
		g.pos = make([]int32, nodes)
	}
	for v := range g.pos {
		g.pos[v] = -1
	}
	for i, v := range g.order {
		g.pos[v] = int32(i)
	}
	return len(g.order) == int(nodes), nil
}

// opHeap is a min-heap of operations: the first invoked on top.
type opHeap []int32

func (h *opHeap) push(v int32) {
	*h = append(*h, v)
	s := *h
	for i := len(s) - 1; i > 0; {
		parent := (i - 1) / 2
		if s[parent] <= s[i] {
			break
		}
		s[i], s[parent] = s[parent], s[i]
		i = parent
	}
}

func (h *opHeap) pop() int32 {
	s := *h
	top, last := s[0], len(s)-1
	s[0] = s[last]
	s = s[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < last && s[l] < s[least] {
			least = l
		}
		if r < last && s[r] < s[least] {
			least = r
		}
		if least == i {
			break
		}
		s[i], s[least] = s[least], s[i]
		i = least
	}
	*h = s
	return top
}

// indegrees returns every node's number of predecessors, and calls ready
// on each node that has none: the start of Kahn's algorithm.
func (g *graph) indegrees(ready func(v int32)) []int32 {
	nodes := g.nodes()
	indeg := make([]int32, nodes)
	for _, s := range g.succ {
		indeg[s]++
	}
	for v := range nodes {
		if indeg[v] == 0 {
			ready(v)
		}
	}
	return indeg
}
