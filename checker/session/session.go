// Package session checks PRAM and the four session guarantees of Terry et
// al., "Session Guarantees for Weakly Consistent Replicated Data" (PDIS
// 1994), on register histories, in the per-process-view formulation of
// Brzezinski, Sobaniec & Wawrzyniak, "Session Guarantees to Achieve PRAM
// Consistency of Replicated Shared Objects" (PPAM 2003), which is Viotti &
// Vukolić's visibility and arbitration ("Consistency in Non-Transactional
// Distributed Storage Systems", ACM CSUR 2016, §3.3) with one arbitration
// per process.
//
// A view for process p is a total order of every write and of some of p's
// operations: the log of the replica through which p sees the store. Each
// of p's reads is served by a prefix of it (the writes visible to the
// read) and returns the last write of its key there; a read of the initial
// value means that no write of its key is visible to it, and says nothing
// else. Another process's cas is a write in p's view. A cas of p reads and
// writes at one point (the prefix just before its write serves its read),
// except for read-your-writes, where it counts as a read and a separate
// write. A model holds when every process has a view obeying its rules
// (Terry et al.'s sentence, then the rule):
//
//   - PRAM (Lipton & Sandberg 1988): p's operations in session order, and
//     every other process's writes in its session order.
//   - read-your-writes: "if Read R follows Write W in a session ... then W
//     is included in DB(S,t)": each of p's writes before each of p's later
//     reads.
//   - monotonic-reads: "if Read R1 occurs before R2 in a session ... then
//     RelevantWrites(S1,t1,R1) is a subset of DB(S2,t2)": p's reads in
//     session order, so the writes visible to them only grow.
//   - monotonic-writes: "if Write W1 precedes Write W2 in a session, then,
//     for any server S2, if W2 in DB(S2) then W1 in DB(S2) and
//     WriteOrder(W1,W2)": every process's writes in its session order.
//     p's plain reads are otherwise free: each may be served by any
//     prefix, so two reads of p that see one writer's writes out of order
//     (y=1 then x unwritten, after x=1 and y=1) break monotonic-reads
//     together with it (PRAM), not monotonic-writes alone. What it rules
//     out alone is a cas of p that misses p's own earlier write of its
//     key, or anything an earlier cas of p had to see.
//   - writes-follow-reads: "if Read R1 precedes Write W2 in a session ...
//     then, for any server S2, if W2 in DB(S2) then any W1 in
//     RelevantWrites(S1,t1,R1) is also in DB(S2) and WriteOrder(W1,W2)":
//     for every process q, the write each read of q saw before each later
//     write of q (a read of the initial value saw none and orders
//     nothing), and p's cas in the order p issued them. p's plain reads
//     are otherwise free, as above. What it rules out is a cycle of such
//     orders (a process that read its own later write, or two that each
//     read what the other wrote after), and a cas of p that misses the
//     cause of something p read before it.
//
// Monotonic-writes and writes-follow-reads do not include monotonic-reads:
// a process that reads x=1 and then x unwritten breaks monotonic-reads
// alone (issue 13).
//
// PRAM is read-your-writes, monotonic-reads and monotonic-writes held
// together (Brzezinski et al. 2003): for each process one log serving all
// three at once (every process's writes in session order, the process's
// reads and cas served by prefixes that grow in session order and hold
// its earlier writes) in which, as in Terry et al.'s system model, no read
// is served by a state holding the process's own later write. It is not
// the three verdicts apart. Each model here asks for views of its own, so
// the three can each be valid while PRAM is invalid, with or without cas
// (failed cas are dropped and change nothing): p1 writes y=1 then y=2 and
// p0 reads y=2 then y=1 (monotonic-reads' log may put y=2 first,
// monotonic-writes serves each plain read from a prefix of its own); p0
// reads x=1 and then writes x=1 (no guarantee forbids reading one's own
// later write); or a process's cas chain on x leaves no room for a write
// of x that its later read of another key shows it had seen
// (testdata/pram-three-guarantees.jsonl). checker/internal/oracle decides
// the three together by brute force and its tests check that this is
// PRAM. With one arbitration per process, rather than
// Terry et al.'s single WriteOrder, two readers that see concurrent writes
// in opposite orders break none of them, as PRAM allows.
//
// Scope: by default (checker.ScopeStore) a session is all of a process's
// operations, as Terry et al. and Viotti & Vukolić define it, and the
// orders above run across keys: a cas of x by p that follows p's read of
// y=1, written by a process that had read x=1, must see x=1
// (writes-follow-reads), and a cas of p must see what p's earlier cas on
// other keys saw (monotonic-writes). checker.ScopeKey judges each key's
// operations alone, for stores that promise the guarantees per key, and
// drops those cross-key orders; read-your-writes and monotonic-reads
// already judge each read against its own key. The treatment of the
// initial value is the same in both. PRAM is always judged on the whole
// store.
//
// Writes must be unique per key, as consist's workloads make them, so that
// each read names the write it saw; histories with repeated values get
// Unknown. The checks are polynomial: see package views for the
// saturating construction, and readYourWrites for its own linear test.
// checker/internal/oracle decides the same definitions by brute force on
// small histories, and its tests compare the two.
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
		w := r.Witness()
		res.Anomalies = []checker.Anomaly{w.Anomaly(kind(m), keyOf(r, v), vc.Explain(w, v, checker.Say("%s", consequence(m, v))))}
	}
}

// kind names the anomaly each model's violations show.
func kind(m checker.Model) checker.Kind {
	switch m {
	case checker.MonotonicReads:
		return checker.NonMonotonicRead
	case checker.MonotonicWrites:
		return checker.WritesOutOfOrder
	case checker.WritesFollowReads:
		return checker.EffectBeforeCause
	}
	return checker.NoPRAMView
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
