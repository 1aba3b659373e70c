package objects_test

import (
	"errors"
	"testing"

	"consist/adapters"
	"consist/adapters/builtin/objects"
	"consist/history"
)

func txn(mops ...adapters.MicroOp) adapters.Op {
	return adapters.Op{Kind: adapters.Txn, F: "txn", Value: mops}
}

// TestApplyTxn: micro-ops apply in order, reads see the transaction's own
// writes, and the objects change only when the whole commits.
func TestApplyTxn(t *testing.T) {
	objs := map[any]any{"x": []any{int64(1)}, "r": int64(7)}
	got, err := objects.ApplyTxn(objs, txn(
		adapters.MicroOp{F: "r", Key: "x"},
		adapters.MicroOp{F: "append", Key: "x", Value: int64(2)},
		adapters.MicroOp{F: "r", Key: "x"},
		adapters.MicroOp{F: "r", Key: "y"},
		adapters.MicroOp{F: "w", Key: "r", Value: int64(8)},
		adapters.MicroOp{F: "r", Key: "r"},
	))
	if err != nil {
		t.Fatal(err)
	}
	want := `[["r","x",[1]],["append","x",2],["r","x",[1,2]],["r","y",null],["w","r",8],["r","r",8]]`
	if c := history.Canonical(adapters.MicroOpsValue(got)); c != want {
		t.Fatalf("answered %s, want %s", c, want)
	}
	if !history.Equal(objs["x"], []any{int64(1), int64(2)}) || objs["r"] != int64(8) {
		t.Fatalf("objects after commit: %v", objs)
	}

	// An append to a register aborts the transaction: its earlier
	// append must not show.
	before := history.Canonical(objs)
	_, err = objects.ApplyTxn(objs, txn(
		adapters.MicroOp{F: "append", Key: "x", Value: int64(3)},
		adapters.MicroOp{F: "append", Key: "r", Value: int64(4)},
	))
	if !errors.Is(err, adapters.ErrNotApplied) || history.Canonical(objs) != before {
		t.Fatalf("aborted transaction: %v, objects %s (were %s)", err, history.Canonical(objs), before)
	}
}

// TestGuard: the guard sees the reads before the first write, and its
// refusal aborts the transaction.
func TestGuard(t *testing.T) {
	objs := map[any]any{"a": int64(1)}
	var seen []adapters.MicroOp
	op := txn(adapters.MicroOp{F: "r", Key: "a"}, adapters.MicroOp{F: "w", Key: "a", Value: int64(2)}, adapters.MicroOp{F: "r", Key: "a"})
	op.Guard = func(reads []adapters.MicroOp) error {
		seen = reads
		if reads[0].Value != int64(1) {
			return errors.New("a moved")
		}
		return nil
	}
	if _, err := objects.Do(objs, op); err != nil || objs["a"] != int64(2) || len(seen) != 1 || seen[0].Value != int64(1) {
		t.Fatalf("guarded transaction: %v, a = %v, guard saw %v", err, objs["a"], seen)
	}
	_, err := objects.Do(objs, op)
	if !errors.Is(err, adapters.ErrNotApplied) || objs["a"] != int64(2) || err.Error() != "the transaction's condition failed: a moved: not applied" {
		t.Fatalf("refused transaction: %v, a = %v", err, objs["a"])
	}
	if objects.ReadOnly(op) || !objects.ReadOnly(txn(adapters.MicroOp{F: "r", Key: "a"})) || !objects.ReadOnly(adapters.Op{F: "read"}) {
		t.Fatal("ReadOnly misjudges")
	}
}
