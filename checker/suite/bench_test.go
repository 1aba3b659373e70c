package suite_test

import (
	"context"
	"fmt"
	"testing"

	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/histgen"
)

// nonTransactional are the models the register checkers decide, save
// linearizability, whose scale is a search's (see checker/linearizable).
var nonTransactional = []checker.Model{
	checker.Sequential, checker.Causal, checker.CausalConvergence, checker.WeakCausal,
	checker.PRAM, checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites,
	checker.WritesFollowReads, checker.BoundedStaleness, checker.Convergence,
}

func generate(b *testing.B, store histgen.Store) *history.History {
	b.Helper()
	h, err := histgen.New(histgen.Config{Seed: 7, Store: store, Processes: 24, Ops: 100_000, Keys: 10,
		CrashRate: 0.02, Timestamps: true, FinalReads: true})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkAllModels checks a 100,000-operation history (24 processes, 10
// keys, 2% crashed operations, unique values) against every
// non-transactional model at once, as `consist check` does, with every
// model checked on its own (no lattice shortcuts: each Result is run).
func BenchmarkAllModels(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
		h := generate(b, store)
		b.Run(store.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range nonTransactional {
					res := suite.Check(context.Background(), h, checker.Options{}, m)
					if res[0].Verdict == checker.Unknown {
						b.Fatalf("%s: unknown: %s", m, res[0].Reason)
					}
				}
			}
		})
	}
}

// BenchmarkModel times each model alone on the same histories.
func BenchmarkModel(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Linearizable, histgen.Eventual} {
		h := generate(b, store)
		for _, m := range nonTransactional {
			b.Run(fmt.Sprintf("%s/%s", store, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					suite.Check(context.Background(), h, checker.Options{}, m)
				}
			})
		}
	}
}
