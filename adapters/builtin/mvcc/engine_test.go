package mvcc

import (
	"context"
	"errors"
	"testing"

	"consist/adapters"
	"consist/checker"
	"consist/checker/txn"
	"consist/history"
)

// step is a test's handle on an engine: it performs micro-ops of named
// transactions in the order the test writes them.
type step struct {
	t *testing.T
	e *Engine
}

func (s step) do(x *Trx, f string, key, value any) (any, error) {
	s.t.Helper()
	m, err := s.e.Exec(x, adapters.MicroOp{F: f, Key: key, Value: value})
	return m.Value, err
}

// ok performs a micro-op that must succeed and returns what it read.
func (s step) ok(x *Trx, f string, key, value any) any {
	s.t.Helper()
	v, err := s.do(x, f, key, value)
	if err != nil {
		s.t.Fatalf("T%d %s %v %v: %v", x.ID, f, key, value, err)
	}
	return v
}

func (s step) read(x *Trx, key any, want any) {
	s.t.Helper()
	got := s.ok(x, "r", key, nil)
	g, err1 := history.NormalizeGo(got)
	w, err2 := history.NormalizeGo(want)
	if err1 != nil || err2 != nil || !history.Equal(g, w) {
		s.t.Fatalf("T%d read %v = %v, want %v", x.ID, key, history.Describe(got), history.Describe(want))
	}
}

func (s step) commit(x *Trx) {
	s.t.Helper()
	if err := s.e.Commit(x); err != nil {
		s.t.Fatal(err)
	}
}

func list(vs ...any) []any { return vs }

func TestReadViewVisibility(t *testing.T) {
	// Made when 3, 5 and 7 were active and 9 was next, by 5.
	v := &ReadView{LowLimit: 9, UpLimit: 3, IDs: []uint64{3, 7}, Creator: 5}
	for id, want := range map[uint64]bool{1: true, 2: true, 3: false, 4: true, 5: true, 6: true, 7: false, 8: true, 9: false, 12: false} {
		if got := v.Visible(id); got != want {
			t.Errorf("Visible(%d) = %v, want %v", id, got, want)
		}
	}
}

func TestReadUncommittedReadsDirtyVersionsAndUndoRemovesThem(t *testing.T) {
	s := step{t, NewEngine(ReadUncommitted)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.ok(t1, "append", "x", 1)
	s.read(t2, "x", list(1)) // dirty read
	s.e.Rollback(t1)
	s.read(t2, "x", nil)
	if n := len(s.e.Chain("x")); n != 0 {
		t.Fatalf("undo left %d versions of x", n)
	}
}

func TestReadCommittedTakesAViewPerStatement(t *testing.T) {
	s := step{t, NewEngine(ReadCommitted)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.ok(t1, "append", "x", 1)
	s.read(t2, "x", nil) // no dirty read
	s.read(t1, "x", list(1))
	s.commit(t1)
	s.read(t2, "x", list(1)) // non-repeatable read: a new view sees t1
	s.commit(t2)
}

func TestRepeatableReadKeepsItsViewButWritesOnTheNewestVersion(t *testing.T) {
	s := step{t, NewEngine(RepeatableRead)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t2, "x", nil) // t2's view: t1 active
	s.ok(t1, "append", "x", 1)
	s.commit(t1)
	s.read(t2, "x", nil) // repeatable
	// The append is a current read: it goes on top of t1's version,
	// which t2's view does not show...
	s.ok(t2, "append", "x", 2)
	// ...and t2 then sees its own version, t1's element included.
	s.read(t2, "x", list(1, 2))
	s.commit(t2)
	chain := s.e.Chain("x")
	if len(chain) != 1 || len(chain[0].Value.([]any)) != 2 || chain[0].TrxID != t2.ID {
		t.Fatalf("x's chain after purge: %v", chain)
	}
}

func TestRepeatableReadLosesUpdatesOfRegisters(t *testing.T) {
	s := step{t, NewEngine(RepeatableRead)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t1, "x", nil)
	s.read(t2, "x", nil)
	s.ok(t1, "w", "x", 1)
	s.commit(t1)
	s.ok(t2, "w", "x", 2) // both read nil and both write: t1's write is lost
	s.commit(t2)
	t3 := s.e.Begin()
	s.read(t3, "x", 2)
}

func TestSnapshotIsolationFirstUpdaterWins(t *testing.T) {
	s := step{t, NewEngine(SnapshotIsolation)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t1, "x", nil)
	s.read(t2, "x", nil)
	s.ok(t1, "w", "x", 1)
	// t2 waits for t1's lock, then finds t1's version, which its
	// snapshot does not see: it must roll back.
	if _, err := s.do(t2, "w", "x", 2); !errors.Is(err, ErrBlocked) {
		t.Fatalf("t2's write while t1 holds x: %v, want blocked", err)
	}
	granted := false
	t2.OnGrant = func() { granted = true }
	s.commit(t1)
	if !granted {
		t.Fatal("t1's commit did not grant t2 its lock")
	}
	if _, err := s.do(t2, "w", "x", 2); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("t2's write over t1's concurrent one: %v, want not applied", err)
	}
	if s.e.Active() != 0 {
		t.Fatalf("%d transactions still active", s.e.Active())
	}
	t3 := s.e.Begin()
	s.read(t3, "x", 1)
}

func TestSnapshotIsolationAllowsWriteSkew(t *testing.T) {
	// The design notes' doctors: each checks that the other is on call,
	// then goes off call himself.
	s := step{t, NewEngine(SnapshotIsolation)}
	setup := s.e.Begin()
	s.ok(setup, "w", "alice", "on")
	s.ok(setup, "w", "bob", "on")
	s.commit(setup)
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t1, "bob", "on")
	s.read(t2, "alice", "on")
	s.ok(t1, "w", "alice", "off")
	s.ok(t2, "w", "bob", "off")
	s.commit(t1)
	s.commit(t2)
	t3 := s.e.Begin()
	s.read(t3, "alice", "off")
	s.read(t3, "bob", "off") // nobody on call
}

func TestSerializableLocksReadsAndBreaksTheDeadlock(t *testing.T) {
	s := step{t, NewEngine(Serializable)}
	setup := s.e.Begin()
	s.ok(setup, "w", "alice", "on")
	s.ok(setup, "w", "bob", "on")
	s.commit(setup)
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t1, "bob", "on")   // S lock on bob
	s.read(t2, "alice", "on") // S lock on alice
	if _, err := s.do(t1, "w", "alice", "off"); !errors.Is(err, ErrBlocked) {
		t.Fatalf("t1's write of alice, share-locked by t2: %v, want blocked", err)
	}
	woken := false
	t1.OnGrant = func() { woken = true }
	// t2 writing bob would wait for t1, which waits for t2: t2 is the
	// victim.
	if _, err := s.do(t2, "w", "bob", "off"); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("t2's write closing the cycle: %v, want a deadlock", err)
	}
	if !woken || t1.Waiting() {
		t.Fatal("the victim's rollback did not grant t1 its lock")
	}
	s.ok(t1, "w", "alice", "off")
	s.commit(t1)
	t3 := s.e.Begin()
	s.read(t3, "bob", "on")
}

func TestSerializableSharedLocksUpgradeDeadlock(t *testing.T) {
	s := step{t, NewEngine(Serializable)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t1, "x", nil)
	s.read(t2, "x", nil)
	if _, err := s.do(t1, "append", "x", 1); !errors.Is(err, ErrBlocked) {
		t.Fatalf("t1's upgrade: %v, want blocked", err)
	}
	if _, err := s.do(t2, "append", "x", 2); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("t2's upgrade: %v, want a deadlock", err)
	}
	s.ok(t1, "append", "x", 1)
	s.commit(t1)
	t3 := s.e.Begin()
	s.read(t3, "x", list(1))
}

func TestWritersQueueAndTheNextActsOnTheCommittedVersion(t *testing.T) {
	for _, level := range []Level{ReadUncommitted, ReadCommitted, RepeatableRead} {
		t.Run(level.String(), func(t *testing.T) {
			s := step{t, NewEngine(level)}
			t1, t2, t3 := s.e.Begin(), s.e.Begin(), s.e.Begin()
			s.ok(t1, "append", "x", 1)
			for _, x := range []*Trx{t2, t3} {
				if _, err := s.do(x, "append", "x", int(x.ID)); !errors.Is(err, ErrBlocked) {
					t.Fatalf("T%d's append behind t1: %v, want blocked", x.ID, err)
				}
			}
			s.e.Rollback(t1)
			if t2.Waiting() || !t3.Waiting() {
				t.Fatalf("after t1's rollback: t2 waiting %v, t3 waiting %v; want t2 granted first", t2.Waiting(), t3.Waiting())
			}
			s.ok(t2, "append", "x", 2)
			s.commit(t2)
			s.ok(t3, "append", "x", 3)
			s.read(t3, "x", list(2, 3))
			s.commit(t3)
		})
	}
}

func TestPurgeKeepsWhatAnOpenViewNeeds(t *testing.T) {
	s := step{t, NewEngine(RepeatableRead)}
	old := s.e.Begin()
	s.read(old, "y", nil)
	for i := range 5 {
		w := s.e.Begin()
		s.ok(w, "append", "x", i)
		s.commit(w)
	}
	if n := len(s.e.Chain("x")); n != 5 {
		t.Fatalf("with a view older than every write, x keeps %d versions, want 5", n)
	}
	s.read(old, "x", nil)
	s.commit(old)
	w := s.e.Begin()
	s.ok(w, "append", "x", 5)
	s.commit(w)
	if n := len(s.e.Chain("x")); n != 1 || s.e.Versions() != 1 {
		t.Fatalf("with no view open, x keeps %d versions (%d counted), want 1", n, s.e.Versions())
	}
}

func TestRecoverRollsBackWhatWasInFlight(t *testing.T) {
	s := step{t, NewEngine(Serializable)}
	t1 := s.e.Begin()
	s.ok(t1, "w", "x", 1)
	s.commit(t1)
	t2, t3 := s.e.Begin(), s.e.Begin()
	s.ok(t2, "w", "x", 2)
	if _, err := s.do(t3, "r", "x", nil); !errors.Is(err, ErrBlocked) {
		t.Fatalf("t3's locking read of x under t2's lock: %v, want blocked", err)
	}
	if n := s.e.Recover(); n != 2 {
		t.Fatalf("recovery rolled back %d transactions, want 2", n)
	}
	t4 := s.e.Begin()
	s.read(t4, "x", 1)
	s.commit(t4)
	if len(s.e.locks) != 0 {
		t.Fatalf("locks left after recovery: %v", s.e.locks)
	}
}

// TestRepeatableReadFracturesAtomicView is the Monotonic Atomic View
// violation Jepsen found in MySQL 8.0.34's repeatable read: a transaction
// sees one of another transaction's writes (through its own current-read
// write on top of it) and then misses another of that transaction's
// writes (through its read view): an OTV, which the transactional
// checker names; the test shows the engine step by step.
func TestRepeatableReadFracturesAtomicView(t *testing.T) {
	s := step{t, NewEngine(RepeatableRead)}
	t1, t2 := s.e.Begin(), s.e.Begin()
	s.read(t1, "x", nil) // t1's view: t2 active
	s.ok(t2, "append", "x", 1)
	s.ok(t2, "append", "y", 1)
	s.commit(t2)
	s.ok(t1, "append", "y", 2)
	s.read(t1, "y", list(1, 2)) // t2's append to y seen...
	s.read(t1, "x", nil)        // ...its append to x not
	s.commit(t1)

	// Snapshot isolation refuses the write instead.
	s = step{t, NewEngine(SnapshotIsolation)}
	t1, t2 = s.e.Begin(), s.e.Begin()
	s.read(t1, "x", nil)
	s.ok(t2, "append", "y", 1)
	s.commit(t2)
	if _, err := s.do(t1, "append", "y", 2); !errors.Is(err, adapters.ErrNotApplied) {
		t.Fatalf("snapshot isolation let t1 append over a concurrent commit: %v", err)
	}
}

// TestLostUpdateAsTheCheckerSeesIt plays one interleaving at every level
// — two transactions read x, then each appends to it — records it with
// history.Builder and checks it with checker/txn: the levels whose
// writes act on the newest version without a conflict check (read
// uncommitted, read committed, InnoDB's repeatable read) lose the update;
// snapshot isolation aborts the second writer, serializable breaks the
// deadlock of the two shared locks, and neither shows an anomaly.
func TestLostUpdateAsTheCheckerSeesIt(t *testing.T) {
	for _, level := range Levels() {
		t.Run(level.String(), func(t *testing.T) {
			e := NewEngine(level)
			var b history.Builder
			mops := func(v int64) []adapters.MicroOp {
				return []adapters.MicroOp{{F: "r", Key: "x"}, {F: "append", Key: "x", Value: v}}
			}
			t1, t2 := e.Begin(), e.Begin()
			b.Invoke(1, "txn", nil, adapters.MicroOpsValue(mops(1)))
			b.Invoke(2, "txn", nil, adapters.MicroOpsValue(mops(2)))
			out := map[*Trx][]adapters.MicroOp{}
			run := func(x *Trx, m adapters.MicroOp) error {
				r, err := e.Exec(x, m)
				if err == nil {
					out[x] = append(out[x], r)
				}
				return err
			}
			var aborted *Trx
			for _, st := range []struct {
				x *Trx
				m adapters.MicroOp
			}{{t1, mops(1)[0]}, {t2, mops(2)[0]}, {t1, mops(1)[1]}, {t2, mops(2)[1]}} {
				if st.x == aborted {
					continue
				}
				switch err := run(st.x, st.m); {
				case errors.Is(err, ErrBlocked):
				case errors.Is(err, adapters.ErrNotApplied):
					aborted = st.x
				case err != nil:
					t.Fatal(err)
				}
			}
			for _, x := range []*Trx{t1, t2} {
				if x == aborted {
					continue
				}
				if x.Waiting() {
					t.Fatalf("T%d still waits", x.ID)
				}
				if len(out[x]) < 2 { // it waited for its lock: append again
					err := run(x, mops(int64(x.ID))[1])
					if errors.Is(err, adapters.ErrNotApplied) {
						aborted = x
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
				}
				if err := e.Commit(x); err != nil {
					t.Fatal(err)
				}
			}
			for p, x := range map[int]*Trx{1: t1, 2: t2} {
				if x == aborted {
					b.Fail(p, "txn", nil, adapters.MicroOpsValue(mops(int64(p))))
				} else {
					b.OK(p, "txn", nil, adapters.MicroOpsValue(out[x]))
				}
			}
			t3 := e.Begin()
			r, err := e.Exec(t3, adapters.MicroOp{F: "r", Key: "x"})
			if err != nil {
				t.Fatal(err)
			}
			b.Invoke(3, "txn", nil, adapters.MicroOpsValue([]adapters.MicroOp{{F: "r", Key: "x"}}))
			b.OK(3, "txn", nil, adapters.MicroOpsValue([]adapters.MicroOp{r}))
			h, err := b.History()
			if err != nil {
				t.Fatal(err)
			}
			lost := false
			for _, res := range (txn.Checker{}).CheckModels(context.Background(), h, checker.Options{}, checker.Serializable) {
				for _, a := range res.Anomalies {
					lost = lost || a.Kind == checker.LostUpdate
				}
			}
			wantLost := level <= RepeatableRead
			if lost != wantLost || (aborted == nil) != wantLost {
				t.Fatalf("lost update found %v, a transaction aborted %v; want lost %v", lost, aborted != nil, wantLost)
			}
		})
	}
}

// TestReadSkewAsTheCheckerSeesIt plays read skew at every level: T1
// reads x; T2 appends to x and y and commits; T1 reads y. A read view per
// statement (read committed) or none (read uncommitted) lets T1 see T2's
// y but not its x: G-single, which checker/txn must find. A view per
// transaction (repeatable read, snapshot isolation) sees neither, and
// serializable's shared lock on x makes T2 wait for T1.
func TestReadSkewAsTheCheckerSeesIt(t *testing.T) {
	for _, level := range Levels() {
		t.Run(level.String(), func(t *testing.T) {
			e := NewEngine(level)
			var b history.Builder
			t1m := []adapters.MicroOp{{F: "r", Key: "x"}, {F: "r", Key: "y"}}
			t2m := []adapters.MicroOp{{F: "append", Key: "x", Value: 1}, {F: "append", Key: "y", Value: 1}}
			b.Invoke(1, "txn", nil, adapters.MicroOpsValue(t1m))
			b.Invoke(2, "txn", nil, adapters.MicroOpsValue(t2m))
			t1, t2 := e.Begin(), e.Begin()
			exec := func(x *Trx, m adapters.MicroOp) (adapters.MicroOp, error) {
				t.Helper()
				r, err := e.Exec(x, m)
				if err != nil && !errors.Is(err, ErrBlocked) {
					t.Fatal(err)
				}
				return r, err
			}
			r1x, _ := exec(t1, t1m[0])
			var t2out []adapters.MicroOp
			blocked := false
			for _, m := range t2m {
				r, err := exec(t2, m)
				if errors.Is(err, ErrBlocked) {
					blocked = true
					break
				}
				t2out = append(t2out, r)
			}
			if !blocked {
				if err := e.Commit(t2); err != nil {
					t.Fatal(err)
				}
			}
			r1y, err := exec(t1, t1m[1])
			if err != nil {
				t.Fatalf("T1's read of y: %v", err)
			}
			if err := e.Commit(t1); err != nil {
				t.Fatal(err)
			}
			if blocked { // serializable: T2 goes on once T1 is done
				for _, m := range t2m[len(t2out):] {
					r, err := exec(t2, m)
					if err != nil {
						t.Fatalf("T2 after T1's commit: %v", err)
					}
					t2out = append(t2out, r)
				}
				if err := e.Commit(t2); err != nil {
					t.Fatal(err)
				}
			}
			b.OK(1, "txn", nil, adapters.MicroOpsValue([]adapters.MicroOp{r1x, r1y}))
			b.OK(2, "txn", nil, adapters.MicroOpsValue(t2out))
			h, err := b.History()
			if err != nil {
				t.Fatal(err)
			}
			skew := false
			for _, res := range (txn.Checker{}).CheckModels(context.Background(), h, checker.Options{}, checker.Serializable) {
				for _, a := range res.Anomalies {
					skew = skew || a.Kind == checker.GSingle || a.Kind == checker.GSingleItem
				}
			}
			if want := level <= ReadCommitted; skew != want || blocked != (level == Serializable) {
				t.Fatalf("G-single found %v (want %v); T2 waited %v", skew, want, blocked)
			}
		})
	}
}
