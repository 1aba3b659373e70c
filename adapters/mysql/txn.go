package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"consist/adapters"
	"consist/history"
)

// Holds says which kinds of object the store keeps: adapters.RealKinds.
func (s *Store) Holds(k adapters.Kind) (bool, string) {
	return adapters.HoldsOf("mysql", adapters.RealKinds, k)
}

var _ adapters.Holder = (*Store)(nil)

// txnBody returns the statements of a transaction (Kind Txn): one or two
// per micro-op, in order, on the rows of the <prefix>_txn table. A key's
// row holds its list in l, as Jepsen's SQL suites keep one (the elements
// in decimal, comma-separated, appended with CONCAT), and its register in
// r. An append is INSERT … ON DUPLICATE KEY UPDATE l = CONCAT_WS(',', l,
// ?); a write INSERT … ON DUPLICATE KEY UPDATE r = ?; a read a plain
// SELECT of the row, whose l (split) or else r it returns. op.Guard, if
// set, is called before the first write, with the micro-ops done so far;
// its error rolls the transaction back (fail). So a read is
// the level's read (a consistent read from a snapshot, a locking read at
// SERIALIZABLE), and a write is always a locking "current" read of the
// newest committed row: what the levels differ in is what reads see.
func (s *Store) txnBody(op adapters.Op) (body, error) {
	mops, ok := op.Value.([]adapters.MicroOp)
	if !ok {
		return nil, adapters.NotApplied(fmt.Sprintf("mysql: a transaction's value is a []adapters.MicroOp, not %T", op.Value))
	}
	type step struct {
		query string
		args  []any
		key   string
	}
	t := s.tables.txn
	steps := make([]step, len(mops))
	for i, m := range mops {
		key, err := keyOf(adapters.Op{Key: m.Key})
		if err != nil {
			return nil, err
		}
		steps[i].key = key
		switch m.F {
		case "r":
			steps[i].query = "SELECT l, r FROM " + t + " WHERE k = ?"
		case "append", "w":
			v, err := intValue(adapters.Op{Key: m.Key}, "a "+m.F+"'s value", m.Value)
			if err != nil {
				return nil, err
			}
			if m.F == "append" {
				steps[i].query = "INSERT INTO " + t + " (k, l) VALUES (?, ?) ON DUPLICATE KEY UPDATE l = CONCAT_WS(',', l, ?)"
			} else {
				steps[i].query = "INSERT INTO " + t + " (k, r) VALUES (?, ?) ON DUPLICATE KEY UPDATE r = ?"
			}
			steps[i].args = []any{key, v, v}
		default:
			return nil, adapters.NotApplied(fmt.Sprintf("mysql: micro-op %q on %s: a transaction's micro-ops are append, w and r", m.F, history.Describe(m.Key)))
		}
	}
	return func(ctx context.Context, tx *sql.Tx) (any, error) {
		out := make([]adapters.MicroOp, len(mops))
		guarded := op.Guard == nil
		for i, m := range mops {
			out[i] = m
			st := steps[i]
			if m.F != "r" && !guarded {
				if err := op.Guard(out[:i]); err != nil {
					return nil, fmt.Errorf("the transaction's condition failed: %w: %w", err, adapters.ErrNotApplied)
				}
				guarded = true
			}
			if m.F != "r" {
				if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
					return nil, err
				}
				continue
			}
			var l sql.NullString
			var r sql.NullInt64
			err := tx.QueryRowContext(ctx, st.query, st.key).Scan(&l, &r)
			switch {
			case err == sql.ErrNoRows:
				out[i].Value = nil
			case err != nil:
				return nil, err
			case l.Valid:
				list, err := splitList(l.String)
				if err != nil {
					return nil, fmt.Errorf("mysql: read %s: %w", history.Describe(m.Key), err)
				}
				out[i].Value = list
			case r.Valid:
				out[i].Value = r.Int64
			}
		}
		return out, nil
	}, nil
}

// splitList reads a list as appends wrote it: decimal integers separated
// by commas.
func splitList(s string) ([]any, error) {
	if s == "" {
		return []any{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]any, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the list holds %q, not comma-separated integers: something other than consist wrote it; use a fresh table prefix", s)
		}
		out[i] = n
	}
	return out, nil
}

// writes reports whether a transaction's micro-ops write anything.
func writes(op adapters.Op) bool {
	mops, _ := op.Value.([]adapters.MicroOp)
	for _, m := range mops {
		if m.F != "r" {
			return true
		}
	}
	return false
}
