package recommend_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"

	"github.com/go-sql-driver/mysql"

	"consist/internal/servertest"
)

// These tests put recommend's claims about MariaDB to the real server
// (scripts/servers.sh), in the manner of Kleppmann's Hermitage: two
// sessions interleaved statement by statement, in an order the test
// fixes, show what a weaker level lets through and that the recommended
// setting stops it. Where a statement must wait for a lock, it runs in a
// goroutine and the test waits for its answer, not for time.

// mariadb opens the test server and creates the tables, with the rows
// given, dropping them when the test ends.
func mariadb(t *testing.T, tables map[string][]string) *sql.DB {
	t.Helper()
	dsn := servertest.Env(t, servertest.MySQLDSN)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", servertest.MySQLDSN, err)
	}
	cfg.Logger = &mysql.NopLogger{}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(connector)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	for name, stmts := range tables {
		if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS "+name); err != nil {
			t.Fatalf("drop %s: %v", name, err)
		}
		for _, s := range stmts {
			if _, err := db.ExecContext(ctx, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		t.Cleanup(func() { db.ExecContext(context.Background(), "DROP TABLE IF EXISTS "+name) })
	}
	return db
}

// session is one connection, at one isolation level.
type session struct {
	t *testing.T
	c *sql.Conn
}

func open(t *testing.T, db *sql.DB, level string, extra ...string) *session {
	t.Helper()
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &session{t, c}
	s.exec("SET SESSION innodb_lock_wait_timeout = 20")
	s.exec("SET SESSION TRANSACTION ISOLATION LEVEL " + level)
	for _, e := range extra {
		s.exec(e)
	}
	return s
}

func (s *session) exec(q string, args ...any) {
	s.t.Helper()
	if err := s.try(q, args...); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
}

func (s *session) try(q string, args ...any) error {
	_, err := s.c.ExecContext(context.Background(), q, args...)
	return err
}

func (s *session) int(q string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.c.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rows returns how many rows q returns.
func (s *session) rows(q string) int {
	s.t.Helper()
	n, err := s.countRows(q)
	if err != nil {
		s.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// countRows is rows for a goroutine: it returns the error.
func (s *session) countRows(q string) (int, error) {
	rs, err := s.c.QueryContext(context.Background(), q)
	if err != nil {
		return 0, err
	}
	defer rs.Close()
	n := 0
	for rs.Next() {
		n++
	}
	return n, rs.Err()
}

// code is the server's error number of err, 0 when it has none.
func code(err error) uint16 {
	var m *mysql.MySQLError
	if errors.As(err, &m) {
		return m.Number
	}
	return 0
}

func stock(n int) map[string][]string {
	return map[string][]string{"rec_items": {
		"CREATE TABLE rec_items (id INT PRIMARY KEY, stock INT NOT NULL) ENGINE=InnoDB",
		fmt.Sprintf("INSERT INTO rec_items VALUES (1, %d)", n),
	}}
}

// Inventory at READ COMMITTED with a plain SELECT: both orders read a
// stock of 1 and both sell it (lost update). With the recommended SELECT
// ... FOR UPDATE, the second order waits for the first and reads 0.
func TestMariaDBInventory(t *testing.T) {
	t.Run("read committed loses an update", func(t *testing.T) {
		db := mariadb(t, stock(1))
		a, b := open(t, db, "READ COMMITTED"), open(t, db, "READ COMMITTED")
		a.exec("START TRANSACTION")
		b.exec("START TRANSACTION")
		na := a.int("SELECT stock FROM rec_items WHERE id = 1")
		nb := b.int("SELECT stock FROM rec_items WHERE id = 1")
		a.exec("UPDATE rec_items SET stock = ? WHERE id = 1", na-1)
		a.exec("COMMIT")
		b.exec("UPDATE rec_items SET stock = ? WHERE id = 1", nb-1)
		b.exec("COMMIT")
		if na != 1 || nb != 1 {
			t.Fatalf("the orders read %d and %d, want 1 and 1", na, nb)
		}
		// Both sold the one unit: the stock says 0, not -1.
		if n := a.int("SELECT stock FROM rec_items WHERE id = 1"); n != 0 {
			t.Fatalf("stock %d after two sales of the last unit", n)
		}
	})
	t.Run("MariaDB's repeatable read loses it too, unless innodb_snapshot_isolation", func(t *testing.T) {
		db := mariadb(t, stock(1))
		a, b := open(t, db, "REPEATABLE READ", "SET SESSION innodb_snapshot_isolation = OFF"), open(t, db, "REPEATABLE READ", "SET SESSION innodb_snapshot_isolation = OFF")
		a.exec("START TRANSACTION")
		b.exec("START TRANSACTION")
		na, nb := a.int("SELECT stock FROM rec_items WHERE id = 1"), b.int("SELECT stock FROM rec_items WHERE id = 1")
		a.exec("UPDATE rec_items SET stock = ? WHERE id = 1", na-1)
		a.exec("COMMIT")
		b.exec("UPDATE rec_items SET stock = ? WHERE id = 1", nb-1)
		b.exec("COMMIT")
		if na != 1 || nb != 1 {
			t.Fatalf("the orders read %d and %d, want 1 and 1: both sold the last unit", na, nb)
		}

		db = mariadb(t, stock(1))
		a, b = open(t, db, "REPEATABLE READ", "SET SESSION innodb_snapshot_isolation = ON"), open(t, db, "REPEATABLE READ", "SET SESSION innodb_snapshot_isolation = ON")
		a.exec("START TRANSACTION")
		b.exec("START TRANSACTION")
		na, nb = a.int("SELECT stock FROM rec_items WHERE id = 1"), b.int("SELECT stock FROM rec_items WHERE id = 1")
		a.exec("UPDATE rec_items SET stock = ? WHERE id = 1", na-1)
		a.exec("COMMIT")
		err := b.try("UPDATE rec_items SET stock = ? WHERE id = 1", nb-1)
		if code(err) != 1020 {
			t.Fatalf("with innodb_snapshot_isolation the second order's update of a row changed since its snapshot gave %v, want error 1020", err)
		}
		b.try("ROLLBACK")
	})
	t.Run("FOR UPDATE sells the last unit once", func(t *testing.T) {
		db := mariadb(t, stock(1))
		a, b := open(t, db, "READ COMMITTED"), open(t, db, "READ COMMITTED")
		a.exec("START TRANSACTION")
		na := a.int("SELECT stock FROM rec_items WHERE id = 1 FOR UPDATE")
		type order struct {
			read int
			err  error
		}
		done := make(chan order, 1)
		go func() {
			// Waits for a's lock, then reads the stock a left.
			if err := b.try("START TRANSACTION"); err != nil {
				done <- order{err: err}
				return
			}
			var n int
			if err := b.c.QueryRowContext(context.Background(), "SELECT stock FROM rec_items WHERE id = 1 FOR UPDATE").Scan(&n); err != nil {
				done <- order{err: err}
				return
			}
			if n >= 1 {
				if err := b.try("UPDATE rec_items SET stock = ? WHERE id = 1", n-1); err != nil {
					done <- order{err: err}
					return
				}
			}
			done <- order{read: n, err: b.try("COMMIT")}
		}()
		a.exec("UPDATE rec_items SET stock = ? WHERE id = 1", na-1)
		a.exec("COMMIT")
		o := <-done
		if o.err != nil {
			t.Fatal(o.err)
		}
		if na != 1 || o.read != 0 {
			t.Fatalf("the orders read %d and %d, want 1 and 0", na, o.read)
		}
	})
	t.Run("one conditional UPDATE sells the last unit once", func(t *testing.T) {
		db := mariadb(t, stock(1))
		var sold int64
		for range 2 {
			r, err := db.ExecContext(context.Background(), "UPDATE rec_items SET stock = stock - 1 WHERE id = 1 AND stock >= 1")
			if err != nil {
				t.Fatal(err)
			}
			n, _ := r.RowsAffected()
			sold += n
		}
		if sold != 1 {
			t.Fatalf("sold %d units of 1", sold)
		}
	})
}

func doctors() map[string][]string {
	return map[string][]string{"rec_doctors": {
		"CREATE TABLE rec_doctors (name VARCHAR(16) PRIMARY KEY, shift INT NOT NULL, on_call BOOLEAN NOT NULL, KEY (shift)) ENGINE=InnoDB",
		"INSERT INTO rec_doctors VALUES ('alice', 7, TRUE), ('bob', 7, TRUE)",
	}}
}

// The doctors on call: at MariaDB's REPEATABLE READ (with or without
// innodb_snapshot_isolation, which stops lost update only) both doctors
// see two on call and both leave: write skew. At the recommended
// SERIALIZABLE the two transactions deadlock on their shared read locks
// and one is rolled back; one doctor stays on call. At REPEATABLE READ
// with SELECT ... FOR UPDATE, the second waits and sees one on call.
func TestMariaDBOnCall(t *testing.T) {
	for _, si := range []string{"OFF", "ON"} {
		t.Run("repeatable read lets write skew through, innodb_snapshot_isolation="+si, func(t *testing.T) {
			db := mariadb(t, doctors())
			set := "SET SESSION innodb_snapshot_isolation = " + si
			a, b := open(t, db, "REPEATABLE READ", set), open(t, db, "REPEATABLE READ", set)
			a.exec("START TRANSACTION")
			b.exec("START TRANSACTION")
			ca := a.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call")
			cb := b.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call")
			if ca != 2 || cb != 2 {
				t.Fatalf("counted %d and %d on call, want 2 and 2", ca, cb)
			}
			a.exec("UPDATE rec_doctors SET on_call = FALSE WHERE shift = 7 AND name = 'alice'")
			b.exec("UPDATE rec_doctors SET on_call = FALSE WHERE shift = 7 AND name = 'bob'")
			a.exec("COMMIT")
			b.exec("COMMIT")
			if n := a.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call"); n != 0 {
				t.Fatalf("%d on call after both left; want 0 (write skew)", n)
			}
		})
	}
	t.Run("serializable keeps one on call", func(t *testing.T) {
		db := mariadb(t, doctors())
		a, b := open(t, db, "SERIALIZABLE"), open(t, db, "SERIALIZABLE")
		a.exec("START TRANSACTION")
		b.exec("START TRANSACTION")
		if ca, cb := a.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call"), b.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call"); ca != 2 || cb != 2 {
			t.Fatalf("counted %d and %d on call, want 2 and 2", ca, cb)
		}
		// Each update needs the row the other has read-locked: one waits,
		// the other closes the cycle, and InnoDB rolls one back.
		doneA := make(chan error, 1)
		go func() {
			err := a.try("UPDATE rec_doctors SET on_call = FALSE WHERE shift = 7 AND name = 'alice'")
			if err == nil {
				err = a.try("COMMIT")
			}
			doneA <- err
		}()
		errB := b.try("UPDATE rec_doctors SET on_call = FALSE WHERE shift = 7 AND name = 'bob'")
		if errB == nil {
			errB = b.try("COMMIT")
		}
		errA := <-doneA
		if (errA == nil) == (errB == nil) {
			t.Fatalf("alice's transaction: %v; bob's: %v; want exactly one rolled back", errA, errB)
		}
		if c := code(errors.Join(errA, errB)); c != 1213 {
			t.Errorf("the rolled-back transaction failed with %v %v, want a deadlock (1213)", errA, errB)
		}
		a.try("ROLLBACK")
		b.try("ROLLBACK")
		if n := a.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call"); n != 1 {
			t.Fatalf("%d on call, want 1", n)
		}
	})
	t.Run("FOR UPDATE at repeatable read keeps one on call", func(t *testing.T) {
		db := mariadb(t, doctors())
		a, b := open(t, db, "REPEATABLE READ"), open(t, db, "REPEATABLE READ")
		a.exec("START TRANSACTION")
		if n := a.rows("SELECT name FROM rec_doctors WHERE shift = 7 AND on_call FOR UPDATE"); n != 2 {
			t.Fatalf("alice counted %d on call, want 2", n)
		}
		seen := make(chan int, 1)
		go func() {
			// Waits for alice's locks, then sees her change.
			b.try("START TRANSACTION")
			n, err := b.countRows("SELECT name FROM rec_doctors WHERE shift = 7 AND on_call FOR UPDATE")
			if err != nil {
				n = -1
			}
			if n > 1 {
				b.try("UPDATE rec_doctors SET on_call = FALSE WHERE shift = 7 AND name = 'bob'")
			}
			b.try("COMMIT")
			seen <- n
		}()
		a.exec("UPDATE rec_doctors SET on_call = FALSE WHERE shift = 7 AND name = 'alice'")
		a.exec("COMMIT")
		if n := <-seen; n != 1 {
			t.Fatalf("bob counted %d on call after alice left, want 1", n)
		}
		if n := a.int("SELECT COUNT(*) FROM rec_doctors WHERE shift = 7 AND on_call"); n != 1 {
			t.Fatalf("%d on call, want 1", n)
		}
	})
}

// Reports: at READ COMMITTED each query of a report takes a new view, so
// a transfer between two of its queries makes the total wrong (read
// skew). The recommended START TRANSACTION READ ONLY, WITH CONSISTENT
// SNAPSHOT at REPEATABLE READ reads one snapshot: the total holds.
func TestMariaDBReports(t *testing.T) {
	accounts := map[string][]string{"rec_accounts": {
		"CREATE TABLE rec_accounts (id INT PRIMARY KEY, branch INT NOT NULL, balance INT NOT NULL) ENGINE=InnoDB",
		"INSERT INTO rec_accounts VALUES (1, 1, 100), (2, 2, 100)",
	}}
	transfer := func(s *session) {
		s.exec("START TRANSACTION")
		s.exec("UPDATE rec_accounts SET balance = balance - 10 WHERE id = 1")
		s.exec("UPDATE rec_accounts SET balance = balance + 10 WHERE id = 2")
		s.exec("COMMIT")
	}
	for _, tc := range []struct {
		level, start string
		total        int
	}{
		{"READ COMMITTED", "START TRANSACTION", 210},
		{"REPEATABLE READ", "START TRANSACTION READ ONLY, WITH CONSISTENT SNAPSHOT", 200},
	} {
		t.Run(tc.level, func(t *testing.T) {
			db := mariadb(t, accounts)
			r, w := open(t, db, tc.level), open(t, db, "SERIALIZABLE")
			r.exec(tc.start)
			b1 := r.int("SELECT SUM(balance) FROM rec_accounts WHERE branch = 1")
			transfer(w)
			b2 := r.int("SELECT SUM(balance) FROM rec_accounts WHERE branch = 2")
			r.exec("COMMIT")
			if b1+b2 != tc.total {
				t.Fatalf("the report totals %d + %d = %d, want %d", b1, b2, b1+b2, tc.total)
			}
		})
	}
}

// Transfers at the recommended SERIALIZABLE: two transfers out of one
// account both read its balance under a shared lock; their updates
// deadlock and one is rolled back, so no debit is lost. At READ
// COMMITTED the same interleaving loses one.
func TestMariaDBTransfers(t *testing.T) {
	accounts := map[string][]string{"rec_accounts": {
		"CREATE TABLE rec_accounts (id INT PRIMARY KEY, branch INT NOT NULL, balance INT NOT NULL) ENGINE=InnoDB",
		"INSERT INTO rec_accounts VALUES (1, 1, 100), (2, 1, 0), (3, 1, 0)",
	}}
	for _, tc := range []struct {
		level    string
		balances []int // of accounts 1, 2, 3 after both transfers
		rolled   bool  // whether one transfer is rolled back
	}{
		{"READ COMMITTED", []int{70, 30, 30}, false},
		{"SERIALIZABLE", []int{70, 30, 0}, true},
	} {
		t.Run(tc.level, func(t *testing.T) {
			db := mariadb(t, accounts)
			a, b := open(t, db, tc.level), open(t, db, tc.level)
			a.exec("START TRANSACTION")
			b.exec("START TRANSACTION")
			ba, bb := a.int("SELECT balance FROM rec_accounts WHERE id = 1"), b.int("SELECT balance FROM rec_accounts WHERE id = 1")
			// Each moves 30 from account 1, writing the balance it read
			// minus 30, as an application that computes in the client does.
			doneA := make(chan error, 1)
			go func() {
				err := a.try("UPDATE rec_accounts SET balance = ? WHERE id = 1", ba-30)
				if err == nil {
					err = a.try("UPDATE rec_accounts SET balance = balance + 30 WHERE id = 2")
				}
				if err == nil {
					err = a.try("COMMIT")
				}
				doneA <- err
			}()
			if !tc.rolled {
				// At READ COMMITTED a's update takes no lock b holds: let
				// it commit first, as the lost update needs.
				if err := <-doneA; err != nil {
					t.Fatal(err)
				}
				doneA <- nil
			}
			errB := b.try("UPDATE rec_accounts SET balance = ? WHERE id = 1", bb-30)
			if errB == nil {
				errB = b.try("UPDATE rec_accounts SET balance = balance + 30 WHERE id = 3")
			}
			if errB == nil {
				errB = b.try("COMMIT")
			}
			errA := <-doneA
			if tc.rolled {
				if (errA == nil) == (errB == nil) || code(errors.Join(errA, errB)) != 1213 {
					t.Fatalf("transfer a: %v; b: %v; want exactly one rolled back by a deadlock", errA, errB)
				}
				a.try("ROLLBACK")
				b.try("ROLLBACK")
			} else if errA != nil || errB != nil {
				t.Fatalf("transfer a: %v; b: %v", errA, errB)
			}
			got := []int{a.int("SELECT balance FROM rec_accounts WHERE id = 1"), a.int("SELECT balance FROM rec_accounts WHERE id = 2"), a.int("SELECT balance FROM rec_accounts WHERE id = 3")}
			if tc.rolled && got[1] == 0 {
				// b's transfer was the one kept.
				got[1], got[2] = got[2], got[1]
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.balances) {
				t.Fatalf("balances %v, want %v", got, tc.balances)
			}
		})
	}
}
