package workloads

import (
	"math/rand/v2"

	"consist/adapters"
	"consist/checker"
)

// MaxCounterDelta is the largest delta the counter workload adds; deltas
// are drawn from 1 to MaxCounterDelta.
const MaxCounterDelta = 5

// counter is adds of small positive deltas and reads over a few counters:
// one by default, as in Jepsen's counter test, so that every client
// contends on it, which is what exposes lost and doubled increments.
// Reads and adds are drawn 1:1 by default.
type counter struct {
	opts Options
	keys []string
	mix  mix
}

func newCounter(opts Options) (*counter, error) {
	keys, err := keyNames("counter", "c", opts, 1)
	if err != nil {
		return nil, err
	}
	m, err := newMix("counter", "add", opts, mix{reads: 1, updates: 1})
	if err != nil {
		return nil, err
	}
	return &counter{opts: opts, keys: keys, mix: m}, nil
}

func (*counter) Name() string { return "counter" }

// Models: the counter's bounds.
func (*counter) Models() []checker.Model { return []checker.Model{checker.Counter} }

// Final reads every counter.
func (w *counter) Final() []adapters.Op { return readAll(adapters.Counter, w.keys) }

func (w *counter) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, len(w.keys), w.opts.Distribution)
	return &keyedGen{kind: adapters.Counter, update: "add", keys: w.keys, mix: w.mix, rng: rng, pick: pick,
		value: func() int64 { return 1 + rng.Int64N(MaxCounterDelta) }}
}
