package simnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"consist/adapters"
)

// Node is one node of the network as its machine sees it: its name and
// peers, a way to send messages and set timers, its clock, a seeded source
// of randomness and a disk. A Node's methods are for its machine, called
// from the node's goroutine.
type Node struct {
	net   *Network
	name  string
	index int
	disk  *Disk
	skew  atomic.Int64

	mu      sync.Mutex // guards the fields below
	state   nodeState
	epoch   uint64 // counts boots; events of an earlier boot are dropped
	machine Machine
	queue   []event
	wake    chan struct{}
	pending map[*Request]struct{}
	rng     *rand.Rand
	// draining: in virtual time, a drain of the queue is scheduled.
	draining bool
}

type nodeState uint8

const (
	up nodeState = iota
	frozen
	down
)

// Name returns the node's name.
func (nd *Node) Name() string { return nd.name }

// Index returns the node's position among the nodes, from 0.
func (nd *Node) Index() int { return nd.index }

// Peers returns the names of the other nodes.
func (nd *Node) Peers() []string {
	var out []string
	for _, name := range nd.net.names {
		if name != nd.name {
			out = append(out, name)
		}
	}
	return out
}

// Nodes returns every node's name, this one's included.
func (nd *Node) Nodes() []string { return nd.net.Nodes() }

// Send sends msg to the node named to (or to itself). msg must not be
// changed after it is sent: every copy delivered is the same value.
func (nd *Node) Send(to string, msg any) {
	nd.net.send(nd, nd.currentEpoch(), to, msg)
}

// After runs f on the node's goroutine once d has passed, unless the node
// crashed in the meantime; a paused node runs it when resumed.
func (nd *Node) After(d time.Duration, f func()) {
	epoch := nd.currentEpoch()
	nd.net.after(d, func() { nd.enqueueAt(epoch, event{timer: f}) })
}

// Now returns the node's clock: true time (virtual or real) plus the
// node's skew.
func (nd *Node) Now() time.Time {
	return nd.net.now().Add(time.Duration(nd.skew.Load()))
}

// Rand returns the node's source of randomness, seeded from the
// network's seed, the node and its boot.
func (nd *Node) Rand() *rand.Rand { return nd.rng }

// Disk returns the node's durable storage, which survives crashes.
func (nd *Node) Disk() *Disk { return nd.disk }

func (nd *Node) currentEpoch() uint64 {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.epoch
}

func (nd *Node) current(epoch uint64) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.epoch == epoch && nd.state != down
}

// boot starts the node on a fresh machine.
func (nd *Node) boot() {
	nd.mu.Lock()
	nd.epoch++
	nd.state = up
	nd.queue = nil
	nd.wake = make(chan struct{}, 1)
	nd.pending = map[*Request]struct{}{}
	nd.rng = rand.New(rand.NewPCG(nd.net.cfg.Seed, uint64(nd.index)<<32|nd.epoch))
	nd.machine = nd.net.factory(nd.name)
	epoch, wake, m := nd.epoch, nd.wake, nd.machine
	nd.queue = append(nd.queue, event{start: true})
	nd.mu.Unlock()
	if nd.net.sched == nil {
		go nd.loop(epoch, wake, m)
	}
	nd.mu.Lock()
	nd.wakeLocked()
	nd.mu.Unlock()
}

// loop runs the machine of one boot: it handles queued events until the
// node crashes.
func (nd *Node) loop(epoch uint64, wake chan struct{}, m Machine) {
	var batch []event
	for range wake {
		for {
			nd.mu.Lock()
			if nd.epoch != epoch || nd.state != up {
				nd.mu.Unlock()
				if nd.isDown(epoch) {
					return
				}
				break // paused: wait to be woken
			}
			batch, nd.queue = nd.queue, batch[:0]
			nd.mu.Unlock()
			if len(batch) == 0 {
				break
			}
			for _, ev := range batch {
				if !nd.runs(epoch) {
					break
				}
				nd.handle(m, ev)
			}
			clear(batch)
		}
	}
}

// drain handles, in virtual time, the events queued for the node: the
// event loop's counterpart of loop.
func (nd *Node) drain() {
	nd.mu.Lock()
	nd.draining = false
	if nd.state != up {
		nd.mu.Unlock()
		return
	}
	epoch, m, batch := nd.epoch, nd.machine, nd.queue
	nd.queue = nil
	nd.mu.Unlock()
	for _, ev := range batch {
		if !nd.runs(epoch) {
			break
		}
		nd.handle(m, ev)
	}
}

func (nd *Node) isDown(epoch uint64) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.epoch != epoch || nd.state == down
}

// runs reports whether the boot epoch may go on handling events.
func (nd *Node) runs(epoch uint64) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.epoch == epoch && nd.state == up
}

// event is something for a machine to handle: exactly one of its fields
// is set.
type event struct {
	start   bool
	from    string // with msg
	msg     any
	request *Request
	timer   func()
}

func (nd *Node) handle(m Machine, ev event) {
	switch {
	case ev.start:
		m.Start(nd)
	case ev.request != nil:
		m.Request(ev.request)
	case ev.timer != nil:
		ev.timer()
	default:
		m.Receive(ev.from, ev.msg)
	}
}

func (nd *Node) enqueue(ev event) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.state == down {
		return
	}
	nd.queue = append(nd.queue, ev)
	nd.wakeLocked()
}

func (nd *Node) enqueueAt(epoch uint64, ev event) {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.epoch != epoch || nd.state == down {
		return
	}
	nd.queue = append(nd.queue, ev)
	nd.wakeLocked()
}

func (nd *Node) wakeLocked() {
	if nd.net.sched != nil {
		if !nd.draining {
			nd.draining = true
			nd.net.sched.After(0, nd.drain)
		}
		return
	}
	select {
	case nd.wake <- struct{}{}:
	default:
	}
}

// stop takes the node down: its queue and timers are dropped and every
// request it holds ends with err.
func (nd *Node) stop(err error) {
	nd.mu.Lock()
	if nd.state == down {
		nd.mu.Unlock()
		return
	}
	nd.state = down
	nd.epoch++
	nd.queue = nil
	pending := nd.pending
	nd.pending = nil
	if nd.net.sched == nil {
		close(nd.wake)
	}
	nd.mu.Unlock()
	for req := range pending {
		req.finish(result{err: err})
	}
}

// Disk is a node's durable storage: what a machine puts there survives a
// crash. It is safe for concurrent use.
type Disk struct {
	mu   sync.Mutex
	data map[string]any
}

// Get returns the value stored under key, or nil.
func (d *Disk) Get(key string) any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.data[key]
}

// Put stores value under key, durably.
func (d *Disk) Put(key string, value any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.data[key] = value
}

// Request is a client's operation on its way to an answer.
type Request struct {
	// Op is the operation the client asked for.
	Op adapters.Op
	// Session is the client's session state, as the store's machines
	// last returned it with ReplyWith: a session token, the versions the
	// client has seen. It is nil for a new client. Treat it as immutable.
	Session any
	node    *Node
	reply   chan result
	done    atomic.Bool
	back    time.Duration // in virtual time, the answer's way back
}

type result struct {
	value      any
	err        error
	session    any
	newSession bool
}

// Reply answers the request: the value read (or nil) and an error
// classified as adapters.Outcome does. Only the first reply counts; it may
// come from any node's machine. The client's session state is unchanged.
func (r *Request) Reply(value any, err error) {
	r.answer(result{value: value, err: err})
}

// ReplyWith answers the request as Reply does and gives the client a new
// session state, which it sends with its next request.
func (r *Request) ReplyWith(value any, err error, session any) {
	r.answer(result{value: value, err: err, session: session, newSession: true})
}

func (r *Request) answer(res result) {
	if r.finish(res) {
		r.node.mu.Lock()
		delete(r.node.pending, r)
		r.node.mu.Unlock()
	}
}

func (r *Request) finish(res result) bool {
	if !r.done.CompareAndSwap(false, true) {
		return false
	}
	if s := r.node.net.sched; s != nil {
		s.After(r.back, func() { r.reply <- res; s.Poke() })
		return true
	}
	r.reply <- res
	return true
}

var errConnectionLost = errors.New("connection lost: the node crashed with the request in flight")

// client sends its process's operations to one node. Its process is
// single-threaded, so its requests take turns on one reply channel, which
// Do leaves empty whatever becomes of a request.
type client struct {
	node    *Node
	reply   chan result
	session any
}

func (c *client) Close() error { return nil }

// Do hands op to the node and waits for its answer. A node that is down
// refuses the connection: the operation certainly did not happen. A
// context that ends first leaves the outcome unknown.
func (c *client) Do(ctx context.Context, op adapters.Op) (any, error) {
	nd := c.node
	req := &Request{Op: op, Session: c.session, node: nd, reply: c.reply}
	if s := nd.net.sched; s != nil {
		return c.doVirtual(ctx, s, req)
	}
	nd.mu.Lock()
	if nd.state == down {
		nd.mu.Unlock()
		return nil, adapters.NotApplied(fmt.Sprintf("connection refused: node %s is down", nd.name))
	}
	nd.pending[req] = struct{}{}
	nd.queue = append(nd.queue, event{request: req})
	nd.wakeLocked()
	nd.mu.Unlock()
	select {
	case r := <-req.reply:
		return c.take(r)
	case <-ctx.Done():
		if req.done.CompareAndSwap(false, true) {
			nd.mu.Lock()
			delete(nd.pending, req)
			nd.mu.Unlock()
			return nil, fmt.Errorf("no answer from node %s: %w", nd.name, ctx.Err())
		}
		return c.take(<-req.reply)
	}
}

// doVirtual is Do in virtual time. The request and its answer each
// travel with a latency drawn as messages' are (clients' links are never
// cut), so that every operation takes virtual time; each request has a
// reply channel of its own, so that an answer arriving after the client
// gave up on it is dropped.
func (c *client) doVirtual(ctx context.Context, s Scheduler, req *Request) (any, error) {
	nd, net := c.node, c.node.net
	req.reply = make(chan result, 1)
	nd.mu.Lock()
	isDown := nd.state == down
	nd.mu.Unlock()
	if isDown {
		refused := false
		s.After(RefusedAfter, func() { refused = true; s.Poke() })
		s.Block(ctx, func() bool { return refused })
		return nil, adapters.NotApplied(fmt.Sprintf("connection refused: node %s is down", nd.name))
	}
	net.mu.Lock()
	there := net.latency.Draw(net.rng)
	req.back = net.latency.Draw(net.rng)
	net.mu.Unlock()
	s.After(there, func() {
		nd.mu.Lock()
		if nd.state == down {
			nd.mu.Unlock()
			req.finish(result{err: adapters.NotApplied(fmt.Sprintf("connection refused: node %s is down", nd.name))})
			return
		}
		nd.pending[req] = struct{}{}
		nd.queue = append(nd.queue, event{request: req})
		nd.wakeLocked()
		nd.mu.Unlock()
	})
	s.Block(ctx, func() bool { return len(req.reply) > 0 })
	select {
	case r := <-req.reply:
		return c.take(r)
	default:
	}
	if req.done.CompareAndSwap(false, true) {
		nd.mu.Lock()
		delete(nd.pending, req)
		nd.mu.Unlock()
	}
	return nil, fmt.Errorf("no answer from node %s: %w", nd.name, ctx.Err())
}

// take returns an answer, keeping the session state it brings.
func (c *client) take(r result) (any, error) {
	if r.newSession {
		c.session = r.session
	}
	return r.value, r.err
}
