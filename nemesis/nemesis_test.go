package nemesis_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"consist/adapters/builtin/simnet"
	"consist/history"
	"consist/nemesis"
)

// cluster is a target that keeps the state faults put it in, so a test
// can see what is broken.
type cluster struct {
	mu      sync.Mutex
	nodes   []string
	cut     [][2]string
	killed  map[string]bool
	paused  map[string]bool
	skew    map[string]time.Duration
	slow    time.Duration
	loss    float64
	applied map[string]int
}

func newCluster(n int) *cluster {
	c := &cluster{killed: map[string]bool{}, paused: map[string]bool{}, skew: map[string]time.Duration{}, applied: map[string]int{}}
	for i := range n {
		c.nodes = append(c.nodes, fmt.Sprintf("n%d", i+1))
	}
	return c
}

func (c *cluster) Nodes() []string { return c.nodes }

func (c *cluster) Partition(_ context.Context, cuts [][2]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = cuts
	c.applied["partition"]++
	return nil
}

func (c *cluster) Heal(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = nil
	return nil
}

func (c *cluster) set(m map[string]bool, node string, v bool, kind string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	m[node] = v
	if v {
		c.applied[kind]++
	}
	return nil
}

func (c *cluster) Kill(_ context.Context, n string) error    { return c.set(c.killed, n, true, "kill") }
func (c *cluster) Restart(_ context.Context, n string) error { return c.set(c.killed, n, false, "") }
func (c *cluster) Pause(_ context.Context, n string) error   { return c.set(c.paused, n, true, "pause") }
func (c *cluster) Resume(_ context.Context, n string) error  { return c.set(c.paused, n, false, "") }

func (c *cluster) Skew(_ context.Context, n string, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skew[n] = d
	if d != 0 {
		c.applied["clock"]++
	}
	return nil
}

func (c *cluster) Slow(_ context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slow = d
	c.applied["latency"]++
	return nil
}

func (c *cluster) Lose(_ context.Context, p float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.loss = p
	c.applied["loss"]++
	return nil
}

func (c *cluster) RestoreLinks(context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slow, c.loss = 0, 0
	return nil
}

// broken lists what is still broken.
func (c *cluster) broken() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	if len(c.cut) > 0 {
		out = append(out, fmt.Sprint("cut ", c.cut))
	}
	for _, m := range []map[string]bool{c.killed, c.paused} {
		for n, v := range m {
			if v {
				out = append(out, n+" down or paused")
			}
		}
	}
	for n, d := range c.skew {
		if d != 0 {
			out = append(out, fmt.Sprint(n, " skewed ", d))
		}
	}
	if c.slow != 0 || c.loss != 0 {
		out = append(out, "links degraded")
	}
	return out
}

// events records the nemesis's events and cancels the run after a number
// of heals.
type events struct {
	mu     sync.Mutex
	list   []history.Event
	heals  int
	after  int
	cancel context.CancelFunc
}

func (e *events) Record(ev history.Event) (history.Event, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, ev)
	if len(ev.F) > 5 && ev.F[:5] == "stop-" {
		e.heals++
		if e.heals == e.after {
			e.cancel()
		}
	}
	return ev, nil
}

func TestScheduleCyclesThroughEveryKindAndHeals(t *testing.T) {
	c := newCluster(5)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &events{after: 2 * len(nemesis.Kinds()), cancel: cancel}
	n, err := nemesis.New(c, nemesis.Schedule{Kinds: nemesis.Kinds(), Interval: time.Millisecond, Order: nemesis.Cycle, Seed: 1}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b := c.broken(); len(b) > 0 {
		t.Fatalf("after the run, still broken: %v", b)
	}
	for _, k := range nemesis.Kinds() {
		if c.applied[string(k)] < 2 {
			t.Errorf("%s applied %d times in two cycles", k, c.applied[string(k)])
		}
	}
	// Every start is followed by its stop before the next start.
	var open string
	for _, ev := range rec.list {
		if ev.Process != history.Nemesis || ev.Type != history.Info || ev.Error != "" {
			t.Fatalf("nemesis event %+v: want an info event of the nemesis process without error", ev)
		}
		switch {
		case open == "" && len(ev.F) > 6 && ev.F[:6] == "start-":
			open = ev.F[6:]
		case open != "" && ev.F == "stop-"+open:
			open = ""
		default:
			t.Fatalf("event %s while %q was open", ev.F, open)
		}
	}
	if n.Active() != "" {
		t.Fatalf("active fault %q after the run", n.Active())
	}
}

// TestCancelHealsAFaultInForce stops a run while a fault lasts: it must be
// healed and its heal recorded.
func TestCancelHealsAFaultInForce(t *testing.T) {
	c := newCluster(3)
	ctx, cancel := context.WithCancel(context.Background())
	rec := &startCanceller{cancel: cancel}
	n, err := nemesis.New(c, nemesis.Schedule{Kinds: []nemesis.Kind{nemesis.Kill}, Interval: time.Millisecond}, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if b := c.broken(); len(b) > 0 {
		t.Fatalf("a cancelled run left %v broken", b)
	}
	if len(rec.list) != 2 || rec.list[1].F != "stop-kill" {
		t.Fatalf("events %v: want start-kill then stop-kill", rec.list)
	}
}

type startCanceller struct {
	list   []history.Event
	cancel context.CancelFunc
}

func (s *startCanceller) Record(ev history.Event) (history.Event, error) {
	s.list = append(s.list, ev)
	s.cancel()
	return ev, nil
}

// The simulated network suffers every kind of fault.
var (
	_ nemesis.Partitioner  = (*simnet.Network)(nil)
	_ nemesis.Killer       = (*simnet.Network)(nil)
	_ nemesis.Pauser       = (*simnet.Network)(nil)
	_ nemesis.ClockSkewer  = (*simnet.Network)(nil)
	_ nemesis.LinkDegrader = (*simnet.Network)(nil)
)

func TestUnsupportedKindIsRefused(t *testing.T) {
	target := struct{ nemesis.Target }{newCluster(3)}
	if _, err := nemesis.New(target, nemesis.Schedule{Kinds: []nemesis.Kind{nemesis.Kill}}, nil); err == nil {
		t.Fatal("a target that cannot kill accepted a kill schedule")
	}
}

func TestParseKinds(t *testing.T) {
	got, err := nemesis.ParseKinds("partition,kill,partition")
	if err != nil || !slices.Equal(got, []nemesis.Kind{nemesis.Partition, nemesis.Kill}) {
		t.Fatalf("ParseKinds = %v, %v", got, err)
	}
	if got, err := nemesis.ParseKinds("none"); err != nil || got != nil {
		t.Fatalf("none = %v, %v", got, err)
	}
	if _, err := nemesis.ParseKinds("partition,meteor"); err == nil {
		t.Fatal("an unknown fault was accepted")
	}
}

func TestMajoritiesRing(t *testing.T) {
	for n := 3; n <= 9; n++ {
		var ring []string
		for i := range n {
			ring = append(ring, fmt.Sprintf("n%d", i))
		}
		cut := map[[2]string]bool{}
		for _, c := range nemesis.MajoritiesRing(ring) {
			cut[c], cut[[2]string{c[1], c[0]}] = true, true
		}
		seen := map[string]bool{}
		for _, a := range ring {
			var reach []string
			for _, b := range ring {
				if !cut[[2]string{a, b}] {
					reach = append(reach, b)
				}
			}
			if len(reach) <= n/2 {
				t.Errorf("%d nodes: %s reaches %v, not a majority", n, a, reach)
			}
			if key := fmt.Sprint(reach); seen[key] {
				t.Errorf("%d nodes: two nodes reach the same majority %v", n, reach)
			} else {
				seen[key] = true
			}
		}
		if len(cut) == 0 {
			t.Errorf("%d nodes: nothing cut", n)
		}
	}
}
