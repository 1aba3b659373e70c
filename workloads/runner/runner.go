// Package runner drives a store with concurrent workers and records what
// happened, as Jepsen does: each worker is one single-threaded process at
// a time, invoking the workload's operations through its own client and
// recording every invocation and completion as it happens. A process whose
// operation ends unknown (info) is retired, and its worker continues under
// a fresh process id on a fresh client.
//
// A run has up to three phases. Setup: the workload's setup operations
// (workloads.Setup), performed in order by a process of their own. Main:
// the workers draw and perform operations while the nemesis, if any,
// injects faults beside them, until the duration or the operation count is
// reached. Final: once the nemesis has healed every fault and the store
// has had Quiesce to recover, each worker performs the workload's final
// operations (workloads.Finisher), such as reads of every key. A run
// interrupted through its context skips the final phase; it still heals.
//
// A transaction (adapters.Txn) is recorded as the history's txn form,
// Elle's: the invocation holds its micro-ops with every read's value nil,
// an ok completion the micro-ops the store answered, reads filled in; a
// failed (aborted) or unknown one repeats the invocation's. A store that
// cannot take the workload's kind of operation (adapters.Supports) is
// refused before anything starts, with an UnsupportedError.
//
// Every goroutine the runner starts and every wait it makes go through
// Config.Clock (clock.Group, Sleep, WithTimeout, a Pacer) or the store's
// client, so that a deterministic simulation (package run/sim) runs the
// workers and the nemesis one at a time on virtual time.
package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"consist/adapters"
	"consist/history"
	"consist/nemesis"
	"consist/run/clock"
	"consist/workloads"
)

// Config describes a run.
type Config struct {
	Store    adapters.Store
	Workload workloads.Workload
	// Recorder receives every event, usually a *history.Recorder, which
	// the caller closes.
	Recorder history.Sink
	// Clients is the number of workers (default 10).
	Clients int
	// Duration ends the run (with Ops, whichever comes first; at least
	// one of them, or the context, must end it).
	Duration time.Duration
	// Ops is the most operations to invoke in all; 0 means no limit.
	Ops int64
	// Rate is the most operations per second across all workers; 0 means
	// as fast as the store answers.
	Rate float64
	// OpTimeout bounds each operation (default 5 s); an operation that
	// exceeds it is recorded as unknown (info).
	OpTimeout time.Duration
	// Seed seeds every worker's generator.
	Seed uint64
	// Nemesis, if set, injects faults during the main phase; the run
	// heals them before the final phase, and on every way out.
	Nemesis *nemesis.Nemesis
	// Quiesce is how long the store is left alone between the heal and
	// the final phase.
	Quiesce time.Duration
	// Clock is the time the run's schedule keeps: the duration, the
	// pace, the timeouts and the quiesce (nil: the wall clock).
	Clock clock.Clock
}

// setup and finisher are the optional phases of a workload; see
// workloads.Setup and workloads.Finisher.
type setup interface{ Setup() []adapters.Op }
type finisher interface{ Final() []adapters.Op }

// UnsupportedError is Run's error when the store cannot take the
// workload's kind of operation (adapters.Supports): the run was refused
// before it started, and nothing was recorded.
type UnsupportedError struct {
	Workload string
	Err      error
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("the %s workload cannot run here: %v", e.Workload, e.Err)
}

func (e *UnsupportedError) Unwrap() error { return e.Err }

// Counts are a run's operations by outcome.
type Counts struct {
	OK, Fail, Info atomic.Int64
}

// Total returns the operations completed.
func (c *Counts) Total() int64 { return c.OK.Load() + c.Fail.Load() + c.Info.Load() }

// Run drives cfg.Store through the phases of a run (see the package
// documentation). The main phase ends when cfg.Duration has passed,
// cfg.Ops operations were invoked, or ctx ends; operations in flight then
// complete (or time out) and are recorded. counts, if not nil, is updated
// live.
func Run(ctx context.Context, cfg Config, counts *Counts) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if err := adapters.Supports(cfg.Store, workloads.KindOf(cfg.Workload)); err != nil {
		return &UnsupportedError{Workload: cfg.Workload.Name(), Err: err}
	}
	if counts == nil {
		counts = &Counts{}
	}
	r := &run{cfg: cfg, counts: counts}
	r.nextProcess.Store(int64(cfg.Clients) + 1)
	if err := r.setup(ctx); err != nil {
		return err
	}
	workers := make([]*worker, cfg.Clients)
	for w := range workers {
		workers[w] = r.newWorker(ctx, w)
	}
	defer func() {
		for _, w := range workers {
			w.close()
		}
	}()

	main, endMain := context.WithCancel(ctx)
	defer endMain()
	if cfg.Duration > 0 {
		main, endMain = cfg.Clock.WithTimeout(main, cfg.Duration)
		defer endMain()
	}
	faults := clock.NewGroup(cfg.Clock)
	var nemesisErr error
	if cfg.Nemesis != nil {
		faults.Go(func() { nemesisErr = cfg.Nemesis.Run(main) })
	}
	err := r.phase(main, workers, r.mainLoop)
	endMain()
	faults.Wait()
	if err != nil || nemesisErr != nil || ctx.Err() != nil {
		return errors.Join(err, nemesisErr)
	}
	if _, ok := cfg.Workload.(finisher); !ok {
		return nil
	}
	if cfg.Quiesce > 0 && !cfg.Clock.Sleep(ctx, cfg.Quiesce) {
		return nil
	}
	return r.phase(ctx, workers, r.finalOps)
}

// phase runs body for every worker at once and waits for them all.
func (r *run) phase(ctx context.Context, workers []*worker, body func(context.Context, *worker) error) error {
	wg := clock.NewGroup(r.cfg.Clock)
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Go(func() { errs[i] = body(ctx, w) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (cfg *Config) check() error {
	switch {
	case cfg.Store == nil || cfg.Workload == nil || cfg.Recorder == nil:
		return errors.New("runner: a run needs a store, a workload and a recorder")
	case cfg.Clients < 0 || cfg.Ops < 0 || cfg.Rate < 0 || cfg.Duration < 0:
		return errors.New("runner: clients, ops, rate and duration must not be negative")
	case len(cfg.Store.Nodes()) == 0:
		return errors.New("runner: the store has no nodes to connect to")
	}
	if cfg.Clients == 0 {
		cfg.Clients = 10
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = 5 * time.Second
	}
	cfg.Clock = clock.Or(cfg.Clock)
	return nil
}

type run struct {
	cfg         Config
	counts      *Counts
	invoked     atomic.Int64
	nextProcess atomic.Int64
}

// worker is one single-threaded client: its current process, the client
// of that process, and its generator.
type worker struct {
	id      int
	node    string
	process history.Process
	client  adapters.Client
	gen     workloads.Generator
	// unbound is the parent of the worker's operations' contexts: an
	// operation is never cut short by the end of the run, only by its
	// own timeout, so that its outcome is known.
	unbound context.Context
}

func (r *run) newWorker(ctx context.Context, id int) *worker {
	nodes := r.cfg.Store.Nodes()
	return &worker{
		id:      id,
		node:    nodes[id%len(nodes)],
		process: history.Process(id),
		gen:     r.cfg.Workload.Generator(id, rand.New(rand.NewPCG(r.cfg.Seed, uint64(id)))),
		unbound: context.WithoutCancel(ctx),
	}
}

func (w *worker) close() {
	if w.client != nil {
		w.client.Close()
		w.client = nil
	}
}

// setup performs the workload's setup operations as process Clients, on
// the first node; each must succeed.
func (r *run) setup(ctx context.Context) error {
	s, ok := r.cfg.Workload.(setup)
	if !ok {
		return nil
	}
	w := &worker{id: -1, node: r.cfg.Store.Nodes()[0], process: history.Process(r.cfg.Clients), unbound: context.WithoutCancel(ctx)}
	defer w.close()
	for _, op := range s.Setup() {
		done, err := r.perform(ctx, w, op)
		if err != nil {
			return err
		}
		if done.Type != history.OK {
			return fmt.Errorf("runner: the %s workload's setup (%s) ended %s: the store must be up and accept it before the run starts", r.cfg.Workload.Name(), op.F, done.Type)
		}
	}
	return nil
}

// mainLoop is one worker's main phase: operations drawn from its
// generator until the phase ends.
func (r *run) mainLoop(ctx context.Context, w *worker) error {
	cfg := r.cfg
	var pace *clock.Pacer
	if cfg.Rate > 0 {
		// The workers' ticks are staggered evenly over the interval, so
		// that the operations come at the rate rather than in bursts of
		// one per worker (which a simulation, where nothing jitters,
		// would keep in step for the whole run).
		every := time.Duration(float64(cfg.Clients) / cfg.Rate * float64(time.Second))
		if w.id > 0 && !cfg.Clock.Sleep(ctx, every*time.Duration(w.id)/time.Duration(cfg.Clients)) {
			return nil
		}
		pace = clock.NewPacer(cfg.Clock, every)
	}
	for {
		if pace != nil {
			pace.Wait(ctx)
		}
		if ctx.Err() != nil || (cfg.Ops > 0 && r.invoked.Add(1) > cfg.Ops) {
			return nil
		}
		op := w.gen.Next()
		done, err := r.perform(ctx, w, op)
		if err != nil {
			return err
		}
		w.gen.Done(op, done.ok, done.value)
	}
}

// finalOps is one worker's final phase.
func (r *run) finalOps(ctx context.Context, w *worker) error {
	for _, op := range r.cfg.Workload.(finisher).Final() {
		if ctx.Err() != nil {
			return nil
		}
		if _, err := r.perform(ctx, w, op); err != nil {
			return err
		}
	}
	return nil
}

// outcome is what became of an operation.
type outcome struct {
	history.Type
	ok    bool
	value any
}

// perform invokes op as w's process, on a client it opens if need be, and
// records it. After an unknown outcome the worker moves to a fresh
// process. Only a failure to record or to open a client is an error.
func (r *run) perform(ctx context.Context, w *worker, op adapters.Op) (outcome, error) {
	if w.client == nil {
		c, err := r.cfg.Store.Open(ctx, w.node)
		if err != nil {
			if ctx.Err() != nil {
				return outcome{Type: history.Fail}, nil
			}
			return outcome{}, fmt.Errorf("worker %d: open a client on %s: %w", w.id, w.node, err)
		}
		w.client = c
	}
	inv := history.Event{Type: history.Invoke, Process: w.process, F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Node: w.node}
	txn := op.Kind == adapters.Txn
	if txn {
		inv.Value = txnValue(op.Value)
	}
	if _, err := r.cfg.Recorder.Record(inv); err != nil {
		return outcome{}, err
	}
	opCtx, cancel := r.cfg.Clock.WithTimeout(w.unbound, r.cfg.OpTimeout)
	value, err := w.client.Do(opCtx, op)
	cancel()
	done := inv
	done.Type = adapters.Outcome(err)
	switch {
	case done.Type != history.OK:
	case txn:
		mops, ok := value.([]adapters.MicroOp)
		asked, _ := op.Value.([]adapters.MicroOp)
		if !ok || len(mops) != len(asked) {
			// A store that answers a transaction with something else
			// is broken: the outcome is unknown, and the error says so.
			done.Type = history.Info
			err = fmt.Errorf("the store answered the transaction with %T of %d micro-ops, not the %d micro-ops asked: fix the adapter", value, len(mops), len(asked))
			value = nil
			break
		}
		done.Value = adapters.MicroOpsValue(mops)
	case op.F == "read":
		done.Value = value
	}
	if err != nil {
		done.Error = err.Error()
	}
	if _, err := r.cfg.Recorder.Record(done); err != nil {
		return outcome{}, err
	}
	switch done.Type {
	case history.OK:
		r.counts.OK.Add(1)
	case history.Fail:
		r.counts.Fail.Add(1)
	default:
		r.counts.Info.Add(1)
		w.close()
		w.process = history.Process(r.nextProcess.Add(1) - 1)
	}
	return outcome{Type: done.Type, ok: done.Type == history.OK, value: value}, nil
}

// txnValue is a transaction's micro-ops as the history records them, the
// reads' values nil.
func txnValue(v any) any {
	mops, _ := v.([]adapters.MicroOp)
	out := adapters.MicroOpsValue(mops)
	for _, m := range out {
		if m := m.([]any); m[0] == "r" {
			m[2] = nil
		}
	}
	return out
}
