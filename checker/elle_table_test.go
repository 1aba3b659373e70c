package checker

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// elleTables is testdata/elle-consistency-model.json: Elle's anomaly and
// model graphs, transcribed from elle/consistency_model.clj (the file
// names the commit).
type elleTables struct {
	Source struct {
		Repository string `json:"repository"`
		Path       string `json:"path"`
		Commit     string `json:"commit"`
	} `json:"source"`
	ImpliedAnomalies          map[string][]string `json:"implied_anomalies"`
	CanonicalModelNames       map[string]string   `json:"canonical_model_names"`
	Models                    map[string][]string `json:"models"`
	DirectProscribedAnomalies map[string][]string `json:"direct_proscribed_anomalies"`
}

// elle answers questions from the tables as Elle's functions of the same
// names do.
type elle struct {
	t elleTables
	// out and in are the model graph over canonical names.
	out, in map[string][]string
	// forbiddenBy maps an anomaly to the canonical models that directly
	// proscribe it.
	forbiddenBy map[string][]string
	// anomalies are every anomaly the tables name.
	anomalies map[string]bool
}

func loadElle(t *testing.T) *elle {
	t.Helper()
	data, err := os.ReadFile("testdata/elle-consistency-model.json")
	if err != nil {
		t.Fatal(err)
	}
	e := &elle{out: map[string][]string{}, in: map[string][]string{}, forbiddenBy: map[string][]string{}, anomalies: map[string]bool{}}
	if err := json.Unmarshal(data, &e.t); err != nil {
		t.Fatal(err)
	}
	if e.t.Source.Commit == "" || e.t.Source.Repository != "jepsen-io/elle" {
		t.Fatalf("the tables do not cite their source: %+v", e.t.Source)
	}
	for a, bs := range e.t.Models {
		a = e.canonical(a)
		e.out[a] = append(e.out[a], nil...)
		for _, b := range bs {
			b = e.canonical(b)
			e.out[a] = append(e.out[a], b)
			e.in[b] = append(e.in[b], a)
		}
	}
	for m, as := range e.t.DirectProscribedAnomalies {
		for _, a := range as {
			e.forbiddenBy[a] = append(e.forbiddenBy[a], e.canonical(m))
			e.anomalies[a] = true
		}
	}
	for a, bs := range e.t.ImpliedAnomalies {
		e.anomalies[a] = true
		for _, b := range bs {
			e.anomalies[b] = true
		}
	}
	return e
}

// canonical is canonical-model-name.
func (e *elle) canonical(m string) string {
	if c, ok := e.t.CanonicalModelNames[m]; ok {
		return c
	}
	return m
}

// isModel reports whether m names a vertex of Elle's model graph.
func (e *elle) isModel(m string) bool {
	c := e.canonical(m)
	_, a := e.out[c]
	_, b := e.in[c]
	return a || b
}

// bfs returns start and every vertex reachable from it through next.
func bfs(start []string, next func(string) []string) map[string]bool {
	seen := map[string]bool{}
	work := slices.Clone(start)
	for _, s := range start {
		seen[s] = true
	}
	for len(work) > 0 {
		x := work[len(work)-1]
		work = work[:len(work)-1]
		for _, y := range next(x) {
			if !seen[y] {
				seen[y] = true
				work = append(work, y)
			}
		}
	}
	return seen
}

// implies is all-implied-models of a, asked about b.
func (e *elle) implies(a, b string) bool {
	return bfs([]string{e.canonical(a)}, func(x string) []string { return e.out[x] })[e.canonical(b)]
}

// allImplied is all-implied-anomalies.
func (e *elle) allImplied(a string) map[string]bool {
	return bfs([]string{a}, func(x string) []string { return e.t.ImpliedAnomalies[x] })
}

// impossible is anomalies->impossible-models: the anomalies implied, the
// models directly proscribing any of them, and every model implying one
// of those (all canonical).
func (e *elle) impossible(a string) map[string]bool {
	var direct []string
	for x := range e.allImplied(a) {
		direct = append(direct, e.forbiddenBy[x]...)
	}
	return bfs(direct, func(x string) []string { return e.in[x] })
}

// TestTaxonomyAgreesWithElle compares, for every model and every anomaly
// kind that both consist and Elle name, the lattice (Implies), what a
// kind implies (AllImplied) and what it rules out (RulesOut, Boundary)
// with what Elle's tables give. Models and kinds only one side names are
// listed, so that a new one is a decision, not an accident.
func TestTaxonomyAgreesWithElle(t *testing.T) {
	e := loadElle(t)

	// Models.
	var shared []Model
	var ours []Model
	for _, m := range Models() {
		if e.isModel(string(m)) {
			shared = append(shared, m)
		} else {
			ours = append(ours, m)
		}
	}
	// consist's own: the causal variants of Bouajjani et al. (POPL 2017),
	// which Elle's single causal does not split, and the measures and
	// data-type invariants outside the lattice.
	wantOurs := []Model{CausalConvergence, WeakCausal, BoundedStaleness, Convergence, Counter, SetFull, Bank, OnCall}
	if !sameSet(ours, wantOurs) {
		t.Errorf("models Elle does not name: %v, want %v", ours, wantOurs)
	}
	if len(shared) != 21 {
		t.Errorf("%d models shared with Elle, want 21: %v", len(shared), shared)
	}
	for _, a := range shared {
		for _, b := range shared {
			if got, want := Implies(a, b), e.implies(string(a), string(b)); got != want {
				t.Errorf("Implies(%s, %s) = %v; Elle: %v", a, b, got, want)
			}
		}
	}
	// The transactional and single-object lattices meet where Elle says.
	for _, p := range [][2]Model{{StrictSerializable, Linearizable}, {StrictSerializable, Sequential}, {StrictSerializable, PRAM}} {
		if !Implies(p[0], p[1]) {
			t.Errorf("%s does not imply %s", p[0], p[1])
		}
	}
	for _, p := range [][2]Model{{Serializable, Linearizable}, {Serializable, Sequential}, {Linearizable, Serializable}, {Linearizable, ReadUncommitted}} {
		if Implies(p[0], p[1]) {
			t.Errorf("%s implies %s; Elle: no", p[0], p[1])
		}
	}

	// Anomaly kinds.
	var kinds []Kind
	var transactionalOurs []Kind
	for _, k := range Kinds() {
		if e.anomalies[string(k)] {
			kinds = append(kinds, k)
		} else if slices.ContainsFunc(k.DirectlyRulesOut(), func(m Model) bool { return Implies(m, ReadUncommitted) }) && k != UnwrittenRead && k != OTV {
			// A kind that a transactional model forbids directly is
			// Elle's business too. UnwrittenRead and OTV are the
			// exceptions: Elle has no kind for a read of a value nothing
			// wrote, nor for the phenomenon monotonic atomic view
			// proscribes (its tables have MAV proscribe nothing beyond
			// read-committed; see the taxonomy's rows).
			transactionalOurs = append(transactionalOurs, k)
		}
	}
	if len(transactionalOurs) > 0 {
		t.Errorf("transactional kinds Elle does not name: %v", transactionalOurs)
	}
	for _, want := range []Kind{G0, G1a, G1b, G1c, GSingleItem, GNonadjItem, G2Item, G2, LostUpdate, Internal, IncompatibleOrder, DuplicateElements, DirtyUpdate, FutureRead, CyclicVersions, G2ItemRealtime, GSingleItemProcess, GUpdate} {
		if !slices.Contains(kinds, want) {
			t.Errorf("%s is not among the kinds compared with Elle", want)
		}
	}
	isShared := func(m Model) bool { return slices.Contains(shared, m) }
	for _, k := range kinds {
		// What it implies.
		var want []Kind
		for a := range e.allImplied(string(k)) {
			if Kind(a).Known() {
				want = append(want, Kind(a))
			}
		}
		if got := k.AllImplied(); !sameSet(got, want) {
			t.Errorf("%s implies %v; Elle (the kinds consist names): %v", k, got, want)
		}
		// What it rules out.
		imp := e.impossible(string(k))
		var wantOut []Model
		for _, m := range shared {
			if imp[e.canonical(string(m))] {
				wantOut = append(wantOut, m)
			}
		}
		got := k.RulesOut()
		if !sameSet(got, wantOut) {
			t.Errorf("%s rules out %v; Elle (the models consist names): %v", k, got, wantOut)
		}
		// Elle's boundary over the shared models: :not are those of the
		// ruled-out models that imply no other ruled-out one.
		var wantNot []Model
		for _, m := range wantOut {
			if !slices.ContainsFunc(wantOut, func(x Model) bool { return x != m && isShared(x) && e.implies(string(m), string(x)) }) {
				wantNot = append(wantNot, m)
			}
		}
		not, also := Boundary(k)
		if !sameSet(not, wantNot) {
			t.Errorf("%s: not %v; Elle: %v", k, not, wantNot)
		}
		if len(not)+len(also) != len(got) {
			t.Errorf("%s: not %v and also-not %v do not partition %v", k, not, also, got)
		}
	}
}

// Elle's boundary of a few anomaly sets as its tests state them (Elle's
// :not, on models consist names).
func TestBoundaryExamples(t *testing.T) {
	for _, tc := range []struct {
		kinds []Kind
		not   []Model
	}{
		{[]Kind{G1cRealtime, CyclicVersions}, []Model{ReadUncommitted}},
		{[]Kind{GNonadjItem}, []Model{SnapshotIsolation, RepeatableRead}},
		{[]Kind{GSingleItem}, []Model{ConsistentView, RepeatableRead}},
		{[]Kind{G2Item}, []Model{RepeatableRead}},
		{[]Kind{G1a}, []Model{ReadCommitted}},
		{[]Kind{GSingleItemRealtime}, []Model{StrongSnapshotIsolation}},
		{[]Kind{LostUpdate}, []Model{CursorStability}},
		{[]Kind{G2ItemRealtime}, []Model{StrictSerializable}},
		{[]Kind{GNonadjItemProcess}, []Model{StrongSessionSnapshotIsolation}},
		{[]Kind{GUpdate}, []Model{UpdateSerializable}},
		{[]Kind{OTV}, []Model{MonotonicAtomicView}},
		{[]Kind{OTV, GSingleItem}, []Model{MonotonicAtomicView, ConsistentView}},
		{[]Kind{GUpdate, GNonadjItem}, []Model{SnapshotIsolation, RepeatableRead, UpdateSerializable}},
	} {
		not, also := Boundary(tc.kinds...)
		if !sameSet(not, tc.not) {
			t.Errorf("Boundary(%v): not %v, want %v (also not %v)", tc.kinds, not, tc.not, also)
		}
		if !slices.Contains(tc.not, StrictSerializable) && !slices.Contains(also, StrictSerializable) {
			t.Errorf("Boundary(%v): also not %v, want strict-serializable among them", tc.kinds, also)
		}
	}
}

func sameSet[T comparable](a, b []T) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}
