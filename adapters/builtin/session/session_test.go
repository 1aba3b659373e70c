package session_test

import (
	"bytes"
	"consist/internal/storetest"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/session"
	"consist/adapters/builtin/simnet"
	"consist/checker"
	"consist/history"
	"consist/nemesis"
)

// keyHomedOff returns a key, "<prefix><n>", whose home node is none of
// the nodes given.
func keyHomedOff(prefix string, nodes []string, not ...string) string {
	for n := 0; ; n++ {
		key := fmt.Sprint(prefix, n)
		if !slices.Contains(not, session.Home(key, nodes)) {
			return key
		}
	}
}

// TestReadsWaitForTheSession: n3 receives z, written after a read of y,
// but never y. A session that read z cannot read on n3 until n3 holds y
// or something newer; a session that did not can.
func TestReadsWaitForTheSession(t *testing.T) {
	net := session.New(simnet.Config{Nodes: 3, Seed: 1}, session.Options{AntiEntropy: -1, Wait: 20 * time.Millisecond})
	defer net.Close()
	nodes := net.Nodes()
	y, z := keyHomedOff("y", nodes, "n3"), keyHomedOff("z", nodes, "n3")
	hy := session.Home(y, nodes)
	split(t, net, [2]string{hy, "n3"})
	q, p := open(t, net, hy, nil), open(t, net, "n3", nil)
	q.write(y, "1")
	q.await(y, "1")
	heal(t, net)
	q.write(z, "2")
	p.await(z, "2")
	if _, err := p.try(adapters.Op{Kind: adapters.Register, F: "read", Key: "x"}); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("a session that read %s read x on n3, which lacks %s=1 (%v); want it refused", z, y, err)
	}
	if got := open(t, net, "n3", nil).read(y); got != nil {
		t.Fatalf("a new session read %s=%v on n3; want nil, since n3 never received it", y, got)
	}
	q.write(y, "3")
	p.await(y, "3")
}

// TestNotCausal: one session writes x then y, another reads y and writes
// z, and a third reads z, then x — and misses x, which causally precedes
// z. The checker finds the history causally inconsistent and every
// session guarantee kept.
func TestNotCausal(t *testing.T) {
	net := session.New(simnet.Config{Nodes: 3, Seed: 1}, session.Options{AntiEntropy: -1})
	defer net.Close()
	nodes := net.Nodes()
	x, y, z := keyHomedOff("x", nodes, "n3"), keyHomedOff("y", nodes, "n3"), keyHomedOff("z", nodes, "n3")
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	r, q, p := open(t, net, "n1", rec), open(t, net, "n2", rec), open(t, net, "n3", rec)
	split(t, net, [2]string{session.Home(x, nodes), "n3"})
	r.write(x, int64(1)) // never reaches n3: the push is cut, and there is no anti-entropy
	heal(t, net)
	r.write(y, int64(2))
	q.await(y, int64(2))
	q.write(z, int64(3))
	p.await(z, int64(3))
	if got := p.read(x); got != nil {
		t.Fatalf("the session read %s=%v; want nil, since %s=1 never reached n3", x, got, x)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), "session", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Expect(t, h, guarantees, []checker.Model{checker.Causal})
}

// TestWritesGoHome: on both sides of a partition a cas from nil and a
// write; only the side of the object's home node performs them, and the
// other's outcomes are unknown. Every add counts once, although every
// message, forwards included, arrives twice.
func TestWritesGoHome(t *testing.T) {
	net := session.New(simnet.Config{Nodes: 2, Seed: 1, Duplication: 1}, session.Options{Wait: 20 * time.Millisecond})
	defer net.Close()
	home := session.Home("x", net.Nodes())
	split(t, net, [2]string{"n1", "n2"})
	for _, node := range net.Nodes() {
		c := open(t, net, node, nil)
		for _, op := range []adapters.Op{
			{Kind: adapters.Register, F: "cas", Key: "x", Value: []any{nil, node}},
			{Kind: adapters.Register, F: "write", Key: "x", Value: node + " wrote"},
		} {
			_, err := c.try(op)
			if want := map[bool]history.Type{true: history.OK, false: history.Info}[node == home]; adapters.Outcome(err) != want {
				t.Fatalf("the %s on %s ended %s (%v); want %s, %s being the home node", op.F, node, adapters.Outcome(err), err, want, home)
			}
		}
	}
	heal(t, net)
	for _, node := range net.Nodes() {
		open(t, net, node, nil).await("x", home+" wrote")
	}
	for _, node := range net.Nodes() {
		c := open(t, net, node, nil)
		for range 5 {
			c.must(adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)})
		}
	}
	open(t, net, "n1", nil).awaitOp(adapters.Op{Kind: adapters.Counter, F: "read", Key: "c"}, int64(10))
}

// TestRestartKeepsObjects: a restarted home node keeps its objects and
// numbers its next write after them, so the other nodes take it in.
func TestRestartKeepsObjects(t *testing.T) {
	net := session.New(simnet.Config{Nodes: 2, Seed: 1}, session.Options{AntiEntropy: 5 * time.Millisecond})
	defer net.Close()
	ctx := context.Background()
	home := session.Home("x", net.Nodes())
	open(t, net, home, nil).write("x", "before")
	if err := net.Kill(ctx, home); err != nil {
		t.Fatal(err)
	}
	if err := net.Restart(ctx, home); err != nil {
		t.Fatal(err)
	}
	if got := open(t, net, home, nil).read("x"); got != "before" {
		t.Fatalf("the restarted home node read x=%v; want before", got)
	}
	open(t, net, home, nil).write("x", "after")
	for _, node := range net.Nodes() {
		open(t, net, node, nil).await("x", "after")
	}
}

// guarantees are the models the store keeps.
var guarantees = []checker.Model{checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.WritesFollowReads}

// TestPartitionsAndCrashes is the truth test: the register workload under
// partitions, crashes and message loss keeps the four session
// guarantees, and is not sequentially consistent.
func TestPartitionsAndCrashes(t *testing.T) {
	net := session.New(simnet.Config{Nodes: 3, Seed: 3, Latency: simnet.Uniform(100*time.Microsecond, time.Millisecond)}, session.Options{})
	defer net.Close()
	h := storetest.Run(t, net, net, []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Loss}, 3)
	storetest.Expect(t, h, guarantees, []checker.Model{checker.Sequential, checker.Linearizable})
}

func split(t *testing.T, net *simnet.Network, cuts ...[2]string) {
	t.Helper()
	if err := net.Partition(context.Background(), cuts); err != nil {
		t.Fatal(err)
	}
}

func heal(t *testing.T, net *simnet.Network) {
	t.Helper()
	if err := net.Heal(context.Background()); err != nil {
		t.Fatal(err)
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

// await reads key until it holds want, retrying refused reads; it fails
// the test after a few seconds.
func (c *client) await(key string, want any) {
	c.t.Helper()
	c.awaitOp(adapters.Op{Kind: adapters.Register, F: "read", Key: key}, want)
}

// awaitOp performs the read op until it returns want, retrying refused
// reads; it fails the test after a few seconds.
func (c *client) awaitOp(op adapters.Op, want any) {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	for {
		got, err := c.try(op)
		if err == nil && history.Equal(got, want) {
			return
		}
		if err != nil && !errors.Is(err, adapters.ErrNotApplied) {
			c.t.Fatalf("read of %v on %s: %v", op.Key, c.node, err)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still shows %v=%v (%v) after 5s; want %v", c.node, op.Key, got, err, want)
		}
		<-poll.C
	}
}
