package etcd

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"

	"consist/adapters"
	"consist/history"
)

// Holds says which kinds of object the store keeps: adapters.RealKinds.
func (s *Store) Holds(k adapters.Kind) (bool, string) {
	return adapters.HoldsOf("etcd", adapters.RealKinds, k)
}

var _ adapters.Holder = (*Store)(nil)

// txnKey is a transaction's key as etcd stores it: under the run's prefix
// and "txn/", apart from the other objects.
func (c *client) txnKey(k any) string { return c.prefix + "txn/" + fmt.Sprint(k) }

// version is what the read phase saw of a key.
type version struct {
	value any
	// mod is the key's modification revision, 0 when it does not exist.
	mod int64
}

// txn performs a transaction (Kind Txn) in at most two etcd requests:
//
//  1. a Txn of a Get of every key the transaction touches, which etcd
//     answers at one revision (linearizable unless Options.SerializableReads);
//  2. unless the transaction only reads, a Txn that compares every such
//     key's ModRevision with the one read (0 for a key that did not exist)
//     and, if none changed, puts each written key's final value.
//
// The micro-ops are performed between the two on what the first read,
// each read seeing the transaction's own writes, and op.Guard is called
// before the first write. So a transaction takes effect at the second
// request's revision, and only if what it read still held there; else
// it fails (fail, never retried). Values are integers: a list is stored
// as its elements in decimal between brackets, "[1,2,3]"; a register as
// its value in decimal.
//
// Outcomes: an error of the first request, a guard that refused, or a
// comparison that failed leave nothing written (fail); an error of the
// second leaves the transaction unknown.
func (c *client) txn(ctx context.Context, op adapters.Op) (any, error) {
	mops, ok := op.Value.([]adapters.MicroOp)
	if !ok {
		return nil, adapters.NotApplied(fmt.Sprintf("etcd: a transaction's value is a []adapters.MicroOp, not %T", op.Value))
	}
	var keys []string
	writes := false
	for _, m := range mops {
		switch m.F {
		case "r":
		case "w", "append":
			if _, ok := m.Value.(int64); !ok {
				return nil, adapters.NotApplied(fmt.Sprintf("etcd: %s to %s of %s: a transaction writes integers", m.F, history.Describe(m.Key), history.Describe(m.Value)))
			}
		default:
			return nil, adapters.NotApplied(fmt.Sprintf("etcd: micro-op %q on %s: a transaction's micro-ops are append, w and r", m.F, history.Describe(m.Key)))
		}
		writes = writes || m.F != "r"
		if k := c.txnKey(m.Key); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	gets := make([]clientv3.Op, len(keys))
	for i, k := range keys {
		var opts []clientv3.OpOption
		if c.serializable {
			opts = append(opts, clientv3.WithSerializable())
		}
		gets[i] = clientv3.OpGet(k, opts...)
	}
	resp, err := c.c.Txn(ctx).Then(gets...).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcd: read a transaction's keys: %w (%w)", err, adapters.ErrNotApplied)
	}
	read := map[string]version{}
	for i, r := range resp.Responses {
		kvs := r.GetResponseRange().GetKvs()
		if len(kvs) == 0 {
			continue
		}
		v, err := decodeTxnValue(kvs[0].Value)
		if err != nil {
			return nil, fmt.Errorf("etcd: %s: %w", keys[i], err)
		}
		read[keys[i]] = version{value: v, mod: kvs[0].ModRevision}
	}

	out := slices.Clone(mops)
	state := map[string]any{}
	for k, v := range read {
		state[k] = v.value
	}
	written := map[string]bool{}
	guarded := op.Guard == nil
	for i, m := range out {
		k := c.txnKey(m.Key)
		if m.F != "r" && !guarded {
			if err := op.Guard(out[:i]); err != nil {
				return nil, fmt.Errorf("the transaction's condition failed: %w: %w", err, adapters.ErrNotApplied)
			}
			guarded = true
		}
		switch m.F {
		case "r":
			out[i].Value = state[k]
		case "w":
			state[k], written[k] = m.Value, true
		case "append":
			list, isList := state[k].([]any)
			if state[k] != nil && !isList {
				return nil, adapters.NotApplied(fmt.Sprintf("etcd: append to %s, which holds the register value %s: lists and registers are not mixed", history.Describe(m.Key), history.Describe(state[k])))
			}
			state[k], written[k] = append(slices.Clip(list), m.Value), true
		}
	}
	if !writes {
		return out, nil
	}

	cmps := make([]clientv3.Cmp, len(keys))
	var puts []clientv3.Op
	for i, k := range keys {
		cmps[i] = clientv3.Compare(clientv3.ModRevision(k), "=", read[k].mod)
		if written[k] {
			puts = append(puts, clientv3.OpPut(k, encodeTxnValue(state[k])))
		}
	}
	commit, err := c.c.Txn(ctx).If(cmps...).Then(puts...).Commit()
	if err != nil {
		return nil, fmt.Errorf("etcd: commit the transaction: %w (it may or may not have taken effect)", err)
	}
	if !commit.Succeeded {
		return nil, adapters.NotApplied("etcd: a key the transaction read changed before it committed: aborted")
	}
	return out, nil
}

// encodeTxnValue writes a list as "[1,2,3]" and a register's value as
// encode does.
func encodeTxnValue(v any) string {
	list, ok := v.([]any)
	if !ok {
		return encode(v)
	}
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range list {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(encode(e))
	}
	b.WriteByte(']')
	return b.String()
}

// decodeTxnValue reads back what encodeTxnValue wrote.
func decodeTxnValue(b []byte) (any, error) {
	s := string(b)
	if !strings.HasPrefix(s, "[") {
		return decode(b), nil
	}
	if !strings.HasSuffix(s, "]") {
		return nil, fmt.Errorf("holds %q, which is not a list as consist writes them: use a fresh prefix", s)
	}
	s = s[1 : len(s)-1]
	out := []any{}
	if s == "" {
		return out, nil
	}
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("holds a list with %q, not an integer: use a fresh prefix", p)
		}
		out = append(out, n)
	}
	return out, nil
}
