package readyourwrites

import (
	"fmt"
	"slices"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/adapters/builtin/simnet"
	"consist/history"
)

// The default timing.
const (
	// DefaultFetch is how often, by default, a follower asks the primary
	// for the log entries it lacks.
	DefaultFetch = 20 * time.Millisecond
	// DefaultWait is how long, by default, a node waits: for a read, to
	// apply the client's last write; for a forwarded operation, for the
	// primary's answer.
	DefaultWait = 100 * time.Millisecond
	// MaxBatch is the most log entries the primary sends in answer to
	// one fetch: a follower far behind catches up batch by batch,
	// fetching the next as soon as one arrives.
	MaxBatch = 16
)

// Options configure the store.
type Options struct {
	// Fetch is how often a follower asks the primary for the log entries
	// it lacks (default DefaultFetch); the primary also pushes each entry
	// as it appends it. A negative period turns fetching off.
	Fetch time.Duration
	// Wait bounds how long a read waits for its node to apply the
	// client's last write, after which it is refused (not applied), and
	// how long a node waits for the primary to answer an operation it
	// forwarded, after which its outcome is unknown (default
	// DefaultWait).
	Wait time.Duration
}

// New returns a primary-backup store of cfg.Nodes nodes (default 3):
// the first node, n1, is the primary.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if opts.Fetch == 0 {
		opts.Fetch = DefaultFetch
	}
	if opts.Wait <= 0 {
		opts.Wait = DefaultWait
	}
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
}

// entry is one write in the primary's log: the object's value after it.
// Its version is its position in the log, from 1.
type entry struct {
	key   any
	value any
}

// forward carries an operation from a follower to the primary.
type forward struct {
	id uint64
	op adapters.Op
}

// outcome answers a forward: the version of the write, or why it was
// not applied.
type outcome struct {
	id      uint64
	version uint64
	result  any
	err     error
}

// entries carries log entries from the primary to a follower, the first
// at version from.
type entries struct {
	from uint64
	list []entry
}

// fetch asks the primary for the entries after the first have.
type fetch struct{ have uint64 }

// On the primary's disk: lengthOnDisk holds the log's length,
// entryOnDisk+version each entry, and outcomeOnDisk+id the outcome of
// each forwarded operation, so that a duplicate is not applied twice.
const (
	lengthOnDisk  = "ryw/length"
	entryOnDisk   = "ryw/entry/"
	outcomeOnDisk = "ryw/outcome/"
)

// reading is a read waiting for its node to apply a version.
type reading struct {
	req     *simnet.Request
	version uint64
}

type machine struct {
	opts    Options
	node    *simnet.Node
	primary string
	log     []entry
	state   map[string]any // by canonical key, the value after log
	// Followers only:
	forwarded map[uint64]*simnet.Request // by id, operations awaiting the primary
	reads     []reading                  // oldest first
}

func (m *machine) isPrimary() bool { return m.node.Name() == m.primary }

func (m *machine) Start(n *simnet.Node) {
	m.node = n
	m.primary = n.Nodes()[0]
	m.state = map[string]any{}
	m.forwarded = map[uint64]*simnet.Request{}
	if m.isPrimary() {
		length, _ := n.Disk().Get(lengthOnDisk).(uint64)
		for v := range length {
			m.apply(n.Disk().Get(entryKey(v + 1)).(entry))
		}
		return
	}
	if m.opts.Fetch > 0 {
		n.After(m.opts.Fetch, m.fetch)
	}
}

func entryKey(version uint64) string { return fmt.Sprintf("%s%d", entryOnDisk, version) }

// apply appends e to the log and applies it to the objects.
func (m *machine) apply(e entry) {
	m.log = append(m.log, e)
	m.state[history.Canonical(e.key)] = e.value
}

func (m *machine) applied() uint64 { return uint64(len(m.log)) }

func (m *machine) Request(req *simnet.Request) {
	last, _ := req.Session.(uint64)
	switch {
	case req.Op.F == "read":
		if m.applied() >= last {
			m.read(req)
			return
		}
		m.reads = append(m.reads, reading{req, last})
		m.node.After(m.opts.Wait, func() {
			if i := slices.IndexFunc(m.reads, func(r reading) bool { return r.req == req }); i >= 0 {
				m.reads = slices.Delete(m.reads, i, i+1)
				req.Reply(nil, adapters.NotApplied(fmt.Sprintf("node %s has not applied the client's last write (version %d) after %v", m.node.Name(), last, m.opts.Wait)))
			}
		})
	case m.isPrimary():
		o := m.execute(0, req.Op)
		answer(req, last, o)
	default:
		id := m.node.Rand().Uint64() | 1 // never 0, the primary's own clients' id
		m.forwarded[id] = req
		m.node.Send(m.primary, forward{id, req.Op})
		m.node.After(m.opts.Wait, func() {
			if m.forwarded[id] == req {
				delete(m.forwarded, id)
				req.Reply(nil, fmt.Errorf("no answer from the primary %s after %v: the operation may still take effect", m.primary, m.opts.Wait))
			}
		})
	}
}

func (m *machine) read(req *simnet.Request) {
	_, result, err := objects.Apply(m.state[history.Canonical(req.Op.Key)], req.Op)
	req.Reply(result, err)
}

// answer replies to a client with an operation's outcome, raising its
// last write to the operation's version.
func answer(req *simnet.Request, last uint64, o outcome) {
	if o.err != nil {
		req.Reply(nil, o.err)
		return
	}
	req.ReplyWith(o.result, nil, max(last, o.version))
}

// execute performs op on the primary, once per id (0 for the primary's
// own clients, whose requests are never duplicated): the log entry is
// on disk before anyone learns of it.
func (m *machine) execute(id uint64, op adapters.Op) outcome {
	disk := m.node.Disk()
	if id != 0 {
		if o, done := disk.Get(fmt.Sprintf("%s%d", outcomeOnDisk, id)).(outcome); done {
			return o
		}
	}
	next, result, err := objects.Apply(m.state[history.Canonical(op.Key)], op)
	o := outcome{id: id, result: result, err: err}
	if err == nil {
		e := entry{key: op.Key, value: next}
		m.apply(e)
		o.version = m.applied()
		disk.Put(entryKey(o.version), e)
		disk.Put(lengthOnDisk, o.version)
		for _, peer := range m.node.Peers() {
			m.node.Send(peer, entries{o.version, []entry{e}})
		}
	}
	if id != 0 {
		disk.Put(fmt.Sprintf("%s%d", outcomeOnDisk, id), o)
	}
	return o
}

func (m *machine) Receive(from string, msg any) {
	switch msg := msg.(type) {
	case forward:
		if m.isPrimary() {
			m.node.Send(from, m.execute(msg.id, msg.op))
		}
	case fetch:
		if m.isPrimary() && msg.have < m.applied() {
			end := min(msg.have+MaxBatch, m.applied())
			m.node.Send(from, entries{msg.have + 1, slices.Clone(m.log[msg.have:end])})
		}
	case outcome:
		if req := m.forwarded[msg.id]; req != nil {
			delete(m.forwarded, msg.id)
			last, _ := req.Session.(uint64)
			answer(req, last, msg)
		}
	case entries:
		if m.isPrimary() || msg.from > m.applied()+1 || msg.from+uint64(len(msg.list)) <= m.applied()+1 {
			return // a gap, to be fetched, or nothing new
		}
		for _, e := range msg.list[m.applied()+1-msg.from:] {
			m.apply(e)
		}
		m.serveReads()
		if len(msg.list) == MaxBatch {
			m.node.Send(m.primary, fetch{m.applied()})
		}
	}
}

// serveReads answers the waiting reads whose version the node has
// applied.
func (m *machine) serveReads() {
	m.reads = slices.DeleteFunc(m.reads, func(r reading) bool {
		if r.version > m.applied() {
			return false
		}
		m.read(r.req)
		return true
	})
}

// fetch asks the primary for what the follower lacks, and comes again.
func (m *machine) fetch() {
	m.node.After(m.opts.Fetch, m.fetch)
	m.node.Send(m.primary, fetch{m.applied()})
}
