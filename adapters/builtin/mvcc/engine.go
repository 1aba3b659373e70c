package mvcc

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"consist/adapters"
	"consist/history"
)

// Level is a transaction isolation level, as the engine implements it.
type Level uint8

// The levels. The first four are InnoDB's; SnapshotIsolation is
// PostgreSQL's REPEATABLE READ.
const (
	// ReadUncommitted: a read returns the newest version of the row,
	// committed or not (InnoDB's READ UNCOMMITTED).
	ReadUncommitted Level = iota
	// ReadCommitted: each read takes a fresh read view (InnoDB's READ
	// COMMITTED: a consistent read per statement).
	ReadCommitted
	// RepeatableRead: the transaction's first read takes the read view
	// every later read uses; writes are InnoDB's current reads: they lock
	// the row and act on its newest committed version (InnoDB's REPEATABLE
	// READ, its default).
	RepeatableRead
	// Serializable: every read is a locking read, SELECT ... LOCK IN SHARE
	// MODE, taking a shared row lock held to the end of the transaction
	// (InnoDB's SERIALIZABLE with autocommit off).
	Serializable
	// SnapshotIsolation: the transaction's first statement takes the
	// snapshot every read uses; a write that finds the row's newest
	// version written by a transaction its snapshot does not see aborts
	// (first updater wins: PostgreSQL's REPEATABLE READ, "could not
	// serialize access due to concurrent update").
	SnapshotIsolation
)

var levelNames = [...]string{"read-uncommitted", "read-committed", "repeatable-read", "serializable", "snapshot-isolation"}

// Levels returns every level, weakest first.
func Levels() []Level {
	return []Level{ReadUncommitted, ReadCommitted, RepeatableRead, Serializable, SnapshotIsolation}
}

// String names the level as the --isolation flag does.
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", l)
}

// ParseLevel reads a level's name: read-uncommitted, read-committed,
// repeatable-read, serializable or snapshot-isolation.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown isolation level %q: use one of read-uncommitted, read-committed, repeatable-read, serializable, snapshot-isolation", s)
}

// Version is one version of a row, as InnoDB keeps it: the value, the id
// of the transaction that wrote it (the hidden DB_TRX_ID column) and the
// roll pointer (DB_ROLL_PTR) to the version it replaced, which InnoDB
// rebuilds from the undo log. A version's Value is never changed.
type Version struct {
	TrxID uint64
	Value any
	Prev  *Version
}

// ReadView is InnoDB's read view (ReadView in read0types.h): which
// transactions' changes a consistent read sees.
type ReadView struct {
	// LowLimit is m_low_limit_id, the next transaction id when the view
	// was made: changes of this id or above are not seen.
	LowLimit uint64
	// UpLimit is m_up_limit_id, the smallest id active then: changes of
	// smaller ids are seen.
	UpLimit uint64
	// IDs is m_ids, the transactions active then, sorted: their changes
	// are not seen.
	IDs []uint64
	// Creator is m_creator_trx_id: its own changes are seen.
	Creator uint64
}

// Visible is InnoDB's ReadView::changes_visible: whether a change by
// transaction id is seen through the view.
func (v *ReadView) Visible(id uint64) bool {
	if id < v.UpLimit || id == v.Creator {
		return true
	}
	if id >= v.LowLimit {
		return false
	}
	_, active := slices.BinarySearch(v.IDs, id)
	return !active
}

// LockMode is a row lock's mode.
type LockMode uint8

// The row lock modes.
const (
	// Shared: SELECT ... LOCK IN SHARE MODE; compatible with shared only.
	Shared LockMode = 1
	// Exclusive: taken by every write; compatible with nothing.
	Exclusive LockMode = 2
)

func compatible(a, b LockMode) bool { return a == Shared && b == Shared }

// Trx is a transaction.
type Trx struct {
	// ID is the transaction's id, which its versions carry.
	ID uint64
	// OnGrant, when set, is called when a lock the transaction waited
	// for is granted: the transaction may go on (repeat the micro-op
	// that waited). It is called from inside Commit or Rollback of
	// another transaction, so it must not call the engine itself.
	OnGrant func()

	view  *ReadView
	undo  []any // the keys written, each once: the undo log's records
	locks map[any]LockMode
	// lockKeys are the keys of locks in the order first locked, so that
	// releasing them grants waiters in one order every time (a
	// simulation replays it).
	lockKeys []any
	wait     *lockReq
	done     bool
}

// Waiting reports whether the transaction waits for a row lock.
func (t *Trx) Waiting() bool { return t.wait != nil }

// View returns the transaction's read view (nil before it has one).
func (t *Trx) View() *ReadView { return t.view }

type lockReq struct {
	t    *Trx
	key  any
	mode LockMode
}

type lockQueue struct {
	granted map[*Trx]LockMode
	waiting []*lockReq
}

// ErrBlocked says that a micro-op waits for a row lock: nothing happened
// yet; perform the same micro-op again once the lock is granted (Trx.OnGrant
// tells), or roll the transaction back.
var ErrBlocked = errors.New("waiting for a row lock")

// Engine is the storage engine: rows as version chains, transactions,
// read views and row locks. It is not safe for concurrent use; the store's
// machine drives it from its node's goroutine.
type Engine struct {
	level  Level
	rows   map[any]*Version
	next   uint64 // trx_sys's next transaction id
	active map[uint64]*Trx
	locks  map[any]*lockQueue
	// kept counts the versions of the rows' chains, after purge.
	kept int
}

// NewEngine returns an empty engine at level.
func NewEngine(level Level) *Engine {
	return &Engine{level: level, rows: map[any]*Version{}, next: 1, active: map[uint64]*Trx{}, locks: map[any]*lockQueue{}}
}

// Level returns the engine's isolation level.
func (e *Engine) Level() Level { return e.level }

// Begin starts a transaction. Its id is taken at once (InnoDB assigns one
// at the first write; a read view made before then behaves the same,
// since every id assigned later is at or above its LowLimit).
func (e *Engine) Begin() *Trx {
	t := &Trx{ID: e.next, locks: map[any]LockMode{}}
	e.next++
	e.active[t.ID] = t
	return t
}

// Active counts the transactions begun and not yet committed or rolled
// back.
func (e *Engine) Active() int { return len(e.active) }

// newView makes a read view for t, as ReadView::prepare does.
func (e *Engine) newView(t *Trx) *ReadView {
	v := &ReadView{LowLimit: e.next, UpLimit: e.next, Creator: t.ID}
	for id := range e.active {
		if id != t.ID {
			v.IDs = append(v.IDs, id)
		}
	}
	slices.Sort(v.IDs)
	if len(v.IDs) > 0 {
		v.UpLimit = v.IDs[0]
	}
	return v
}

// Chain returns key's versions, newest first (for tests and inspection).
func (e *Engine) Chain(key any) []*Version {
	var out []*Version
	for v := e.rows[key]; v != nil; v = v.Prev {
		out = append(out, v)
	}
	return out
}

// Exec performs one micro-op of t and returns it with a read's value
// filled in. ErrBlocked means it waits for a row lock; an error wrapping
// adapters.ErrNotApplied means t was rolled back (a deadlock, or a
// write-write conflict under SnapshotIsolation) and must not be used
// again.
func (e *Engine) Exec(t *Trx, m adapters.MicroOp) (adapters.MicroOp, error) {
	if t.done {
		return m, fmt.Errorf("transaction %d has ended: begin another", t.ID)
	}
	if t.wait != nil {
		return m, ErrBlocked
	}
	switch m.F {
	case "r":
		v, err := e.read(t, m.Key)
		if err != nil {
			return m, err
		}
		m.Value = v
		return m, nil
	case "w", "append":
		return m, e.write(t, m)
	}
	return m, fmt.Errorf("micro-op %q: the mvcc store performs r, w and append", m.F)
}

func (e *Engine) read(t *Trx, key any) (any, error) {
	var view *ReadView
	switch e.level {
	case ReadUncommitted:
		return valueOf(e.rows[key]), nil
	case ReadCommitted:
		view = e.newView(t)
	case RepeatableRead, SnapshotIsolation:
		if t.view == nil {
			t.view = e.newView(t)
		}
		view = t.view
	case Serializable:
		if err := e.lock(t, key, Shared); err != nil {
			return nil, err
		}
		// A locking read is a current read: the newest version, which
		// no other transaction can be writing while the lock is held.
		return valueOf(e.rows[key]), nil
	}
	v := e.rows[key]
	for v != nil && !view.Visible(v.TrxID) {
		v = v.Prev
	}
	return valueOf(v), nil
}

func valueOf(v *Version) any {
	if v == nil {
		return nil
	}
	return v.Value
}

func (e *Engine) write(t *Trx, m adapters.MicroOp) error {
	if e.level == SnapshotIsolation && t.view == nil {
		t.view = e.newView(t)
	}
	if err := e.lock(t, m.Key, Exclusive); err != nil {
		return err
	}
	head := e.rows[m.Key]
	if e.level == SnapshotIsolation && head != nil && !t.view.Visible(head.TrxID) {
		e.Rollback(t)
		return adapters.NotApplied(fmt.Sprintf("could not serialize access due to concurrent update of key %s by transaction %d", history.Describe(m.Key), head.TrxID))
	}
	var value any
	switch m.F {
	case "w":
		value = m.Value
	case "append":
		var cur []any
		if head != nil {
			l, ok := head.Value.([]any)
			if !ok {
				e.Rollback(t)
				return adapters.NotApplied(fmt.Sprintf("append to key %s, which holds %s, not a list", history.Describe(m.Key), history.Describe(head.Value)))
			}
			cur = l
		}
		next := make([]any, len(cur)+1)
		copy(next, cur)
		next[len(cur)] = m.Value
		value = next
	}
	if head == nil || head.TrxID != t.ID {
		t.undo = append(t.undo, m.Key)
	}
	e.rows[m.Key] = &Version{TrxID: t.ID, Value: value, Prev: head}
	e.kept++
	return nil
}

// lock acquires a row lock of mode on key for t: nil when granted,
// ErrBlocked when t must wait, and a not-applied error when waiting would
// close a cycle of waits (t is rolled back: InnoDB's "Deadlock found when
// trying to get lock"). InnoDB picks as victim the transaction of least
// weight (rows changed and locked); this engine picks the one whose wait
// closes the cycle, which is as correct and simpler to predict.
func (e *Engine) lock(t *Trx, key any, mode LockMode) error {
	if t.locks[key] >= mode {
		return nil
	}
	q := e.locks[key]
	if q == nil {
		q = &lockQueue{granted: map[*Trx]LockMode{}}
		e.locks[key] = q
	}
	if !q.conflicts(t, mode, len(q.waiting)) {
		q.grant(t, key, mode)
		return nil
	}
	r := &lockReq{t: t, key: key, mode: mode}
	q.waiting = append(q.waiting, r)
	t.wait = r
	if e.deadlocked(t) {
		e.Rollback(t)
		return adapters.NotApplied(fmt.Sprintf("deadlock found when trying to get a lock on key %s: transaction %d rolled back", history.Describe(key), t.ID))
	}
	return ErrBlocked
}

// conflicts reports whether t's request for mode conflicts with a lock
// granted to another transaction or with one of the first n requests
// waiting, as InnoDB's lock_rec_other_has_conflicting looks at both.
func (q *lockQueue) conflicts(t *Trx, mode LockMode, n int) bool {
	for h, m := range q.granted {
		if h != t && !compatible(m, mode) {
			return true
		}
	}
	for _, w := range q.waiting[:n] {
		if w.t != t && !compatible(w.mode, mode) {
			return true
		}
	}
	return false
}

func (q *lockQueue) grant(t *Trx, key any, mode LockMode) {
	if q.granted[t] < mode {
		q.granted[t] = mode
	}
	if _, held := t.locks[key]; !held {
		t.lockKeys = append(t.lockKeys, key)
	}
	if t.locks[key] < mode {
		t.locks[key] = mode
	}
}

// waitsFor returns the transactions t waits for.
func (e *Engine) waitsFor(t *Trx) []*Trx {
	r := t.wait
	if r == nil {
		return nil
	}
	q := e.locks[r.key]
	var out []*Trx
	for h, m := range q.granted {
		if h != t && !compatible(m, r.mode) {
			out = append(out, h)
		}
	}
	for _, w := range q.waiting {
		if w == r {
			break
		}
		if w.t != t && !compatible(w.mode, r.mode) {
			out = append(out, w.t)
		}
	}
	return out
}

// deadlocked reports whether t's wait closes a cycle in the wait-for graph.
func (e *Engine) deadlocked(t *Trx) bool {
	seen := map[*Trx]bool{}
	stack := e.waitsFor(t)
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if u == t {
			return true
		}
		if seen[u] {
			continue
		}
		seen[u] = true
		stack = append(stack, e.waitsFor(u)...)
	}
	return false
}

// Commit commits t: its versions become visible to read views made from
// now on, and its locks are released.
func (e *Engine) Commit(t *Trx) error {
	if t.done {
		return fmt.Errorf("transaction %d has ended: it cannot commit", t.ID)
	}
	if t.wait != nil {
		return fmt.Errorf("transaction %d waits for a lock: it cannot commit", t.ID)
	}
	t.done = true
	delete(e.active, t.ID)
	e.release(t)
	for _, k := range t.undo {
		e.purge(k)
	}
	return nil
}

// Rollback undoes t: each row it wrote gets back the version its roll
// pointer names, and its locks (and any lock it waits for) are released.
// Rolling back an ended transaction does nothing.
func (e *Engine) Rollback(t *Trx) {
	if t.done {
		return
	}
	t.done = true
	for _, k := range slices.Backward(t.undo) {
		v := e.rows[k]
		// t held the row's exclusive lock, so its versions are the newest.
		for v != nil && v.TrxID == t.ID {
			v = v.Prev
			e.kept--
		}
		if v == nil {
			delete(e.rows, k)
		} else {
			e.rows[k] = v
		}
	}
	delete(e.active, t.ID)
	e.release(t)
}

// release frees t's locks and its waiting request, and grants what can
// now be granted, in order of request.
func (e *Engine) release(t *Trx) {
	if r := t.wait; r != nil {
		q := e.locks[r.key]
		q.waiting = slices.DeleteFunc(q.waiting, func(w *lockReq) bool { return w == r })
		t.wait = nil
		e.regrant(r.key, q)
	}
	for _, key := range t.lockKeys {
		q := e.locks[key]
		delete(q.granted, t)
		e.regrant(key, q)
	}
	clear(t.locks)
	t.lockKeys = t.lockKeys[:0]
}

func (e *Engine) regrant(key any, q *lockQueue) {
	for i := 0; i < len(q.waiting); {
		r := q.waiting[i]
		if q.conflicts(r.t, r.mode, i) {
			i++
			continue
		}
		q.waiting = slices.Delete(q.waiting, i, i+1)
		r.t.wait = nil
		q.grant(r.t, key, r.mode)
		if r.t.OnGrant != nil {
			r.t.OnGrant()
		}
	}
	if len(q.granted) == 0 && len(q.waiting) == 0 {
		delete(e.locks, key)
	}
}

// purge cuts key's chain below the newest version every read view, now
// and to come, sees: InnoDB's purge of undo records no view needs.
func (e *Engine) purge(key any) {
	limit := e.next
	for id, t := range e.active {
		limit = min(limit, id)
		if t.view != nil {
			limit = min(limit, t.view.UpLimit)
		}
	}
	for v := e.rows[key]; v != nil; v = v.Prev {
		if v.TrxID < limit {
			for p := v.Prev; p != nil; p = p.Prev {
				e.kept--
			}
			v.Prev = nil
			return
		}
	}
}

// Versions counts the versions the rows keep, purge done.
func (e *Engine) Versions() int { return e.kept }

// Recover rolls back every transaction left active, as InnoDB's crash
// recovery rolls back the transactions the redo log shows incomplete,
// from their undo logs; it returns how many it rolled back.
func (e *Engine) Recover() int {
	n := 0
	for _, t := range e.active {
		t.OnGrant = nil // its machine is gone
	}
	for _, id := range slices.Sorted(maps.Keys(e.active)) {
		e.Rollback(e.active[id])
		n++
	}
	return n
}
