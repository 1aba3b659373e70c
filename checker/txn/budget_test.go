package txn

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/checker/internal/txnoracle"
	"consist/history"
	"consist/internal/corpus"
	"consist/internal/membudget"
)

// writeSkewAndSlow is a write skew (a G2-item cycle, which rules out
// serializable but not snapshot isolation) followed by a transaction that
// reads a version older than one completed before it began (which only the
// real-time pass sees, as G-single-realtime).
var writeSkewAndSlow = []string{
	`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["r","y",null],["append","x",1]]}`,
	`{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null],["append","y",1]]}`,
	`{"type":"ok","process":0,"f":"txn","value":[["r","x",[]],["r","y",[]],["append","x",1]]}`,
	`{"type":"ok","process":1,"f":"txn","value":[["r","x",[]],["r","y",[]],["append","y",1]]}`,
	`{"type":"invoke","process":0,"f":"txn","value":[["r","x",null],["r","y",null]]}`,
	`{"type":"ok","process":0,"f":"txn","value":[["r","x",[1]],["r","y",[1]]]}`,
	`{"type":"invoke","process":2,"f":"txn","value":[["append","z",1]]}`,
	`{"type":"ok","process":2,"f":"txn","value":[["append","z",1]]}`,
	`{"type":"invoke","process":3,"f":"txn","value":[["r","z",null],["append","w",1]]}`,
	`{"type":"ok","process":3,"f":"txn","value":[["r","z",[]],["append","w",1]]}`,
	`{"type":"invoke","process":4,"f":"txn","value":[["r","z",null],["r","w",null]]}`,
	`{"type":"ok","process":4,"f":"txn","value":[["r","z",[1]],["r","w",[1]]]}`,
}

// TestDeadlineGivesUnknown checks that a check whose time ran out answers
// unknown, saying so and what to do.
func TestDeadlineGivesUnknown(t *testing.T) {
	h := parseJSONL(t, writeSkewAndSlow...)
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	for _, r := range (Checker{}).Check(ctx, h, checker.Options{}) {
		if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "--timeout") {
			t.Errorf("%s: %s (%s), want unknown saying to raise --timeout", r.Model, r.Verdict, r.Reason)
		}
	}
}

// TestMemoryBudgetGivesUnknown checks that a check stopped by the memory
// watch (a context cancelled with membudget's cause) answers unknown with
// the watch's reason.
func TestMemoryBudgetGivesUnknown(t *testing.T) {
	h := parseJSONL(t, writeSkewAndSlow...)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("%w: the process held 2GiB of its 2GiB budget; raise --max-memory", membudget.ErrExceeded))
	for _, r := range (Checker{}).Check(ctx, h, checker.Options{}) {
		if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "--max-memory") {
			t.Errorf("%s: %s (%s), want unknown saying to raise --max-memory", r.Model, r.Verdict, r.Reason)
		}
	}
}

// stopAfter is a context whose Err is nil for its first n calls and
// context.Canceled from then on: it ends a check at a chosen point of its
// work, the same point on every run.
type stopAfter struct {
	context.Context
	n, calls int
}

func (c *stopAfter) Err() error {
	c.calls++
	if c.n >= 0 && c.calls > c.n {
		return context.Canceled
	}
	return nil
}

// TestStoppedAnywhereIsHonest stops the check at every point where it
// looks at its context and checks that each answer is either the whole
// check's or unknown with the reason, that an invalid verdict always
// carries anomalies the whole check also finds, and that some stop keeps
// an anomaly found before it while leaving another model unknown.
func TestStoppedAnywhereIsHonest(t *testing.T) {
	h := parseJSONL(t, writeSkewAndSlow...)
	all := &stopAfter{Context: context.Background(), n: -1}
	full := Checker{}.Check(all, h, checker.Options{})
	want := map[checker.Model]checker.Verdict{}
	var kinds []checker.Kind
	for _, r := range full {
		want[r.Model] = r.Verdict
		for _, a := range r.Anomalies {
			kinds = append(kinds, a.Kind)
		}
	}
	if want[checker.Serializable] != checker.Invalid || want[checker.StrongSnapshotIsolation] != checker.Invalid || want[checker.SnapshotIsolation] != checker.Valid {
		t.Fatalf("the whole check: serializable %s, strong SI %s, SI %s; want invalid, invalid, valid",
			want[checker.Serializable], want[checker.StrongSnapshotIsolation], want[checker.SnapshotIsolation])
	}
	mixed := false
	for n := 0; n <= all.calls; n++ {
		var invalid, unknown bool
		for _, r := range (Checker{}).Check(&stopAfter{Context: context.Background(), n: n}, h, checker.Options{}) {
			switch {
			case r.Verdict == want[r.Model]:
			case r.Verdict == checker.Unknown:
				if !strings.Contains(r.Reason, "cancelled") {
					t.Errorf("stop after %d: %s unknown for %q, want the reason to say it was cancelled", n, r.Model, r.Reason)
				}
			default:
				t.Errorf("stop after %d: %s is %s, the whole check says %s", n, r.Model, r.Verdict, want[r.Model])
			}
			for _, a := range r.Anomalies {
				if !slices.Contains(kinds, a.Kind) {
					t.Errorf("stop after %d: %s shows %s, which the whole check does not find", n, r.Model, a.Kind)
				}
			}
			invalid = invalid || r.Verdict == checker.Invalid
			unknown = unknown || r.Verdict == checker.Unknown
		}
		mixed = mixed || invalid && unknown
	}
	if !mixed {
		t.Errorf("no stop kept a found anomaly beside an unknown model: a stopped cycle search should report what it found")
	}
}

// TestHugeSCCWithinBudget searches Elle's performance case, one strongly
// connected component of thousands of transactions, with a tiny work
// budget: the search stops at the budget, the anomalies it found stand,
// and the models it could not settle are unknown with the reason.
func TestHugeSCCWithinBudget(t *testing.T) {
	dir := corpus.Require(t, "jepsen/elle/histories")
	h, err := history.ReadFile(filepath.Join(dir, "huge-scc.edn"), history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	defer func(f func(int) int64) { searchBudget = f }(searchBudget)
	const budget = 1000
	searchBudget = func(int) int64 { return budget }
	a, err := Analyze(context.Background(), h, checker.Options{}, true, true)
	if err != nil {
		t.Fatal(err)
	}
	// Fifteen searches (five kinds, three passes), each of which may pass
	// its budget by the edges of one node.
	if limit := int64(15 * (budget + a.Edges)); a.Work > limit {
		t.Errorf("the searches did %d work, more than their budgets allow (%d)", a.Work, limit)
	}
	if len(a.Incomplete) == 0 {
		t.Fatalf("no search stopped at a budget of %d on %d edges", budget, a.Edges)
	}
	for k, why := range a.Incomplete {
		if !strings.Contains(why, "work limit") {
			t.Errorf("%s: incomplete for %q, want the work limit named", k, why)
		}
	}
	unknown := 0
	for _, m := range models {
		v, why, _ := a.Judge(m)
		if v == checker.Unknown {
			unknown++
			if !strings.Contains(why, "work limit") {
				t.Errorf("%s: unknown for %q, want the work limit named", m, why)
			}
		}
	}
	if unknown == 0 {
		t.Errorf("every model settled although searches stopped: %v", a.Incomplete)
	}
}

// TestCompactRealtimeDecidesCycles checks, on random small histories,
// that the data and process edges with the compact form of real time
// (compactRealtime) have a cycle exactly when they have one with the
// sparse real-time edges the search uses (realtimeDeps).
func TestCompactRealtimeDecidesCycles(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	cyclic := 0
	for i := range 1500 {
		w := txnoracle.ListAppend
		if i%3 == 0 {
			w = txnoracle.RWRegister
		}
		g := txnoracle.Generate(rng, txnoracle.GenConfig{Workload: w})
		h, err := history.Parse(g.History.JSONL(), "random.jsonl", history.JSONL)
		if err != nil {
			t.Fatal(err)
		}
		th, err := FromHistory(h)
		if err != nil {
			t.Fatal(err)
		}
		var inf Inference
		if th.Workload == ListAppend {
			inf, err = inferAppend(context.Background(), th)
		} else {
			inf, err = inferRegister(context.Background(), th, checker.Options{})
		}
		if err != nil {
			continue // values appended twice, say: not a graph question
		}
		n := len(th.Txns)
		data, pb, rb := graph.NewBuilder(n), graph.NewBuilder(n), graph.NewBuilder(n)
		for _, d := range inf.Deps {
			data.Add(d.From, d.To, d.Rel)
		}
		processDeps(th, pb)
		realtimeInto(th, rb)
		sparse := len(data.Build(pb, rb).SCCs()) > 0
		compact := len(compactRealtime(th).Build(data, pb).SCCs()) > 0
		if sparse != compact {
			t.Fatalf("history %d: a cycle with sparse real time %v, with compact real time %v\n%s", i, sparse, compact, g.History.JSONL())
		}
		if sparse {
			cyclic++
		}
	}
	if cyclic == 0 {
		t.Errorf("no random history had a cycle: the comparison shows nothing")
	}
	t.Logf("%d of 1500 histories cyclic", cyclic)
}
