package readyourwrites_test

import (
	"consist/internal/scripttest"
	"consist/internal/storetest"
	"consist/run/sim"
	"context"
	"errors"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/readyourwrites"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/nemesis"
)

// TestRestartedFollowerKeepsOnlyYourWrites: a follower that restarts
// forgets its replica (and, with fetching off, gets nothing back). The
// client that wrote x is refused its read rather than shown the past;
// a client that only read x is shown the past: read-your-writes holds,
// monotonic reads does not.
func TestRestartedFollowerKeepsOnlyYourWrites(t *testing.T) {
	ctx := context.Background()
	net := readyourwrites.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, readyourwrites.Options{Fetch: -1, Wait: 20 * time.Millisecond})
	defer net.Close()
	sc := scripttest.New(t, net, net)
	sc.Timeout = 5 * time.Second
	writer, reader := sc.Client("n2"), sc.Client("n2")
	writer.Write("x", int64(1))
	if got := writer.Get("x"); got != int64(1) {
		t.Fatalf("the writer read x=%v on n2; want its write, 1", got)
	}
	if got := reader.Read("x"); got != int64(1) {
		t.Fatalf("the reader read x=%v on n2, which has applied x=1; want 1", got)
	}
	if err := net.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Try(adapters.Op{Kind: adapters.Register, F: "read", Key: "x"}); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("the writer's read on the emptied n2 ended with %v; want it refused", err)
	}
	if got := reader.Read("x"); got != nil {
		t.Fatalf("the reader read x=%v on the emptied n2; want nil", got)
	}
	h := sc.History()
	storetest.Expect(t, h, []checker.Model{checker.ReadYourWrites}, []checker.Model{checker.MonotonicReads})
}

// TestFollowerCatchesUp: a restarted follower replays the primary's log,
// batch by batch, and then serves the writer its write.
func TestFollowerCatchesUp(t *testing.T) {
	ctx := context.Background()
	net := readyourwrites.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, readyourwrites.Options{Fetch: time.Millisecond})
	defer net.Close()
	sc := scripttest.New(t, net, net)
	sc.Timeout = 5 * time.Second
	writer := sc.Client("n2")
	for i := range 3 * readyourwrites.MaxBatch {
		writer.Write("x", int64(i))
	}
	if err := net.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if got, want := writer.Get("x"), int64(3*readyourwrites.MaxBatch-1); got != want {
		t.Fatalf("the writer read x=%v on the restarted n2; want its last write, %d", got, want)
	}
}

// TestForwardsApplyOnce: every message is delivered twice, forwards
// included; each counter add still counts once.
func TestForwardsApplyOnce(t *testing.T) {
	net := readyourwrites.New(simnet.Config{Nodes: 3, Seed: 1, Duplication: 1, Scheduler: sim.New(time.Time{})}, readyourwrites.Options{})
	defer net.Close()
	sc := scripttest.New(t, net, net)
	sc.Timeout = 5 * time.Second
	for _, node := range []string{"n2", "n3"} {
		c := sc.Client(node)
		for range 5 {
			c.Must(adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)})
		}
	}
	if got := sc.Client("n1").Must(adapters.Op{Kind: adapters.Counter, F: "read", Key: "c"}); got != int64(10) {
		t.Fatalf("ten adds of 1, every forward duplicated, read back as %v on the primary; want 10", got)
	}
}

// TestPrimaryRestartKeepsTheLog: a restarted primary keeps every write it
// acknowledged and goes on from there.
func TestPrimaryRestartKeepsTheLog(t *testing.T) {
	ctx := context.Background()
	net := readyourwrites.New(simnet.Config{Nodes: 2, Seed: 1, Scheduler: sim.New(time.Time{})}, readyourwrites.Options{})
	defer net.Close()
	sc := scripttest.New(t, net, net)
	sc.Timeout = 5 * time.Second
	writer := sc.Client("n2")
	writer.Write("x", "before")
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := sc.Client("n1").Read("x"); got != "before" {
		t.Fatalf("the restarted primary read x=%v; want before", got)
	}
	writer.Write("x", "after")
	if got := writer.Get("x"); got != "after" {
		t.Fatalf("the writer read x=%v after writing after; want after", got)
	}
}

// TestTruth is the truth test for the register workload. Under
// partitions, pauses and message loss every node applies a growing
// prefix of one log: sequentially consistent, not linearizable. With
// followers restarting, only read-your-writes is sure to hold.
func TestTruth(t *testing.T) {
	for _, tc := range []struct {
		name         string
		kinds        []nemesis.Kind
		hold, break_ []checker.Model
	}{
		{"partition-pause-loss", []nemesis.Kind{nemesis.Partition, nemesis.Pause, nemesis.Loss},
			[]checker.Model{checker.Sequential}, []checker.Model{checker.Linearizable}},
		{"kill", []nemesis.Kind{nemesis.Kill},
			[]checker.Model{checker.ReadYourWrites}, []checker.Model{checker.Linearizable}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			net := readyourwrites.New(simnet.Config{Nodes: 3, Seed: 3, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond), Scheduler: sim.New(time.Time{})}, readyourwrites.Options{})
			defer net.Close()
			h := storetest.Run(t, net, net, tc.kinds, 3)
			storetest.Expect(t, h, tc.hold, tc.break_)
		})
	}
}
