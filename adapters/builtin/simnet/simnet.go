// Package simnet is the simulated network the bundled stores run on: nodes
// in one process exchanging messages with configurable latency, loss and
// duplication, and the faults a nemesis injects — partitions, crash and
// restart (volatile state lost, disk kept), pause and resume, clock skew,
// latency spikes and message loss.
//
// Each node runs a Machine, the store's code, on a goroutine of its own,
// one event at a time: a message from a peer, a client request, a timer.
// A machine therefore needs no locks. Messages travel like datagrams: each
// is delayed independently (so they may be reordered), and may be lost or
// duplicated. Clients reach their node directly; partitions cut links
// between nodes only, as in Jepsen, where clients talk to the node they
// are bound to.
//
// Random choices (latencies, losses, duplicates, the machines' own) draw
// from sources seeded by Config.Seed.
//
// The network runs in one of two modes. In real time (no
// Config.Scheduler), each node's machine runs on a goroutine of its own
// and latencies and timers are wall-clock timers: the Go scheduler then
// decides how concurrent events interleave, so a run is reproducible only
// as far as it allows. In virtual time (Config.Scheduler set, a run/sim
// simulation), no goroutine of its own runs: every delivery, timer and
// node wake-up is an event of the scheduler's queue, run one at a time in
// the order of virtual time, and clients block on the scheduler; a seed
// then gives the same run every time.
package simnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"consist/adapters"
	"consist/run/clock"
)

// Machine is a store's code on one node. The network calls its methods
// from the node's goroutine only, one at a time.
type Machine interface {
	// Start boots the machine on node: at first, and after every
	// restart, on a fresh Machine whose volatile state is empty; what it
	// kept on node.Disk() survives.
	Start(node *Node)
	// Receive handles a message from the peer named from.
	Receive(from string, msg any)
	// Request handles a client's request. The machine answers it with
	// req.Reply, now or later, or never (the client then times out).
	Request(req *Request)
}

// Factory makes a node's machine: once at the start, and again on every
// restart.
type Factory func(node string) Machine

// Config describes a network.
type Config struct {
	// Nodes is the number of nodes, named n1, n2, ... (default 3).
	Nodes int
	// Seed seeds every random choice.
	Seed uint64
	// Latency draws each message's delay between nodes (default none).
	Latency Distribution
	// Loss is the probability that a message is dropped.
	Loss float64
	// Duplication is the probability that a message is delivered twice.
	Duplication float64
	// Holder says what kinds of object the store on the network keeps;
	// the Network answers adapters.Holder through it. nil: every kind
	// but transactions.
	Holder adapters.Holder
	// Scheduler, if set, runs the network in virtual time (see the
	// package documentation); nil runs it in real time.
	Scheduler Scheduler
}

// Scheduler is the event loop of a simulation on virtual time (package
// run/sim implements it). Its methods are called only by the goroutine
// of the run that holds control, or from inside its events.
type Scheduler interface {
	// Now is the virtual time.
	Now() time.Time
	// After runs f in the event loop once d has passed.
	After(d time.Duration, f func())
	// Block blocks the calling goroutine until ready reports true or ctx
	// ends; Poke says ready may have changed.
	Block(ctx context.Context, ready func() bool)
	Poke()
}

// RefusedAfter is how long a client of a node that is down takes, in
// virtual time, to learn that its connection is refused: a round trip on
// a local network. (In real time the refusal comes at once.)
const RefusedAfter = time.Millisecond

// Network is a set of nodes and the links between them. It is an
// adapters.Store: clients open on a node and send it requests.
type Network struct {
	cfg     Config
	factory Factory
	sched   Scheduler
	names   []string
	nodes   map[string]*Node

	mu       sync.Mutex // guards the fields below
	rng      *rand.Rand
	latency  Distribution
	loss     float64
	blocked  map[link]bool
	closed   bool
	messages atomic.Int64
	dropped  atomic.Int64
}

type link struct{ from, to string }

// New starts a network of cfg.Nodes nodes, each running a machine made by
// factory.
func New(cfg Config, factory Factory) *Network {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	if cfg.Latency == nil {
		cfg.Latency = Fixed(0)
	}
	n := &Network{
		cfg:     cfg,
		factory: factory,
		sched:   cfg.Scheduler,
		nodes:   map[string]*Node{},
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x51e7)),
		latency: cfg.Latency,
		loss:    cfg.Loss,
		blocked: map[link]bool{},
	}
	for i := range cfg.Nodes {
		name := fmt.Sprintf("n%d", i+1)
		n.names = append(n.names, name)
		n.nodes[name] = &Node{net: n, name: name, index: i, disk: &Disk{data: map[string]any{}}}
	}
	for _, name := range n.names {
		n.nodes[name].boot()
	}
	return n
}

// Holds reports whether the store on the network performs operations
// of kind k, as Config.Holder says (adapters.Holder).
func (n *Network) Holds(k adapters.Kind) (bool, string) {
	if n.cfg.Holder != nil {
		return n.cfg.Holder.Holds(k)
	}
	if k == adapters.Txn {
		return false, "the store does not declare transactions"
	}
	return true, ""
}

// Nodes names the nodes, n1 first.
func (n *Network) Nodes() []string { return slices.Clone(n.names) }

// Open returns a client of node.
func (n *Network) Open(_ context.Context, node string) (adapters.Client, error) {
	nd, ok := n.nodes[node]
	if !ok {
		return nil, fmt.Errorf("simnet: no node %q: use one of %v", node, n.names)
	}
	return &client{node: nd, reply: make(chan result, 1)}, nil
}

// Close stops every node; clients waiting on a request get an error.
func (n *Network) Close() error {
	n.mu.Lock()
	n.closed = true
	n.mu.Unlock()
	for _, name := range n.names {
		n.nodes[name].stop(errClosed)
	}
	return nil
}

// Stats counts the messages sent between nodes and those dropped (lost or
// cut by a partition).
func (n *Network) Stats() (sent, dropped int64) { return n.messages.Load(), n.dropped.Load() }

var errClosed = errors.New("the network is closed")

// send delivers msg from one node to another after a drawn delay, unless
// it is lost; a duplicate follows with a delay of its own.
func (n *Network) send(from *Node, epoch uint64, to string, msg any) {
	dst, ok := n.nodes[to]
	if !ok || !from.current(epoch) {
		return
	}
	n.messages.Add(1)
	n.mu.Lock()
	lost := n.blocked[link{from.name, to}] || (n.loss > 0 && n.rng.Float64() < n.loss)
	copies := 1
	if n.cfg.Duplication > 0 && n.rng.Float64() < n.cfg.Duplication {
		copies = 2
	}
	delays := [2]time.Duration{}
	for i := range copies {
		delays[i] = n.latency.Draw(n.rng)
	}
	n.mu.Unlock()
	if lost {
		n.dropped.Add(1)
		return
	}
	for i := range copies {
		deliver := func() {
			if n.cut(from.name, to) {
				n.dropped.Add(1)
				return
			}
			dst.enqueue(event{from: from.name, msg: msg})
		}
		if delays[i] <= 0 {
			deliver()
		} else {
			n.after(delays[i], deliver)
		}
	}
}

// after runs f once d has passed, on the scheduler's clock or the wall's.
func (n *Network) after(d time.Duration, f func()) {
	if n.sched != nil {
		n.sched.After(d, f)
		return
	}
	time.AfterFunc(d, f)
}

// Clock returns the clock the network runs on: its Scheduler when that
// is a clock (a run/sim simulation), the wall clock in real time. Code
// that drives a store, bundled or real, waits on the store's clock
// through it (clock.Of).
func (n *Network) Clock() clock.Clock {
	if c, ok := n.sched.(clock.Clock); ok {
		return c
	}
	return clock.Wall
}

// now is the network's true time: virtual or real.
func (n *Network) now() time.Time {
	if n.sched != nil {
		return n.sched.Now()
	}
	return time.Now()
}

// cut reports whether the link from one node to another is partitioned
// now: a message in flight when a partition begins is lost with it.
func (n *Network) cut(from, to string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.blocked[link{from, to}]
}

// Partition cuts the links between each pair of nodes given, in both
// directions, and restores every other link. A message in flight on a
// link when it is cut is lost.
func (n *Network) Partition(_ context.Context, cuts [][2]string) error {
	for _, c := range cuts {
		for _, m := range c {
			if _, ok := n.nodes[m]; !ok {
				return fmt.Errorf("simnet: partition names node %q: use nodes of %v", m, n.names)
			}
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	for _, c := range cuts {
		n.blocked[link{c[0], c[1]}] = true
		n.blocked[link{c[1], c[0]}] = true
	}
	return nil
}

// Heal restores every link.
func (n *Network) Heal(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.blocked)
	return nil
}

// Slow delays every message sent from now on by about extra more: between
// half and one and a half times extra, drawn uniformly.
func (n *Network) Slow(_ context.Context, extra time.Duration) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency = sum{n.cfg.Latency, Uniform(extra/2, extra*3/2)}
	return nil
}

// Lose drops each message sent from now on with probability p.
func (n *Network) Lose(_ context.Context, p float64) error {
	if p < 0 || p > 1 {
		return fmt.Errorf("simnet: loss probability %v: use a number between 0 and 1", p)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.loss = p
	return nil
}

// RestoreLinks returns latency and loss to the configured ones.
func (n *Network) RestoreLinks(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.latency, n.loss = n.cfg.Latency, n.cfg.Loss
	return nil
}

// Kill crashes node at once, losing its volatile state, its queued events
// and its timers; requests its clients have in flight end with a lost
// connection (unknown outcome), and new ones are refused (not applied).
// It stays down until Restart.
func (n *Network) Kill(_ context.Context, node string) error {
	nd, err := n.node(node)
	if err != nil {
		return err
	}
	nd.stop(errConnectionLost)
	return nil
}

// Restart boots a crashed node on a fresh machine that keeps its disk. It
// does nothing to a node that is up.
func (n *Network) Restart(_ context.Context, node string) error {
	nd, err := n.node(node)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	isDown := nd.state == down
	nd.mu.Unlock()
	if isDown {
		nd.boot()
	}
	return nil
}

// Pause freezes node: it handles nothing until Resume, while messages,
// requests and timers queue up for it.
func (n *Network) Pause(_ context.Context, node string) error { return n.setPaused(node, true) }

// Resume lets a paused node handle what queued up for it.
func (n *Network) Resume(_ context.Context, node string) error { return n.setPaused(node, false) }

func (n *Network) setPaused(node string, paused bool) error {
	nd, err := n.node(node)
	if err != nil {
		return err
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	switch {
	case paused && nd.state == up:
		nd.state = frozen
	case !paused && nd.state == frozen:
		nd.state = up
		nd.wakeLocked()
	}
	return nil
}

// Skew sets node's clock to run offset ahead of true time (behind, when
// negative); 0 puts it right.
func (n *Network) Skew(_ context.Context, node string, offset time.Duration) error {
	nd, err := n.node(node)
	if err != nil {
		return err
	}
	nd.skew.Store(int64(offset))
	return nil
}

func (n *Network) node(name string) (*Node, error) {
	nd, ok := n.nodes[name]
	if !ok {
		return nil, fmt.Errorf("simnet: no node %q: use one of %v", name, n.names)
	}
	return nd, nil
}

// Distribution draws message delays.
type Distribution interface {
	Draw(rng *rand.Rand) time.Duration
	String() string
}

// Fixed delays every message by d.
func Fixed(d time.Duration) Distribution { return fixed(d) }

type fixed time.Duration

func (f fixed) Draw(*rand.Rand) time.Duration { return time.Duration(f) }
func (f fixed) String() string                { return time.Duration(f).String() }

// Uniform delays messages uniformly between min and max.
func Uniform(min, max time.Duration) Distribution { return uniform{min, max} }

type uniform struct{ min, max time.Duration }

func (u uniform) Draw(rng *rand.Rand) time.Duration {
	if u.max <= u.min {
		return u.min
	}
	return u.min + time.Duration(rng.Int64N(int64(u.max-u.min)))
}
func (u uniform) String() string { return fmt.Sprintf("uniform(%v, %v)", u.min, u.max) }

type sum [2]Distribution

func (s sum) Draw(rng *rand.Rand) time.Duration { return s[0].Draw(rng) + s[1].Draw(rng) }
func (s sum) String() string                    { return s[0].String() + "+" + s[1].String() }

// Exponential delays messages by min plus an exponentially distributed
// time of the given mean: mostly fast, with a long tail.
func Exponential(min, mean time.Duration) Distribution { return exponential{min, mean} }

type exponential struct{ min, mean time.Duration }

func (e exponential) Draw(rng *rand.Rand) time.Duration {
	return e.min + time.Duration(rng.ExpFloat64()*float64(e.mean))
}
func (e exponential) String() string { return fmt.Sprintf("%v+exp(%v)", e.min, e.mean) }
