// Package nemesis injects faults into a system under test on a schedule,
// as Jepsen's nemesis does: it waits, starts a fault, lets it last, heals
// it, and starts the next, recording each start and heal in the history as
// an info event of the nemesis process. The faults are drawn at random
// from the schedule's seed, or given exactly as a Plan (read from a file,
// or back from a recorded history with ReadPlan), which replays them.
//
// A target is anything that can suffer faults: the simulated network of
// the bundled stores, or a cluster of real processes. It implements the
// interfaces of the fault kinds it supports (Partitioner, Killer, Pauser,
// ClockSkewer, LinkDegrader); a schedule asking for a kind the target does
// not support is refused before the run starts.
package nemesis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"consist/history"
	"consist/run/clock"
)

// Target is a system the nemesis acts on.
type Target interface {
	// Nodes names the nodes faults may hit.
	Nodes() []string
}

// Partitioner cuts links between nodes.
type Partitioner interface {
	// Partition cuts the link between each pair of nodes given, in both
	// directions, and restores every other link.
	Partition(ctx context.Context, cuts [][2]string) error
	// Heal restores every link.
	Heal(ctx context.Context) error
}

// Killer crashes nodes (losing what they did not persist) and restarts
// them.
type Killer interface {
	Kill(ctx context.Context, node string) error
	Restart(ctx context.Context, node string) error
}

// Pauser freezes nodes and lets them go on.
type Pauser interface {
	Pause(ctx context.Context, node string) error
	Resume(ctx context.Context, node string) error
}

// ClockSkewer moves nodes' clocks.
type ClockSkewer interface {
	// Skew sets node's clock offset from true time; 0 puts it right.
	Skew(ctx context.Context, node string, offset time.Duration) error
}

// LinkDegrader slows and drops messages between nodes.
type LinkDegrader interface {
	// Slow delays every message by about extra more.
	Slow(ctx context.Context, extra time.Duration) error
	// Lose drops each message with probability p.
	Lose(ctx context.Context, p float64) error
	// RestoreLinks returns latency and loss to normal.
	RestoreLinks(ctx context.Context) error
}

// Kind is a kind of fault.
type Kind string

// The kinds of fault.
const (
	// Partition cuts the network: into halves, around one isolated node,
	// or into a majorities ring (each node sees a majority, no two the
	// same one), chosen at random each time.
	Partition Kind = "partition"
	// Kill crashes a minority of the nodes (at least one) and restarts
	// them at the heal.
	Kill Kind = "kill"
	// Pause freezes a minority of the nodes (at least one) and resumes
	// them at the heal.
	Pause Kind = "pause"
	// Clock skews the clocks of a minority of the nodes (at least one) by
	// up to MaxSkew, ahead or behind, and puts them right at the heal.
	Clock Kind = "clock"
	// Latency delays every message between nodes by about SpikeLatency.
	Latency Kind = "latency"
	// Loss drops each message between nodes with probability LossRate.
	Loss Kind = "loss"
)

// Kinds lists every kind of fault, in the order of the documentation.
func Kinds() []Kind { return []Kind{Partition, Kill, Pause, Clock, Latency, Loss} }

// ParseKinds reads a comma-separated list of kinds; "none" or "" is no
// fault at all.
func ParseKinds(s string) ([]Kind, error) {
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []Kind
	for _, part := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(part))
		if !slices.Contains(Kinds(), k) {
			return nil, fmt.Errorf("unknown fault %q: use a comma-separated list of %s, or none", part, joinKinds(Kinds()))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func joinKinds(kinds []Kind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Order is how a schedule picks the next kind of fault.
type Order uint8

// The orders.
const (
	// Random draws each fault's kind at random from the schedule's kinds.
	Random Order = iota
	// Cycle takes the kinds in turn, in the schedule's order.
	Cycle
)

// Schedule says which faults to inject and when.
type Schedule struct {
	// Kinds are the faults to inject; none means the nemesis only waits.
	Kinds []Kind
	// Interval is both how long the system runs healed between faults
	// and how long each fault lasts (default 1 s).
	Interval time.Duration
	// Order picks the next kind (default Random).
	Order Order
	// Seed seeds every random choice.
	Seed uint64
	// MaxSkew bounds clock skew (default 2 s).
	MaxSkew time.Duration
	// SpikeLatency is the extra delay of a latency spike (default 50 ms).
	SpikeLatency time.Duration
	// LossRate is the probability of losing a message during a loss
	// fault (default 0.3).
	LossRate float64
	// Clock is the time the schedule keeps (nil: the wall clock).
	Clock clock.Clock
	// Plan, if set, is the faults to inject, exactly (see Plan): Kinds,
	// Interval, Order and the fault settings above are then unused, and
	// nothing is drawn at random. An empty plan injects nothing.
	Plan *Plan
}

func (s *Schedule) defaults() {
	if s.Interval <= 0 {
		s.Interval = time.Second
	}
	if s.MaxSkew <= 0 {
		s.MaxSkew = 2 * time.Second
	}
	if s.SpikeLatency <= 0 {
		s.SpikeLatency = 50 * time.Millisecond
	}
	if s.LossRate <= 0 {
		s.LossRate = 0.3
	}
	s.Clock = clock.Or(s.Clock)
}

// Nemesis runs a schedule of faults against a target.
type Nemesis struct {
	target Target
	sched  Schedule
	rec    history.Sink
	rng    *rand.Rand
	active atomic.Pointer[string]
	// origin is when Run began, on the schedule's clock: a plan's times
	// count from it.
	origin atomic.Pointer[time.Time]

	mu    sync.Mutex // guards heals
	heals []fault    // faults started and not yet healed
}

// New checks that target supports every kind of fault in sched and
// returns a nemesis that records its events with rec.
func New(target Target, sched Schedule, rec history.Sink) (*Nemesis, error) {
	sched.defaults()
	if len(target.Nodes()) == 0 {
		return nil, errors.New("nemesis: the target has no nodes")
	}
	kinds := sched.Kinds
	if sched.Plan != nil {
		if err := checkPlan(target, sched.Plan); err != nil {
			return nil, err
		}
		kinds = sched.Plan.Kinds()
	}
	for _, k := range kinds {
		if err := supports(target, k); err != nil {
			if sched.Plan != nil {
				err = fmt.Errorf("%w: %w", ErrPlan, err)
			}
			return nil, err
		}
	}
	return &Nemesis{target: target, sched: sched, rec: rec, rng: rand.New(rand.NewPCG(sched.Seed, 0x4e3e))}, nil
}

func supports(t Target, k Kind) error {
	var ok bool
	switch k {
	case Partition:
		_, ok = t.(Partitioner)
	case Kill:
		_, ok = t.(Killer)
	case Pause:
		_, ok = t.(Pauser)
	case Clock:
		_, ok = t.(ClockSkewer)
	case Latency, Loss:
		_, ok = t.(LinkDegrader)
	default:
		return fmt.Errorf("nemesis: unknown fault %q: use one of %s", k, joinKinds(Kinds()))
	}
	if !ok {
		return fmt.Errorf("nemesis: this target cannot inject %s faults: leave %s out of the schedule", k, k)
	}
	return nil
}

// ErrPlan marks the errors of a plan that cannot run on its target.
var ErrPlan = errors.New("the nemesis plan does not fit the target")

// checkPlan refuses a plan that does not hold together, or that names a
// node the target does not have.
func checkPlan(target Target, p *Plan) error {
	if err := p.Check(); err != nil {
		return fmt.Errorf("%w: %w", ErrPlan, err)
	}
	nodes := target.Nodes()
	for i, f := range p.Faults {
		for _, node := range f.nodes() {
			if !slices.Contains(nodes, node) {
				return fmt.Errorf("%w: fault %d (%s) names node %q, which the target does not have: name its nodes, %s", ErrPlan, i+1, f.Kind, node, strings.Join(nodes, ", "))
			}
		}
	}
	return nil
}

// Origin is when Run began, on the schedule's clock (zero before): the
// time a plan's faults count from.
func (n *Nemesis) Origin() time.Time {
	if t := n.origin.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// Active describes the fault in force, or returns "" when none is.
func (n *Nemesis) Active() string {
	if p := n.active.Load(); p != nil {
		return *p
	}
	return ""
}

// Run injects faults until ctx ends, then heals whatever is in force
// (with a context of its own, so that a cancelled run still heals) and
// returns. An error starting a fault is recorded and the schedule goes on;
// an error healing one, or recording, ends the run.
func (n *Nemesis) Run(ctx context.Context) error {
	defer n.active.Store(nil)
	origin := n.sched.Clock.Now()
	n.origin.Store(&origin)
	healCtx := context.WithoutCancel(ctx)
	if n.sched.Plan != nil {
		return n.runPlan(ctx, healCtx, origin)
	}
	if len(n.sched.Kinds) == 0 {
		clock.Wait(n.sched.Clock, ctx)
		return nil
	}
	wait := func() bool { return n.sched.Clock.Sleep(ctx, n.sched.Interval) }
	for i := 0; ; i++ {
		if !wait() {
			return nil
		}
		kind := n.sched.Kinds[i%len(n.sched.Kinds)]
		if n.sched.Order == Random {
			kind = n.sched.Kinds[n.rng.IntN(len(n.sched.Kinds))]
		}
		if err := n.start(ctx, n.draw(kind)); err != nil {
			return errors.Join(err, n.HealAll(healCtx))
		}
		waited := wait()
		if err := n.HealAll(healCtx); err != nil || !waited {
			return err
		}
	}
}

// runPlan injects the plan's faults, each at its time, until the plan
// or ctx ends, then waits for ctx.
func (n *Nemesis) runPlan(ctx, healCtx context.Context, origin time.Time) error {
	for _, f := range n.sched.Plan.Faults {
		if !n.sched.Clock.Sleep(ctx, origin.Add(f.At).Sub(n.sched.Clock.Now())) {
			return nil
		}
		if err := n.start(ctx, f); err != nil {
			return errors.Join(err, n.HealAll(healCtx))
		}
		waited := n.sched.Clock.Sleep(ctx, f.For)
		if err := n.HealAll(healCtx); err != nil || !waited {
			return err
		}
	}
	clock.Wait(n.sched.Clock, ctx)
	return nil
}

// fault is a fault in force and how to heal it.
type fault struct {
	kind Kind
	// value describes the fault in the history: the nodes hit, the links
	// cut, the skews.
	value any
	apply func(ctx context.Context) error
	heal  func(ctx context.Context) error
}

func (n *Nemesis) start(ctx context.Context, planned Fault) error {
	kind := planned.Kind
	f, err := n.act(planned)
	if err != nil {
		return err
	}
	if err := n.record("start-"+string(kind), f.value, ""); err != nil {
		return err
	}
	n.mu.Lock()
	n.heals = append(n.heals, f)
	n.mu.Unlock()
	if err := f.apply(ctx); err != nil {
		return n.record("start-"+string(kind), f.value, err.Error())
	}
	desc := fmt.Sprintf("%s %s", kind, history.Describe(f.value))
	n.active.Store(&desc)
	return nil
}

// HealAll heals every fault in force, the latest first, recording each
// heal. It is safe to call at any time, more than once, and from another
// goroutine than Run: a run interrupted by Ctrl-C calls it on its way out.
func (n *Nemesis) HealAll(ctx context.Context) error {
	n.mu.Lock()
	heals := n.heals
	n.heals = nil
	n.mu.Unlock()
	var errs []error
	for i := len(heals) - 1; i >= 0; i-- {
		f := heals[i]
		err := f.heal(ctx)
		msg := ""
		if err != nil {
			msg = err.Error()
			errs = append(errs, fmt.Errorf("nemesis: heal %s %s: %w", f.kind, history.Describe(f.value), err))
		}
		if rerr := n.record("stop-"+string(f.kind), f.value, msg); rerr != nil {
			errs = append(errs, rerr)
		}
	}
	n.active.Store(nil)
	return errors.Join(errs...)
}

func (n *Nemesis) record(f string, value any, errMsg string) error {
	if n.rec == nil {
		return nil
	}
	_, err := n.rec.Record(history.Event{Type: history.Info, Process: history.Nemesis, F: f, Value: value, HasValue: true, Error: errMsg})
	if err != nil {
		return fmt.Errorf("nemesis: record %s: %w", f, err)
	}
	return nil
}
