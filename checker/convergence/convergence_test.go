package convergence

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"consist/checker"
	"consist/history"
	"consist/internal/histgen"
	"consist/internal/histtest"
)

// parse reads an inline JSON Lines history.
func parse(t testing.TB, jsonl string) *history.History { return histtest.Parse(t, jsonl) }

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string
		opts    checker.Options
		want    checker.Verdict
		ops     [][]int64 // anomalies' ops
		reason  string    // a substring of Reason
		judged  int
	}{
		{name: "final reads agree", want: checker.Valid, judged: 1, history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1,"node":"n1"}
{"type":"ok","process":0,"f":"write","key":"x","value":1,"node":"n1"}
{"type":"invoke","process":1,"f":"read","key":"x","value":null,"node":"n1"}
{"type":"ok","process":1,"f":"read","key":"x","value":1,"node":"n1"}
{"type":"invoke","process":2,"f":"read","key":"x","value":null,"node":"n2"}
{"type":"ok","process":2,"f":"read","key":"x","value":1,"node":"n2"}`},
		{name: "final reads disagree", want: checker.Invalid, judged: 1, ops: [][]int64{{1, 3, 5, 7}}, reason: "the final reads of 1 key disagree", history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1,"node":"n1"}
{"type":"ok","process":0,"f":"write","key":"x","value":1,"node":"n1"}
{"type":"invoke","process":3,"f":"write","key":"x","value":2,"node":"n2"}
{"type":"ok","process":3,"f":"write","key":"x","value":2,"node":"n2"}
{"type":"invoke","process":1,"f":"read","key":"x","value":null,"node":"n1"}
{"type":"ok","process":1,"f":"read","key":"x","value":1,"node":"n1"}
{"type":"invoke","process":2,"f":"read","key":"x","value":null,"node":"n2"}
{"type":"ok","process":2,"f":"read","key":"x","value":2,"node":"n2"}`},
		{name: "reads before the last write are not final", want: checker.Valid, judged: 1, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":1}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":2}`},
		{name: "no final read", want: checker.Measured, reason: "no read began after the last write, so convergence was not judged; end the workload with a final read of every key", history: `
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":1,"f":"read","key":"x","value":1}`},
		{name: "some keys without a final read", want: checker.Valid, judged: 1, reason: `1 key not judged, for want of a read that began after every write of the key completed: key y`, history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":1}
{"type":"ok","process":0,"f":"write","key":"y","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}`},
		{name: "a key never written", want: checker.Invalid, judged: 1, ops: [][]int64{{1, 3}}, history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":5}`},
		{name: "a failed write is no write", want: checker.Valid, judged: 1, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"invoke","process":0,"f":"cas","value":[7,2]}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"fail","process":0,"f":"cas","value":[7,2]}`},
		{name: "a crashed write completes at its info", want: checker.Valid, judged: 1, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "an open write leaves its key unjudged", want: checker.Measured, reason: `1 key had a write that never completed, so no read of it is final: key x`, history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}`},
		{name: "a crashed write landing late, then agreement", want: checker.Valid, judged: 1, reason: "1 key converged only after crashed writes took effect", history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":2,"f":"write","value":2}
{"type":"info","process":2,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":2}`},
		{name: "a crashed write landing late, no agreement after", want: checker.Unknown, reason: "disagree only by values of crashed writes", history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":2,"f":"write","value":2}
{"type":"info","process":2,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"invoke","process":3,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"ok","process":3,"f":"read","value":2}`},
		{name: "replicas that lag, then agree on every node", want: checker.Valid, judged: 1, history: `
{"type":"invoke","process":0,"f":"write","value":1,"node":"n1"}
{"type":"ok","process":0,"f":"write","value":1,"node":"n1"}
{"type":"invoke","process":1,"f":"read","value":null,"node":"n2"}
{"type":"ok","process":1,"f":"read","value":null,"node":"n2"}
{"type":"invoke","process":0,"f":"read","value":null,"node":"n1"}
{"type":"ok","process":0,"f":"read","value":1,"node":"n1"}
{"type":"invoke","process":1,"f":"read","value":null,"node":"n2"}
{"type":"ok","process":1,"f":"read","value":1,"node":"n2"}`},
		{name: "a node that never catches up", want: checker.Invalid, judged: 1, ops: [][]int64{{1, 3, 5}}, history: `
{"type":"invoke","process":0,"f":"write","value":1,"node":"n1"}
{"type":"ok","process":0,"f":"write","value":1,"node":"n1"}
{"type":"invoke","process":0,"f":"read","value":null,"node":"n1"}
{"type":"ok","process":0,"f":"read","value":1,"node":"n1"}
{"type":"invoke","process":1,"f":"read","value":null,"node":"n2"}
{"type":"ok","process":1,"f":"read","value":null,"node":"n2"}
{"type":"invoke","process":0,"f":"read","value":null,"node":"n1"}
{"type":"ok","process":0,"f":"read","value":1,"node":"n1"}`},
		{name: "agreement at the end without every node", want: checker.Invalid, judged: 1, ops: [][]int64{{1, 3, 5}}, history: `
{"type":"invoke","process":0,"f":"write","value":1,"node":"n1"}
{"type":"ok","process":0,"f":"write","value":1,"node":"n1"}
{"type":"invoke","process":1,"f":"read","value":null,"node":"n2"}
{"type":"ok","process":1,"f":"read","value":null,"node":"n2"}
{"type":"invoke","process":0,"f":"read","value":null,"node":"n1"}
{"type":"ok","process":0,"f":"read","value":1,"node":"n1"}`},
		{name: "two values no crashed write wrote", want: checker.Invalid, judged: 1, ops: [][]int64{{1, 5, 7, 11}}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":2,"f":"write","value":2}
{"type":"info","process":2,"f":"write","value":2}
{"type":"invoke","process":3,"f":"cas","value":[1,3]}
{"type":"ok","process":3,"f":"cas","value":[1,3]}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}`},
		{name: "nil reads under Knossos' convention observe nothing", opts: checker.Options{NilRead: checker.NilReadUnknown}, want: checker.Valid, judged: 1, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "not a register", want: checker.Unknown, reason: "also uses add", history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}`},
		{name: "empty", want: checker.Measured, reason: "no read began after the last write", history: `
{"type":"info","process":"nemesis","f":"start"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := parse(t, tc.history)
			res := Check(context.Background(), h, tc.opts)
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Reason, tc.want)
			}
			if res.Model != checker.Convergence || res.Stats.Engine != Engine || res.Stats.Ops != len(h.Ops) {
				t.Errorf("result %+v", res)
			}
			if !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", res.Reason, tc.reason)
			}
			var ops [][]int64
			for _, a := range res.Anomalies {
				ops = append(ops, a.Ops)
				if a.Kind != KindDivergence || a.Explanation() == "" {
					t.Errorf("anomaly %+v", a)
				}
			}
			if fmt.Sprint(ops) != fmt.Sprint(tc.ops) {
				t.Errorf("anomalies' ops %v, want %v", ops, tc.ops)
			}
			if d, ok := res.Details.(*Details); ok && d.Judged != tc.judged {
				t.Errorf("%d keys judged, want %d", d.Judged, tc.judged)
			}
		})
	}
}

func TestExplanation(t *testing.T) {
	h := parse(t, `
{"type":"invoke","process":0,"f":"write","key":"x","value":1,"node":"n1","time":0}
{"type":"ok","process":0,"f":"write","key":"x","value":1,"node":"n1","time":1000000}
{"type":"invoke","process":3,"f":"write","key":"x","value":2,"node":"n2","time":2000000}
{"type":"ok","process":3,"f":"write","key":"x","value":2,"node":"n2","time":3000000}
{"type":"invoke","process":1,"f":"read","key":"x","value":null,"node":"n1","time":1500000000}
{"type":"ok","process":1,"f":"read","key":"x","value":1,"node":"n1","time":1500100000}
{"type":"invoke","process":2,"f":"read","key":"x","value":null,"node":"n2","time":1600000000}
{"type":"ok","process":2,"f":"read","key":"x","value":2,"node":"n2","time":1600100000}
{"type":"invoke","process":4,"f":"read","key":"x","value":null,"node":"n3","time":1700000000}
{"type":"ok","process":4,"f":"read","key":"x","value":2,"node":"n3","time":1700100000}`)
	res := Check(context.Background(), h, checker.Options{})
	const want = `The final reads of key x disagree after its last write completed (index 3, line 4 at 3ms): process 1 on node n1 read 1 at 1.5s (index 5, line 6; written by process 0 on node n1, index 1, line 2), but process 2 on node n2 read 2 at 1.6s (index 7, line 8; written by process 3 on node n2, index 3, line 4); of its 3 final reads 2 returned 2, 1 returned 1, so the replicas did not converge.`
	if len(res.Anomalies) != 1 || res.Anomalies[0].Explanation() != want {
		t.Errorf("anomalies %+v\nwant the explanation %s", res.Anomalies, want)
	}
	if got, want := *res.Details.(*Details), (Details{Keys: 1, Judged: 1, FinalReads: 3, Diverged: 1}); !reflect.DeepEqual(got, want) {
		t.Errorf("details %+v, want %+v", got, want)
	}
}

// TestManyDivergentKeys checks that a result lists at most MaxAnomalies
// anomalies and counts the rest.
func TestManyDivergentKeys(t *testing.T) {
	var b strings.Builder
	for k := range 15 {
		for p, v := range []int{1, 2} {
			fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"read","key":%d,"value":null}`+"\n", p, k)
			fmt.Fprintf(&b, `{"type":"ok","process":%d,"f":"read","key":%d,"value":%d}`+"\n", p, k, v)
		}
	}
	res := Check(context.Background(), parse(t, b.String()), checker.Options{})
	if res.Verdict != checker.Invalid || len(res.Anomalies) != MaxAnomalies || !strings.Contains(res.Reason, "the final reads of 15 keys disagree; the first 10 are shown") {
		t.Errorf("%s, %d anomalies (%s)", res.Verdict, len(res.Anomalies), res.Reason)
	}
	if d := res.Details.(*Details); d.Diverged != 15 || d.Judged != 15 {
		t.Errorf("details %+v", d)
	}
}

// TestGeneratedStores checks convergence on generated histories that end
// with final reads: the Linearizable store converges (crashed writes
// included); an Eventual store that loses deliveries does not.
func TestGeneratedStores(t *testing.T) {
	for _, tc := range []struct {
		cfg  histgen.Config
		want checker.Verdict
	}{
		{histgen.Config{Store: histgen.Linearizable, CrashRate: 0.05}, checker.Valid},
		{histgen.Config{Store: histgen.Linearizable, CrashRate: 0.2}, checker.Valid},
		{histgen.Config{Store: histgen.Eventual, DropRate: 0.3}, checker.Invalid},
	} {
		for seed := range uint64(5) {
			cfg := tc.cfg
			cfg.Seed, cfg.Processes, cfg.Ops, cfg.Keys, cfg.Timestamps, cfg.FinalReads = seed, 8, 3000, 4, true, true
			h, err := histgen.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			res := Check(context.Background(), h, checker.Options{})
			if res.Verdict != tc.want {
				t.Errorf("%+v: %s (%s) %v, want %s", cfg, res.Verdict, res.Reason, res.Anomalies, tc.want)
			}
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Check(ctx, parse(t, `{"type":"invoke","process":0,"f":"read","value":null}`), checker.Options{})
	if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, "canceled") {
		t.Errorf("%s (%s), want unknown saying the check was cancelled", res.Verdict, res.Reason)
	}
}

func TestApplies(t *testing.T) {
	var c Checker
	if !c.Applies(parse(t, `{"type":"invoke","process":0,"f":"write","value":1}`)) {
		t.Error("does not apply to a register history")
	}
	if c.Applies(parse(t, `{"type":"invoke","process":0,"f":"append","value":1}`)) {
		t.Error("applies to a list history")
	}
	if got := c.Models(); !slices.Equal(got, []checker.Model{checker.Convergence}) {
		t.Errorf("models %v", got)
	}
	var _ checker.Checker = c
	var _ checker.Applier = c
}

// BenchmarkCheck judges a 100,000-operation history of the Eventual store
// (24 processes, 10 keys, 2% crashed) that ends with final reads.
func BenchmarkCheck(b *testing.B) {
	h, err := histgen.New(histgen.Config{Seed: 1, Store: histgen.Eventual, Processes: 24, Ops: 100_000, Keys: 10, CrashRate: 0.02, Timestamps: true, FinalReads: true})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if res := Check(context.Background(), h, checker.Options{}); res.Verdict == checker.Unknown {
			b.Fatalf("%s (%s)", res.Verdict, res.Reason)
		}
	}
}
