// Package histgen generates seeded register histories from a simulated
// store, for the tests and benchmarks of the checkers.
//
// A run is a discrete-event simulation in virtual time. Config.Processes
// clients each issue one operation at a time (read, write or cas of one of
// Config.Keys registers), with a random think time between operations and a
// random latency per operation, so many operations are concurrent and their
// events interleave as they would against a real store. Every operation
// takes effect at one instant strictly between its invocation and its
// completion; what it observes at that instant depends on the Store:
//
//   - Linearizable: one copy of every register; each operation acts on it
//     atomically. The histories are linearizable.
//   - Stale: writes and cas act atomically on a primary, but a read may
//     return an older version; see Stale for what it still guarantees.
//   - Eventual: one replica per client, propagating writes asynchronously
//     with random delays, last writer wins; see Eventual.
//
// Like Jepsen, the generator lets operations crash: a fraction
// Config.CrashRate of them end with an info completion. The process that
// ran it is retired and its client continues under a fresh process id. A
// crashed read has no effect; a crashed write or cas takes effect with
// probability one half, at a random time within 20ms (virtual) of its
// invocation, possibly after its info completion but always before the
// final reads (Config.FinalReads), or never.
//
// Values written are unique per key: each key has a counter and every
// write or cas writes the counter's next value, 1, 2, 3, ... A cas expects
// the register's current value with probability Config.CASMatch and an
// earlier value otherwise, so some succeed and some fail.
//
// The same Config always yields the same events.
package histgen

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"consist/history"
)

// Store is the kind of store the simulation runs against.
type Store uint8

// The stores.
const (
	// Linearizable acts on one copy of each register: every operation
	// takes effect atomically at a random instant between its invocation
	// and its completion.
	Linearizable Store = iota
	// Stale acts on a primary that holds every version of each register.
	// Writes and cas take effect atomically on the primary, so writes are
	// linearizable. A read takes effect like any other operation, but with
	// probability Config.StaleRate returns an older version: at most
	// Config.MaxLag versions behind the primary, one that was overwritten
	// at most Config.Delay before the read took effect, and never older
	// than the read's causal floor. The causal floor of a session holds,
	// per key, the newest version in its causal past: the versions it
	// wrote or read, and the causal floors those versions were written
	// with.
	//
	// What that guarantees, by construction: the primary's version order
	// is a total order of the writes that respects causality, and every
	// read returns the newest write of its key in its causal past (its own
	// read-from included), which is causal convergence (CCv, Bouajjani et
	// al., POPL 2017); read-your-writes, monotonic reads, monotonic writes
	// and writes-follow-reads hold across keys; and one key at a time the
	// histories are sequentially consistent. They are not linearizable,
	// and across keys need not be sequentially consistent; causal memory
	// (CM) is not claimed. Their version lag (as checker/staleness
	// measures it) is at most MaxLag and their time lag at most Delay. A
	// client that continues after a crash starts a new session with an
	// empty floor.
	Stale
	// Eventual runs one replica per client (Config.Replicas). A client
	// reads and writes its own replica, except that with probability
	// Config.SwitchRate an operation is served by another replica chosen
	// at random. A write takes effect on the serving replica at once and
	// reaches each other replica after an independent random delay of at
	// most Config.Delay, so writes arrive reordered; with probability
	// Config.DropRate a delivery is lost. Replicas resolve conflicts by
	// last writer wins on the time the write took effect, so each replica
	// only moves forward, and once every delivery has arrived, all agree:
	// with DropRate 0 the store is eventually consistent (convergent). A
	// cas compares with the serving replica's value, so two cas from the
	// same value may both succeed. Switching replicas breaks
	// read-your-writes and monotonic reads; reordered delivery breaks
	// monotonic writes and writes-follow-reads across keys. Events carry
	// the serving replica as Node ("n1", "n2", ...).
	Eventual
)

var storeNames = [...]string{Linearizable: "linearizable", Stale: "stale", Eventual: "eventual"}

// String returns "linearizable", "stale" or "eventual".
func (s Store) String() string {
	if int(s) < len(storeNames) {
		return storeNames[s]
	}
	return fmt.Sprintf("Store(%d)", s)
}

// Config describes a generated history. The zero value of a field means
// its default, as documented on the field.
type Config struct {
	// Seed seeds every random choice.
	Seed uint64
	// Store is the kind of store simulated; the default is Linearizable.
	Store Store
	// Processes is the number of concurrent clients (default 5).
	Processes int
	// Ops is the number of operations the clients invoke in total
	// (default 1000), final reads excluded.
	Ops int
	// Keys is the number of registers, named "k0", "k1", ... (default 1).
	Keys int
	// Reads, Writes and CAS weigh the mix of operations; they need not
	// sum to 1. All zero means 0.5, 0.3 and 0.2.
	Reads, Writes, CAS float64
	// CASMatch is the probability that a cas expects the register's
	// current value (as the store serving it sees it at invocation); the
	// default is 0.5, a negative value means never. A cas on a register
	// never written is issued as a write instead.
	CASMatch float64
	// CrashRate is the fraction of operations that end with an info
	// completion, from 0 (the default) to 1.
	CrashRate float64
	// Timestamps sets every event's Time, in nanoseconds of virtual time
	// since the run began, non-decreasing in event order. Without it
	// every Time is history.NoTime.
	Timestamps bool
	// FinalReads ends the run, after every operation has completed, every
	// crashed write that takes effect has done so, and a quiet period
	// longer than Delay, with one read of every key by every client
	// (Processes × Keys reads, which never crash), as a convergence check
	// needs. On every store these final reads of a key agree, unless
	// DropRate is positive. (Reads of the main phase that began after a
	// key's last write may still lag on the Stale and Eventual stores, and
	// checker/convergence counts them as final too.)
	FinalReads bool
	// StaleRate is the probability that a read of the Stale store returns
	// an older version, when one is allowed (default 0.3; a negative value
	// means never).
	StaleRate float64
	// MaxLag is the most versions a read of the Stale store lags behind
	// (default 3).
	MaxLag int
	// Delay bounds how long a version of the Stale store stays readable
	// after it was overwritten, and how long a write of the Eventual store
	// takes to reach another replica (default 5ms).
	Delay time.Duration
	// Replicas is the number of replicas of the Eventual store (default:
	// one per client, Processes).
	Replicas int
	// SwitchRate is the probability that an operation on the Eventual
	// store is served by a replica other than its client's own (default
	// 0.05; a negative value means never).
	SwitchRate float64
	// DropRate is the probability that the Eventual store loses a write's
	// delivery to one replica (default 0), which keeps replicas from
	// converging.
	DropRate float64
}

// Virtual timing, in nanoseconds.
const (
	minLatency  = 20_000    // fastest operation
	maxLatency  = 1_000_000 // usual slowest operation
	slowLatency = 8_000_000 // a slow operation's latency bound
	slowRate    = 0.02      // fraction of slow operations
	maxThink    = 100_000   // most time a client waits between operations
	lateHorizon = 20_000_000
)

// withDefaults fills in defaults and validates cfg.
func (c Config) withDefaults() (Config, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		} else if *v < 0 {
			*v = 0
		}
	}
	def(&c.Processes, 5)
	def(&c.Ops, 1000)
	def(&c.Keys, 1)
	def(&c.MaxLag, 3)
	def(&c.Replicas, c.Processes)
	if c.Reads == 0 && c.Writes == 0 && c.CAS == 0 {
		c.Reads, c.Writes, c.CAS = 0.5, 0.3, 0.2
	}
	deff(&c.CASMatch, 0.5)
	deff(&c.StaleRate, 0.3)
	deff(&c.SwitchRate, 0.05)
	if c.Delay == 0 {
		c.Delay = 5 * time.Millisecond
	}
	var errs []error
	if c.Store > Eventual {
		errs = append(errs, fmt.Errorf("store %v: use Linearizable, Stale or Eventual", c.Store))
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"Processes", c.Processes}, {"Ops", c.Ops}, {"Keys", c.Keys}, {"MaxLag", c.MaxLag}, {"Replicas", c.Replicas}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s is %d: use a positive number, or 0 for the default", n.name, n.v))
		}
	}
	if c.Reads < 0 || c.Writes < 0 || c.CAS < 0 {
		errs = append(errs, fmt.Errorf("operation mix %v/%v/%v: weights must not be negative", c.Reads, c.Writes, c.CAS))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"CrashRate", c.CrashRate}, {"CASMatch", c.CASMatch}, {"StaleRate", c.StaleRate}, {"SwitchRate", c.SwitchRate}, {"DropRate", c.DropRate}} {
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("%s is %v: use a fraction from 0 to 1", f.name, f.v))
		}
	}
	if c.Delay < 0 {
		errs = append(errs, fmt.Errorf("Delay is %v: use a positive duration, or 0 for the default", c.Delay))
	}
	if err := errors.Join(errs...); err != nil {
		return c, fmt.Errorf("histgen: %w", err)
	}
	return c, nil
}

// Generate simulates the store cfg describes and returns the history's
// events in order, Index set to each event's position. It fails only on an
// invalid Config.
func Generate(cfg Config) ([]history.Event, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := newSim(cfg)
	s.run()
	return s.events, nil
}

// New generates a history and pairs it with history.New; its Source names
// the store and the seed.
func New(cfg Config) (*history.History, error) {
	events, err := Generate(cfg)
	if err != nil {
		return nil, err
	}
	return history.New(fmt.Sprintf("histgen(store=%v, seed=%d)", cfg.Store, cfg.Seed), events)
}

// Functions of the simulated operations.
const (
	fRead uint8 = iota
	fWrite
	fCAS
)

var fNames = [...]string{fRead: "read", fWrite: "write", fCAS: "cas"}

// op is an operation in flight.
type op struct {
	f     uint8
	key   int
	val   int64 // written value, or a cas's new value
	exp   int64 // a cas's expected value
	crash bool
	// replica serves the operation (Eventual).
	replica int
	// out is what a read returned; ok whether a cas succeeded.
	out int64
	ok  bool
	// floor is the crashed session's causal floor, for a late effect on
	// the Stale store.
	floor []int32
}

// client is one simulated client.
type client struct {
	proc history.Process
	cur  op
	// home is the client's own replica (Eventual).
	home int
	// floor is the session's causal floor (Stale): per key, the newest
	// version the session has seen.
	floor []int32
	// final is the next key the client reads in the final phase.
	final int
}

// Kinds of simulation steps.
const (
	stepInvoke uint8 = iota
	stepEffect
	stepComplete
	stepLate // a crashed write or cas taking effect late
)

type step struct {
	t    int64
	seq  uint64
	kind uint8
	c    int32 // client, or index into sim.late
}

// steps is a binary min-heap of steps by (t, seq).
type steps []step

func (q steps) less(i, j int) bool {
	if q[i].t != q[j].t {
		return q[i].t < q[j].t
	}
	return q[i].seq < q[j].seq
}

func (q *steps) push(x step) {
	*q = append(*q, x)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h.less(i, p) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *steps) pop() step {
	h := *q
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && h.less(l, m) {
			m = l
		}
		if r := l + 1; r < n && h.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}

// store is a simulated store's behaviour.
type store interface {
	// current is the register's value as replica r sees it at t, 0 for
	// never written; it is what a cas expects when it expects a match.
	current(key, r int, t int64) int64
	// apply makes o take effect at t for a client with causal floor
	// floor (nil for none).
	apply(o *op, floor []int32, t int64)
}

type sim struct {
	cfg     Config
	rng     *rand.Rand
	keys    []any
	nodes   []string
	counter []int64 // per key, the last value handed out
	clients []client
	q       steps
	seq     uint64
	late    []op
	events  []history.Event
	store   store
	issued  int
	active  int // clients not yet idle in the current phase
	final   bool
	nextP   history.Process
	pWeight [3]float64
}

func newSim(cfg Config) *sim {
	s := &sim{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15)),
		keys:    make([]any, cfg.Keys),
		counter: make([]int64, cfg.Keys),
		clients: make([]client, cfg.Processes),
		nextP:   history.Process(cfg.Processes),
	}
	n := cfg.Ops
	if cfg.FinalReads {
		n += cfg.Processes * cfg.Keys
	}
	s.events = make([]history.Event, 0, 2*n)
	for k := range s.keys {
		s.keys[k] = fmt.Sprintf("k%d", k)
	}
	total := cfg.Reads + cfg.Writes + cfg.CAS
	s.pWeight = [3]float64{cfg.Reads / total, (cfg.Reads + cfg.Writes) / total, 1}
	switch cfg.Store {
	case Linearizable:
		s.store = &atomicStore{cur: make([]int64, cfg.Keys)}
	case Stale:
		s.store = newStaleStore(cfg, s.rng)
	case Eventual:
		s.store = newEventualStore(cfg)
		s.nodes = make([]string, cfg.Replicas)
		for r := range s.nodes {
			s.nodes[r] = fmt.Sprintf("n%d", r+1)
		}
	}
	for c := range s.clients {
		cl := &s.clients[c]
		cl.proc = history.Process(c)
		cl.home = c % max(cfg.Replicas, 1)
		if cfg.Store == Stale {
			cl.floor = make([]int32, cfg.Keys)
		}
	}
	return s
}

func (s *sim) push(t int64, kind uint8, c int) {
	s.seq++
	s.q.push(step{t: t, seq: s.seq, kind: kind, c: int32(c)})
}

func (s *sim) run() {
	if s.cfg.Ops == 0 || s.cfg.Processes == 0 || s.cfg.Keys == 0 {
		return
	}
	for c := range s.clients {
		s.push(s.rng.Int64N(maxThink), stepInvoke, c)
	}
	s.active = len(s.clients)
	var now int64
	for len(s.q) > 0 {
		st := s.q.pop()
		now = st.t
		switch st.kind {
		case stepInvoke:
			s.invoke(int(st.c), now)
		case stepEffect:
			cl := &s.clients[st.c]
			s.store.apply(&cl.cur, cl.floor, now)
		case stepComplete:
			s.complete(int(st.c), now)
		case stepLate:
			o := &s.late[st.c]
			s.store.apply(o, o.floor, now)
		}
		if s.active == 0 && !s.final && s.cfg.FinalReads {
			s.startFinal(now)
		}
	}
}

// startFinal schedules the final reads once every operation has completed
// and every late effect has landed, after a quiet period.
func (s *sim) startFinal(now int64) {
	s.final = true
	end := now
	for _, st := range s.q {
		end = max(end, st.t)
	}
	end += int64(s.cfg.Delay) + maxLatency
	for c := range s.clients {
		s.push(end+s.rng.Int64N(maxThink), stepInvoke, c)
	}
	s.active = len(s.clients)
}

func (s *sim) invoke(c int, now int64) {
	cl := &s.clients[c]
	var o op
	if s.final {
		if cl.final >= s.cfg.Keys {
			s.active--
			return
		}
		o = op{f: fRead, key: cl.final, replica: cl.home}
		cl.final++
	} else {
		if s.issued >= s.cfg.Ops {
			s.active--
			return
		}
		s.issued++
		o = s.newOp(cl, now)
	}
	cl.cur = o
	s.emit(now, history.Invoke, cl.proc, &cl.cur)

	latency := minLatency + s.rng.Int64N(maxLatency-minLatency)
	if s.rng.Float64() < slowRate {
		latency = minLatency + s.rng.Int64N(slowLatency-minLatency)
	}
	done := now + latency
	s.push(done, stepComplete, c)
	switch {
	case !cl.cur.crash:
		s.push(now+1+s.rng.Int64N(latency-1), stepEffect, c)
	case cl.cur.f != fRead && s.rng.IntN(2) == 0:
		late := cl.cur
		if cl.floor != nil {
			late.floor = append([]int32(nil), cl.floor...)
		}
		s.late = append(s.late, late)
		s.push(now+1+s.rng.Int64N(lateHorizon), stepLate, len(s.late)-1)
	}
}

// newOp draws the next operation of the main phase.
func (s *sim) newOp(cl *client, now int64) op {
	o := op{key: s.rng.IntN(s.cfg.Keys), replica: cl.home}
	if s.cfg.Store == Eventual && s.rng.Float64() < s.cfg.SwitchRate && s.cfg.Replicas > 1 {
		o.replica = (cl.home + 1 + s.rng.IntN(s.cfg.Replicas-1)) % s.cfg.Replicas
	}
	switch p := s.rng.Float64(); {
	case p < s.pWeight[0]:
		o.f = fRead
	case p < s.pWeight[1]:
		o.f = fWrite
	default:
		o.f = fCAS
	}
	if o.f == fCAS {
		cur := s.store.current(o.key, o.replica, now)
		switch {
		case s.counter[o.key] == 0:
			o.f = fWrite // nothing to compare with yet
		case s.rng.Float64() < s.cfg.CASMatch && cur != 0:
			o.exp = cur
		default:
			o.exp = 1 + s.rng.Int64N(s.counter[o.key])
		}
	}
	if o.f != fRead {
		s.counter[o.key]++
		o.val = s.counter[o.key]
	}
	o.crash = s.rng.Float64() < s.cfg.CrashRate
	return o
}

func (s *sim) complete(c int, now int64) {
	cl := &s.clients[c]
	o := &cl.cur
	t := history.OK
	switch {
	case o.crash:
		t = history.Info
	case o.f == fCAS && !o.ok:
		t = history.Fail
	}
	s.emit(now, t, cl.proc, o)
	if o.crash {
		cl.proc = s.nextP
		s.nextP++
		if cl.floor != nil {
			clear(cl.floor)
		}
	}
	s.push(now+s.rng.Int64N(maxThink), stepInvoke, c)
}

// emit appends the event of type t for o.
func (s *sim) emit(now int64, t history.Type, p history.Process, o *op) {
	e := history.Event{
		Index:    int64(len(s.events)),
		Type:     t,
		Process:  p,
		F:        fNames[o.f],
		Key:      s.keys[o.key],
		HasValue: true,
		Time:     history.NoTime,
	}
	if s.cfg.Timestamps {
		e.Time = now
	}
	if s.nodes != nil {
		e.Node = s.nodes[o.replica]
	}
	switch o.f {
	case fRead:
		if t == history.OK && o.out != 0 {
			e.Value = o.out
		}
	case fWrite:
		e.Value = o.val
	case fCAS:
		e.Value = []any{o.exp, o.val}
	}
	if t == history.Info {
		e.Error = "timeout: the operation may or may not have taken effect"
	}
	s.events = append(s.events, e)
}

// atomicStore is the Linearizable store: one copy of every register.
type atomicStore struct {
	cur []int64
}

func (a *atomicStore) current(key, _ int, _ int64) int64 { return a.cur[key] }

func (a *atomicStore) apply(o *op, _ []int32, _ int64) {
	switch o.f {
	case fRead:
		o.out = a.cur[o.key]
	case fWrite:
		a.cur[o.key] = o.val
	case fCAS:
		o.ok = a.cur[o.key] == o.exp
		if o.ok {
			a.cur[o.key] = o.val
		}
	}
}

// AtScale is the shape of history the performance targets are set on:
// 100,000 operations by 24 clients over 10 keys, 2% of them crashed
// (about 2,000 processes, as each crashed client continues under a new
// one), with timestamps and final reads; seed 7.
func AtScale(store Store) Config {
	return Config{Seed: 7, Store: store, Processes: 24, Ops: 100_000, Keys: 10, CrashRate: 0.02, Timestamps: true, FinalReads: true}
}
