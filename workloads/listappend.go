package workloads

import (
	"math/rand/v2"
	"sync/atomic"

	"consist/adapters"
	"consist/checker"
)

// listAppend is appends of unique integers to a few lists, and reads of a
// whole list (1 read to 3 appends by default; 5 lists). Each read names
// every append it saw, in order, which is what Elle-style checkers infer
// dependencies from.
type listAppend struct {
	opts Options
	keys []string
	mix  mix
	// next hands out appended values, unique across lists.
	next atomic.Int64
}

func newListAppend(opts Options) (*listAppend, error) {
	keys, err := keyNames("list-append", "l", opts, 5)
	if err != nil {
		return nil, err
	}
	m, err := newMix("list-append", "append", opts, mix{reads: 1, updates: 3})
	if err != nil {
		return nil, err
	}
	return &listAppend{opts: opts, keys: keys, mix: m}, nil
}

func (*listAppend) Name() string { return "list-append" }

// Models: none yet names the list histories. No checker of consist judges
// single-object list appends today: the linearizability checker's
// key-value strings (get, put, append) are not lists read whole. The
// histories are for the transactional (Elle-style) checkers to come; until
// then every applicable model is tried, and the verdict is honestly
// unknown.
func (*listAppend) Models() []checker.Model { return nil }

// Final reads every list.
func (w *listAppend) Final() []adapters.Op { return readAll(adapters.List, w.keys) }

func (w *listAppend) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, len(w.keys), w.opts.Distribution)
	return &keyedGen{kind: adapters.List, update: "append", keys: w.keys, mix: w.mix, rng: rng, pick: pick,
		value: func() int64 { return w.next.Add(1) }}
}
