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
// The store is one node, n1, on the simulated network. A client's request
// is a whole transaction (adapters.Txn, its Guard called before the
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

// New returns the store: one node, n1, with no rows. cfg.Nodes is
// ignored; without cfg.Holder the network declares transactions, and
// nothing else, as what it takes.
func New(cfg simnet.Config, opts Options) *simnet.Network {
	cfg.Nodes = 1
	if cfg.Holder == nil {
		cfg.Holder = txnsOnly{}
	}
	if opts.Statement == nil {
		opts.Statement = DefaultStatement
	}
	if opts.LockWait <= 0 {
		opts.LockWait = 50 * time.Millisecond
	}
	return simnet.New(cfg, func(string) simnet.Machine { return &machine{opts: opts} })
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

func (m *machine) Receive(string, any) {}

func (m *machine) Request(req *simnet.Request) {
	if req.Op.Kind != adapters.Txn || req.Op.F != "txn" {
		req.Reply(nil, adapters.NotApplied(fmt.Sprintf("the mvcc store performs transactions only, not %s %s: run a transactional workload (list-append, rw-register)", req.Op.Kind, req.Op.F)))
		return
	}
	mops, ok := req.Op.Value.([]adapters.MicroOp)
	if !ok {
		req.Reply(nil, adapters.NotApplied(fmt.Sprintf("a transaction's value must be a []adapters.MicroOp, not %s", history.Describe(req.Op.Value))))
		return
	}
	x := &exec{m: m, req: req, t: m.e.Begin(), mops: mops, out: make([]adapters.MicroOp, 0, len(mops))}
	x.t.OnGrant = func() { m.later(x.step) }
	x.step()
}

// later runs f after a statement's delay.
func (m *machine) later(f func()) { m.node.After(m.opts.Statement.Draw(m.node.Rand()), f) }

// exec is one transaction on its way: its next statement is mops[len(out)].
type exec struct {
	m     *machine
	req   *simnet.Request
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
		x.req.Reply(x.out, e.Commit(x.t))
		return
	}
	next := x.mops[len(x.out)]
	if next.F != "r" && !x.guarded {
		x.guarded = true
		if g := x.req.Op.Guard; g != nil {
			if err := g(x.out); err != nil {
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
	x.req.Reply(nil, err)
}
