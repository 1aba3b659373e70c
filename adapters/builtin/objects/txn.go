package objects

import (
	"fmt"
	"slices"

	"consist/adapters"
	"consist/history"
)

// Do performs op on objs, the objects of a store by key: a transaction
// (Kind Txn) through ApplyTxn, any other operation through Apply on the
// object at op.Key. objs changes only when op takes effect.
func Do(objs map[any]any, op adapters.Op) (result any, err error) {
	if op.Kind == adapters.Txn {
		mops, err := ApplyTxn(objs, op)
		if err != nil {
			return nil, err
		}
		return mops, nil
	}
	next, result, err := Apply(objs[op.Key], op)
	if err == nil {
		objs[op.Key] = next
	}
	return result, err
}

// ApplyTxn performs the transaction op (Kind Txn, Value a
// []adapters.MicroOp) on objs atomically: every micro-op in order, each
// read seeing the transaction's own earlier writes, and objs changed only
// if the whole transaction commits. It returns the micro-ops with each
// read's value filled in: a list for a key holding one, the register's
// value otherwise (nil for a key never written). op.Guard, if set, is
// called once the micro-ops before the first write are done; its error
// aborts the transaction. An error wraps adapters.ErrNotApplied: objs is
// unchanged.
func ApplyTxn(objs map[any]any, op adapters.Op) ([]adapters.MicroOp, error) {
	mops, ok := op.Value.([]adapters.MicroOp)
	if op.F != "txn" || !ok {
		return nil, adapters.NotApplied(fmt.Sprintf("a transaction is a txn of []MicroOp, not %s of %T", op.F, op.Value))
	}
	out := slices.Clone(mops)
	// writes buffers the transaction's writes until it commits.
	writes := map[any]any{}
	get := func(k any) any {
		if v, ok := writes[k]; ok {
			return v
		}
		return objs[k]
	}
	guarded := op.Guard == nil
	for i, m := range out {
		if !guarded && m.F != "r" {
			if err := op.Guard(out[:i]); err != nil {
				return nil, fmt.Errorf("the transaction's condition failed: %w: %w", err, adapters.ErrNotApplied)
			}
			guarded = true
		}
		switch m.F {
		case "r":
			out[i].Value = get(m.Key)
		case "w":
			writes[m.Key] = m.Value
		case "append":
			cur := get(m.Key)
			list, isList := cur.([]any)
			if cur != nil && !isList {
				return nil, adapters.NotApplied(fmt.Sprintf("append to key %s, which holds the register value %s: lists and registers are not mixed", history.Describe(m.Key), history.Describe(cur)))
			}
			writes[m.Key] = append(slices.Clip(list), m.Value)
		default:
			return nil, adapters.NotApplied(fmt.Sprintf("micro-op %q: use append, w or r", m.F))
		}
	}
	for k, v := range writes {
		objs[k] = v
	}
	return out, nil
}

// ReadOnly reports whether op only reads: a read, or a transaction of
// reads alone.
func ReadOnly(op adapters.Op) bool {
	if op.Kind != adapters.Txn {
		return op.F == "read"
	}
	mops, _ := op.Value.([]adapters.MicroOp)
	for _, m := range mops {
		if m.F != "r" {
			return false
		}
	}
	return true
}
