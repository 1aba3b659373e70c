// Package sequential checks sequential consistency of register histories.
//
// Definition (Lamport, "How to Make a Multiprocessor Computer That
// Correctly Executes Multiprocess Programs", IEEE Trans. Computers C-28(9),
// 1979; Viotti & Vukolić, ACM CSUR 2016, §3.2): a history is sequentially
// consistent when one total order of its operations respects every
// process's session order and is legal for a register — each read returns
// the last value written to its key before it (the initial value if none),
// and a cas succeeds only on its expected value. Real time is ignored. A
// failed operation did not take effect; a crashed (info) write or cas took
// effect when some read saw its value, and otherwise may be left out.
//
// Deciding it is NP-complete even when each read names its write (Gibbons
// & Korach, "Testing Shared Memories", SIAM J. Comput. 26(4), 1997). The
// checker first looks for proofs that need no search: sequential
// consistency implies causal memory and causal convergence (Bouajjani et
// al., POPL 2017), so a violation of either, found in polynomial time, is
// a violation here too. Then it searches for the order, depth first with
// memoisation: reads that are legal are taken at once (they change
// nothing), and when written values are unique, a write is never placed
// while a read of the value it would overwrite is still to come. A timeout
// or the memory budget ends the search with Unknown.
package sequential

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"consist/checker"
	"consist/checker/causal"
	"consist/checker/internal/reghist"
	"consist/history"
)

// Checker decides sequential consistency. The zero value is ready to use.
type Checker struct{}

// Models returns the model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.Sequential} }

// Applies reports whether h is a register history.
func (Checker) Applies(h *history.History) bool { return reghist.Applies(h) }

// Engine names, one per step that can decide.
const (
	// WitnessEngine: a guessed order, built on the must-precede graph,
	// was legal.
	WitnessEngine = "witness-order"
	// SaturationEngine: saturating the must-precede graph closed a cycle.
	SaturationEngine = "must-precede-saturation"
	// SaturatedWitnessEngine: a guessed order, built on the saturated
	// must-precede graph, was legal.
	SaturatedWitnessEngine = "saturated-witness-order"
	// CausalEngine: the history was shown not even causal.
	CausalEngine = "causal-precheck"
	// SearchEngine: a depth-first search over total orders decided.
	SearchEngine = "order-search"
)

// Check judges h against sequential consistency.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Check judges h against sequential consistency.
func Check(ctx context.Context, h *history.History, opts checker.Options) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.Sequential, Stats: checker.Stats{Ops: len(h.Ops), Engine: SearchEngine}}
	defer func() { res.Stats.Duration = time.Since(start) }()
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	r, err := reghist.Build(h, opts)
	switch {
	case err != nil:
		res.Verdict, res.Reason = checker.Unknown, err.Error()
		return res
	case len(r.ThinAir) > 0:
		res.Verdict, res.Anomalies = checker.Invalid, r.ThinAirAnomalies(checker.Sequential)
		return res
	}
	if r.Unique {
		if settled, _ := decideByGraph(ctx, r, opts, &res); settled {
			return res
		}
		pre := opts
		pre.Timeout = 0
		for _, c := range causal.CheckModels(ctx, h, pre, checker.CausalConvergence, checker.Causal) {
			if c.Verdict == checker.Invalid {
				res.Verdict, res.Stats.Engine = checker.Invalid, CausalEngine
				for _, a := range c.Anomalies {
					a.Explanation += "; a sequentially consistent history is " + string(c.Model) + ", so it is not sequentially consistent either"
					res.Anomalies = append(res.Anomalies, a)
				}
				return res
			}
		}
	}
	s := newSearch(r, opts.MemoryBudget())
	found, err := s.run(ctx)
	res.Stats.Explored = s.explored
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("the search was stopped after visiting %d states (%v); give it a longer --timeout", s.explored, err)
	case errors.Is(err, errMemory):
		res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("the search reached its memory budget of %d MiB after visiting %d states; raise --max-memory", opts.MemoryBudget()>>20, s.explored)
	case err != nil:
		res.Verdict, res.Reason = checker.Unknown, err.Error()
	case found:
		res.Verdict = checker.Valid
	default:
		res.Verdict = checker.Invalid
		res.Anomalies = []checker.Anomaly{explainStuck(ctx, r, s)}
	}
	return res
}

// explainStuck shrinks an impossible history to a core whose every read
// is needed, when it is small enough, and describes it.
func explainStuck(ctx context.Context, r *reghist.History, s *search) checker.Anomaly {
	core := minimalCore(ctx, r)
	var parts []string
	for _, op := range core {
		parts = append(parts, r.Describe(op))
	}
	key := any(nil)
	if len(core) > 0 {
		key = r.Keys[r.Ops[core[len(core)-1]].Key]
	}
	text := "no single order of these operations keeps each process's order and gives every read the latest value: " + strings.Join(parts, "; ") + " (sequential)"
	if len(core) == 0 {
		core = s.deepestHeads()
		parts = parts[:0]
		for _, op := range core {
			parts = append(parts, r.Describe(op))
		}
		text = fmt.Sprintf("every order of the operations gets stuck; the furthest placed %d of %d operations, after which none of the next ones can go: %s (sequential)", s.deepest, len(r.Ops), strings.Join(parts, "; "))
	}
	return checker.Anomaly{Kind: "no-sequential-order", Key: key, Ops: r.Indices(core...), Explanation: text}
}

// decideByGraph runs the polynomial steps on r, whose values are unique:
// a guessed order (valid if legal), saturation of the must-precede graph
// (invalid on a cycle), and guesses on the saturated graph. It reports
// whether they settled res, and returns the legal order that proved a
// Valid verdict.
func decideByGraph(ctx context.Context, r *reghist.History, opts checker.Options, res *checker.Result) (bool, []int32) {
	g, pair := newGraph(r)
	if g == nil {
		res.Verdict, res.Stats.Engine = checker.Invalid, SaturationEngine
		res.Anomalies = []checker.Anomaly{doubleCAS(r, pair)}
		return true, nil
	}
	g.link()
	zones := zoneRank(g)
	if order, err := guess(ctx, g, zones); err != nil || order != nil {
		return settle(res, WitnessEngine, order, err), order
	}
	sat, err := g.saturate(ctx, opts.MemoryBudget())
	switch {
	case errors.Is(err, errMemory):
		return false, nil // the other steps may still decide
	case err != nil:
		return stopped(res, err), nil
	case sat.cyclic:
		res.Verdict, res.Stats.Engine = checker.Invalid, SaturationEngine
		res.Anomalies = []checker.Anomaly{g.explainCycle(g.cycle())}
		return true, nil
	case len(g.derived) == 0:
		return false, nil // the same graph, the same guess
	}
	order, err := guess(ctx, g, zones, invocationRank(g))
	if err != nil || order != nil {
		return settle(res, SaturatedWitnessEngine, order, err), order
	}
	return false, nil
}

// guess tries guessOrder with each rank in turn and returns the first
// legal order, or nil.
func guess(ctx context.Context, g *graph, ranks ...[]int32) ([]int32, error) {
	for _, rank := range ranks {
		order, err := g.guessOrder(ctx, rank)
		if err != nil {
			return nil, err
		}
		if order != nil && legal(g.r, order) {
			return order, nil
		}
	}
	return nil, nil
}

// settle settles res as Valid, decided by engine, when a guess found a
// legal order, or as Unknown when the context ended the guessing.
func settle(res *checker.Result, engine string, order []int32, err error) bool {
	if err != nil {
		return stopped(res, err)
	}
	res.Verdict, res.Stats.Engine = checker.Valid, engine
	return true
}

// invocationRank ranks operations by invocation.
func invocationRank(g *graph) []int32 {
	rank := make([]int32, g.nodes())
	for v := range rank {
		rank[v] = int32(v)
	}
	return rank
}

// stopped settles res as Unknown when the context ended a step.
func stopped(res *checker.Result, err error) bool {
	res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("the check was stopped (%v); give it a longer --timeout", err)
	return true
}
