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

// oldFindCycle is the depth-first cycle search causal had before it
// shared checker/internal/graph's, kept as the bound the shared search's
// cycles must meet: the cycle it returns, each operation preceding the
// next, or nil.
func oldFindCycle(n int, preds func(op int32) []int32) []int32 {
	state := make([]uint8, n) // 0 unseen, 1 open, 2 done
	type frame struct {
		op    int32
		preds []int32
	}
	var stack []frame
	for root := range n {
		if state[root] != 0 {
			continue
		}
		stack = append(stack, frame{int32(root), preds(int32(root))})
		state[root] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if len(f.preds) == 0 {
				state[f.op] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			p := f.preds[0]
			f.preds = f.preds[1:]
			switch state[p] {
			case 1:
				var cyc []int32
				for i := len(stack) - 1; i >= 0; i-- {
					cyc = append(cyc, stack[i].op)
					if stack[i].op == p {
						break
					}
				}
				return cyc
			case 0:
				stack = append(stack, frame{p, preds(p)})
				state[p] = 1
			}
		}
	}
	return nil
}

// isCycle reports whether every operation of cyc precedes the next by
// one of preds, the last the first.
func isCycle(cyc []int32, preds func(op int32) []int32) bool {
	for i, to := range cyc {
		from := cyc[(i+len(cyc)-1)%len(cyc)]
		if !slices.Contains(preds(to), from) {
			return false
		}
	}
	return len(cyc) > 0
}

// futureReads is a random history whose reads may return any value of
// their key, written before or after: its causal order is often cyclic.
func futureReads(rng *rand.Rand) []history.Event {
	n := 4 + rng.IntN(10)
	type w struct{ key, value int64 }
	var writes []w
	kind := make([]bool, n) // true: write
	for i := range kind {
		kind[i] = rng.IntN(2) == 0
		if kind[i] {
			writes = append(writes, w{rng.Int64N(2), int64(i + 1)})
		}
	}
	var events []history.Event
	for i := range n {
		p := history.Process(rng.IntN(3))
		key := rng.Int64N(2)
		var value any
		f := "read"
		if kind[i] {
			f, key, value = "write", writes[0].key, writes[0].value
			writes = append(writes[1:], writes[0]) // later reads may see it
		} else if len(writes) > 0 {
			c := writes[rng.IntN(len(writes))]
			key, value = c.key, c.value
		}
		in := value
		if f == "read" {
			in = nil
		}
		events = append(events,
			history.Event{Type: history.Invoke, Process: p, F: f, Key: key, Value: in, HasValue: true, Time: history.NoTime},
			history.Event{Type: history.OK, Process: p, F: f, Key: key, Value: value, HasValue: true, Time: history.NoTime})
	}
	return events
}

// On random histories, the cycles of co and of co ∪ cf that the shared
// search finds are cycles, each no longer than the old depth-first
// search's. (The old co search walked back from an unsorted operation;
// on these small graphs the shared search finishes, so its cycle is the
// shortest of all, no longer than that walk's either.)
func TestCyclesAreRealAndNoLongerThanBefore(t *testing.T) {
	ctx := context.Background()
	found := map[string]int{}
	shorter := map[string]int{}
	for seed := range uint64(6000) {
		rng := rand.New(rand.NewPCG(seed, 11))
		events := oracle.Random(rng, oracle.Config{MaxProcs: 4, MaxKeys: 2, MaxOps: 14})
		if seed%2 == 0 {
			events = futureReads(rng)
		}
		h, err := history.New("random", events)
		if err != nil {
			t.Fatal(err)
		}
		r, err := reghist.Build(h, checker.Options{})
		if err != nil || !r.Unique || len(r.ThinAir) > 0 {
			continue
		}
		g := newGraph(ctx, r)
		co := func(op int32) []int32 {
			var out []int32
			if p := g.ch.PrevOp[op]; p != reghist.None {
				out = append(out, p)
			}
			if w := r.Ops[op].Reads; w >= 0 {
				out = append(out, w)
			}
			return out
		}
		var kind string
		var got, old []int32
		var preds func(int32) []int32
		if g.order == nil {
			kind, got, preds = "co", g.cycle, co
			old = oldFindCycle(len(r.Ops), co)
		} else {
			cf := map[int32][]int32{}
			for _, op := range g.order {
				if o := &r.Ops[op]; o.Reader() && o.Reads >= 0 {
					for _, w := range g.lists.of(g.maxPast[op]) {
						if w != o.Reads && !slices.Contains(cf[o.Reads], w) {
							cf[o.Reads] = append(cf[o.Reads], w)
						}
					}
				}
			}
			preds = func(op int32) []int32 { return append(slices.Clone(cf[op]), co(op)...) }
			kind, got, old = "co ∪ cf", g.conflictCycleOps(ctx), oldFindCycle(len(r.Ops), preds)
		}
		if (got == nil) != (old == nil) {
			t.Fatalf("seed %d, %s: found %v, the old search %v", seed, kind, got, old)
		}
		if got == nil {
			continue
		}
		found[kind]++
		if !isCycle(got, preds) || !isCycle(old, preds) {
			t.Fatalf("seed %d, %s: %v (old %v) is not a cycle", seed, kind, got, old)
		}
		if len(got) > len(old) {
			t.Fatalf("seed %d, %s: cycle of %d operations, the old search's %d", seed, kind, len(got), len(old))
		}
		if len(got) < len(old) {
			shorter[kind]++
		}
	}
	if found["co"] < 100 || found["co ∪ cf"] < 100 {
		t.Fatalf("too few cycles to say much: %v", found)
	}
	t.Logf("cycles found %v; shorter than the old search's %v", found, shorter)
}
