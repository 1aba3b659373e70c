package objects_test

import (
	"errors"
	"testing"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/history"
)

func TestApply(t *testing.T) {
	balances := map[string]any{"a": int64(10), "b": int64(0)}
	for _, tc := range []struct {
		name       string
		cur        any
		op         adapters.Op
		next, read any
		notApplied bool
	}{
		{"read of a register never written", nil, adapters.Op{F: "read"}, nil, nil, false},
		{"write", int64(1), adapters.Op{F: "write", Value: int64(2)}, int64(2), nil, false},
		{"cas that matches", int64(1), adapters.Op{F: "cas", Value: []any{int64(1), int64(3)}}, int64(3), nil, false},
		{"cas that does not", int64(1), adapters.Op{F: "cas", Value: []any{int64(2), int64(3)}}, int64(1), nil, true},
		{"cas from never written", nil, adapters.Op{F: "cas", Value: []any{nil, int64(3)}}, int64(3), nil, false},
		{"counter add", int64(4), adapters.Op{Kind: adapters.Counter, F: "add", Value: int64(-1)}, int64(3), nil, false},
		{"counter read before any add", nil, adapters.Op{Kind: adapters.Counter, F: "read"}, nil, int64(0), false},
		{"counter add of no integer", nil, adapters.Op{Kind: adapters.Counter, F: "add", Value: "x"}, nil, nil, true},
		{"set add keeps order", []any{int64(1), int64(5)}, adapters.Op{Kind: adapters.Set, F: "add", Value: int64(3)}, []any{int64(1), int64(3), int64(5)}, nil, false},
		{"set add of a member", []any{int64(1)}, adapters.Op{Kind: adapters.Set, F: "add", Value: int64(1)}, []any{int64(1)}, nil, false},
		{"set read before any add", nil, adapters.Op{Kind: adapters.Set, F: "read"}, nil, []any{}, false},
		{"list append", []any{int64(2)}, adapters.Op{Kind: adapters.List, F: "append", Value: int64(1)}, []any{int64(2), int64(1)}, nil, false},
		{"transfer", balances, adapters.Op{Kind: adapters.Bank, F: "transfer", Value: map[string]any{"from": "a", "to": "b", "amount": int64(4)}},
			map[string]any{"a": int64(6), "b": int64(4)}, nil, false},
		{"overdraft", balances, adapters.Op{Kind: adapters.Bank, F: "transfer", Value: map[string]any{"from": "b", "to": "a", "amount": int64(1)}}, balances, nil, true},
		{"transfer to no account", balances, adapters.Op{Kind: adapters.Bank, F: "transfer", Value: map[string]any{"from": "a", "to": "z", "amount": int64(1)}}, balances, nil, true},
		{"unsupported", nil, adapters.Op{Kind: adapters.Set, F: "cas"}, nil, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := history.Canonical(tc.cur)
			next, read, err := objects.Apply(tc.cur, tc.op)
			if got := errors.Is(err, adapters.ErrNotApplied); got != tc.notApplied || (err != nil && !got) {
				t.Fatalf("error %v, want not applied: %v", err, tc.notApplied)
			}
			if !history.Equal(next, tc.next) || !history.Equal(read, tc.read) {
				t.Fatalf("next %s, read %s; want %s, %s", history.Describe(next), history.Describe(read), history.Describe(tc.next), history.Describe(tc.read))
			}
			if after := history.Canonical(tc.cur); after != before {
				t.Fatalf("Apply changed the value it was given: %s became %s", before, after)
			}
		})
	}
}

// TestAppendsDoNotShareStorage appends twice to one list: values are
// immutable, so the two results must not see each other.
func TestAppendsDoNotShareStorage(t *testing.T) {
	base := make([]any, 1, 8)
	base[0] = int64(0)
	a, _, _ := objects.Apply(base, adapters.Op{Kind: adapters.List, F: "append", Value: int64(1)})
	b, _, _ := objects.Apply(base, adapters.Op{Kind: adapters.List, F: "append", Value: int64(2)})
	if !history.Equal(a, []any{int64(0), int64(1)}) || !history.Equal(b, []any{int64(0), int64(2)}) {
		t.Fatalf("two appends to one list gave %v and %v", a, b)
	}
}
