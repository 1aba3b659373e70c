// Package shrink makes a failing simulated run smaller while it still
// fails the same way, as property-testing tools shrink a counterexample
// (QuickCheck's shrinking; Hypothesis's test-case reduction, MacIver and
// Donaldson, "Test-Case Reduction via Test-Case Generation", ECOOP 2020):
// it replays the run (run.Run, a deterministic simulation on virtual time)
// with fewer faults, clients, keys, operations, a shorter duration and
// shorter faults, and keeps a candidate when the checker still reports an
// anomaly of the kind being kept.
//
// Once the run replays as it was, its faults are read back from the
// replayed history as an explicit plan (nemesis.ReadPlan), which replays
// the same history, and the search works on the plan's faults one by one
// (the smallest run's Size.Plan is the plan that replays it):
// it tries the run with none of them, then with either half, then with one
// fault left out at a time; then each fault shorter, and sooner. A run
// whose faults cannot be read back (a history the plan does not replay)
// shrinks its fault kinds and nemesis interval instead.
//
// The search is greedy and deterministic: for each dimension in turn it
// tries the least value, then the value halved, then smaller steps (three
// quarters, seven eighths, ..., one less), keeps the first candidate that
// still fails without injecting more faults than the run it replaces, and
// starts over until no dimension shrinks. Every replay is a function of
// the settings alone, so shrinking the same run twice gives the same
// result, unless the budget ends the search at a different point.
package shrink

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/history"
	"consist/nemesis"
	"consist/run"
	"consist/workloads"
)

// Size is what shrinking varies: one point of the search.
type Size struct {
	Clients int
	// Ops bounds the operations of the main phase (0: no bound).
	Ops int64
	// Duration bounds the main phase in simulated time (0: no bound).
	Duration time.Duration
	Keys     int
	// Faults are the kinds of fault drawn at random, each lasting
	// Interval after a calm of Interval; with a Plan, its kinds.
	Faults   []nemesis.Kind
	Interval time.Duration
	// Plan, if set, is the faults exactly, in place of random draws.
	Plan *nemesis.Plan
}

// String writes s as consist run's flags (a plan as its faults).
func (s Size) String() string {
	if s.Plan != nil {
		return fmt.Sprintf("--clients %d --ops %d --duration %v --keys %d --nemesis-plan [%s]", s.Clients, s.Ops, s.Duration, s.Keys, s.Plan)
	}
	return fmt.Sprintf("--clients %d --ops %d --duration %v --keys %d --nemesis %s --nemesis-interval %v", s.Clients, s.Ops, s.Duration, s.Keys, nemesis.Flag(s.Faults), s.Interval)
}

// withPlan is s with the faults of p.
func (s Size) withPlan(p *nemesis.Plan) Size {
	s.Plan, s.Faults = p, p.Kinds()
	return s
}

// Config is a shrink: the failing run, and what to keep.
type Config struct {
	// Base is the failing run's configuration, as consist run built it
	// from run.json: a bundled Store, run on a simulation (no Clock, not
	// RealTime). Its Clients, Ops, Duration, Faults, Interval, Plan and
	// Workload are replaced by each candidate's; the rest stays.
	Base run.Config
	// Keys is the number of keys the failing run's workload spread over.
	Keys int
	// Workload makes the workload for a number of keys, the failing
	// run's other options unchanged.
	Workload func(keys int) (workloads.Workload, error)
	// Kind is the anomaly kind that must still appear.
	Kind checker.Kind
	// Budget bounds the search in wall time (0: only ctx bounds it);
	// the smallest run found by then is the result.
	Budget time.Duration
	// Tried, if set, is told of every candidate replayed and whether it
	// kept the anomaly.
	Tried func(s Size, kept bool)
}

// Measure is how big a run was.
type Measure struct {
	Size
	// Operations counts the client operations (ok, fail and info).
	Operations int64
	// Injected counts the faults the nemesis started.
	Injected int
	// InjectedPlan is the faults the run injected, read back from its
	// history as a plan (nil if they could not be).
	InjectedPlan *nemesis.Plan
	// Events counts the history's events.
	Events int
}

// Result is what a shrink found.
type Result struct {
	// Before is the failing run replayed as it was; After, the smallest
	// run found that still shows Kind.
	Before, After Measure
	// Run is the replay of After (its history in memory).
	Run run.Result
	// Replays counts the candidates run; BudgetSpent says the budget or
	// ctx ended the search before no dimension could shrink further.
	Replays     int
	BudgetSpent bool
}

// ErrNoReplay is returned when the failing run, replayed from its
// settings, does not show the anomaly kind.
var ErrNoReplay = errors.New("the replay does not show the anomaly")

// Shrink replays cfg.Base, then ever smaller candidates, and returns the
// smallest that still shows cfg.Kind.
func Shrink(ctx context.Context, cfg Config) (Result, error) {
	if err := validate(&cfg); err != nil {
		return Result{}, err
	}
	if cfg.Budget > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Budget)
		defer cancel()
	}
	s := &search{cfg: cfg, mostFaults: math.MaxInt}
	start := Size{Clients: cfg.Base.Clients, Ops: cfg.Base.Ops, Duration: cfg.Base.Duration, Keys: cfg.Keys, Faults: slices.Clone(cfg.Base.Faults)}
	if start.Clients == 0 {
		start.Clients = 10
	}
	if start.Interval = cfg.Base.Interval; start.Interval == 0 {
		start.Interval = time.Second
	}
	if cfg.Base.Plan != nil {
		start = start.withPlan(cfg.Base.Plan.Clone())
	}
	first, ok, err := s.try(ctx, start)
	if err != nil {
		return Result{}, err
	}
	if ctx.Err() != nil {
		return Result{}, fmt.Errorf("shrink: the budget ended while the run was replayed as it was (%w): give a larger --budget", ctx.Err())
	}
	if !ok {
		return Result{}, fmt.Errorf("%w: replaying %s found no %s: the run does not reproduce (was it made by another version of consist?)", ErrNoReplay, start, cfg.Kind)
	}
	res := Result{Before: measure(start, first)}
	s.mostFaults = res.Before.Injected
	cur, best := start, first
	keep := func(cand Size, r run.Result) {
		cur, best = cand, r
		s.mostFaults = measure(cand, r).Injected
	}
	// The faults, as a plan: the same run, fault by fault.
	if cur.Plan == nil && res.Before.InjectedPlan != nil {
		cand := cur.withPlan(res.Before.InjectedPlan)
		if r, ok, err := s.try(ctx, cand); err == nil && ok {
			keep(cand, r)
		}
	}
	// The operations bound is what the run did: from there on it shrinks.
	if total := best.OK + best.Fail + best.Info; cur.Ops == 0 || total < cur.Ops {
		cand := cur
		cand.Ops = total
		if r, ok, err := s.try(ctx, cand); err == nil && ok {
			keep(cand, r)
		}
	}
	for progress := true; progress && ctx.Err() == nil; {
		progress = false
		for _, dim := range dimensions {
			for _, cand := range dim(cur) {
				if ctx.Err() != nil {
					break
				}
				r, ok, err := s.try(ctx, cand)
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					return Result{}, err
				}
				if ok {
					keep(cand, r)
					progress = true
					break
				}
			}
		}
	}
	res.BudgetSpent = ctx.Err() != nil
	// The plan trimmed to the faults that started, if it replays the
	// same history (a fault left out may have set a timer that counted).
	if injected := measure(cur, best).InjectedPlan; cur.Plan != nil && injected != nil && injected.String() != cur.Plan.String() {
		cand := cur.withPlan(injected)
		s.mostFaults = math.MaxInt
		r, ok, err := s.try(context.WithoutCancel(ctx), cand)
		if err == nil && ok && reflect.DeepEqual(r.History.Events, best.History.Events) {
			cur, best = cand, r
		}
	}
	res.After, res.Run, res.Replays = measure(cur, best), best, s.replays
	return res, nil
}

func validate(cfg *Config) error {
	switch {
	case cfg.Base.Store == "":
		return errors.New("shrink: only a run against a bundled store replays: a real database is not simulated")
	case cfg.Base.RealTime:
		return errors.New("shrink: the run was on the wall clock (--real-time): its seed does not replay it")
	case cfg.Base.Clock != nil:
		return errors.New("shrink: leave Base.Clock unset: every replay needs a fresh simulation")
	case cfg.Workload == nil:
		return errors.New("shrink: give a Workload maker")
	case cfg.Kind == "":
		return errors.New("shrink: name the anomaly kind to keep")
	case cfg.Keys < 1:
		return fmt.Errorf("shrink: %d keys: give the run's --keys", cfg.Keys)
	}
	return nil
}

type search struct {
	cfg     Config
	replays int
	// mostFaults is the most faults a candidate may inject: a run is
	// smaller only if it injects no more faults than the one it replaces
	// (a shorter interval must not buy fewer operations with more faults).
	mostFaults int
}

// try replays the run at size s, and says whether it shows the kind
// with no more faults injected than allowed.
func (s *search) try(ctx context.Context, size Size) (run.Result, bool, error) {
	wl, err := s.cfg.Workload(size.Keys)
	if err != nil {
		return run.Result{}, false, fmt.Errorf("shrink: the workload with %d keys: %w", size.Keys, err)
	}
	c := s.cfg.Base
	c.Clients, c.Ops, c.Duration, c.Faults, c.Interval, c.Plan, c.Workload = size.Clients, size.Ops, size.Duration, size.Faults, size.Interval, size.Plan, wl
	if size.Plan != nil {
		c.Faults = nil // the plan's
	}
	c.Dir, c.Clock, c.Started, c.Recorded, c.CheckFile, c.Notify = "", nil, nil, nil, nil, nil
	c.Record.Keys, c.Record.Nemesis = size.Keys, nemesis.Flag(size.Faults)
	s.replays++
	r, err := run.Run(ctx, c)
	if err != nil {
		return r, false, fmt.Errorf("shrink: replaying %s: %w", size, err)
	}
	kept := !r.Interrupted && Shows(r.Results(), s.cfg.Kind) && measure(size, r).Injected <= s.mostFaults
	if s.cfg.Tried != nil {
		s.cfg.Tried(size, kept)
	}
	return r, kept, nil
}

// Shows reports whether any result holds an anomaly of kind k.
func Shows(results []checker.Result, k checker.Kind) bool {
	for _, r := range results {
		for _, a := range r.Anomalies {
			if a.Kind == k {
				return true
			}
		}
	}
	return false
}

// measure says how big the replay r of size s was, and reads back the
// faults it injected.
func measure(s Size, r run.Result) Measure {
	m := Measure{Size: s, Operations: r.OK + r.Fail + r.Info}
	if p, err := r.Plan(); err == nil {
		m.InjectedPlan = p
	}
	if r.History != nil {
		m.Events = len(r.History.Events)
		for _, e := range r.History.Events {
			if e.Process == history.Nemesis && strings.HasPrefix(e.F, "start") {
				m.Injected++
			}
		}
	}
	return m
}

// dimensions are the ways a size shrinks, in the order tried: each
// returns the candidates, smallest first.
var dimensions = []func(Size) []Size{
	fewerFaults,
	fewerKinds,
	func(s Size) []Size {
		return each(int64(s.Clients), 1, func(v int64) Size { c := s; c.Clients = int(v); return c })
	},
	func(s Size) []Size {
		return each(int64(s.Keys), 1, func(v int64) Size { c := s; c.Keys = int(v); return c })
	},
	func(s Size) []Size {
		if s.Ops == 0 {
			return nil
		}
		return each(s.Ops, 1, func(v int64) Size { c := s; c.Ops = v; return c })
	},
	func(s Size) []Size {
		if s.Duration == 0 {
			return nil
		}
		ms := int64(s.Duration / time.Millisecond)
		return each(ms, 1, func(v int64) Size { c := s; c.Duration = time.Duration(v) * time.Millisecond; return c })
	},
	shorterFaults,
	soonerFaults,
	func(s Size) []Size { // faults sooner and shorter, so fewer operations reach them
		if s.Plan != nil || len(s.Faults) == 0 {
			return nil
		}
		ms := int64(s.Interval / time.Millisecond)
		return each(ms, 1, func(v int64) Size { c := s; c.Interval = time.Duration(v) * time.Millisecond; return c })
	},
}

// fewerFaults drops faults from a plan: all of them, then either half,
// then each one alone.
func fewerFaults(s Size) []Size {
	n := s.Plan.Len()
	if n == 0 {
		return nil
	}
	var out []Size
	seen := map[string]bool{}
	without := func(from, to int) { // the plan without faults [from, to)
		p := s.Plan.Clone()
		p.Faults = slices.Delete(p.Faults, from, to)
		if key := p.String(); !seen[key] {
			seen[key] = true
			out = append(out, s.withPlan(p))
		}
	}
	without(0, n)
	if n > 2 {
		without(0, n/2)
		without(n/2, n)
	}
	for i := range n {
		without(i, i+1)
	}
	return out
}

// fewerKinds drops fault kinds from a run drawing faults at random: all
// of them, then one at a time.
func fewerKinds(s Size) []Size {
	if s.Plan != nil {
		return nil
	}
	var out []Size
	if len(s.Faults) > 1 {
		c := s
		c.Faults = nil
		out = append(out, c)
	}
	for i := range s.Faults {
		c := s
		c.Faults = slices.Delete(slices.Clone(s.Faults), i, i+1)
		out = append(out, c)
	}
	return out
}

// shorterFaults makes each fault of a plan last less, in milliseconds.
func shorterFaults(s Size) []Size {
	var out []Size
	for i := range s.Plan.Len() {
		ms := int64(s.Plan.Faults[i].For / time.Millisecond)
		out = append(out, each(ms, 1, func(v int64) Size {
			p := s.Plan.Clone()
			p.Faults[i].For = time.Duration(v) * time.Millisecond
			return s.withPlan(p)
		})...)
	}
	return out
}

// soonerFaults starts each fault of a plan sooner after the one before
// (or after the start), moving the faults after it as much, so that fewer
// operations run before it.
func soonerFaults(s Size) []Size {
	var out []Size
	var end time.Duration
	for i := range s.Plan.Len() {
		f := s.Plan.Faults[i]
		gap := int64((f.At - end) / time.Millisecond)
		out = append(out, each(gap, 0, func(v int64) Size {
			p := s.Plan.Clone()
			shift := f.At - end - time.Duration(v)*time.Millisecond
			for j := i; j < len(p.Faults); j++ {
				p.Faults[j].At -= shift
			}
			return s.withPlan(p)
		})...)
		end = f.At + f.For
	}
	return out
}

// each lists the values below v as shrinking tries them: least, then
// halfway between least and v, then v less a quarter of the gap, ...,
// then v less one.
func each(v, least int64, at func(int64) Size) []Size {
	var out []Size
	for gap := v - least; gap > 0; gap /= 2 {
		out = append(out, at(v-gap))
	}
	return out
}
