// Package sim is the deterministic simulation a run against a bundled
// store runs in, as FoundationDB's simulator and TigerBeetle's VOPR run a
// whole cluster: one event loop on virtual time. It has two halves.
//
// Events: a priority queue of callbacks ordered by virtual time, then by
// the order they were scheduled in. The simulated network (package
// simnet) puts on it every message delivery, node timer and node wake-up;
// the machines' code runs inside those callbacks.
//
// Lockstep: the run's own goroutines (the runner's workers, the nemesis,
// the run's phases) are real goroutines, but the Sim lets exactly one of
// them run at a time, as Go's testing/synctest bubble does, only
// deterministically. A goroutine that waits (Sleep, a context from
// WithTimeout, a client's request on a simulated node, a Group) blocks on
// the Sim, and hands control to the next goroutine that can go; when none
// can, the Sim runs the next event, advancing virtual time to it. Woken
// goroutines resume one at a time, in the order they blocked. So time
// moves only when every goroutine of the run waits on it, nothing sleeps
// in real time, and a seed gives the same run every time.
//
// The goroutine that makes a Sim holds control at first. Goroutines of
// the run are started with Go (or a clock.Group), never with a bare go
// statement; a goroutine outside the run (a status line, a flusher) may
// call Now, and nothing else.
//
// The Sim lives in package run, beside the clock it implements, and not
// inside simnet: the run's goroutines and its schedule are the run's, and
// the network only puts events on the queue through the small interface
// it declares (simnet.Scheduler).
package sim

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"consist/run/clock"
)

// Epoch is where a simulation's virtual time starts, unless given: the
// Unix epoch, so that recorded times are the same on every machine.
var Epoch = time.Unix(0, 0).UTC()

// Sim is a virtual clock and the event loop that advances it. It
// implements clock.Clock and clock.Lockstep.
type Sim struct {
	epoch time.Time
	now   atomic.Int64 // virtual nanoseconds since epoch

	mu      sync.Mutex // guards the fields below
	seq     uint64
	events  queue
	ready   []*waiter // goroutines that may go, first first
	blocked []*waiter // goroutines waiting, in the order they blocked
	dirty   bool      // something happened that may wake a blocked goroutine
	live    int       // goroutines of the run, the first one included
	steps   uint64    // events run
}

type waiter struct {
	ch    chan struct{} // receives control
	ready func() bool
}

// New starts a simulation at epoch (Epoch when zero). The calling
// goroutine holds control.
func New(epoch time.Time) *Sim {
	if epoch.IsZero() {
		epoch = Epoch
	}
	return &Sim{epoch: epoch, live: 1}
}

// Epoch returns the virtual time the simulation started at.
func (s *Sim) Epoch() time.Time { return s.epoch }

// Now returns the virtual time.
func (s *Sim) Now() time.Time { return s.epoch.Add(time.Duration(s.now.Load())) }

// Elapsed returns the virtual time passed since the start.
func (s *Sim) Elapsed() time.Duration { return time.Duration(s.now.Load()) }

// Steps counts the events run so far.
func (s *Sim) Steps() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.steps
}

// After runs f once d of virtual time has passed, inside the event loop.
// Events due at the same time run in the order they were scheduled.
func (s *Sim) After(d time.Duration, f func()) {
	if d < 0 {
		d = 0
	}
	s.mu.Lock()
	s.seq++
	heap.Push(&s.events, event{at: s.now.Load() + int64(d), seq: s.seq, f: f})
	s.mu.Unlock()
}

// Poke tells the Sim that something a blocked goroutine may be waiting
// on has changed (a reply arrived), so that it looks again before the
// next event.
func (s *Sim) Poke() {
	s.mu.Lock()
	s.dirty = true
	s.mu.Unlock()
}

// Sleep blocks the calling goroutine of the run until d of virtual time
// has passed or ctx ends; it reports whether d passed.
func (s *Sim) Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	var passed atomic.Bool
	s.After(d, func() { passed.Store(true); s.Poke() })
	s.Block(ctx, passed.Load)
	return passed.Load()
}

// WithTimeout returns a context that ends once d of virtual time has
// passed, or when parent ends.
func (s *Sim) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	s.After(d, func() {
		if ctx.Err() == nil {
			cancel(context.DeadlineExceeded)
			s.Poke()
		}
	})
	return &deadlineCtx{ctx}, func() { cancel(context.Canceled) }
}

// deadlineCtx reports its cause as its error, so that a virtual timeout
// reads as context.DeadlineExceeded, as a wall-clock one does.
type deadlineCtx struct{ context.Context }

func (c *deadlineCtx) Err() error {
	if c.Context.Err() == nil {
		return nil
	}
	return context.Cause(c.Context)
}

// Go starts f as a goroutine of the run. It runs once the Sim hands it
// control, after the goroutines already able to go.
func (s *Sim) Go(f func()) {
	w := &waiter{ch: make(chan struct{}, 1)}
	s.mu.Lock()
	s.live++
	s.ready = append(s.ready, w)
	s.mu.Unlock()
	go func() {
		<-w.ch
		defer s.exit()
		f()
	}()
}

func (s *Sim) exit() {
	s.mu.Lock()
	s.live--
	s.dirty = true
	s.mu.Unlock()
	s.handOff()
}

// Block blocks the calling goroutine of the run until ready reports true
// or ctx ends (a nil ctx never does). ready is called by whichever
// goroutine holds control, never concurrently with the run's code.
func (s *Sim) Block(ctx context.Context, ready func() bool) {
	cond := ready
	if ctx != nil {
		cond = func() bool { return ctx.Err() != nil || ready() }
	}
	if cond() {
		return
	}
	w := &waiter{ch: make(chan struct{}, 1), ready: cond}
	s.mu.Lock()
	s.blocked = append(s.blocked, w)
	s.mu.Unlock()
	s.handOff()
	<-w.ch
}

// checkEvery bounds how many events run between two looks at every
// blocked goroutine's condition when nothing poked: a context ended from
// outside the run (Ctrl-C) is seen within that many events.
const checkEvery = 256

// handOff gives control to the next goroutine that may go, running
// events until one may. It returns at once when no goroutine of the run
// is left. The caller stops running the run's code until it is handed
// control again.
func (s *Sim) handOff() {
	idle := 0
	for {
		s.mu.Lock()
		if s.dirty || s.steps%checkEvery == 0 || idle > 0 {
			s.dirty = false
			s.wakeLocked()
		}
		if len(s.ready) > 0 {
			w := s.ready[0]
			s.ready = s.ready[1:]
			s.mu.Unlock()
			w.ch <- struct{}{}
			return
		}
		if s.live == 0 {
			s.mu.Unlock()
			return
		}
		if s.events.Len() > 0 {
			ev := heap.Pop(&s.events).(event)
			s.steps++
			if ev.at > s.now.Load() {
				s.now.Store(ev.at)
			}
			s.mu.Unlock()
			ev.f()
			idle = 0
			continue
		}
		s.mu.Unlock()
		// Every goroutine waits and nothing is scheduled: only something
		// outside the run (a context ended by Ctrl-C) can wake one.
		idle++
		time.Sleep(time.Millisecond)
	}
}

// wakeLocked moves the blocked goroutines whose condition holds to the
// ready list, in the order they blocked.
func (s *Sim) wakeLocked() {
	kept := s.blocked[:0]
	for _, w := range s.blocked {
		if w.ready() {
			s.ready = append(s.ready, w)
		} else {
			kept = append(kept, w)
		}
	}
	clear(s.blocked[len(kept):])
	s.blocked = kept
}

type event struct {
	at  int64
	seq uint64
	f   func()
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	ev := old[len(old)-1]
	old[len(old)-1] = event{}
	*q = old[:len(old)-1]
	return ev
}

var (
	_ clock.Clock    = (*Sim)(nil)
	_ clock.Lockstep = (*Sim)(nil)
)
