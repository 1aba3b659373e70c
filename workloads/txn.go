package workloads

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"consist/adapters"
	"consist/checker"
	"consist/checker/txn"
)

// Defaults of the transactional workloads, Elle's (elle.txn/wr-txns uses
// 32 writes per key; Jepsen's suites commonly run transactions of up to 4
// micro-ops).
const (
	DefaultMaxTxnLength    = 4
	DefaultMaxWritesPerKey = 32
)

// TxnModels are the models the transactional checker judges: what the
// list-append and rw-register workloads are checked against.
func TxnModels() []checker.Model { return txn.Checker{}.Models() }

// keyPool is the rotating pool of keys of Elle's transactional
// generators (elle.txn/wr-txns, which list-append and rw-register share):
// a fixed number of active keys, integers; each takes at most maxWrites
// writes (appends), numbered 1, 2, ... so that every value written to a
// key is unique, and when a write would exceed that the key is retired
// and a fresh key, one above any used before, takes its place. The pool
// is shared by every worker, so that their transactions contend on the
// same keys; a lock guards it.
type keyPool struct {
	maxWrites int64

	mu     sync.Mutex
	active []int64
	// writes counts the writes drawn on each active key.
	writes map[int64]int64
	fresh  int64
}

func newKeyPool(keys, maxWrites int) *keyPool {
	p := &keyPool{maxWrites: int64(maxWrites), writes: map[int64]int64{}, fresh: int64(keys)}
	for k := range keys {
		p.active = append(p.active, int64(k))
	}
	return p
}

// Active returns the active keys.
func (p *keyPool) Active() []any {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]any, len(p.active))
	for i, k := range p.active {
		out[i] = k
	}
	return out
}

// txnOptions checks the options of a transactional workload called name
// and fills in their defaults.
func txnOptions(name, update string, opts Options) (Options, mix, error) {
	if opts.Keys == 0 {
		opts.Keys = 5
	}
	if opts.MaxTxnLength == 0 {
		opts.MaxTxnLength = DefaultMaxTxnLength
	}
	if opts.MaxWritesPerKey == 0 {
		opts.MaxWritesPerKey = DefaultMaxWritesPerKey
	}
	switch {
	case opts.Keys < 0:
		return opts, mix{}, fmt.Errorf("%s workload: %d keys: use at least 1", name, opts.Keys)
	case opts.MaxTxnLength < 0:
		return opts, mix{}, fmt.Errorf("%s workload: a max transaction length of %d: use at least 1 micro-op", name, opts.MaxTxnLength)
	case opts.MaxWritesPerKey < 0:
		return opts, mix{}, fmt.Errorf("%s workload: %d max writes per key: use at least 1", name, opts.MaxWritesPerKey)
	}
	if _, err := newKeyPicker(rand.New(rand.NewPCG(0, 0)), opts.Keys, opts.Distribution); err != nil {
		return opts, mix{}, fmt.Errorf("%s workload: %w", name, err)
	}
	// Elle draws reads and writes alike.
	m, err := newMix(name, update, opts, mix{reads: 1, updates: 1})
	return opts, m, err
}

// txnWorkload is Elle's transactional workload over a key pool: each
// transaction is 1 to MaxTxnLength micro-ops, each a read ("r") or an
// update (update: "append" or "w") of an active key; the final phase reads
// every active key in one transaction.
type txnWorkload struct {
	name, update string
	opts         Options
	mix          mix
	pool         *keyPool
}

func newTxnWorkload(name, update string, opts Options) (*txnWorkload, error) {
	opts, m, err := txnOptions(name, update, opts)
	if err != nil {
		return nil, err
	}
	return &txnWorkload{name: name, update: update, opts: opts, mix: m, pool: newKeyPool(opts.Keys, opts.MaxWritesPerKey)}, nil
}

func (w *txnWorkload) Name() string { return w.name }

// Models: the transactional checker's.
func (*txnWorkload) Models() []checker.Model { return TxnModels() }

// Kind is Txn.
func (*txnWorkload) Kind() adapters.Kind { return adapters.Txn }

// Final reads every active key, in one transaction.
func (w *txnWorkload) Final() []adapters.Op {
	keys := w.pool.Active()
	mops := make([]adapters.MicroOp, len(keys))
	for i, k := range keys {
		mops[i] = adapters.MicroOp{F: "r", Key: k}
	}
	return []adapters.Op{{Kind: adapters.Txn, F: "txn", Value: mops}}
}

func (w *txnWorkload) Generator(_ int, rng *rand.Rand) Generator {
	pick, _ := newKeyPicker(rng, w.opts.Keys, w.opts.Distribution)
	return &txnGen{w: w, rng: rng, pick: pick}
}

type txnGen struct {
	w    *txnWorkload
	rng  *rand.Rand
	pick keyPicker
}

// Next draws a transaction as elle.txn/wr-txns does: a length, then each
// micro-op's function and key; an update of a key that has had its
// writes retires the key and draws again.
func (g *txnGen) Next() adapters.Op {
	w, p := g.w, g.w.pool
	n := 1 + g.rng.IntN(w.opts.MaxTxnLength)
	mops := make([]adapters.MicroOp, 0, n)
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(mops) < n {
		i := g.pick()
		k := p.active[i]
		if w.mix.read(g.rng) {
			mops = append(mops, adapters.MicroOp{F: "r", Key: k})
			continue
		}
		if p.writes[k] >= p.maxWrites {
			delete(p.writes, k)
			p.active[i] = p.fresh
			p.fresh++
			continue
		}
		p.writes[k]++
		mops = append(mops, adapters.MicroOp{F: w.update, Key: k, Value: p.writes[k]})
	}
	return adapters.Op{Kind: adapters.Txn, F: "txn", Value: mops}
}

// Done: what the store answered does not change what is drawn next.
func (*txnGen) Done(adapters.Op, bool, any) {}
