package oncall_test

import (
	"context"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/oncall"
	"consist/checker/suite"
	"consist/history"
)

func parse(t *testing.T, jsonl string) *history.History {
	t.Helper()
	h, err := history.Parse([]byte(strings.TrimSpace(jsonl)), "on-call.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// setup puts doctors d0 and d1 on call under a rule of at least 1.
const setup = `
{"type":"invoke","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1],["w","d1",2]]}
{"type":"ok","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1],["w","d1",2]]}`

// TestWriteSkewIsFlagged is Cahill's example: doctors 0 and 1 each read
// both on call, concurrently, and each leaves; the final read sees nobody
// on call. The checker must flag it and name the write skew.
func TestWriteSkewIsFlagged(t *testing.T) {
	h := parse(t, setup+`
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d0",-3]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d1",-4]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0",1],["r","d1",2],["w","d0",-3]]}
{"type":"ok","process":1,"f":"txn","value":[["r","d0",1],["r","d1",2],["w","d1",-4]]}
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null],["r","d1",null]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0",-3],["r","d1",-4]]}`)
	if !(oncall.Checker{}).Applies(h) {
		t.Fatal("the checker does not apply to an on-call history")
	}
	res := oncall.Check(context.Background(), h)
	if res.Verdict != checker.Invalid || len(res.Anomalies) != 1 {
		t.Fatalf("%s (%s) %v: want invalid, one anomaly", res.Verdict, res.Reason, res.Anomalies)
	}
	a := res.Anomalies[0]
	got := a.Explanation()
	for _, want := range []string{"saw 0 of 2 doctors on call (d0, d1 off), fewer than the rule's 1:",
		"took d0 off call after reading d1 still on call", "took d1 off call after reading d0 still on call", "write skew"} {
		if !strings.Contains(got, want) {
			t.Errorf("the witness %q does not say %q", got, want)
		}
	}
	if a.Kind != checker.TooFewOnCall || len(a.Steps) != 3 || a.Steps[0].Rel != checker.RW {
		t.Errorf("anomaly %+v: want the two leavers and the reader as steps", a)
	}
	d := res.Details.(*oncall.Details)
	if d.Looks != 3 || d.Broken != 1 || d.Fewest != 0 || d.Doctors != 2 || d.Minimum != 1 {
		t.Errorf("details %+v", d)
	}
	// The suite runs it as the on-call model; the transactional checker
	// finds the same history not serializable (with writes following
	// reads assumed, it sees the G2-item).
	for _, r := range suite.Check(context.Background(), h, checker.Options{WFRKeys: true}, checker.OnCall, checker.Serializable) {
		if r.Verdict != checker.Invalid {
			t.Errorf("%s: %s (%s), want invalid", r.Model, r.Verdict, r.Reason)
		}
	}
}

// TestSerialLeavesPass runs the same two doctors one after the other: the
// second sees the first gone and its transaction aborts, so the rule
// holds.
func TestSerialLeavesPass(t *testing.T) {
	h := parse(t, setup+`
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d0",-3]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0",1],["r","d1",2],["w","d0",-3]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d1",-4]]}
{"type":"fail","process":1,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d1",-4]],"error":"doctor d1 stays on call"}
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d0",5]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0",-3],["r","d1",2],["w","d0",5]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","d0",null],["r","d1",null]]}
{"type":"ok","process":1,"f":"txn","value":[["r","d0",5],["r","d1",2]]}`)
	for _, r := range suite.Check(context.Background(), h, checker.Options{WFRKeys: true}, checker.OnCall, checker.StrictSerializable) {
		if r.Verdict != checker.Valid {
			t.Fatalf("%s: %s (%s) %v", r.Model, r.Verdict, r.Reason, r.Anomalies)
		}
	}
	if d := oncall.Check(context.Background(), h).Details.(*oncall.Details); d.Looks != 3 || d.Fewest != 1 {
		t.Errorf("details %+v: want 3 looks, fewest 1", d)
	}
}

// TestUnknown covers the histories the checker cannot judge.
func TestUnknown(t *testing.T) {
	for _, tc := range []struct{ name, jsonl, want string }{
		{"no rule", `
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0",1]]}`, "no transaction wrote the rule"},
		{"setup crashed", `
{"type":"invoke","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1],["w","d1",2]]}
{"type":"info","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1],["w","d1",2]]}`, "did not complete ok"},
		{"no look", setup, "no committed transaction read every doctor"},
		{"setup failed", `
{"type":"invoke","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1]]}
{"type":"fail","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1]]}`, "the setup transaction (index 1) failed"},
		{"a flag that is no integer", setup + `
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null],["r","d1",null]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0","on"],["r","d1",2]]}`, `read doctor d0's flag as "on"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := oncall.Check(context.Background(), parse(t, tc.jsonl))
			if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, tc.want) {
				t.Fatalf("%s (%s): want unknown, saying %q", res.Verdict, res.Reason, tc.want)
			}
		})
	}
}

// TestAppliesOnlyToOnCall: a plain rw-register history is not on-call.
func TestAppliesOnlyToOnCall(t *testing.T) {
	h := parse(t, `
{"type":"invoke","process":0,"f":"txn","value":[["w",1,1]]}
{"type":"ok","process":0,"f":"txn","value":[["w",1,1]]}`)
	if (oncall.Checker{}).Applies(h) {
		t.Fatal("the on-call checker applies to a history without the rule")
	}
}

// TestLeaverIgnoringTheRule: a store that let a doctor leave though its
// reads showed nobody else on call breaks the rule without write skew;
// the witness names who took each doctor off.
func TestLeaverIgnoringTheRule(t *testing.T) {
	h := parse(t, `
{"type":"invoke","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1],["w","d1",-2]]}
{"type":"ok","process":9,"f":"txn","value":[["w","min-on-call",1],["w","d0",1],["w","d1",-2]]}
{"type":"invoke","process":0,"f":"txn","value":[["r","d0",null],["r","d1",null],["w","d0",-3]]}
{"type":"ok","process":0,"f":"txn","value":[["r","d0",1],["r","d1",-2],["w","d0",-3]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","d0",null],["r","d1",null]]}
{"type":"ok","process":1,"f":"txn","value":[["r","d0",-3],["r","d1",-2]]}`)
	res := oncall.Check(context.Background(), h)
	if res.Verdict != checker.Invalid || len(res.Anomalies) != 1 {
		t.Fatalf("%s (%s): want invalid", res.Verdict, res.Reason)
	}
	got := res.Anomalies[0].Explanation()
	if strings.Contains(got, "write skew") || !strings.Contains(got, "fewer than the rule's 1. Taken off call: d0 by process 0's transaction") || !strings.Contains(got, "d1 by process 9's transaction") {
		t.Fatalf("witness %q: want each leaver named, no write skew", got)
	}
}
