// Package workloads generates the operations a run sends to a store.
//
// A Workload hands each worker a Generator of its own (so drawing needs no
// lock) and names the consistency models its histories can be judged
// against. Generators draw from a seeded source, so a run's choice of
// operations is reproducible; what the store answers is not.
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
	// Keys is how many keys the operations spread over (default 5).
	Keys int
	// Distribution picks keys: "uniform" (default) or "zipf".
	Distribution string
	// Reads, Writes and CAS weigh the register's kinds of operation
	// (default 2:1:1 when all are zero).
	Reads, Writes, CAS int
}

// New returns the workload called name.
func New(name string, opts Options) (Workload, error) {
	switch name {
	case "register":
		return newRegister(opts)
	}
	return nil, fmt.Errorf("unknown workload %q: use one of %v", name, Names())
}

// Names lists the workloads New knows, sorted.
func Names() []string {
	names := []string{"register"}
	sort.Strings(names)
	return names
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
