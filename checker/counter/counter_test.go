package counter

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"consist/checker"
	"consist/internal/histtest"
)

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string
		opts    checker.Options
		want    checker.Verdict
		kinds   []checker.Kind
		ops     [][]int64 // anomalies' ops
		reason  string    // a substring of Reason
		reads   int       // reads judged
	}{
		{name: "read of the acknowledged adds", want: checker.Valid, reads: 2, history: `
{"type":"invoke","process":1,"f":"read","key":"c","value":null}
{"type":"ok","process":1,"f":"read","key":"c","value":0}
{"type":"invoke","process":0,"f":"add","key":"c","value":2}
{"type":"ok","process":0,"f":"add","key":"c","value":2}
{"type":"invoke","process":1,"f":"read","key":"c","value":null}
{"type":"ok","process":1,"f":"read","key":"c","value":2}`},
		{name: "a concurrent add may or may not be seen", want: checker.Valid, reads: 2, history: `
{"type":"invoke","process":0,"f":"add","value":5}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":0}
{"type":"ok","process":2,"f":"read","value":5}
{"type":"ok","process":0,"f":"add","value":5}`},
		{name: "a read below the acknowledged adds", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooLow}, ops: [][]int64{{1, 5}}, reason: "1 read outside", history: `
{"type":"invoke","process":0,"f":"add","key":"c","value":5}
{"type":"ok","process":0,"f":"add","key":"c","value":5}
{"type":"invoke","process":0,"f":"add","key":"c","value":3}
{"type":"ok","process":0,"f":"add","key":"c","value":3}
{"type":"invoke","process":1,"f":"read","key":"c","value":null}
{"type":"ok","process":1,"f":"read","key":"c","value":4}`},
		{name: "counters are judged apart", want: checker.Invalid, reads: 2, kinds: []checker.Kind{KindTooLow}, ops: [][]int64{{1, 5}}, history: `
{"type":"invoke","process":0,"f":"add","key":"c","value":5}
{"type":"ok","process":0,"f":"add","key":"c","value":5}
{"type":"invoke","process":1,"f":"read","key":"d","value":null}
{"type":"ok","process":1,"f":"read","key":"d","value":0}
{"type":"invoke","process":1,"f":"read","key":"c","value":null}
{"type":"ok","process":1,"f":"read","key":"c","value":0}`},
		{name: "a read above every attempted add", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooHigh}, ops: [][]int64{{5}}, history: `
{"type":"invoke","process":0,"f":"add","value":5}
{"type":"ok","process":0,"f":"add","value":5}
{"type":"invoke","process":2,"f":"add","value":3}
{"type":"info","process":2,"f":"add","value":3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":9}`},
		{name: "a crashed add may apply later", want: checker.Valid, reads: 2, history: `
{"type":"invoke","process":2,"f":"add","value":3}
{"type":"info","process":2,"f":"add","value":3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":0}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}`},
		{name: "an add that never completed may apply", want: checker.Valid, reads: 1, history: `
{"type":"invoke","process":2,"f":"add","value":3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}`},
		{name: "a failed add never applies", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooHigh}, ops: [][]int64{{3}}, history: `
{"type":"invoke","process":2,"f":"add","value":3}
{"type":"fail","process":2,"f":"add","value":3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}`},
		{name: "an add invoked after the read completed", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooHigh}, ops: [][]int64{{1}}, history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}
{"type":"invoke","process":2,"f":"add","value":3}
{"type":"ok","process":2,"f":"add","value":3}`},
		{name: "an acknowledged decrement lowers the upper bound", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooHigh}, ops: [][]int64{{3, 5}}, history: `
{"type":"invoke","process":0,"f":"add","value":10}
{"type":"ok","process":0,"f":"add","value":10}
{"type":"invoke","process":0,"f":"add","value":-3}
{"type":"ok","process":0,"f":"add","value":-3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":10}`},
		{name: "a decrement that may have applied lowers the lower bound", want: checker.Valid, reads: 2, history: `
{"type":"invoke","process":0,"f":"add","value":10}
{"type":"ok","process":0,"f":"add","value":10}
{"type":"invoke","process":2,"f":"add","value":-3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":7}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":10}
{"type":"info","process":2,"f":"add","value":-3}`},
		{name: "below even with every decrement", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooLow}, ops: [][]int64{{1, 4, 5}}, history: `
{"type":"invoke","process":0,"f":"add","value":10}
{"type":"ok","process":0,"f":"add","value":10}
{"type":"invoke","process":2,"f":"add","value":-3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"info","process":2,"f":"add","value":-3}
{"type":"ok","process":1,"f":"read","value":6}`},
		{name: "the witness is the fewest adds", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooLow}, ops: [][]int64{{5, 7}}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":0,"f":"add","value":5}
{"type":"ok","process":0,"f":"add","value":5}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":4}`},
		{name: "a nil read is 0", want: checker.Invalid, reads: 1, kinds: []checker.Kind{KindTooLow}, ops: [][]int64{{1, 3}}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "a nil read under Knossos' convention observed nothing", opts: checker.Options{NilRead: checker.NilReadUnknown}, want: checker.Unknown, reason: "no read of a counter succeeded", history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "no read", want: checker.Unknown, reason: "end the workload with a final read of every counter", history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"fail","process":1,"f":"read","value":null}`},
		{name: "not a counter: other functions", want: checker.Unknown, reason: "also uses write", history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}`},
		{name: "not a counter: a set's read", want: checker.Unknown, reason: "returned [1], not an integer", history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`},
		{name: "not a counter: a delta that is no integer", want: checker.Unknown, reason: `adds "x", not an integer`, history: `
{"type":"invoke","process":0,"f":"add","value":"x"}
{"type":"ok","process":0,"f":"add","value":"x"}`},
		{name: "an add beyond int64 is refused, not rounded", want: checker.Unknown, reason: "adds 36893488147419103233, beyond the ±2^62", history: `
{"type":"invoke","process":0,"f":"add","value":36893488147419103233}
{"type":"ok","process":0,"f":"add","value":36893488147419103233}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":36893488147419103232}`},
		{name: "a read beyond int64 is refused, not rounded", want: checker.Unknown, reason: "returned 36893488147419103232, beyond the ±2^62", history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":36893488147419103232}`},
		{name: "adds whose sum would overflow are refused", want: checker.Unknown, reason: "sum beyond the ±2^62", history: `
{"type":"invoke","process":0,"f":"add","value":4000000000000000000}
{"type":"ok","process":0,"f":"add","value":4000000000000000000}
{"type":"invoke","process":0,"f":"add","value":4000000000000000000}
{"type":"ok","process":0,"f":"add","value":4000000000000000000}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := histtest.Parse(t, tc.history)
			res := Check(context.Background(), h, tc.opts)
			histtest.Check(t, h, res, histtest.Want{Model: checker.Counter, Engine: Engine, Verdict: tc.want, Reason: tc.reason, Kinds: tc.kinds, Ops: tc.ops})
			if d, ok := res.Details.(*Details); ok && d.Reads != tc.reads {
				t.Errorf("%d reads judged, want %d", d.Reads, tc.reads)
			}
		})
	}
}

func TestExplanations(t *testing.T) {
	for _, tc := range []struct {
		name, history, want string
	}{
		{"too low", `
{"type":"invoke","process":0,"f":"add","key":"c","value":15}
{"type":"ok","process":0,"f":"add","key":"c","value":15}
{"type":"invoke","process":3,"f":"read","key":"c","value":null,"node":"n2"}
{"type":"ok","process":3,"f":"read","key":"c","value":12,"node":"n2"}`,
			`Process 3 on node n2 read 12 from counter "c" (index 3, line 4), but adds acknowledged before the read began already summed to 15: the read missed acknowledged increments.`},
		{"too low with decrements", `
{"type":"invoke","process":0,"f":"add","value":20}
{"type":"ok","process":0,"f":"add","value":20}
{"type":"invoke","process":2,"f":"add","value":-5}
{"type":"invoke","process":3,"f":"read","value":null}
{"type":"ok","process":3,"f":"read","value":12}`,
			`Process 3 read 12 from the counter (index 4, line 5), but adds acknowledged before the read began already summed to 20, and every decrement that may have applied before it completed takes away only 5, so the counter held at least 15: the read missed acknowledged increments.`},
		{"too high", `
{"type":"invoke","process":0,"f":"add","value":15}
{"type":"ok","process":0,"f":"add","value":15}
{"type":"invoke","process":3,"f":"read","value":null}
{"type":"ok","process":3,"f":"read","value":20}`,
			`Process 3 read 20 from the counter (index 3, line 4), but every increment invoked before the read completed sums to only 15: the read saw increments that were never made, or were applied twice.`},
		{"too high with decrements", `
{"type":"invoke","process":0,"f":"add","value":15}
{"type":"ok","process":0,"f":"add","value":15}
{"type":"invoke","process":0,"f":"add","value":-4}
{"type":"ok","process":0,"f":"add","value":-4}
{"type":"invoke","process":3,"f":"read","value":null}
{"type":"ok","process":3,"f":"read","value":13}`,
			`Process 3 read 13 from the counter (index 5, line 6), but every increment invoked before the read completed sums to only 15, and decrements acknowledged before it began take away 4, so the counter held at most 11: the read saw increments that were never made, or were applied twice.`},
		{"nothing added", `
{"type":"invoke","process":3,"f":"read","value":null}
{"type":"ok","process":3,"f":"read","value":1}`,
			`Process 3 read 1 from the counter (index 1, line 2), but no increment was invoked before the read completed: the read saw increments that were never made, or were applied twice.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(context.Background(), histtest.Parse(t, tc.history), checker.Options{})
			if len(res.Anomalies) != 1 || res.Anomalies[0].Explanation() != tc.want {
				t.Errorf("anomalies %+v\nwant the explanation %s", res.Anomalies, tc.want)
			}
		})
	}
}

func TestDetailsAndLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"type":"invoke","process":0,"f":"add","value":100}` + "\n")
	b.WriteString(`{"type":"ok","process":0,"f":"add","value":100}` + "\n")
	for i := range 15 {
		fmt.Fprintf(&b, `{"type":"invoke","process":1,"f":"read","value":null}`+"\n")
		fmt.Fprintf(&b, `{"type":"ok","process":1,"f":"read","value":%d}`+"\n", 85+i)
	}
	res := Check(context.Background(), histtest.Parse(t, b.String()), checker.Options{})
	if res.Verdict != checker.Invalid || len(res.Anomalies) != MaxAnomalies || !strings.Contains(res.Reason, "15 reads outside what the adds could have produced; the first 10 are shown") {
		t.Errorf("%s, %d anomalies (%s)", res.Verdict, len(res.Anomalies), res.Reason)
	}
	if got, want := *res.Details.(*Details), (Details{Counters: 1, Reads: 15, OutOfBounds: 15, MaxError: 15}); got != want {
		t.Errorf("details %+v, want %+v", got, want)
	}
}

func TestApplies(t *testing.T) {
	for _, tc := range []struct {
		name, history string
		want          bool
	}{
		{"counter", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`, true},
		{"set", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`, false},
		{"adds alone: no read to tell a counter from a set", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}`, false},
		{"register", `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Checker{}).Applies(histtest.Parse(t, tc.history)); got != tc.want {
				t.Errorf("Applies = %v, want %v", got, tc.want)
			}
		})
	}
}
