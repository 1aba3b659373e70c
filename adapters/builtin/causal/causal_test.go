package causal_test

import (
	"context"
	"testing"
	"time"

	"consist/adapters/builtin/causal"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/internal/storetest"
	"consist/nemesis"
	"consist/run/sim"
)

// TestDeliversWritesInCausalOrder: n2 and n3 cannot talk; n1 reads n2's
// write of y and writes x. Once n3 shows x, it must show y too, though
// only n1 could have relayed it.
func TestDeliversWritesInCausalOrder(t *testing.T) {
	net := causal.New(simnet.Config{Nodes: 3, Seed: 1, Latency: simnet.Uniform(time.Millisecond, 3*time.Millisecond), Scheduler: sim.New(time.Time{})}, causal.Options{})
	defer net.Close()
	storetest.Split(t, net, [2]string{"n2", "n3"})
	storetest.Write(t, net, "n2", "y", "cause")
	storetest.Await(t, net, "n1", storetest.Reg("read", "y", nil), "cause")
	storetest.Write(t, net, "n1", "x", "effect")
	storetest.Await(t, net, "n3", storetest.Reg("read", "x", nil), "effect")
	if got := storetest.Read(t, net, "n3", "y"); got != "cause" {
		t.Fatalf("n3 shows x=effect but y=%v; want y=cause, which x depends on", got)
	}
}

// TestConflicts writes one object on both sides of a partition and
// heals it: last-writer-wins makes the nodes agree; last-applied leaves
// each with the write it applied last, the other side's.
func TestConflicts(t *testing.T) {
	for _, tc := range []struct {
		conflicts causal.Conflicts
		n1, n2    string // what each node ends up showing
	}{
		// Equal clock sums: the greater node, n2, wins.
		{causal.LastWriterWins, "b", "b"},
		{causal.LastApplied, "b", "a"},
	} {
		t.Run(tc.conflicts.String(), func(t *testing.T) {
			net := causal.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, causal.Options{Conflicts: tc.conflicts})
			defer net.Close()
			storetest.Split(t, net, [2]string{"n1", "n2"})
			storetest.Write(t, net, "n1", "x", "a")
			storetest.Write(t, net, "n2", "x", "b")
			if err := net.Heal(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Each node has applied the other's write once it shows
			// the other write of y.
			storetest.Write(t, net, "n1", "y", "n1 healed")
			storetest.Write(t, net, "n2", "z", "n2 healed")
			storetest.Await(t, net, "n2", storetest.Reg("read", "y", nil), "n1 healed")
			storetest.Await(t, net, "n1", storetest.Reg("read", "z", nil), "n2 healed")
			for node, want := range map[string]string{"n1": tc.n1, "n2": tc.n2} {
				if got := storetest.Read(t, net, node, "x"); got != want {
					t.Errorf("%s: %s shows x=%v after the partition healed; want %s", tc.conflicts, node, got, want)
				}
			}
		})
	}
}

// TestRestartKeepsAppliedWrites: a node restarted after a crash still
// shows what it applied, and its later writes reach the others, which
// had seen its earlier ones.
func TestRestartKeepsAppliedWrites(t *testing.T) {
	net := causal.New(simnet.Config{Nodes: 3, Seed: 1, Scheduler: sim.New(time.Time{})}, causal.Options{})
	defer net.Close()
	ctx := context.Background()
	storetest.Write(t, net, "n2", "y", "from n2")
	storetest.Await(t, net, "n1", storetest.Reg("read", "y", nil), "from n2")
	storetest.Write(t, net, "n1", "x", "before")
	storetest.Await(t, net, "n3", storetest.Reg("read", "x", nil), "before")
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"x": "before", "y": "from n2"} {
		if got := storetest.Read(t, net, "n1", key); got != want {
			t.Fatalf("restarted n1 shows %s=%v; want %s", key, got, want)
		}
	}
	storetest.Write(t, net, "n1", "x", "after")
	storetest.Await(t, net, "n3", storetest.Reg("read", "x", nil), "after")
}

// TestPartitionsAndCrashes is the truth test: the register workload under
// partitions, crashes and message loss. Last-writer-wins keeps
// causal-convergence and what it implies, and converges; last-applied
// keeps causal memory and what it implies, and does not converge.
// Neither is sequentially consistent.
func TestPartitionsAndCrashes(t *testing.T) {
	for _, tc := range []struct {
		conflicts    causal.Conflicts
		hold, break_ []checker.Model
	}{
		{causal.LastWriterWins,
			[]checker.Model{checker.CausalConvergence, checker.WeakCausal, checker.ReadYourWrites, checker.MonotonicReads, checker.Convergence},
			[]checker.Model{checker.Sequential, checker.Linearizable}},
		{causal.LastApplied,
			[]checker.Model{checker.Causal, checker.PRAM, checker.WritesFollowReads, checker.MonotonicWrites, checker.MonotonicReads, checker.ReadYourWrites, checker.WeakCausal},
			[]checker.Model{checker.CausalConvergence, checker.Sequential, checker.Linearizable}},
	} {
		t.Run(tc.conflicts.String(), func(t *testing.T) {
			t.Parallel()
			net := causal.New(simnet.Config{Nodes: 3, Seed: 3, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond), Scheduler: sim.New(time.Time{})}, causal.Options{Conflicts: tc.conflicts})
			defer net.Close()
			h := storetest.Run(t, net, net, []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Loss}, 3)
			storetest.Expect(t, h, tc.hold, tc.break_)
		})
	}
}
