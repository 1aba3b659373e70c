package runner_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/internal/storetest"
	"consist/workloads"
	"consist/workloads/runner"
)

// BenchmarkRecordingOverhead drives the single store with 16 clients as
// fast as it answers, alternating three runs: one recording nothing (the
// bare loop), one recording with the history written nowhere (the
// recorder's own cost), and one writing the history to a file, as consist
// run does. It reports the throughput of each and the cost of recording,
// measured side by side.
func BenchmarkRecordingOverhead(b *testing.B) {
	const ops = 200_000
	wl, err := workloads.New("register", workloads.Options{Keys: 10})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	runOnce := func(out io.Writer) time.Duration {
		cfg := runner.Config{Store: single.New(simnet.Config{Seed: 1}), Workload: wl, Clients: 16, Ops: ops, Seed: 1}
		return storetest.TimedRun(b, cfg, out)
	}
	var bare, encoded, written time.Duration
	for b.Loop() {
		bare += runOnce(nil)
		encoded += runOnce(io.Discard)
		f, err := os.Create(filepath.Join(dir, "history.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		written += runOnce(f)
		f.Close()
	}
	n := float64(b.N) * ops
	b.ReportMetric(n/bare.Seconds(), "bare-ops/s")
	b.ReportMetric(n/written.Seconds(), "recorded-ops/s")
	b.ReportMetric(100*(encoded.Seconds()/bare.Seconds()-1), "recorder-%")
	b.ReportMetric(100*(written.Seconds()/bare.Seconds()-1), "overhead-%")
}
