// Package crdt is a store of state-based conflict-free replicated data
// types (Shapiro, Preguiça, Baquero and Zawirski, "Conflict-free
// Replicated Data Types", SSS 2011; the specifications cited are from
// its technical report, INRIA RR-7687): every node takes every update on
// its own, and replicas converge by merging their states, whatever order
// the states arrive in, however often.
//
// # The types
//
// Each type is a join semilattice: a state, a partial order (Leq, the
// paper's compare) and Merge, the least upper bound — commutative,
// associative and idempotent — so that lost, duplicated and reordered
// messages do no harm. Updates only move a state up.
//
//   - GCounter, a grow-only counter, and PNCounter, a pair of them for
//     increments and decrements. The store keeps every counter in a
//     PNCounter: one that is only incremented, as the counter workload's
//     are, is exactly a G-Counter, its decrements empty.
//   - LWWRegister, a last-writer-wins register, ordered by timestamp.
//   - ORSet, an observed-remove (add-wins) set with unique tags and
//     tombstones. The store adds only, as adapters.Set asks; the type
//     removes as well.
//
// # The store
//
//   - Objects map to types by kind: Counter to PNCounter, Set to ORSet,
//     Register to LWWRegister. Each kind has its own keys. A CRDT store
//     holds no lists or banks: their operations fail (not applied).
//   - Every operation is local. A read returns the node's own state: a
//     counter's value, a set's sorted elements, a register's value (nil
//     never written). An update applies to the node's state, which the
//     node writes to its disk and then acknowledges at once; a restarted
//     node comes back with every state it held.
//   - After each update the node pushes its whole state (every object) to
//     every peer; every Options.AntiEntropy it pushes it again to one
//     peer drawn at random, which repairs what lost messages, partitions
//     and crashes left behind. A node receiving a state merges it into
//     its own, object by object. Shipping whole states is the paper's
//     state-based replication; in one process a state is a pointer, so
//     it costs a merge, not a copy.
//   - A register write is stamped with the node's hybrid clock (Kulkarni
//     et al., "Logical Physical Clocks", OPODIS 2014): the node's clock
//     in nanoseconds, or one more than the greatest register timestamp
//     the node has seen or issued, whichever is greater; the node's name
//     breaks ties. So a write supersedes every write its node had seen,
//     whatever the clocks — the timestamps extend causality, which
//     Specification 8 asks for.
//   - cas is a local read-modify-write: it compares the node's own value
//     with the expected one and, if they are equal, writes the new one
//     there. Two nodes can both succeed from the same value; the write
//     with the greater timestamp survives.
//
// # Guarantee
//
// Strong eventual consistency (the paper's Theorem 2.1): nodes that have
// received the same updates, in any order, hold the same state, so once
// updates stop and the network heals, every read of an object returns the
// same value. No acknowledged add to a counter or a set is lost; of
// concurrent register writes, last-writer-wins keeps one. Per kind, as
// consist's checkers judge it (each claim was measured under every kind
// of fault):
//
//   - Counters: a read counts every add its own node acknowledged before
//     it, and never more than was attempted, but it misses adds
//     acknowledged at other nodes until their states arrive. The counter
//     checker's lower bound asks every read to see every add acknowledged
//     anywhere before it began, so counter is invalid, even with no fault
//     (reads too low, never too high). The final reads count every add.
//   - Sets: every acknowledged element stays in the set and every read
//     returns only added elements: set-full holds.
//   - Registers: whole states travel, so every state a node holds includes
//     everything the states it merged included — it is causally closed —
//     and only grows; a client talks to one node (as consist's runner
//     binds it); and timestamps extend
//     causality. So every read returns the latest write, by timestamp, of
//     its causal past: causal convergence (Bouajjani, Enea, Guerraoui and
//     Hamza, "On Verifying Causal Consistency", POPL 2017), with
//     read-your-writes, monotonic reads, and convergence. With writes
//     alone, causal memory, PRAM, monotonic writes and writes-follow-reads
//     hold too. But cas is not atomic across nodes: two nodes can both
//     succeed from the same value, a lost update, and the checkers of
//     causal memory, PRAM, monotonic writes and writes-follow-reads, which
//     take a cas for one atomic read and write, report it whenever some
//     process goes on to see both writes. That happens by chance, when two
//     cas race within the replication lag, more often under pauses.
//
// Reads are local, so nothing stronger: registers are neither
// linearizable nor sequentially consistent, even with no fault, since a
// read misses writes acknowledged at other nodes for the replication lag.
//
// # Faults
//
//   - None: reads at other nodes lag by the replication delay (here about
//     a millisecond), which is enough to break the counter bound,
//     linearizability and sequential consistency.
//   - Partitions: each side takes updates and reads its own; reads across
//     the cut lag for as long as it lasts; after it heals the states meet
//     and agree, every add counted and every element present.
//   - Clock skew decides which of two concurrent register writes wins,
//     never whether a write that saw another supersedes it.
//   - Pause: the node's clients wait, and are served on resume, when the
//     node stamps their writes with its clock of then: a queued cas that
//     succeeds on the frozen state wins over writes other nodes made in
//     the meantime from the same value — the likeliest way to see the cas
//     anomaly above.
//   - Kill and restart: nothing acknowledged is lost (it is on disk); a
//     node that is down refuses requests (not applied), and requests in
//     flight at the crash end unknown. Latency and loss lengthen the lag.
package crdt

import (
	"fmt"
	"maps"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/history"
)

// DefaultAntiEntropy is the default period of anti-entropy rounds.
const DefaultAntiEntropy = 50 * time.Millisecond

// Options configure the store.
type Options struct {
	// AntiEntropy is the period of anti-entropy rounds (default
	// DefaultAntiEntropy); a negative period turns them off, leaving only
	// the push after each update, so lost messages are repaired by the
	// next update only.
	AntiEntropy time.Duration
}

// New returns a CRDT store of cfg.Nodes nodes (default 3), each holding
// every object.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if opts.AntiEntropy == 0 {
		opts.AntiEntropy = DefaultAntiEntropy
	}
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
}

// object is one replicated object: its key and its state, a PNCounter,
// an ORSet or an LWWRegister.
type object struct {
	key   any
	state any
}

// states is a node's objects by id (see objectID). A states map is never
// changed once made: a change makes a new one, so it can be sent to peers
// and put on disk as it is.
type states map[string]object

// objectID names the object of kind k under key: each kind has its own
// keys.
func objectID(k adapters.Kind, key any) string { return k.String() + "/" + history.Canonical(key) }

// durable is what a node keeps on disk.
type durable struct {
	objects states
	// tags counts the set adds the node made, so that its tags stay
	// unique across restarts.
	tags uint64
}

const onDisk = "crdt/state"

type machine struct {
	opts    Options
	node    *simnet.Node
	objects states
	tags    uint64
	// clock is the greatest register timestamp the node has seen or
	// issued: its hybrid clock's logical part.
	clock int64
}

func (m *machine) Start(n *simnet.Node) {
	m.node = n
	d, _ := n.Disk().Get(onDisk).(durable)
	m.objects, m.tags = d.objects, d.tags
	if m.objects == nil {
		m.objects = states{}
	}
	for _, o := range m.objects {
		m.observe(o.state)
	}
	if m.opts.AntiEntropy > 0 {
		n.After(m.opts.AntiEntropy, m.antiEntropy)
	}
}

func (m *machine) Request(req *simnet.Request) {
	op := req.Op
	id := objectID(op.Kind, op.Key)
	next, result, err := m.apply(m.objects[id].state, op)
	if err != nil || next == nil {
		req.Reply(result, err)
		return
	}
	m.store(states{id: {key: op.Key, state: next}})
	req.Reply(result, nil)
	for _, peer := range m.node.Peers() {
		m.node.Send(peer, m.objects)
	}
}

// apply performs op on the state of its object (nil if the node has none)
// and returns the next state (nil if op changes nothing) and what op
// returns.
func (m *machine) apply(state any, op adapters.Op) (next, result any, err error) {
	switch op.Kind {
	case adapters.Counter:
		c, _ := state.(PNCounter)
		switch op.F {
		case "read":
			return nil, c.Value(), nil
		case "add":
			delta, ok := op.Value.(int64)
			if !ok {
				return nil, nil, adapters.NotApplied(fmt.Sprintf("a counter adds integers, not %s", history.Describe(op.Value)))
			}
			return c.Add(m.node.Name(), delta), nil, nil
		}
	case adapters.Set:
		s, _ := state.(ORSet)
		switch op.F {
		case "read":
			return nil, s.Elements(), nil
		case "add":
			m.tags++
			return s.Add(op.Value, Tag{Node: m.node.Name(), Seq: m.tags}), nil, nil
		}
	case adapters.Register:
		r, _ := state.(LWWRegister)
		switch op.F {
		case "read":
			return nil, r.Value(), nil
		case "write":
			return m.write(r, op.Value), nil, nil
		case "cas":
			pair, ok := op.Value.([]any)
			if !ok || len(pair) != 2 {
				return nil, nil, adapters.NotApplied(fmt.Sprintf("cas needs [expected, new], got %s", history.Describe(op.Value)))
			}
			if !history.Equal(r.Value(), pair[0]) {
				return nil, nil, adapters.NotApplied(fmt.Sprintf("cas expected %s, found %s", history.Describe(pair[0]), history.Describe(r.Value())))
			}
			return m.write(r, pair[1]), nil, nil
		}
	case adapters.List, adapters.Bank:
		return nil, nil, adapters.NotApplied("a CRDT store does not hold lists or banks")
	}
	return nil, nil, adapters.NotApplied(fmt.Sprintf("a %s does not support %q", op.Kind, op.F))
}

// write writes value to r at the node's hybrid clock.
func (m *machine) write(r LWWRegister, value any) LWWRegister {
	next := r.Write(value, max(m.node.Now().UnixNano(), m.clock+1), m.node.Name())
	m.observe(next)
	return next
}

// observe advances the hybrid clock past a register's timestamp.
func (m *machine) observe(state any) {
	if r, ok := state.(LWWRegister); ok {
		m.clock = max(m.clock, r.time)
	}
}

func (m *machine) Receive(_ string, msg any) {
	in, ok := msg.(states)
	if !ok {
		return
	}
	changed := states{}
	for id, o := range in {
		cur, known := m.objects[id]
		if !known {
			changed[id] = o
			continue
		}
		if merged, grew := merge(cur.state, o.state); grew {
			changed[id] = object{key: cur.key, state: merged}
		}
	}
	if len(changed) > 0 {
		m.store(changed)
	}
}

// merge returns the least upper bound of two states of one object, and
// whether it is above a.
func merge(a, b any) (any, bool) {
	switch a := a.(type) {
	case PNCounter:
		return join(a, b)
	case ORSet:
		return join(a, b)
	case LWWRegister:
		return join(a, b)
	}
	return a, false
}

// lattice is a state-based CRDT: a join semilattice.
type lattice[T any] interface {
	Leq(T) bool
	Merge(T) T
}

func join[T lattice[T]](a T, b any) (any, bool) {
	bt, ok := b.(T)
	if !ok || bt.Leq(a) {
		return a, false
	}
	return a.Merge(bt), true
}

// store replaces the objects given, on disk and then in memory.
func (m *machine) store(changed states) {
	next := make(states, len(m.objects)+len(changed))
	maps.Copy(next, m.objects)
	for id, o := range changed {
		next[id] = o
		m.observe(o.state)
	}
	m.node.Disk().Put(onDisk, durable{objects: next, tags: m.tags})
	m.objects = next
}

// antiEntropy pushes the node's state to a random peer, and comes again.
func (m *machine) antiEntropy() {
	m.node.After(m.opts.AntiEntropy, m.antiEntropy)
	peers := m.node.Peers()
	if len(peers) == 0 || len(m.objects) == 0 {
		return
	}
	m.node.Send(peers[m.node.Rand().IntN(len(peers))], m.objects)
}
