package txn

import (
	"context"
	"slices"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/history"
)

func parseJSONL(t *testing.T, lines ...string) *history.History {
	t.Helper()
	h, err := history.Parse([]byte(strings.Join(lines, "\n")+"\n"), "t.jsonl", history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestCycleExplanation checks that a G-single-item cycle is told step by
// step, each step one clause ending in its relation, and that the steps
// carry the relations in cycle order. (The models it rules out are the
// renderers' to say, from its kind: report's tests.)
func TestCycleExplanation(t *testing.T) {
	// T1 appends 1 to x and 1 to y; T2 reads x = [1] but y = []: T1 < T2
	// by wr on x, T2 < T1 by rw on y.
	h := parseJSONL(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1],["append","y",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[1]],["r","y",[]]]}`,
	)
	rs := Checker{}.CheckModels(context.Background(), h, checker.Options{}, checker.Serializable, checker.ReadCommitted)
	if rs[0].Verdict != checker.Invalid || rs[1].Verdict != checker.Valid {
		t.Fatalf("serializable %s, read-committed %s: want invalid, valid", rs[0].Verdict, rs[1].Verdict)
	}
	var a *checker.Anomaly
	for i := range rs[0].Anomalies {
		if rs[0].Anomalies[i].Kind == checker.GSingleItem {
			a = &rs[0].Anomalies[i]
		}
	}
	if a == nil {
		t.Fatalf("no G-single-item among %v", kindsOf(rs[0].Anomalies))
	}
	text := a.Explanation()
	for _, want := range []string{
		`read key "x" = [1], ending at 1, which T`,
		`by wr`,
		`read key "y" = [] and did not see T`,
		`'s append of 1: T`,
		`by rw`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("explanation lacks %q:\n%s", want, text)
		}
	}
	if len(a.Steps) != 2 {
		t.Fatalf("%d steps, want 2", len(a.Steps))
	}
	dot := DOT(*a)
	for _, want := range []string{`digraph "G-single-item"`, "T1 -> T2", "T2 -> T1", `label="wr"`, `label="rw"`} {
		if !strings.Contains(dot, want) {
			t.Errorf("DOT lacks %q:\n%s", want, dot)
		}
	}
	if DOT(checker.Anomaly{Kind: checker.G1a}) != "" {
		t.Error("DOT draws an anomaly that is not a cycle")
	}
	rels := []checker.Relation{a.Steps[0].Rel, a.Steps[1].Rel}
	if !(rels[0] == checker.WR && rels[1] == checker.RW) && !(rels[0] == checker.RW && rels[1] == checker.WR) {
		t.Errorf("step relations %v, want wr and rw", rels)
	}
}

// TestRealtimeEdgesAreSparse checks that a long chain of sequential
// transactions gets one real-time edge per transaction, not one per pair.
func TestRealtimeEdgesAreSparse(t *testing.T) {
	var lines []string
	for i := 0; i < 1000; i++ {
		lines = append(lines,
			`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null]]}`,
			`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]]]}`)
	}
	th, err := FromHistory(parseJSONL(t, lines...))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(realtimeDeps(th)); n != 999 {
		t.Errorf("%d real-time edges for a chain of 1000, want 999", n)
	}
}

// TestClassify checks Elle's naming of cycles by their relations.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		rels []uint8
		want checker.Kind
	}{
		{[]uint8{uint8(WW), uint8(WW)}, checker.G0},
		{[]uint8{uint8(WW), uint8(WR)}, checker.G1c},
		{[]uint8{uint8(RW), uint8(WR)}, checker.GSingleItem},
		{[]uint8{uint8(RW), uint8(WR), uint8(RW), uint8(WW)}, checker.GNonadjItem},
		{[]uint8{uint8(RW), uint8(RW)}, checker.G2Item},
		{[]uint8{uint8(RW), uint8(Process)}, checker.GSingleItemProcess},
		{[]uint8{uint8(WR), uint8(Process), uint8(Realtime)}, checker.G1cRealtime},
	} {
		rels := make([]graph.Rel, len(c.rels))
		for i, r := range c.rels {
			rels[i] = graph.Rel(r)
		}
		if got := classify(rels); got != c.want {
			t.Errorf("classify(%v) = %s, want %s", c.rels, got, c.want)
		}
	}
}

// TestCancelledGivesUnknown checks that a check whose context has ended
// answers unknown with the reason, never a verdict.
func TestCancelledGivesUnknown(t *testing.T) {
	h := parseJSONL(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["append","x",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["append","x",1]]}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range (Checker{}).Check(ctx, h, checker.Options{}) {
		if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "cancel") {
			t.Errorf("%s: %s (%s), want unknown saying the check was cancelled", r.Model, r.Verdict, r.Reason)
		}
	}
}

// TestShortenKeepsKind checks that chains of real-time or process edges
// collapse to one edge and the cycle keeps its kind.
func TestShortenKeepsKind(t *testing.T) {
	c := &graph.Cycle{Nodes: []int32{0, 1, 2, 3, 4}, Rels: []graph.Rel{RW, Realtime, Realtime, Realtime, WR}}
	s := shorten(c)
	if len(s.Nodes) != 3 || classify(s.Rels) != classify(c.Rels) {
		t.Errorf("shorten(%v %v) = %v %v", c.Nodes, c.Rels, s.Nodes, s.Rels)
	}
	if got := []int32{0, 1, 4}; !slices.Equal(s.Nodes, got) {
		t.Errorf("nodes %v, want %v", s.Nodes, got)
	}
}

// TestSearchBudgetGivesUnknown checks that a cycle search stopped at its
// work bound leaves the models it could have ruled out unknown, with the
// reason, and still judges the models it could not.
func TestSearchBudgetGivesUnknown(t *testing.T) {
	defer func(f func(int) int64) { searchBudget = f }(searchBudget)
	searchBudget = func(int) int64 { return 1 }
	// Write skew: each reads both keys empty and appends to one.
	h := parseJSONL(t,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["r","y",null],["append","x",1]]}`,
		`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null],["append","y",1]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["r","y",[]],["append","x",1]]}`,
		`{"type":"ok","process":1,"f":"txn","value":[["r","x",[]],["r","y",[]],["append","y",1]]}`,
		`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
		`{"type":"ok","process":0,"f":"txn","value":[["r","x",[1]],["r","y",[1]]]}`,
	)
	rs := Checker{}.CheckModels(context.Background(), h, checker.Options{}, checker.Serializable, checker.ReadCommitted)
	if rs[0].Verdict != checker.Unknown || !strings.Contains(rs[0].Reason, "work limit") {
		t.Errorf("serializable: %s (%s), want unknown at the work limit", rs[0].Verdict, rs[0].Reason)
	}
	if rs[1].Verdict != checker.Valid {
		t.Errorf("read-committed: %s (%s), want valid", rs[1].Verdict, rs[1].Reason)
	}
	searchBudget = func(e int) int64 { return int64(4*e) + 2_000_000 }
	if r := (Checker{}).CheckModels(context.Background(), h, checker.Options{}, checker.Serializable)[0]; r.Verdict != checker.Invalid {
		t.Errorf("with the default budget serializable is %s, want invalid (G2-item)", r.Verdict)
	}
}
