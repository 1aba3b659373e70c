// Package mvcc is a transactional store built the way InnoDB is: rows as
// chains of versions, each version carrying the id of the transaction
// that wrote it (InnoDB's hidden DB_TRX_ID column) and a roll pointer
// (DB_ROLL_PTR) to the version it replaced; transaction ids from one
// counter; read views, the set of transactions active when the view was
// made, with InnoDB's visibility rule (ReadView::changes_visible: an id
// below the view's up limit is seen, one at or above its low limit is not,
// one in its active list is not, the transaction's own changes are);
// undo of a rolled-back transaction through the roll pointers; row locks
// (shared and exclusive) with wait queues, deadlock detection that rolls
// back the transaction whose wait would close a cycle, and a lock wait
// timeout.
//
// Levels (Options.Level), as InnoDB (MySQL 8.0 reference manual, §17.7.2.1
// "Transaction Isolation Levels", §17.7.2.3 "Consistent Nonlocking Reads",
// §17.7.2.4 "Locking Reads") and PostgreSQL (documentation §13.2.2
// "Repeatable Read Isolation Level") describe them. At every level a
// write (w, append) takes the row's exclusive lock, held to the end of the
// transaction, and acts on the row's newest version — InnoDB's current
// read: an UPDATE reads the latest committed row, not the read view's.
//
//   - read-uncommitted: a read returns the newest version, committed or not.
//   - read-committed: every read makes a fresh read view.
//   - repeatable-read: the first read makes the view every later read
//     uses; writes are current reads, so a transaction can write on top
//     of a version its view does not show, and then read its own version
//     (which includes the other transaction's change).
//   - serializable: every read is SELECT ... LOCK IN SHARE MODE: a shared
//     lock held to the end, and the newest version (two-phase locking).
//   - snapshot-isolation: the first statement makes the snapshot; a write
//     that finds the row's newest version made by a transaction the
//     snapshot does not see rolls back (first updater wins, PostgreSQL's
//     "could not serialize access due to concurrent update").
//
// The database is node n1 of the simulated network; nodes n2, n3, ...,
// when there are more, are front ends: a client bound to one reaches the
// database over the network, as a client on another machine does, so a
// partition cuts it off (its transaction in flight ends unknown: the
// request or its answer lost) and message delays stretch its
// transactions. The database runs a forwarded request once, however many
// copies arrive. A client's request is a whole transaction (adapters.Txn, its Guard called before the
// first write, as an interactive client decides after its reads); the
// node runs its micro-ops as separate statements, one at a time with
// Options.Statement's delay between them (the client's round trip), so
// that the statements of concurrent transactions interleave as those of
// real clients do. A
// transaction that waits for a lock longer than Options.LockWait, or is
// chosen as a deadlock's victim, is rolled back and its client told it
// did not happen. The engine lives on the node's disk: a crash loses the
// transactions in flight (their clients' connections drop), and the
// restarted node rolls them back from their undo records, as InnoDB's
// crash recovery does, keeping every committed transaction.
package mvcc

import (
	"errors"
	"fmt"
	"time"

	"consist/adapters"
	"consist/adapters/builtin/simnet"
	"consist/history"
)

// Options configure the store.
type Options struct {
	// Level is the isolation level (the zero value is ReadUncommitted).
	Level Level
	// Statement draws the delay between one statement of a transaction
	// and the next (default uniform between 20 µs and 200 µs).
	Statement simnet.Distribution
	// LockWait is how long a transaction waits for a row lock before it
	// is rolled back (InnoDB's innodb_lock_wait_timeout, default 50 s
	// there; 50 ms here). InnoDB rolls back only the statement that timed
	// out unless innodb_rollback_on_timeout is set; the store rolls back
	// the whole transaction, as a client that gives up on it would.
	LockWait time.Duration
}

// DefaultStatement is the default delay between statements. It is what
// lets transactions overlap: with none, a transaction runs to its end in
// a few microseconds, before another client's next request arrives, and
// the weak levels show almost nothing. Timers bound the store's
// throughput (BenchmarkListAppend).
var DefaultStatement = simnet.Uniform(20*time.Microsecond, 200*time.Microsecond)

// New returns the store with no rows: the database on node n1 and, when
// cfg.Nodes is above 1, front ends n2, n3, ... (default: n1 alone).
// Without cfg.Holder the network declares transactions, and nothing
// else, as what it takes.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	if cfg.Nodes <= 0 {
		cfg.Nodes = 1
	}
	if cfg.Holder == nil {
		cfg.Holder = txnsOnly{}
	}
	if opts.Statement == nil {
		opts.Statement = DefaultStatement
	}
	if opts.LockWait <= 0 {
		opts.LockWait = 50 * time.Millisecond
	}
	return simnet.New(cfg, func(name string) simnet.Machine {
		if name == database {
			return &machine{opts: opts}
		}
		return &front{}
	})
}

// database is the node that holds the engine.
const database = "n1"

// requestID names a request a front end forwarded: the front end, its
// boot and a sequence number, unique across the run.
type requestID struct {
	Front string
	Boot  int
	Seq   uint64
}

// forward carries a client's transaction from a front end to the
// database; answer carries the outcome back.
type forward struct {
	ID requestID
	Op adapters.Op
}

type answer struct {
	ID    requestID
	Value any
	Err   error
}

// seenKey is where the database keeps the ids of the forwarded requests
// it has run, so that a duplicated message never runs a transaction twice,
// even across a restart.
const seenKey = "mvcc-seen"

// front is a front-end node: the client's connection to the database
// over the network, as a client machine's is. It forwards each request
// once and answers the client with what comes back; a request or answer
// lost (a partition, a crash) leaves the client to time out, its outcome
// unknown, as a real client's is when its connection breaks
// mid-transaction.
type front struct {
	node    *simnet.Node
	boot    int
	seq     uint64
	pending map[uint64]*simnet.Request
}

// pendingFor is how long a front end remembers a request it forwarded,
// well past any client's patience.
const pendingFor = time.Minute

func (f *front) Start(n *simnet.Node) {
	f.node = n
	f.boot, _ = n.Disk().Get("boot").(int)
	f.boot++
	n.Disk().Put("boot", f.boot)
	f.pending = map[uint64]*simnet.Request{}
}

func (f *front) Request(req *simnet.Request) {
	if _, err := txnOf(req.Op); err != nil {
		req.Reply(nil, err)
		return
	}
	f.seq++
	seq := f.seq
	f.pending[seq] = req
	f.node.Send(database, forward{ID: requestID{Front: f.node.Name(), Boot: f.boot, Seq: seq}, Op: req.Op})
	f.node.After(pendingFor, func() { delete(f.pending, seq) })
}

func (f *front) Receive(_ string, msg any) {
	a, ok := msg.(answer)
	if !ok || a.ID.Boot != f.boot {
		return
	}
	if req, ok := f.pending[a.ID.Seq]; ok {
		delete(f.pending, a.ID.Seq)
		req.Reply(a.Value, a.Err)
	}
}

// txnsOnly says the store takes transactions only.
type txnsOnly struct{}

func (txnsOnly) Holds(k adapters.Kind) (bool, string) {
	if k == adapters.Txn {
		return true, ""
	}
	return false, "the mvcc store performs transactions only: run a transactional workload (list-append, rw-register, on-call)"
}

// diskKey is where the engine is kept on the node's disk.
const diskKey = "mvcc-engine"

type machine struct {
	opts Options
	node *simnet.Node
	e    *Engine
}

func (m *machine) Start(n *simnet.Node) {
	m.node = n
	if e, ok := n.Disk().Get(diskKey).(*Engine); ok {
		e.Recover()
		m.e = e
		return
	}
	m.e = NewEngine(m.opts.Level)
	n.Disk().Put(diskKey, m.e)
}

// txnOf returns op's micro-ops, or why the store does not take op.
func txnOf(op adapters.Op) ([]adapters.MicroOp, error) {
	if op.Kind != adapters.Txn || op.F != "txn" {
		return nil, adapters.NotApplied(fmt.Sprintf("the mvcc store performs transactions only, not %s %s: run a transactional workload (list-append, rw-register, on-call)", op.Kind, op.F))
	}
	mops, ok := op.Value.([]adapters.MicroOp)
	if !ok {
		return nil, adapters.NotApplied(fmt.Sprintf("a transaction's value must be a []adapters.MicroOp, not %s", history.Describe(op.Value)))
	}
	return mops, nil
}

// Receive runs a transaction a front end forwarded, once, however many
// copies arrive; the answer goes back to the front end.
func (m *machine) Receive(from string, msg any) {
	fwd, ok := msg.(forward)
	if !ok {
		return
	}
	seen, _ := m.node.Disk().Get(seenKey).(map[requestID]bool)
	if seen == nil {
		seen = map[requestID]bool{}
		m.node.Disk().Put(seenKey, seen)
	}
	if seen[fwd.ID] {
		return
	}
	seen[fwd.ID] = true
	reply := func(v any, err error) { m.node.Send(from, answer{ID: fwd.ID, Value: v, Err: err}) }
	mops, err := txnOf(fwd.Op)
	if err != nil {
		reply(nil, err)
		return
	}
	m.begin(mops, fwd.Op.Guard, reply)
}

func (m *machine) Request(req *simnet.Request) {
	mops, err := txnOf(req.Op)
	if err != nil {
		req.Reply(nil, err)
		return
	}
	m.begin(mops, req.Op.Guard, req.Reply)
}

// begin starts a transaction of mops and runs its first statement.
func (m *machine) begin(mops []adapters.MicroOp, guard func([]adapters.MicroOp) error, reply func(any, error)) {
	x := &exec{m: m, reply: reply, guard: guard, t: m.e.Begin(), mops: mops, out: make([]adapters.MicroOp, 0, len(mops))}
	x.t.OnGrant = func() { m.later(x.step) }
	x.step()
}

// later runs f after a statement's delay.
func (m *machine) later(f func()) { m.node.After(m.opts.Statement.Draw(m.node.Rand()), f) }

// exec is one transaction on its way: its next statement is mops[len(out)].
type exec struct {
	m     *machine
	reply func(any, error)
	guard func([]adapters.MicroOp) error
	t     *Trx
	mops  []adapters.MicroOp
	out   []adapters.MicroOp
	waits int // counts lock waits, so that a stale timeout is ignored
	// guarded: Op.Guard was called, before the first write.
	guarded bool
	ended   bool
}

func (x *exec) step() {
	if x.ended {
		return
	}
	e := x.m.e
	if len(x.out) == len(x.mops) {
		x.ended = true
		x.reply(x.out, e.Commit(x.t))
		return
	}
	next := x.mops[len(x.out)]
	if next.F != "r" && !x.guarded {
		x.guarded = true
		if x.guard != nil {
			if err := x.guard(x.out); err != nil {
				x.abort(fmt.Errorf("the transaction's condition failed: %w: %w", err, adapters.ErrNotApplied))
				return
			}
		}
	}
	res, err := e.Exec(x.t, next)
	switch {
	case errors.Is(err, ErrBlocked):
		x.waits++
		w := x.waits
		x.m.node.After(x.m.opts.LockWait, func() {
			if !x.ended && x.waits == w && x.t.Waiting() {
				x.abort(adapters.NotApplied(fmt.Sprintf("lock wait timeout exceeded (%v): transaction %d rolled back", x.m.opts.LockWait, x.t.ID)))
			}
		})
		return
	case err != nil:
		if !errors.Is(err, adapters.ErrNotApplied) {
			err = fmt.Errorf("%w: %w", err, adapters.ErrNotApplied)
		}
		x.abort(err)
		return
	}
	x.out = append(x.out, res)
	x.m.later(x.step)
}

func (x *exec) abort(err error) {
	x.ended = true
	x.m.e.Rollback(x.t)
	x.reply(nil, err)
}
