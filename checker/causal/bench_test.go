package causal

import (
	"context"
	"fmt"
	"testing"

	"consist/checker"
	"consist/internal/histgen"
)

// BenchmarkPatterns times causal-convergence on 100,000-operation
// histories of 24 clients over a few keys and over many, with and without
// crashes (a client that crashes continues under a fresh process id, so
// 2% crashed operations make about 2,000 processes): each way of
// summarising the causal order (bySessions) meets its hard case.
func BenchmarkPatterns(b *testing.B) {
	for _, keys := range []int{1, 10, 1000} {
		for _, crashes := range []float64{0, 0.02} {
			cfg := histgen.AtScale(histgen.Linearizable)
			cfg.Keys, cfg.CrashRate = keys, crashes
			h, err := histgen.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("keys=%d/crashes=%v", keys, crashes), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					res := CheckModels(context.Background(), h, checker.Options{}, checker.CausalConvergence)
					if res[0].Verdict != checker.Valid {
						b.Fatalf("%s: %s", res[0].Verdict, res[0].Reason)
					}
				}
			})
		}
	}
}
