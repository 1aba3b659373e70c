package sequential

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/causal"
	"consist/checker/internal/oracle"
	"consist/checker/internal/reghist"
	"consist/history"
	"consist/internal/histgen"
	"consist/internal/histtest"
)

// prepare builds h for the graph steps, failing the test unless its
// values are unique.
func prepare(t *testing.T, h *history.History, opts checker.Options) *reghist.History {
	t.Helper()
	r, err := reghist.Build(h, opts)
	if err != nil || !r.Unique || len(r.ThinAir) > 0 {
		t.Fatalf("history not judgeable by the graph steps: %v, unique %v, thin air %d", err, r.Unique, len(r.ThinAir))
	}
	return r
}

// describeOrder renders an order of operations as Describe does, one
// after another.
func describeOrder(r *reghist.History, order []int32) string {
	w := r.Witness()
	var parts []checker.Phrase
	for _, op := range order {
		parts = append(parts, r.Describe(w, op))
	}
	return w.Anomaly("", nil, checker.Join(parts, "; ")).Explanation()
}

// A slow write takes effect long after its invocation: process 0's x=1
// is invoked first but completes last, and both readers see it after
// x=2. The witness ranks x=1 by its readers' zone, after x=2, and the
// guess is right at once.
const slowWrite = `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"write","key":"x","value":2}
{"type":"ok","process":1,"f":"write","key":"x","value":2}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":2}
{"type":"invoke","process":2,"f":"read","key":"x","value":null}
{"type":"ok","process":2,"f":"read","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
`

func TestWitnessDecidesValid(t *testing.T) {
	h := histtest.Parse(t, slowWrite)
	r := prepare(t, h, checker.Options{})
	var res checker.Result
	settled, order := decideByGraph(context.Background(), r, checker.Options{}, &res)
	if !settled || res.Verdict != checker.Valid || res.Stats.Engine != WitnessEngine {
		t.Fatalf("got settled %v, %s by %q, want valid by %q", settled, res.Verdict, res.Stats.Engine, WitnessEngine)
	}
	want := "Process 1 wrote x=2 (index 2, line 3); process 1 read x=2 (index 4, line 5); process 0 wrote x=1 (index 9, line 10); process 2 read x=1 (index 6, line 7); process 1 read x=1 (index 8, line 9)"
	if got := describeOrder(r, order); got != want {
		t.Errorf("witness %s, want %s", got, want)
	}
	if !legal(r, order) {
		t.Errorf("witness is not a legal sequential order")
	}
	// Invocation order alone guesses x=1 first, which fails: the zone
	// rank is what decides here.
	g, _ := newGraph(r)
	g.link()
	if o, _ := guess(context.Background(), g, invocationRank(g)); o != nil {
		t.Errorf("the invocation-order guess succeeded too (%s); the test no longer shows the zone rank's use", describeOrder(r, o))
	}
	full := Check(context.Background(), h, checker.Options{})
	if full.Verdict != checker.Valid || full.Stats.Engine != WitnessEngine {
		t.Errorf("Check: %s by %q, want valid by %q", full.Verdict, full.Stats.Engine, WitnessEngine)
	}
}

// IRIW whose writes are ordered by their own sessions: process 2 sees
// x=2 and then y=1, process 3 sees y=2 and then x=1. Causal memory and
// causal convergence allow it; sequential consistency does not, but
// only once the write orders x=1 before x=2 and y=1 before y=2 are
// derived, with the reads they imply.
const iriwForced = `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"x","value":2}
{"type":"ok","process":0,"f":"write","key":"x","value":2}
{"type":"invoke","process":1,"f":"write","key":"y","value":1}
{"type":"ok","process":1,"f":"write","key":"y","value":1}
{"type":"invoke","process":1,"f":"write","key":"y","value":2}
{"type":"ok","process":1,"f":"write","key":"y","value":2}
{"type":"invoke","process":2,"f":"read","key":"x","value":null}
{"type":"ok","process":2,"f":"read","key":"x","value":2}
{"type":"invoke","process":2,"f":"read","key":"y","value":null}
{"type":"ok","process":2,"f":"read","key":"y","value":1}
{"type":"invoke","process":3,"f":"read","key":"y","value":null}
{"type":"ok","process":3,"f":"read","key":"y","value":2}
{"type":"invoke","process":3,"f":"read","key":"x","value":null}
{"type":"ok","process":3,"f":"read","key":"x","value":1}
`

func TestSaturationDecidesInvalid(t *testing.T) {
	h := histtest.Parse(t, iriwForced)
	r := prepare(t, h, checker.Options{})
	for _, c := range causal.CheckModels(context.Background(), h, checker.Options{}, checker.CausalConvergence, checker.Causal) {
		if c.Verdict != checker.Valid {
			t.Fatalf("%s: %s; the history should pass the causal prechecks", c.Model, c.Verdict)
		}
	}
	g, _ := newGraph(r)
	g.link()
	if ok, _ := g.sort(context.Background()); !ok {
		t.Fatalf("the base graph is cyclic already; the history should need derived edges")
	}

	var res checker.Result
	settled, _ := decideByGraph(context.Background(), r, checker.Options{}, &res)
	if !settled || res.Verdict != checker.Invalid || res.Stats.Engine != SaturationEngine {
		t.Fatalf("got settled %v, %s by %q, want invalid by %q", settled, res.Verdict, res.Stats.Engine, SaturationEngine)
	}
	if len(res.Anomalies) != 1 {
		t.Fatalf("got %d anomalies, want 1", len(res.Anomalies))
	}
	a := res.Anomalies[0]
	// Every operation takes part: the cycle runs through both reading
	// processes, and each overwrite is shown by its session.
	all := r.Indices(0, 1, 2, 3, 4, 5, 6, 7)
	if a.Kind != KindNoOrder || !equalIndices(a.Ops, all) {
		t.Errorf("anomaly %s on ops %v, want %s on %v", a.Kind, a.Ops, KindNoOrder, all)
	}
	for _, part := range []string{"process 2 read y=1 (index 11, line 12) before process 1 wrote y=2 (index 7, line 8)", "process 3 read x=1 (index 15, line 16) before process 0 wrote x=2 (index 3, line 4)", "(sequential)"} {
		if !strings.Contains(a.Explanation(), part) {
			t.Errorf("explanation %q lacks %q", a.Explanation(), part)
		}
	}
	full := Check(context.Background(), h, checker.Options{})
	if full.Verdict != checker.Invalid || full.Stats.Engine != SaturationEngine {
		t.Errorf("Check: %s by %q, want invalid by %q", full.Verdict, full.Stats.Engine, SaturationEngine)
	}
}

func equalIndices(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Two cas that read the same write cannot both follow it directly.
func TestDoubleCASIsInvalid(t *testing.T) {
	h := histtest.Parse(t, `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"cas","key":"x","value":[1,2]}
{"type":"ok","process":1,"f":"cas","key":"x","value":[1,2]}
{"type":"invoke","process":2,"f":"cas","key":"x","value":[1,3]}
{"type":"ok","process":2,"f":"cas","key":"x","value":[1,3]}
`)
	res := Check(context.Background(), h, checker.Options{})
	if res.Verdict != checker.Invalid || res.Stats.Engine != SaturationEngine {
		t.Fatalf("%s by %q, want invalid by %q", res.Verdict, res.Stats.Engine, SaturationEngine)
	}
	a := res.Anomalies[0]
	if want := []int64{1, 3, 5}; !equalIndices(a.Ops, want) {
		t.Errorf("ops %v, want %v", a.Ops, want)
	}
	if !strings.Contains(a.Explanation(), "both found x=1") || !strings.HasSuffix(a.Explanation(), "(sequential)") {
		t.Errorf("explanation %q", a.Explanation())
	}
}

// TestGraphStepsAgreeWithSearch compares the graph steps with the exact
// search on random histories larger than the oracle takes: whenever the
// steps decide, the search must agree, and a Valid verdict's witness must
// be legal. It also requires the steps to decide most histories.
func TestGraphStepsAgreeWithSearch(t *testing.T) {
	n := 6000
	if testing.Short() {
		n = 600
	}
	rng := rand.New(rand.NewPCG(3, 5))
	shapes := []oracle.Config{
		{MaxProcs: 2, MaxKeys: 1, MaxOps: 10},
		{MaxProcs: 4, MaxKeys: 2, MaxOps: 16},
		{MaxProcs: 5, MaxKeys: 3, MaxOps: 24},
	}
	judged, decided := 0, map[string]int{}
	for i := range n {
		events := oracle.Random(rng, shapes[i%len(shapes)])
		variants := [][]history.Event{events}
		if mut, ok := oracle.Mutate(rng, events, oracle.Swap, nil); ok {
			variants = append(variants, mut)
		}
		for _, ev := range variants {
			h, err := history.New("random", ev)
			if err != nil {
				t.Fatal(err)
			}
			r, err := reghist.Build(h, checker.Options{})
			if err != nil || !r.Unique || len(r.ThinAir) > 0 {
				continue
			}
			judged++
			var res checker.Result
			settled, order := decideByGraph(context.Background(), r, checker.Options{}, &res)
			if !settled {
				decided["undecided"]++
				continue
			}
			decided[res.Stats.Engine]++
			found, err := newSearch(r, 1<<26).run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := map[bool]checker.Verdict{true: checker.Valid, false: checker.Invalid}[found]
			if res.Verdict != want {
				t.Errorf("graph steps: %s by %s, search: %s; history:\n%s", res.Verdict, res.Stats.Engine, want, describeOrder(r, allOps(r)))
			}
			if res.Verdict == checker.Valid && !legal(r, order) {
				t.Errorf("witness %s is not legal", describeOrder(r, order))
			}
		}
	}
	t.Logf("%d histories: %v", judged, decided)
	if decided["undecided"]*20 > judged {
		t.Errorf("the graph steps left %d of %d histories undecided", decided["undecided"], judged)
	}
}

func allOps(r *reghist.History) []int32 {
	out := make([]int32, len(r.Ops))
	for i := range out {
		out[i] = int32(i)
	}
	return out
}

// TestGeneratedHistories runs the graph steps on generated histories of
// every store: a linearizable store's history is sequentially consistent,
// and so is the stale store's on a single key (histgen.Stale promises it
// per key), so those must be proved valid, with a legal witness; the other
// histories must be decided too, but for those in undecidedByGraph.
func TestGeneratedHistories(t *testing.T) {
	ops := 20_000
	if testing.Short() {
		ops = 2_000
	}
	for _, cfg := range []histgen.Config{
		{Seed: 1, Processes: 24, Ops: ops, Keys: 10, CrashRate: 0.02, FinalReads: true},
		{Seed: 2, Processes: 24, Ops: ops, Keys: 1, CrashRate: 0.02, FinalReads: true},
		{Seed: 5, Processes: 10, Ops: ops, Keys: 1, CrashRate: 0.05, StaleRate: 0.6, MaxLag: 5, FinalReads: true},
		{Seed: 3, Processes: 100, Ops: ops, Keys: 10, CrashRate: 0.05, FinalReads: true},
		{Seed: 4, Processes: 8, Ops: ops, Keys: 3, Reads: 0.5, Writes: 0.5, FinalReads: true},
	} {
		for _, store := range []histgen.Store{histgen.Linearizable, histgen.Stale, histgen.Eventual} {
			cfg.Store = store
			h, err := histgen.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			r := prepare(t, h, checker.Options{})
			var res checker.Result
			settled, order := decideByGraph(context.Background(), r, checker.Options{}, &res)
			if undecidedByGraph[genKey{cfg.Seed, store, cfg.Ops}] {
				// Sequentially consistent, as a legal order found by
				// perturbed guesses shows: the graph steps may leave it
				// undecided, never call it invalid.
				if randomWitness(t, r) == nil {
					t.Fatalf("seed %d, %s: no legal order found; is the history still sequentially consistent?", cfg.Seed, store)
				}
				switch {
				case settled && res.Verdict != checker.Valid:
					t.Errorf("seed %d, %s: %s by %s, but a legal order exists", cfg.Seed, store, res.Verdict, res.Stats.Engine)
				case settled:
					t.Errorf("seed %d, %s: now decided (%s by %s); remove it from undecidedByGraph", cfg.Seed, store, res.Verdict, res.Stats.Engine)
				}
				t.Logf("seed %d, %s: valid, undecided by the graph steps", cfg.Seed, store)
				continue
			}
			switch {
			case !settled:
				t.Errorf("seed %d, %s: undecided", cfg.Seed, store)
			case (store == histgen.Linearizable || store == histgen.Stale && cfg.Keys == 1) && res.Verdict != checker.Valid:
				t.Errorf("seed %d, %s: %s by %s, want valid: %+v", cfg.Seed, store, res.Verdict, res.Stats.Engine, res.Anomalies)
			case res.Verdict == checker.Valid && !legal(r, order):
				t.Errorf("seed %d, %s: the witness is not legal", cfg.Seed, store)
			}
			t.Logf("seed %d, %s: %s by %s", cfg.Seed, store, res.Verdict, res.Stats.Engine)
		}
	}
}

// genKey names a histgen history of TestGeneratedHistories.
type genKey struct {
	seed  uint64
	store histgen.Store
	ops   int
}

// undecidedByGraph lists the generated histories the graph steps leave
// undecided, rightly so: they are incomplete (deciding sequential
// consistency is NP-complete even with unique values). The stale store on
// ten keys, seed 3, 2,000 operations, is sequentially consistent, but
// both guesses of a write order close a cycle, on the base graph and on
// the saturated one, and saturation reaches its fixed point without a
// cycle, even with a window holding every write; the search then decides
// it (or runs out of time). At 20,000 operations the same configuration is
// decided invalid by saturation.
var undecidedByGraph = map[genKey]bool{
	{3, histgen.Stale, 2_000}: true,
}

// randomWitness looks for a legal order of r by guessing on its saturated
// graph with the zone rank perturbed by seeded noise that grows with each
// try; it returns the order, or nil.
func randomWitness(t *testing.T, r *reghist.History) []int32 {
	t.Helper()
	g, _ := newGraph(r)
	g.link()
	zones := zoneRank(g)
	if _, err := g.saturate(context.Background(), 1<<30); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rank := make([]int32, len(zones))
	for i := range 5000 {
		for v := range rank {
			rank[v] = zones[v]*8 + int32(rng.IntN(8*(1+i/100)))
		}
		if order, _ := g.guessOrder(context.Background(), rank); order != nil && legal(r, order) {
			return order
		}
	}
	return nil
}
