package txn

import (
	"context"
	"fmt"
	"testing"

	"consist/checker"
	"consist/internal/txngen"
)

// BenchmarkSnapshotIsolation checks, against every transactional model
// at once, issue 15's benchmark shape run on a simulated
// snapshot-isolation store: write skew makes cycles with rw edges, so the
// cycle searches run, the G-update search among them (G-update's cost
// shows here; the serializable benchmark's histories are acyclic).
func BenchmarkSnapshotIsolation(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("txns=%d", n), func(b *testing.B) {
			cfg := txngen.Bench(n)
			cfg.Isolation = txngen.SnapshotIsolation
			h, _, err := txngen.History(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				for _, r := range (Checker{}).Check(context.Background(), h, checker.Options{}) {
					if r.Model == checker.SnapshotIsolation && r.Verdict != checker.Valid {
						b.Fatalf("%s: %s %s %v", r.Model, r.Verdict, r.Reason, kindsOf(r.Anomalies))
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "txns/s")
		})
	}
}
