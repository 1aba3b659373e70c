package graph

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
)

const (
	ww Rel = iota
	wr
	rw
)

// The cycle languages of Adya's anomalies, over ww, wr and rw, written
// here from their definitions (Adya 1999, §4.4; Elle §4.2).
var (
	// G0: every edge ww.
	g0 = NewAutomaton("G0", 1, []int{0}, Transition{0, ww, 0})
	// G1c: ww and wr edges, at least one wr.
	g1c = NewAutomaton("G1c", 2, []int{1},
		Transition{0, ww, 0}, Transition{0, wr, 1}, Transition{1, ww, 1}, Transition{1, wr, 1})
	// G-single: exactly one rw edge, the rest ww or wr.
	gSingle = NewAutomaton("G-single", 2, []int{1},
		Transition{0, ww, 0}, Transition{0, wr, 0}, Transition{0, rw, 1}, Transition{1, ww, 1}, Transition{1, wr, 1})
	// G2: at least one rw edge.
	g2 = NewAutomaton("G2", 2, []int{1},
		Transition{0, ww, 0}, Transition{0, wr, 0}, Transition{0, rw, 1}, Transition{1, ww, 1}, Transition{1, wr, 1}, Transition{1, rw, 1})
	// Nonadjacent: at least one rw edge, no two rw edges next to each
	// other, the last and the first included. States: 1 first edge rw;
	// 3 first rw, last not; 4 first rw, last rw; 2 first not, no rw yet;
	// 5 first not, last rw; 6 first not, some rw, last not.
	nonadjacent = NewAutomaton("nonadjacent", 7, []int{3, 5, 6},
		Transition{0, rw, 1}, Transition{0, ww, 2}, Transition{0, wr, 2},
		Transition{1, ww, 3}, Transition{1, wr, 3},
		Transition{3, ww, 3}, Transition{3, wr, 3}, Transition{3, rw, 4},
		Transition{4, ww, 3}, Transition{4, wr, 3},
		Transition{2, ww, 2}, Transition{2, wr, 2}, Transition{2, rw, 5},
		Transition{5, ww, 6}, Transition{5, wr, 6},
		Transition{6, ww, 6}, Transition{6, wr, 6}, Transition{6, rw, 5})
	languages = []*Automaton{g0, g1c, gSingle, g2, nonadjacent}
)

// randomGraph has no self-loops, as dependency graphs of transactions
// have none.
func randomGraph(rng *rand.Rand, n int, density float64) (*Graph, map[[2]int32]Mask) {
	b := NewBuilder(n)
	edges := map[[2]int32]Mask{}
	for u := 0; u < n; u++ {
		for v := 0; v < n; v++ {
			if u == v {
				continue
			}
			for r := ww; r <= rw; r++ {
				if rng.Float64() < density {
					b.Add(int32(u), int32(v), r)
					edges[[2]int32{int32(u), int32(v)}] |= Of(r)
				}
			}
		}
	}
	return b.Build(), edges
}

func TestBuildMergesAndSorts(t *testing.T) {
	b := NewBuilder(3)
	b.Add(0, 2, wr)
	b.Add(0, 1, ww)
	b.Add(0, 2, rw)
	b.Add(2, 0, ww)
	g := b.Build()
	ts, rs := g.Out(0)
	if !slices.Equal(ts, []int32{1, 2}) || rs[0] != Of(ww) || rs[1] != Of(wr, rw) {
		t.Fatalf("row of 0: %v %v", ts, rs)
	}
	if g.Edges() != 3 || g.Rels(2, 0) != Of(ww) || g.Rels(1, 0) != 0 {
		t.Fatalf("edges %d, 2→0 %v, 1→0 %v", g.Edges(), g.Rels(2, 0), g.Rels(1, 0))
	}
	if r := g.Restrict(Of(rw)); r.Edges() != 1 || r.Rels(0, 2) != Of(rw) {
		t.Fatalf("restricted to rw: %d edges, 0→2 %v", r.Edges(), r.Rels(0, 2))
	}
}

// reach is the transitive closure by brute force.
// Edges added in any order, repeated, come out in rows sorted by target,
// each pair once with the union of its relations.
func TestBuildShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		n := 1 + rng.IntN(30)
		want := map[[2]int32]Mask{}
		b := NewBuilder(n)
		for e := rng.IntN(4 * n); e > 0; e-- {
			u, v, r := int32(rng.IntN(n)), int32(rng.IntN(n)), Rel(rng.IntN(3))
			b.Add(u, v, r)
			want[[2]int32{u, v}] |= Of(r)
		}
		g := b.Build()
		if g.Edges() != len(want) {
			t.Fatalf("trial %d: %d edges, want %d", trial, g.Edges(), len(want))
		}
		for u := int32(0); u < int32(n); u++ {
			ts, rs := g.Out(u)
			for i, v := range ts {
				if i > 0 && ts[i-1] >= v {
					t.Fatalf("trial %d: row of %d not strictly ascending: %v", trial, u, ts)
				}
				if want[[2]int32{u, v}] != rs[i] {
					t.Fatalf("trial %d: %d→%d carries %b, want %b", trial, u, v, rs[i], want[[2]int32{u, v}])
				}
			}
		}
	}
}

func reach(n int, edges map[[2]int32]Mask) [][]bool {
	r := make([][]bool, n)
	for i := range r {
		r[i] = make([]bool, n)
	}
	for e := range edges {
		r[e[0]][e[1]] = true
	}
	for k := 0; k < n; k++ {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				r[i][j] = r[i][j] || (r[i][k] && r[k][j])
			}
		}
	}
	return r
}

func TestSCCsAgreeWithReachability(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 2000; trial++ {
		n := 1 + rng.IntN(9)
		g, edges := randomGraph(rng, n, rng.Float64()*0.15)
		r := reach(n, edges)
		comp := make([]int, n)
		for i := range comp {
			comp[i] = -1
		}
		for ci, c := range g.SCCs() {
			for _, v := range c {
				if comp[v] >= 0 {
					t.Fatalf("node %d in two components", v)
				}
				comp[v] = ci
			}
		}
		for u := 0; u < n; u++ {
			cyclic := r[u][u]
			if cyclic != (comp[u] >= 0) {
				t.Fatalf("trial %d: node %d on a cycle %v, in a component %v", trial, u, cyclic, comp[u] >= 0)
			}
			for v := 0; v < n; v++ {
				same := u != v && r[u][v] && r[v][u]
				if same && comp[u] != comp[v] {
					t.Fatalf("trial %d: %d and %d reach each other but are in components %d and %d", trial, u, v, comp[u], comp[v])
				}
				if u != v && comp[u] >= 0 && comp[u] == comp[v] && !same {
					t.Fatalf("trial %d: %d and %d share a component but do not reach each other", trial, u, v)
				}
			}
		}
	}
}

// bruteShortest is the length of the shortest simple cycle some choice of
// relations makes the automaton accept, from some rotation; 0 when none.
func bruteShortest(n int, edges map[[2]int32]Mask, a *Automaton) int {
	best := 0
	var path []int32
	onPath := make([]bool, n)
	var walk func(start, v int32)
	walk = func(start, v int32) {
		for w := start; w < int32(n); w++ {
			m, ok := edges[[2]int32{v, w}]
			if !ok {
				continue
			}
			if w == start {
				if (best == 0 || len(path) < best) && acceptsSomeRotation(a, path, edges) {
					best = len(path)
				}
				continue
			}
			_ = m
			if !onPath[w] {
				onPath[w] = true
				path = append(path, w)
				walk(start, w)
				path = path[:len(path)-1]
				onPath[w] = false
			}
		}
	}
	for s := int32(0); s < int32(n); s++ {
		path = []int32{s}
		onPath[s] = true
		walk(s, s)
		onPath[s] = false
	}
	return best
}

func acceptsSomeRotation(a *Automaton, path []int32, edges map[[2]int32]Mask) bool {
	k := len(path)
	for rot := 0; rot < k; rot++ {
		ms := make([]Mask, k)
		for i := 0; i < k; i++ {
			u, v := path[(i+rot)%k], path[(i+rot+1)%k]
			ms[i] = edges[[2]int32{u, v}]
		}
		if a.Accepts(ms) {
			return true
		}
	}
	return false
}

// TestShortestCycleAgreesWithEnumeration compares the product search with
// an enumeration of every simple cycle on thousands of small graphs.
func TestShortestCycleAgreesWithEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	trials := 3000
	if testing.Short() {
		trials = 500
	}
	found, incomplete := map[string]int{}, map[string]int{}
	for trial := 0; trial < trials; trial++ {
		n := 2 + rng.IntN(6)
		g, edges := randomGraph(rng, n, 0.05+rng.Float64()*0.2)
		for _, a := range languages {
			want := bruteShortest(n, edges, a)
			got, complete := 0, true
			for _, comp := range g.SCCs() {
				res := g.ShortestCycle(context.Background(), comp, a, nil, Limits{})
				complete = complete && res.Complete
				if res.Cycle != nil && (got == 0 || len(res.Cycle.Nodes) < got) {
					got = len(res.Cycle.Nodes)
					checkCycle(t, g, a, res.Cycle)
				}
			}
			if !complete {
				incomplete[a.Name()]++
			}
			all := g.ShortestCycleOfAll(context.Background(), a, Limits{})
			if all.Complete != complete || (all.Cycle == nil) != (got == 0) || all.Cycle != nil && len(all.Cycle.Nodes) != got {
				t.Fatalf("trial %d, %s: ShortestCycleOfAll found %+v (complete %v), the components one by one %d edges (complete %v)", trial, a.Name(), all.Cycle, all.Complete, got, complete)
			}
			if all.Cycle != nil {
				checkCycle(t, g, a, all.Cycle)
			}
			// An incomplete search may miss the shortest cycle, never
			// invent a shorter one.
			if got != want && (complete || (got != 0 && got < want)) {
				t.Fatalf("trial %d, %s: search found a cycle of %d edges, enumeration %d; edges %v", trial, a.Name(), got, want, edges)
			}
			if got > 0 {
				found[a.Name()]++
			}
		}
	}
	for _, a := range languages {
		if found[a.Name()] < trials/20 {
			t.Errorf("%s: only %d of %d graphs had such a cycle; the test says little", a.Name(), found[a.Name()], trials)
		}
	}
	for _, a := range languages[:4] {
		if incomplete[a.Name()] > 0 {
			t.Errorf("%s counts relations, so every search must complete; %d did not", a.Name(), incomplete[a.Name()])
		}
	}
	t.Logf("graphs with a cycle of each kind, of %d: %v; searches left incomplete: %v", trials, found, incomplete)
}

// checkCycle asserts c is a simple cycle of g that a accepts as labelled.
func checkCycle(t *testing.T, g *Graph, a *Automaton, c *Cycle) {
	t.Helper()
	if len(c.Nodes) != len(c.Rels) || len(c.Nodes) == 0 {
		t.Fatalf("malformed cycle %+v", c)
	}
	seen := map[int32]bool{}
	ms := make([]Mask, len(c.Rels))
	for i, v := range c.Nodes {
		if seen[v] {
			t.Fatalf("%s: cycle %+v repeats node %d", a.Name(), c, v)
		}
		seen[v] = true
		w := c.Nodes[(i+1)%len(c.Nodes)]
		if !g.Rels(v, w).Has(c.Rels[i]) {
			t.Fatalf("%s: cycle %+v uses %d→%d by %d, which the graph lacks", a.Name(), c, v, w, c.Rels[i])
		}
		ms[i] = Of(c.Rels[i])
	}
	if !a.Accepts(ms) {
		t.Fatalf("%s does not accept its own cycle %+v", a.Name(), c)
	}
}

func TestShortestCycleHonoursLimits(t *testing.T) {
	// A ring of 10,000 nodes: one cycle, of every node.
	const n = 10_000
	b := NewBuilder(n)
	for v := int32(0); v < n; v++ {
		b.Add(v, (v+1)%n, ww)
	}
	g := b.Build()
	comps := g.SCCs()
	if len(comps) != 1 || len(comps[0]) != n {
		t.Fatalf("a ring has one component of every node; got %d", len(comps))
	}
	res := g.ShortestCycle(context.Background(), comps[0], g0, nil, Limits{Work: 100})
	if res.Complete || res.Cycle != nil {
		t.Fatalf("a search limited to 100 edges claimed to finish: %+v", res)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := g.ShortestCycle(ctx, comps[0], g0, nil, Limits{}); res.Complete {
		t.Fatal("a cancelled search claimed to finish")
	}
	res = g.ShortestCycle(context.Background(), comps[0], g0, []int32{17}, Limits{})
	if !res.Complete || res.Cycle == nil || len(res.Cycle.Nodes) != n || res.Cycle.Nodes[0] != 17 {
		t.Fatalf("the ring from node 17: %+v", res.Cycle)
	}
}

// FirstInFull finds a cycle however small the work limit; the limit
// then stops the search for shorter ones.
func TestFirstInFull(t *testing.T) {
	// A ring of 1,000 nodes, and a triangle through node 500.
	const n = 1000
	b := NewBuilder(n + 2)
	b.Grow(n + 3)
	for v := int32(0); v < n; v++ {
		b.Add(v, (v+1)%n, ww)
	}
	b.Add(500, n, wr)
	b.Add(n, n+1, wr)
	b.Add(n+1, 500, wr)
	g := b.Build()
	comp := g.SCCs()[0]
	any := AnyCycle("any", ww, wr)
	res := g.ShortestCycle(context.Background(), comp, any, nil, Limits{Work: 10, FirstInFull: true})
	if res.Cycle == nil || res.Complete || len(res.Cycle.Nodes) != n || res.Cycle.Nodes[0] != 0 {
		t.Fatalf("limited to 10 edges, from node 0 in full: %+v, complete %v; want the ring, incomplete", res.Cycle, res.Complete)
	}
	checkCycle(t, g, any, res.Cycle)
	res = g.ShortestCycle(context.Background(), comp, any, nil, Limits{Work: 1 << 30, FirstInFull: true})
	if res.Cycle == nil || !res.Complete || len(res.Cycle.Nodes) != 3 {
		t.Fatalf("unlimited: %+v, complete %v; want the triangle", res.Cycle, res.Complete)
	}
	checkCycle(t, g, any, res.Cycle)
	if res := g.ShortestCycle(context.Background(), comp, any, nil, Limits{Work: 10}); res.Cycle != nil || res.Complete {
		t.Fatalf("limited to 10 edges without FirstInFull: %+v, complete %v; want nothing, incomplete", res.Cycle, res.Complete)
	}
	all := g.ShortestCycleOfAll(context.Background(), g0, Limits{Work: 10, FirstInFull: true})
	if all.Cycle == nil || len(all.Cycle.Nodes) != n {
		t.Fatalf("G0 over every component: %+v; want the ring of ww", all.Cycle)
	}
}

// Cancelling the context stops every start but the one FirstInFull
// searches.
func TestFirstInFullOutlivesCancel(t *testing.T) {
	// A ring of 200 nodes with a chord 150 → 120: the context is looked
	// at every 64 starts, so the search stops before it finds the chord's
	// cycle.
	b := NewBuilder(200)
	for v := int32(0); v < 200; v++ {
		b.Add(v, (v+1)%200, ww)
	}
	b.Add(150, 120, ww)
	g := b.Build()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := g.ShortestCycleOfAll(ctx, g0, Limits{FirstInFull: true})
	if res.Cycle == nil || res.Complete || len(res.Cycle.Nodes) != 200 {
		t.Fatalf("cancelled, first start in full: %+v, complete %v", res.Cycle, res.Complete)
	}
	if res := g.ShortestCycleOfAll(ctx, g0, Limits{}); res.Cycle != nil || res.Complete {
		t.Fatalf("cancelled: %+v, complete %v", res.Cycle, res.Complete)
	}
}

func TestSelfLoopIsAComponent(t *testing.T) {
	b := NewBuilder(3)
	b.Add(1, 1, ww)
	b.Add(0, 2, ww)
	comps := b.Build().SCCs()
	if len(comps) != 1 || !slices.Equal(comps[0], []int32{1}) {
		t.Fatalf("components %v; want the self-loop [1] alone", comps)
	}
}

// BenchmarkSCCs: a million nodes in chains of ten closed into rings, with
// cross edges between rings that close no cycle.
func BenchmarkSCCs(b *testing.B) {
	const n = 1_000_000
	bl := NewBuilder(n)
	for v := int32(0); v < n; v++ {
		next := v + 1
		if next%10 == 0 {
			next -= 10
		}
		bl.Add(v, next, ww)
		if v+10 < n {
			bl.Add(v, v+10, wr)
		}
	}
	g := bl.Build()
	b.ResetTimer()
	for range b.N {
		if c := g.SCCs(); len(c) != n/10 {
			b.Fatalf("%d components", len(c))
		}
	}
}
