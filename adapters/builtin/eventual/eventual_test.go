package eventual_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/eventual"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/storetest"
	"consist/run"
	"consist/run/clock"
	"consist/run/sim"
	"consist/workloads"
	"consist/workloads/runner"
)

func TestLastWriteWinsHonoursNodeClocks(t *testing.T) {
	now := time.Now()
	v := func(value, node string, at time.Duration) eventual.Version {
		return eventual.Version{Value: value, Node: node, Time: now.Add(at)}
	}
	for _, tc := range []struct {
		name     string
		siblings []eventual.Version
		want     string
	}{
		{"one version", []eventual.Version{v("a", "n1", 0)}, "a"},
		{"the later write", []eventual.Version{v("a", "n1", 0), v("b", "n2", time.Millisecond)}, "b"},
		{"the later write, listed first", []eventual.Version{v("b", "n2", time.Millisecond), v("a", "n1", 0)}, "b"},
		{"equal times: the greater node", []eventual.Version{v("b", "n2", 0), v("a", "n1", 0)}, "b"},
		// n1's clock runs an hour ahead: its write, a second older in
		// real time, carries the later timestamp and wins.
		{"a node ahead wins with an older write", []eventual.Version{v("a", "n1", time.Hour-time.Second), v("b", "n2", 0)}, "a"},
		// n2's clock runs an hour behind: its newer write loses.
		{"a node behind loses with a newer write", []eventual.Version{v("a", "n1", 0), v("b", "n2", time.Second-time.Hour)}, "a"},
	} {
		if got := eventual.LastWriteWins(adapters.Register, tc.siblings); got != tc.want {
			t.Errorf("%s: resolved to %v, want %s", tc.name, got, tc.want)
		}
	}
}

// allSiblings resolves to every sibling's value, earliest first.
func allSiblings(_ adapters.Kind, siblings []eventual.Version) any {
	var values []any
	for _, s := range siblings {
		values = append(values, s.Value)
	}
	return values
}

func TestConcurrentWritesStaySiblings(t *testing.T) {
	net := eventual.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, eventual.Options{Resolve: allSiblings})
	defer net.Close()
	ctx := context.Background()
	storetest.Split(t, net, [2]string{"n1", "n2"})
	storetest.Write(t, net, "n1", "x", "a")
	storetest.Write(t, net, "n2", "x", "b")
	if got := storetest.Read(t, net, "n1", "x"); !history.Equal(got, []any{"a"}) {
		t.Fatalf("n1 read %v while cut off from n2; want only its own write [a]", got)
	}
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); !history.Equal(got, []any{"a", "b"}) {
		t.Fatalf("after healing, both nodes hold %v; want the concurrent writes as siblings [a b]", got)
	}
	// A write that has seen both siblings supersedes them.
	storetest.Write(t, net, "n2", "x", "c")
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); !history.Equal(got, []any{"c"}) {
		t.Fatalf("after a write on top of both siblings, the nodes hold %v; want [c]", got)
	}
}

// TestSiblingsModeShowsConcurrentWrites: in siblings mode, writes on
// either side of a partition read back, once it heals, as a sorted list
// of both values, on every node; a cas acts on the last write, not on the
// list, and a write that saw the siblings supersedes them.
func TestSiblingsModeShowsConcurrentWrites(t *testing.T) {
	net := eventual.New(simnet.Config{Nodes: 2, Seed: 1, Latency: simnet.Fixed(time.Millisecond), Scheduler: sim.New(time.Time{})}, eventual.Options{Read: eventual.Siblings})
	defer net.Close()
	storetest.Split(t, net, [2]string{"n1", "n2"})
	storetest.Write(t, net, "n2", "x", int64(20))
	storetest.Write(t, net, "n1", "x", int64(3))
	if got := storetest.Read(t, net, "n1", "x"); got != int64(3) {
		t.Fatalf("n1 read %v while cut off from n2; want its own write, 3, alone", got)
	}
	if got := storetest.Read(t, net, "n2", "never-written"); got != nil {
		t.Fatalf("a key never written read %v; want nil", got)
	}
	if err := net.Heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); !history.Equal(got, []any{int64(3), int64(20)}) {
		t.Fatalf("after healing, the nodes read %v; want both concurrent writes, sorted: [3 20]", got)
	}
	if _, err := storetest.Try(t, net, "n2", adapters.Op{F: "cas", Key: "x", Value: []any{[]any{int64(3), int64(20)}, int64(5)}}); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("a cas from the list of siblings returned %v; want not applied: cas acts on the last write", err)
	}
	// n1 wrote last, so the last write is 3.
	storetest.Do(t, net, "n2", adapters.Op{F: "cas", Key: "x", Value: []any{int64(3), int64(4)}})
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); got != int64(4) {
		t.Fatalf("after a cas on top of both siblings, the nodes read %v; want 4 alone", got)
	}
}

func TestSiblingsShowsEachValueOnce(t *testing.T) {
	v := func(value any, node string) eventual.Version { return eventual.Version{Value: value, Node: node} }
	for _, tc := range []struct {
		kind     adapters.Kind
		siblings []eventual.Version
		want     any
	}{
		{adapters.Register, []eventual.Version{v("a", "n1")}, "a"},
		{adapters.Register, []eventual.Version{v("b", "n1"), v("a", "n2")}, []any{"a", "b"}},
		{adapters.Register, []eventual.Version{v(int64(7), "n1"), v(int64(7), "n2")}, int64(7)},
		{adapters.Register, []eventual.Version{v("z", "n1"), v(int64(10), "n2"), v(int64(9), "n3")}, []any{int64(9), int64(10), "z"}},
		{adapters.Counter, []eventual.Version{v(int64(2), "n1"), v(nil, "n2")}, []any{int64(0), int64(2)}},
	} {
		if got := eventual.Siblings(tc.kind, tc.siblings); !history.Equal(got, tc.want) {
			t.Errorf("Siblings(%s, %v) = %v; want %v", tc.kind, tc.siblings, got, tc.want)
		}
	}
}

// TestSkewDecidesWhichConcurrentWriteWins: n1 writes first, n2 a moment
// later, on either side of a partition; after it heals last-write-wins by
// the nodes' clocks keeps one, and skew decides which.
func TestSkewDecidesWhichConcurrentWriteWins(t *testing.T) {
	for _, tc := range []struct {
		node string
		skew time.Duration
		want string
	}{
		{"n1", 0, "second"},
		{"n1", time.Hour, "first"},
		{"n2", -time.Hour, "first"},
		{"n2", time.Hour, "second"},
	} {
		t.Run(fmt.Sprintf("%s%+v", tc.node, tc.skew), func(t *testing.T) {
			net := eventual.New(simnet.Config{Nodes: 2, Seed: 1, Latency: simnet.Fixed(time.Millisecond), Scheduler: sim.New(time.Time{})}, eventual.Options{})
			defer net.Close()
			ctx := context.Background()
			if err := net.Skew(ctx, tc.node, tc.skew); err != nil {
				t.Fatal(err)
			}
			storetest.Split(t, net, [2]string{"n1", "n2"})
			storetest.Write(t, net, "n1", "x", "first")
			storetest.Write(t, net, "n2", "x", "second")
			if err := net.Heal(ctx); err != nil {
				t.Fatal(err)
			}
			if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); got != tc.want {
				t.Fatalf("with %s's clock %v off, the nodes agree on %v; want %s", tc.node, tc.skew, got, tc.want)
			}
		})
	}
}

// TestConvergesAfterPartitionHeals writes on three isolated nodes over
// lossy, duplicating, slow links, heals, and waits for every node to read
// the same values: the latest writes.
func TestConvergesAfterPartitionHeals(t *testing.T) {
	cfg := simnet.Config{Nodes: 3, Seed: 7, Latency: simnet.Uniform(time.Millisecond, 5*time.Millisecond), Loss: 0.3, Duplication: 0.2, Scheduler: sim.New(time.Time{})}
	net := eventual.New(cfg, eventual.Options{AntiEntropy: 20 * time.Millisecond})
	defer net.Close()
	storetest.Split(t, net, [2]string{"n1", "n2"}, [2]string{"n1", "n3"}, [2]string{"n2", "n3"})
	keys := []string{"k0", "k1", "k2"}
	for i, node := range net.Nodes() {
		for _, key := range keys {
			storetest.Write(t, net, node, key, int64(i))
		}
	}
	for _, key := range keys {
		for i, node := range net.Nodes() {
			if got := storetest.Read(t, net, node, key); got != int64(i) {
				t.Fatalf("isolated %s read %v at %s; want its own write %d", node, got, key, i)
			}
		}
		// vclock.Concurrent with n1's and n3's writes, and later: it wins.
		storetest.Write(t, net, "n2", key, "final-"+key)
	}
	if err := net.Heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, key := range keys {
		if got := storetest.Agree(t, net, storetest.Reg("read", key, nil)); got != "final-"+key {
			t.Fatalf("the nodes agree that %s is %v; want the last write, final-%s", key, got, key)
		}
	}
}

// TestConcurrentReadModifyWritesLoseUpdates shows the lost updates this
// store is expected to have: increments and cas on both sides of a
// partition all succeed, and only one side's survives.
func TestConcurrentReadModifyWritesLoseUpdates(t *testing.T) {
	net := eventual.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, eventual.Options{})
	defer net.Close()
	storetest.Split(t, net, [2]string{"n1", "n2"})
	for _, node := range net.Nodes() {
		storetest.Do(t, net, node, adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)})
		storetest.Do(t, net, node, adapters.Op{Kind: adapters.Register, F: "cas", Key: "r", Value: []any{nil, node}})
	}
	if err := net.Heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, adapters.Op{Kind: adapters.Counter, F: "read", Key: "c"}); got != int64(1) {
		t.Fatalf("two acknowledged increments during a partition read back as %v after healing; want 1, one lost", got)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "r", nil)); got != "n2" {
		t.Fatalf("two acknowledged cas from nil read back as %v; want n2's, the later", got)
	}
}

// TestRestartReloadsFromDisk: a node restarted after a crash still holds
// what it acknowledged, and its clock entries carry on, so its next write
// supersedes the old one everywhere.
func TestRestartReloadsFromDisk(t *testing.T) {
	net := eventual.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, eventual.Options{})
	defer net.Close()
	ctx := context.Background()
	storetest.Write(t, net, "n1", "x", "old")
	storetest.Agree(t, net, storetest.Reg("read", "x", nil))
	storetest.Split(t, net, [2]string{"n1", "n2"})
	storetest.Write(t, net, "n1", "y", "unreplicated")
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Read(t, net, "n1", "y"); got != "unreplicated" {
		t.Fatalf("after a restart, n1 read %v; want its acknowledged write, unreplicated", got)
	}
	storetest.Write(t, net, "n1", "x", "new")
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); got != "new" {
		t.Fatalf("after n1's restart and a new write, the nodes agree on %v; want new", got)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "y", nil)); got != "unreplicated" {
		t.Fatalf("the nodes agree that y is %v; want unreplicated", got)
	}
}

// TestPartitionsCauseStaleReads is the truth test: the register workload
// against three nodes under halves partitions that flip every 200 ms is
// not linearizable, and the checker says why: stale reads. Once the
// partitions end, the nodes converge.
//
// (checker/convergence cannot judge this history: the workload's last
// reads, taken under the partition, are its final reads, and they differ.)
func TestPartitionsCauseStaleReads(t *testing.T) {
	ctx := context.Background()
	s := sim.New(time.Time{})
	net := eventual.New(simnet.Config{Nodes: 3, Seed: 1, Latency: simnet.Uniform(time.Millisecond, 5*time.Millisecond), Scheduler: s}, eventual.Options{})
	defer net.Close()
	var out bytes.Buffer
	rec := history.NewRecorderClock(&out, 0, s.Now)
	halves := [][][2]string{
		{{"n1", "n2"}, {"n1", "n3"}}, // n1 | n2 n3
		{{"n1", "n3"}, {"n2", "n3"}}, // n1 n2 | n3
	}
	partition := func(i int) {
		cuts := halves[i%len(halves)]
		if err := net.Partition(ctx, cuts); err != nil {
			t.Error(err)
		}
		var value []any
		for _, c := range cuts {
			value = append(value, []any{c[0], c[1]})
		}
		if _, err := rec.Record(history.Event{Type: history.Info, Process: history.Nemesis, F: "partition", Value: value, HasValue: true}); err != nil {
			t.Error(err)
		}
	}
	partition(0)
	stop, halt := context.WithCancel(ctx)
	nemesis := clock.NewGroup(s)
	nemesis.Go(func() {
		pace := clock.NewPacer(s, 200*time.Millisecond)
		for i := 1; pace.Wait(stop); i++ {
			partition(i)
		}
	})
	wl, err := workloads.New("register", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(ctx, runner.Config{Store: net, Workload: wl, Recorder: rec, Clients: 9, Duration: 1500 * time.Millisecond, Rate: 2000, Seed: 1, Clock: s}, &counts)
	halt()
	s.Poke()
	nemesis.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Record(history.Event{Type: history.Info, Process: history.Nemesis, F: "heal"}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), "eventual", history.Auto)
	if err != nil {
		t.Fatal(err)
	}

	res := linearizable.Check(ctx, h, checker.Options{})
	t.Logf("%d operations (%d ok, %d fail, %d info); linearizable: %s, %d anomalies, in %v",
		len(h.Ops), counts.OK.Load(), counts.Fail.Load(), counts.Info.Load(), res.Verdict, len(res.Anomalies), res.Stats.Duration)
	if res.Verdict != checker.Invalid {
		t.Fatalf("linearizable: %s (%s); want invalid: reads during partitions are stale", res.Verdict, res.Reason)
	}
	// Each key's first contradiction is reported: a stale read, or a
	// lost update where two cas both read a value only one could have.
	for _, a := range res.Anomalies {
		if a.Kind != linearizable.KindStaleRead && a.Kind != linearizable.KindLostUpdate {
			t.Errorf("linearizable found %s (%s); want stale reads and lost updates", a.Kind, a.Explanation())
		}
	}
	reads, staleReads := countStaleReads(h)
	t.Logf("%d of %d ok reads are certainly stale", staleReads, reads)
	// The run is on virtual time, the same every time: the bar says
	// stale reads are common under partitions, not a rarity.
	if staleReads*10 < reads {
		t.Fatalf("only %d of %d ok reads are certainly stale; want a tenth or more: under partitions that flip every 200 ms stale reads are common", staleReads, reads)
	}
	for _, key := range []string{"k0", "k1", "k2"} {
		storetest.Agree(t, net, storetest.Reg("read", key, nil))
	}
}

// TestSiblingsModeReadsUnwrittenValues is the truth test of siblings
// mode: the register workload, with no fault at all, on three nodes. Writes
// made on two nodes within the replication lag become siblings, and reads
// of them return lists no one wrote: read-your-writes, the weakest
// register model, is invalid, with unwritten reads as the witnesses. The
// nodes still agree in the end, lists and all.
func TestSiblingsModeReadsUnwrittenValues(t *testing.T) {
	ctx := context.Background()
	net := eventual.New(simnet.Config{Nodes: 3, Seed: 1, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond), Scheduler: sim.New(time.Time{})}, eventual.Options{Read: eventual.Siblings})
	defer net.Close()
	wl, err := workloads.New("register", workloads.Options{Keys: 5})
	if err != nil {
		t.Fatal(err)
	}
	h := storetest.Record(t, run.Config{System: &run.System{Name: "eventual", Store: net}, Workload: wl, Clients: 10,
		Duration: time.Second, Rate: 1000, Seed: 1, Quiesce: 300 * time.Millisecond}).History
	lists := 0
	for i := range h.Ops {
		if _, ok := h.Ops[i].Output.([]any); ok && h.Ops[i].F == "read" {
			lists++
		}
	}
	t.Logf("%d of %d operations are reads of siblings", lists, len(h.Ops))
	results := suite.Check(ctx, h, checker.Options{}, checker.ReadYourWrites, checker.Convergence)
	for _, r := range results {
		switch r.Model {
		case checker.ReadYourWrites:
			if r.Verdict != checker.Invalid || len(r.Anomalies) == 0 || r.Anomalies[0].Kind != "unwritten-read" {
				t.Fatalf("read-your-writes: %s (%s) %v; want invalid, reads of unwritten values", r.Verdict, r.Reason, r.Anomalies)
			}
			t.Logf("for instance: %s", r.Anomalies[0].Explanation())
		case checker.Convergence:
			if r.Verdict != checker.Valid {
				t.Fatalf("convergence: %s (%s) %v; want valid", r.Verdict, r.Reason, r.Anomalies)
			}
		}
	}
}

// countStaleReads counts the ok reads of a register history with unique
// written values, and those of them that are certainly stale: some ok
// write of another value completed before the read began and began after
// the write of the value read completed (or, for a read of nil, at all).
func countStaleReads(h *history.History) (reads, stale int) {
	writes := map[any][]*history.Op{} // ok and info writes and cas, by key
	for i := range h.Ops {
		op := &h.Ops[i]
		if (op.F == "write" || op.F == "cas") && op.Type != history.Fail {
			writes[op.Key] = append(writes[op.Key], op)
		}
	}
	wrote := func(w *history.Op) any {
		if w.F == "cas" {
			return w.Input.([]any)[1]
		}
		return w.Input
	}
	for i := range h.Ops {
		r := &h.Ops[i]
		if r.F != "read" || r.Type != history.OK {
			continue
		}
		reads++
		since := -1 // when the value read was last written
		for _, w := range writes[r.Key] {
			if history.Equal(wrote(w), r.Output) {
				since = w.Complete
				if w.Type != history.OK {
					since = len(h.Events)
				}
			}
		}
		for _, w := range writes[r.Key] {
			if w.Type == history.OK && w.Invoke > since && w.Complete < r.Invoke && !history.Equal(wrote(w), r.Output) {
				stale++
				break
			}
		}
	}
	return reads, stale
}
