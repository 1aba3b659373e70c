// Package membudget holds a whole process to a memory budget, as
// `consist check --max-memory` promises: it sets the Go runtime's soft
// memory limit below the budget, so the collector works harder before the
// heap grows past it, and watches the memory the process holds from the
// operating system, cancelling a context when that reaches the budget, so
// that whatever runs under the context stops with an honest unknown rather
// than the machine running out of memory.
//
// It acts on the whole process: the runtime's memory limit is global, and
// the watched figure counts every goroutine's memory. Commands use it; a
// library embedded in someone else's program should not.
package membudget

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// ErrExceeded is the cause of a context cancelled because the process
// reached its budget.
var ErrExceeded = errors.New("memory budget reached")

// Fractions of the budget: the runtime's soft limit, and the held memory
// at which the watch cancels. The collector keeps the heap near the soft
// limit while what is live fits under it; the watch fires when it no longer
// does, leaving the rest of the budget for the stacks, the runtime's own
// structures and what is allocated between two samples.
const (
	softLimitFraction = 0.75
	fireFraction      = 0.90
)

// interval is how often the held memory is sampled; reading the runtime's
// metrics costs about a microsecond and stops nothing.
const interval = 2 * time.Millisecond

// Watch is a running budget. Its methods are safe for concurrent use.
type Watch struct {
	budget   int64
	peak     atomic.Int64
	fired    atomic.Bool
	cancel   context.CancelCauseFunc
	stopOnce sync.Once
	done     chan struct{}
	exited   chan struct{}
	oldLimit int64
}

// Start sets the runtime's soft memory limit from budget (in bytes) and
// returns a context that is cancelled, with a cause wrapping ErrExceeded,
// when the memory the process holds reaches the budget. Stop restores the
// previous limit and ends the watch.
func Start(ctx context.Context, budget int64) (context.Context, *Watch) {
	ctx, cancel := context.WithCancelCause(ctx)
	w := &Watch{budget: budget, cancel: cancel, done: make(chan struct{}), exited: make(chan struct{})}
	w.oldLimit = debug.SetMemoryLimit(int64(float64(budget) * softLimitFraction))
	go w.loop()
	return ctx, w
}

// Held returns the memory the process holds from the operating system:
// everything the runtime has mapped, less what it has returned. It bounds
// the resident set from above, apart from the binary's own pages.
func Held() int64 {
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(samples)
	return int64(samples[0].Value.Uint64()) - int64(samples[1].Value.Uint64())
}

func (w *Watch) loop() {
	defer close(w.exited)
	t := time.NewTicker(interval)
	defer t.Stop()
	limit := int64(float64(w.budget) * fireFraction)
	for {
		held := Held()
		if held > w.peak.Load() {
			w.peak.Store(held)
		}
		if held >= limit && !w.fired.Swap(true) {
			w.cancel(fmt.Errorf("%w: the process held %s of its %s budget; raise --max-memory", ErrExceeded, Size(held), Size(w.budget)))
		}
		select {
		case <-w.done:
			return
		case <-t.C:
		}
	}
}

// Exceeded reports whether the budget was reached.
func (w *Watch) Exceeded() bool { return w.fired.Load() }

// Peak returns the most memory the process was seen to hold.
func (w *Watch) Peak() int64 { return w.peak.Load() }

// Budget returns the budget in bytes.
func (w *Watch) Budget() int64 { return w.budget }

// Stop ends the watch, restores the runtime's previous memory limit and
// releases the context.
func (w *Watch) Stop() {
	w.stopOnce.Do(func() {
		close(w.done)
		<-w.exited
		debug.SetMemoryLimit(w.oldLimit)
		w.cancel(context.Canceled)
	})
}

// Size renders a byte count as people write it: 512MiB, 1.5GiB.
func Size(n int64) string {
	units := []struct {
		name  string
		scale int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n >= u.scale {
			v := float64(n) / float64(u.scale)
			if v == float64(int64(v)) {
				return fmt.Sprintf("%d%s", int64(v), u.name)
			}
			return fmt.Sprintf("%.1f%s", v, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
