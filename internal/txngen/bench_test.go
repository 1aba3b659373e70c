package txngen

import (
	"context"
	"io"
	"testing"
)

// BenchmarkWrite1M generates issue 15's benchmark history, 1,000,000
// list-append transactions (Bench), and reports its size.
func BenchmarkWrite1M(b *testing.B) {
	for b.Loop() {
		st, err := Write(context.Background(), io.Discard, Bench(1_000_000))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Bytes)/1e6, "MB")
		b.ReportMetric(float64(st.Txns), "txns")
	}
}
