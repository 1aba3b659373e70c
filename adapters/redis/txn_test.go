package redis

import (
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"consist/adapters"
	"consist/checker"
	"consist/checker/txn"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
	"consist/internal/txntest"
)

func TestTxn(t *testing.T) {
	s := newStore(t, Options{})
	txntest.Semantics(t, storetest.Open(t, s))
	if ok, why := s.Holds(adapters.Bank); ok || !strings.Contains(why, "transactions") {
		t.Errorf("Holds(Bank) = %v, %q: want a refusal naming what the store keeps", ok, why)
	}
}

// TestTxnWatchAborts: a transaction whose writes depend on its reads (it
// has a guard) reads under WATCH; when another client appends to a key
// it read before its EXEC, EXEC is discarded and the transaction fails.
func TestTxnWatchAborts(t *testing.T) {
	s := newStore(t, Options{})
	c, c2 := storetest.Open(t, s), storetest.Open(t, s)
	txntest.Do(t, c, txntest.Mop("append", int64(1), int64(1)))
	op := txntest.Op(txntest.Mop("r", int64(1), nil), txntest.Mop("append", int64(1), int64(3)))
	var once sync.Once
	op.Guard = func([]adapters.MicroOp) error {
		once.Do(func() { txntest.Do(t, c, txntest.Mop("append", int64(1), int64(2))) })
		return nil
	}
	_, err := c2.Do(t.Context(), op)
	if adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), "changed before EXEC") {
		t.Fatalf("a transaction whose key changed between WATCH and EXEC: %v, want a failure", err)
	}
	txntest.Perform(t, c, []txntest.Step{{Mops: []adapters.MicroOp{txntest.Mop("r", int64(1), nil)}, Want: []any{[]any{"r", int64(1), []any{int64(1), int64(2)}}}}})
}

// TestTxnPrimaryStrictSerializable: ten clients contending for three keys
// of the primary; every run is strict-serializable, with no anomaly at
// all: as one MULTI/EXEC (blind writes), and through WATCH when the
// transactions' writes depend on their reads.
func TestTxnPrimaryStrictSerializable(t *testing.T) {
	txns := 2000
	if testing.Short() {
		txns = 500
	}
	for _, interactive := range []bool{false, true} {
		for _, wl := range []txntest.Workload{txntest.ListAppend, txntest.RWRegister} {
			name := string(wl) + "/multi"
			if interactive {
				name = string(wl) + "/watch"
			}
			t.Run(name, func(t *testing.T) {
				open := func(t testing.TB) adapters.Store { return newStore(t, Options{}) }
				plan := txntest.Plan{Workload: wl, Clients: 10, Txns: txns, Interactive: interactive, OpTimeout: 30 * time.Second}
				_, r := txntest.Seek(t, open, plan, txntest.Expect{Hold: []checker.Model{checker.StrictSerializable}, Attempts: 1})
				if len(r.Kinds()) != 0 || r.Info != 0 {
					t.Errorf("%s: want no anomaly and no unknown transaction", r.Summary())
				}
				if interactive && r.Fail == 0 {
					t.Errorf("%s: under WATCH, want some transactions aborted by conflicts", r.Summary())
				}
			})
		}
	}
}

// TestTxnReplicaReads: what reading from a replica does to transactions.
// A transaction reads its leading reads from the replica, under WATCH of
// their keys on the primary, and writes on the primary. WATCH guards
// only against changes after it: a replica behind its primary serves
// reads that were already stale when WATCH began, and the transaction
// commits on them. Two transactions in a row, each reading the key the
// other appends to from a replica that applies nothing (CLIENT PAUSE
// WRITE), both commit having missed the other's append: write skew
// (G2-item), which no serializable order explains; and the second does
// not see the first's append by the same process (strong session
// serializable broken too).
func TestTxnReplicaReads(t *testing.T) {
	replicas := servertest.List(t, servertest.RedisReplicas)
	s := newStore(t, Options{Replicas: replicas, ReadFromReplica: true})
	c := storetest.Open(t, s)
	replica := goredis.NewClient(&goredis.Options{Addr: replicas[0]})
	defer replica.Close()
	rec := history.NewMemoryRecorder()
	defer rec.Close()
	do := func(mops ...adapters.MicroOp) (any, error) {
		inv := history.Event{Type: history.Invoke, Process: 0, F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true, Node: replicas[0]}
		if _, err := rec.Record(inv); err != nil {
			t.Fatal(err)
		}
		v, err := c.Do(t.Context(), txntest.Op(mops...))
		done := inv
		done.Type = adapters.Outcome(err)
		if err == nil {
			done.Value = adapters.MicroOpsValue(v.([]adapters.MicroOp))
		}
		if _, err := rec.Record(done); err != nil {
			t.Fatal(err)
		}
		return done.Value, err
	}
	mop := txntest.Mop
	if _, err := do(mop("append", int64(1), int64(1)), mop("append", int64(2), int64(1))); err != nil {
		t.Fatal(err)
	}
	if n, err := c.(*client).primary.Wait(t.Context(), 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d replicas, %v", n, err)
	}
	if err := replica.Do(t.Context(), "CLIENT", "PAUSE", 10000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	defer replica.Do(t.Context(), "CLIENT", "UNPAUSE")
	for _, tx := range [][]adapters.MicroOp{
		{mop("r", int64(1), nil), mop("append", int64(2), int64(2))},
		{mop("r", int64(2), nil), mop("append", int64(1), int64(2))},
	} {
		v, err := do(tx...)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("txn %s", history.Describe(v))
	}
	if err := replica.Do(t.Context(), "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	h, err := rec.History()
	if err != nil {
		t.Fatal(err)
	}
	a, err := txn.Analyze(t.Context(), h, checker.Options{}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	r := &txntest.Result{History: h, Analysis: a}
	for _, k := range []checker.Kind{checker.G2Item, checker.GSingleProcess} {
		if !r.Has(k) {
			t.Errorf("no %s found; anomalies: %v", k, r.Kinds())
		}
	}
	for _, m := range []checker.Model{checker.Serializable, checker.StrongSessionSerializable, checker.StrictSerializable} {
		if v := r.Verdict(m); v != checker.Invalid {
			t.Errorf("%s: %s, want invalid", m, v)
		}
	}
	if v := r.Verdict(checker.ReadCommitted); v != checker.Valid {
		t.Errorf("read-committed: %s, want valid", v)
	}
	for _, k := range r.Kinds() {
		t.Logf("%s: %s", k, r.Witness(k))
	}
}

// TestTxnReplicaReadsRun: ten clients reading from the replica while
// writing to the primary, without faults. Every run is read-committed
// (a replica applies each MULTI/EXEC whole, in the primary's order, so
// nothing it serves is uncommitted or partial); what stronger models it
// breaks depends on how far the replica lags, and is logged.
func TestTxnReplicaReadsRun(t *testing.T) {
	replicas := servertest.List(t, servertest.RedisReplicas)
	open := func(t testing.TB) adapters.Store {
		return newStore(t, Options{Replicas: replicas, ReadFromReplica: true})
	}
	_, r := txntest.Seek(t, open, txntest.Plan{Workload: txntest.ListAppend, Clients: 10, Txns: 2000}, txntest.Expect{Hold: []checker.Model{checker.ReadCommitted}, Attempts: 1})
	for _, m := range []checker.Model{checker.StrictSerializable, checker.Serializable, checker.SnapshotIsolation} {
		t.Logf("%s: %s %v", m, r.Verdict(m), r.Forbidden(m))
	}
}
