package simnet_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/history"
)

// probe is a machine for testing the network. Client operations:
//
//	ping KEY=peer   ask the peer for its name and answer it
//	incr            add one to a volatile counter and answer it
//	save            add one to a counter on disk and answer it
//	count           answer the volatile counter, the disk counter and pongs seen
//	now             answer the node's clock
//	flood VALUE=n   send n messages to n2 and answer at once
//	hang            never answer
//	session         answer the client's session state (an int, 0 at first) and increment it
type probe struct {
	node     *simnet.Node
	volatile int64
	waiting  map[int64]*simnet.Request
	next     int64
	received int64
}

type ping struct{ id int64 }
type pong struct {
	id   int64
	name string
}
type flood struct{}

func newProbe(string) simnet.Machine { return &probe{waiting: map[int64]*simnet.Request{}} }

func (p *probe) Start(n *simnet.Node) { p.node = n }

func (p *probe) Receive(from string, msg any) {
	switch m := msg.(type) {
	case ping:
		p.node.Send(from, pong{m.id, p.node.Name()})
	case pong:
		if req := p.waiting[m.id]; req != nil {
			delete(p.waiting, m.id)
			req.Reply(m.name, nil)
		}
	case flood:
		p.received++
	}
}

func (p *probe) Request(req *simnet.Request) {
	switch req.Op.F {
	case "ping":
		p.next++
		p.waiting[p.next] = req
		p.node.Send(req.Op.Key.(string), ping{p.next})
	case "incr":
		p.volatile++
		req.Reply(p.volatile, nil)
	case "save":
		n, _ := p.node.Disk().Get("saved").(int64)
		p.node.Disk().Put("saved", n+1)
		req.Reply(n+1, nil)
	case "count":
		saved, _ := p.node.Disk().Get("saved").(int64)
		req.Reply([3]int64{p.volatile, saved, p.received}, nil)
	case "now":
		req.Reply(p.node.Now(), nil)
	case "flood":
		for range req.Op.Value.(int) {
			p.node.Send("n2", flood{})
		}
		req.Reply(nil, nil)
	case "hang":
	case "session":
		n, _ := req.Session.(int)
		req.ReplyWith(n, nil, n+1)
	}
}

func do(t *testing.T, net *simnet.Network, node string, op adapters.Op, timeout time.Duration) (any, error) {
	t.Helper()
	c, err := net.Open(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.Do(ctx, op)
}

func mustDo(t *testing.T, net *simnet.Network, node string, op adapters.Op) any {
	t.Helper()
	v, err := do(t, net, node, op, 10*time.Second)
	if err != nil {
		t.Fatalf("%s on %s: %v", op.F, node, err)
	}
	return v
}

func TestLatencyDelaysEveryMessage(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 2, Seed: 1, Latency: simnet.Fixed(5 * time.Millisecond)}, newProbe)
	defer net.Close()
	start := time.Now()
	if got := mustDo(t, net, "n1", adapters.Op{F: "ping", Key: "n2"}); got != "n2" {
		t.Fatalf("ping answered %v, want n2", got)
	}
	if rtt := time.Since(start); rtt < 10*time.Millisecond {
		t.Fatalf("a round trip took %v with 5ms each way", rtt)
	}
}

func TestPartitionCutsLinksUntilHealed(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 3, Seed: 1}, newProbe)
	defer net.Close()
	ctx := context.Background()
	if err := net.Partition(ctx, [][2]string{{"n1", "n2"}}); err != nil {
		t.Fatal(err)
	}
	_, err := do(t, net, "n1", adapters.Op{F: "ping", Key: "n2"}, 50*time.Millisecond)
	if err == nil || adapters.Outcome(err) != history.Info {
		t.Fatalf("a ping across a cut link answered (%v); want no answer, an unknown outcome", err)
	}
	if got := mustDo(t, net, "n1", adapters.Op{F: "ping", Key: "n3"}); got != "n3" {
		t.Fatalf("a ping over an intact link answered %v", got)
	}
	if err := net.Partition(ctx, [][2]string{{"n1", "n9"}}); err == nil {
		t.Fatal("a partition naming an unknown node was accepted")
	}
	if err := net.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if got := mustDo(t, net, "n1", adapters.Op{F: "ping", Key: "n2"}); got != "n2" {
		t.Fatalf("after healing, ping answered %v", got)
	}
	if _, dropped := net.Stats(); dropped != 1 {
		t.Fatalf("%d messages dropped, want the one ping across the cut", dropped)
	}
}

func TestKillLosesVolatileStateAndKeepsTheDisk(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 1, Seed: 1}, newProbe)
	defer net.Close()
	ctx := context.Background()
	mustDo(t, net, "n1", adapters.Op{F: "incr"})
	mustDo(t, net, "n1", adapters.Op{F: "save"})

	// A request in flight when the node dies ends unknown; one sent to a
	// dead node is refused, certainly not applied.
	c, _ := net.Open(ctx, "n1")
	hung := make(chan error, 1)
	go func() {
		_, err := c.Do(ctx, adapters.Op{F: "hang"})
		hung <- err
	}()
	// The hang request may not have reached the node before the kill; either
	// way it must not come back ok.
	mustDo(t, net, "n1", adapters.Op{F: "count"})
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if err := <-hung; err == nil {
		t.Fatal("a request in flight during a kill came back ok")
	} else if got := adapters.Outcome(err); got != history.Info && got != history.Fail {
		t.Fatalf("in-flight request during a kill: outcome %s", got)
	}
	_, err := do(t, net, "n1", adapters.Op{F: "incr"}, time.Second)
	if !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("a request to a dead node: %v, want a refusal (not applied)", err)
	}
	if err := net.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got := mustDo(t, net, "n1", adapters.Op{F: "count"}).([3]int64); got[0] != 0 || got[1] != 1 {
		t.Fatalf("after a restart the volatile counter is %d and the disk counter %d; want 0 and 1", got[0], got[1])
	}
}

func TestPausedNodeHandlesQueuedRequestsOnResume(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 1, Seed: 1}, newProbe)
	defer net.Close()
	ctx := context.Background()
	if err := net.Pause(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	_, err := do(t, net, "n1", adapters.Op{F: "incr"}, 20*time.Millisecond)
	if err == nil || errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("a request to a paused node: %v, want a timeout with an unknown outcome", err)
	}
	if err := net.Resume(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	// The timed-out increment was queued, and takes effect after all.
	if got := mustDo(t, net, "n1", adapters.Op{F: "incr"}); got != int64(2) {
		t.Fatalf("after resuming, incr answered %v; want 2: the request that timed out still took effect", got)
	}
}

func TestSkewMovesTheNodeClock(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 2, Seed: 1}, newProbe)
	defer net.Close()
	if err := net.Skew(context.Background(), "n2", -time.Hour); err != nil {
		t.Fatal(err)
	}
	n1 := mustDo(t, net, "n1", adapters.Op{F: "now"}).(time.Time)
	n2 := mustDo(t, net, "n2", adapters.Op{F: "now"}).(time.Time)
	if lag := n1.Sub(n2); lag < 59*time.Minute || lag > 61*time.Minute {
		t.Fatalf("n2's clock is %v behind n1's; want an hour", lag)
	}
}

// TestLossAndDuplicationFollowTheSeed sends many messages over a lossy,
// duplicating link: about the configured share is lost or doubled, and the
// same seed gives the same count.
func TestLossAndDuplicationFollowTheSeed(t *testing.T) {
	received := func(seed uint64) int64 {
		net := simnet.New(simnet.Config{Nodes: 2, Seed: seed, Loss: 0.3, Duplication: 0.2}, newProbe)
		defer net.Close()
		mustDo(t, net, "n1", adapters.Op{F: "flood", Value: 10000})
		// With no latency, delivery is immediate: the flood is queued at
		// n2 before this request.
		return mustDo(t, net, "n2", adapters.Op{F: "count"}).([3]int64)[2]
	}
	a, b := received(7), received(7)
	if a != b {
		t.Fatalf("the same seed delivered %d and then %d messages", a, b)
	}
	// Expected 10000 × 0.7 × 1.2 = 8400.
	if a < 8100 || a > 8700 {
		t.Fatalf("delivered %d of 10000 messages with 30%% loss and 20%% duplication; want about 8400", a)
	}
}

func TestSlowAndLoseUntilRestored(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 2, Seed: 1}, newProbe)
	defer net.Close()
	ctx := context.Background()
	if err := net.Slow(ctx, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	mustDo(t, net, "n1", adapters.Op{F: "ping", Key: "n2"})
	if rtt := time.Since(start); rtt < 10*time.Millisecond {
		t.Fatalf("a slowed round trip took %v; want at least 10ms", rtt)
	}
	if err := net.Lose(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, net, "n1", adapters.Op{F: "ping", Key: "n2"}, 50*time.Millisecond); err == nil {
		t.Fatal("a ping answered with every message lost")
	}
	if err := net.RestoreLinks(ctx); err != nil {
		t.Fatal(err)
	}
	mustDo(t, net, "n1", adapters.Op{F: "ping", Key: "n2"})
}

// TestSessionStateTravelsWithTheClient checks that the state a machine
// returns with an answer comes back with the client's next request, on
// any node, and that a new client starts without one.
func TestSessionStateTravelsWithTheClient(t *testing.T) {
	net := simnet.New(simnet.Config{Nodes: 2, Seed: 1}, newProbe)
	defer net.Close()
	ctx := context.Background()
	c, err := net.Open(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	for want := range 3 {
		if got, err := c.Do(ctx, adapters.Op{F: "session"}); err != nil || got != want {
			t.Fatalf("request %d saw session %v (%v)", want, got, err)
		}
	}
	if got := mustDo(t, net, "n1", adapters.Op{F: "session"}); got != 0 {
		t.Fatalf("a new client began with session %v", got)
	}
}
