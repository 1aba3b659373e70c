package integration

import (
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/txn"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
	"consist/nemesis"
	"consist/workloads"
	"consist/workloads/runner"
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
	store := openEtcd(t, c, false)
	wl, err := workloads.New("list-append", workloads.Options{Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	const seed = 11
	plan := etcdPlan
	h, counts := storetest.Record(t, runner.Config{Store: store, Workload: wl, Clients: 10, Duration: plan.Duration,
		Rate: plan.Rate, OpTimeout: plan.OpTimeout, Seed: seed, Quiesce: plan.Quiesce},
		func(rec history.Sink) (*nemesis.Nemesis, error) {
			return nemesis.New(c, nemesis.Schedule{Kinds: []nemesis.Kind{nemesis.Kill, nemesis.Pause, nemesis.Partition},
				Interval: plan.Interval, Order: nemesis.Cycle, Seed: seed}, rec)
		})
	t.Logf("%d ok, %d fail, %d info", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
	if counts.OK.Load() < 500 {
		t.Fatalf("only %d transactions committed: the cluster did not serve", counts.OK.Load())
	}
	var faults []string
	for _, e := range h.Events {
		if e.Process == history.Nemesis && e.Error == "" && strings.HasPrefix(e.F, "start-") {
			faults = append(faults, e.F)
		}
	}
	t.Logf("faults: %v", faults)
	if len(faults) < 3 {
		t.Errorf("faults %v: want each of kill, pause and partition", faults)
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
