package runner_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/nemesis"
	"consist/workloads"
	"consist/workloads/runner"
)

// record runs cfg into a buffer and reads the history back.
func record(t *testing.T, ctx context.Context, cfg runner.Config, counts *runner.Counts) *history.History {
	t.Helper()
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	cfg.Recorder = rec
	if err := runner.Run(ctx, cfg, counts); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), "run", history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustCheck(t *testing.T, h *history.History, models ...checker.Model) {
	t.Helper()
	for _, r := range suite.Check(context.Background(), h, checker.Options{}, models...) {
		if r.Verdict != checker.Valid {
			t.Fatalf("%s: %s %s %v", r.Model, r.Verdict, r.Reason, r.Anomalies)
		}
	}
}

// TestSingleIsLinearizable runs the register workload against the
// linearizable baseline and checks the recorded history: it must read
// back, hold every operation, end with every worker's final reads, and be
// linearizable.
func TestSingleIsLinearizable(t *testing.T) {
	wl, err := workloads.New("register", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	h := record(t, context.Background(), runner.Config{Store: single.New(simnet.Config{Seed: 1}), Workload: wl, Clients: 8, Ops: 4000, Seed: 1}, &counts)
	const final = 8 * 3
	if len(h.Ops) != 4000+final || counts.Total() != 4000+final {
		t.Fatalf("recorded %d operations, counted %d; want 4000 and %d final reads", len(h.Ops), counts.Total(), final)
	}
	if counts.OK.Load() == 0 || counts.Fail.Load() == 0 {
		t.Fatalf("want both ok operations and failed cas, got %d ok, %d fail", counts.OK.Load(), counts.Fail.Load())
	}
	// The final reads begin after every other operation ended.
	mainEnd := 0
	for _, op := range h.Ops[:4000] {
		mainEnd = max(mainEnd, op.Complete)
	}
	for _, op := range h.Ops[4000:] {
		if op.F != "read" || op.Invoke < mainEnd {
			t.Fatalf("final operation %+v: want a read invoked after the main phase ended (event %d)", op, mainEnd)
		}
	}
	mustCheck(t, h, checker.Linearizable, checker.Convergence)
}

// TestSetupRunsFirstAsItsOwnProcess runs the bank workload: its setup
// write comes first, by process Clients, and the bank's total holds.
func TestSetupRunsFirstAsItsOwnProcess(t *testing.T) {
	wl, err := workloads.New("bank", workloads.Options{Keys: 4})
	if err != nil {
		t.Fatal(err)
	}
	h := record(t, context.Background(), runner.Config{Store: single.New(simnet.Config{Seed: 1}), Workload: wl, Clients: 4, Ops: 500, Seed: 1}, nil)
	first := h.Ops[0]
	if first.F != "write" || first.Process != 4 || first.Type != history.OK {
		t.Fatalf("first operation %+v: want the setup write, ok, by process 4", first)
	}
	mustCheck(t, h, checker.Bank)
}

// TestNemesisFaultsAreRecordedAndHealed kills and partitions the single
// store every few milliseconds: the faults show in the history as nemesis
// events, each start followed by its stop, and the store stays
// linearizable.
func TestNemesisFaultsAreRecordedAndHealed(t *testing.T) {
	store := single.New(simnet.Config{Seed: 3})
	wl, _ := workloads.New("register", workloads.Options{Keys: 2})
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	nem, err := nemesis.New(store, nemesis.Schedule{Kinds: []nemesis.Kind{nemesis.Kill, nemesis.Pause}, Interval: 5 * time.Millisecond, Order: nemesis.Cycle, Seed: 3}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{Store: store, Workload: wl, Recorder: rec, Clients: 4, Duration: 200 * time.Millisecond,
		Rate: 4000, OpTimeout: 20 * time.Millisecond, Seed: 3, Nemesis: nem}, &counts)
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	h, err := history.Parse(out.Bytes(), "run", history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	var starts, stops int
	for _, e := range h.Events {
		if e.Process == history.Nemesis {
			switch e.F {
			case "start-kill", "start-pause":
				starts++
			case "stop-kill", "stop-pause":
				stops++
			}
		}
	}
	if starts < 4 || starts != stops {
		t.Fatalf("%d faults started and %d healed; want several, all healed", starts, stops)
	}
	if counts.Fail.Load()+counts.Info.Load() == 0 {
		t.Fatal("no operation failed or timed out while the node was killed or paused")
	}
	mustCheck(t, h, checker.Linearizable)
}

// stopAfter wraps a workload so that the run's context is cancelled after
// n operations are drawn: Ctrl-C in the middle of a run.
type stopAfter struct {
	workloads.Workload
	n      atomic.Int64
	cancel context.CancelFunc
}

func (s *stopAfter) Generator(worker int, rng *rand.Rand) workloads.Generator {
	return &stopGen{s.Workload.Generator(worker, rng), s}
}

type stopGen struct {
	workloads.Generator
	s *stopAfter
}

func (g *stopGen) Next() adapters.Op {
	if g.s.n.Add(-1) == 0 {
		g.s.cancel()
	}
	return g.Generator.Next()
}

func (s *stopAfter) Final() []adapters.Op {
	return s.Workload.(interface{ Final() []adapters.Op }).Final()
}

// TestInterruptHealsAndSkipsFinalReads cancels a run mid-way while a
// fault is in force: the run returns cleanly, the fault is healed and
// recorded so, and no final reads follow.
func TestInterruptHealsAndSkipsFinalReads(t *testing.T) {
	store := single.New(simnet.Config{Seed: 4})
	wl, _ := workloads.New("register", workloads.Options{Keys: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := &stopAfter{Workload: wl, cancel: cancel}
	stop.n.Store(300)
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	nem, err := nemesis.New(store, nemesis.Schedule{Kinds: []nemesis.Kind{nemesis.Clock}, Interval: time.Microsecond, Seed: 4}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := runner.Run(ctx, runner.Config{Store: store, Workload: stop, Recorder: rec, Clients: 3, Seed: 4, Nemesis: nem}, nil); err != nil {
		t.Fatal(err)
	}
	rec.Close()
	h, err := history.Parse(out.Bytes(), "run", history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) > 303 {
		t.Fatalf("%d operations after an interrupt at 300: final reads ran", len(h.Ops))
	}
	open := map[string]bool{}
	for _, e := range h.Events {
		if e.Process == history.Nemesis {
			if len(e.F) > 6 && e.F[:6] == "start-" {
				open[e.F[6:]] = true
			} else {
				delete(open, e.F[5:])
			}
		}
	}
	if len(open) > 0 {
		t.Fatalf("faults %v were never healed", open)
	}
}
