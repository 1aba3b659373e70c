package sequential

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"consist/checker"
	"consist/checker/internal/oracle"
	"consist/checker/internal/reghist"
	"consist/history"
)

// shortestThrough is the cycle search sequential had before it shared
// checker/internal/graph's: breadth first through the node found by
// walking back from the first unsorted node. It returns the length of
// that cycle, the bound the shared search must meet.
func shortestThrough(g *graph) int {
	out := map[int32][]int32{}
	in := map[int32]int32{}
	add := func(from, to int32) {
		if g.pos[from] == -1 && g.pos[to] == -1 {
			out[from] = append(out[from], to)
			in[to] = from
		}
	}
	for _, e := range g.base {
		add(e.from, e.to)
	}
	for _, d := range g.derived {
		add(g.after(d.w1), d.w2)
	}
	start := int32(slices.Index(g.pos, -1))
	seen := map[int32]bool{}
	for !seen[start] {
		seen[start] = true
		start = in[start]
	}
	depth := map[int32]int{start: 0}
	queue := []int32{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range out[v] {
			if w == start {
				return depth[v] + 1
			}
			if _, ok := depth[w]; !ok {
				depth[w] = depth[v] + 1
				queue = append(queue, w)
			}
		}
	}
	return 0
}

// On random histories whose saturated graph is cyclic, the cycle the
// shared search finds is a cycle of the graph, each link a base edge or
// the derived edge it names, and never longer than the old search's.
func TestCycleIsARealCycleNoLongerThanBefore(t *testing.T) {
	ctx := context.Background()
	cyclic, shorter := 0, 0
	for seed := range uint64(4000) {
		cfg := oracle.Config{MaxProcs: 4, MaxKeys: 2, MaxOps: 12}
		h, err := history.New("random", oracle.Random(rand.New(rand.NewPCG(seed, 7)), cfg))
		if err != nil {
			t.Fatal(err)
		}
		r, err := reghist.Build(h, checker.Options{})
		if err != nil || !r.Unique || len(r.ThinAir) > 0 {
			continue
		}
		g, _ := newGraph(r)
		if g == nil {
			continue
		}
		g.link()
		sat, err := g.saturate(ctx, 1<<30)
		if err != nil || !sat.cyclic {
			continue
		}
		cyclic++
		nodes, links := g.cycle(ctx)
		if len(nodes) == 0 || len(nodes) != len(links) {
			t.Fatalf("seed %d: cycle %v %v", seed, nodes, links)
		}
		for i, v := range nodes {
			l := links[i]
			if want := nodes[(i+1)%len(nodes)]; l.to != want {
				t.Fatalf("seed %d: link %d leads to %d, not to the next node %d", seed, i, l.to, want)
			}
			if l.derived >= 0 {
				if d := g.derived[l.derived]; g.after(d.w1) != v || d.w2 != l.to {
					t.Fatalf("seed %d: link %d→%d names derived edge %+v", seed, v, l.to, d)
				}
			} else if !slices.Contains(g.base, edge{v, l.to}) {
				t.Fatalf("seed %d: link %d→%d is no base edge", seed, v, l.to)
			}
		}
		old := shortestThrough(g)
		if len(nodes) > old {
			t.Fatalf("seed %d: cycle of %d edges, the old search's %d", seed, len(nodes), old)
		}
		if len(nodes) < old {
			shorter++
		}
		g.explainCycle(nodes, links) // must not panic
	}
	if cyclic < 100 {
		t.Fatalf("only %d random histories had a cyclic saturated graph; the test says little", cyclic)
	}
	t.Logf("%d cyclic graphs; the shared search found a shorter cycle in %d", cyclic, shorter)
}
