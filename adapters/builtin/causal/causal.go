package causal

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/vclock"
	"consist/history"
)

// DefaultAntiEntropy is the default period of anti-entropy rounds.
const DefaultAntiEntropy = 20 * time.Millisecond

// Conflicts is how a node settles concurrent writes to one object.
type Conflicts uint8

// The ways of settling concurrent writes.
const (
	// LastWriterWins keeps, of concurrent writes, the greatest by
	// (sum of its vector clock, writing node's name): a total order of
	// writes that extends causality, the same on every node, so replicas
	// converge (causal+, as in COPS). The default.
	LastWriterWins Conflicts = iota
	// LastApplied keeps the write a node applied last, as causal memory
	// does (Ahamad et al. 1995): each node's order of application is the
	// order its clients observe. Replicas may disagree forever on objects
	// written concurrently.
	LastApplied
)

// String names the policy.
func (c Conflicts) String() string {
	switch c {
	case LastWriterWins:
		return "last-writer-wins"
	case LastApplied:
		return "last-applied"
	}
	return fmt.Sprintf("Conflicts(%d)", uint8(c))
}

// Options configure the store.
type Options struct {
	// AntiEntropy is the period of anti-entropy rounds (default
	// DefaultAntiEntropy); a negative period turns them off, leaving only
	// the broadcast of each write, so a lost message stalls delivery of
	// every write that depends on it.
	AntiEntropy time.Duration
	// Conflicts settles concurrent writes (default LastWriterWins).
	Conflicts Conflicts
}

// New returns a causally consistent store of cfg.Nodes nodes (default 3),
// each holding every object.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if opts.AntiEntropy == 0 {
		opts.AntiEntropy = DefaultAntiEntropy
	}
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
}

// write is one write as its node made it: the object's value after the
// operation and the node's vector clock with the write counted, which
// names the write (node, clock[node]) and says what it depends on.
type write struct {
	key   any
	value any
	node  string
	clock vclock.Clock
}

func (w write) seq() uint64 { return w.clock[w.node] }

// stamp is a write's Lamport timestamp: its clock's sum, greater than the
// stamp of every write it depends on.
func (w write) stamp() uint64 {
	var n uint64
	for _, c := range w.clock {
		n += c
	}
	return n
}

// later orders writes by stamp, then node: a total order extending
// causality, since one node's writes are never concurrent.
func later(a, b write) bool {
	if c := cmp.Compare(a.stamp(), b.stamp()); c != 0 {
		return c > 0
	}
	return a.node > b.node
}

// update carries a new write to a peer.
type update struct{ w write }

// digest tells a peer which writes the sender has applied, so that it
// sends back those the sender lacks.
type digest struct{ applied vclock.Clock }

// batch carries writes a peer lacks.
type batch struct{ writes []write }

// On disk: appliedOnDisk holds the applied clock, logOnDisk+node/seq each
// applied write, keysOnDisk the canonical keys of the objects the node
// holds, and valueOnDisk+key the write each one holds.
const (
	appliedOnDisk = "causal/applied"
	logOnDisk     = "causal/log/"
	keysOnDisk    = "causal/keys"
	valueOnDisk   = "causal/value/"
)

type machine struct {
	opts    Options
	node    *simnet.Node
	applied vclock.Clock                // how many writes of each node this one applied
	log     map[string][]write          // by writing node, the writes applied, in order
	values  map[string]write            // by canonical key, the write each object holds
	keys    []string                    // values' keys, as on disk
	pending map[string]map[uint64]write // by writing node and number, writes waiting for their dependencies
}

func (m *machine) Start(n *simnet.Node) {
	m.node = n
	disk := n.Disk()
	m.applied, _ = disk.Get(appliedOnDisk).(vclock.Clock)
	m.log = map[string][]write{}
	for node, count := range m.applied {
		for seq := range count {
			m.log[node] = append(m.log[node], disk.Get(logKey(node, seq+1)).(write))
		}
	}
	m.values = map[string]write{}
	m.keys, _ = disk.Get(keysOnDisk).([]string)
	for _, k := range m.keys {
		m.values[k] = disk.Get(valueOnDisk + k).(write)
	}
	m.pending = map[string]map[uint64]write{}
	if m.opts.AntiEntropy > 0 {
		n.After(m.opts.AntiEntropy, m.antiEntropy)
	}
}

func logKey(node string, seq uint64) string { return fmt.Sprintf("%s%s/%d", logOnDisk, node, seq) }

func (m *machine) Request(req *simnet.Request) {
	op := req.Op
	k := history.Canonical(op.Key)
	next, result, err := objects.Apply(m.values[k].value, op)
	if err != nil || op.F == "read" {
		req.Reply(result, err)
		return
	}
	w := write{key: op.Key, value: next, node: m.node.Name(), clock: m.applied.Tick(m.node.Name())}
	m.apply(w)
	req.Reply(result, nil)
	for _, peer := range m.node.Peers() {
		m.node.Send(peer, update{w})
	}
}

func (m *machine) Receive(from string, msg any) {
	switch msg := msg.(type) {
	case update:
		m.receive(msg.w)
	case batch:
		for _, w := range msg.writes {
			m.receive(w)
		}
	case digest:
		if out := m.missing(msg.applied); len(out) > 0 {
			m.node.Send(from, batch{out})
		}
	}
}

// receive buffers a write from another node and applies every buffered
// write whose dependencies are now applied.
func (m *machine) receive(w write) {
	if m.applied[w.node] >= w.seq() {
		return
	}
	if m.pending[w.node] == nil {
		m.pending[w.node] = map[uint64]write{}
	}
	m.pending[w.node][w.seq()] = w
	for progress := true; progress; {
		progress = false
		// In the nodes' order, not Go's map order: a simulation must
		// replay the same run from a seed.
		for _, node := range slices.Sorted(maps.Keys(m.pending)) {
			waiting := m.pending[node]
			for {
				next, ok := waiting[m.applied[node]+1]
				if !ok || !m.deliverable(next) {
					break
				}
				delete(waiting, next.seq())
				m.apply(next)
				progress = true
			}
			if len(waiting) == 0 {
				delete(m.pending, node)
			}
		}
	}
}

// deliverable reports whether every write w depends on is applied: the
// writing node's earlier writes, and what that node had applied.
func (m *machine) deliverable(w write) bool {
	for node, n := range w.clock {
		if node != w.node && m.applied[node] < n {
			return false
		}
	}
	return m.applied[w.node] == w.seq()-1
}

// apply makes w visible on this node and durable, the log entry first
// and the applied clock last.
func (m *machine) apply(w write) {
	disk := m.node.Disk()
	disk.Put(logKey(w.node, w.seq()), w)
	m.log[w.node] = append(m.log[w.node], w)
	k := history.Canonical(w.key)
	cur, known := m.values[k]
	if !known || m.opts.Conflicts == LastApplied || later(w, cur) {
		disk.Put(valueOnDisk+k, w)
		m.values[k] = w
		if !known {
			m.keys = append(slices.Clip(m.keys), k)
			disk.Put(keysOnDisk, m.keys)
		}
	}
	m.applied = m.applied.Merge(vclock.Clock{w.node: w.seq()})
	disk.Put(appliedOnDisk, m.applied)
}

// missing returns the writes this node applied that a node with the
// applied clock has not.
func (m *machine) missing(applied vclock.Clock) []write {
	var out []write
	for _, node := range slices.Sorted(maps.Keys(m.log)) {
		writes := m.log[node]
		if n := applied[node]; n < uint64(len(writes)) {
			out = append(out, writes[n:]...)
		}
	}
	return out
}

// antiEntropy sends this node's applied clock to every peer, which answer
// with what it lacks, and comes again.
func (m *machine) antiEntropy() {
	m.node.After(m.opts.AntiEntropy, m.antiEntropy)
	for _, peer := range m.node.Peers() {
		m.node.Send(peer, digest{m.applied})
	}
}
