// Package objects is the data model the bundled stores share: how an
// operation of each kind (register, counter, set, list, bank) acts on an
// object's value. Values are immutable: Apply never changes the value it
// is given, so replicas, siblings and recorded results may share them.
package objects

import (
	"cmp"
	"fmt"
	"slices"

	"consist/adapters"
	"consist/history"
)

// Apply performs op on the object holding cur (nil before any operation)
// and returns the object's next value and what op returns: the value read,
// or nil. An error wraps adapters.ErrNotApplied: the object is unchanged.
func Apply(cur any, op adapters.Op) (next, result any, err error) {
	if op.F == "read" {
		return cur, Read(op.Kind, cur), nil
	}
	switch op.Kind {
	case adapters.Register:
		switch op.F {
		case "write":
			return op.Value, nil, nil
		case "cas":
			pair, ok := op.Value.([]any)
			if !ok || len(pair) != 2 {
				return cur, nil, adapters.NotApplied(fmt.Sprintf("cas needs [expected, new], got %s", history.Describe(op.Value)))
			}
			if !history.Equal(cur, pair[0]) {
				return cur, nil, adapters.NotApplied(fmt.Sprintf("cas expected %s, found %s", history.Describe(pair[0]), history.Describe(cur)))
			}
			return pair[1], nil, nil
		}
	case adapters.Counter:
		if op.F == "add" {
			delta, ok := op.Value.(int64)
			if !ok {
				return cur, nil, adapters.NotApplied(fmt.Sprintf("a counter adds integers, not %s", history.Describe(op.Value)))
			}
			n, _ := cur.(int64)
			return n + delta, nil, nil
		}
	case adapters.Set:
		if op.F == "add" {
			return addElement(cur, op.Value), nil, nil
		}
	case adapters.List:
		if op.F == "append" {
			list, _ := cur.([]any)
			return append(slices.Clip(list), op.Value), nil, nil
		}
	case adapters.Bank:
		switch op.F {
		case "write":
			return op.Value, nil, nil
		case "transfer":
			return transfer(cur, op.Value)
		}
	}
	return cur, nil, adapters.NotApplied(fmt.Sprintf("a %s does not support %q", op.Kind, op.F))
}

// Read returns what a read of an object of kind k holding v returns.
func Read(k adapters.Kind, v any) any {
	switch k {
	case adapters.Counter:
		n, _ := v.(int64)
		return n
	case adapters.Set, adapters.List:
		if v == nil {
			return []any{}
		}
	case adapters.Bank:
		if v == nil {
			return map[string]any{}
		}
	}
	return v
}

// addElement returns the sorted set cur with e added.
func addElement(cur, e any) any {
	set, _ := cur.([]any)
	i, found := slices.BinarySearchFunc(set, e, CompareElements)
	if found {
		return set
	}
	return slices.Insert(slices.Clip(set), i, e)
}

// CompareElements orders set elements as a read returns them: by
// canonical encoding, except that integers compare as numbers, and come
// first.
func CompareElements(a, b any) int {
	ai, aok := a.(int64)
	bi, bok := b.(int64)
	switch {
	case aok && bok:
		return cmp.Compare(ai, bi)
	case aok:
		return -1
	case bok:
		return 1
	}
	ac, bc := history.Canonical(a), history.Canonical(b)
	switch {
	case ac < bc:
		return -1
	case ac > bc:
		return 1
	}
	return 0
}

// transfer moves an amount between two accounts of the balances cur.
func transfer(cur, value any) (next, result any, err error) {
	t, ok := value.(map[string]any)
	from, fok := t["from"].(string)
	to, took := t["to"].(string)
	amount, aok := t["amount"].(int64)
	if !ok || !fok || !took || !aok || amount < 0 {
		return cur, nil, adapters.NotApplied(fmt.Sprintf(`a transfer needs {"from": account, "to": account, "amount": n ≥ 0}, got %s`, history.Describe(value)))
	}
	balances, _ := cur.(map[string]any)
	fromBalance, fromOK := balances[from].(int64)
	toBalance, toOK := balances[to].(int64)
	switch {
	case !fromOK || !toOK:
		return cur, nil, adapters.NotApplied(fmt.Sprintf("transfer between %s and %s: no such account", from, to))
	case fromBalance < amount:
		return cur, nil, adapters.NotApplied(fmt.Sprintf("transfer of %d from %s: its balance is %d", amount, from, fromBalance))
	}
	next = cloneBalances(balances)
	nb := next.(map[string]any)
	nb[from] = fromBalance - amount
	nb[to] = toBalance + amount
	if from == to {
		nb[from] = fromBalance
	}
	return next, nil, nil
}

func cloneBalances(b map[string]any) any {
	out := make(map[string]any, len(b))
	for k, v := range b {
		out[k] = v
	}
	return out
}
