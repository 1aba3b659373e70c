package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"consist/adapters"
	"consist/checker"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
)

// dsn returns the test server's DSN, skipping the test without one.
func dsn(t testing.TB) string { return servertest.Env(t, servertest.MySQLDSN) }

// newStore returns a store on the test server, closed when the test ends.
func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.DSN == "" {
		opts.DSN = dsn(t)
	}
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// sqlDB opens a connection pool of the test's own on the test server.
func sqlDB(t testing.TB) *sql.DB {
	db, err := sql.Open("mysql", dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// isolations are the levels the unit tests run at.
var isolations = []sql.IsolationLevel{sql.LevelDefault, sql.LevelReadCommitted, sql.LevelSerializable}

func TestRegister(t *testing.T) {
	for _, level := range isolations {
		t.Run(level.String(), func(t *testing.T) {
			c := storetest.Open(t, newStore(t, Options{Isolation: level}))
			storetest.Perform(t, c, []storetest.Step{
				{Op: storetest.Reg("read", "k", nil), Want: nil, Outcome: history.OK},
				{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK},
				{Op: storetest.Reg("read", "k", nil), Want: int64(1), Outcome: history.OK},
				{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK},
				{Op: storetest.Reg("cas", "k", []any{int64(1), int64(2)}), Outcome: history.OK},
				{Op: storetest.Reg("cas", "k", []any{int64(1), int64(3)}), Outcome: history.Fail, ErrText: "cas: value was 2, expected 1"},
				{Op: storetest.Reg("cas", "k", []any{nil, int64(3)}), Outcome: history.Fail, ErrText: "value was 2"},
				// A cas to the value it expects is applied, and says so.
				{Op: storetest.Reg("cas", "k", []any{int64(2), int64(2)}), Outcome: history.OK},
				{Op: storetest.Reg("read", "k", nil), Want: int64(2), Outcome: history.OK},
				{Op: storetest.Reg("cas", "absent", []any{int64(1), int64(3)}), Outcome: history.Fail, ErrText: "value was nil (absent)"},
				{Op: storetest.Reg("cas", "absent", []any{nil, int64(-7)}), Outcome: history.OK},
				{Op: storetest.Reg("read", "absent", nil), Want: int64(-7), Outcome: history.OK},
				// Keys differ in case and trailing spaces.
				{Op: storetest.Reg("read", "K", nil), Want: nil, Outcome: history.OK},
				{Op: storetest.Reg("read", "k ", nil), Want: nil, Outcome: history.OK},
				{Op: storetest.Reg("write", int64(4), int64(1<<62)), Outcome: history.OK},
				{Op: storetest.Reg("read", int64(4), nil), Want: int64(1 << 62), Outcome: history.OK},
				{Op: storetest.Reg("read", strings.Repeat("x", 192), nil), Outcome: history.Fail, ErrText: "at most 191"},
				{Op: storetest.Reg("write", "k", "text"), Outcome: history.Fail, ErrText: "must be an integer"},
				{Op: storetest.Reg("cas", "k", int64(1)), Outcome: history.Fail, ErrText: "needs [expected, new]"},
				{Op: storetest.Reg("append", "k", int64(1)), Outcome: history.Fail, ErrText: `does not support "append"`},
			})
		})
	}
}

// TestObjects: the counter and set objects, and the kinds not supported,
// as every adapter promises them; a register of a counter's name is
// another object.
func TestObjects(t *testing.T) {
	c := storetest.Open(t, newStore(t, Options{}))
	storetest.Objects(t, c)
	storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("read", "c", nil), Want: nil, Outcome: history.OK}})
}

func TestParseIsolation(t *testing.T) {
	for in, want := range map[string]sql.IsolationLevel{
		"read-uncommitted": sql.LevelReadUncommitted,
		"read-committed":   sql.LevelReadCommitted,
		"REPEATABLE READ":  sql.LevelRepeatableRead,
		"serializable":     sql.LevelSerializable,
		"read_committed":   sql.LevelReadCommitted,
		"":                 sql.LevelDefault,
		"default":          sql.LevelDefault,
	} {
		if got, err := ParseIsolation(in); err != nil || got != want {
			t.Errorf("ParseIsolation(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"snapshot", "linearizable", "serialisable"} {
		if _, err := ParseIsolation(in); err == nil || !strings.Contains(err.Error(), "read-uncommitted, read-committed, repeatable-read or serializable") {
			t.Errorf("ParseIsolation(%q): %v, want an error listing the levels", in, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	const password = "hunter2-secret"
	real, err := mysql.ParseDSN(dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	wrongPassword := real.Clone()
	wrongPassword.Passwd = password
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no DSN", Options{}, "set Options.DSN"},
		{"bad DSN", Options{DSN: "root:" + password + "@tcp(127.0.0.1:1"}, "the DSN does not parse"},
		{"no database", Options{DSN: "root:" + password + "@tcp(127.0.0.1:1)/"}, "names no database"},
		{"closed port", Options{DSN: "root:" + password + "@tcp(127.0.0.1:1)/consist"}, "connect to 127.0.0.1:1"},
		{"wrong password", Options{DSN: wrongPassword.FormatDSN()}, "Access denied"},
		{"bad prefix", Options{DSN: dsn(t), TablePrefix: "a-b"}, "table prefix"},
		{"bad isolation", Options{DSN: dsn(t), Isolation: sql.LevelSnapshot}, "not one MySQL has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(t.Context(), tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), password) {
				t.Errorf("error %q: want it to say %q, and never the password", err, tc.want)
			}
		})
	}
}

// TestNodes: the one node is the DSN's address, without credentials.
func TestNodes(t *testing.T) {
	cfg, err := mysql.ParseDSN(dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, Options{})
	if nodes := s.Nodes(); len(nodes) != 1 || nodes[0] != cfg.Addr || strings.Contains(nodes[0], "@") {
		t.Errorf("nodes %v, want [%s]", nodes, cfg.Addr)
	}
	if _, err := s.Open(t.Context(), "elsewhere:1"); err == nil || !strings.Contains(err.Error(), cfg.Addr) {
		t.Errorf("Open(elsewhere:1) = %v, want an error naming the node", err)
	}
}

// TestUnreachableFails: an operation that could not connect failed.
func TestUnreachableFails(t *testing.T) {
	s := newStore(t, Options{})
	cfg := mysql.NewConfig()
	cfg.Addr, cfg.DBName, cfg.Timeout = "127.0.0.1:1", "consist", time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	down := &Store{opts: s.opts, db: sql.OpenDB(conn), node: cfg.Addr, tables: s.tables}
	defer down.db.Close()
	c := storetest.Open(t, down)
	storetest.Perform(t, c, []storetest.Step{
		{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.Fail, ErrText: "connection refused"},
		{Op: storetest.Reg("read", "k", nil), Outcome: history.Fail, ErrText: "connection refused"},
	})
}

// TestLockedRowFails: a write that waits for a lock until its context
// ends was rolled back, and fails; the client carries on with a fresh
// connection.
func TestLockedRowFails(t *testing.T) {
	for _, level := range isolations {
		t.Run(level.String(), func(t *testing.T) {
			s := newStore(t, Options{Isolation: level})
			c := storetest.Open(t, s)
			storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK}})
			tx, err := sqlDB(t).BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(t.Context(), "SELECT v FROM "+s.tables.registers+" WHERE k = 'k' FOR UPDATE"); err != nil {
				t.Fatal(err)
			}
			for _, op := range []adapters.Op{storetest.Reg("write", "k", int64(2)), storetest.Reg("cas", "k", []any{int64(1), int64(3)})} {
				ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
				_, err = c.Do(ctx, op)
				cancel()
				if adapters.Outcome(err) != history.Fail || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s while the row is locked: %v, want a failure saying the context ran out", op.F, err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("read", "k", nil), Want: int64(1), Outcome: history.OK}})
		})
	}
}

// TestCommitErrors: which errors of COMMIT fail an operation, and which
// leave it unknown.
func TestCommitErrors(t *testing.T) {
	c := &client{s: &Store{node: "db:3306"}}
	write, read := storetest.Reg("write", "k", int64(1)), storetest.Reg("read", "k", nil)
	for _, tc := range []struct {
		op   adapters.Op
		err  error
		want history.Type
	}{
		{write, &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}, history.Fail},
		{write, &mysql.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"}, history.Fail},
		{write, sql.ErrTxDone, history.Fail},
		{write, &mysql.MySQLError{Number: 1180, Message: "Got error during COMMIT"}, history.Info},
		{write, driver.ErrBadConn, history.Info},
		{write, mysql.ErrInvalidConn, history.Info},
		{write, io.ErrUnexpectedEOF, history.Info},
		{write, context.DeadlineExceeded, history.Info},
		{read, mysql.ErrInvalidConn, history.Fail},
		{read, context.DeadlineExceeded, history.Fail},
	} {
		if got := adapters.Outcome(c.commitErr(tc.op, fmt.Errorf("wrapped: %w", tc.err))); got != tc.want {
			t.Errorf("%s, commit error %v: %s, want %s", tc.op.F, tc.err, got, tc.want)
		}
	}
}

func TestClosedStore(t *testing.T) {
	s, err := New(t.Context(), Options{DSN: dsn(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Open(t, s)
	storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.Perform(t, c, []storetest.Step{
		{Op: storetest.Reg("write", "k", int64(2)), Outcome: history.Fail, ErrText: "closed"},
		{Op: storetest.Reg("read", "k", nil), Outcome: history.Fail, ErrText: "closed"},
	})
	if _, err := s.Open(t.Context(), s.Nodes()[0]); err == nil {
		t.Error("Open on a closed store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestCloseDropsTables: Close drops the run's tables unless told to keep
// them, and a fresh store, with fresh tables, starts empty.
func TestCloseDropsTables(t *testing.T) {
	db := sqlDB(t)
	count := func(prefix string) int {
		var n int
		err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE ?", prefix+`\_%`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, keep := range []bool{false, true} {
		s, err := New(t.Context(), Options{DSN: dsn(t), Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(s.TablePrefix()); n != 4 {
			t.Errorf("%d tables named %s_*, want 4", n, s.TablePrefix())
		}
		storetest.Perform(t, storetest.Open(t, s), []storetest.Step{{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK}})
		storetest.Perform(t, storetest.Open(t, newStore(t, Options{})), []storetest.Step{{Op: storetest.Reg("read", "k", nil), Want: nil, Outcome: history.OK}})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := count(s.TablePrefix()), map[bool]int{false: 0, true: 4}[keep]; got != want {
			t.Errorf("keep %v: %d tables left, want %d", keep, got, want)
		}
		if keep {
			// A store with the same prefix reuses the tables and their rows.
			again := newStore(t, Options{TablePrefix: s.TablePrefix()})
			storetest.Perform(t, storetest.Open(t, again), []storetest.Step{{Op: storetest.Reg("read", "k", nil), Want: int64(1), Outcome: history.OK}})
		}
	}
}

// TestRun: ten clients of each workload, without faults. The register
// workload is linearizable at SERIALIZABLE, and at READ COMMITTED too:
// every operation touches one row, UPDATE and INSERT lock it, and a read
// in a fresh transaction sees every transaction committed before it.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		workload string
		level    sql.IsolationLevel
		models   []checker.Model
	}{
		{"register", sql.LevelSerializable, []checker.Model{checker.Linearizable}},
		{"register", sql.LevelReadCommitted, []checker.Model{checker.Linearizable}},
		{"counter", sql.LevelDefault, []checker.Model{checker.Counter}},
		{"set", sql.LevelDefault, []checker.Model{checker.SetFull}},
	} {
		t.Run(tc.workload+"/"+tc.level.String(), func(t *testing.T) {
			s := newStore(t, Options{Isolation: tc.level})
			h, counts := storetest.Workload(t, s, tc.workload, 2*time.Second, 3000, 1)
			t.Logf("%d ok, %d fail, %d info", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
			if counts.OK.Load() < 500 || counts.Info.Load() != 0 {
				t.Fatalf("%d ok, %d fail, %d info: want at least 500 ok and no info", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
			}
			storetest.Expect(t, h, tc.models, nil)
		})
	}
}

// BenchmarkThroughput drives the server with 10 clients of the register
// workload as fast as it answers, alternating a run that records nothing
// with one that writes the history to a file, and reports each one's
// throughput and the cost of recording:
//
//	CONSIST_MYSQL_DSN='root@tcp(127.0.0.1:3306)/consist' go test ./adapters/mysql -run '^$' -bench Throughput -benchtime 3x
//
// CONSIST_MYSQL_ISOLATION picks the isolation level (default: the
// server's).
func BenchmarkThroughput(b *testing.B) {
	level, err := ParseIsolation(os.Getenv("CONSIST_MYSQL_ISOLATION"))
	if err != nil {
		b.Fatal(err)
	}
	storetest.Throughput(b, func(tb testing.TB) adapters.Store { return newStore(tb, Options{Isolation: level}) }, 5_000)
}
