// Package workloads generates the operations a run sends to a store.
//
// A Workload hands each worker a Generator of its own (so drawing needs no
// lock) and names the consistency models its histories can be judged
// against. Generators draw from a seeded source, so a run's choice of
// operations is reproducible; what the store answers is not. A workload
// may also implement Setup, for operations that prepare its objects, and
// Finisher, for the final reads that end a run.
//
// The workloads: register (read, write, cas), counter (add, read), set
// (add, read) and bank (transfer, read, after a setup write of every
// balance) act on one object per operation; list-append and rw-register
// are Elle's transactional workloads (transactions of appends and reads,
// or writes and reads, over a rotating pool of keys), and on-call is the
// doctors' write-skew example, in transactions too.
package workloads

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"consist/adapters"
	"consist/checker"
)

// Workload describes a kind of traffic.
type Workload interface {
	// Name is the workload's name on the command line.
	Name() string
	// Generator returns worker's generator, drawing from rng.
	Generator(worker int, rng *rand.Rand) Generator
	// Models are the models its histories can be checked against; nil
	// means every model that applies to the history.
	Models() []checker.Model
}

// Setup is implemented by workloads whose objects need a starting state:
// the run performs its operations once, in order, before the workers
// start, and records them in the history like any other (the bank's
// opening balances, say).
type Setup interface {
	Setup() []adapters.Op
}

// Finisher is implemented by workloads that end with final reads: after
// the main phase, once faults are healed, each worker performs the
// operations of Final once, in order, so that checkers which judge what
// the store settled on (convergence, set-full, counter, bank) have reads
// that began after every write.
type Finisher interface {
	Final() []adapters.Op
}

// Assumer is implemented by workloads whose histories are checked under
// an assumption about the store, stated in the checker's options (on-call
// assumes writes follow reads, say). A run records the assumption in
// run.json, and checking the run folder again makes it again.
type Assumer interface {
	// Assume sets the assumptions in opts.
	Assume(opts *checker.Options)
}

// Generator draws one worker's operations.
type Generator interface {
	// Next returns the next operation to perform.
	Next() adapters.Op
	// Done tells the generator what became of an operation it drew: the
	// outcome and, for an ok read, the value read.
	Done(op adapters.Op, ok bool, value any)
}

// Options are the knobs common to the workloads.
type Options struct {
	// Keys is how many keys the operations spread over: registers,
	// counters, sets or lists, or the bank's accounts (default 5; 1 for
	// counter); the active keys of list-append and rw-register (default
	// 5); on-call's doctors (default 3).
	Keys int
	// Distribution picks keys: "uniform" (default) or "zipf".
	Distribution string
	// Reads, Writes and CAS weigh the kinds of operation: for the
	// register reads, writes and cas (default 2:1:1 when all are zero);
	// for the other workloads Writes weighs their update (add, append,
	// transfer; a transactional workload's appends or writes, micro-op
	// by micro-op; on-call's doctors leaving or coming back) against
	// reads, and CAS must be 0.
	Reads, Writes, CAS int
	// MaxTxnLength is the most micro-ops in a transaction of the
	// transactional workloads (list-append, rw-register): each draws
	// 1 to MaxTxnLength (default 4).
	MaxTxnLength int
	// MaxWritesPerKey is how many appends (list-append) or writes
	// (rw-register) a key takes before it is retired and a fresh key
	// takes its place among the active ones (default 32).
	MaxWritesPerKey int
	// MinOnCall is how many doctors the on-call workload's rule keeps on
	// call (default 1).
	MinOnCall int
}

// New returns the workload called name.
func New(name string, opts Options) (Workload, error) {
	switch name {
	case "register":
		return newRegister(opts)
	case "counter":
		return newCounter(opts)
	case "set":
		return newSet(opts)
	case "bank":
		return newBank(opts)
	case "list-append":
		return newListAppend(opts)
	case "rw-register":
		return newRWRegister(opts)
	case "on-call":
		return newOnCall(opts)
	}
	return nil, fmt.Errorf("unknown workload %q: use one of %v", name, Names())
}

// Names lists the workloads New knows, sorted.
func Names() []string {
	names := []string{"register", "counter", "set", "bank", "list-append", "rw-register", "on-call"}
	sort.Strings(names)
	return names
}

// mix is the weights of a workload's reads and updates.
type mix struct{ reads, updates int }

// newMix checks the options' weights for a workload whose update is
// called update, defaulting to def when both are zero.
func newMix(workload, update string, opts Options, def mix) (mix, error) {
	switch {
	case opts.CAS != 0:
		return mix{}, fmt.Errorf("%s workload: it has no cas; set the cas weight to 0", workload)
	case opts.Reads < 0 || opts.Writes < 0:
		return mix{}, fmt.Errorf("%s workload: negative mix %d:%d (reads:%ss): use weights of 0 or more", workload, opts.Reads, opts.Writes, update)
	case opts.Reads+opts.Writes == 0:
		return def, nil
	}
	return mix{opts.Reads, opts.Writes}, nil
}

// read draws whether the next operation is a read.
func (m mix) read(rng *rand.Rand) bool { return rng.IntN(m.reads+m.updates) < m.reads }

// keyNames checks the number of keys (def when 0) and names them
// prefix0, prefix1, ...; it checks the distribution too.
func keyNames(workload, prefix string, opts Options, def int) ([]string, error) {
	n := opts.Keys
	if n == 0 {
		n = def
	}
	if n < 0 {
		return nil, fmt.Errorf("%s workload: %d keys: use at least 1", workload, n)
	}
	if _, err := newKeyPicker(rand.New(rand.NewPCG(0, 0)), n, opts.Distribution); err != nil {
		return nil, fmt.Errorf("%s workload: %w", workload, err)
	}
	names := make([]string, n)
	for k := range names {
		names[k] = fmt.Sprintf("%s%d", prefix, k)
	}
	return names, nil
}

// readAll returns a read of every key, for Final.
func readAll(kind adapters.Kind, keys []string) []adapters.Op {
	ops := make([]adapters.Op, len(keys))
	for i, k := range keys {
		ops[i] = adapters.Op{Kind: kind, F: "read", Key: k}
	}
	return ops
}

// keyPicker draws key indices.
type keyPicker func() int

func newKeyPicker(rng *rand.Rand, n int, distribution string) (keyPicker, error) {
	switch distribution {
	case "", "uniform":
		return func() int { return rng.IntN(n) }, nil
	case "zipf":
		if n == 1 {
			return func() int { return 0 }, nil
		}
		z := rand.NewZipf(rng, 1.1, 1, uint64(n-1))
		return func() int { return int(z.Uint64()) }, nil
	}
	return nil, fmt.Errorf("unknown key distribution %q: use uniform or zipf", distribution)
}

// keyedGen draws reads and updates of randomly picked keys: the generator
// of the counter, set and list-append workloads.
type keyedGen struct {
	kind adapters.Kind
	// update is the function that changes an object; value draws its
	// argument.
	update string
	value  func() int64
	keys   []string
	mix    mix
	rng    *rand.Rand
	pick   keyPicker
}

func (g *keyedGen) Next() adapters.Op {
	key := g.keys[g.pick()]
	if g.mix.read(g.rng) {
		return adapters.Op{Kind: g.kind, F: "read", Key: key}
	}
	return adapters.Op{Kind: g.kind, F: g.update, Key: key, Value: g.value()}
}

// Done: what the store answered does not change what is drawn next.
func (*keyedGen) Done(adapters.Op, bool, any) {}

// KindOf returns the kind of object wl acts on: what its Kind method
// says, if it has one; else the kind of its setup operations, or else of
// the first operation a generator draws (from a throwaway generator, so
// drawing changes nothing).
func KindOf(wl Workload) adapters.Kind {
	if k, ok := wl.(interface{ Kind() adapters.Kind }); ok {
		return k.Kind()
	}
	if s, ok := wl.(Setup); ok {
		if ops := s.Setup(); len(ops) > 0 {
			return ops[0].Kind
		}
	}
	return wl.Generator(0, rand.New(rand.NewPCG(0, 0))).Next().Kind
}
