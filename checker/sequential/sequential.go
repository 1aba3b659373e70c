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
// When every written value is unique per key, each read names the write
// it read (rf), and the definition has an equivalent axiomatic form
// (Shasha & Snir, "Efficient and Correct Execution of Parallel Programs
// that Share Memory", TOPLAS 10(2), 1988; Alglave, Maranget & Tautschnig,
// "Herding Cats", TOPLAS 36(2), 2014, where SC is acyclic(po ∪ com)): the
// history is sequentially consistent exactly when, for some total order ws
// of each key's writes (the initial value first), so ∪ rf ∪ ws ∪ fr is
// acyclic — so is session order, and fr leads from a read of w to every
// write after w in ws. A cas reads and writes, so it directly follows, in
// ws, the write it read. Choosing ws is what makes the problem
// NP-complete, even with unique values (Gibbons & Korach, "Testing Shared
// Memories", SIAM J. Comput. 26(4), 1997).
//
// With unique values the checker runs these steps, cheapest first, and
// the first to decide gives the verdict and names itself in
// Stats.Engine:
//
//  1. Witness (WitnessEngine). It builds the must-precede graph — so, rf,
//     each read before the writes that follow its write in ws, a read of
//     the initial value before every write of its key — and guesses ws:
//     the order in which a topological sort meets the writes, taking
//     among the operations ready the one that most likely took effect
//     first in the history's real time (a write ranked by the zone of its
//     reads, after Gibbons & Korach's linearizability test; real time
//     only guides the guess). It adds ws and its fr edges to the graph; if
//     Kahn's algorithm still orders every node, that order is a
//     sequential order: Valid. Near-linear time.
//  2. Saturation (SaturationEngine). Two cas that read the same write
//     contradict each other at once. Otherwise it adds, round by round,
//     ws edges every sequential order has: a write w1 that must precede a
//     read of another write w2 of its key precedes w2 (w2 is the last
//     write before the read), and so do w1's reads; a write that must
//     precede another of its key precedes it in ws, its reads too. A round
//     sorts the graph (Kahn) and walks it once in that order, carrying to
//     each node, as bit masks, which of the latest 256 writes precede it;
//     each operation also draws on the previous operation of its key in
//     its session, however far back. A cycle proves the history Invalid
//     and is reported as the anomaly, step by step. The window keeps each
//     round linear but makes saturation incomplete: it misses orders shown
//     only through older writes.
//  3. Witness on the saturated graph (SaturatedWitnessEngine): the guess
//     of step 1 again, and one by invocation order.
//  4. Causal prechecks (CausalEngine): sequential consistency implies
//     causal memory and causal convergence (Bouajjani et al., POPL 2017),
//     so a violation of either is a violation here too.
//  5. Search (SearchEngine), which is also all that runs when values
//     repeat: a depth-first search for the order, with memoisation. Reads
//     that are legal are taken at once (they change nothing), and when
//     written values are unique, a write is never placed while a read of
//     the value it would overwrite is still to come. A timeout or the
//     memory budget ends the search with Unknown.
package sequential

import (
	"context"
	"errors"
	"fmt"
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
		res.Verdict, res.Anomalies = checker.Invalid, r.ThinAirAnomalies()
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
					a.Sentence = checker.Say("%s; a sequentially consistent history is %s, so it is not sequentially consistent either", a.Sentence, string(c.Model))
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
	w := r.Witness()
	var parts []checker.Phrase
	for _, op := range core {
		parts = append(parts, r.Describe(w, op))
	}
	key := any(nil)
	if len(core) > 0 {
		key = r.Keys[r.Ops[core[len(core)-1]].Key]
	}
	text := checker.Say("no single order of these operations keeps each process's order and gives every read the latest value: %s (sequential)", checker.Join(parts, "; "))
	if len(core) == 0 {
		core = s.deepestHeads()
		parts = parts[:0]
		for _, op := range core {
			parts = append(parts, r.Describe(w, op))
		}
		text = checker.Say("every order of the operations gets stuck; the furthest placed %d of %d operations, after which none of the next ones can go: %s (sequential)", s.deepest, len(r.Ops), checker.Join(parts, "; "))
	}
	return w.Anomaly(KindNoOrder, key, text)
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
		res.Anomalies = []checker.Anomaly{g.explainCycle(g.cycle(ctx))}
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
