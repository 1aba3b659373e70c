// Package builtin lists the stores bundled with consist, each a real
// implementation running on the simulated network (package simnet), so
// that consist can show a test end to end with no server installed.
package builtin

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"consist/adapters/builtin/eventual"
	"consist/adapters/builtin/paxos"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
)

// Store describes a bundled store.
type Store struct {
	// Name is the store's name on the command line.
	Name string
	// Summary is its design and guarantee, in a line.
	Summary string
	// Nodes is its default number of nodes.
	Nodes int
	// New starts the store on a simulated network configured by cfg.
	New func(cfg simnet.Config) *simnet.Network
}

// DefaultLatency is the message delay between nodes of a bundled store
// unless configured otherwise: a fast local network.
var DefaultLatency = simnet.Uniform(100*time.Microsecond, time.Millisecond)

var stores = []Store{
	{Name: "single", Summary: "one node applying every operation atomically: the linearizable baseline", Nodes: 1, New: single.New},
	{Name: "paxos", Summary: "a log replicated by Multi-Paxos, reads through the log: linearizable; a minority side of a partition is unavailable, not wrong", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return paxos.New(cfg, paxos.Options{}) }},
	{Name: "eventual", Summary: "asynchronous replication with vector clocks, siblings resolved by last-write-wins on node clocks: eventually consistent, nothing more", Nodes: 3,
		New: func(cfg simnet.Config) *simnet.Network { return eventual.New(cfg, eventual.Options{}) }},
}

// Stores returns the bundled stores, sorted by name.
func Stores() []Store {
	out := slices.Clone(stores)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the bundled stores' names, sorted.
func Names() []string {
	var names []string
	for _, s := range Stores() {
		names = append(names, s.Name)
	}
	return names
}

// Open starts the store called name with seed, on its default number of
// nodes and DefaultLatency.
func Open(name string, seed uint64) (*simnet.Network, error) {
	for _, s := range stores {
		if s.Name == name {
			return s.New(simnet.Config{Nodes: s.Nodes, Seed: seed, Latency: DefaultLatency}), nil
		}
	}
	return nil, fmt.Errorf("no bundled store %q: use one of %v", name, Names())
}
