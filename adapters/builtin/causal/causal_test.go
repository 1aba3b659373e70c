package causal_test

import (
	"consist/internal/storetest"
	"context"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/causal"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/nemesis"
)

// TestDeliversWritesInCausalOrder: n2 and n3 cannot talk; n1 reads n2's
// write of y and writes x. Once n3 shows x, it must show y too, though
// only n1 could have relayed it.
func TestDeliversWritesInCausalOrder(t *testing.T) {
	net := causal.New(simnet.Config{Nodes: 3, Seed: 1, Latency: simnet.Uniform(time.Millisecond, 3*time.Millisecond)}, causal.Options{})
	defer net.Close()
	split(t, net, [2]string{"n2", "n3"})
	write(t, net, "n2", "y", "cause")
	await(t, net, "n1", "y", "cause")
	write(t, net, "n1", "x", "effect")
	await(t, net, "n3", "x", "effect")
	if got := read(t, net, "n3", "y"); got != "cause" {
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
			net := causal.New(simnet.Config{Nodes: 2, Seed: 1}, causal.Options{Conflicts: tc.conflicts})
			defer net.Close()
			split(t, net, [2]string{"n1", "n2"})
			write(t, net, "n1", "x", "a")
			write(t, net, "n2", "x", "b")
			if err := net.Heal(context.Background()); err != nil {
				t.Fatal(err)
			}
			// Each node has applied the other's write once it shows
			// the other write of y.
			write(t, net, "n1", "y", "n1 healed")
			write(t, net, "n2", "z", "n2 healed")
			await(t, net, "n2", "y", "n1 healed")
			await(t, net, "n1", "z", "n2 healed")
			for node, want := range map[string]string{"n1": tc.n1, "n2": tc.n2} {
				if got := read(t, net, node, "x"); got != want {
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
	net := causal.New(simnet.Config{Nodes: 3, Seed: 1}, causal.Options{})
	defer net.Close()
	ctx := context.Background()
	write(t, net, "n2", "y", "from n2")
	await(t, net, "n1", "y", "from n2")
	write(t, net, "n1", "x", "before")
	await(t, net, "n3", "x", "before")
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"x": "before", "y": "from n2"} {
		if got := read(t, net, "n1", key); got != want {
			t.Fatalf("restarted n1 shows %s=%v; want %s", key, got, want)
		}
	}
	write(t, net, "n1", "x", "after")
	await(t, net, "n3", "x", "after")
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
			net := causal.New(simnet.Config{Nodes: 3, Seed: 3, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond)}, causal.Options{Conflicts: tc.conflicts})
			defer net.Close()
			h := storetest.Run(t, net, net, []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Loss}, 3)
			storetest.Expect(t, h, tc.hold, tc.break_)
		})
	}
}

func split(t *testing.T, net *simnet.Network, cuts ...[2]string) {
	t.Helper()
	if err := net.Partition(context.Background(), cuts); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, net *simnet.Network, node string, op adapters.Op) any {
	t.Helper()
	c, err := net.Open(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.Do(ctx, op)
	if err != nil {
		t.Fatalf("%s %v of %v on %s: %v", op.F, op.Value, op.Key, node, err)
	}
	return v
}

func write(t *testing.T, net *simnet.Network, node, key string, value any) {
	t.Helper()
	do(t, net, node, adapters.Op{Kind: adapters.Register, F: "write", Key: key, Value: value})
}

func read(t *testing.T, net *simnet.Network, node, key string) any {
	t.Helper()
	return do(t, net, node, adapters.Op{Kind: adapters.Register, F: "read", Key: key})
}

// await polls node until it shows key=want; it fails the test after a
// few seconds.
func await(t *testing.T, net *simnet.Network, node, key string, want any) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for {
		got := read(t, net, node, key)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still shows %s=%v after 5s; want %v", node, key, got, want)
		}
		<-poll.C
	}
}
