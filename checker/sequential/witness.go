package sequential

import (
	"context"
	"math"

	"consist/checker/internal/reghist"
	"consist/history"
)

// guessOrder guesses each key's write order ws and checks it. The guess
// is the order in which a topological sort of the graph that always takes
// the least ranked ready operation meets the writes, keeping each cas
// right after the write it read. The check adds to the graph, for each
// write w and the write w' after it in ws, the edge after(w) → w': w'
// follows w and every read of w. If the graph stays acyclic, its
// topological order is a sequential order, and guessOrder returns its
// operations; nil means the guess failed, which proves nothing.
func (g *graph) guessOrder(ctx context.Context, rank []int32) ([]int32, error) {
	order, err := g.rankedSort(ctx, rank)
	if err != nil || order == nil {
		return nil, err
	}
	saved := len(g.base)
	defer func() { g.base = g.base[:saved]; g.link() }()
	last := make([]int32, g.k)
	for key := range g.k {
		last[key] = reghist.None
	}
	for _, v := range order {
		if !g.isWrite(v) {
			continue
		}
		key := g.r.Ops[v].Key
		if w := last[key]; w != reghist.None && g.after(w) != v {
			g.base = append(g.base, edge{g.after(w), v})
		}
		last[key] = v
	}
	g.link()
	if ok, err := g.sort(ctx); err != nil || !ok {
		return nil, err
	}
	ops := make([]int32, 0, g.n)
	for _, v := range g.order {
		if g.isOp(v) {
			ops = append(ops, v)
		}
	}
	return ops, nil
}

// rankedSort returns a topological order of the graph's nodes that takes,
// among the operations whose predecessors are placed, the least ranked
// (virtual nodes go as soon as they are ready), or nil when it gets stuck.
// Once a write that a cas read is placed, the key is reserved for that
// cas: no other write of the key goes before it.
func (g *graph) rankedSort(ctx context.Context, rank []int32) ([]int32, error) {
	nodes := g.nodes()
	ops := rankHeap{rank: rank}
	var virtual []int32
	ready := func(v int32) {
		if g.isOp(v) {
			ops.push(v)
		} else {
			virtual = append(virtual, v)
		}
	}
	indeg := g.indegrees(ready)
	reserved := make([]int32, g.k)
	parked := make([][]int32, g.k)
	for key := range g.k {
		reserved[key] = g.casReader[g.initialNode(key)]
	}
	order := make([]int32, 0, nodes)
	for len(virtual) > 0 || ops.len() > 0 {
		if len(order)&0xffff == 0xffff && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var v int32
		if n := len(virtual); n > 0 {
			v, virtual = virtual[n-1], virtual[:n-1]
		} else {
			v = ops.pop()
		}
		if g.isWrite(v) {
			key := g.r.Ops[v].Key
			if c := reserved[key]; c != reghist.None && c != v {
				parked[key] = append(parked[key], v)
				continue
			}
			reserved[key] = g.casReader[v]
			for _, p := range parked[key] {
				ops.push(p)
			}
			parked[key] = parked[key][:0]
		}
		order = append(order, v)
		for _, s := range g.successors(v) {
			if indeg[s]--; indeg[s] == 0 {
				ready(s)
			}
		}
	}
	if len(order) != int(nodes) {
		return nil, nil
	}
	return order, nil
}

// zoneRank ranks operations by when, in the history's real time, they
// most likely took effect, for guessOrder: a read by its invocation, and
// a write by the start of the zone of its cluster — the write and its
// reads — as Gibbons & Korach define it for linearizability: the earliest
// completion in the cluster, or its latest invocation if that comes
// first. A linearizable history's clusters can be ordered by zone start,
// so on such histories (and those close to them) the guess tends to be
// right; real time decides nothing else here.
func zoneRank(g *graph) []int32 {
	rank := make([]int32, g.nodes())
	minDone := make([]int32, g.n)
	for v := range g.n {
		src := g.r.Ops[v].Src
		rank[v] = int32(src.Invoke)
		minDone[v] = completion(src)
	}
	for v := range g.n {
		if w := g.r.Ops[v].Reads; w >= 0 {
			minDone[w] = min(minDone[w], completion(g.r.Ops[v].Src))
		}
	}
	latestInvoke := make([]int32, g.n)
	copy(latestInvoke, rank[:g.n])
	for v := range g.n {
		if w := g.r.Ops[v].Reads; w >= 0 {
			latestInvoke[w] = max(latestInvoke[w], rank[v])
		}
	}
	for v := range g.n {
		if g.isWrite(v) {
			rank[v] = min(minDone[v], latestInvoke[v])
		}
	}
	return rank
}

// completion returns the index of an operation's completion, or the
// largest rank when it never completed (or crashed): it may have taken
// effect at any time.
func completion(op *history.Op) int32 {
	if op.Type != history.OK || op.Complete < 0 {
		return math.MaxInt32
	}
	return int32(op.Complete)
}

// rankHeap is a min-heap of nodes by rank.
type rankHeap struct {
	rank  []int32
	nodes []int32
}

func (h *rankHeap) len() int { return len(h.nodes) }

func (h *rankHeap) less(i, j int) bool { return h.rank[h.nodes[i]] < h.rank[h.nodes[j]] }

func (h *rankHeap) push(v int32) {
	h.nodes = append(h.nodes, v)
	for i := len(h.nodes) - 1; i > 0; {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			break
		}
		h.nodes[i], h.nodes[parent] = h.nodes[parent], h.nodes[i]
		i = parent
	}
}

func (h *rankHeap) pop() int32 {
	top := h.nodes[0]
	last := len(h.nodes) - 1
	h.nodes[0] = h.nodes[last]
	h.nodes = h.nodes[:last]
	for i := 0; ; {
		least, l, r := i, 2*i+1, 2*i+2
		if l < last && h.less(l, least) {
			least = l
		}
		if r < last && h.less(r, least) {
			least = r
		}
		if least == i {
			break
		}
		h.nodes[i], h.nodes[least] = h.nodes[least], h.nodes[i]
		i = least
	}
	return top
}

// legal reports whether order is a sequential order of every operation of
// r: each session in order, each read returning the latest write to its
// key (the initial value when none).
func legal(r *reghist.History, order []int32) bool {
	if len(order) != len(r.Ops) {
		return false
	}
	cur := make([]int32, len(r.Keys))
	for k := range cur {
		cur[k] = reghist.Initial
	}
	next := make([]int32, len(r.Sessions))
	for _, op := range order {
		o := &r.Ops[op]
		if o.Pos != next[o.Process] {
			return false
		}
		next[o.Process]++
		if o.Reader() && o.Reads != cur[o.Key] {
			return false
		}
		if o.Writer() {
			cur[o.Key] = op
		}
	}
	return true
}
