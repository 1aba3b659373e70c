package staleness

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/history"
	"consist/internal/histgen"
	"consist/internal/histtest"
)

// parse reads an inline JSON Lines history.
func parse(t testing.TB, jsonl string) *history.History { return histtest.Parse(t, jsonl) }

// Three writes of "x" one after another, then a read of the first: two
// versions behind, 70ms after the second write was acknowledged.
const twoBehind = `
{"type":"invoke","process":0,"f":"write","key":"x","value":1,"time":0}
{"type":"ok","process":0,"f":"write","key":"x","value":1,"time":10000000}
{"type":"invoke","process":0,"f":"write","key":"x","value":2,"time":20000000}
{"type":"ok","process":0,"f":"write","key":"x","value":2,"time":30000000}
{"type":"invoke","process":0,"f":"write","key":"x","value":3,"time":40000000}
{"type":"ok","process":0,"f":"write","key":"x","value":3,"time":50000000}
{"type":"invoke","process":1,"f":"read","key":"x","value":null,"time":100000000}
{"type":"ok","process":1,"f":"read","key":"x","value":1,"time":110000000,"node":"n2"}`

// untimed drops the times of a history.
func untimed(jsonl string) string {
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		if i := strings.Index(line, `,"time":`); i >= 0 {
			j := strings.IndexAny(line[i+1:], ",}") + i + 1
			line = line[:i] + line[j:]
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string
		opts    checker.Options
		want    checker.Verdict
		lags    []int     // every measured read's version lag, in order
		ops     [][]int64 // anomalies' ops
		reason  string    // a substring of Reason
	}{
		{name: "fresh read", want: checker.Measured, lags: []int{0}, reason: "no staleness bound", history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}`},
		{name: "two versions behind, unbounded", want: checker.Measured, lags: []int{2}, history: twoBehind},
		{name: "two versions behind, bound 2", opts: checker.Options{MaxStalenessVersions: 2}, want: checker.Valid, lags: []int{2}, history: twoBehind},
		{name: "two versions behind, bound 1", opts: checker.Options{MaxStalenessVersions: 1}, want: checker.Invalid, lags: []int{2},
			ops: [][]int64{{1, 3, 7}}, reason: "1 read(s) lagged more than the bound of 1 version", history: twoBehind},
		{name: "70ms behind, bound 50ms", opts: checker.Options{MaxStalenessTime: 50 * time.Millisecond}, want: checker.Invalid, lags: []int{2},
			ops: [][]int64{{1, 3, 7}}, history: twoBehind},
		{name: "70ms behind, bound 100ms", opts: checker.Options{MaxStalenessTime: 100 * time.Millisecond}, want: checker.Valid, lags: []int{2}, history: twoBehind},
		{name: "time bound without times", opts: checker.Options{MaxStalenessTime: 50 * time.Millisecond}, want: checker.Unknown, lags: []int{2},
			reason: "carry no times", history: untimed(twoBehind)},
		{name: "both bounds without times", opts: checker.Options{MaxStalenessVersions: 1, MaxStalenessTime: 50 * time.Millisecond}, want: checker.Invalid, lags: []int{2},
			ops: [][]int64{{1, 3, 7}}, reason: "time bound was not judged", history: untimed(twoBehind)},
		{name: "initial value after two writes", opts: checker.Options{MaxStalenessVersions: 1}, want: checker.Invalid, lags: []int{2},
			ops: [][]int64{{1, 5}}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "newer write still running when the read began", want: checker.Measured, lags: []int{0}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "newer write concurrent with the one read", want: checker.Measured, lags: []int{0}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"invoke","process":2,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"ok","process":2,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "read of a crashed write", opts: checker.Options{MaxStalenessVersions: 1}, want: checker.Valid, lags: []int{0}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":0,"f":"write","value":1}
{"type":"invoke","process":2,"f":"write","value":2}
{"type":"ok","process":2,"f":"write","value":2}
{"type":"invoke","process":2,"f":"write","value":3}
{"type":"ok","process":2,"f":"write","value":3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "a successful cas is a newer write", want: checker.Measured, lags: []int{1}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"cas","value":[1,2]}
{"type":"ok","process":0,"f":"cas","value":[1,2]}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "a failed cas is not", want: checker.Measured, lags: []int{0}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"cas","value":[7,2]}
{"type":"fail","process":0,"f":"cas","value":[7,2]}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "keys are measured apart", want: checker.Measured, lags: []int{0, 1}, history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":1}
{"type":"ok","process":0,"f":"write","key":"y","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":2}
{"type":"ok","process":0,"f":"write","key":"y","value":2}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":1}`},
		{name: "read of a value never written", want: checker.Measured, lags: []int{}, reason: "1 ok read(s) not measured", history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":9}`},
		{name: "nil read under Knossos' convention", opts: checker.Options{NilRead: checker.NilReadUnknown}, want: checker.Measured, lags: []int{}, reason: "not measured", history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "a value written twice, bounded", opts: checker.Options{MaxStalenessTime: time.Second}, want: checker.Unknown, reason: "is written to key x twice (indices 1 and 3)", history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}`},
		{name: "a value written twice", want: checker.Measured, reason: "is written to key x twice (indices 1 and 3)", history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}`},
		{name: "a crashed write of a value written again", want: checker.Measured, reason: "twice", history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"cas","value":[0,1]}
{"type":"ok","process":1,"f":"cas","value":[0,1]}`},
		{name: "a failed write of a value written again", want: checker.Measured, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"fail","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}`},
		{name: "a write of the initial value", opts: checker.Options{Initial: int64(0)}, want: checker.Measured, reason: "the initial value", history: `
{"type":"invoke","process":0,"f":"write","value":0}
{"type":"ok","process":0,"f":"write","value":0}`},
		{name: "a write of the initial value, bounded", opts: checker.Options{Initial: int64(0), MaxStalenessVersions: 1}, want: checker.Unknown, reason: "the initial value", history: `
{"type":"invoke","process":0,"f":"write","value":0}
{"type":"ok","process":0,"f":"write","value":0}`},
		{name: "not a register", want: checker.Measured, reason: "also uses add, append", history: `
{"type":"invoke","process":0,"f":"append","value":1}
{"type":"ok","process":0,"f":"append","value":1}
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":0,"f":"read","value":null}
{"type":"ok","process":0,"f":"read","value":1}`},
		{name: "empty", want: checker.Measured, lags: []int{}, history: `
{"type":"info","process":"nemesis","f":"start"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := parse(t, tc.history)
			res := Check(context.Background(), h, tc.opts)
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Reason, tc.want)
			}
			if res.Model != checker.BoundedStaleness || res.Stats.Engine != Engine || res.Stats.Ops != len(h.Ops) {
				t.Errorf("result %+v", res)
			}
			if !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", res.Reason, tc.reason)
			}
			var ops [][]int64
			for _, a := range res.Anomalies {
				ops = append(ops, a.Ops)
				if a.Kind != KindStaleRead || a.Explanation() == "" {
					t.Errorf("anomaly %+v", a)
				}
			}
			if fmt.Sprint(ops) != fmt.Sprint(tc.ops) {
				t.Errorf("anomalies' ops %v, want %v", ops, tc.ops)
			}
			if tc.lags == nil {
				return
			}
			m, err := measure(context.Background(), h, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			lags := []int{}
			for _, rs := range m.readings {
				for _, r := range rs {
					lags = append(lags, r.version)
				}
			}
			if !slices.Equal(lags, tc.lags) {
				t.Errorf("version lags %v, want %v", lags, tc.lags)
			}
		})
	}
}

func TestExplanation(t *testing.T) {
	res := Check(context.Background(), parse(t, twoBehind), checker.Options{MaxStalenessVersions: 1, MaxStalenessTime: 50 * time.Millisecond})
	const want = `Process 1's read of key x on node n2 (index 7, line 8) returned 1 (written by process 0, index 1, line 2) at 100ms, 2 versions behind: 2 had been written to key x by process 0 and acknowledged 70ms before the read began (index 3, line 4), the first of 2 newer writes acknowledged by then; the bound is 1 version and 50ms.`
	if len(res.Anomalies) != 1 || res.Anomalies[0].Explanation() != want {
		t.Errorf("anomalies %+v\nwant the explanation %s", res.Anomalies, want)
	}
	res = Check(context.Background(), parse(t, untimed(twoBehind)), checker.Options{MaxStalenessVersions: 1})
	const wantUntimed = `Process 1's read of key x on node n2 (index 7, line 8) returned 1 (written by process 0, index 1, line 2), 2 versions behind: 2 had been written to key x by process 0 and acknowledged before the read began (index 3, line 4), the first of 2 newer writes acknowledged by then; the bound is 1 version.`
	if len(res.Anomalies) != 1 || res.Anomalies[0].Explanation() != wantUntimed {
		t.Errorf("anomalies %+v\nwant the explanation %s", res.Anomalies, wantUntimed)
	}
}

func TestDetails(t *testing.T) {
	res := Check(context.Background(), parse(t, twoBehind), checker.Options{})
	d, ok := res.Details.(*Details)
	if !ok {
		t.Fatalf("details %T", res.Details)
	}
	want := Lags{Reads: 1, Stale: 1, Versions: Quantiles{2, 2, 2}, Time: &TimeQuantiles{70 * time.Millisecond, 70 * time.Millisecond, 70 * time.Millisecond}}
	if !d.Timed || !reflect.DeepEqual(d.Overall, want) || len(d.Keys) != 1 || d.Keys[0].Key != "x" || !reflect.DeepEqual(d.Keys[0].Lags, want) {
		t.Errorf("details %+v, want overall and key x %+v", d, want)
	}
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `{"timed":true,"overall":{"reads":1,"stale":1,"versions":{"p50":2,"p99":2,"max":2},"time":{"p50_ns":70000000,"p99_ns":70000000,"max_ns":70000000}},"keys":[{"key":"x","reads":1,"stale":1,"versions":{"p50":2,"p99":2,"max":2},"time":{"p50_ns":70000000,"p99_ns":70000000,"max_ns":70000000}}]}`
	if string(js) != wantJSON {
		t.Errorf("JSON\n%s\nwant\n%s", js, wantJSON)
	}
}

func TestQuantile(t *testing.T) {
	xs := make([]int, 200)
	for i := range xs {
		xs[i] = i + 1
	}
	for _, tc := range []struct{ p, want int }{{50, 100}, {99, 198}, {100, 200}, {1, 2}} {
		if got := quantile(xs, tc.p); got != tc.want {
			t.Errorf("p%d of 1..200 = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := quantile([]int{7}, 50); got != 7 {
		t.Errorf("p50 of [7] = %d", got)
	}
	if got := quantile([]int(nil), 99); got != 0 {
		t.Errorf("p99 of none = %d", got)
	}
}

// bruteForce computes every read's lags straight from the definition.
func bruteForce(h *history.History) map[int]reading {
	out := map[int]reading{}
	for i := range h.Ops {
		r := &h.Ops[i]
		if r.F != "read" || r.Type != history.OK {
			continue
		}
		var w *history.Op
		for j := range h.Ops {
			o := &h.Ops[j]
			if o.F != "read" && o.Type != history.Fail && o.Key == r.Key && history.Equal(reghist.WrittenBy(o), r.Output) {
				w = o
			}
		}
		if w == nil && r.Output != nil {
			continue
		}
		wDone := -1
		if w != nil {
			wDone = int(never)
			if w.Type == history.OK {
				wDone = w.Complete
			}
		}
		rd := reading{read: int32(i), writer: -1, newer: -1}
		if w != nil {
			rd.writer = int32(w.ID)
		}
		for j := range h.Ops {
			o := &h.Ops[j]
			if o.F == "read" || o.Type != history.OK || o.Key != r.Key || o.Complete > r.Invoke || o.Invoke < wDone {
				continue
			}
			rd.version++
			if rd.newer < 0 || o.Complete < h.Ops[rd.newer].Complete {
				rd.newer = int32(j)
			}
		}
		if rd.newer >= 0 {
			rd.lag = time.Duration(max(0, h.Events[r.Invoke].Time-h.Events[h.Ops[rd.newer].Complete].Time))
		}
		out[i] = rd
	}
	return out
}

// TestAgainstBruteForce compares the sweep with the definition on
// generated histories of every store.
func TestAgainstBruteForce(t *testing.T) {
	for _, st := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
		for seed := range uint64(4) {
			h, err := histgen.New(histgen.Config{Seed: seed, Store: st, Processes: 6, Ops: 1500, Keys: 3, CrashRate: 0.05, Timestamps: true})
			if err != nil {
				t.Fatal(err)
			}
			m, err := measure(context.Background(), h, checker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := bruteForce(h)
			got := 0
			for _, rs := range m.readings {
				for _, r := range rs {
					got++
					if w := want[int(r.read)]; r != w {
						t.Fatalf("%v seed %d: read %d measured %+v, by definition %+v", st, seed, h.OpIndex(&h.Ops[r.read]), r, w)
					}
				}
			}
			if got != len(want) {
				t.Errorf("%v seed %d: %d reads measured, %d by definition", st, seed, got, len(want))
			}
		}
	}
}

// TestGeneratedStores checks the staleness of each generated store against
// what histgen promises.
func TestGeneratedStores(t *testing.T) {
	const delay = 3 * time.Millisecond
	for _, tc := range []struct {
		store histgen.Store
		opts  checker.Options
		want  checker.Verdict
	}{
		{histgen.Linearizable, checker.Options{MaxStalenessVersions: 1, MaxStalenessTime: time.Nanosecond}, checker.Valid},
		{histgen.Stale, checker.Options{MaxStalenessVersions: 2, MaxStalenessTime: delay}, checker.Valid},
		{histgen.Stale, checker.Options{MaxStalenessVersions: 1}, checker.Invalid},
		{histgen.Stale, checker.Options{MaxStalenessTime: delay / 4}, checker.Invalid},
		{histgen.Eventual, checker.Options{MaxStalenessVersions: 2}, checker.Invalid},
	} {
		for seed := range uint64(3) {
			h, err := histgen.New(histgen.Config{Seed: seed, Store: tc.store, Processes: 12, Ops: 10_000, Keys: 4, CrashRate: 0.02, Timestamps: true, MaxLag: 2, Delay: delay})
			if err != nil {
				t.Fatal(err)
			}
			res := Check(context.Background(), h, tc.opts)
			if res.Verdict != tc.want {
				t.Errorf("%v seed %d %+v: %s (%s), want %s", tc.store, seed, tc.opts, res.Verdict, res.Reason, tc.want)
			}
			d := res.Details.(*Details)
			if tc.store == histgen.Linearizable && d.Overall.Versions.Max != 0 {
				t.Errorf("linearizable seed %d: lags %+v, want none", seed, d.Overall)
			}
			if tc.store != histgen.Linearizable && d.Overall.Stale == 0 {
				t.Errorf("%v seed %d: no stale read", tc.store, seed)
			}
		}
	}
}

func TestWorstAnomaliesFirst(t *testing.T) {
	h, err := histgen.New(histgen.Config{Seed: 1, Store: histgen.Eventual, Processes: 12, Ops: 10_000, Keys: 4, Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	res := Check(context.Background(), h, checker.Options{MaxStalenessVersions: 1})
	d := res.Details.(*Details)
	if res.Verdict != checker.Invalid || len(res.Anomalies) != MaxAnomalies {
		t.Fatalf("%s with %d anomalies (%s), want invalid with %d", res.Verdict, len(res.Anomalies), res.Reason, MaxAnomalies)
	}
	if !strings.Contains(res.Reason, fmt.Sprintf("the %d worst are shown", MaxAnomalies)) {
		t.Errorf("reason %q does not say only the worst are shown", res.Reason)
	}
	if want := fmt.Sprintf("%d versions behind", d.Overall.Versions.Max); !strings.Contains(res.Anomalies[0].Explanation(), want) {
		t.Errorf("first anomaly %q is not the worst, %s", res.Anomalies[0].Explanation(), want)
	}
	for _, a := range res.Anomalies {
		if len(a.Ops) != 3 || !slices.IsSorted(a.Ops) {
			t.Errorf("anomaly ops %v: want the read, the write read and a newer write, in order", a.Ops)
		}
	}
}

func TestCancelled(t *testing.T) {
	h, err := histgen.New(histgen.Config{Seed: 1, Processes: 4, Ops: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// Unbounded, it is a measurement that was not made; bounded, a
	// verdict that was not reached.
	for _, tc := range []struct {
		opts checker.Options
		want checker.Verdict
	}{{checker.Options{}, checker.Measured}, {checker.Options{MaxStalenessVersions: 1}, checker.Unknown}} {
		res := Check(ctx, h, tc.opts)
		if res.Verdict != tc.want || !strings.Contains(res.Reason, "canceled") {
			t.Errorf("%s (%s), want %s saying the check was cancelled", res.Verdict, res.Reason, tc.want)
		}
	}
}

func TestApplies(t *testing.T) {
	var c Checker
	if !c.Applies(parse(t, `{"type":"invoke","process":0,"f":"cas","value":[1,2]}`)) {
		t.Error("does not apply to a register history")
	}
	if c.Applies(parse(t, `{"type":"invoke","process":0,"f":"txn","value":[]}`)) {
		t.Error("applies to a transaction history")
	}
	if got := c.Models(); !slices.Equal(got, []checker.Model{checker.BoundedStaleness}) {
		t.Errorf("models %v", got)
	}
	var _ checker.Checker = c
	var _ checker.Applier = c
}

// BenchmarkCheck measures a 100,000-operation history of the Stale store
// (24 processes, 10 keys, 2% crashed), with a bound most reads keep.
func BenchmarkCheck(b *testing.B) {
	h, err := histgen.New(histgen.Config{Seed: 1, Store: histgen.Stale, Processes: 24, Ops: 100_000, Keys: 10, CrashRate: 0.02, Timestamps: true})
	if err != nil {
		b.Fatal(err)
	}
	opts := checker.Options{MaxStalenessVersions: 2, MaxStalenessTime: time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		if res := Check(context.Background(), h, opts); res.Verdict != checker.Invalid {
			b.Fatalf("%s (%s)", res.Verdict, res.Reason)
		}
	}
}
