// Package eventual is an eventually consistent store in the style of
// Dynamo and Riak (DeCandia et al., "Dynamo: Amazon's Highly Available
// Key-value Store", SOSP 2007): every node takes reads and writes on its
// own, and replication catches up afterwards.
//
// # Design
//
// Each node holds, per key, a set of siblings: versions of the object,
// each a value, a vector clock (see vclock.Clock), the writing node's clock
// reading and its name. No sibling descends from another; they are the
// concurrent versions the node knows of.
//
//   - A read is local: the node resolves its siblings into one value with
//     Options.Resolve (by default LastWriteWins) and returns it — or, when
//     Options.Read is set, returns what Options.Read makes of them (see
//     Siblings mode below).
//   - Every other operation (write, cas, counter add, set add, list
//     append, bank transfer) applies, with package objects' semantics, to
//     the resolved local value, and stores the outcome as a new version
//     whose clock is the merge of the siblings' clocks ticked at this node,
//     so it supersedes them all. The node writes it to its disk and
//     acknowledges at once, then pushes the version to every peer.
//   - A node receiving a version drops it when one of its siblings equals
//     or descends from it; otherwise it adds it and drops the siblings it
//     supersedes. Concurrent versions stay side by side. Merging is
//     idempotent and commutative, so lost, duplicated and reordered
//     messages do no harm.
//   - Anti-entropy: every Options.AntiEntropy each node pushes its whole
//     state (every key's siblings) to one peer drawn at random, which
//     merges it as above. This repairs what lost messages, partitions and
//     crashes left behind. Dynamo exchanges Merkle trees to send only what
//     differs; the full state is simpler and small at test sizes.
//   - Every change is written to the node's disk before it is acted on,
//     so a restarted node comes back with every version it held.
//
// # Siblings mode
//
// With Options.Read set to Siblings, reads show every concurrent version,
// as Riak does with allow_mult: a read of an object with one sibling
// returns its value, and a read of one with several returns the distinct
// values in a []any, sorted as a set's read is. Every other operation
// still acts on the value Options.Resolve makes of the siblings (by
// default the last write's), so a write, cas, add or append never acts
// on the list a read shows; a write or a successful cas supersedes every
// sibling it saw, which is how a client resolves them. A cas whose
// expected value is a list that a read returned fails. The mode is meant
// for registers: for them a list of siblings is a value no one wrote, so
// register checkers report each such read as a read of an unwritten value
// — the anomaly this mode makes visible, where last-write-wins hides it by
// silently discarding acknowledged writes. Writes on two nodes within the
// replication lag are enough: with no fault at all, every register model
// but convergence is invalid (the nodes still agree in the end, on the
// same list). For other kinds the list holds the kind's values — counts,
// sets — which their checkers do not accept.
//
// # Guarantee
//
// Eventual consistency (Vogels, "Eventually Consistent", CACM 52(1),
// 2009): once writes stop and every node can reach every other, directly
// or through others, all nodes come to hold the same siblings and so all
// reads of a key return the same value. Nothing stronger. The store is
// not linearizable, nor sequentially consistent: a read on one node
// misses writes acknowledged by another until they arrive — for the
// length of a partition, and even without faults for the replication
// lag.
//
// Read-modify-write operations act on the local replica, so concurrent
// ones lose updates, and that is expected of this store: two cas from the
// same value on two nodes both succeed, and of concurrent counter adds,
// set adds, appends or transfers only those in the version that wins the
// resolution survive. Last-write-wins likewise discards every concurrent
// acknowledged write but one.
//
// # Faults
//
//   - None: reads on other nodes are stale for the replication lag;
//     concurrent read-modify-writes on different nodes lose updates.
//   - Partitions: both sides accept writes; reads across the cut are
//     stale until it heals; then the concurrent versions meet and
//     last-write-wins keeps one, losing the acknowledged others.
//   - Clock skew: decides which concurrent write wins. A node running
//     ahead wins with writes older in real time; one running behind loses
//     writes newer in real time. A write that saw another (its clock
//     descends from the other's) still supersedes it, whatever the clocks.
//   - Message delay lengthens the replication lag; a lost message delays
//     convergence until the next anti-entropy round; duplication and
//     reordering do no harm.
//   - Kill and restart: acknowledged writes survive on the node that took
//     them, but a node that died before its pushes went out hides them
//     from the others until it returns. Requests in flight at the crash
//     end unknown.
//   - Pause: the node's clients time out (unknown outcomes); their
//     requests are served on resume.
package eventual

import (
	"maps"
	"slices"
	"strings"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/vclock"
	"consist/history"
)

// DefaultAntiEntropy is the default period of anti-entropy rounds.
const DefaultAntiEntropy = 50 * time.Millisecond

// Options configure the store.
type Options struct {
	// AntiEntropy is the period of anti-entropy rounds (default
	// DefaultAntiEntropy); a negative period turns them off, leaving
	// only the push of each write, so lost messages are never repaired.
	AntiEntropy time.Duration
	// Resolve turns a key's siblings into the value reads return and
	// other operations act on (default LastWriteWins).
	Resolve Resolver
	// Read, when set, turns a key's siblings into the value reads return
	// in place of Resolve, which other operations still act on: set it
	// to Siblings to see every concurrent version. A Read resolver may
	// return a value of another shape than the object's (Siblings
	// returns a list), since nothing acts on it.
	Read Resolver
}

// Version is one version of an object, as written by one node.
type Version struct {
	// Value is the object's value; it is never changed.
	Value any
	// Clock is the version's vector clock.
	Clock vclock.Clock
	// Time is the writing node's clock when it wrote the version.
	Time time.Time
	// Node names the writing node.
	Node string
}

// Resolver decides what an object holds when a node has one or more
// siblings for it: the value a read returns and that other operations
// act on (as Options.Read, only the value a read returns). siblings holds
// at least one version, ordered by Time and then Node, earliest first,
// and must not be changed. kind is the kind of object the operation acts
// on.
type Resolver func(kind adapters.Kind, siblings []Version) any

// LastWriteWins resolves siblings to the value of the latest: the one
// with the latest Time, the writing node's clock, and between equal
// times the greatest Node name. One node's versions are never
// concurrent, so this is a total order.
func LastWriteWins(_ adapters.Kind, siblings []Version) any {
	return slices.MaxFunc(siblings, byTimestamp).Value
}

// Siblings resolves a key's siblings, for reads (Options.Read), to every
// concurrent version: the value, as a read of kind shows it, when every
// sibling holds the same one, and otherwise the distinct values in a
// []any sorted as package objects sorts a set (integers first, by value,
// then the rest by canonical encoding). Use it as Options.Read, not as
// Options.Resolve: other operations would then act on the list.
func Siblings(kind adapters.Kind, siblings []Version) any {
	var values any // the distinct values, as a sorted set
	for _, s := range siblings {
		values, _, _ = objects.Apply(values, adapters.Op{Kind: adapters.Set, F: "add", Value: objects.Read(kind, s.Value)})
	}
	if list, _ := values.([]any); len(list) == 1 {
		return list[0]
	}
	return values
}

// byTimestamp orders versions by Time, then Node.
func byTimestamp(a, b Version) int {
	if c := a.Time.Compare(b.Time); c != 0 {
		return c
	}
	return strings.Compare(a.Node, b.Node)
}

// New returns an eventually consistent store of cfg.Nodes nodes (default
// 3), each holding every object.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if opts.AntiEntropy == 0 {
		opts.AntiEntropy = DefaultAntiEntropy
	}
	if opts.Resolve == nil {
		opts.Resolve = LastWriteWins
	}
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
}

// entry is one object on a node: its key and its siblings. Entries are
// values: a change makes a new one.
type entry struct {
	key      any
	siblings []Version
}

// update carries a new version of an object to a peer.
type update struct {
	key     any
	version Version
}

// snapshot is a node's whole state, by canonical key: what an
// anti-entropy round sends.
type snapshot map[string]entry

// On disk, keysOnDisk holds the canonical keys of every object the node
// holds, and entryOnDisk+key each one's entry.
const (
	keysOnDisk  = "eventual/keys"
	entryOnDisk = "eventual/entry/"
)

type machine struct {
	opts  Options
	node  *simnet.Node
	state map[string]entry // by canonical key
	keys  []string         // state's keys, as on disk
}

func (m *machine) Start(n *simnet.Node) {
	m.node = n
	m.state = map[string]entry{}
	m.keys, _ = n.Disk().Get(keysOnDisk).([]string)
	for _, k := range m.keys {
		m.state[k] = n.Disk().Get(entryOnDisk + k).(entry)
	}
	if m.opts.AntiEntropy > 0 {
		n.After(m.opts.AntiEntropy, m.antiEntropy)
	}
}

func (m *machine) Request(req *simnet.Request) {
	op := req.Op
	k := history.Canonical(op.Key)
	siblings := m.state[k].siblings
	var cur any
	if len(siblings) > 0 {
		if op.F == "read" && m.opts.Read != nil {
			req.Reply(m.opts.Read(op.Kind, siblings), nil)
			return
		}
		cur = m.opts.Resolve(op.Kind, siblings)
	}
	next, result, err := objects.Apply(cur, op)
	if err != nil || op.F == "read" {
		req.Reply(result, err)
		return
	}
	var clock vclock.Clock
	for _, s := range siblings {
		clock = clock.Merge(s.Clock)
	}
	v := Version{Value: next, Clock: clock.Tick(m.node.Name()), Time: m.node.Now().Round(0), Node: m.node.Name()}
	m.put(k, entry{key: op.Key, siblings: []Version{v}})
	req.Reply(result, nil)
	for _, peer := range m.node.Peers() {
		m.node.Send(peer, update{key: op.Key, version: v})
	}
}

func (m *machine) Receive(_ string, msg any) {
	switch msg := msg.(type) {
	case update:
		m.merge(msg.key, msg.version)
	case snapshot:
		for _, e := range msg {
			m.merge(e.key, e.siblings...)
		}
	}
}

// merge adds versions of the object under key to its siblings.
func (m *machine) merge(key any, versions ...Version) {
	k := history.Canonical(key)
	siblings := m.state[k].siblings
	changed := false
	for _, v := range versions {
		var added bool
		siblings, added = reconcile(siblings, v)
		changed = changed || added
	}
	if changed {
		m.put(k, entry{key: key, siblings: siblings})
	}
}

// reconcile returns siblings with v added and the versions v supersedes
// removed, or siblings themselves, and false, when one of them equals or
// supersedes v.
func reconcile(siblings []Version, v Version) ([]Version, bool) {
	for _, s := range siblings {
		if s.Clock.Descends(v.Clock) {
			return siblings, false
		}
	}
	out := make([]Version, 0, len(siblings)+1)
	for _, s := range siblings {
		if !v.Clock.Descends(s.Clock) {
			out = append(out, s)
		}
	}
	out = append(out, v)
	slices.SortFunc(out, byTimestamp)
	return out, true
}

// put replaces the entry of canonical key k, on disk and in memory.
func (m *machine) put(k string, e entry) {
	disk := m.node.Disk()
	disk.Put(entryOnDisk+k, e)
	if _, known := m.state[k]; !known {
		m.keys = append(slices.Clip(m.keys), k)
		disk.Put(keysOnDisk, m.keys)
	}
	m.state[k] = e
}

// antiEntropy pushes the node's state to a random peer, and comes again.
func (m *machine) antiEntropy() {
	m.node.After(m.opts.AntiEntropy, m.antiEntropy)
	peers := m.node.Peers()
	if len(peers) == 0 || len(m.state) == 0 {
		return
	}
	m.node.Send(peers[m.node.Rand().IntN(len(peers))], snapshot(maps.Clone(m.state)))
}
