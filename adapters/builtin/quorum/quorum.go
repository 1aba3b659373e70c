// Package quorum is a leaderless store replicated by read and write
// quorums, in the style of Dynamo and Cassandra (DeCandia et al.,
// "Dynamo: Amazon's Highly Available Key-value Store", SOSP 2007, §4.5):
// every node holds a replica of every object, and the node a client is
// bound to coordinates the client's operations, waiting for W replicas to
// acknowledge a write and for R replicas to answer a read.
//
// # Design
//
// A replica keeps, per key, one version: a value of package objects and
// its stamp. A stamp is the coordinator's clock reading in nanoseconds
// when it wrote the version, and the coordinator's node to break ties; a
// replica keeps the version of highest stamp it has received (last write
// wins, as Cassandra's timestamps do). The coordinator never stamps below
// a stamp it has seen for the key — on its own replica or in any answer it
// received — so its writes supersede what it read (a hybrid clock: Kulkarni
// et al., "Logical Physical Clocks", OPODIS 2014). With clocks in step,
// a write that begins after another completed gets the higher stamp.
// Replicas write every version to the node's disk before they answer, so
// a restarted node keeps what it acknowledged.
//
//   - A read asks every replica (its own coordinator's answers at once)
//     and, once R have answered, returns the value of highest stamp among
//     them. With Options.ReadRepair it then writes that version back to
//     every replica that answered with an older one, the late answers
//     included (without waiting for acknowledgements, as Dynamo does).
//   - A write (of a register, or the bank's opening balances) is stamped,
//     stored on the coordinator's replica, sent to every other replica,
//     and acknowledged to the client once W replicas (the coordinator's
//     included) stored it.
//   - Every other operation — cas, counter add, set add, list append, bank
//     transfer — reads as a read does, applies itself with package
//     objects' semantics to the value read, and writes the outcome as a
//     write does. A cas whose expected value is not the one read fails
//     before anything is written.
//   - Too few answers within Options.Timeout: a read, or an operation
//     still reading, is refused (not applied: nothing was written); a
//     write is answered with an unknown outcome, since it may have landed
//     on some replicas — and one that did may show up in later reads, or
//     be overwritten, or (without read repair) stay on a minority of
//     replicas for good.
//
// There is no anti-entropy and no hinted handoff: a replica that missed a
// write catches up when a later write of the key reaches it, or through
// read repair.
//
// # Guarantee
//
// Quorums intersect when R + W > N (Gifford, "Weighted voting for
// replicated data", SOSP 1979): every read quorum then holds the latest
// completed write or a version of higher stamp, so a read never misses a
// write that completed before it began, unless that write lost to a
// higher stamp (see below). That alone does not make a register
// linearizable. A write in progress (or one that timed out, partially
// applied) is visible to the reads whose quorum includes a replica it
// reached and invisible to the others: one read returns the new value and
// a later one the old. Gifford's and ABD's remedy (Attiya, Bar-Noy and
// Dolev, JACM 1995) is that a read write its result back to a write
// quorum before it returns; this store's read repair does not wait, so it
// narrows the window without closing it.
//
// Read-modify-write operations are not atomic: two concurrent ones read
// the same version and both succeed, and the one of lower stamp is lost —
// two cas from the same value both succeed, of concurrent counter adds,
// set adds, appends or transfers only one survives. Last write wins on
// skewed clocks loses acknowledged writes too (see Faults).
//
// With R + W ≤ N quorums need not intersect, and reads miss completed
// writes even without faults (R = W = 1: a read answered by its own
// replica only, while the write it should see is on its way).
//
// What holds under every fault: a client is bound to one node, whose
// replica answers its reads first and holds its acknowledged writes, so a
// client reads its own writes or later ones (read-your-writes). With
// R + W > N the final reads, once faults heal and writes stop, agree,
// except on writes of unknown outcome, which some replicas may lack. With
// read repair the coordinator also keeps on its replica the newest
// version it returned, so a client's reads never go back in time
// (monotonic reads). Nothing else: sequential consistency fails without
// any fault, since concurrent cas lose updates; PRAM and causality fail
// whenever an in-progress or partially applied write is seen by one read
// and missed by a later one.
//
// # Faults
//
//   - None: with R + W > N no read misses a write that completed before
//     it began, but reads concurrent with a write disagree, and
//     concurrent read-modify-writes lose updates: linearizability and
//     sequential consistency fail in any run with concurrent cas.
//   - Partitions: a coordinator cut off from W−1 other replicas times its
//     writes out, and they stay on its replica, newest until the key is
//     written again: reads return them or not depending on which
//     replicas answer first — new, then old. A side with fewer than R
//     replicas refuses reads, and cas and other read-modify-writes.
//   - Message loss and latency spikes: writes reach fewer replicas or
//     time out, with the same partial writes; replicas diverge until a
//     later write or a read repair reaches them.
//   - Clock skew: a coordinator never stamps below what it has seen, so
//     skew decides only between writes that race: a node running ahead
//     wins over a later write whose coordinator had not yet seen its
//     version, which is then lost though acknowledged.
//   - Kill and restart: a replica's versions are on its disk; a killed
//     coordinator's writes in flight end unknown, partially applied.
//   - Pause: the paused node's clients time out; the others go on, with
//     the paused replica's answers missing.
package quorum

import (
	"errors"
	"fmt"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
	"consist/history"
)

// DefaultTimeout is how long a coordinator waits for its quorum by
// default.
const DefaultTimeout = 100 * time.Millisecond

// Options configure the store. The number of replicas, N, is the number of
// nodes, cfg.Nodes (default 3).
type Options struct {
	// R is how many replicas must answer a read, the coordinator's own
	// included (default a majority of N, N/2+1: 2 of 3). Values above
	// N are taken as N.
	R int
	// W is how many replicas must store a write before it is
	// acknowledged, the coordinator's own included (default a majority
	// of N). Values above N are taken as N.
	W int
	// ReadRepair makes a read write the version it returned back to the
	// replicas that answered with an older one (default off).
	ReadRepair bool
	// Timeout is how long a coordinator waits for R answers or W
	// acknowledgements (default DefaultTimeout).
	Timeout time.Duration
}

func (o Options) withDefaults(n int) Options {
	if o.R <= 0 {
		o.R = n/2 + 1
	}
	if o.W <= 0 {
		o.W = n/2 + 1
	}
	o.R, o.W = min(o.R, n), min(o.W, n)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	return o
}

// New starts a store of cfg.Nodes nodes (default 3), each a replica of
// every object, all empty.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 3
	}
	opts = opts.withDefaults(cfg.Nodes)
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
}

// stamp orders the versions of a key: by Time, the writing coordinator's
// clock in nanoseconds, then by Node, its index. The zero stamp is that
// of a key never written.
type stamp struct {
	Time int64
	Node int
}

func (s stamp) less(t stamp) bool {
	return s.Time < t.Time || s.Time == t.Time && s.Node < t.Node
}

// version is a replica's value of one key. It is never changed once made.
type version struct {
	Key   any
	Value any
	Stamp stamp
}

// opID names a coordinator's operation: the node's boot and a sequence
// number within it.
type opID struct{ Boot, Seq int64 }

// The messages between nodes. They are never changed once sent.
type (
	// readReq asks a replica for its version of Key.
	readReq struct {
		ID  opID
		Key any
	}
	readResp struct {
		ID      opID
		Version version
	}
	// writeReq asks a replica to store Version; a zero ID (a read
	// repair) wants no acknowledgement.
	writeReq struct {
		ID      opID
		Version version
	}
	// writeAck acknowledges a write: the replica holds Stamp, the
	// write's or a newer one.
	writeAck struct {
		ID    opID
		Stamp stamp
	}
)

// On disk: bootsOnDisk counts the node's boots, keysOnDisk lists the
// canonical keys the replica holds, and versionOnDisk+key holds each
// one's version.
const (
	bootsOnDisk   = "quorum/boots"
	keysOnDisk    = "quorum/keys"
	versionOnDisk = "quorum/version/"
)

type phase uint8

const (
	reading   phase = iota // waiting for R answers
	writing                // waiting for W acknowledgements
	repairing              // answered; repairing late answers
)

// op is an operation the node coordinates.
type op struct {
	id    opID
	req   *simnet.Request
	k     string // the canonical key
	phase phase
	// heard marks the replicas that answered in this phase; count them.
	heard  []bool
	count  int
	newest version // the newest version read
	stale  []int   // replicas that answered with an older version than newest
	result any     // an update's result, once its write began
}

type machine struct {
	opts     Options
	node     *simnet.Node
	self     int
	names    []string
	index    map[string]int
	boot     int64
	seq      int64
	replica  map[string]version // by canonical key
	keys     []string           // replica's keys, as on disk
	seen     map[string]stamp   // the highest stamp seen per key
	inFlight map[opID]*op
}

func (m *machine) Start(n *simnet.Node) {
	m.node, m.self, m.names = n, n.Index(), n.Nodes()
	m.index = map[string]int{}
	for i, name := range m.names {
		m.index[name] = i
	}
	disk := n.Disk()
	m.boot, _ = disk.Get(bootsOnDisk).(int64)
	m.boot++
	disk.Put(bootsOnDisk, m.boot)
	m.replica, m.seen, m.inFlight = map[string]version{}, map[string]stamp{}, map[opID]*op{}
	m.keys, _ = disk.Get(keysOnDisk).([]string)
	for _, k := range m.keys {
		v := disk.Get(versionOnDisk + k).(version)
		m.replica[k], m.seen[k] = v, v.Stamp
	}
}

func (m *machine) Request(req *simnet.Request) {
	m.seq++
	o := &op{id: opID{m.boot, m.seq}, req: req, k: history.Canonical(req.Op.Key)}
	m.inFlight[o.id] = o
	id := o.id
	m.node.After(m.opts.Timeout, func() { m.expire(id) })
	if req.Op.F == "write" {
		next, result, err := objects.Apply(nil, req.Op)
		if err != nil {
			m.finish(o, nil, err)
			return
		}
		m.write(o, next, result)
		return
	}
	m.startPhase(o, reading)
	m.broadcast(readReq{o.id, req.Op.Key})
	m.onRead(o, m.self, m.replica[o.k])
}

func (m *machine) Receive(from string, msg any) {
	p, ok := m.index[from]
	if !ok {
		return
	}
	switch msg := msg.(type) {
	case readReq:
		v := m.replica[history.Canonical(msg.Key)]
		v.Key = msg.Key
		m.node.Send(from, readResp{msg.ID, v})
	case readResp:
		if o := m.inFlight[msg.ID]; o != nil && (o.phase == reading || o.phase == repairing) {
			m.onRead(o, p, msg.Version)
		}
	case writeReq:
		held := m.store(msg.Version)
		if msg.ID != (opID{}) {
			m.node.Send(from, writeAck{msg.ID, held})
		}
	case writeAck:
		if o := m.inFlight[msg.ID]; o != nil && o.phase == writing {
			m.see(o.k, msg.Stamp)
			m.onAck(o, p)
		}
	}
}

// startPhase begins a phase of o: no replica heard yet.
func (m *machine) startPhase(o *op, ph phase) {
	o.phase, o.heard, o.count = ph, make([]bool, len(m.names)), 0
}

// onRead takes replica p's answer v to o's read.
func (m *machine) onRead(o *op, p int, v version) {
	if o.heard[p] {
		return
	}
	o.heard[p] = true
	o.count++
	m.see(o.k, v.Stamp)
	switch {
	case o.count == 1 || o.newest.Stamp.less(v.Stamp):
		o.stale = o.stale[:0]
		for q, h := range o.heard {
			if h && q != p {
				o.stale = append(o.stale, q)
			}
		}
		o.newest = v
	case v.Stamp.less(o.newest.Stamp):
		o.stale = append(o.stale, p)
	}
	if o.phase == repairing {
		m.repair(o)
		if o.count == len(m.names) {
			delete(m.inFlight, o.id)
		}
		return
	}
	if o.count < m.opts.R {
		return
	}
	if o.req.Op.F == "read" {
		o.req.Reply(objects.Read(o.req.Op.Kind, o.newest.Value), nil)
		o.phase = repairing
		if !m.opts.ReadRepair || o.count == len(m.names) {
			delete(m.inFlight, o.id)
		}
		m.repair(o)
		return
	}
	next, result, err := objects.Apply(o.newest.Value, o.req.Op)
	if err != nil {
		m.finish(o, nil, err)
		return
	}
	m.write(o, next, result)
}

// repair writes the newest version o read back to the replicas that
// answered with an older one.
func (m *machine) repair(o *op) {
	if !m.opts.ReadRepair || o.newest.Stamp == (stamp{}) {
		return
	}
	for _, q := range o.stale {
		if q == m.self {
			m.store(o.newest)
		} else {
			m.node.Send(m.names[q], writeReq{Version: o.newest})
		}
	}
	o.stale = o.stale[:0]
}

// write stamps value as the next version of o's key, stores it here and
// sends it to every other replica.
func (m *machine) write(o *op, value, result any) {
	s := stamp{Time: max(m.node.Now().UnixNano(), m.seen[o.k].Time+1), Node: m.self}
	v := version{Key: o.req.Op.Key, Value: value, Stamp: s}
	o.result = result
	m.startPhase(o, writing)
	m.store(v)
	m.broadcast(writeReq{o.id, v})
	m.onAck(o, m.self)
}

func (m *machine) onAck(o *op, p int) {
	if o.heard[p] {
		return
	}
	o.heard[p] = true
	o.count++
	if o.count >= m.opts.W {
		m.finish(o, o.result, nil)
	}
}

// expire ends o when its time is up, if it is still waiting.
func (m *machine) expire(id opID) {
	o := m.inFlight[id]
	if o == nil {
		return
	}
	switch o.phase {
	case reading:
		m.finish(o, nil, adapters.NotApplied(fmt.Sprintf("node %s heard from %d replicas within %v and needs R=%d: too many are down or cut off; retry later", m.node.Name(), o.count, m.opts.Timeout, m.opts.R)))
	case writing:
		m.finish(o, nil, fmt.Errorf("node %s: %d replicas acknowledged the write within %v and it needs W=%d: %w", m.node.Name(), o.count, m.opts.Timeout, m.opts.W, errPartialWrite))
	default:
		delete(m.inFlight, id)
	}
}

// errPartialWrite is the unknown outcome of a write that reached fewer
// than W replicas in time.
var errPartialWrite = errors.New("the write may have landed on some replicas, and may show up in later reads")

// finish answers o's client and forgets o.
func (m *machine) finish(o *op, value any, err error) {
	delete(m.inFlight, o.id)
	o.req.Reply(value, err)
}

func (m *machine) broadcast(msg any) {
	for i, name := range m.names {
		if i != m.self {
			m.node.Send(name, msg)
		}
	}
}

// see notes a stamp seen for the key k.
func (m *machine) see(k string, s stamp) {
	if m.seen[k].less(s) {
		m.seen[k] = s
	}
}

// store keeps v on the replica, on disk first, unless the replica holds
// a version as new; it returns the stamp the replica then holds.
func (m *machine) store(v version) stamp {
	k := history.Canonical(v.Key)
	cur, known := m.replica[k]
	if !cur.Stamp.less(v.Stamp) {
		return cur.Stamp
	}
	disk := m.node.Disk()
	disk.Put(versionOnDisk+k, v)
	if !known {
		m.keys = append(m.keys[:len(m.keys):len(m.keys)], k)
		disk.Put(keysOnDisk, m.keys)
	}
	m.replica[k] = v
	m.see(k, v.Stamp)
	return v.Stamp
}
