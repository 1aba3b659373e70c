package paxos

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/histtest"
	faults "consist/nemesis"
	"consist/run/clock"
	"consist/run/sim"
	"consist/workloads"
	"consist/workloads/runner"
)

// localRun runs a read-heavy register workload against a store with local reads,
// faults injected either by fault (a scripted nemesis, as the other tests
// of this package use) or by sched (package nemesis), and returns the
// history.
func localRun(t *testing.T, seed uint64, duration time.Duration, sched *faults.Schedule, fault func(n *nemesis)) *history.History {
	t.Helper()
	opts := Options{LocalReads: true}
	ls := watchLeaders(&opts)
	s := sim.New(time.Time{})
	net := New(simnet.Config{Seed: seed, Latency: latency, Scheduler: s}, opts)
	defer net.Close()
	var out bytes.Buffer
	rec := history.NewRecorderClock(&out, 0, s.Now)
	// Reads weigh most, as they do where local reads pay off.
	wl, err := workloads.New("register", workloads.Options{Keys: 8, Reads: 4, Writes: 1, CAS: 1})
	if err != nil {
		t.Fatal(err)
	}
	var nem *faults.Nemesis
	if sched != nil {
		sched.Seed, sched.Clock = seed, s
		if nem, err = faults.New(net, *sched, rec); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	scripted := clock.NewGroup(s)
	if fault != nil {
		n := &nemesis{ctx: ctx, sim: s, net: net, rec: rec, leaders: ls, t: t}
		scripted.Go(func() { fault(n) })
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{
		Store: net, Workload: wl, Recorder: rec, Clients: 9, Duration: duration, Rate: 1500,
		OpTimeout: 150 * time.Millisecond, Seed: seed, Nemesis: nem, Quiesce: 200 * time.Millisecond, Clock: s,
	}, &counts)
	cancel()
	s.Poke()
	scripted.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), t.Name(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d ok, %d fail, %d info", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
	return h
}

// served counts the ok reads among ops served by node and invoked between
// two positions of h.Events.
func served(h *history.History, ops []*history.Op, node string, from, to int) int {
	n := 0
	for _, op := range ops {
		if op.Type == history.OK && op.F == "read" && op.Invoke >= from && op.Invoke < to && h.Events[op.Invoke].Node == node {
			n++
		}
	}
	return n
}

// TestLocalReadsStaleWhenCutOff isolates a follower, or the leader, for
// 600 ms: the isolated node goes on serving reads from its own state
// while the others move on, so consist reports stale reads. Once healed,
// the node catches up and the replicas converge; the history stays
// sequentially consistent throughout.
func TestLocalReadsStaleWhenCutOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		pick func(n *nemesis) string
	}{
		{"follower", func(n *nemesis) string { return n.others(n.leader())[0] }},
		{"leader", func(n *nemesis) string { return n.leader() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var isolated string
			h := localRun(t, 21, 1500*time.Millisecond, nil, func(n *nemesis) {
				if !n.wait(300 * time.Millisecond) {
					return
				}
				isolated = tc.pick(n)
				n.isolate(isolated)
				n.wait(600 * time.Millisecond)
				n.heal()
			})
			from, to := nemesisAt(t, h, "isolate"), nemesisAt(t, h, "heal")
			all := make([]*history.Op, len(h.Ops))
			for i := range h.Ops {
				all[i] = &h.Ops[i]
			}
			reads, stale := served(h, all, isolated, from, to), served(h, histtest.StaleReads(h), isolated, from, to)
			t.Logf("%s, isolated, served %d reads, %d of them certainly stale", isolated, reads, stale)
			if stale == 0 {
				t.Errorf("%s, cut off from the majority, served %d reads and none stale", isolated, reads)
			}
			r := linearizable.Check(context.Background(), h, checker.Options{Timeout: 20 * time.Second})
			if r.Verdict != checker.Invalid || !hasAnomaly(r, linearizable.KindStaleRead) {
				t.Errorf("linearizable: %s (%s) %v; want invalid with a stale read", r.Verdict, r.Reason, r.Anomalies)
			}
			mustHold(t, h, checker.Sequential, checker.Convergence)
		})
	}
}

// TestLocalReadsSequentialUnderFaults runs every kind of fault in turn:
// local reads are never linearizable, but always sequentially consistent,
// and the replicas converge once the faults heal.
func TestLocalReadsSequentialUnderFaults(t *testing.T) {
	t.Parallel()
	h := localRun(t, 22, 2500*time.Millisecond, &faults.Schedule{Kinds: faults.Kinds(), Interval: 150 * time.Millisecond, Order: faults.Cycle}, nil)
	r := linearizable.Check(context.Background(), h, checker.Options{Timeout: 20 * time.Second})
	if r.Verdict != checker.Invalid {
		t.Errorf("linearizable: %s (%s); want invalid", r.Verdict, r.Reason)
	}
	mustHold(t, h, checker.Sequential, checker.Convergence)
}

// TestLocalReadsReadYourWrites: a client's write is answered by its own
// node once applied there, so the client's next read, served locally,
// sees it — on every node, the followers included.
func TestLocalReadsReadYourWrites(t *testing.T) {
	t.Parallel()
	s := sim.New(time.Time{})
	net := New(simnet.Config{Seed: 23, Latency: latency, Scheduler: s}, Options{LocalReads: true})
	defer net.Close()
	clients := clock.NewGroup(s)
	for _, node := range net.Nodes() {
		clients.Go(func() {
			c, err := net.Open(context.Background(), node)
			if err != nil {
				t.Error(err)
				return
			}
			key := "k" + node
			for i := range int64(100) {
				if _, err := do(s, c, adapters.Op{F: "write", Key: key, Value: i}); err != nil {
					t.Errorf("write on %s: %v", node, err)
					return
				}
				got, err := do(s, c, adapters.Op{F: "read", Key: key})
				if err != nil || got != i {
					t.Errorf("read on %s after writing %d: %v, %v", node, i, got, err)
					return
				}
			}
		})
	}
	clients.Wait()
}

// TestLocalReadsServedWhenAlone: a node cut off from every other still
// answers reads, at once, from what it applied.
func TestLocalReadsServedWhenAlone(t *testing.T) {
	t.Parallel()
	s := sim.New(time.Time{})
	net := New(simnet.Config{Seed: 24, Latency: latency, Scheduler: s}, Options{LocalReads: true})
	defer net.Close()
	ctx := context.Background()
	c, _ := net.Open(ctx, "n3")
	if _, err := do(s, c, adapters.Op{F: "write", Key: "x", Value: int64(1)}); err != nil {
		t.Fatal(err)
	}
	if err := net.Partition(ctx, [][2]string{{"n3", "n1"}, {"n3", "n2"}}); err != nil {
		t.Fatal(err)
	}
	other, _ := net.Open(ctx, "n1")
	if _, err := do(s, other, adapters.Op{F: "write", Key: "x", Value: int64(2)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := s.WithTimeout(ctx, time.Second)
	defer cancel()
	asked := s.Elapsed()
	got, err := c.Do(ctx, adapters.Op{F: "read", Key: "x"})
	if err != nil || got != int64(1) {
		t.Fatalf("read on n3, alone, after n1 wrote 2: %v, %v; want 1 (stale)", got, err)
	}
	// At once: the request's way there and the answer's way back, each
	// at most the network's greatest latency.
	if took := s.Elapsed() - asked; took > 2*time.Millisecond {
		t.Fatalf("read on n3, alone, took %v of virtual time; want it answered at once, within a round trip", took)
	}
}

func hasAnomaly(r checker.Result, kind checker.Kind) bool {
	for _, a := range r.Anomalies {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// mustHold checks h against models and fails the test unless each is
// valid.
func mustHold(t *testing.T, h *history.History, models ...checker.Model) {
	t.Helper()
	for _, r := range suite.Check(context.Background(), h, checker.Options{Timeout: 20 * time.Second}, models...) {
		if r.Verdict != checker.Valid {
			t.Errorf("%s: %s (%s) %s", r.Model, r.Verdict, r.Reason, fmt.Sprint(r.Anomalies))
		}
	}
}
