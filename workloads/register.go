package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"consist/adapters"
	"consist/checker"
)

// register is read / write / cas over a few keys, every written value
// unique per key so that each read names the write it saw — what
// consist's polynomial checkers need.
type register struct {
	opts Options
	keys []string
	// index numbers the keys.
	index map[string]int
	// next hands out written values, unique across keys.
	next atomic.Int64
}

func newRegister(opts Options) (*register, error) {
	if opts.Keys == 0 {
		opts.Keys = 5
	}
	if opts.Keys < 0 {
		return nil, fmt.Errorf("register workload: %d keys: use at least 1", opts.Keys)
	}
	if opts.Reads < 0 || opts.Writes < 0 || opts.CAS < 0 {
		return nil, fmt.Errorf("register workload: negative mix %d:%d:%d (reads:writes:cas): use weights of 0 or more", opts.Reads, opts.Writes, opts.CAS)
	}
	if opts.Reads+opts.Writes+opts.CAS == 0 {
		opts.Reads, opts.Writes, opts.CAS = 2, 1, 1
	}
	if _, err := newKeyPicker(rand.New(rand.NewPCG(0, 0)), opts.Keys, opts.Distribution); err != nil {
		return nil, fmt.Errorf("register workload: %w", err)
	}
	w := &register{opts: opts, index: map[string]int{}}
	for k := range opts.Keys {
		w.keys = append(w.keys, fmt.Sprintf("k%d", k))
		w.index[w.keys[k]] = k
	}
	return w, nil
}

func (*register) Name() string { return "register" }

// Models: every model that applies to a register history.
func (*register) Models() []checker.Model { return nil }

// Final reads every register.
func (w *register) Final() []adapters.Op { return readAll(adapters.Register, w.keys) }

func (w *register) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, w.opts.Keys, w.opts.Distribution)
	return &registerGen{w: w, rng: rng, pick: pick, seen: make([]any, w.opts.Keys)}
}

type registerGen struct {
	w    *register
	rng  *rand.Rand
	pick keyPicker
	// seen is, per key, the last value this worker read or wrote: the
	// expected value of its next cas there.
	seen []any
}

func (g *registerGen) Next() adapters.Op {
	k := g.pick()
	key := g.w.keys[k]
	o := g.w.opts
	switch n := g.rng.IntN(o.Reads + o.Writes + o.CAS); {
	case n < o.Reads:
		return adapters.Op{F: "read", Key: key}
	case n < o.Reads+o.Writes:
		return adapters.Op{F: "write", Key: key, Value: g.w.next.Add(1)}
	default:
		return adapters.Op{F: "cas", Key: key, Value: []any{g.seen[k], g.w.next.Add(1)}}
	}
}

func (g *registerGen) Done(op adapters.Op, ok bool, value any) {
	if !ok {
		return
	}
	k := g.w.index[op.Key.(string)]
	switch op.F {
	case "read":
		g.seen[k] = value
	case "write":
		g.seen[k] = op.Value
	case "cas":
		g.seen[k] = op.Value.([]any)[1]
	}
}
