package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"consist/adapters"
	"consist/history"
)

// Holds says which kinds of object the store keeps: adapters.RealKinds.
func (s *Store) Holds(k adapters.Kind) (bool, string) {
	return adapters.HoldsOf("redis", adapters.RealKinds, k)
}

var _ adapters.Holder = (*Store)(nil)

// txnKeys are the Redis keys of a transaction's key: a Redis list for
// appends, a string for the register.
type txnKeys struct{ list, register string }

func (c *client) txnKeys(k any) (txnKeys, error) {
	key, err := c.key(adapters.Op{Kind: adapters.Txn, Key: k})
	return txnKeys{list: key + ":l", register: key + ":r"}, err
}

// reading is a read queued in a pipeline: the list and the register of
// the key, one of which is empty.
type reading struct {
	list     *goredis.StringSliceCmd
	register *goredis.StringCmd
}

func queueRead(p goredis.Pipeliner, ctx context.Context, k txnKeys) reading {
	return reading{list: p.LRange(ctx, k.list, 0, -1), register: p.Get(ctx, k.register)}
}

// value returns what the read found: the list, else the register's
// value, else nil.
func (r reading) value(op adapters.Op) (any, error) {
	list, err := r.list.Result()
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		out := make([]any, len(list))
		for i, e := range list {
			if out[i], err = parseInt(op, e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	s, err := r.register.Result()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseInt(op, s)
}

// txn performs a transaction (Kind Txn) on the primary. Its leading
// reads — the micro-ops before its first write — are read first, under
// WATCH of their keys, when the transaction has a guard (which must see
// them before it writes) or when they are read from a replica
// (Options.ReadFromReplica); the rest is one MULTI/EXEC on the primary,
// every micro-op in order, which Redis runs without interleaving
// anything, and which it discards (EXEC answers nil) when a watched key
// changed after WATCH: the transaction then fails. Without a guard and
// reading from the primary, the whole transaction is one MULTI/EXEC and
// nothing is watched: Elle's appends and writes are blind, so nothing
// needs the values read before the commit. A read is LRANGE of the key's
// list and GET of its register; appends are RPUSH, writes SET.
//
// Outcomes: a transaction that only reads fails on any error. One that
// writes fails when EXEC was refused (EXECABORT) or discarded (a watched
// key changed), when the guard refused, or when the leading reads
// failed; any other error of MULTI/EXEC leaves it unknown.
func (c *client) txn(ctx context.Context, op adapters.Op) (any, error) {
	mops, ok := op.Value.([]adapters.MicroOp)
	if !ok {
		return nil, adapters.NotApplied(fmt.Sprintf("redis: a transaction's value is a []adapters.MicroOp, not %T", op.Value))
	}
	keys := make([]txnKeys, len(mops))
	first := len(mops) // the first write
	for i, m := range mops {
		var err error
		if keys[i], err = c.txnKeys(m.Key); err != nil {
			return nil, err
		}
		switch m.F {
		case "r":
			continue
		case "append", "w":
			if _, err = intValue(op, "a "+m.F+"'s value", m.Value); err != nil {
				return nil, err
			}
		default:
			return nil, adapters.NotApplied(fmt.Sprintf("redis: micro-op %q on %s: a transaction's micro-ops are append, w and r", m.F, history.Describe(m.Key)))
		}
		first = min(first, i)
	}
	out := make([]adapters.MicroOp, len(mops))
	copy(out, mops)
	interactive := first > 0 && first < len(mops) && (op.Guard != nil || c.reader != c.primary)
	if first == len(mops) {
		// Only reads: one MULTI/EXEC where they are read.
		if err := c.readAll(ctx, op, c.reader.TxPipelined, out, keys); err != nil {
			return nil, err
		}
		return out, nil
	}
	if !interactive {
		if op.Guard != nil && first == 0 {
			if err := op.Guard(out[:0]); err != nil {
				return nil, fmt.Errorf("the transaction's condition failed: %w: %w", err, adapters.ErrNotApplied)
			}
		}
		if err := c.exec(ctx, op, nil, out, keys, 0); err != nil {
			return nil, err
		}
		return out, nil
	}
	watched := make([]string, 0, 2*first)
	for _, k := range keys[:first] {
		watched = append(watched, k.list, k.register)
	}
	ran := false
	err := c.primary.Watch(ctx, func(tx *goredis.Tx) error {
		ran = true
		// From the primary, the reads follow WATCH on its connection,
		// pipelined but not in a MULTI (whose EXEC would end the watch);
		// from a replica, in a MULTI/EXEC there.
		read := c.reader.TxPipelined
		if c.reader == c.primary {
			read = tx.Pipelined
		}
		if err := c.readAll(ctx, op, read, out[:first], keys[:first]); err != nil {
			return err
		}
		if op.Guard != nil {
			if err := op.Guard(out[:first]); err != nil {
				return fmt.Errorf("the transaction's condition failed: %w: %w", err, adapters.ErrNotApplied)
			}
		}
		return c.exec(ctx, op, tx, out, keys, first)
	}, watched...)
	switch {
	case err != nil && !ran:
		// WATCH itself failed: nothing was sent after it.
		return nil, fmt.Errorf("redis: watch the transaction's keys on %s: %w (%w)", c.primary.Options().Addr, err, adapters.ErrNotApplied)
	case err != nil:
		return nil, err
	}
	return out, nil
}

// readAll reads the keys of mops, all reads, in one pipeline of
// pipelined (a MULTI/EXEC, or not), and fills them in.
func (c *client) readAll(ctx context.Context, op adapters.Op, pipelined func(context.Context, func(goredis.Pipeliner) error) ([]goredis.Cmder, error), mops []adapters.MicroOp, keys []txnKeys) error {
	readings := make([]reading, len(mops))
	_, err := pipelined(ctx, func(p goredis.Pipeliner) error {
		for i := range mops {
			readings[i] = queueRead(p, ctx, keys[i])
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return c.txnReadErr(err)
	}
	for i := range mops {
		v, err := readings[i].value(op)
		if err != nil {
			return c.txnReadErr(err)
		}
		mops[i].Value = v
	}
	return nil
}

// exec runs mops[from:] as one MULTI/EXEC on the primary (in tx, which
// watches keys, when it is not nil), and fills in their reads.
func (c *client) exec(ctx context.Context, op adapters.Op, tx *goredis.Tx, mops []adapters.MicroOp, keys []txnKeys, from int) error {
	readings := make([]reading, len(mops))
	queue := func(p goredis.Pipeliner) error {
		for i := from; i < len(mops); i++ {
			m, k := mops[i], keys[i]
			switch m.F {
			case "r":
				readings[i] = queueRead(p, ctx, k)
			case "append":
				c.s.wrote(k.list)
				p.RPush(ctx, k.list, m.Value)
			case "w":
				c.s.wrote(k.register)
				p.Set(ctx, k.register, m.Value, 0)
			}
		}
		return nil
	}
	var err error
	if tx != nil {
		_, err = tx.TxPipelined(ctx, queue)
	} else {
		_, err = c.primary.TxPipelined(ctx, queue)
	}
	switch {
	case errors.Is(err, goredis.TxFailedErr):
		return adapters.NotApplied("redis: a key the transaction read changed before EXEC: aborted")
	case err != nil && goredis.IsExecAbortError(err):
		return fmt.Errorf("redis: the primary refused the transaction: %w (%w)", err, adapters.ErrNotApplied)
	case err != nil && !errors.Is(err, goredis.Nil):
		if notSent(err) && !isReply(err) {
			return fmt.Errorf("redis: txn on %s: %w (%w)", c.primary.Options().Addr, err, adapters.ErrNotApplied)
		}
		return fmt.Errorf("redis: txn on %s: %w (the transaction may or may not have taken effect)", c.primary.Options().Addr, err)
	}
	for i := from; i < len(mops); i++ {
		if mops[i].F != "r" {
			continue
		}
		v, err := readings[i].value(op)
		if err != nil {
			return fmt.Errorf("redis: txn on %s: read %s after EXEC: %w (the transaction took effect)", c.primary.Options().Addr, history.Describe(mops[i].Key), err)
		}
		mops[i].Value = v
	}
	return nil
}

// isReply reports whether err is Redis's answer to a command: inside
// EXEC, a command that errs does not undo the others.
func isReply(err error) bool {
	var redisErr goredis.Error
	return errors.As(err, &redisErr)
}

// txnReadErr wraps the error of a transaction's reads, which had no
// effect.
func (c *client) txnReadErr(err error) error {
	if errors.Is(err, adapters.ErrNotApplied) {
		return err
	}
	return fmt.Errorf("redis: txn: read from %s: %w (%w)", c.node, err, adapters.ErrNotApplied)
}
