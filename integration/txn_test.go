package integration

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/mysql"
	"consist/checker"
	"consist/checker/txn"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
	"consist/nemesis"
	"consist/run"
	"consist/workloads"
)

// TestEtcdTxnStrictSerializableUnderFaults: Elle's list-append
// transactions, each a Txn reading its keys at one revision and a Txn
// writing them if their ModRevision did not change, stay
// strict-serializable while members are killed and restarted, paused and
// cut off from their peers. Transactions in flight when a member dies are
// unknown, and the checker takes them as maybe committed.
func TestEtcdTxnStrictSerializableUnderFaults(t *testing.T) {
	servertest.Root(t)
	c := up(t, "etcd")
	txnUnderFaults(t, openEtcd(t, c, false), c, etcdPlan, []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Partition}, 11)
}

// TestMariaDBTxnStrictSerializableUnderFaults: at SERIALIZABLE, MariaDB's
// list-append transactions stay strict-serializable while the server is
// killed (and restarted on its data: commits are flushed before they are
// acknowledged) and paused. A transaction whose COMMIT met the kill is
// unknown.
func TestMariaDBTxnStrictSerializableUnderFaults(t *testing.T) {
	c := up(t, "mariadb")
	store, err := mysql.New(t.Context(), mysql.Options{DSN: mysql.LocalDSN(c), Isolation: sql.LevelSerializable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	plan := storetest.Plan{Duration: 6 * time.Second, Interval: time.Second, OpTimeout: 2 * time.Second, Quiesce: time.Second, Rate: 500}
	txnUnderFaults(t, store, c, plan, []nemesis.Kind{nemesis.Kill, nemesis.Pause}, 12)
}

// txnUnderFaults runs ten clients of list-append transactions over three
// keys against store by plan, the nemesis cycling through kinds on
// target, and fails t unless each kind of fault ran, at least 300
// transactions committed, and the history is strict-serializable.
func txnUnderFaults(t *testing.T, store adapters.Store, target nemesis.Target, plan storetest.Plan, kinds []nemesis.Kind, seed uint64) {
	t.Helper()
	wl, err := workloads.New("list-append", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	res := storetest.Record(t, run.Config{System: &run.System{Name: t.Name(), Store: store, Faults: target}, Workload: wl, Clients: 10,
		Duration: plan.Duration, Rate: plan.Rate, OpTimeout: plan.OpTimeout, Seed: seed, Quiesce: plan.Quiesce,
		Faults: kinds, Interval: plan.Interval, Order: nemesis.Cycle})
	h := res.History
	t.Logf("%d ok, %d fail, %d info", res.OK, res.Fail, res.Info)
	if res.OK < 300 {
		t.Fatalf("only %d transactions committed: the store did not serve", res.OK)
	}
	var faults []string
	for _, e := range h.Events {
		if e.Process == history.Nemesis && e.Error == "" && strings.HasPrefix(e.F, "start-") {
			faults = append(faults, e.F)
		}
	}
	t.Logf("faults: %v", faults)
	for _, k := range kinds {
		if !strings.Contains(strings.Join(faults, " "), "start-"+string(k)) {
			t.Errorf("faults %v: %s never ran", faults, k)
		}
	}
	r := txn.Checker{}.CheckModels(t.Context(), h, checker.Options{}, checker.StrictSerializable)[0]
	if r.Verdict != checker.Valid {
		var why string
		if len(r.Anomalies) > 0 {
			why = r.Anomalies[0].Explanation()
		}
		t.Errorf("strict-serializable: %s (%s) %s", r.Verdict, r.Reason, why)
	}
}
