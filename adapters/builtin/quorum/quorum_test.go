package quorum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/histtest"
	"consist/internal/scripttest"
	"consist/nemesis"
	"consist/run/clock"
	"consist/run/sim"
	"consist/workloads"
	"consist/workloads/runner"
)

var latency = simnet.Uniform(100*time.Microsecond, time.Millisecond)

// replicas keeps each node's disk, to look at the versions on it.
type replicas struct {
	mu    sync.Mutex
	of    map[string]*simnet.Disk
	clock clock.Clock // the network's
}

type spy struct {
	*machine
	r *replicas
}

func (s spy) Start(node *simnet.Node) {
	s.r.mu.Lock()
	s.r.of[node.Name()] = node.Disk()
	s.r.mu.Unlock()
	s.machine.Start(node)
}

// open starts a store as New does, in a simulation of its own (package
// run/sim), keeping its nodes' disks.
func open(cfg simnet.Config, opts Options) (*simnet.Network, *replicas) {
	r := &replicas{of: map[string]*simnet.Disk{}}
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	cfg.Scheduler = sim.New(time.Time{})
	opts = opts.withDefaults(cfg.Nodes)
	net := simnet.New(cfg, func(string) simnet.Machine { return spy{&machine{opts: opts}, r} })
	r.clock = net.Clock()
	return net, r
}

// value returns the value node's replica holds for key.
func (r *replicas) value(node, key string) any {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, _ := r.of[node].Get(versionOnDisk + history.Canonical(key)).(version)
	return v.Value
}

// await polls, every millisecond of the network's time, until every
// replica holds want for key, or a second passed.
func (r *replicas) await(t *testing.T, nodes []string, key string, want any) {
	t.Helper()
	deadline := r.clock.Now().Add(time.Second)
	pace := clock.NewPacer(r.clock, time.Millisecond)
	for {
		agree := true
		for _, n := range nodes {
			agree = agree && history.Equal(r.value(n, key), want)
		}
		if agree {
			return
		}
		if r.clock.Now().After(deadline) {
			for _, n := range nodes {
				t.Logf("%s holds %s=%v", n, key, r.value(n, key))
			}
			t.Fatalf("the replicas did not all come to hold %s=%v within a second", key, want)
		}
		pace.Wait(context.Background())
	}
}

func write(v int64) adapters.Op { return adapters.Op{F: "write", Key: "x", Value: v} }

var read = adapters.Op{F: "read", Key: "x"}

// TestQuorumsAloneAreNotLinearizable shows that R + W > N does not make a
// register linearizable (R = W = 2, N = 3). n1, cut off from the others,
// writes x=2: the write lands on n1's replica only and times out, its
// outcome unknown. Then n3 is cut off instead, and a client of n2 reads
// x: n2 and n1 answer, and it reads the new value, 2. Then n1 is cut off
// again, and the same client reads x from n2 and n3: the old value, 1 —
// new, then old, which no order of the operations explains. Nor any
// order that keeps the writer's writes in its order and the reader's
// reads in its: PRAM (monotonic reads and writes together) fails as well.
// With read
// repair the first read writes 2 back to n2's replica, and the second
// read returns 2.
func TestQuorumsAloneAreNotLinearizable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		readRepair bool
		second     int64 // what the second read returns
	}{{false, 1}, {true, 2}} {
		t.Run(fmt.Sprintf("read repair %v", tc.readRepair), func(t *testing.T) {
			t.Parallel()
			net, reps := open(simnet.Config{Seed: 31, Latency: latency}, Options{ReadRepair: tc.readRepair})
			defer net.Close()
			s := scripttest.New(t, net, net)
			if _, err := s.Do(0, "n1", write(1)); err != nil {
				t.Fatal(err)
			}
			reps.await(t, net.Nodes(), "x", int64(1))
			s.Isolate("n1")
			if _, err := s.Do(0, "n1", write(2)); adapters.Outcome(err) != history.Info || !errors.Is(err, errPartialWrite) {
				t.Fatalf("a write on n1, alone, returned %v; want an unknown outcome", err)
			}
			s.Isolate("n3")
			if v, err := s.Do(1, "n2", read); err != nil || v != int64(2) {
				t.Fatalf("the first read from n2 returned %v, %v; want 2, read from n1", v, err)
			}
			s.Isolate("n1")
			if v, err := s.Do(1, "n2", read); err != nil || v != tc.second {
				t.Fatalf("the second read from n2 returned %v, %v; want %d", v, err, tc.second)
			}
			s.Isolate()
			h := s.History()
			lin := linearizable.Check(context.Background(), h, checker.Options{})
			pram := suite.Check(context.Background(), h, checker.Options{}, checker.PRAM)[0]
			if tc.readRepair {
				if lin.Verdict != checker.Valid || pram.Verdict != checker.Valid {
					t.Fatalf("with read repair: linearizable %s %v, PRAM %s %v; want both valid", lin.Verdict, lin.Anomalies, pram.Verdict, pram.Anomalies)
				}
				return
			}
			// The witness: the two writes, and the two reads, new then old.
			var witness []int64
			for _, op := range h.Ops {
				if op.F == "read" || op.F == "write" {
					witness = append(witness, h.Events[op.Complete].Index)
				}
			}
			if lin.Verdict != checker.Invalid || len(lin.Anomalies) != 1 || fmt.Sprint(lin.Anomalies[0].Ops) != fmt.Sprint(witness) {
				t.Fatalf("linearizable: %s (%s) %v; want invalid, shown by the writes and reads %v", lin.Verdict, lin.Reason, lin.Anomalies, witness)
			}
			if pram.Verdict != checker.Invalid {
				t.Fatalf("PRAM: %s (%s); want invalid", pram.Verdict, pram.Reason)
			}
			t.Log(lin.Anomalies[0].Explanation())
		})
	}
}

// run drives the register workload against a store for 1.5 s, with the
// faults of kinds injected every 150 ms, and returns the history.
func run(t *testing.T, opts Options, seed uint64, kinds ...nemesis.Kind) *history.History {
	t.Helper()
	s := sim.New(time.Time{})
	net := New(simnet.Config{Seed: seed, Latency: latency, Scheduler: s}, opts)
	defer net.Close()
	wl, err := workloads.New("register", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rec := history.NewRecorderClock(&out, 0, s.Now)
	nem, err := nemesis.New(net, nemesis.Schedule{Kinds: kinds, Interval: 150 * time.Millisecond, Order: nemesis.Cycle, Seed: seed, Clock: s}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{Store: net, Workload: wl, Recorder: rec, Clients: 6, Duration: 1500 * time.Millisecond,
		Rate: 1500, OpTimeout: 250 * time.Millisecond, Seed: seed, Nemesis: nem, Quiesce: 200 * time.Millisecond, Clock: s}, &counts)
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
	if counts.OK.Load() < 500 {
		t.Fatalf("only %d operations succeeded", counts.OK.Load())
	}
	return h
}

// TestFaultFreeQuorumReadsAreFresh: without faults, with R = W = 2 of 3,
// no read misses a write that completed before it began.
func TestFaultFreeQuorumReadsAreFresh(t *testing.T) {
	t.Parallel()
	h := run(t, Options{}, 32)
	reads := countReads(h)
	if stale := histtest.StaleReads(h); len(stale) > 0 {
		t.Fatalf("%d of %d reads were stale, the first at event %d", len(stale), reads, stale[0].Complete)
	}
	t.Logf("none of %d reads was stale", reads)
}

// TestSmallQuorumsReadStale: with R = W = 1 a write is acknowledged by
// its coordinator alone and a read answered by its own replica, so reads
// on other nodes miss writes already acknowledged, even without faults.
func TestSmallQuorumsReadStale(t *testing.T) {
	t.Parallel()
	h := run(t, Options{R: 1, W: 1}, 33)
	stale := histtest.StaleReads(h)
	t.Logf("%d of %d reads were stale", len(stale), countReads(h))
	if len(stale) == 0 {
		t.Fatal("no stale read with R = W = 1")
	}
	// Each key's first contradiction is reported: a stale read, or a
	// lost update where two cas both read a value only one could have.
	r := linearizable.Check(context.Background(), h, checker.Options{Timeout: 20 * time.Second})
	if r.Verdict != checker.Invalid || len(r.Anomalies) == 0 {
		t.Fatalf("linearizable: %s (%s) %v; want invalid", r.Verdict, r.Reason, r.Anomalies)
	}
}

// TestGuaranteesUnderFaults runs every kind of fault in turn: a client
// always reads its own writes, and the final reads agree; with read
// repair a client's reads never go back in time either.
func TestGuaranteesUnderFaults(t *testing.T) {
	t.Parallel()
	for _, rr := range []bool{false, true} {
		t.Run(fmt.Sprintf("read repair %v", rr), func(t *testing.T) {
			t.Parallel()
			h := run(t, Options{ReadRepair: rr}, 34, nemesis.Kinds()...)
			models := []checker.Model{checker.ReadYourWrites}
			if rr {
				models = append(models, checker.MonotonicReads)
			}
			for _, r := range suite.Check(context.Background(), h, checker.Options{}, models...) {
				if r.Verdict != checker.Valid {
					t.Errorf("%s: %s (%s) %v", r.Model, r.Verdict, r.Reason, r.Anomalies)
				}
			}
			if r := suite.Check(context.Background(), h, checker.Options{}, checker.Convergence)[0]; r.Verdict == checker.Invalid {
				t.Errorf("convergence: %s %v", r.Verdict, r.Anomalies)
			}
		})
	}
}

// TestReadRepairConverges cuts n3 off while n1 writes five keys, which
// reach n1 and n2 only; after the heal a client of n1 reads each key. The
// reads return the new values either way; with read repair they also
// bring n3's replica up to date, and without it n3 stays behind.
func TestReadRepairConverges(t *testing.T) {
	t.Parallel()
	for _, rr := range []bool{false, true} {
		t.Run(fmt.Sprintf("read repair %v", rr), func(t *testing.T) {
			t.Parallel()
			net, reps := open(simnet.Config{Seed: 35, Latency: latency}, Options{ReadRepair: rr})
			defer net.Close()
			s := scripttest.New(t, net, net)
			s.Isolate("n3")
			keys := []string{"a", "b", "c", "d", "e"}
			for i, k := range keys {
				if _, err := s.Do(0, "n1", adapters.Op{F: "write", Key: k, Value: int64(i)}); err != nil {
					t.Fatal(err)
				}
			}
			s.Isolate()
			for i, k := range keys {
				if v, err := s.Do(1, "n1", adapters.Op{F: "read", Key: k}); err != nil || v != int64(i) {
					t.Fatalf("read %s: %v, %v; want %d", k, v, err, i)
				}
			}
			for i, k := range keys {
				if rr {
					reps.await(t, net.Nodes(), k, int64(i))
				} else if v := reps.value("n3", k); v != nil {
					t.Fatalf("without read repair n3 holds %s=%v; want nothing", k, v)
				}
			}
		})
	}
}

// TestRestartKeepsWrites kills every node and restarts them: the
// acknowledged write is on the replicas' disks.
func TestRestartKeepsWrites(t *testing.T) {
	t.Parallel()
	s := sim.New(time.Time{})
	net := New(simnet.Config{Seed: 36, Latency: latency, Scheduler: s}, Options{})
	defer net.Close()
	ctx, cancel := s.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c1, _ := net.Open(ctx, "n1")
	if _, err := c1.Do(ctx, write(7)); err != nil {
		t.Fatal(err)
	}
	for _, n := range net.Nodes() {
		if err := net.Kill(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range net.Nodes() {
		if err := net.Restart(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	c2, _ := net.Open(ctx, "n2")
	if v, err := c2.Do(ctx, read); err != nil || v != int64(7) {
		t.Fatalf("read after restarting every node: %v, %v; want 7", v, err)
	}
}

// TestReadModifyWritesLoseUpdates: concurrent counter adds on three
// nodes read the same version and overwrite each other, so fewer than
// all acknowledged adds survive.
func TestReadModifyWritesLoseUpdates(t *testing.T) {
	t.Parallel()
	s := sim.New(time.Time{})
	net := New(simnet.Config{Seed: 37, Latency: latency, Scheduler: s}, Options{})
	defer net.Close()
	ctx, cancel := s.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	clients := clock.NewGroup(s)
	var acked sync.Map
	for _, node := range net.Nodes() {
		clients.Go(func() {
			c, _ := net.Open(ctx, node)
			n := int64(0)
			for range 100 {
				if _, err := c.Do(ctx, adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)}); err == nil {
					n++
				}
			}
			acked.Store(node, n)
		})
	}
	clients.Wait()
	total := int64(0)
	acked.Range(func(_, n any) bool { total += n.(int64); return true })
	c, _ := net.Open(ctx, "n1")
	got, err := c.Do(ctx, adapters.Op{Kind: adapters.Counter, F: "read", Key: "c"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d adds acknowledged, the counter reads %v", total, got)
	if got.(int64) >= total {
		t.Fatalf("the counter reads %v after %d acknowledged concurrent adds; want updates lost", got, total)
	}
}

func countReads(h *history.History) int {
	n := 0
	for _, op := range h.Ops {
		if op.F == "read" && op.Type == history.OK {
			n++
		}
	}
	return n
}
