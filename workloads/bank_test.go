package workloads_test

import (
	"testing"

	"consist/adapters"
	"consist/checker/bank"
	"consist/history"
	"consist/workloads"
)

func TestBankSetup(t *testing.T) {
	wl := mustNew(t, "bank", workloads.Options{Keys: 3})
	setup := wl.(workloads.Setup).Setup()
	want := map[string]any{"a0": int64(100), "a1": int64(100), "a2": int64(100)}
	if len(setup) != 1 || setup[0].Kind != adapters.Bank || setup[0].F != "write" || setup[0].Key != nil || !history.Equal(setup[0].Value, want) {
		t.Errorf("setup %+v, want one write of %v", setup, want)
	}
}

func TestBank(t *testing.T) {
	wl := mustNew(t, "bank", workloads.Options{})
	r := drive(t, wl, 4, 2000, 1)
	const total = 5 * workloads.BankInitialBalance
	transfers, reads := 0, 0
	for _, op := range r.ops[1:] {
		if op.Kind != adapters.Bank || op.Key != nil {
			t.Fatalf("op %+v: want bank ops on the default object", op)
		}
		switch op.F {
		case "transfer":
			transfers++
			tr := op.Value.(map[string]any)
			amount := tr["amount"].(int64)
			if tr["from"] == tr["to"] || amount < 1 || amount > workloads.MaxTransfer {
				t.Fatalf("transfer %v: want %d at most between two accounts", tr, workloads.MaxTransfer)
			}
		case "read":
			reads++
		default:
			t.Fatalf("op %+v", op)
		}
	}
	if transfers < 800 || reads < 800 {
		t.Errorf("%d transfers, %d reads", transfers, reads)
	}
	var sum int64
	balances := r.state[nil].(map[string]any)
	for _, b := range balances {
		sum += b.(int64)
	}
	if len(balances) != 5 || sum != total {
		t.Errorf("balances %v: want 5 accounts holding %d", balances, total)
	}
	res := mustValid(t, wl, r, bank.Check)
	if d := res.Details.(*bank.Details); d.Total != total || d.Accounts != 5 || d.Reads != reads {
		t.Errorf("details %+v, want %d reads", d, reads)
	}
}
