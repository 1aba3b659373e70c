package suite_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/histgen"
)

// polynomial are the non-transactional models decided in polynomial time
// on histories with unique values; sequential and linearizable searches
// are timed on their own.
var polynomial = []checker.Model{
	checker.Causal, checker.CausalConvergence, checker.WeakCausal,
	checker.PRAM, checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites,
	checker.WritesFollowReads, checker.BoundedStaleness, checker.Convergence,
}

func generate(b *testing.B, store histgen.Store) *history.History {
	b.Helper()
	h, err := histgen.New(histgen.AtScale(store))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkAllModels checks a 100,000-operation history (24 processes, 10
// keys, 2% crashed operations, unique values) against every model at once,
// as `consist check` does: the lattice skips what is implied. Every
// verdict must be definite.
func BenchmarkAllModels(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
		h := generate(b, store)
		b.Run(store.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range suite.Check(context.Background(), h, checker.Options{}) {
					if r.Verdict == checker.Unknown {
						b.Fatalf("%s: unknown: %s", r.Model, r.Reason)
					}
				}
			}
		})
	}
}

// BenchmarkPolynomialModels checks the same histories against each
// polynomial model on its own (no lattice shortcuts).
func BenchmarkPolynomialModels(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
		h := generate(b, store)
		b.Run(store.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range polynomial {
					res := suite.Check(context.Background(), h, checker.Options{}, m)
					if res[0].Verdict == checker.Unknown && m != checker.Convergence {
						b.Fatalf("%s: unknown: %s", m, res[0].Reason)
					}
				}
			}
		})
	}
}

// BenchmarkModel times each model alone on the same histories.
func BenchmarkModel(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
		h := generate(b, store)
		for _, m := range append(polynomial, checker.Sequential, checker.Linearizable) {
			b.Run(fmt.Sprintf("%s/%s", store, m), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					res := suite.Check(context.Background(), h, checker.Options{Timeout: 10 * time.Second}, m)
					b.ReportMetric(map[checker.Verdict]float64{checker.Valid: 0, checker.Invalid: 1, checker.Unknown: 2}[res[0].Verdict], "verdict(0valid,1invalid,2unknown)")
				}
			})
		}
	}
}
