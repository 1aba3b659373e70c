package simnet_test

import (
	"context"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/history"
	"consist/run/clock"
	"consist/run/sim"
)

// TestVirtualTime runs the network on a simulation, which it names as its
// clock: a request and its answer, and every message, take exactly their
// latency of virtual time; a node's clock is virtual time plus its skew;
// a virtual timeout ends a request that gets no answer; a node that is
// down refuses after RefusedAfter. Nothing waits in real time.
func TestVirtualTime(t *testing.T) {
	s := sim.New(time.Time{})
	net := simnet.New(simnet.Config{Nodes: 2, Seed: 1, Latency: simnet.Fixed(5 * time.Millisecond), Scheduler: s}, newProbe)
	defer net.Close()
	if net.Clock() != clock.Clock(s) || clock.Of(net) != clock.Clock(s) {
		t.Fatalf("the network on a simulation says it runs on %v", net.Clock())
	}
	if real := simnet.New(simnet.Config{Nodes: 1}, newProbe); real.Clock() != clock.Wall {
		t.Fatalf("a network in real time says it runs on %v, want the wall clock", real.Clock())
	} else {
		real.Close()
	}
	ctx := context.Background()
	c, err := net.Open(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	// Client to n1, n1 to n2, back to n1, back to the client.
	if v, err := c.Do(ctx, adapters.Op{F: "ping", Key: "n2"}); err != nil || v != "n2" || s.Elapsed() != 20*time.Millisecond {
		t.Fatalf("ping: %v, %v at %v; want n2 at 20ms", v, err, s.Elapsed())
	}
	if err := net.Skew(ctx, "n1", time.Hour); err != nil {
		t.Fatal(err)
	}
	v, err := c.Do(ctx, adapters.Op{F: "now"})
	if want := sim.Epoch.Add(25*time.Millisecond + time.Hour); err != nil || !v.(time.Time).Equal(want) {
		t.Fatalf("n1's clock read %v (%v); want virtual time at arrival plus the skew, %v", v, err, want)
	}
	tctx, cancel := s.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := c.Do(tctx, adapters.Op{F: "hang"}); err == nil || adapters.Outcome(err) != history.Info || s.Elapsed() != 3030*time.Millisecond {
		t.Fatalf("an unanswered request ended with %v at %v; want an unknown outcome at 3.03s", err, s.Elapsed())
	}
	if err := net.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Do(ctx, adapters.Op{F: "incr"}); adapters.Outcome(err) != history.Fail || s.Elapsed() != 3030*time.Millisecond+simnet.RefusedAfter {
		t.Fatalf("a request to a node that is down ended with %v at %v; want refused after %v", err, s.Elapsed(), simnet.RefusedAfter)
	}
}
