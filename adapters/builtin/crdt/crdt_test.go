package crdt_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/crdt"
	"consist/adapters/builtin/simnet"
	"consist/history"
	"consist/internal/storetest"
	"consist/run/sim"
)

// TestPartitionedUpdatesMergeWhenHealed: three isolated nodes each add to
// a counter and a set and write a register; each reads only its own
// updates; once healed, every node holds every add and the register write
// with the latest timestamp — n3's, whose clock runs an hour ahead.
func TestPartitionedUpdatesMergeWhenHealed(t *testing.T) {
	net := crdt.New(simnet.Config{Nodes: 3, Seed: 1, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond), Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	ctx := context.Background()
	if err := net.Skew(ctx, "n3", time.Hour); err != nil {
		t.Fatal(err)
	}
	storetest.Isolate(t, net, net.Nodes())
	for i, node := range net.Nodes() {
		storetest.Do(t, net, node, storetest.Counter("add", "c", int64(i+1)))
		storetest.Do(t, net, node, storetest.Counter("add", "c", int64(-1)))
		storetest.Do(t, net, node, storetest.Set("add", "s", int64(10*i)))
		storetest.Do(t, net, node, storetest.Set("add", "s", node))
		storetest.Do(t, net, node, storetest.Reg("write", "r", node))
	}
	for i, node := range net.Nodes() {
		if got := storetest.Do(t, net, node, storetest.Counter("read", "c", nil)); got != int64(i) {
			t.Fatalf("isolated %s counts %v; want its own adds, %d", node, got, i)
		}
		if got := storetest.Do(t, net, node, storetest.Set("read", "s", nil)); !history.Equal(got, []any{int64(10 * i), node}) {
			t.Fatalf("isolated %s holds %v; want its own adds [%d %s]", node, got, 10*i, node)
		}
	}
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Counter("read", "c", nil)); got != int64(0+1+2) {
		t.Fatalf("after healing the nodes count %v; want every add, 3", got)
	}
	want := []any{int64(0), int64(10), int64(20), "n1", "n2", "n3"}
	if got := storetest.Agree(t, net, storetest.Set("read", "s", nil)); !history.Equal(got, want) {
		t.Fatalf("after healing the nodes hold %v; want every element, %v", got, want)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "r", nil)); got != "n3" {
		t.Fatalf("after healing the register holds %v; want n3's write, the latest by the clocks", got)
	}
}

// TestWriteSupersedesWhatItSaw: n1's clock runs an hour ahead; n2, having
// received n1's write, writes after it and wins everywhere, though its
// clock reads an hour earlier — the hybrid clock at work.
func TestWriteSupersedesWhatItSaw(t *testing.T) {
	net := crdt.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	if err := net.Skew(context.Background(), "n1", time.Hour); err != nil {
		t.Fatal(err)
	}
	storetest.Do(t, net, "n1", storetest.Reg("write", "x", "ahead"))
	storetest.Do(t, net, "n1", storetest.Reg("write", "y", "ahead"))
	storetest.Agree(t, net, storetest.Reg("read", "y", nil))
	storetest.Do(t, net, "n2", storetest.Reg("write", "x", "behind"))
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); got != "behind" {
		t.Fatalf("the nodes agree on %v; want behind, written after ahead was seen", got)
	}
	// Another key: n2's clock is behind every timestamp of y as well.
	storetest.Do(t, net, "n2", storetest.Reg("write", "y", "behind"))
	if got := storetest.Agree(t, net, storetest.Reg("read", "y", nil)); got != "behind" {
		t.Fatalf("the nodes agree that y is %v; want behind", got)
	}
}

// TestTimestampsExtendCausality: n1, having read y from n3, whose clock
// runs two hours ahead, writes x; n2, cut off and an hour ahead, writes x
// and then y. n1's write must beat n2's, though n1's clock is the
// earliest: it follows n3's write of y, which beats n2's write of y, which
// follows n2's write of x. Were n1's write stamped by its clock alone,
// the writes of x and y would be ordered in a cycle, and no arbitration
// order consistent with causality could explain the reads.
func TestTimestampsExtendCausality(t *testing.T) {
	net := crdt.New(simnet.Config{Nodes: 3, Seed: 1, Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	ctx := context.Background()
	for node, skew := range map[string]time.Duration{"n2": time.Hour, "n3": 2 * time.Hour} {
		if err := net.Skew(ctx, node, skew); err != nil {
			t.Fatal(err)
		}
	}
	if err := net.Partition(ctx, [][2]string{{"n1", "n2"}, {"n2", "n3"}}); err != nil {
		t.Fatal(err)
	}
	storetest.Do(t, net, "n3", storetest.Reg("write", "y", "n3"))
	storetest.Await(t, net, "n1", storetest.Reg("read", "y", nil), "n3")
	storetest.Do(t, net, "n1", storetest.Reg("write", "x", "n1"))
	storetest.Do(t, net, "n2", storetest.Reg("write", "x", "n2"))
	storetest.Do(t, net, "n2", storetest.Reg("write", "y", "n2"))
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "y", nil)); got != "n3" {
		t.Fatalf("the nodes agree that y is %v; want n3's write, two hours ahead", got)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); got != "n1" {
		t.Fatalf("the nodes agree that x is %v; want n1's write, made after seeing n3's", got)
	}
}

// TestCasIsLocal: on either side of a partition, a cas from the same value
// succeeds; once healed one of the two writes survives.
func TestCasIsLocal(t *testing.T) {
	net := crdt.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	storetest.Isolate(t, net, net.Nodes())
	storetest.Do(t, net, "n1", storetest.Reg("cas", "x", []any{nil, "n1"}))
	storetest.Do(t, net, "n2", storetest.Reg("cas", "x", []any{nil, "n2"}))
	if _, err := storetest.Try(t, net, "n1", storetest.Reg("cas", "x", []any{nil, "again"})); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("a cas from nil on n1, which holds n1, returned %v; want not applied", err)
	}
	if err := net.Heal(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Reg("read", "x", nil)); got != "n1" && got != "n2" {
		t.Fatalf("the nodes agree on %v; want one of the two cas", got)
	}
}

func TestListsAndBanksAreNotHeld(t *testing.T) {
	net := crdt.New(simnet.Config{Nodes: 1, Seed: 1, Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	for _, op := range []adapters.Op{
		{Kind: adapters.List, F: "append", Key: "l", Value: int64(1)},
		{Kind: adapters.Bank, F: "read"},
		{Kind: adapters.Counter, F: "add", Key: "c", Value: "one"},
		{Kind: adapters.Set, F: "remove", Key: "s", Value: int64(1)},
		{Kind: adapters.Register, F: "cas", Key: "r", Value: "not a pair"},
	} {
		if _, err := storetest.Try(t, net, "n1", op); !errors.Is(err, adapters.ErrNotApplied) {
			t.Errorf("%s %s %v: %v; want not applied", op.Kind, op.F, op.Value, err)
		}
	}
}

// TestRestartKeepsStateAndTags: a node killed and restarted holds what it
// acknowledged, and its next add gets a tag of its own — were its tags
// numbered from 1 again, that add and the one before the crash, still
// unreplicated, would share a tag and one would vanish on merge.
func TestRestartKeepsStateAndTags(t *testing.T) {
	net := crdt.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, crdt.Options{})
	defer net.Close()
	ctx := context.Background()
	storetest.Do(t, net, "n1", storetest.Set("add", "s", "before"))
	storetest.Agree(t, net, storetest.Set("read", "s", nil))
	storetest.Isolate(t, net, net.Nodes())
	storetest.Do(t, net, "n1", storetest.Set("add", "s", "unreplicated"))
	storetest.Do(t, net, "n1", storetest.Counter("add", "c", int64(4)))
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Do(t, net, "n1", storetest.Counter("read", "c", nil)); got != int64(4) {
		t.Fatalf("after a restart n1 counts %v; want its acknowledged add, 4", got)
	}
	storetest.Do(t, net, "n1", storetest.Set("add", "s", "after"))
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Agree(t, net, storetest.Set("read", "s", nil)); !history.Equal(got, []any{"after", "before", "unreplicated"}) {
		t.Fatalf("the nodes hold %v; want every add, [after before unreplicated]", got)
	}
}

// TestConvergesOverABadNetwork: adds on every node over slow links that
// lose and duplicate messages, anti-entropy every 10 ms: the nodes end
// up agreeing on every add.
func TestConvergesOverABadNetwork(t *testing.T) {
	cfg := simnet.Config{Nodes: 3, Seed: 7, Latency: simnet.Uniform(time.Millisecond, 5*time.Millisecond), Loss: 0.5, Duplication: 0.3, Scheduler: sim.New(time.Time{})}
	net := crdt.New(cfg, crdt.Options{AntiEntropy: 10 * time.Millisecond})
	defer net.Close()
	var want []any
	for i := range int64(30) {
		node := net.Nodes()[i%3]
		storetest.Do(t, net, node, storetest.Counter("add", "c", i))
		storetest.Do(t, net, node, storetest.Set("add", "s", i))
		want = append(want, i)
	}
	if got := storetest.Agree(t, net, storetest.Counter("read", "c", nil)); got != int64(29*30/2) {
		t.Fatalf("the nodes count %v; want %d", got, 29*30/2)
	}
	if got := storetest.Agree(t, net, storetest.Set("read", "s", nil)); !history.Equal(got, want) {
		t.Fatalf("the nodes hold %v; want %v", got, want)
	}
}
