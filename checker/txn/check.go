package txn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/history"
)

// Checker judges transactional histories (list-append and rw-register,
// Elle's workloads) against the transactional isolation models, as Elle
// does (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from
// Experimental Observations", VLDB 2020; Adya, "Weak Consistency", MIT
// 1999): a model is invalid when the history shows an anomaly the model
// proscribes (checker.Kind.RulesOut), valid when the search for every such
// anomaly was complete and found none, and unknown otherwise. Beyond
// Elle's searches it looks for Adya's G-update (thesis, chapter 4, PL-3U: a
// cycle with an rw edge among the update transactions and at most one
// read-only transaction), which Elle's tables have update-serializable
// proscribe but Elle does not search for (cycles.go, searchGUpdate).
type Checker struct{}

// models are the models the checker judges, strongest first.
var models = []checker.Model{
	checker.StrictSerializable, checker.StrongSessionSerializable, checker.Serializable,
	checker.StrongSnapshotIsolation, checker.StrongSessionSnapshotIsolation, checker.SnapshotIsolation,
	checker.UpdateSerializable, checker.RepeatableRead, checker.ConsistentView, checker.CursorStability,
	checker.MonotonicAtomicView, checker.ReadCommitted, checker.ReadUncommitted,
}

// Models lists the transactional models.
func (Checker) Models() []checker.Model { return slices.Clone(models) }

// Applies reports whether h is transactional: every operation a txn.
func (Checker) Applies(h *history.History) bool {
	if len(h.Ops) == 0 {
		return false
	}
	for i := range h.Ops {
		if h.Ops[i].F != "txn" {
			return false
		}
	}
	return true
}

// Check judges h against every model of Models.
func (c Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return c.CheckModels(ctx, h, opts, models...)
}

// needs returns whether judging ms needs process edges and real-time
// edges.
func needs(ms []checker.Model) (process, realtime bool) {
	for _, m := range ms {
		// A process's transactions follow one another in real time, so
		// the real-time edges imply the process edges; Elle adds only the
		// real-time graph for the strict models.
		switch m {
		case checker.StrictSerializable, checker.StrongSnapshotIsolation:
			realtime = true
		case checker.StrongSessionSerializable, checker.StrongSessionSnapshotIsolation:
			process = true
		}
	}
	return
}

// CheckModels judges h against the given models only, searching for the
// process and real-time variants of the anomalies only when a model asked
// for proscribes them.
func (Checker) CheckModels(ctx context.Context, h *history.History, opts checker.Options, ms ...checker.Model) []checker.Result {
	start := time.Now()
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	process, realtime := needs(ms)
	a, err := Analyze(ctx, h, opts, process, realtime)
	out := make([]checker.Result, 0, len(ms))
	for _, m := range ms {
		r := checker.Result{Model: m, Stats: checker.Stats{Ops: len(h.Ops), Engine: "elle-cycles"}}
		if err != nil {
			r.Verdict, r.Reason = checker.Unknown, err.Error()
		} else {
			r.Verdict, r.Reason, r.Anomalies = a.Judge(m)
			r.Stats.Explored = a.Work
		}
		r.Stats.Duration = time.Since(start)
		out = append(out, r)
	}
	return out
}

// Analysis is what the checker found in a history, before any model is
// judged.
type Analysis struct {
	// Anomalies are every anomaly found: the inference's and one cycle of
	// each kind per strongly connected component.
	Anomalies []checker.Anomaly
	// Incomplete maps each cycle kind whose search stopped early (a work
	// limit, the context) and found nothing to why.
	Incomplete map[checker.Kind]string
	// Txns and Edges size the dependency graph.
	Txns, Edges int
	// Work counts the edges the cycle searches examined.
	Work int64
}

// Kinds returns the kinds of the anomalies found, sorted, once each.
func (a *Analysis) Kinds() []checker.Kind {
	var out []checker.Kind
	for _, x := range a.Anomalies {
		if !slices.Contains(out, x.Kind) {
			out = append(out, x.Kind)
		}
	}
	slices.Sort(out)
	return out
}

// rulesOut reports whether an anomaly of kind k rules out m, as the
// taxonomy says (checker.Kind.RulesOut).
func rulesOut(k checker.Kind, m checker.Model) bool {
	key := [2]string{string(k), string(m)}
	if v, ok := ruledOut.Load(key); ok {
		return v.(bool)
	}
	v := slices.Contains(k.RulesOut(), m)
	ruledOut.Store(key, v)
	return v
}

// ruledOut caches rulesOut: the lattice's closure is not cheap, and a
// history may show many anomalies.
var ruledOut sync.Map

// Implies reports whether an anomaly of kind k is also one of kind x, as
// the taxonomy says (checker.Kind.AllImplied).
func Implies(k, x checker.Kind) bool {
	return slices.Contains(k.AllImplied(), x)
}

// Judge returns the verdict on m: invalid with the anomalies that rule it
// out, unknown when a search that could have ruled it out stopped early,
// else valid.
func (a *Analysis) Judge(m checker.Model) (checker.Verdict, string, []checker.Anomaly) {
	var bad []checker.Anomaly
	for _, x := range a.Anomalies {
		if rulesOut(x.Kind, m) {
			bad = append(bad, x)
		}
	}
	if len(bad) > 0 {
		return checker.Invalid, "", bad
	}
	var why []string
	for k, reason := range a.Incomplete {
		if rulesOut(k, m) {
			why = append(why, fmt.Sprintf("the search for %s cycles %s", k, reason))
		}
	}
	if len(why) > 0 {
		slices.Sort(why)
		return checker.Unknown, strings.Join(why, "; "), nil
	}
	return checker.Valid, "", nil
}

// Analyze infers the dependencies of h, builds the dependency graph (with
// process edges when process is set, real-time edges when realtime is)
// and searches each strongly connected component for the shortest cycle
// of each kind, classified as Elle's cycle explainer does. The error says
// why h cannot be analysed (not transactional, a mixed workload, values
// appended twice, a cancelled context).
func Analyze(ctx context.Context, h *history.History, opts checker.Options, process, realtime bool) (*Analysis, error) {
	if !(Checker{}).Applies(h) {
		return nil, fmt.Errorf("the history holds operations other than txn: the transactional checker judges histories of transactions only")
	}
	th, err := fromHistory(ctx, h)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, stopped(ctx, "reading the transactions")
	}
	// The lost updates and the process and real-time edges depend on the
	// transactions alone: they are found on a second core while the
	// inference runs, and joined in a fixed order.
	pb := graph.NewBuilder(len(th.Txns))
	var cb *graph.Builder
	var lost []checker.Anomaly
	done := make(chan struct{})
	go func() {
		defer close(done)
		lost = lostUpdates(th)
		if process {
			processDeps(th, pb)
		}
		if realtime {
			cb = compactRealtime(th)
		}
	}()
	// A list-append inference gives its dependencies straight to the
	// graph: they are kept only when the graph has a cycle to explain.
	b := graph.NewBuilder(len(th.Txns))
	var inf Inference
	switch th.Workload {
	case ListAppend:
		mops := 0
		for ti := range th.Txns {
			mops += len(th.Txns[ti].Mops)
		}
		b.Grow(mops + mops/2)
		inf, err = inferAppendTo(ctx, th, b, nil)
	default:
		inf, err = inferRegister(ctx, th, opts)
		b.Grow(len(inf.Deps))
		for i := range inf.Deps {
			b.Add(inf.Deps[i].From, inf.Deps[i].To, inf.Deps[i].Rel)
		}
	}
	<-done
	if ctx.Err() != nil {
		return nil, stopped(ctx, "inferring the dependencies")
	}
	if err != nil {
		return nil, err
	}
	a := &Analysis{Anomalies: inf.Anomalies, Incomplete: map[checker.Kind]string{}, Txns: len(th.Txns)}
	a.Anomalies = append(a.Anomalies, lost...)
	var g *graph.Graph
	if realtime {
		// Whether the graph has a cycle at all is decided on the real
		// time's compact form (compactRealtime), a few edges a
		// transaction; the sparse real-time edges the search needs are
		// made only when it has one.
		gc := cb.Build(b, pb)
		cb = nil
		if len(gc.SCCs()) == 0 {
			a.Edges = gc.Edges()
			return a, nil
		}
		gc = nil
		rb := graph.NewBuilder(len(th.Txns))
		realtimeInto(th, rb)
		g = b.Build(pb, rb)
	} else {
		g = b.Build(pb)
	}
	b, pb = nil, nil
	if ctx.Err() != nil {
		return nil, stopped(ctx, "building the dependency graph")
	}
	comps := g.SCCs()
	a.Edges = g.Edges()
	if len(comps) == 0 {
		return a, nil // acyclic: nothing to search, nothing to explain
	}
	if th.Workload == ListAppend {
		// The dependencies behind the edges a cycle may use: those inside
		// a component, inferred again.
		comp := make([]int32, len(th.Txns))
		for i, c := range comps {
			for _, v := range c {
				comp[v] = int32(i) + 1
			}
		}
		again, err := inferAppendTo(ctx, th, nil, func(from, to int32) bool {
			return comp[from] != 0 && comp[from] == comp[to]
		})
		inf.Deps = again.Deps
		if err != nil {
			return nil, stopped(ctx, "inferring the dependencies")
		}
	}
	s := &cycles{th: th, g: g, deps: inf.Deps, a: a}
	if err := s.search(ctx, process, realtime); err != nil {
		return nil, err
	}
	return a, nil
}

// stopped is the error of an analysis whose context ended during phase:
// it says why (time, memory, cancellation) and what to do, and wraps the
// context's error.
func stopped(ctx context.Context, phase string) error {
	return fmt.Errorf("the check stopped while %s: %s (%w)", phase, stopReason(ctx), ctx.Err())
}

// stopReason says why ctx ended, in words a person can act on.
func stopReason(ctx context.Context) string {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, context.DeadlineExceeded):
		return "it ran out of time; give it more with --timeout"
	case cause == context.Canceled:
		return "it was cancelled"
	}
	return cause.Error()
}

// lostUpdates finds Elle's lost updates directly: two committed
// transactions that read the same version of a key (their first access
// to it a read) and then both appended to it.
func lostUpdates(th *History) []checker.Anomaly {
	type version struct {
		key  int32
		last any
	}
	groups := map[version][]int32{}
	var order []version
	for ti := range th.Txns {
		t := &th.Txns[ti]
		if !t.Committed() {
			continue
		}
		for mi, r := range t.Mops {
			k := r.Key
			if touchedBefore(t.Mops, mi) {
				continue
			}
			if r.Kind != ReadList && r.Kind != ReadRegister || !r.Known {
				continue
			}
			writes := false
			for _, m := range t.Mops[mi+1:] {
				if m.Key == k && (m.Kind == Append || m.Kind == Write) {
					writes = true
					break
				}
			}
			if !writes {
				continue
			}
			v := version{key: k}
			if r.Kind == ReadList {
				v.last = elem(lastOf(r.List))
			} else {
				v.last = elem(r.Value)
			}
			if _, ok := groups[v]; !ok {
				order = append(order, v)
			}
			groups[v] = append(groups[v], int32(ti))
		}
	}
	var out []checker.Anomaly
	for _, v := range order {
		ts := groups[v]
		if len(ts) < 2 {
			continue
		}
		x := checker.NewWitness(th.H)
		key := th.Keys[v.key]
		var names []checker.Phrase
		for _, t := range ts {
			names = append(names, checker.Say("%s", x.Op(th.Txns[t].Op)))
		}
		seen := checker.Say("the initial, empty version")
		if v.last != nil {
			seen = checker.Say("the version ending at %s", checker.Val(v.last))
		}
		out = append(out, x.Anomaly(checker.LostUpdate, key, checker.Say("%s each read %s of key %s and then wrote it: all but one update was lost (lost update)", checker.Join(names, " and "), seen, checker.Val(key))))
	}
	return out
}

// edge is a process or real-time edge: the graph's edge is all there is
// to say about it.
type edge struct{ from, to int32 }

// processDeps links, in b, each committed transaction to the next
// transaction of its process.
func processDeps(th *History, b *graph.Builder) {
	last := map[history.Process]int32{}
	b.Grow(len(th.Txns))
	for ti := range th.Txns {
		t := &th.Txns[ti]
		if t.Type == history.Fail {
			continue
		}
		if p, ok := last[t.Process]; ok {
			b.Add(p, int32(ti), Process)
		}
		if t.Committed() {
			last[t.Process] = int32(ti)
		} else {
			delete(last, t.Process)
		}
	}
}

// event is a transaction's invocation or completion at its place in the
// history; txn is -1 at a place that is neither (another event, or an
// aborted transaction's).
type event struct {
	txn      int32
	complete bool
}

// timeline places every invocation of a transaction that did not abort,
// and every completion of a committed one, at its position in the
// history.
func timeline(th *History) []event {
	n := 0
	for i := range th.Txns {
		n = max(n, th.Txns[i].Invoke+1, th.Txns[i].Complete+1)
	}
	at := make([]event, n)
	for i := range at {
		at[i].txn = -1
	}
	for ti := range th.Txns {
		t := &th.Txns[ti]
		if t.Type == history.Fail {
			continue
		}
		at[t.Invoke] = event{txn: int32(ti)}
		if t.Committed() && t.Complete >= 0 {
			at[t.Complete] = event{txn: int32(ti), complete: true}
		}
	}
	return at
}

// compactRealtime returns a builder of the transactions and one node more
// per completion of a committed transaction, in which every committed
// transaction leads to its completion's node, each completion's node to
// the next one's, and the node of the last completion before a
// transaction's invocation to that transaction (when it did not abort).
// One transaction reaches another through these nodes exactly when the
// first committed and completed before the second was invoked: the
// real-time order realtimeDeps's edges close to, in three edges a
// transaction or fewer. A graph of the data and process edges with these
// has a cycle exactly when the graph with realtimeDeps's edges has one.
func compactRealtime(th *History) *graph.Builder {
	m := 0
	for i := range th.Txns {
		if t := &th.Txns[i]; t.Committed() && t.Complete >= 0 {
			m++
		}
	}
	at := timeline(th)
	nt := int32(len(th.Txns))
	b := graph.NewBuilder(len(th.Txns) + m)
	b.Grow(len(th.Txns) + 2*m)
	last := int32(-1) // the node of the last completion so far
	for _, e := range at {
		switch {
		case e.txn < 0:
		case e.complete:
			c := nt + last + 1
			b.Add(e.txn, c, Realtime)
			if last >= 0 {
				b.Add(nt+last, c, Realtime)
			}
			last++
		case last >= 0:
			b.Add(nt+last, e.txn, Realtime)
		}
	}
	return b
}

// realtimeDeps links committed transactions in real time, sparsely as
// Elle does: each transaction invoked gets an edge from every transaction
// of the frontier (completed, and not yet known to precede a completed
// transaction the frontier holds); when it completes, it replaces the
// frontier transactions it was linked from, since its own edges then
// imply theirs. The edges are linear in the history for bounded
// concurrency, and their transitive closure is the real-time order.
func realtimeDeps(th *History) []edge {
	b := graph.NewBuilder(len(th.Txns))
	realtimeInto(th, b)
	out := make([]edge, b.Len())
	for i := range out {
		out[i].from, out[i].to = b.Edge(i)
	}
	return out
}

// realtimeInto adds realtimeDeps's edges to b, which holds no other.
func realtimeInto(th *History, b *graph.Builder) {
	at := timeline(th)
	var frontier []int32
	// seen[t] is where, in b, the edges into t from the frontier at its
	// invocation lie: their sources are that frontier.
	seen := make([][2]int, len(th.Txns))
	b.Grow(2 * len(th.Txns))
	for _, e := range at {
		if e.txn < 0 {
			continue
		}
		if !e.complete {
			lo := b.Len()
			for _, f := range frontier {
				b.Add(f, e.txn, Realtime)
			}
			seen[e.txn] = [2]int{lo, b.Len()}
			continue
		}
		if r := seen[e.txn]; r[1] > r[0] {
			frontier = slices.DeleteFunc(frontier, func(f int32) bool {
				for i := r[0]; i < r[1]; i++ {
					if g, _ := b.Edge(i); g == f {
						return true
					}
				}
				return false
			})
		}
		frontier = append(frontier, e.txn)
	}
}
