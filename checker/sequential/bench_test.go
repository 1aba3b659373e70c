package sequential

import (
	"context"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/history"
	"consist/internal/histgen"
)

// generated is a 100,000-operation history as checker/suite's benchmarks
// generate it: 24 clients, 10 keys, 2% crashed operations, unique values.
func generated(b *testing.B, store histgen.Store) *history.History {
	b.Helper()
	h, err := histgen.New(histgen.AtScale(store))
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkGraphSteps times the polynomial steps alone (decideByGraph:
// witness, saturation, witness again) on the generated histories; it
// reports the verdict (0 valid, 1 invalid, 2 undecided) and the engine.
func BenchmarkGraphSteps(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
		h := generated(b, store)
		b.Run(store.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r, err := reghist.Build(h, checker.Options{})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				var res checker.Result
				verdict := 2.0
				if settled, _ := decideByGraph(ctx, r, checker.Options{}, &res); settled {
					verdict = map[checker.Verdict]float64{checker.Valid: 0, checker.Invalid: 1, checker.Unknown: 2}[res.Verdict]
				}
				cancel()
				b.ReportMetric(verdict, "verdict(0valid,1invalid,2undecided)")
				b.Logf("%s: %s by %q %s", store, res.Verdict, res.Stats.Engine, res.Reason)
			}
		})
	}
}

// BenchmarkSaturate times saturation alone on the linearizable history,
// which takes several rounds to reach its fixpoint.
func BenchmarkSaturate(b *testing.B) {
	h := generated(b, histgen.Linearizable)
	r, err := reghist.Build(h, checker.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		g, _ := newGraph(r)
		sat, err := g.saturate(context.Background(), 1<<30)
		if err != nil || sat.cyclic {
			b.Fatalf("%v %v", sat, err)
		}
		b.ReportMetric(float64(sat.rounds), "rounds")
		b.ReportMetric(float64(len(g.derived)), "derived")
	}
}

// BenchmarkCycle times the search for the cycle of a saturated graph
// that saturation found cyclic (the stale history; the eventual one has
// two cas that read the same write, and no graph), alone.
func BenchmarkCycle(b *testing.B) {
	for _, store := range []histgen.Store{histgen.Stale} {
		h := generated(b, store)
		r, err := reghist.Build(h, checker.Options{})
		if err != nil {
			b.Fatal(err)
		}
		g, _ := newGraph(r)
		g.link()
		sat, err := g.saturate(context.Background(), 1<<30)
		if err != nil || !sat.cyclic {
			b.Fatalf("%s: saturation found no cycle (%v)", store, err)
		}
		b.Run(store.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				nodes, _ := g.cycle(context.Background())
				b.ReportMetric(float64(len(nodes)), "nodes")
			}
		})
	}
}
