// Package clock is the one seam through which a run's schedule reads and
// waits on time: the run's start and end, the times of the recorded
// events, the main phase's duration, the pace of the clients, each
// operation's timeout, the calm before the final reads, and the nemesis's
// intervals. Runs against real databases
// keep the wall clock (Wall); a deterministic simulation replaces it with
// a virtual clock that advances when every goroutine of the run waits,
// so that nothing of the schedule sleeps in real time.
//
// Package run hands the clock of its Config to the recorder
// (history.NewRecorderClock), the runner (workloads/runner) and the
// nemesis; nothing else of a run's schedule calls time.Now, time.Sleep or
// a timer. A run against a bundled store runs on a Lockstep clock
// (package run/sim), which also runs the simulated network's timers and
// the run's goroutines.
package clock

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Clock tells and waits on a run's time.
type Clock interface {
	// Now is the current time.
	Now() time.Time
	// Sleep waits d, or until ctx ends; it reports whether d passed.
	Sleep(ctx context.Context, d time.Duration) bool
	// WithTimeout returns a context that ends when d has passed on this
	// clock, or when parent ends.
	WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc)
}

// Wall is real time.
var Wall Clock = wall{}

// Or returns c, or Wall when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Wall
	}
	return c
}

type wall struct{}

func (wall) Now() time.Time { return time.Now() }

func (wall) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (wall) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

// Pacer lets a loop go once every interval, as a time.Ticker read in the
// loop does: ticks fall at start + k·every, a tick missed while the loop
// was busy lets it go at once, and the ticks missed beyond that one are
// dropped.
type Pacer struct {
	clock Clock
	every time.Duration
	start time.Time
	next  time.Time
}

// NewPacer starts a pacer on c whose first tick is every from now.
func NewPacer(c Clock, every time.Duration) *Pacer {
	c = Or(c)
	now := c.Now()
	return &Pacer{clock: c, every: every, start: now, next: now.Add(every)}
}

// Wait waits for the next tick; it reports false if ctx ended first.
func (p *Pacer) Wait(ctx context.Context) bool {
	now := p.clock.Now()
	if !now.Before(p.next) {
		// The tick that fell while the loop was busy; the ones after it
		// were dropped.
		p.next = p.start.Add((now.Sub(p.start)/p.every + 1) * p.every)
		return ctx.Err() == nil
	}
	if !p.clock.Sleep(ctx, p.next.Sub(now)) {
		return false
	}
	p.next = p.next.Add(p.every)
	return true
}

// Lockstep is a clock that also runs the run's goroutines, one at a time
// (a deterministic simulation, package run/sim). Code of a run that
// starts goroutines or waits on something other than the clock does it
// through Go, Group and Block, so that it runs under either kind of
// clock.
type Lockstep interface {
	Clock
	// Go starts f as a goroutine of the run.
	Go(f func())
	// Block waits until ready reports true or ctx ends (nil: never).
	// ready is only called while no other goroutine of the run runs.
	Block(ctx context.Context, ready func() bool)
}

// Wait waits until ctx ends.
func Wait(c Clock, ctx context.Context) {
	if ls, ok := c.(Lockstep); ok {
		ls.Block(ctx, func() bool { return false })
		return
	}
	<-ctx.Done()
}

// Group is a sync.WaitGroup whose goroutines are the clock's: under a
// Lockstep clock they start with its Go and Wait blocks on it.
type Group struct {
	clock Clock
	wg    sync.WaitGroup
	n     atomic.Int64
}

// NewGroup returns a group of goroutines run on c.
func NewGroup(c Clock) *Group { return &Group{clock: Or(c)} }

// Go runs f on a new goroutine of the group.
func (g *Group) Go(f func()) {
	ls, ok := g.clock.(Lockstep)
	if !ok {
		g.wg.Go(f)
		return
	}
	g.n.Add(1)
	ls.Go(func() {
		defer g.n.Add(-1)
		f()
	})
}

// Wait waits until every goroutine of the group has returned.
func (g *Group) Wait() {
	if ls, ok := g.clock.(Lockstep); ok {
		ls.Block(nil, func() bool { return g.n.Load() == 0 })
		return
	}
	g.wg.Wait()
}

// Of returns the clock x runs on, when it says (a method Clock() Clock,
// as a bundled store's simulated network has), and Wall otherwise: the
// seam through which code that serves both kinds of store (the stores'
// test helpers) waits on the store's own time.
func Of(x any) Clock {
	if c, ok := x.(interface{ Clock() Clock }); ok {
		return Or(c.Clock())
	}
	return Wall
}
