// Package reggen generates seeded register histories with a known
// linearizability verdict, for the tests and benchmarks of the
// linearizability checker and for `consist bench`.
//
// A valid history is simulated by internal/histgen against its
// Linearizable store: clients read, write and cas registers whose written
// values are unique per key, every operation takes effect at one instant
// inside its interval, crashed writes and cas take effect later or never.
// Such a history is linearizable by construction.
//
// An invalid history is a valid one with one violation injected that no
// interleaving can explain, whatever the rest of the history holds:
//
//   - stale read: a read returns the value of a write w1 although another
//     ok write w2 began after w1 completed and completed before the read
//     began (w1 < w2 < read in every linearization, and w1's value is
//     never written again); or the initial value, after an ok write
//     completed;
//   - stale cas: the same for the value an ok cas expects;
//   - future read: a read returns the value of a write invoked only after
//     the read completed;
//   - unwritten read: a read returns a value nothing wrote;
//   - lost update: two ok cas expect the same value, which was written
//     once: the second cannot find it;
//   - flip-flop: three reads, each beginning after the one before
//     completed, return a, b and a again: a would have to be written
//     twice.
//
// The same Config always yields the same history.
package reggen

import (
	"fmt"
	"math/rand/v2"

	"consist/history"
	"consist/internal/histgen"
)

// Config is the shape of a generated history.
type Config struct {
	// Seed seeds every random choice.
	Seed uint64
	// Processes is the number of concurrent clients (default 5); a
	// client whose operation crashes continues as a new process.
	Processes int
	// Ops is the number of operations (default 1000); an invalid
	// history may have one more.
	Ops int
	// Keys is the number of registers (default 1).
	Keys int
	// CrashRate is the fraction of operations that crash (info).
	CrashRate float64
	// CAS is the fraction of operations that are cas (default 0.2; a
	// negative value means none); the rest are half reads, half writes.
	CAS float64
	// Invalid injects one violation, making the history nonlinearizable.
	Invalid bool
	// Timestamps gives every event a time in virtual nanoseconds.
	Timestamps bool
}

// Violation kinds, as Generated.Violation names them.
const (
	StaleRead     = "stale-read"
	StaleCAS      = "stale-cas"
	FutureRead    = "future-read"
	UnwrittenRead = "unwritten-read"
	LostUpdate    = "lost-update"
	FlipFlop      = "flip-flop"
)

// Generated is a generated history and what is known of it.
type Generated struct {
	History *history.History
	// Linearizable is the history's verdict, known by construction.
	Linearizable bool
	// Violation names the injected violation ("" for a valid history),
	// and Ops are the indices of the operations it involves.
	Violation string
	Ops       []int64
}

// Generate builds the history cfg describes. It fails only on a bad
// Config.
func Generate(cfg Config) (Generated, error) {
	if cfg.CAS == 0 {
		cfg.CAS = 0.2
	}
	cas := max(cfg.CAS, 0)
	if cas > 1 {
		return Generated{}, fmt.Errorf("reggen: CAS share %v: use a fraction from 0 to 1", cfg.CAS)
	}
	hc := histgen.Config{
		Seed: cfg.Seed, Store: histgen.Linearizable, Processes: cfg.Processes, Ops: cfg.Ops, Keys: cfg.Keys,
		CrashRate: cfg.CrashRate, Timestamps: cfg.Timestamps,
		Reads: (1 - cas) / 2, Writes: (1 - cas) / 2, CAS: cas,
	}
	if cas == 0 {
		hc.CAS = 0
	}
	if cas == 1 {
		hc.Reads, hc.Writes = 0, 0
	}
	events, err := histgen.Generate(hc)
	if err != nil {
		return Generated{}, fmt.Errorf("reggen: %w", err)
	}
	name := fmt.Sprintf("reggen(procs=%d ops=%d keys=%d crash=%g cas=%g seed=%d)", cfg.Processes, cfg.Ops, cfg.Keys, cfg.CrashRate, cas, cfg.Seed)
	g := Generated{Linearizable: true}
	if cfg.Invalid {
		name += " invalid"
		h, err := history.New(name, events)
		if err != nil {
			return Generated{}, fmt.Errorf("reggen: %w", err)
		}
		inj := injector{h: h, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
		g.Violation, g.Ops = inj.inject()
		events = inj.h.Events
		g.Linearizable = false
	}
	if g.History, err = history.New(name, events); err != nil {
		return Generated{}, fmt.Errorf("reggen: %w", err)
	}
	return g, nil
}

// injector breaks a valid history.
type injector struct {
	h   *history.History
	rng *rand.Rand
}

// inject applies one violation and returns its kind and operations.
func (in *injector) inject() (string, []int64) {
	// The violations that need the most structure are tried first; a
	// read of a value nothing wrote, which any read allows, mostly last.
	kinds := []func() (string, []int64, bool){in.staleRead, in.staleCAS, in.flipFlop, in.lostUpdate, in.futureRead}
	in.rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	if in.rng.IntN(6) == 0 {
		kinds = append([]func() (string, []int64, bool){in.unwrittenRead}, kinds...)
	} else {
		kinds = append(kinds, in.unwrittenRead)
	}
	for _, kind := range kinds {
		if kind, ops, ok := kind(); ok {
			return kind, ops
		}
	}
	return in.appendUnwrittenRead()
}

func (in *injector) okReads() []*history.Op {
	var out []*history.Op
	for i := range in.h.Ops {
		if op := &in.h.Ops[i]; op.Type == history.OK && op.F == "read" {
			out = append(out, op)
		}
	}
	return out
}

func (in *injector) okOps(f string) []*history.Op {
	var out []*history.Op
	for i := range in.h.Ops {
		if op := &in.h.Ops[i]; op.Type == history.OK && op.F == f {
			out = append(out, op)
		}
	}
	return out
}

func written(op *history.Op) any {
	if op.F == "cas" {
		return op.Input.([]any)[1]
	}
	return op.Input
}

// overwritten finds, for an operation that begins at pos on key, two ok
// writes (or cas) w1 and w2 with w1 < w2 < pos in real time; w1 nil means
// the initial value, which w2 alone overwrote.
func (in *injector) overwritten(key any, pos int) (w1, w2 *history.Op, ok bool) {
	var writers []*history.Op
	for i := range in.h.Ops {
		op := &in.h.Ops[i]
		if op.Type == history.OK && op.F != "read" && history.Equal(op.Key, key) {
			writers = append(writers, op)
		}
	}
	// w2: a writer that completed before pos; w1: one that completed
	// before w2 began, if any.
	in.rng.Shuffle(len(writers), func(i, j int) { writers[i], writers[j] = writers[j], writers[i] })
	for _, b := range writers {
		if b.Complete >= pos {
			continue
		}
		for _, a := range writers {
			if a.Complete < b.Invoke {
				return a, b, true
			}
		}
		return nil, b, true
	}
	return nil, nil, false
}

func (in *injector) opIndex(ops ...*history.Op) []int64 {
	var out []int64
	for _, op := range ops {
		if op != nil {
			out = append(out, in.h.OpIndex(op))
		}
	}
	return out
}

func (in *injector) staleRead() (string, []int64, bool) {
	reads := in.okReads()
	in.rng.Shuffle(len(reads), func(i, j int) { reads[i], reads[j] = reads[j], reads[i] })
	for _, r := range reads {
		w1, w2, ok := in.overwritten(r.Key, r.Invoke)
		if !ok {
			continue
		}
		var v any // the initial value: never written
		if w1 != nil {
			v = written(w1)
		}
		in.h.Events[r.Complete].Value = v
		return StaleRead, in.opIndex(w1, w2, r), true
	}
	return "", nil, false
}

func (in *injector) staleCAS() (string, []int64, bool) {
	cas := in.okOps("cas")
	in.rng.Shuffle(len(cas), func(i, j int) { cas[i], cas[j] = cas[j], cas[i] })
	for _, c := range cas {
		w1, w2, ok := in.overwritten(c.Key, c.Invoke)
		if !ok || w1 == nil || w1 == c {
			continue
		}
		in.setExpected(c, written(w1))
		return StaleCAS, in.opIndex(w1, w2, c), true
	}
	return "", nil, false
}

func (in *injector) setExpected(c *history.Op, v any) {
	for _, pos := range []int{c.Invoke, c.Complete} {
		e := &in.h.Events[pos]
		pair := e.Value.([]any)
		e.Value = []any{v, pair[1]}
	}
}

func (in *injector) futureRead() (string, []int64, bool) {
	reads := in.okReads()
	in.rng.Shuffle(len(reads), func(i, j int) { reads[i], reads[j] = reads[j], reads[i] })
	for _, r := range reads {
		for i := range in.h.Ops {
			w := &in.h.Ops[i]
			if w.F != "read" && w.Type != history.Fail && history.Equal(w.Key, r.Key) && w.Invoke > r.Complete {
				in.h.Events[r.Complete].Value = written(w)
				return FutureRead, in.opIndex(r, w), true
			}
		}
	}
	return "", nil, false
}

func (in *injector) lostUpdate() (string, []int64, bool) {
	cas := in.okOps("cas")
	in.rng.Shuffle(len(cas), func(i, j int) { cas[i], cas[j] = cas[j], cas[i] })
	for _, a := range cas {
		for _, b := range cas {
			if a != b && history.Equal(a.Key, b.Key) {
				in.setExpected(b, a.Input.([]any)[0])
				return LostUpdate, in.opIndex(a, b), true
			}
		}
	}
	return "", nil, false
}

func (in *injector) flipFlop() (string, []int64, bool) {
	reads := in.okReads()
	in.rng.Shuffle(len(reads), func(i, j int) { reads[i], reads[j] = reads[j], reads[i] })
	for _, r1 := range reads {
		var r2, r3 *history.Op
		for _, r := range reads {
			if history.Equal(r.Key, r1.Key) && r.Invoke > r1.Complete && (r2 == nil || r.Complete < r2.Complete) {
				r2 = r
			}
		}
		if r2 == nil {
			continue
		}
		for _, r := range reads {
			if history.Equal(r.Key, r1.Key) && r.Invoke > r2.Complete {
				r3 = r
				break
			}
		}
		var a, b *history.Op // ok writes of the key, a invoked before r1 completed, b before r2 did
		for i := range in.h.Ops {
			w := &in.h.Ops[i]
			if w.Type != history.OK || w.F == "read" || !history.Equal(w.Key, r1.Key) {
				continue
			}
			if a == nil && w.Invoke < r1.Complete {
				a = w
			} else if b == nil && w.Invoke < r2.Complete {
				b = w
			}
		}
		if r3 == nil || a == nil || b == nil {
			continue
		}
		in.h.Events[r1.Complete].Value = written(a)
		in.h.Events[r2.Complete].Value = written(b)
		in.h.Events[r3.Complete].Value = written(a)
		return FlipFlop, in.opIndex(r1, r2, r3), true
	}
	return "", nil, false
}

// thinAir is a value no generated operation writes: they write 1, 2, 3...
const thinAir = int64(-7)

func (in *injector) unwrittenRead() (string, []int64, bool) {
	reads := in.okReads()
	if len(reads) == 0 {
		return "", nil, false
	}
	r := reads[in.rng.IntN(len(reads))]
	in.h.Events[r.Complete].Value = thinAir
	return UnwrittenRead, in.opIndex(r), true
}

// appendUnwrittenRead adds a read of a value nothing wrote, by a new
// process, at the end of a history that has no ok read to change.
func (in *injector) appendUnwrittenRead() (string, []int64) {
	p := history.Process(0)
	var key any
	for i := range in.h.Ops {
		p = max(p, in.h.Ops[i].Process+1)
		key = in.h.Ops[i].Key
	}
	n := int64(len(in.h.Events))
	t := history.NoTime
	if n > 0 && in.h.Events[n-1].Time != history.NoTime {
		t = in.h.Events[n-1].Time + 1
	}
	in.h.Events = append(in.h.Events,
		history.Event{Index: n, Type: history.Invoke, Process: p, F: "read", Key: key, HasValue: true, Time: t},
		history.Event{Index: n + 1, Type: history.OK, Process: p, F: "read", Key: key, HasValue: true, Value: thinAir, Time: t})
	return UnwrittenRead, []int64{n + 1}
}
