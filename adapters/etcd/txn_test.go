package etcd

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"consist/adapters"
	"consist/checker"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/txntest"
)

func TestTxn(t *testing.T) {
	_, c := open(t)
	txntest.Semantics(t, c)
	if ok, why := (&Store{}).Holds(adapters.List); ok || !strings.Contains(why, "transactions") {
		t.Errorf("Holds(List) = %v, %q: want a refusal naming what the store keeps", ok, why)
	}
}

// TestTxnConflictAborts: of two transactions that read a key and then
// append to it, one commits and the other fails: the key changed after
// it read it.
func TestTxnConflictAborts(t *testing.T) {
	s, c := open(t)
	c2, err := s.Open(t.Context(), s.Nodes()[len(s.Nodes())-1])
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	txntest.Do(t, c, txntest.Mop("append", int64(1), int64(1)))
	// c2's guard runs between its read and its commit: c commits there.
	op := txntest.Op(txntest.Mop("r", int64(1), nil), txntest.Mop("append", int64(1), int64(3)))
	var once sync.Once
	op.Guard = func([]adapters.MicroOp) error {
		once.Do(func() { txntest.Do(t, c, txntest.Mop("r", int64(1), nil), txntest.Mop("append", int64(1), int64(2))) })
		return nil
	}
	_, err = c2.Do(t.Context(), op)
	if adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), "changed before it committed") {
		t.Fatalf("a transaction whose key changed between its read and its commit: %v, want a failure", err)
	}
	txntest.Perform(t, c, []txntest.Step{{Mops: []adapters.MicroOp{txntest.Mop("r", int64(1), nil)}, Want: []any{[]any{"r", int64(1), []any{int64(1), int64(2)}}}}})
}

// TestTxnStrictSerializable: ten clients spread over the three members
// contend for three keys; every run is strict-serializable (no anomaly
// at all), in both workloads, and conflicts abort transactions.
func TestTxnStrictSerializable(t *testing.T) {
	txns := 1500
	if testing.Short() {
		txns = 400
	}
	for _, wl := range []txntest.Workload{txntest.ListAppend, txntest.RWRegister} {
		t.Run(string(wl), func(t *testing.T) {
			open := func(t testing.TB) adapters.Store {
				s, err := New(context.Background(), Options{Endpoints: servertest.List(t, servertest.EtcdEndpoints)})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			_, r := txntest.Seek(t, open, txntest.Plan{Workload: wl, Clients: 10, Txns: txns, OpTimeout: 30 * time.Second}, txntest.Expect{Hold: []checker.Model{checker.StrictSerializable}, Attempts: 1})
			if len(r.Kinds()) != 0 || r.Info != 0 || r.Fail == 0 {
				t.Errorf("%s: want no anomaly, no unknown transaction, and some aborted by conflicts", r.Summary())
			}
		})
	}
}
