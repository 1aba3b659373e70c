package suite_test

import (
	"context"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/suite"
	"consist/internal/histtest"
)

// repeated is linearizable, and writes 1 twice: the polynomial checkers,
// which match reads to writes by value, cannot decide it on their own.
const repeated = `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`

// byModel indexes results by model, failing t if a model repeats.
func byModel(t *testing.T, results []checker.Result) map[checker.Model]checker.Result {
	t.Helper()
	out := map[checker.Model]checker.Result{}
	for _, r := range results {
		if _, dup := out[r.Model]; dup {
			t.Fatalf("%s returned twice", r.Model)
		}
		out[r.Model] = r
	}
	return out
}

// TestSettledByAStrongerModelNotAsked: a model asked alone that cannot be
// decided on its own is valid when a stronger model, run though not asked,
// holds; only the model asked is returned.
func TestSettledByAStrongerModelNotAsked(t *testing.T) {
	h := histtest.Parse(t, repeated)
	alone := suite.Check(context.Background(), h, checker.Options{}, checker.Causal)
	if len(alone) != 1 {
		t.Fatalf("%d results, want causal alone: %+v", len(alone), alone)
	}
	r := alone[0]
	if r.Model != checker.Causal || r.Verdict != checker.Valid || r.ImpliedBy != checker.Linearizable {
		t.Fatalf("%s %s implied by %q (%s), want causal valid implied by linearizable", r.Model, r.Verdict, r.ImpliedBy, r.Reason)
	}
	for _, says := range []string{"linearizable was checked, though not asked", "not unique"} {
		if !strings.Contains(r.Reason, says) {
			t.Errorf("reason %q does not say %q", r.Reason, says)
		}
	}
	got := byModel(t, suite.Check(context.Background(), h, checker.Options{}, checker.PRAM, checker.MonotonicReads))
	if len(got) != 2 {
		t.Fatalf("results for %d models, want PRAM and monotonic-reads", len(got))
	}
	for m, r := range got {
		if r.Verdict != checker.Valid || r.ImpliedBy != checker.Linearizable {
			t.Errorf("%s: %s implied by %q, want valid implied by linearizable", m, r.Verdict, r.ImpliedBy)
		}
	}
}

// TestSettledByAWeakerModelNotAsked: linearizable, undecided within its
// memory budget, is invalid when a weaker polynomial model, run though not
// asked, breaks.
func TestSettledByAWeakerModelNotAsked(t *testing.T) {
	// Process 0 writes 1 then 2; process 1 reads 2 then 1: monotonic
	// writes breaks, and every stronger model with it.
	h := histtest.Parse(t, `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`)
	opts := checker.Options{MaxMemory: 1}
	res := suite.Check(context.Background(), h, opts, checker.Linearizable)
	if len(res) != 1 {
		t.Fatalf("%d results, want linearizable alone: %+v", len(res), res)
	}
	r := res[0]
	if r.Verdict != checker.Invalid || r.ImpliedBy != checker.MonotonicWrites {
		t.Fatalf("%s implied by %q (%s), want invalid implied by monotonic-writes", r.Verdict, r.ImpliedBy, r.Reason)
	}
	if !strings.Contains(r.Reason, "monotonic-writes was checked, though not asked") || !strings.Contains(r.Reason, "memory budget") {
		t.Errorf("reason %q does not say what was checked and why", r.Reason)
	}
}

// TestUnsettled: when the models run to settle an undecidable one do not,
// it stays unknown and its reason says what was tried.
func TestUnsettled(t *testing.T) {
	// Process 0 writes 1, 2, 1; process 1 reads 2, 1, 2: not sequential
	// (the second 2 needs a write of 2 after the second 1), and causal
	// cannot be decided with 1 written twice.
	h := histtest.Parse(t, `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":2}`)
	res := suite.Check(context.Background(), h, checker.Options{}, checker.Causal)
	if len(res) != 1 || res[0].Verdict != checker.Unknown || res[0].ImpliedBy != "" {
		t.Fatalf("%+v, want causal alone, unknown", res)
	}
	for _, says := range []string{"not unique", "checked though not asked, did not", "sequential invalid", "linearizable invalid", "PRAM unknown"} {
		if !strings.Contains(res[0].Reason, says) {
			t.Errorf("reason %q does not say %q", res[0].Reason, says)
		}
	}
}

// TestMeasures: without a bound, bounded-staleness is a measurement, never
// a verdict, even on a linearizable history; with a bound it is a verdict,
// settled by linearizability when values repeat. Convergence without final
// reads is a measurement too. Checking everything, no verdict is unknown.
func TestMeasures(t *testing.T) {
	h := histtest.Parse(t, repeated+`
{"type":"invoke","process":0,"f":"write","value":3}
{"type":"ok","process":0,"f":"write","value":3}`)
	all := byModel(t, suite.Check(context.Background(), h, checker.Options{}))
	for m, r := range all {
		switch m {
		case checker.BoundedStaleness, checker.Convergence:
			if r.Verdict != checker.Measured || r.ImpliedBy != "" {
				t.Errorf("%s: %s implied by %q (%s), want measured", m, r.Verdict, r.ImpliedBy, r.Reason)
			}
		default:
			if r.Verdict != checker.Valid {
				t.Errorf("%s: %s (%s), want valid", m, r.Verdict, r.Reason)
			}
		}
	}
	if _, ok := all[checker.Convergence]; !ok {
		t.Error("convergence is not shown as a measurement")
	}
	if r := all[checker.BoundedStaleness]; !strings.Contains(r.Reason, "not measured") {
		t.Errorf("bounded-staleness reason %q does not say the lags were not measured", r.Reason)
	}
	bounded := suite.Check(context.Background(), h, checker.Options{MaxStalenessVersions: 1}, checker.BoundedStaleness)
	if r := bounded[0]; len(bounded) != 1 || r.Verdict != checker.Valid || r.ImpliedBy != checker.Linearizable {
		t.Errorf("bounded: %+v, want bounded-staleness valid implied by linearizable", bounded)
	}
	// Unique values, a bound, and linearizable: measured and judged, not
	// implied.
	u := histtest.Parse(t, `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`)
	for _, tc := range []struct {
		opts checker.Options
		want checker.Verdict
	}{{checker.Options{}, checker.Measured}, {checker.Options{MaxStalenessVersions: 1}, checker.Valid}} {
		r := byModel(t, suite.Check(context.Background(), u, tc.opts))[checker.BoundedStaleness]
		if r.Verdict != tc.want || r.ImpliedBy != "" || r.Details == nil {
			t.Errorf("%+v: bounded-staleness %s implied by %q with details %v, want %s, measured", tc.opts, r.Verdict, r.ImpliedBy, r.Details, tc.want)
		}
	}
}

// TestNoHelpersForAHistoryAModelDoesNotCover: a model asked for on a kind
// of history its checker does not judge stays unknown, saying so, and
// nothing else is run to settle it.
func TestNoHelpersForAHistoryAModelDoesNotCover(t *testing.T) {
	h := histtest.Parse(t, `
{"type":"invoke","process":0,"f":"put","key":"x","value":"a"}
{"type":"ok","process":0,"f":"put","key":"x","value":"a"}
{"type":"invoke","process":1,"f":"get","key":"x","value":null}
{"type":"ok","process":1,"f":"get","key":"x","value":"a"}`)
	res := suite.Check(context.Background(), h, checker.Options{}, checker.Causal)
	if len(res) != 1 || res[0].Verdict != checker.Unknown || res[0].ImpliedBy != "" || !strings.Contains(res[0].Reason, "is checked on register histories") || strings.Contains(res[0].Reason, "not asked") {
		t.Fatalf("%+v, want causal unknown, checked on register histories alone", res)
	}
}
