package workloads_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"consist/adapters"
	"consist/checker"
	"consist/checker/suite"
	"consist/workloads"
)

// txnStats is what a transactional workload drew.
type txnStats struct {
	lengths map[int]int
	// writes are, per key, the values written, in order.
	writes map[any][]int64
	// keys are the keys in the order first used.
	keys  []int64
	reads int
	// spans are, per key, the positions of its first and last micro-op.
	spans map[int64][2]int
}

// drawTxns draws n transactions from workers generators of wl, in turn,
// and checks each micro-op's shape.
func drawTxns(t *testing.T, wl workloads.Workload, update string, workers, n int) txnStats {
	t.Helper()
	st := txnStats{lengths: map[int]int{}, writes: map[any][]int64{}, spans: map[int64][2]int{}}
	pos := 0
	gens := make([]workloads.Generator, workers)
	for w := range gens {
		gens[w] = wl.Generator(w, rand.New(rand.NewPCG(9, uint64(w))))
	}
	seen := map[int64]bool{}
	for i := range n {
		op := gens[i%workers].Next()
		mops, ok := op.Value.([]adapters.MicroOp)
		if op.Kind != adapters.Txn || op.F != "txn" || !ok || op.Key != nil {
			t.Fatalf("op %+v: want a txn of micro-ops", op)
		}
		st.lengths[len(mops)]++
		for _, m := range mops {
			k, ok := m.Key.(int64)
			if !ok {
				t.Fatalf("micro-op %+v: want an integer key", m)
			}
			if !seen[k] {
				seen[k] = true
				st.keys = append(st.keys, k)
				st.spans[k] = [2]int{pos, pos}
			}
			st.spans[k] = [2]int{st.spans[k][0], pos}
			pos++
			switch m.F {
			case "r":
				st.reads++
				if m.Value != nil {
					t.Fatalf("read %+v asks with a value", m)
				}
			case update:
				st.writes[k] = append(st.writes[k], m.Value.(int64))
			default:
				t.Fatalf("micro-op %+v: want r or %s", m, update)
			}
		}
	}
	return st
}

// TestTxnGenerators checks Elle's generator in both workloads: lengths 1
// to the maximum, reads and updates alike, each key's values 1, 2, ... up
// to the writes per key, a key retired then and a fresh one (above every
// key before) taking its place, so that at most --keys are active.
func TestTxnGenerators(t *testing.T) {
	for _, tc := range []struct{ name, update string }{{"list-append", "append"}, {"rw-register", "w"}} {
		t.Run(tc.name, func(t *testing.T) {
			wl := mustNew(t, tc.name, workloads.Options{Keys: 3, MaxTxnLength: 5, MaxWritesPerKey: 8})
			if !slices.Equal(wl.Models(), workloads.TxnModels()) || workloads.KindOf(wl) != adapters.Txn {
				t.Fatalf("models %v, kind %s: want the transactional models and kind", wl.Models(), workloads.KindOf(wl))
			}
			st := drawTxns(t, wl, tc.update, 4, 2000)
			for l := 1; l <= 5; l++ {
				if st.lengths[l] < 300 {
					t.Errorf("%d transactions of %d micro-ops of 2000; want about 400 of each length 1 to 5 (%v)", st.lengths[l], l, st.lengths)
				}
			}
			if len(st.lengths) != 5 {
				t.Errorf("lengths %v: want 1 to 5", st.lengths)
			}
			writes := 0
			for _, vs := range st.writes {
				writes += len(vs)
			}
			if ratio := float64(st.reads) / float64(writes); ratio < 0.8 || ratio > 1.25 {
				t.Errorf("%d reads to %d writes: want them alike", st.reads, writes)
			}
			// A retired key's redrawn micro-op may be a read: a few more
			// reads than writes.
			// 6000 micro-ops, half writes, 8 per key: hundreds of keys.
			if len(st.keys) < 300 {
				t.Fatalf("only %d keys used: keys are not retired", len(st.keys))
			}
			sorted := slices.Sorted(slices.Values(st.keys))
			if sorted[0] != 0 || sorted[len(sorted)-1] >= int64(len(sorted)+3) {
				t.Errorf("keys %v...%v: want 0 up, fresh keys numbered on", sorted[:3], sorted[len(sorted)-3:])
			}
			// A key is active over one span, and only 3 at a time: the
			// spans between each key's first and last use overlap at
			// most 3 deep.
			depth := map[int]int{}
			for _, span := range st.spans {
				for i := span[0]; i <= span[1]; i++ {
					depth[i]++
				}
			}
			for i, d := range depth {
				if d > 3 {
					t.Fatalf("at micro-op %d, %d keys are in use: want at most the 3 active ones", i, d)
				}
			}
			full := 0
			for k, vs := range st.writes {
				for i, v := range vs {
					if v != int64(i+1) {
						t.Fatalf("key %v was written %v: want 1, 2, ... in order", k, vs)
					}
				}
				if len(vs) > 8 {
					t.Fatalf("key %v took %d writes, more than 8", k, len(vs))
				}
				if len(vs) == 8 {
					full++
				}
			}
			if full < len(st.writes)-3 {
				t.Errorf("%d of %d keys took their 8 writes: every retired key should have", full, len(st.writes))
			}
			// The final read covers the active keys: the last 3 used.
			final := wl.(workloads.Finisher).Final()
			mops := final[0].Value.([]adapters.MicroOp)
			var keys []int64
			for _, m := range mops {
				keys = append(keys, m.Key.(int64))
			}
			slices.Sort(keys)
			active := map[int64]bool{}
			for k, vs := range st.writes {
				if len(vs) < 8 {
					active[k.(int64)] = true
				}
			}
			if len(final) != 1 || len(keys) != 3 || keys[2] != st.keys[len(st.keys)-1] {
				t.Errorf("final reads %v: want one transaction reading the 3 active keys", keys)
			}
			for k := range active {
				if !slices.Contains(keys, k) {
					t.Errorf("key %d still takes writes but the final read leaves it out (%v)", k, keys)
				}
			}
		})
	}
}

// TestTxnWorkloadsJudged drives both workloads against an atomic store:
// the transactional checker must find them strict-serializable.
func TestTxnWorkloadsJudged(t *testing.T) {
	for _, name := range []string{"list-append", "rw-register"} {
		t.Run(name, func(t *testing.T) {
			wl := mustNew(t, name, workloads.Options{Keys: 4, MaxWritesPerKey: 10})
			r := drive(t, wl, 4, 1500, 2)
			for _, res := range suite.Check(context.Background(), r.h, checker.Options{}, wl.Models()...) {
				if res.Verdict != checker.Valid {
					t.Fatalf("%s: %s (%s) %v", res.Model, res.Verdict, res.Reason, res.Anomalies)
				}
			}
			last := r.h.Ops[len(r.h.Ops)-1]
			if last.F != "txn" {
				t.Fatalf("last op %+v: want the final read transaction", last)
			}
		})
	}
}
