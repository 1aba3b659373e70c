package txn

import (
	"context"
	"strings"
	"testing"

	"consist/checker"
)

// otvCheck checks h against monotonic-atomic-view and read-committed and
// returns the results by model, with every anomaly the analysis found.
func otvCheck(t *testing.T, lines ...string) (map[checker.Model]checker.Result, []checker.Anomaly) {
	t.Helper()
	h := parseJSONL(t, lines...)
	out := map[checker.Model]checker.Result{}
	for _, r := range (Checker{}).CheckModels(context.Background(), h, checker.Options{}, checker.MonotonicAtomicView, checker.ReadCommitted) {
		out[r.Model] = r
	}
	a, err := Analyze(context.Background(), h, checker.Options{}, false, false)
	if err != nil {
		t.Fatal(err)
	}
	return out, a.Anomalies
}

// TestOTVFracturedRead: T1 appends to x and y; T2 reads x showing T1's
// element and then y without it. T2 saw some of T1's writes and then
// missed another: observed transaction vanishes, which monotonic atomic
// view proscribes, while read committed holds.
func TestOTVFracturedRead(t *testing.T) {
	rs, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
	)
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Invalid {
		t.Fatalf("monotonic-atomic-view: %s (%s), want invalid; anomalies %v", r.Verdict, r.Reason, kindsOf(all))
	}
	if r := rs[checker.ReadCommitted]; r.Verdict != checker.Valid {
		t.Errorf("read-committed: %s %v, want valid", r.Verdict, kindsOf(r.Anomalies))
	}
	a := anomalyOf(rs[checker.MonotonicAtomicView].Anomalies, checker.OTV)
	if a == nil {
		t.Fatalf("no OTV among %v", kindsOf(rs[checker.MonotonicAtomicView].Anomalies))
	}
	if len(a.Steps) != 2 || a.Steps[0].Rel != checker.WR || a.Steps[1].Rel != checker.RW || a.Steps[0].Index != 1 || a.Steps[1].Index != 3 {
		t.Errorf("steps %+v, want the writer (wr) then the reader (rw)", a.Steps)
	}
	text := a.Explanation()
	for _, want := range []string{`read key "x" = [1], showing 1`, `then read key "y" = [], which does not show the 1 that transaction appended`, "observed transaction vanishes"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	if not, _ := checker.Boundary(a.Kind); len(not) != 1 || not[0] != checker.MonotonicAtomicView {
		t.Errorf("OTV's boundary: not %v, want [monotonic-atomic-view]", not)
	}
}

// TestOTVReadSkewIsNot: reading y before x (y without T1's element, then
// x with it) is read skew, which monotonic atomic view allows: the
// observation comes after the miss.
func TestOTVReadSkewIsNot(t *testing.T) {
	rs, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","y",null],["r","x",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","y",[]],["r","x",[1]]]}`,
	)
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Valid {
		t.Errorf("monotonic-atomic-view: %s %v, want valid", r.Verdict, kindsOf(r.Anomalies))
	}
	if anomalyOf(all, checker.OTV) != nil {
		t.Errorf("OTV reported for a read of y before x: %v", kindsOf(all))
	}
}

// TestOTVLaterAppendShown: T2 reads x showing T1's element, T1's append
// to y comes after another's, and T2's read of y shows it: nothing
// vanished, whatever else the list holds or lacks (T3's later append).
func TestOTVLaterAppendShown(t *testing.T) {
	rs, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","y",0]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","y",0]]}`,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[0,1]]]}`,
		`{"type":"invoke","process":2,"f":"txn","value":[["append","x",2],["append","y",2]]}`,
		`{"type":"ok","process":2,"f":"txn","value":[["append","x",2],["append","y",2]]}`,
		`{"type":"invoke","process":2,"f":"txn","value":[["r","y",null]]}`,
		`{"type":"ok","process":2,"f":"txn","value":[["r","y",[0,1,2]]]}`,
	)
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Valid {
		t.Errorf("monotonic-atomic-view: %s %v, want valid", r.Verdict, kindsOf(r.Anomalies))
	}
	if anomalyOf(all, checker.OTV) != nil {
		t.Errorf("OTV reported: %v", kindsOf(all))
	}
}

// TestOTVAbortedIsG1a: an aborted writer whose element was read is an
// aborted read (G1a), not a vanished transaction: it never committed.
func TestOTVAbortedIsG1a(t *testing.T) {
	rs, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"fail","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
	)
	if anomalyOf(all, checker.OTV) != nil {
		t.Errorf("OTV reported for an aborted writer: %v", kindsOf(all))
	}
	if anomalyOf(all, checker.G1a) == nil {
		t.Errorf("no G1a: %v", kindsOf(all))
	}
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Invalid {
		t.Errorf("monotonic-atomic-view: %s, want invalid (G1a)", r.Verdict)
	}
}

// TestOTVIndeterminateWriter: an indeterminate writer whose element was
// read took effect; missing its other append is a vanished transaction.
// One never read is not observed, and nothing of it can vanish.
func TestOTVIndeterminateWriter(t *testing.T) {
	_, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"info","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
	)
	if anomalyOf(all, checker.OTV) == nil {
		t.Errorf("no OTV for an indeterminate writer that took effect: %v", kindsOf(all))
	}
	_, all = otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"info","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[]],["r","y",[]]]}`,
	)
	if anomalyOf(all, checker.OTV) != nil {
		t.Errorf("OTV for a writer nobody saw: %v", kindsOf(all))
	}
}

// TestOTVOwnAndSeveral: the later read follows T's own append to y and
// shows it, but none of T1's two appends to y: T1 vanished. T's own
// appends observed in a read are not another's. A re-read of x that lost
// T1's element is one too.
func TestOTVOwnAndSeveral(t *testing.T) {
	_, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1],["append","y",2]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1],["append","y",2]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["append","y",3],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["append","y",3],["r","y",[3]]]}`,
	)
	a := anomalyOf(all, checker.OTV)
	if a == nil {
		t.Fatalf("no OTV: %v", kindsOf(all))
	}
	if !strings.Contains(a.Explanation(), "does not show the 1 that transaction appended") {
		t.Errorf("explanation: %s", a.Explanation())
	}
	_, all = otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["append","x",2],["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["append","x",2],["r","x",[2]],["r","y",[]]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
	)
	if anomalyOf(all, checker.OTV) != nil {
		t.Errorf("OTV from a transaction's own append: %v", kindsOf(all))
	}
	_, all = otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","x",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","x",[]]]}`,
	)
	if anomalyOf(all, checker.OTV) == nil {
		t.Errorf("no OTV for a re-read that lost an element: %v", kindsOf(all))
	}
}

// TestOTVRegister: on registers, T2 reads x = 1, which T1 wrote, and then
// y = nil, the initial state, which precedes T1's y = 1: OTV. Reading y
// first is read skew, which MAV allows. With writes following reads
// assumed, a version the order puts right before T1's is one too.
func TestOTVRegister(t *testing.T) {
	rs, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",1],["r","y",null]]}`,
	)
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Invalid {
		t.Errorf("monotonic-atomic-view: %s %v, want invalid", r.Verdict, kindsOf(all))
	}
	if a := anomalyOf(all, checker.OTV); a == nil {
		t.Errorf("no OTV: %v", kindsOf(all))
	} else if !strings.Contains(a.Explanation(), "the initial state precedes every version") {
		t.Errorf("explanation: %s", a.Explanation())
	}
	rs, all = otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","y",null],["r","x",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","y",null],["r","x",1]]}`,
	)
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Valid || anomalyOf(all, checker.OTV) != nil {
		t.Errorf("y before x: monotonic-atomic-view %s, anomalies %v; want valid, no OTV", r.Verdict, kindsOf(all))
	}
	h := parseJSONL(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["w","y",0]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["w","y",0]]}`,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","y",null],["w","x",1],["w","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","y",0],["w","x",1],["w","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",1],["r","y",0]]}`,
	)
	for _, wfr := range []bool{false, true} {
		a, err := Analyze(context.Background(), h, checker.Options{WFRKeys: wfr}, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := anomalyOf(a.Anomalies, checker.OTV) != nil; got != wfr {
			t.Errorf("writes follow reads %v: OTV %v, want %v (%v)", wfr, got, wfr, a.Kinds())
		}
	}
}

// TestOTVInnoDBRepeatableRead: the fractured read Jepsen reported in
// MySQL 8.0.34's repeatable read, as the bundled mvcc engine plays it
// (adapters/builtin/mvcc, TestRepeatableReadFracturesAtomicView): T1's
// first read takes its view; T2 appends to x and y and commits; T1's
// append to y acts on the newest version, so its read of y shows T2's
// element, and its read of x, through the old view, misses T2's.
func TestOTVInnoDBRepeatableRead(t *testing.T) {
	rs, all := otvCheck(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["append","y",2],["r","y",null],["r","x",null]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["append","y",2],["r","y",[1,2]],["r","x",[]]]}`,
	)
	if r := rs[checker.MonotonicAtomicView]; r.Verdict != checker.Invalid {
		t.Fatalf("monotonic-atomic-view: %s %v, want invalid", r.Verdict, kindsOf(all))
	}
	a := anomalyOf(all, checker.OTV)
	if a == nil {
		t.Fatalf("no OTV: %v", kindsOf(all))
	}
	if want := `read key "y" = [1,2], showing 1, which process 1's transaction`; !strings.Contains(a.Explanation(), want) {
		t.Errorf("explanation lacks %q:\n%s", want, a.Explanation())
	}
}
