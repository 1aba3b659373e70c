// Package causal checks the three variants of causal consistency that
// Bouajjani, Enea, Guerraoui and Hamza formalise in "On Verifying Causal
// Consistency" (POPL 2017), on register histories whose writes are unique
// per key ("differentiated" histories):
//
//   - causal — causal memory (CM; Ahamad, Neiger, Burns, Kohli & Hutto,
//     "Causal memory: definitions, implementation, and programming",
//     Distributed Computing 9(1), 1995): the causal order co = (so ∪ wr)+
//     is acyclic and every process has a view — a total order of every
//     write and its own operations, respecting co — in which each of its
//     reads returns the last write to its key before it.
//   - causal-convergence — CCv: co is acyclic and one total arbitration
//     order of all writes, extending co, makes every read return the
//     latest write to its key in its causal past (the model of causally
//     consistent stores that converge, such as COPS).
//   - weak-causal — CC: co is acyclic and each read, taken alone, returns a
//     write to its key that is maximal in its causal past.
//
// Here so is each process's session order and wr relates each write to
// the reads that returned its value. Sequential consistency implies causal
// and causal-convergence; each of those implies weak-causal; causal also
// implies PRAM and writes-follow-reads.
//
// Algorithms. CC and CCv are decided by the paper's bad patterns (Theorem
// 5.3 and 5.6): CyclicCO, WriteCOInitRead, WriteCORead and, for CCv, a
// cycle in co ∪ cf, where a write w1 conflicts before w2 (cf) when some
// read saw w2 with w1 in its causal past. Both patterns ask only whether a
// write is in the causal past of an operation on its key, so the check
// keeps, for every operation, the writes of its key that are maximal in
// its strict causal past. With fewer processes than keys, vector clocks
// over the P process sessions find them, in O(n·P·log n) time and O(n·P)
// space for n operations. Otherwise every operation carries its front —
// per key, the maximal writes in its past, at most a of them (a ≤ P, a few
// in practice) — and vector clocks over a greedy cover of each key's
// writes by at most C chains (C ≤ P) order them, in O(n·K·a² + W·a·C)
// time and O(n·K·a + W·C) space for K keys and W writes. CM is decided by the
// saturating view construction of package views, which also proves its
// verdicts.
package causal

import (
	"context"
	"fmt"
	"time"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/checker/internal/views"
	"consist/history"
)

// Checker decides causal, causal-convergence and weak-causal. The zero
// value is ready to use.
type Checker struct{}

// Models returns the models this checker decides.
func (Checker) Models() []checker.Model {
	return []checker.Model{checker.Causal, checker.CausalConvergence, checker.WeakCausal}
}

// Applies reports whether h is a register history.
func (Checker) Applies(h *history.History) bool { return reghist.Applies(h) }

// Engines named in Stats.Engine.
const (
	PatternEngine = "bad-patterns"
	ViewEngine    = "view-saturation"
)

// Check judges h against every model of Models.
func (c Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return CheckModels(ctx, h, opts, c.Models()...)
}

// CheckModels judges h against the given models only, each one of Models.
func (Checker) CheckModels(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result {
	return CheckModels(ctx, h, opts, models...)
}

// CheckModels judges h against the given models, each one of
// Checker.Models.
func CheckModels(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	start := time.Now()
	r, err := reghist.Build(h, opts)
	var g *graph
	out := make([]checker.Result, len(models))
	for i, m := range models {
		res := &out[i]
		*res = checker.Result{Model: m, Stats: checker.Stats{Ops: len(h.Ops), Engine: PatternEngine}}
		switch {
		case !reghist.Judgeable(r, err, m, res):
		case m == checker.Causal:
			res.Stats.Engine = ViewEngine
			causalMemory(ctx, r, res)
		case summaryBytes(r) > opts.MemoryBudget():
			res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("summarising the causal order of %d operations over %d processes and %d keys would need about %d MiB, more than the memory budget; raise --max-memory", len(r.Ops), len(r.Sessions), len(r.Keys), summaryBytes(r)>>20)
		default:
			if g == nil {
				g = newGraph(ctx, r)
			}
			g.judge(ctx, m, res)
		}
		res.Stats.Duration = time.Since(start)
		start = time.Now()
	}
	return out
}

// cmRules: every operation follows its session predecessor and the write
// it read: views respect the whole causal order.
type cmRules struct {
	r  *reghist.History
	ch reghist.Chains
}

func (x cmRules) Preds(_ bool, op int32, buf []int32) []int32 {
	if p := x.ch.PrevOp[op]; p != reghist.None {
		buf = append(buf, p)
	}
	if w := x.r.Ops[op].Reads; w >= 0 {
		buf = append(buf, w)
	}
	return buf
}

func (cmRules) Ordered(int32) bool { return true }

func causalMemory(ctx context.Context, r *reghist.History, res *checker.Result) {
	vc := views.New(r, cmRules{r, r.Chains(false)})
	v, err := vc.Check(ctx)
	switch {
	case err != nil:
		res.Verdict, res.Reason = checker.Unknown, views.Reason(err)
	case v == nil:
		res.Verdict = checker.Valid
	default:
		res.Verdict = checker.Invalid
		what := "no order of the writes respects the causal order and what this process read (causal)"
		kind := checker.CausalViolation
		if !v.Cycle {
			what = "it read the initial value although a write of that key was in its causal past"
			kind = checker.CausalInitialRead
		} else if len(v.Because) == 0 {
			what = "the causal order is cyclic: an operation depends on its own effect"
			kind = checker.CyclicCausality
		}
		w := r.Witness()
		text := vc.Explain(w, v, checker.Say("%s", what))
		last := v.Path[len(v.Path)-1]
		res.Anomalies = []checker.Anomaly{w.Anomaly(kind, r.Keys[r.Ops[last].Key], text)}
	}
}
