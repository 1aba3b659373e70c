package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-sql-driver/mysql"

	"consist/adapters"
	"consist/history"
)

// client is one process: its own connection, taken on its first
// operation.
type client struct {
	s *Store
	// mu is held through each operation, so that the store's Close waits
	// for the one in flight before it takes the connection away.
	mu   sync.Mutex
	conn *sql.Conn
}

var _ adapters.Client = (*client)(nil)

// body is the statements of an operation, run in its transaction. Its
// error, if any, is returned as it is (it rolls the transaction back).
type body func(ctx context.Context, tx *sql.Tx) (any, error)

// The server's error numbers after which it has rolled the transaction
// (or the statement) back.
const (
	errLockWaitTimeout = 1205
	errDeadlock        = 1213
	// errRecordChanged is MariaDB's "Record has changed since last read"
	// (innodb_snapshot_isolation, MariaDB 11.6 and later).
	errRecordChanged = 1020
	// errLockNowait is MySQL's ER_LOCK_NOWAIT.
	errLockNowait = 3572
)

// Do performs op in a transaction of its own; see the package
// documentation for what its error means.
func (c *client) Do(ctx context.Context, op adapters.Op) (any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b body
	var err error
	if op.Kind == adapters.Txn {
		b, err = c.s.txnBody(op)
	} else {
		var key string
		if key, err = keyOf(op); err == nil {
			b, err = c.s.plan(op, key)
		}
	}
	if err != nil {
		return nil, err
	}
	if c.conn == nil {
		conn, err := c.s.db.Conn(ctx)
		if err != nil {
			return nil, c.fail(op, "connect", err)
		}
		c.conn = conn
	}
	tx, err := c.conn.BeginTx(ctx, &sql.TxOptions{Isolation: c.s.opts.Isolation})
	if err != nil {
		c.drop(err)
		return nil, c.fail(op, "begin a transaction", err)
	}
	result, err := b(ctx, tx)
	if err != nil {
		tx.Rollback()
		if errors.Is(err, adapters.ErrNotApplied) {
			return nil, err // the cas did not match
		}
		c.drop(err)
		return nil, c.fail(op, "", err)
	}
	if ctx.Err() != nil {
		// Out of time before COMMIT: nothing is committed.
		tx.Rollback()
		c.drop(ctx.Err())
		return nil, c.fail(op, "commit", ctx.Err())
	}
	if err := tx.Commit(); err != nil {
		c.drop(err)
		return nil, c.commitErr(op, err)
	}
	return result, nil
}

// commitErr classifies an error of COMMIT: a read (or a transaction that
// only reads) fails whatever it was, and so does a write the server says
// it rolled back, or whose transaction had already ended (database/sql
// rolls back a transaction whose context ran out); any other leaves a
// write unknown.
func (c *client) commitErr(op adapters.Op, err error) error {
	readOnly := op.F == "read" || (op.Kind == adapters.Txn && !writes(op))
	if readOnly || rolledBack(err) || errors.Is(err, sql.ErrTxDone) {
		return c.fail(op, "commit", err)
	}
	return fmt.Errorf("mysql: %s on %s: commit: %w (the server may or may not have committed it)", what(op), c.s.node, err)
}

// what names op in messages: its function and key, or a transaction's
// micro-ops.
func what(op adapters.Op) string {
	if mops, ok := op.Value.([]adapters.MicroOp); ok && op.Kind == adapters.Txn {
		return "txn " + history.Describe(adapters.MicroOpsValue(mops))
	}
	return op.F + " " + history.Describe(op.Key)
}

// fail wraps err, met while doing doing, as a failure: op certainly did not
// take effect.
func (c *client) fail(op adapters.Op, doing string, err error) error {
	if doing != "" {
		doing += ": "
	}
	return fmt.Errorf("mysql: %s on %s: %s%w (%w)", what(op), c.s.node, doing, err, adapters.ErrNotApplied)
}

// drop lets go of the client's connection after err, unless err is the
// server's answer (the connection is then still good): the next operation
// takes another.
func (c *client) drop(err error) {
	var serverErr *mysql.MySQLError
	if errors.As(err, &serverErr) || c.conn == nil {
		return
	}
	c.conn.Close()
	c.conn = nil
}

// rolledBack reports whether err is the server saying it rolled the
// transaction back.
func rolledBack(err error) bool {
	var serverErr *mysql.MySQLError
	if !errors.As(err, &serverErr) {
		return false
	}
	switch serverErr.Number {
	case errDeadlock, errLockWaitTimeout, errRecordChanged, errLockNowait:
		return true
	}
	return false
}

// Close returns the client's connection.
func (c *client) Close() error {
	c.s.clients.Remove(c)
	return c.close()
}

func (c *client) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	if errors.Is(err, sql.ErrConnDone) {
		return nil
	}
	return err
}

// keyOf returns op's key as stored: a string of at most 191 bytes.
func keyOf(op adapters.Op) (string, error) {
	var k string
	switch key := op.Key.(type) {
	case string:
		k = key
	case int64:
		k = strconv.FormatInt(key, 10)
	case int:
		k = strconv.Itoa(key)
	case nil:
		k = "default"
	default:
		return "", adapters.NotApplied(fmt.Sprintf("mysql: keys are strings or integers, not %s", history.Describe(op.Key)))
	}
	if len(k) > 191 {
		return "", adapters.NotApplied(fmt.Sprintf("mysql: key %s is %d bytes long: keys hold at most 191", history.Describe(op.Key), len(k)))
	}
	return k, nil
}

// plan returns the statements that perform op on key.
func (s *Store) plan(op adapters.Op, key string) (body, error) {
	t := s.tables
	switch op.Kind {
	case adapters.Register:
		switch op.F {
		case "read":
			return func(ctx context.Context, tx *sql.Tx) (any, error) {
				v, _, err := readInt(ctx, tx, "SELECT v FROM "+t.registers+" WHERE k = ?", key)
				if v.Valid {
					return v.Int64, err
				}
				return nil, err
			}, nil
		case "write":
			v, err := intValue(op, "a register's value", op.Value)
			if err != nil {
				return nil, err
			}
			return exec("INSERT INTO "+t.registers+" (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = ?", key, v, v), nil
		case "cas":
			return s.cas(op, key)
		}
	case adapters.Counter:
		switch op.F {
		case "read":
			return func(ctx context.Context, tx *sql.Tx) (any, error) {
				v, _, err := readInt(ctx, tx, "SELECT v FROM "+t.counters+" WHERE k = ?", key)
				return v.Int64, err // 0 without a row
			}, nil
		case "add":
			d, err := intValue(op, "a counter's delta", op.Value)
			if err != nil {
				return nil, err
			}
			return exec("INSERT INTO "+t.counters+" (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = v + ?", key, d, d), nil
		}
	case adapters.Set:
		switch op.F {
		case "read":
			return func(ctx context.Context, tx *sql.Tx) (any, error) {
				return readSet(ctx, tx, "SELECT e FROM "+t.sets+" WHERE k = ? ORDER BY e", key)
			}, nil
		case "add":
			e, err := intValue(op, "a set's element", op.Value)
			if err != nil {
				return nil, err
			}
			return exec("INSERT IGNORE INTO "+t.sets+" (k, e) VALUES (?, ?)", key, e), nil
		}
	default:
		return nil, adapters.NotApplied(fmt.Sprintf("mysql: the mysql adapter supports register, counter and set objects and transactions, not %s: pick another workload", op.Kind))
	}
	return nil, adapters.NotApplied(fmt.Sprintf("mysql: a %s does not support %q", op.Kind, op.F))
}

// cas returns the statements of a compare-and-set: an UPDATE of the row
// holding the expected value, or with nil expected an INSERT IGNORE of a
// row that must not exist. Either is applied when it affected a row; when
// not, the statements read the value, for the message.
func (s *Store) cas(op adapters.Op, key string) (body, error) {
	pair, ok := op.Value.([]any)
	if !ok || len(pair) != 2 {
		return nil, adapters.NotApplied(fmt.Sprintf("mysql: cas on %s needs [expected, new], got %s", history.Describe(op.Key), history.Describe(op.Value)))
	}
	next, err := intValue(op, "cas's new value", pair[1])
	if err != nil {
		return nil, err
	}
	t := s.tables.registers
	query, args := "INSERT IGNORE INTO "+t+" (k, v) VALUES (?, ?)", []any{key, next}
	if pair[0] != nil {
		expected, err := intValue(op, "cas's expected value", pair[0])
		if err != nil {
			return nil, err
		}
		query, args = "UPDATE "+t+" SET v = ? WHERE k = ? AND v = ?", []any{next, key, expected}
	}
	return func(ctx context.Context, tx *sql.Tx) (any, error) {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil || n > 0 {
			return nil, err
		}
		v, found, err := readInt(ctx, tx, "SELECT v FROM "+t+" WHERE k = ?", key)
		if err != nil {
			return nil, err
		}
		was := "nil (absent)"
		switch {
		case v.Valid:
			was = strconv.FormatInt(v.Int64, 10)
		case found:
			was = "NULL"
		}
		return nil, adapters.NotApplied(fmt.Sprintf("cas: value was %s, expected %s", was, describe(pair[0])))
	}, nil
}

// exec returns a body that runs one statement.
func exec(query string, args ...any) body {
	return func(ctx context.Context, tx *sql.Tx) (any, error) {
		_, err := tx.ExecContext(ctx, query, args...)
		return nil, err
	}
}

// readInt runs a query of one BIGINT column and at most one row; found
// tells whether it returned a row.
func readInt(ctx context.Context, tx *sql.Tx, query string, args ...any) (v sql.NullInt64, found bool, err error) {
	err = tx.QueryRowContext(ctx, query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return v, false, nil
	}
	return v, err == nil, err
}

// readSet runs a query of one BIGINT column and returns its rows.
func readSet(ctx context.Context, tx *sql.Tx, query string, args ...any) (any, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []any{}
	for rows.Next() {
		var e int64
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// intValue returns v as an int64, or an error that says that what must be
// an integer.
func intValue(op adapters.Op, what string, v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	}
	return 0, adapters.NotApplied(fmt.Sprintf("mysql: %s of %s must be an integer, not %s", what, history.Describe(op.Key), history.Describe(v)))
}

// describe renders a register's value for messages: nil is an absent
// register.
func describe(v any) string {
	if v == nil {
		return "nil (absent)"
	}
	return history.Describe(v)
}
