package workloads

import (
	"math/rand/v2"
	"sync/atomic"

	"consist/adapters"
	"consist/checker"
)

// set is adds of unique integers to a few sets, and reads of a whole set
// (1 read to 3 adds by default; 5 sets). A read returns every element, so
// reads grow with the run: bound long runs with --ops or --rate.
type set struct {
	opts Options
	keys []string
	mix  mix
	// next hands out elements, unique across sets.
	next atomic.Int64
}

func newSet(opts Options) (*set, error) {
	keys, err := keyNames("set", "s", opts, 5)
	if err != nil {
		return nil, err
	}
	m, err := newMix("set", "add", opts, mix{reads: 1, updates: 3})
	if err != nil {
		return nil, err
	}
	return &set{opts: opts, keys: keys, mix: m}, nil
}

func (*set) Name() string { return "set" }

// Models: set-full. Convergence judges registers only.
func (*set) Models() []checker.Model { return []checker.Model{checker.SetFull} }

// Final reads every set.
func (w *set) Final() []adapters.Op { return readAll(adapters.Set, w.keys) }

func (w *set) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, len(w.keys), w.opts.Distribution)
	return &keyedGen{kind: adapters.Set, update: "add", keys: w.keys, mix: w.mix, rng: rng, pick: pick,
		value: func() int64 { return w.next.Add(1) }}
}
