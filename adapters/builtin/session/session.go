package session

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
	"consist/history"
)

// The default timing.
const (
	// DefaultAntiEntropy is the default period of anti-entropy rounds.
	DefaultAntiEntropy = 50 * time.Millisecond
	// DefaultWait is how long, by default, a request waits for a node to
	// catch up with its session, and a node for an object's home node to
	// answer a write it forwarded.
	DefaultWait = 100 * time.Millisecond
)

// Options configure the store.
type Options struct {
	// AntiEntropy is the period of anti-entropy rounds (default
	// DefaultAntiEntropy); a negative period turns them off, leaving
	// only the push of each write, so lost messages are never repaired.
	AntiEntropy time.Duration
	// Wait bounds how long a request waits for a node to hold what its
	// session has seen, after which it is refused (not applied), and how
	// long a node waits for an object's home node to answer a write it
	// forwarded, after which its outcome is unknown (default
	// DefaultWait).
	Wait time.Duration
}

// New returns a store of cfg.Nodes nodes (default 3), each holding every
// object, that keeps the four session guarantees for every client.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if opts.AntiEntropy == 0 {
		opts.AntiEntropy = DefaultAntiEntropy
	}
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
}

// Home returns the node, of nodes, that performs every write of the
// object key: a hash of the key picks it.
func Home(key any, nodes []string) string {
	h := fnv.New32a()
	h.Write([]byte(history.Canonical(key)))
	return nodes[h.Sum32()%uint32(len(nodes))]
}

// deps names versions of objects: for each object by canonical key, a
// version number, standing for that version and every earlier one.
// Deps are values: merge returns a new one.
type deps map[string]uint64

// merge returns the least deps that cover d, e and version n of the
// object k.
func (d deps) merge(e deps, k string, n uint64) deps {
	out := maps.Clone(d)
	if out == nil {
		out = deps{}
	}
	for k, n := range e {
		out[k] = max(out[k], n)
	}
	out[k] = max(out[k], n)
	return out
}

// version is an object's value after one of its writes. Its number is
// the write's position among the object's writes, which its home node
// made one at a time; writes and follows are the dependencies of the
// write (see the package documentation).
type version struct {
	n     uint64
	value any
	// writes: the writing session's earlier writes (monotonic writes).
	writes deps
	// follows: the versions the writing session had read or made by a
	// read-modify-write, and what those followed, transitively
	// (writes-follow-reads).
	follows deps
}

// object is an object as a node holds it: the latest version it knows.
type object struct {
	key     any
	k       string // history.Canonical(key)
	version version
}

// token is a session's state, carried by its client between requests.
type token struct {
	// need: what the session's next operation must see: its own writes,
	// the versions it read, and their writes and follows.
	need deps
	// writes and follows become the deps of the session's next write.
	writes, follows deps
}

// read returns t after reading o.
func (t token) read(o object) token {
	v := o.version
	return token{need: t.need.merge(v.writes.merge(v.follows, o.k, v.n), o.k, v.n), writes: t.writes, follows: t.follows.merge(v.follows, o.k, v.n)}
}

// wrote returns t after writing o; rmw says whether the write read the
// object first (a cas, say), which then counts, with its write, among
// what the session's later writes follow.
func (t token) wrote(o object, rmw bool) token {
	k, n := o.k, o.version.n
	t = token{need: t.need.merge(nil, k, n), writes: t.writes.merge(nil, k, n), follows: t.follows}
	if rmw {
		t.follows = t.follows.merge(nil, k, n)
	}
	return t
}

// forward carries a write from a client's node to the object's home
// node.
type forward struct {
	id      uint64
	op      adapters.Op
	session token
}

// outcome answers a forward: the result, the session's new token and the
// version made, which the client's node takes in before it answers; or
// why the write was not applied.
type outcome struct {
	id      uint64
	object  object
	result  any
	err     error
	session token
}

// On disk, keysOnDisk holds the canonical keys of the objects the node
// holds, objectOnDisk+key each one, and outcomeOnDisk+id the outcome of
// each write the node performed as a home node for another, so that a
// duplicated forward is answered, not applied twice.
const (
	keysOnDisk    = "session/keys"
	objectOnDisk  = "session/object/"
	outcomeOnDisk = "session/outcome/"
)

// request is an operation to perform for a session: from a client of
// the node, or forwarded by another node.
type request struct {
	op      adapters.Op
	session token
	answer  func(result any, err error, session token, o object)
}

type machine struct {
	opts      Options
	node      *simnet.Node
	state     map[string]object          // by canonical key
	keys      []string                   // state's keys, as on disk
	waiting   []*request                 // requests whose session the node does not cover yet, oldest first
	forwarded map[uint64]*simnet.Request // by id, writes awaiting their home node
}

func (m *machine) Start(n *simnet.Node) {
	m.node = n
	m.state = map[string]object{}
	m.forwarded = map[uint64]*simnet.Request{}
	m.keys, _ = n.Disk().Get(keysOnDisk).([]string)
	for _, k := range m.keys {
		m.state[k] = n.Disk().Get(objectOnDisk + k).(object)
	}
	if m.opts.AntiEntropy > 0 {
		n.After(m.opts.AntiEntropy, m.antiEntropy)
	}
}

func (m *machine) Request(req *simnet.Request) {
	t, _ := req.Session.(token)
	op := req.Op
	if home := Home(op.Key, m.node.Nodes()); op.F != "read" && home != m.node.Name() {
		id := m.node.Rand().Uint64()
		m.forwarded[id] = req
		m.node.Send(home, forward{id, op, t})
		m.node.After(m.opts.Wait, func() {
			if m.forwarded[id] == req {
				delete(m.forwarded, id)
				req.Reply(nil, fmt.Errorf("no answer from %s, the home node of %s, after %v: the write may still take effect", home, history.Describe(op.Key), m.opts.Wait))
			}
		})
		return
	}
	m.handle(&request{op: op, session: t, answer: func(result any, err error, session token, _ object) {
		if err != nil {
			req.Reply(result, err)
		} else {
			req.ReplyWith(result, nil, session)
		}
	}})
}

// handle performs r once the node covers its session, or refuses it
// after Options.Wait.
func (m *machine) handle(r *request) {
	if m.covers(r.session) {
		m.perform(r)
		m.retry()
		return
	}
	m.waiting = append(m.waiting, r)
	m.node.After(m.opts.Wait, func() {
		if i := slices.Index(m.waiting, r); i >= 0 {
			m.waiting = slices.Delete(m.waiting, i, i+1)
			r.answer(nil, adapters.NotApplied(fmt.Sprintf("node %s has not caught up with the session after %v", m.node.Name(), m.opts.Wait)), token{}, object{})
		}
	})
}

// covers reports whether the node holds everything session needs.
func (m *machine) covers(session token) bool {
	for k, n := range session.need {
		if m.state[k].version.n < n {
			return false
		}
	}
	return true
}

// perform performs r on the node's objects: a read on any node, any
// other operation on the object's home node only.
func (m *machine) perform(r *request) {
	t, op := r.session, r.op
	k := history.Canonical(op.Key)
	cur, known := m.state[k]
	next, result, err := objects.Apply(cur.version.value, op)
	if err != nil {
		r.answer(result, err, t, object{})
		return
	}
	if known && op.F != "write" { // reads, cas and other read-modify-writes
		t = t.read(cur)
	}
	if op.F == "read" {
		r.answer(result, nil, t, object{})
		return
	}
	o := object{key: op.Key, k: k, version: version{n: cur.version.n + 1, value: next, writes: t.writes, follows: t.follows}}
	m.put(o)
	r.answer(result, nil, t.wrote(o, op.F != "write"), o)
	for _, peer := range m.node.Peers() {
		m.node.Send(peer, o)
	}
}

func (m *machine) Receive(from string, msg any) {
	switch msg := msg.(type) {
	case object: // a new version, or anti-entropy
		m.merge(msg)
	case forward:
		m.execute(from, msg)
	case outcome:
		if req := m.forwarded[msg.id]; req != nil {
			delete(m.forwarded, msg.id)
			if msg.err != nil {
				req.Reply(nil, msg.err)
				break
			}
			m.merge(msg.object)
			req.ReplyWith(msg.result, nil, msg.session)
		}
	}
	m.retry()
}

// execute performs a forwarded write, once per id, and answers the node
// that forwarded it.
func (m *machine) execute(from string, f forward) {
	disk := m.node.Disk()
	onDisk := fmt.Sprintf("%s%d", outcomeOnDisk, f.id)
	if o, done := disk.Get(onDisk).(outcome); done {
		m.node.Send(from, o)
		return
	}
	m.handle(&request{op: f.op, session: f.session, answer: func(result any, err error, session token, o object) {
		out := outcome{id: f.id, object: o, result: result, err: err, session: session}
		disk.Put(onDisk, out)
		m.node.Send(from, out)
	}})
}

// merge takes in a version of an object from a peer, if it is newer than
// the node's.
func (m *machine) merge(o object) {
	if o.version.n > m.state[o.k].version.n {
		m.put(o)
	}
}

// retry performs the waiting requests the node now covers, oldest first.
func (m *machine) retry() {
	for i := 0; i < len(m.waiting); {
		if r := m.waiting[i]; m.covers(r.session) {
			m.waiting = slices.Delete(m.waiting, i, i+1)
			m.perform(r)
			i = 0 // a write may cover more
			continue
		}
		i++
	}
}

// put replaces an object, on disk and in memory.
func (m *machine) put(o object) {
	disk := m.node.Disk()
	disk.Put(objectOnDisk+o.k, o)
	if _, known := m.state[o.k]; !known {
		m.keys = append(slices.Clip(m.keys), o.k)
		disk.Put(keysOnDisk, m.keys)
	}
	m.state[o.k] = o
}

// antiEntropy sends each object, in a message of its own, to a peer
// drawn at random, and comes again.
func (m *machine) antiEntropy() {
	m.node.After(m.opts.AntiEntropy, m.antiEntropy)
	peers := m.node.Peers()
	if len(peers) == 0 {
		return
	}
	for _, k := range m.keys {
		m.node.Send(peers[m.node.Rand().IntN(len(peers))], m.state[k])
	}
}
