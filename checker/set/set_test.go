package set

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/internal/histtest"
)

func TestVerdicts(t *testing.T) {
	type counts struct{ stable, lost, neverRead, stale, unexpected int }
	for _, tc := range []struct {
		name    string
		history string
		opts    checker.Options
		want    checker.Verdict
		kinds   []checker.Kind
		ops     [][]int64 // anomalies' ops
		reason  string    // a substring of Reason
		counts  counts
	}{
		{name: "an acknowledged element read", want: checker.Valid, counts: counts{stable: 1}, history: `
{"type":"invoke","process":0,"f":"add","key":"s","value":1}
{"type":"ok","process":0,"f":"add","key":"s","value":1}
{"type":"invoke","process":1,"f":"read","key":"s","value":null}
{"type":"ok","process":1,"f":"read","key":"s","value":[1]}`},
		{name: "read, then missing from a later read", want: checker.Invalid, kinds: []checker.Kind{KindLost}, ops: [][]int64{{1, 3, 5}}, counts: counts{lost: 1}, history: `
{"type":"invoke","process":0,"f":"add","key":"s","value":1}
{"type":"ok","process":0,"f":"add","key":"s","value":1}
{"type":"invoke","process":1,"f":"read","key":"s","value":null}
{"type":"ok","process":1,"f":"read","key":"s","value":[1]}
{"type":"invoke","process":1,"f":"read","key":"s","value":null}
{"type":"ok","process":1,"f":"read","key":"s","value":[]}`},
		{name: "acknowledged, then never read", want: checker.Invalid, kinds: []checker.Kind{KindLost}, ops: [][]int64{{1, 3}}, reason: "1 element lost, 0 unexpected", counts: counts{lost: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[]}`},
		{name: "seen after its add crashed, then lost", want: checker.Invalid, kinds: []checker.Kind{KindLost}, ops: [][]int64{{3, 5}}, counts: counts{lost: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"info","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[]}`},
		{name: "missed, then seen: stale, not lost", want: checker.Valid, counts: counts{stable: 1, stale: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[]}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`},
		{name: "a read concurrent with the add may miss it", want: checker.Valid, counts: counts{stable: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[]}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`},
		{name: "no read after the add", want: checker.Unknown, reason: "no element could be judged", counts: counts{neverRead: 1}, history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"ok","process":1,"f":"read","value":[]}`},
		{name: "a crashed add never seen is not judged", want: checker.Valid, reason: "1 element not judged", counts: counts{stable: 1, neverRead: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":2,"f":"add","value":2}
{"type":"info","process":2,"f":"add","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`},
		{name: "an element nobody added", want: checker.Invalid, kinds: []checker.Kind{KindUnexpected}, ops: [][]int64{{3}}, counts: counts{stable: 1, unexpected: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1,99]}`},
		{name: "an element whose add failed", want: checker.Invalid, kinds: []checker.Kind{KindUnexpected}, ops: [][]int64{{3}}, counts: counts{unexpected: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"fail","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`},
		{name: "an element added only after the read", want: checker.Invalid, kinds: []checker.Kind{KindUnexpected}, ops: [][]int64{{1}}, counts: counts{unexpected: 1, neverRead: 1}, history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}`},
		{name: "elements of another set are unexpected", want: checker.Invalid, kinds: []checker.Kind{KindUnexpected}, ops: [][]int64{{3}}, counts: counts{neverRead: 1, unexpected: 1}, history: `
{"type":"invoke","process":0,"f":"add","key":"s","value":1}
{"type":"ok","process":0,"f":"add","key":"s","value":1}
{"type":"invoke","process":1,"f":"read","key":"t","value":null}
{"type":"ok","process":1,"f":"read","key":"t","value":[1]}`},
		{name: "a nil read is an empty set", want: checker.Invalid, kinds: []checker.Kind{KindLost}, ops: [][]int64{{1, 3}}, counts: counts{lost: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "a nil read under Knossos' convention observed nothing", opts: checker.Options{NilRead: checker.NilReadUnknown}, want: checker.Unknown, counts: counts{neverRead: 1}, history: `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "not a set: other functions", want: checker.Unknown, reason: "also uses cas", history: `
{"type":"invoke","process":0,"f":"cas","value":[1,2]}
{"type":"ok","process":0,"f":"cas","value":[1,2]}`},
		{name: "not a set: a counter's read", want: checker.Unknown, reason: "returned 1, not a list", history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := histtest.Parse(t, tc.history)
			res := Check(context.Background(), h, tc.opts)
			histtest.Check(t, h, res, histtest.Want{Model: checker.SetFull, Engine: Engine, Verdict: tc.want, Reason: tc.reason, Kinds: tc.kinds, Ops: tc.ops})
			if d, ok := res.Details.(*Details); ok {
				got := counts{d.Stable, d.Lost, d.NeverRead, d.Stale, d.Unexpected}
				if got != tc.counts {
					t.Errorf("counts %+v, want %+v", got, tc.counts)
				}
			} else if tc.counts != (counts{}) {
				t.Errorf("no details")
			}
		})
	}
}

func TestExplanations(t *testing.T) {
	for _, tc := range []struct {
		name, history, want string
	}{
		{"lost after a read", `
{"type":"invoke","process":0,"f":"add","key":"s","value":7}
{"type":"ok","process":0,"f":"add","key":"s","value":7}
{"type":"invoke","process":4,"f":"read","key":"s","value":null}
{"type":"ok","process":4,"f":"read","key":"s","value":[7]}
{"type":"invoke","process":1,"f":"read","key":"s","value":null}
{"type":"ok","process":1,"f":"read","key":"s","value":[]}`,
			`Element 7 of set "s" was lost: process 0's add of it was acknowledged (index 1, line 2) and process 4's read (index 3, line 4) returned it, but process 1's read (index 5, line 6), begun after it was known to be present, did not return it, nor did any read begun later.`},
		{"unexpected", `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":["x"]}`,
			`Process 1's read of the set (index 1, line 2) returned "x", but no add of it that did not fail was invoked before the read completed: the set holds an element nobody added.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := Check(context.Background(), histtest.Parse(t, tc.history), checker.Options{})
			if len(res.Anomalies) != 1 || res.Anomalies[0].Explanation() != tc.want {
				t.Errorf("anomalies %+v\nwant the explanation %s", res.Anomalies, tc.want)
			}
		})
	}
}

// TestWorstStale checks that the stale elements are ranked by delay and
// reported in Details, not as anomalies.
func TestWorstStale(t *testing.T) {
	h := histtest.Parse(t, `
{"type":"invoke","process":0,"f":"add","value":1,"time":0}
{"type":"ok","process":0,"f":"add","value":1,"time":1000000}
{"type":"invoke","process":0,"f":"add","value":2,"time":2000000}
{"type":"ok","process":0,"f":"add","value":2,"time":3000000}
{"type":"invoke","process":1,"f":"read","value":null,"time":4000000}
{"type":"ok","process":1,"f":"read","value":[2],"time":5000000}
{"type":"invoke","process":1,"f":"read","value":null,"time":9000000}
{"type":"ok","process":1,"f":"read","value":[],"time":10000000}
{"type":"invoke","process":1,"f":"read","value":null,"time":11000000}
{"type":"ok","process":1,"f":"read","value":[1,2],"time":12000000}`)
	res := Check(context.Background(), h, checker.Options{})
	if res.Verdict != checker.Valid || len(res.Anomalies) != 0 {
		t.Fatalf("%s (%s), anomalies %+v", res.Verdict, res.Reason, res.Anomalies)
	}
	d := res.Details.(*Details)
	want := []Stale{{Element: int64(1), Known: 1, Missed: 7, Delay: 8 * time.Millisecond}, {Element: int64(2), Known: 3, Missed: 7, Delay: 6 * time.Millisecond}}
	if d.Stale != 2 || fmt.Sprint(d.WorstStale) != fmt.Sprint(want) {
		t.Errorf("stale %d, worst %+v, want %+v", d.Stale, d.WorstStale, want)
	}
	if d.Sets != 1 || d.Attempted != 2 || d.Stable != 2 || d.Lost+d.NeverRead+d.Unexpected != 0 {
		t.Errorf("details %+v, want 2 stable elements of 1 set", d)
	}
}

func TestManyLost(t *testing.T) {
	var b strings.Builder
	for v := range 15 {
		fmt.Fprintf(&b, `{"type":"invoke","process":0,"f":"add","value":%d}`+"\n", v)
		fmt.Fprintf(&b, `{"type":"ok","process":0,"f":"add","value":%d}`+"\n", v)
	}
	b.WriteString(`{"type":"invoke","process":1,"f":"read","value":null}` + "\n")
	b.WriteString(`{"type":"ok","process":1,"f":"read","value":[]}` + "\n")
	res := Check(context.Background(), histtest.Parse(t, b.String()), checker.Options{})
	if res.Verdict != checker.Invalid || len(res.Anomalies) != MaxAnomalies || !strings.Contains(res.Reason, "15 elements lost, 0 unexpected; the first 10 are shown") {
		t.Errorf("%s, %d anomalies (%s)", res.Verdict, len(res.Anomalies), res.Reason)
	}
}

func TestApplies(t *testing.T) {
	for _, tc := range []struct {
		name, history string
		want          bool
	}{
		{"set", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`, true},
		{"counter", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`, false},
		{"adds alone", `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}`, false},
		{"list", `
{"type":"invoke","process":0,"f":"append","value":1}
{"type":"ok","process":0,"f":"append","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":[1]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Checker{}).Applies(histtest.Parse(t, tc.history)); got != tc.want {
				t.Errorf("Applies = %v, want %v", got, tc.want)
			}
		})
	}
}
