package builtin_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/nemesis"
	"consist/run/sim"
	"consist/workloads"
	"consist/workloads/runner"
)

// txnRun runs a transactional workload against a bundled store under
// faults for a fixed seed, in a simulation (package run/sim), and returns
// the recorded history and counts.
func txnRun(t *testing.T, store, workload string, kinds []nemesis.Kind, seed uint64, d time.Duration) (*history.History, *runner.Counts) {
	t.Helper()
	st, err := builtin.Lookup(store)
	if err != nil {
		t.Fatal(err)
	}
	s := sim.New(time.Time{})
	net := st.OpenOn(seed, s)
	defer net.Close()
	wl, err := workloads.New(workload, workloads.Options{Keys: 5})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rec := history.NewRecorderClock(&out, 0, s.Now)
	nem, err := nemesis.New(net, nemesis.Schedule{Kinds: kinds, Interval: d / 6, Order: nemesis.Cycle, Seed: seed, Clock: s}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{Store: net, Workload: wl, Recorder: rec, Clients: 6, Duration: d,
		Rate: 1000, OpTimeout: 250 * time.Millisecond, Seed: seed, Nemesis: nem, Quiesce: 300 * time.Millisecond, Clock: s}, &counts)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), store, history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if counts.OK.Load() < 100 {
		t.Fatalf("%s with %s under %v: only %d transactions succeeded; the store did not serve", store, workload, kinds, counts.OK.Load())
	}
	return h, &counts
}

// verdicts checks h against models and returns each model's result.
func verdicts(h *history.History, models ...checker.Model) map[checker.Model]checker.Result {
	out := map[checker.Model]checker.Result{}
	for _, r := range suite.Check(context.Background(), h, checker.Options{Timeout: time.Minute}, models...) {
		out[r.Model] = r
	}
	return out
}

// TestTransactionsStrictSerializable runs list-append and rw-register on
// the stores that apply a transaction as one atomic step (single: one
// node; paxos: one log entry), under every kind of fault at once: the
// transactional checker must find them strict-serializable.
func TestTransactionsStrictSerializable(t *testing.T) {
	faults := []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Pause, nemesis.Clock}
	for _, store := range []string{"single", "paxos"} {
		for _, workload := range []string{"list-append", "rw-register"} {
			t.Run(store+"/"+workload, func(t *testing.T) {
				t.Parallel()
				h, counts := txnRun(t, store, workload, faults, 3, 1500*time.Millisecond)
				r := verdicts(h, checker.StrictSerializable)[checker.StrictSerializable]
				if r.Verdict != checker.Valid {
					t.Fatalf("%s with %s: strict-serializable %s (%s) %v", store, workload, r.Verdict, r.Reason, r.Anomalies)
				}
				t.Logf("%d ok, %d fail, %d info transactions; strict-serializable valid", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
			})
		}
	}
}

// TestLocalReadsNotStrict runs list-append on paxos-local-read, whose
// read-only transactions are answered from a node's own applied prefix of
// the log: serializable, but a read can miss a transaction that committed
// before it began, so not strict-serializable.
func TestLocalReadsNotStrict(t *testing.T) {
	h, _ := txnRun(t, "paxos-local-read", "list-append", []nemesis.Kind{nemesis.Partition, nemesis.Kill, nemesis.Pause}, 1, 1500*time.Millisecond)
	v := verdicts(h, checker.StrictSerializable, checker.Serializable)
	if r := v[checker.Serializable]; r.Verdict != checker.Valid {
		t.Fatalf("serializable: %s (%s) %v", r.Verdict, r.Reason, r.Anomalies)
	}
	r := v[checker.StrictSerializable]
	if r.Verdict != checker.Invalid || len(r.Anomalies) == 0 {
		t.Fatalf("strict-serializable: %s (%s); want invalid, a stale read shown", r.Verdict, r.Reason)
	}
	t.Logf("%s: %s", r.Anomalies[0].Kind, r.Anomalies[0].Explanation())
}

// TestStoresWithoutTransactionsRefuse: a store that applies operations
// one object at a time refuses a transactional workload before the run
// starts, and says which stores take transactions.
func TestStoresWithoutTransactionsRefuse(t *testing.T) {
	for _, s := range builtin.Stores() {
		net := s.Open(1)
		err := adapters.Supports(net, adapters.Txn)
		net.Close()
		if s.CanHold(adapters.Txn) != (err == nil) {
			t.Errorf("%s: CanHold(Txn) %v, but Supports says %v", s.Name, s.CanHold(adapters.Txn), err)
		}
		if err != nil && !strings.Contains(err.Error(), "paxos, paxos-local-read, ") {
			t.Errorf("%s: %v: want the stores that take transactions named", s.Name, err)
		}
	}
	net, _ := builtin.Open("eventual", 1)
	defer net.Close()
	wl, _ := workloads.New("list-append", workloads.Options{})
	err := runner.Run(context.Background(), runner.Config{Store: net, Workload: wl, Recorder: history.NewMemoryRecorder(), Ops: 10}, nil)
	var unsupported *runner.UnsupportedError
	if !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "the eventual store applies each operation to one object") {
		t.Fatalf("list-append on eventual: %v; want it refused up front", err)
	}
}
