package runner_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"consist/adapters/builtin"
	"consist/adapters/builtin/simnet"
	"consist/adapters/builtin/single"
	"consist/checker"
	"consist/history"
	"consist/nemesis"
	"consist/workloads"
	"consist/workloads/runner"
)

// TestTxnRecording runs the on-call workload on the single store while it
// is paused now and then: every transaction is recorded in the txn form,
// the invocation with its reads nil, an ok completion with the same
// micro-ops and every read filled in, an aborted one (a doctor the rule
// kept on call) as fail and a timed-out one as info, both repeating the
// invocation; and the history keeps the rule and is strict-serializable.
func TestTxnRecording(t *testing.T) {
	store, err := builtin.Open("single", 5)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	wl, _ := workloads.New("on-call", workloads.Options{Keys: 3})
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	nem, err := nemesis.New(store, nemesis.Schedule{Kinds: []nemesis.Kind{nemesis.Pause}, Interval: 40 * time.Millisecond, Order: nemesis.Cycle, Seed: 5}, rec)
	if err != nil {
		t.Fatal(err)
	}
	var counts runner.Counts
	err = runner.Run(context.Background(), runner.Config{Store: store, Workload: wl, Recorder: rec, Clients: 4, Duration: 400 * time.Millisecond,
		Rate: 2000, OpTimeout: 15 * time.Millisecond, Seed: 5, Nemesis: nem}, &counts)
	if err != nil {
		t.Fatal(err)
	}
	rec.Close()
	h, err := history.Parse(out.Bytes(), "run", history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	var ok, fail, info int
	for i := range h.Ops {
		op := &h.Ops[i]
		inv := h.InvokeEvent(op)
		done := h.CompleteEvent(op)
		asked := inv.Value.([]any)
		if op.F != "txn" || inv.Key != nil {
			t.Fatalf("operation %+v: want a txn", op)
		}
		for _, m := range asked {
			if m := m.([]any); m[0] == "r" && m[2] != nil {
				t.Fatalf("invocation %v: a read carries a value", asked)
			}
		}
		if done == nil {
			continue
		}
		got := done.Value.([]any)
		switch op.Type {
		case history.OK:
			ok++
			if len(got) != len(asked) {
				t.Fatalf("completion %v of invocation %v: want the same micro-ops", got, asked)
			}
			for j := range got {
				g, a := got[j].([]any), asked[j].([]any)
				if g[0] != a[0] || g[1] != a[1] || (g[0] == "w" && !history.Equal(g[2], a[2])) || (g[0] == "r" && g[2] == nil) {
					t.Fatalf("completion %v of invocation %v: micro-op %d differs or a read is empty", got, asked, j)
				}
			}
		case history.Fail, history.Info:
			if op.Type == history.Fail {
				fail++
			} else {
				info++
			}
			if history.Canonical(got) != history.Canonical(asked) || done.Error == "" {
				t.Fatalf("%s completion %v (%q) of %v: want the invocation repeated, with the error", op.Type, got, done.Error, asked)
			}
		}
	}
	if ok < 50 || fail == 0 || info == 0 {
		t.Fatalf("%d ok, %d fail, %d info: want many ok, some aborted by the rule, some timed out in a pause", ok, fail, info)
	}
	mustCheck(t, h, checker.OnCall, checker.StrictSerializable)
}

// TestUndeclaredStoreRefusesTransactions: a store that does not declare
// transactions (here the single store started without its declaration)
// is refused before anything is recorded.
func TestUndeclaredStoreRefusesTransactions(t *testing.T) {
	store := single.New(simnet.Config{Seed: 1})
	defer store.Close()
	wl, _ := workloads.New("rw-register", workloads.Options{})
	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	err := runner.Run(context.Background(), runner.Config{Store: store, Workload: wl, Recorder: rec, Ops: 10}, nil)
	rec.Close()
	var unsupported *runner.UnsupportedError
	if !errors.As(err, &unsupported) || !strings.Contains(err.Error(), "the rw-register workload cannot run here: the store does not take txn operations") {
		t.Fatalf("run: %v; want it refused", err)
	}
	if out.Len() != 0 {
		t.Fatalf("a refused run recorded %q", out.String())
	}
}
