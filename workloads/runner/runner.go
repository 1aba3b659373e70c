// Package runner drives a store with concurrent workers and records what
// happened, as Jepsen does: each worker is one single-threaded process at
// a time, invoking the workload's operations through its own client and
// recording every invocation and completion as it happens. A process whose
// operation ends unknown (info) is retired, and its worker continues under
// a fresh process id on a fresh client.
package runner

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"consist/adapters"
	"consist/history"
	"consist/workloads"
)

// Config describes a run.
type Config struct {
	Store    adapters.Store
	Workload workloads.Workload
	// Recorder receives every event; the caller closes it.
	Recorder *history.Recorder
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
}

// Counts are a run's operations by outcome.
type Counts struct {
	OK, Fail, Info atomic.Int64
}

// Total returns the operations completed.
func (c *Counts) Total() int64 { return c.OK.Load() + c.Fail.Load() + c.Info.Load() }

// Run drives cfg.Store until cfg.Duration has passed, cfg.Ops operations
// were invoked, or ctx ends; operations in flight then complete (or time
// out) and are recorded. counts, if not nil, is updated live.
func Run(ctx context.Context, cfg Config, counts *Counts) error {
	if err := cfg.check(); err != nil {
		return err
	}
	if counts == nil {
		counts = &Counts{}
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}
	r := &run{cfg: cfg, counts: counts}
	r.nextProcess.Store(int64(cfg.Clients))
	var wg sync.WaitGroup
	errs := make([]error, cfg.Clients)
	for w := range cfg.Clients {
		wg.Go(func() { errs[w] = r.work(ctx, w) })
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
	return nil
}

type run struct {
	cfg         Config
	counts      *Counts
	invoked     atomic.Int64
	nextProcess atomic.Int64
}

// work is one worker's loop.
func (r *run) work(ctx context.Context, worker int) error {
	cfg := r.cfg
	nodes := cfg.Store.Nodes()
	node := nodes[worker%len(nodes)]
	gen := cfg.Workload.Generator(worker, rand.New(rand.NewPCG(cfg.Seed, uint64(worker))))
	process := history.Process(worker)
	var client adapters.Client
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	var pace *time.Ticker
	if cfg.Rate > 0 {
		pace = time.NewTicker(time.Duration(float64(cfg.Clients) / cfg.Rate * float64(time.Second)))
		defer pace.Stop()
	}
	for {
		if pace != nil {
			select {
			case <-ctx.Done():
			case <-pace.C:
			}
		}
		if ctx.Err() != nil || (cfg.Ops > 0 && r.invoked.Add(1) > cfg.Ops) {
			return nil
		}
		if client == nil {
			c, err := cfg.Store.Open(ctx, node)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("worker %d: open a client on %s: %w", worker, node, err)
			}
			client = c
		}
		crashed, err := r.perform(ctx, process, node, client, gen)
		if err != nil {
			return err
		}
		if crashed {
			client.Close()
			client = nil
			process = history.Process(r.nextProcess.Add(1) - 1)
		}
	}
}

// perform invokes one operation and records it; it reports whether the
// outcome was unknown.
func (r *run) perform(ctx context.Context, process history.Process, node string, client adapters.Client, gen workloads.Generator) (bool, error) {
	op := gen.Next()
	inv := history.Event{Type: history.Invoke, Process: process, F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Node: node}
	if _, err := r.cfg.Recorder.Record(inv); err != nil {
		return false, err
	}
	opCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.OpTimeout)
	value, err := client.Do(opCtx, op)
	cancel()
	done := inv
	done.Type = adapters.Outcome(err)
	if done.Type == history.OK && op.F == "read" {
		done.Value = value
	}
	if err != nil {
		done.Error = err.Error()
	}
	if _, err := r.cfg.Recorder.Record(done); err != nil {
		return false, err
	}
	gen.Done(op, done.Type == history.OK, value)
	switch done.Type {
	case history.OK:
		r.counts.OK.Add(1)
	case history.Fail:
		r.counts.Fail.Add(1)
	default:
		r.counts.Info.Add(1)
	}
	return done.Type == history.Info, nil
}
