// Package session checks PRAM and the four session guarantees of Terry et
// al., "Session Guarantees for Weakly Consistent Replicated Data" (PDIS
// 1994), on register histories, in the per-process-view formulation of
// Viotti & Vukolić, "Consistency in Non-Transactional Distributed Storage
// Systems" (ACM CSUR 2016, §3.3) and Brzezinski, Sobaniec & Wawrzyniak,
// "Session Guarantees to Achieve PRAM Consistency of Replicated Shared
// Objects" (PPAM 2003).
//
// A view for process p is a total order of every write and of p's own
// operations in which each of p's reads returns the last write to its key
// before it (the initial value if none); a cas is one point that reads and
// then writes. A model holds when every process has a view obeying its
// rules:
//
//   - PRAM (Lipton & Sandberg 1988): p's operations in session order, and
//     every other process's writes in its session order.
//   - read-your-writes: each of p's writes before each of p's later reads
//     (here alone a cas of p counts as a read followed by a write).
//   - monotonic-reads: p's reads in session order.
//   - monotonic-writes: p's reads in session order, and every process's
//     writes in its session order.
//   - writes-follow-reads: p's reads in session order; for every process q,
//     the write each read of q saw before each later write of q (and a
//     cas of q before q's later writes); p's reads before p's later
//     writes.
//
// A session's observations accumulate: monotonic-writes and
// writes-follow-reads order p's reads, as if one replica whose state only
// grows served the session (Terry et al.'s servers), since through reads of
// single keys neither anomaly could otherwise be seen at all.
//
// Scope: by default (checker.ScopeStore) a session is all of a process's
// operations, as Terry et al. and Viotti & Vukolić define it, so a write
// of y seen before the same session's earlier write of x is a
// monotonic-writes anomaly. checker.ScopeKey judges each key's operations
// alone, for stores that promise the guarantees per key. PRAM is always
// judged on the whole store.
//
// Writes must be unique per key, as consist's workloads make them, so that
// each read names the write it saw; histories with repeated values get
// Unknown. The checks are polynomial: see package views for the
// saturating construction, and readYourWrites for its own linear test.
package session

import (
	"context"
	"fmt"
	"time"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/checker/internal/views"
	"consist/history"
)

// Checker decides PRAM and the session guarantees. The zero value is
// ready to use; the scope comes from checker.Options.SessionScope.
type Checker struct{}

// Models returns the models this checker decides.
func (Checker) Models() []checker.Model {
	return []checker.Model{checker.PRAM, checker.ReadYourWrites, checker.MonotonicReads, checker.MonotonicWrites, checker.WritesFollowReads}
}

// Applies reports whether h is a register history.
func (Checker) Applies(h *history.History) bool { return reghist.Applies(h) }

// Check judges h against every model of Models.
func (c Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return CheckModels(ctx, h, opts, c.Models()...)
}

// Engine is the name Stats.Engine reports.
const Engine = "view-saturation"

// CheckModels judges h against the given models only, each one of Models.
func (Checker) CheckModels(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result {
	return CheckModels(ctx, h, opts, models...)
}

// CheckModels judges h against the given models, each of which must be
// one of Checker.Models.
func CheckModels(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	start := time.Now()
	r, err := reghist.Build(h, opts)
	out := make([]checker.Result, len(models))
	for i, m := range models {
		out[i] = checker.Result{Model: m, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
		res := &out[i]
		if reghist.Judgeable(r, err, m, res) {
			checkModel(ctx, r, opts.SessionScope, m, res)
		}
		res.Stats.Duration = time.Since(start)
		start = time.Now()
	}
	return out
}

func checkModel(ctx context.Context, r *reghist.History, scope checker.Scope, m checker.Model, res *checker.Result) {
	byKey := scope == checker.ScopeKey && m != checker.PRAM
	if m == checker.ReadYourWrites {
		if a := readYourWrites(r); len(a) > 0 {
			res.Verdict, res.Anomalies = checker.Invalid, a
			return
		}
		res.Verdict = checker.Valid
		return
	}
	ch := r.Chains(byKey)
	var rules views.Rules
	switch m {
	case checker.PRAM:
		rules = pramRules{r, ch}
	case checker.MonotonicReads:
		rules = readRules{r, ch}
	case checker.MonotonicWrites:
		rules = writeRules{r, ch}
	case checker.WritesFollowReads:
		rules = followRules{r, ch, prevCAS(r, byKey)}
	default:
		panic(fmt.Sprintf("session: %s is not a session model", m))
	}
	vc := views.New(r, rules)
	var v *views.Violation
	var err error
	if cyc := writeCycle(r, rules); m == checker.WritesFollowReads && cyc != nil {
		v = &views.Violation{Viewer: r.Ops[cyc[0]].Process, Cycle: true, Path: cyc, Because: map[views.Edge]int32{}}
	} else {
		v, err = vc.Check(ctx)
	}
	switch {
	case err != nil:
		res.Verdict, res.Reason = checker.Unknown, views.Reason(err)
	case v == nil:
		res.Verdict = checker.Valid
	default:
		res.Verdict = checker.Invalid
		ops, text := vc.Explain(v, consequence(m, v))
		res.Anomalies = []checker.Anomaly{{Kind: kind(m), Key: keyOf(r, v), Ops: ops, Explanation: text}}
	}
}

// kind names the anomaly each model's violations show.
func kind(m checker.Model) string {
	switch m {
	case checker.MonotonicReads:
		return "non-monotonic-read"
	case checker.MonotonicWrites:
		return "writes-out-of-order"
	case checker.WritesFollowReads:
		return "effect-before-cause"
	}
	return "no-pram-view"
}

func consequence(m checker.Model, v *views.Violation) string {
	switch m {
	case checker.MonotonicReads:
		return "the process's reads went back in time (monotonic-reads)"
	case checker.MonotonicWrites:
		return "a process's writes were seen out of the order it made them (monotonic-writes)"
	case checker.WritesFollowReads:
		return "the effect was visible without its cause (writes-follow-reads)"
	}
	return "no order of the writes agrees with every session's order and what this process read (PRAM)"
}

// keyOf is the key of the anomaly's last read, where it has one.
func keyOf(r *reghist.History, v *views.Violation) any {
	last := v.Path[len(v.Path)-1]
	return r.Keys[r.Ops[last].Key]
}
