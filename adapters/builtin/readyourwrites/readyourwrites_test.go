package readyourwrites_test

import (
	"bytes"
	"consist/internal/storetest"
	"context"
	"errors"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/readyourwrites"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/history"
	"consist/nemesis"
)

// TestRestartedFollowerKeepsOnlyYourWrites: a follower that restarts
// forgets its replica (and, with fetching off, gets nothing back). The
// client that wrote x is refused its read rather than shown the past;
// a client that only read x is shown the past: read-your-writes holds,
// monotonic reads does not.
func TestRestartedFollowerKeepsOnlyYourWrites(t *testing.T) {
	ctx := context.Background()
	net := readyourwrites.New(simnet.Config{Nodes: 2, Seed: 1}, readyourwrites.Options{Fetch: -1, Wait: 20 * time.Millisecond})
	defer net.Close()
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	writer, reader := open(t, net, "n2", rec), open(t, net, "n2", rec)
	writer.write("x", int64(1))
	if got := writer.get("x"); got != int64(1) {
		t.Fatalf("the writer read x=%v on n2; want its write, 1", got)
	}
	if got := reader.read("x"); got != int64(1) {
		t.Fatalf("the reader read x=%v on n2, which has applied x=1; want 1", got)
	}
	if err := net.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.try(adapters.Op{Kind: adapters.Register, F: "read", Key: "x"}); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("the writer's read on the emptied n2 ended with %v; want it refused", err)
	}
	if got := reader.read("x"); got != nil {
		t.Fatalf("the reader read x=%v on the emptied n2; want nil", got)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), "read-your-writes", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Expect(t, h, []checker.Model{checker.ReadYourWrites}, []checker.Model{checker.MonotonicReads})
}

// TestFollowerCatchesUp: a restarted follower replays the primary's log,
// batch by batch, and then serves the writer its write.
func TestFollowerCatchesUp(t *testing.T) {
	ctx := context.Background()
	net := readyourwrites.New(simnet.Config{Nodes: 2, Seed: 1}, readyourwrites.Options{Fetch: time.Millisecond})
	defer net.Close()
	writer := open(t, net, "n2", nil)
	for i := range 3 * readyourwrites.MaxBatch {
		writer.write("x", int64(i))
	}
	if err := net.Kill(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if got, want := writer.get("x"), int64(3*readyourwrites.MaxBatch-1); got != want {
		t.Fatalf("the writer read x=%v on the restarted n2; want its last write, %d", got, want)
	}
}

// TestForwardsApplyOnce: every message is delivered twice, forwards
// included; each counter add still counts once.
func TestForwardsApplyOnce(t *testing.T) {
	net := readyourwrites.New(simnet.Config{Nodes: 3, Seed: 1, Duplication: 1}, readyourwrites.Options{})
	defer net.Close()
	for _, node := range []string{"n2", "n3"} {
		c := open(t, net, node, nil)
		for range 5 {
			c.must(adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)})
		}
	}
	if got := open(t, net, "n1", nil).must(adapters.Op{Kind: adapters.Counter, F: "read", Key: "c"}); got != int64(10) {
		t.Fatalf("ten adds of 1, every forward duplicated, read back as %v on the primary; want 10", got)
	}
}

// TestPrimaryRestartKeepsTheLog: a restarted primary keeps every write it
// acknowledged and goes on from there.
func TestPrimaryRestartKeepsTheLog(t *testing.T) {
	ctx := context.Background()
	net := readyourwrites.New(simnet.Config{Nodes: 2, Seed: 1}, readyourwrites.Options{})
	defer net.Close()
	writer := open(t, net, "n2", nil)
	writer.write("x", "before")
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := open(t, net, "n1", nil).read("x"); got != "before" {
		t.Fatalf("the restarted primary read x=%v; want before", got)
	}
	writer.write("x", "after")
	if got := writer.get("x"); got != "after" {
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
			net := readyourwrites.New(simnet.Config{Nodes: 3, Seed: 3, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond)}, readyourwrites.Options{})
			defer net.Close()
			h := storetest.Run(t, net, net, tc.kinds, 3)
			storetest.Expect(t, h, tc.hold, tc.break_)
		})
	}
}

// client is one session on one node, recording its operations if rec is
// not nil.
type client struct {
	t       *testing.T
	c       adapters.Client
	node    string
	process history.Process
	rec     *history.Recorder
}

var processes history.Process

func open(t *testing.T, net *simnet.Network, node string, rec *history.Recorder) *client {
	t.Helper()
	c, err := net.Open(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	processes++
	return &client{t: t, c: c, node: node, process: processes, rec: rec}
}

// try performs op and records it.
func (c *client) try(op adapters.Op) (any, error) {
	c.t.Helper()
	c.record(history.Event{Type: history.Invoke, Process: c.process, F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Node: c.node})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.c.Do(ctx, op)
	done := history.Event{Type: adapters.Outcome(err), Process: c.process, F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Node: c.node}
	switch {
	case err != nil:
		done.Error = err.Error()
	case op.F == "read":
		done.Value = v
	}
	c.record(done)
	return v, err
}

func (c *client) record(e history.Event) {
	if c.rec == nil {
		return
	}
	if _, err := c.rec.Record(e); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) must(op adapters.Op) any {
	c.t.Helper()
	v, err := c.try(op)
	if err != nil {
		c.t.Fatalf("%s %v of %v on %s: %v", op.F, op.Value, op.Key, c.node, err)
	}
	return v
}

func (c *client) write(key string, value any) {
	c.t.Helper()
	c.must(adapters.Op{Kind: adapters.Register, F: "write", Key: key, Value: value})
}

func (c *client) read(key string) any {
	c.t.Helper()
	return c.must(adapters.Op{Kind: adapters.Register, F: "read", Key: key})
}

// get reads key, retrying while the read is refused.
func (c *client) get(key string) any {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := c.try(adapters.Op{Kind: adapters.Register, F: "read", Key: key})
		if err == nil {
			return v
		}
		if !errors.Is(err, adapters.ErrNotApplied) || time.Now().After(deadline) {
			c.t.Fatalf("read of %s on %s: %v", key, c.node, err)
		}
	}
}
