package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/history"
	"consist/workloads"
	"consist/workloads/runner"
)

// discard is the bare loop's sink: it records nothing.
type discard struct{}

func (discard) Record(e history.Event) (history.Event, error) { return e, nil }

// BenchmarkRecordingOverhead drives the single store with 16 clients as
// fast as it answers, alternating runs that record to a history file with
// runs that record nothing, and reports the throughput of each and the
// cost of recording, measured side by side.
func BenchmarkRecordingOverhead(b *testing.B) {
	const ops = 200_000
	wl, err := workloads.New("register", workloads.Options{Keys: 10})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	var bare, recorded time.Duration
	runOnce := func(record bool) time.Duration {
		cfg := runner.Config{Store: single.New(simnet.Config{Seed: 1}), Workload: wl, Clients: 16, Ops: ops, Seed: 1, Recorder: discard{}}
		defer cfg.Store.Close()
		var rec *history.Recorder
		if record {
			f, err := os.Create(filepath.Join(dir, "history.jsonl"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			rec = history.NewRecorder(f, history.DefaultFlushInterval)
			cfg.Recorder = rec
		}
		start := time.Now()
		if err := runner.Run(context.Background(), cfg, nil); err != nil {
			b.Fatal(err)
		}
		if rec != nil {
			if err := rec.Close(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	for b.Loop() {
		bare += runOnce(false)
		recorded += runOnce(true)
	}
	n := float64(b.N) * ops
	b.ReportMetric(n/bare.Seconds(), "bare-ops/s")
	b.ReportMetric(n/recorded.Seconds(), "recorded-ops/s")
	b.ReportMetric(100*(recorded.Seconds()/bare.Seconds()-1), "overhead-%")
}
