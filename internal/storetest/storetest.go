// Package storetest holds what the stores' tests share — the bundled
// stores' and the real servers': a run of the register workload under
// faults, and the verdicts it must bring.
package storetest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"consist/adapters"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/nemesis"
	"consist/run"
	"consist/run/clock"
	"consist/workloads"
	"consist/workloads/runner"
)

// Plan is how long and how hard a run drives a store.
type Plan struct {
	// Duration of the main phase; Interval of each fault and each calm.
	Duration, Interval time.Duration
	// OpTimeout makes an unanswered operation unknown; Quiesce is the
	// settling time before the final reads.
	OpTimeout, Quiesce time.Duration
	// Rate bounds operations per second across the ten clients.
	Rate float64
	// MinOK fails the run if fewer operations succeeded.
	MinOK int64
}

// Simulated is the plan for the bundled stores on the simulated network:
// 1.5 s, a fault every 100 ms, at least 500 operations ok.
var Simulated = Plan{Duration: 1500 * time.Millisecond, Interval: 100 * time.Millisecond,
	OpTimeout: 250 * time.Millisecond, Quiesce: 300 * time.Millisecond, Rate: 1000, MinOK: 500}

// Run drives store by Simulated; see RunPlan.
func Run(t *testing.T, store adapters.Store, target nemesis.Target, kinds []nemesis.Kind, seed uint64) *history.History {
	t.Helper()
	return RunPlan(t, Simulated, store, target, kinds, seed)
}

// RunPlan drives store with ten clients of the register workload over
// five keys, the nemesis cycling through kinds on target, and returns the
// recorded history; it fails t if fewer than plan.MinOK operations
// succeeded.
func RunPlan(t *testing.T, plan Plan, store adapters.Store, target nemesis.Target, kinds []nemesis.Kind, seed uint64) *history.History {
	t.Helper()
	wl, err := workloads.New("register", workloads.Options{Keys: 5})
	if err != nil {
		t.Fatal(err)
	}
	res := Record(t, run.Config{System: &run.System{Name: t.Name(), Store: store, Faults: target}, Workload: wl, Clients: 10,
		Duration: plan.Duration, Rate: plan.Rate, OpTimeout: plan.OpTimeout, Seed: seed, Quiesce: plan.Quiesce,
		Faults: kinds, Interval: plan.Interval, Order: nemesis.Cycle})
	if res.OK < plan.MinOK {
		t.Fatalf("only %d operations succeeded: the store did not serve", res.OK)
	}
	return res.History
}

// Workload runs the named workload against store with ten clients, as
// fast as it answers and without faults, for d or ops operations, and
// returns the history and its counts.
func Workload(t testing.TB, store adapters.Store, workload string, d time.Duration, ops int64, seed uint64) (*history.History, *runner.Counts) {
	t.Helper()
	wl, err := workloads.New(workload, workloads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res := Record(t, run.Config{System: &run.System{Name: t.Name(), Store: store}, Workload: wl, Clients: 10, Duration: d, Ops: ops,
		OpTimeout: 5 * time.Second, Seed: seed})
	var counts runner.Counts
	counts.OK.Store(res.OK)
	counts.Fail.Store(res.Fail)
	counts.Info.Store(res.Info)
	return res.History, &counts
}

// Record runs cfg in memory, unchecked (NoCheck), and returns the
// result, its history read back; it fails t if the run does. A System
// on a bundled store opened on a simulation runs in it (run.Config.Clock),
// the calling goroutine holding control.
func Record(t testing.TB, cfg run.Config) run.Result {
	t.Helper()
	cfg.NoCheck = true
	res, err := run.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Expect fails t unless every model of hold is valid on h and every
// model of break_ invalid.
func Expect(t *testing.T, h *history.History, hold, break_ []checker.Model) {
	t.Helper()
	results := suite.Check(context.Background(), h, checker.Options{Timeout: 30 * time.Second}, append(hold, break_...)...)
	want := map[checker.Model]checker.Verdict{}
	for _, m := range hold {
		want[m] = checker.Valid
	}
	for _, m := range break_ {
		want[m] = checker.Invalid
	}
	for _, r := range results {
		if r.Verdict != want[r.Model] {
			var first checker.Anomaly
			if len(r.Anomalies) > 0 {
				first = r.Anomalies[0]
			}
			t.Errorf("%s: %s (%s %s); want %s", r.Model, r.Verdict, r.Reason, first.Explanation(), want[r.Model])
		}
	}
}

// Throughput runs b.N rounds of two runs of ops register operations by
// ten clients as fast as the store answers, each on a fresh store from
// open: one recording nothing, one writing the history to a file. It
// returns the throughput of each, in operations per second, and reports
// both with the cost of recording as the benchmark's metrics.
func Throughput(b *testing.B, open func(testing.TB) adapters.Store, ops int64) (bare, recorded float64) {
	wl, err := workloads.New("register", workloads.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	config := func() runner.Config {
		return runner.Config{Store: open(b), Workload: wl, Clients: 10, Ops: ops, Seed: 1}
	}
	var bareTime, recordedTime time.Duration
	for b.Loop() {
		bareTime += TimedRun(b, config(), nil)
		f, err := os.Create(filepath.Join(dir, "history.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		recordedTime += TimedRun(b, config(), f)
		f.Close()
	}
	n := float64(b.N) * float64(ops)
	bare, recorded = n/bareTime.Seconds(), n/recordedTime.Seconds()
	b.ReportMetric(bare, "bare-ops/s")
	b.ReportMetric(recorded, "recorded-ops/s")
	b.ReportMetric(100*(bare/recorded-1), "overhead-%")
	return bare, recorded
}

// TimedRun runs cfg, recording to out (nil: recording nothing at all),
// closes its store, and returns how long the run took on the wall clock.
// A config without a Clock runs on its store's (clock.Of).
func TimedRun(tb testing.TB, cfg runner.Config, out io.Writer) time.Duration {
	tb.Helper()
	defer cfg.Store.Close()
	if cfg.Clock == nil {
		cfg.Clock = clock.Of(cfg.Store)
	}
	cfg.Recorder = discard{}
	var rec *history.Recorder
	if out != nil {
		rec = history.NewRecorder(out, history.DefaultFlushInterval)
		cfg.Recorder = rec
	}
	start := time.Now()
	if err := runner.Run(context.Background(), cfg, nil); err != nil {
		tb.Fatal(err)
	}
	if rec != nil {
		if err := rec.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return time.Since(start)
}

// discard is a sink that records nothing.
type discard struct{}

func (discard) Record(e history.Event) (history.Event, error) { return e, nil }

// Step is an operation a client performs and what it must bring.
type Step struct {
	Op adapters.Op
	// Want is what the operation returns, when it is ok.
	Want any
	// Outcome is the expected outcome; ErrText, if set, must be in the
	// error.
	Outcome history.Type
	ErrText string
}

// Perform runs steps in order on c, failing t at the first wrong outcome.
func Perform(t *testing.T, c adapters.Client, steps []Step) {
	t.Helper()
	for i, st := range steps {
		got, err := c.Do(t.Context(), st.Op)
		if o := adapters.Outcome(err); o != st.Outcome {
			t.Fatalf("step %d, %s %v %v: outcome %s (%v), want %s", i, st.Op.F, st.Op.Key, st.Op.Value, o, err, st.Outcome)
		}
		if err != nil && !strings.Contains(err.Error(), st.ErrText) {
			t.Errorf("step %d, %s %v: error %q does not say %q", i, st.Op.F, st.Op.Key, err, st.ErrText)
		}
		if err == nil && !history.Equal(got, st.Want) {
			t.Errorf("step %d, %s %v: got %s, want %s", i, st.Op.F, st.Op.Key, history.Describe(got), history.Describe(st.Want))
		}
	}
}

// Reg is a register operation.
func Reg(f string, key, value any) adapters.Op {
	return adapters.Op{Kind: adapters.Register, F: f, Key: key, Value: value}
}
