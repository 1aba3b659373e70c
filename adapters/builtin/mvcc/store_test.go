package mvcc_test

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/mvcc"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/checker/oncall"
	"consist/checker/txn"
	"consist/history"
	"consist/nemesis"
	"consist/run/clock"
	"consist/run/sim"
	"consist/workloads"
)

// load describes a run of a transactional workload against the store.
type load struct {
	level    mvcc.Level
	workload string // list-append (default), rw-register or on-call
	// nodes: the database and nodes-1 front ends (default 1), the
	// clients spread over them.
	nodes   int
	clients int
	txns    int // per client
	keys    int
	seed    uint64
	faults  []nemesis.Kind
	record  bool
	// backoff, when set, is how long a client waits after a transaction
	// that did not commit, as a real client backs off: a node that is
	// down does not see every client spend its transactions in a burst
	// of refusals.
	backoff time.Duration
}

// counts are what a run's transactions came to.
type counts struct{ ok, fail, info atomic.Int64 }

// drive runs l in a simulation (package run/sim), the store, the
// clients and the nemesis on one virtual clock, and returns the recorder
// (nil when l.record is false). The events' times are the wall clock's:
// the checkers read the order of the events, not their times.
func drive(tb testing.TB, l load, c *counts) *history.Recorder {
	tb.Helper()
	s := sim.New(time.Time{})
	net := mvcc.New(simnet.Config{Seed: l.seed, Nodes: l.nodes, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond), Scheduler: s}, mvcc.Options{Level: l.level})
	defer net.Close()
	var rec *history.Recorder
	if l.record {
		rec = history.NewMemoryRecorder()
	}
	record := func(e history.Event) {
		if rec != nil {
			if _, err := rec.Record(e); err != nil {
				tb.Error(err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	faults := clock.NewGroup(s)
	var nemErr error
	if len(l.faults) > 0 {
		nem, err := nemesis.New(net, nemesis.Schedule{Kinds: l.faults, Interval: 20 * time.Millisecond, Order: nemesis.Cycle, Seed: l.seed, Clock: s}, sink{record})
		if err != nil {
			tb.Fatal(err)
		}
		faults.Go(func() { nemErr = nem.Run(ctx) })
	}
	name := l.workload
	if name == "" {
		name = "list-append"
	}
	wl, err := workloads.New(name, workloads.Options{Keys: l.keys, MaxWritesPerKey: 16})
	if err != nil {
		tb.Fatal(err)
	}
	if setup, ok := wl.(workloads.Setup); ok {
		cl, err := net.Open(ctx, "n1")
		if err != nil {
			tb.Fatal(err)
		}
		for _, op := range setup.Setup() {
			mops := op.Value.([]adapters.MicroOp)
			record(history.Event{Type: history.Invoke, Process: history.Process(l.clients), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true})
			opCtx, stop := s.WithTimeout(ctx, time.Second)
			res, err := cl.Do(opCtx, op)
			stop()
			if err != nil {
				tb.Fatalf("setup: %v", err)
			}
			record(history.Event{Type: history.OK, Process: history.Process(l.clients), F: "txn", Value: adapters.MicroOpsValue(res.([]adapters.MicroOp)), HasValue: true})
		}
	}
	clients := clock.NewGroup(s)
	for w := range l.clients {
		clients.Go(func() {
			gen := wl.Generator(w, rand.New(rand.NewPCG(l.seed, uint64(w))))
			cl, err := net.Open(ctx, net.Nodes()[w%len(net.Nodes())])
			if err != nil {
				tb.Error(err)
				return
			}
			process := w
			for range l.txns {
				op := gen.Next()
				mops := op.Value.([]adapters.MicroOp)
				record(history.Event{Type: history.Invoke, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true})
				opCtx, stop := s.WithTimeout(ctx, time.Second)
				res, err := cl.Do(opCtx, op)
				stop()
				gen.Done(op, err == nil, res)
				if err != nil && l.backoff > 0 {
					s.Sleep(ctx, l.backoff)
				}
				switch adapters.Outcome(err) {
				case history.OK:
					c.ok.Add(1)
					record(history.Event{Type: history.OK, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(res.([]adapters.MicroOp)), HasValue: true})
				case history.Fail:
					c.fail.Add(1)
					record(history.Event{Type: history.Fail, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true, Error: err.Error()})
				default:
					c.info.Add(1)
					record(history.Event{Type: history.Info, Process: history.Process(process), F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true, Error: err.Error()})
					process += l.clients
				}
			}
		})
	}
	clients.Wait()
	cancel()
	s.Poke()
	faults.Wait()
	if nemErr != nil {
		tb.Fatal(nemErr)
	}
	return rec
}

// sink lets the nemesis record into the run's history.
type sink struct{ record func(history.Event) }

func (s sink) Record(e history.Event) (history.Event, error) { s.record(e); return e, nil }

// verdicts runs l and checks its history with the transactional checker.
func verdicts(t *testing.T, l load) (map[checker.Model]checker.Verdict, map[checker.Kind]checker.Anomaly) {
	t.Helper()
	l.record = true
	var c counts
	rec := drive(t, l, &c)
	h, err := rec.History()
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	if c.ok.Load() < int64(l.clients*l.txns/5) {
		t.Fatalf("%s: only %d of %d transactions committed (%d failed, %d unknown)", l.level, c.ok.Load(), l.clients*l.txns, c.fail.Load(), c.info.Load())
	}
	v := map[checker.Model]checker.Verdict{}
	found := map[checker.Kind]checker.Anomaly{}
	for _, r := range (txn.Checker{}).Check(context.Background(), h, checker.Options{Timeout: time.Minute}) {
		v[r.Model] = r.Verdict
		for _, a := range r.Anomalies {
			if _, ok := found[a.Kind]; !ok {
				found[a.Kind] = a
			}
		}
	}
	t.Logf("%s under %v: %d ok, %d failed, %d unknown; anomalies %v", l.level, l.faults, c.ok.Load(), c.fail.Load(), c.info.Load(), slices.Sorted(maps.Keys(found)))
	return v, found
}

// TestLevelsShowTheirAnomalies runs list-append transactions against
// every level under crashes and pauses and checks the history: each
// level keeps its guarantee and shows the anomalies its profile names
// (Jepsen's for InnoDB's repeatable read: lost update, G-single, G2-item
// and internal), and serializable shows none.
func TestLevelsShowTheirAnomalies(t *testing.T) {
	// G-single over items is Elle's G-single-item.
	gSingle := []checker.Kind{checker.GSingle, checker.GSingleItem}
	faults := []nemesis.Kind{nemesis.Kill, nemesis.Pause}
	for _, tc := range []struct {
		level mvcc.Level
		holds []checker.Model
		// shows: each inner list is satisfied by any one of its kinds.
		shows [][]checker.Kind
		never []checker.Kind
	}{
		{mvcc.ReadUncommitted, nil, [][]checker.Kind{{checker.G1a, checker.G1b, checker.G1c}}, nil},
		{mvcc.ReadCommitted, []checker.Model{checker.ReadCommitted}, [][]checker.Kind{gSingle, {checker.LostUpdate}}, nil},
		{mvcc.RepeatableRead, []checker.Model{checker.ReadCommitted}, [][]checker.Kind{gSingle, {checker.LostUpdate}, {checker.Internal}, {checker.G2Item}}, nil},
		{mvcc.Serializable, []checker.Model{checker.StrictSerializable}, nil, nil},
		{mvcc.SnapshotIsolation, []checker.Model{checker.StrongSnapshotIsolation}, [][]checker.Kind{{checker.G2Item}}, []checker.Kind{checker.GSingle, checker.GSingleItem, checker.Internal, checker.LostUpdate}},
	} {
		t.Run(tc.level.String(), func(t *testing.T) {
			t.Parallel()
			v, found := verdicts(t, load{level: tc.level, clients: 8, txns: 150, keys: 3, seed: 7, faults: faults, backoff: 5 * time.Millisecond})
			for _, m := range tc.holds {
				if v[m] != checker.Valid {
					t.Errorf("%s is %s, want valid", m, v[m])
				}
			}
			for _, any := range tc.shows {
				if !slices.ContainsFunc(any, func(k checker.Kind) bool { _, ok := found[k]; return ok }) {
					t.Errorf("none of %v found", any)
				}
			}
			for _, k := range tc.never {
				if a, ok := found[k]; ok {
					t.Errorf("%s found: %s", k, a.Explanation())
				}
			}
			if len(tc.shows) == 0 && len(found) > 0 {
				t.Errorf("anomalies found: %v", slices.Sorted(maps.Keys(found)))
			}
		})
	}
}

// TestFrontEndsCutOff runs clients through front ends (n2, n3) as well
// as on the database's node, under partitions that cut front ends off,
// kills and pauses: every level keeps its guarantee, the transactions a
// partition strands end unknown, and none runs twice.
func TestFrontEndsCutOff(t *testing.T) {
	for _, tc := range []struct {
		level mvcc.Level
		holds checker.Model
	}{{mvcc.ReadCommitted, checker.ReadCommitted}, {mvcc.Serializable, checker.StrictSerializable}, {mvcc.SnapshotIsolation, checker.StrongSnapshotIsolation}} {
		t.Run(tc.level.String(), func(t *testing.T) {
			t.Parallel()
			v, found := verdicts(t, load{level: tc.level, nodes: 3, clients: 9, txns: 100, keys: 3, seed: 5,
				faults: []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Pause}, backoff: 5 * time.Millisecond})
			if v[tc.holds] != checker.Valid {
				t.Errorf("%s is %s, want valid", tc.holds, v[tc.holds])
			}
			for _, k := range []checker.Kind{checker.DuplicateElements, checker.G0, checker.G1a, checker.G1b} {
				if a, ok := found[k]; ok {
					t.Errorf("%s: %s", k, a.Explanation())
				}
			}
		})
	}
}

// TestOnCallWriteSkew runs the design notes' doctors: under snapshot
// isolation two doctors both see the other on call and both leave
// (write skew, the rule broken); serializable keeps the rule.
func TestOnCallWriteSkew(t *testing.T) {
	for _, tc := range []struct {
		level mvcc.Level
		want  checker.Verdict
	}{{mvcc.SnapshotIsolation, checker.Invalid}, {mvcc.Serializable, checker.Valid}} {
		t.Run(tc.level.String(), func(t *testing.T) {
			t.Parallel()
			var c counts
			rec := drive(t, load{level: tc.level, workload: "on-call", clients: 6, txns: 100, keys: 3, seed: 3, record: true}, &c)
			h, err := rec.History()
			if err != nil {
				t.Fatal(err)
			}
			rs := (oncall.Checker{}).Check(context.Background(), h, checker.Options{})
			if len(rs) != 1 || rs[0].Verdict != tc.want {
				t.Fatalf("on-call at %s: %+v, want %s", tc.level, rs, tc.want)
			}
			t.Logf("%d committed, %d aborted; %s", c.ok.Load(), c.fail.Load(), rs[0].Verdict)
		})
	}
}

func TestTakesTransactionsOnly(t *testing.T) {
	net := mvcc.New(simnet.Config{Scheduler: sim.New(time.Time{})}, mvcc.Options{})
	defer net.Close()
	if err := adapters.Supports(net, adapters.Txn); err != nil {
		t.Fatal(err)
	}
	if err := adapters.Supports(net, adapters.Register); err == nil {
		t.Fatal("the mvcc store claims registers")
	}
	c, err := net.Open(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(context.Background(), adapters.Op{Kind: adapters.Register, F: "read", Key: "x"}); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("a register read: %v, want not applied", err)
	}
}
