package mysql

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
	"consist/internal/txntest"
	"consist/run"
	"consist/workloads"
	"consist/workloads/runner"
)

var (
	mop   = txntest.Mop
	txnOp = txntest.Op
	doTxn = txntest.Do
)

// TestTxn: the transactions every store must get right, and a key too
// long for the table refused before anything is sent.
func TestTxn(t *testing.T) {
	c := storetest.Open(t, newStore(t, Options{Isolation: sql.LevelSerializable}))
	txntest.Semantics(t, c)
	_, err := c.Do(t.Context(), txnOp(mop("append", int64(1), int64(13)), mop("r", strings.Repeat("k", 192), nil)))
	if adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), "at most 191") {
		t.Errorf("a key of 192 bytes: %v, want a failure", err)
	}
	txntest.Perform(t, c, []txntest.Step{{Mops: []adapters.MicroOp{mop("r", int64(1), nil)}, Want: []any{[]any{"r", int64(1), []any{int64(10), int64(11), int64(12)}}}}})
}

// TestTxnAbortIsAtomic: a transaction that cannot finish (a row it
// appends to stays locked until its context ends) fails, and none of its
// micro-ops took effect.
func TestTxnAbortIsAtomic(t *testing.T) {
	s := newStore(t, Options{Isolation: sql.LevelRepeatableRead})
	c := storetest.Open(t, s)
	doTxn(t, c, mop("append", int64(1), int64(1)), mop("append", int64(2), int64(2)))
	tx, err := sqlDB(t).BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(t.Context(), "SELECT l FROM "+s.tables.txn+" WHERE k = '2' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	_, err = c.Do(ctx, txnOp(mop("append", int64(1), int64(3)), mop("append", int64(2), int64(4))))
	cancel()
	if adapters.Outcome(err) != history.Fail || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a transaction waiting for a lock until its context ended: %v, want a failure", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	want := []any{[]any{"r", int64(1), []any{int64(1)}}, []any{"r", int64(2), []any{int64(2)}}}
	if got := doTxn(t, c, mop("r", int64(1), nil), mop("r", int64(2), nil)); !history.Equal(got, want) {
		t.Errorf("after the failed transaction, %s, want %s: its first append took effect", history.Describe(got), history.Describe(want))
	}
}

// TestTxnCommitErrors: a transaction that only reads fails whatever
// COMMIT's error; one that writes is unknown unless the server said it
// rolled back.
func TestTxnCommitErrors(t *testing.T) {
	c := &client{s: &Store{node: "db:3306"}}
	read := txnOp(mop("r", int64(1), nil), mop("r", int64(2), nil))
	write := txnOp(mop("r", int64(1), nil), mop("append", int64(1), int64(3)))
	for _, tc := range []struct {
		op   adapters.Op
		err  error
		want history.Type
	}{
		{read, errors.New("connection reset"), history.Fail},
		{write, errors.New("connection reset"), history.Info},
		{write, &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}, history.Fail},
	} {
		err := c.commitErr(tc.op, tc.err)
		if got := adapters.Outcome(err); got != tc.want {
			t.Errorf("%s, commit error %v: %s, want %s", history.Describe(tc.op.Value), tc.err, got, tc.want)
		}
		if !strings.Contains(err.Error(), `txn [["r",1,null]`) {
			t.Errorf("error %q does not name the transaction", err)
		}
	}
}

// TestIsolationLevels runs Elle's list-append and rw-register
// transactions against MariaDB at each SQL isolation level, ten clients
// contending for three keys, and asserts what each level gives: every
// run satisfies the model the level must give (no anomaly it forbids),
// and within a few seeded runs the anomalies the level lets through
// show up. What the levels were found to give is in the README's section
// on the isolation of real databases; in short:
//
//   - READ UNCOMMITTED: dirty reads — aborted reads (G1a) of deadlock
//     victims' appends, and intermediate reads (G1b);
//   - READ COMMITTED: G-single (read skew) and lost updates;
//   - REPEATABLE READ: lost updates and G2-item in both workloads, and in
//     list-append G-single and internal inconsistency too: an append is
//     a locking read of the newest row, so a transaction that reads a key
//     after appending to it sees appends its snapshot does not hold — as
//     Jepsen found on MySQL 8.0.34 ("MySQL 8.0.34", 2023, §3);
//   - REPEATABLE READ with innodb_snapshot_isolation=ON (MariaDB 10.6.18
//     and later): snapshot isolation — a write to a row changed since the
//     snapshot fails with "Record has changed since last read" (1020), so
//     no lost update and no G-single; write skew (G2-item) remains;
//   - SERIALIZABLE: nothing; strict-serializable holds (InnoDB turns
//     plain reads into shared-locking reads: two-phase locking on one
//     server), deadlock victims failing.
func TestIsolationLevels(t *testing.T) {
	// Every anomaly below showed in the first run of 2,000 transactions
	// in every trial; shorter runs may need a few seeds.
	txns := 2000
	if testing.Short() {
		txns = 1000
	}
	type level struct {
		level sql.IsolationLevel
		// snapshot turns on innodb_snapshot_isolation.
		snapshot bool
		// maxLen, if set, makes transactions longer (default 4): under
		// snapshot isolation write skew in rw-register shows in about one
		// run of 2,000 transactions in four at 4 micro-ops, in every run
		// at 6.
		maxLen int
		hold   []checker.Model
		want   map[txntest.Workload][]checker.Kind
		anyOf  [][]checker.Kind
	}
	for _, lv := range []level{
		{level: sql.LevelReadUncommitted, hold: []checker.Model{checker.ReadUncommitted},
			anyOf: [][]checker.Kind{{checker.G1a, checker.G1b}}},
		{level: sql.LevelReadCommitted, hold: []checker.Model{checker.ReadCommitted},
			want: map[txntest.Workload][]checker.Kind{
				txntest.ListAppend: {checker.GSingle, checker.LostUpdate},
				txntest.RWRegister: {checker.GSingle, checker.LostUpdate}}},
		{level: sql.LevelRepeatableRead, hold: []checker.Model{checker.ReadCommitted},
			want: map[txntest.Workload][]checker.Kind{
				txntest.ListAppend: {checker.LostUpdate, checker.G2Item, checker.GSingle, checker.Internal},
				txntest.RWRegister: {checker.LostUpdate, checker.G2Item}}},
		{level: sql.LevelRepeatableRead, snapshot: true, maxLen: 6, hold: []checker.Model{checker.StrongSnapshotIsolation},
			want: map[txntest.Workload][]checker.Kind{
				txntest.ListAppend: {checker.G2Item},
				txntest.RWRegister: {checker.G2Item}}},
		{level: sql.LevelSerializable, hold: []checker.Model{checker.StrictSerializable}},
	} {
		name := strings.ReplaceAll(lv.level.String(), " ", "-")
		opts := Options{Isolation: lv.level}
		if lv.snapshot {
			name += "+innodb_snapshot_isolation"
			opts.DSN = snapshotDSN(t)
		}
		for _, wl := range []txntest.Workload{txntest.ListAppend, txntest.RWRegister} {
			t.Run(name+"/"+string(wl), func(t *testing.T) {
				open := func(t testing.TB) adapters.Store { return newStore(t, opts) }
				// Generous time for each transaction: on a loaded machine a
				// lock wait may be long, and the test asserts that only
				// deadlocks abort transactions and none is unknown.
				plan := txntest.Plan{Workload: wl, Clients: 10, Txns: txns, Keys: 3, MaxLen: max(lv.maxLen, 4), OpTimeout: 30 * time.Second}
				witnesses, last := txntest.Seek(t, open, plan, txntest.Expect{Hold: lv.hold, Want: lv.want[wl], AnyOf: lv.anyOf, Attempts: 10})
				for k, w := range witnesses {
					t.Logf("%s: %s", k, w)
				}
				if last.Info != 0 {
					t.Errorf("%d transactions unknown: the server answered every one", last.Info)
				}
				for _, op := range last.History.Ops {
					if op.Type != history.Fail {
						continue
					}
					if e := last.History.Events[op.Complete].Error; !strings.Contains(e, "Deadlock found") && !strings.Contains(e, "Lock wait timeout") && !(lv.snapshot && strings.Contains(e, "Record has changed since last read")) {
						t.Errorf("a transaction failed for another reason than a deadlock, a lock wait or (with innodb_snapshot_isolation) a conflict: %s", e)
						break
					}
				}
				if lv.level == sql.LevelSerializable && len(last.Kinds()) != 0 {
					t.Errorf("anomalies at SERIALIZABLE: %v", last.Kinds())
				}
			})
		}
	}
}

// snapshotDSN returns the test server's DSN with innodb_snapshot_isolation
// turned on for every connection (the driver sets a DSN parameter it does
// not know as a session variable), or skips t (fails it when servers are
// required) if the server has no such variable (MariaDB before 10.6.18).
func snapshotDSN(t *testing.T) string {
	var name, value string
	err := sqlDB(t).QueryRowContext(t.Context(), "SHOW VARIABLES LIKE 'innodb_snapshot_isolation'").Scan(&name, &value)
	if errors.Is(err, sql.ErrNoRows) {
		servertest.Missing(t, "the server has no innodb_snapshot_isolation: it needs MariaDB 10.6.18, 10.11.8 or later")
	} else if err != nil {
		t.Fatal(err)
	}
	sep := "?"
	if strings.Contains(dsn(t), "?") {
		sep = "&"
	}
	return dsn(t) + sep + "innodb_snapshot_isolation=ON"
}

// BenchmarkTxnThroughput drives MariaDB, and beside it in the same run
// the bundled mvcc store at the same isolation level (in process, on the
// wall clock), with ten clients of the list-append workload (Elle's: up
// to 4 micro-ops a transaction over 5 rotating keys) as fast as each
// answers, alternating a run that records nothing with one that writes
// the history to a file, and reports the transactions (and micro-ops)
// per second of each:
//
//	CONSIST_MYSQL_DSN='root@tcp(127.0.0.1:3390)/consist' CONSIST_MYSQL_ISOLATION=serializable go test ./adapters/mysql -run '^$' -bench TxnThroughput -benchtime 3x
//
// CONSIST_MYSQL_ISOLATION picks the isolation level (default: the
// server's, REPEATABLE READ, and the mvcc store's, which is the same).
// Transactions that abort (deadlocks) count as performed: the rate is of
// transactions the store answered.
func BenchmarkTxnThroughput(b *testing.B) {
	name := os.Getenv("CONSIST_MYSQL_ISOLATION")
	level, err := ParseIsolation(name)
	if err != nil {
		b.Fatal(err)
	}
	bundled, err := builtin.LookupIsolation("mvcc", strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(strings.TrimSpace(name))))
	if err != nil {
		b.Fatal(err)
	}
	stores := []struct {
		name string
		open func(testing.TB) adapters.Store
	}{
		{"mariadb", func(tb testing.TB) adapters.Store { return newStore(tb, Options{Isolation: level}) }},
		{bundled.Name, func(testing.TB) adapters.Store { return bundled.Open(1) }},
	}
	for _, st := range stores {
		b.Run(st.name, func(b *testing.B) { txnThroughput(b, st.open) })
	}
}

func txnThroughput(b *testing.B, open func(testing.TB) adapters.Store) {
	const txns = 5_000
	wl, err := workloads.New("list-append", workloads.Options{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	config := func() runner.Config {
		return runner.Config{Store: open(b), Workload: wl, Clients: 10, Ops: txns, Seed: 1}
	}
	var bare, recorded time.Duration
	var mops int64
	for b.Loop() {
		bare += storetest.TimedRun(b, config(), nil)
		f, err := os.Create(filepath.Join(dir, "history.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		recorded += storetest.TimedRun(b, config(), f)
		f.Close()
		h, err := history.ReadFile(f.Name(), history.JSONL)
		if err != nil {
			b.Fatal(err)
		}
		for _, op := range h.Ops {
			if v, ok := op.Value().([]any); ok {
				mops += int64(len(v))
			}
		}
	}
	n := float64(b.N) * txns
	b.ReportMetric(n/bare.Seconds(), "bare-txn/s")
	b.ReportMetric(n/recorded.Seconds(), "recorded-txn/s")
	b.ReportMetric(float64(mops)/recorded.Seconds(), "recorded-mops/s")
}

// TestOnCallWriteSkew runs the design notes' write-skew example (the
// on-call workload: a doctor goes off call only if, by what its
// transaction read, another stays on) against MariaDB. At REPEATABLE
// READ, with innodb_snapshot_isolation or without, two doctors each read
// the other on call from their snapshots, write their own rows, and both
// commit: the rule is broken (sought over a few seeded runs). At
// SERIALIZABLE the reads take shared locks, one of the two deadlocks, and
// the rule always holds.
func TestOnCallWriteSkew(t *testing.T) {
	d := 3 * time.Second
	if testing.Short() {
		d = time.Second
	}
	wl, err := workloads.New("on-call", workloads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, opts Options, seed uint64) checker.Result {
		res := storetest.Record(t, run.Config{System: &run.System{Name: t.Name(), Store: newStore(t, opts)}, Workload: wl, Clients: 10, Duration: d, OpTimeout: 30 * time.Second, Seed: seed})
		r := suite.Check(t.Context(), res.History, checker.Options{Timeout: time.Minute}, checker.OnCall)[0]
		t.Logf("seed %d: %d ok, %d fail, %d info; on-call %s", seed, res.OK, res.Fail, res.Info, r.Verdict)
		if res.OK < 100 || res.Info != 0 {
			t.Fatalf("%d ok, %d info: want at least 100 ok and no info", res.OK, res.Info)
		}
		return r
	}
	broken := func(t *testing.T, opts Options) {
		for seed := uint64(1); seed <= 5; seed++ {
			if r := run(t, opts, seed); r.Verdict == checker.Invalid {
				t.Logf("%s", r.Anomalies[0].Explanation())
				return
			}
		}
		t.Fatal("five runs never broke the rule")
	}
	t.Run("Repeatable-Read", func(t *testing.T) { broken(t, Options{Isolation: sql.LevelRepeatableRead}) })
	t.Run("Repeatable-Read+innodb_snapshot_isolation", func(t *testing.T) {
		broken(t, Options{Isolation: sql.LevelRepeatableRead, DSN: snapshotDSN(t)})
	})
	t.Run("Serializable", func(t *testing.T) {
		if r := run(t, Options{Isolation: sql.LevelSerializable}, 1); r.Verdict != checker.Valid {
			t.Fatalf("on-call at SERIALIZABLE: %s (%s)", r.Verdict, r.Reason)
		}
	})
}
