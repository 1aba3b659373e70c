package causal

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

// TestGraphAnswersLikeReachability compares the graph's summary with the
// causal pasts computed by brute force, on random histories, summarised
// both ways; with more than 64 keys, keys share their bits in the masks.
func TestGraphAnswersLikeReachability(t *testing.T) {
	configs := []oracle.Config{{}, {MaxProcs: 6, MaxKeys: 3, MaxOps: 40}, {MaxProcs: 3, MaxKeys: 90, MaxOps: 150}, {MaxProcs: 8, MaxKeys: 70, MaxOps: 150}}
	checked := map[bool]int{}
	for seed := range uint64(3000) {
		cfg := configs[seed%uint64(len(configs))]
		h, err := history.New("random", oracle.Random(rand.New(rand.NewPCG(seed, 2)), cfg))
		if err != nil {
			t.Fatal(err)
		}
		r, err := reghist.Build(h, checker.Options{})
		if err != nil || !r.Unique || len(r.ThinAir) > 0 {
			continue
		}
		g := newGraph(context.Background(), r)
		if g.order == nil {
			continue
		}
		checkSummary(t, seed, g, strictPasts(r))
		checked[bySessions(r)]++
	}
	if checked[true] < 300 || checked[false] < 300 {
		t.Fatalf("too few random histories were checked: %d by sessions, %d by fronts", checked[true], checked[false])
	}
}

// strictPasts returns, for every operation, whether each operation is in
// its strict causal past.
func strictPasts(r *reghist.History) [][]bool {
	n := len(r.Ops)
	ch := r.Chains(false)
	past := make([][]bool, n)
	var visit func(op int32) []bool
	visit = func(op int32) []bool {
		if past[op] != nil {
			return past[op]
		}
		p := make([]bool, n)
		for _, pred := range []int32{ch.PrevOp[op], r.Ops[op].Reads} {
			if pred >= 0 {
				p[pred] = true
				for x, in := range visit(pred) {
					p[x] = p[x] || in
				}
			}
		}
		past[op] = p
		return p
	}
	for op := range n {
		visit(int32(op))
	}
	return past
}

func checkSummary(t *testing.T, seed uint64, g *graph, past [][]bool) {
	t.Helper()
	r := g.r
	for b := range r.Ops {
		var maximal []int32
		for a := range r.Ops {
			if !r.Ops[a].Writer() || r.Ops[a].Key != r.Ops[b].Key {
				continue
			}
			if want := a == b || past[b][a]; g.before(int32(a), int32(b)) != want {
				t.Fatalf("seed %d: before(%d, %d) = %v, want %v", seed, a, b, !want, want)
			}
			if past[b][a] {
				maximal = append(maximal, int32(a))
			}
		}
		maximal = slices.DeleteFunc(maximal, func(a int32) bool {
			return slices.ContainsFunc(maximal, func(m int32) bool { return past[m][a] })
		})
		if !r.Ops[b].Reader() && g.chain[b] >= 0 {
			continue
		}
		got := slices.Sorted(slices.Values(g.lists.of(g.maxPast[b])))
		if !slices.Equal(got, maximal) {
			t.Fatalf("seed %d: maximal writes before %d = %v, want %v", seed, b, got, maximal)
		}
	}
}
