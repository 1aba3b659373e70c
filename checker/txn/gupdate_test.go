package txn

import (
	"context"
	"strings"
	"testing"

	"consist/checker"
)

// gupdateVerdicts checks h against the models a G-update bears on and
// returns the results by model.
func gupdateVerdicts(t *testing.T, lines ...string) map[checker.Model]checker.Result {
	t.Helper()
	ms := []checker.Model{checker.UpdateSerializable, checker.Serializable, checker.SnapshotIsolation, checker.ConsistentView, checker.RepeatableRead}
	out := map[checker.Model]checker.Result{}
	for _, r := range (Checker{}).CheckModels(context.Background(), parseJSONL(t, lines...), checker.Options{}, ms...) {
		out[r.Model] = r
	}
	return out
}

func anomalyOf(rs []checker.Anomaly, k checker.Kind) *checker.Anomaly {
	for i := range rs {
		if rs[i].Kind == k {
			return &rs[i]
		}
	}
	return nil
}

// TestGUpdateWriteSkew: write skew between two update transactions (each
// reads the key the other appends to, and both commit) is a cycle of two
// rw edges among update transactions alone: G-update (Adya 1999, chapter 4),
// so update-serializable is invalid, while snapshot isolation, which
// allows write skew, holds.
func TestGUpdateWriteSkew(t *testing.T) {
	rs := gupdateVerdicts(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","y",null],["append","x",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["append","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","y",[]],["append","x",1]]}`,
	)
	for m, want := range map[checker.Model]checker.Verdict{
		checker.UpdateSerializable: checker.Invalid,
		checker.Serializable:       checker.Invalid,
		checker.RepeatableRead:     checker.Invalid,
		checker.SnapshotIsolation:  checker.Valid,
		checker.ConsistentView:     checker.Valid,
	} {
		if got := rs[m].Verdict; got != want {
			t.Errorf("%s: %s (%s), want %s", m, got, rs[m].Reason, want)
		}
	}
	a := anomalyOf(rs[checker.UpdateSerializable].Anomalies, checker.GUpdate)
	if a == nil {
		t.Fatalf("update-serializable invalid without G-update: %v", kindsOf(rs[checker.UpdateSerializable].Anomalies))
	}
	if len(a.Steps) != 2 || a.Steps[0].Rel != checker.RW || a.Steps[1].Rel != checker.RW {
		t.Errorf("G-update steps %v, want two rw", a.Steps)
	}
	text := a.Explanation()
	for _, want := range []string{"G-update cycle of 2 transactions, every one an update transaction", "did not see T", "by rw"} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	not, _ := checker.Boundary(a.Kind)
	if len(not) != 1 || not[0] != checker.UpdateSerializable {
		t.Errorf("G-update's boundary: not %v, want [update-serializable]", not)
	}
}

// TestGUpdateNotThroughTwoReadOnly: the long fork, two update
// transactions each seen without the other by one of two read-only
// transactions, is a cycle that needs both read-only transactions to
// close. Adya's G-update restricts the graph to the update transactions
// and one read-only transaction, where no cycle is left: not G-update, so
// update-serializable holds (each reader sees a serial order of the
// updates, not the same one), while serializable and snapshot isolation
// do not.
func TestGUpdateNotThroughTwoReadOnly(t *testing.T) {
	rs := gupdateVerdicts(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["append","y",1]]}`,
		`{"type":"invoke","process":2,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"invoke","process":3,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":2,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
		`{"type":"ok","process":3,"f":"txn","value":[["r","x",[]],["r","y",[1]]]}`,
	)
	for m, want := range map[checker.Model]checker.Verdict{
		checker.UpdateSerializable: checker.Valid,
		checker.Serializable:       checker.Invalid,
		checker.SnapshotIsolation:  checker.Invalid,
		checker.ConsistentView:     checker.Valid,
	} {
		if got := rs[m].Verdict; got != want {
			t.Errorf("%s: %s (%s; %v), want %s", m, got, rs[m].Reason, kindsOf(rs[m].Anomalies), want)
		}
	}
	if a := anomalyOf(rs[checker.Serializable].Anomalies, checker.GUpdate); a != nil {
		t.Errorf("G-update reported through two read-only transactions: %s", a.Explanation())
	}
}

// TestGUpdateThroughOneReadOnly: Fekete, O'Neil & O'Neil's read-only
// anomaly ("A Read-Only Transaction Anomaly Under Snapshot Isolation",
// SIGMOD Record 33(3), 2004): the two update transactions alone are
// serializable (T1 before T2), but the read-only T3 sees T2's write and
// not T1's, a state no serial order of them produces. The cycle closes
// through one read-only transaction, which Adya's G-update allows in its
// graph: G-update, and update-serializable is invalid, while snapshot
// isolation holds.
func TestGUpdateThroughOneReadOnly(t *testing.T) {
	rs := gupdateVerdicts(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["r","y",null],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["append","x",2]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[]],["append","x",2]]}`,
		`{"type":"invoke","process":2,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":2,"f":"txn","value":[["r","x",[2]],["r","y",[]]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["r","y",[]],["append","y",1]]}`,
	)
	for m, want := range map[checker.Model]checker.Verdict{
		checker.UpdateSerializable: checker.Invalid,
		checker.Serializable:       checker.Invalid,
		checker.SnapshotIsolation:  checker.Valid,
		checker.ConsistentView:     checker.Valid,
	} {
		if got := rs[m].Verdict; got != want {
			t.Errorf("%s: %s (%s; %v), want %s", m, got, rs[m].Reason, kindsOf(rs[m].Anomalies), want)
		}
	}
	a := anomalyOf(rs[checker.UpdateSerializable].Anomalies, checker.GUpdate)
	if a == nil {
		t.Fatalf("no G-update: %v", kindsOf(rs[checker.UpdateSerializable].Anomalies))
	}
	if len(a.Steps) != 3 {
		t.Errorf("%d steps, want 3: %s", len(a.Steps), a.Explanation())
	}
	if !strings.Contains(a.Explanation(), "the only read-only one") {
		t.Errorf("the explanation does not name the read-only transaction:\n%s", a.Explanation())
	}
}

// TestGUpdateSearchStopped: when the G-update search is cut short before
// it finds a cycle, update-serializable is unknown with the reason, not
// valid.
func TestGUpdateSearchStopped(t *testing.T) {
	old := searchBudget
	defer func() { searchBudget = old }()
	searchBudget = func(int) int64 { return 1 }
	rs := gupdateVerdicts(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","y",null],["append","x",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["append","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","y",[]],["append","x",1]]}`,
	)
	r := rs[checker.UpdateSerializable]
	if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "the search for G-update cycles stopped") {
		t.Errorf("update-serializable %s (%s; %v), want unknown because the G-update search stopped", r.Verdict, r.Reason, kindsOf(r.Anomalies))
	}
}

// TestGUpdateRegister: the same write skew on registers, each read of
// the initial state (which precedes every version, so each write
// overwrote what the other transaction read).
func TestGUpdateRegister(t *testing.T) {
	rs := gupdateVerdicts(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["w","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","y",null],["w","x",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",null],["w","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","y",null],["w","x",1]]}`,
	)
	if r := rs[checker.UpdateSerializable]; r.Verdict != checker.Invalid || anomalyOf(r.Anomalies, checker.GUpdate) == nil {
		t.Errorf("update-serializable %s %v, want invalid by G-update", r.Verdict, kindsOf(r.Anomalies))
	}
	if r := rs[checker.SnapshotIsolation]; r.Verdict != checker.Valid {
		t.Errorf("snapshot-isolation %s %v, want valid", r.Verdict, kindsOf(r.Anomalies))
	}
}
