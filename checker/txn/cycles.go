package txn

import (
	"context"
	"fmt"
	"slices"

	"consist/checker"
	"consist/checker/internal/graph"
	"consist/history"
)

// The cycle languages, over the relations of this package, written from
// Adya's definitions (1999, §4.4) as Elle searches for them (txn.clj's
// cycle-anomaly specs): process and real-time edges, when the graph has
// them, count as ww and wr edges do (neither an rw nor a wr).
var (
	langG0 = func(o ...graph.Rel) *graph.Automaton {
		ts := []graph.Transition{{From: 0, Rel: WW, To: 0}}
		for _, r := range o {
			ts = append(ts, graph.Transition{From: 0, Rel: r, To: 0})
		}
		return graph.NewAutomaton("G0", 1, []int{0}, ts...)
	}
	// G1c: no rw, at least one wr.
	langG1c = func(o ...graph.Rel) *graph.Automaton {
		ts := []graph.Transition{{From: 0, Rel: WW, To: 0}, {From: 0, Rel: WR, To: 1}, {From: 1, Rel: WW, To: 1}, {From: 1, Rel: WR, To: 1}}
		for _, r := range o {
			ts = append(ts, graph.Transition{From: 0, Rel: r, To: 0}, graph.Transition{From: 1, Rel: r, To: 1})
		}
		return graph.NewAutomaton("G1c", 2, []int{1}, ts...)
	}
	// G-single: exactly one rw.
	langGSingle = func(o ...graph.Rel) *graph.Automaton {
		other := append([]graph.Rel{WW, WR}, o...)
		ts := []graph.Transition{{From: 0, Rel: RW, To: 1}}
		for _, r := range other {
			ts = append(ts, graph.Transition{From: 0, Rel: r, To: 0}, graph.Transition{From: 1, Rel: r, To: 1})
		}
		return graph.NewAutomaton("G-single", 2, []int{1}, ts...)
	}
	// G-nonadjacent: at least one rw, no two adjacent, cyclically. States:
	// 1 first edge rw; 3 first rw, last not; 4 first rw, last rw; 2 first
	// not, no rw yet; 5 first not, last rw; 6 first not, some rw, last not.
	langGNonadjacent = func(o ...graph.Rel) *graph.Automaton {
		other := append([]graph.Rel{WW, WR}, o...)
		ts := []graph.Transition{{From: 0, Rel: RW, To: 1}, {From: 3, Rel: RW, To: 4}, {From: 2, Rel: RW, To: 5}, {From: 6, Rel: RW, To: 5}}
		for _, r := range other {
			ts = append(ts, graph.Transition{From: 0, Rel: r, To: 2}, graph.Transition{From: 1, Rel: r, To: 3}, graph.Transition{From: 3, Rel: r, To: 3},
				graph.Transition{From: 4, Rel: r, To: 3}, graph.Transition{From: 2, Rel: r, To: 2}, graph.Transition{From: 5, Rel: r, To: 6}, graph.Transition{From: 6, Rel: r, To: 6})
		}
		return graph.NewAutomaton("G-nonadjacent", 7, []int{3, 5, 6}, ts...)
	}
	// G2-item: at least one rw.
	langG2 = func(o ...graph.Rel) *graph.Automaton {
		other := append([]graph.Rel{WW, WR}, o...)
		ts := []graph.Transition{{From: 0, Rel: RW, To: 1}, {From: 1, Rel: RW, To: 1}}
		for _, r := range other {
			ts = append(ts, graph.Transition{From: 0, Rel: r, To: 0}, graph.Transition{From: 1, Rel: r, To: 1})
		}
		return graph.NewAutomaton("G2-item", 2, []int{1}, ts...)
	}
)

// base is one cycle kind searched for: its language, the relations its
// cycles use, and the relation every cycle of it must hold (whose sources
// are the only starts worth trying), if any.
type base struct {
	kind  checker.Kind
	lang  func(...graph.Rel) *graph.Automaton
	rels  []graph.Rel
	needs int // -1: none
}

var bases = []base{
	{checker.G0, langG0, []graph.Rel{WW}, -1},
	{checker.G1c, langG1c, []graph.Rel{WW, WR}, int(WR)},
	{checker.GSingleItem, langGSingle, []graph.Rel{WW, WR, RW}, int(RW)},
	{checker.GNonadjItem, langGNonadjacent, []graph.Rel{WW, WR, RW}, int(RW)},
	{checker.G2Item, langG2, []graph.Rel{WW, WR, RW}, int(RW)},
}

// variants of a kind by the extra relations its cycles may use.
var variant = map[checker.Kind][3]checker.Kind{
	checker.G0:          {checker.G0, checker.G0Process, checker.G0Realtime},
	checker.G1c:         {checker.G1c, checker.G1cProcess, checker.G1cRealtime},
	checker.GSingleItem: {checker.GSingleItem, checker.GSingleItemProcess, checker.GSingleItemRealtime},
	checker.GNonadjItem: {checker.GNonadjItem, checker.GNonadjItemProcess, checker.GNonadjItemRealtime},
	checker.G2Item:      {checker.G2Item, checker.G2ItemProcess, checker.G2ItemRealtime},
}

// cycles is one search of a dependency graph.
type cycles struct {
	th *History
	g  *graph.Graph
	// deps are the data dependencies (ww, wr, rw) behind g's edges.
	deps []Dep
	a    *Analysis
	// depAt finds the dependency behind an edge, built on first use.
	depAt map[depKey]*Dep
	// subs are the restrictions of g made so far, by mask.
	subs map[graph.Mask]*graph.Graph
	// upd says which transactions are update transactions, once the
	// G-update search has needed it.
	upd []bool
}

type depKey struct {
	from, to int32
	rel      graph.Rel
}

// search looks, pass by pass (data dependencies alone, then with process
// edges, then with real-time edges too), for the shortest cycle of each
// kind in each strongly connected component of the graph restricted to
// the kind's relations. A kind found in one pass is not searched for in a
// later one: its variants are implied. Each search is bounded: a work
// limit proportional to the graph, and ctx.
func (s *cycles) search(ctx context.Context, process, realtime bool) error {
	passes := [][]graph.Rel{nil}
	if process {
		passes = append(passes, []graph.Rel{Process})
	}
	if realtime {
		passes = append(passes, []graph.Rel{Realtime})
	}
	found := map[checker.Kind]bool{}
	budget := searchBudget(s.g.Edges())
	// Every cycle of every pass lies in a component of the whole graph:
	// when it has none (an acyclic history, the common case), nothing is
	// searched, and nothing restricted.
	if len(s.g.SCCs()) == 0 {
		return nil
	}
	for _, extra := range passes {
		pi := 0
		if len(extra) > 0 {
			pi = 1
			if extra[0] == Realtime {
				pi = 2
			}
		}
		// Every cycle lies in a component of the pass's whole graph: when
		// there is none (an acyclic history, the common case), nothing
		// is searched.
		all := graph.Of(append([]graph.Rel{WW, WR, RW}, extra...)...)
		if len(s.restrict(all).SCCs()) == 0 {
			continue
		}
		for _, b := range bases {
			if found[b.kind] {
				continue
			}
			if ctx.Err() != nil {
				// What was found stands; what was not searched is unknown.
				s.a.Incomplete[variant[b.kind][pi]] = "was stopped: " + stopReason(ctx)
				continue
			}
			rels := append(append([]graph.Rel{}, b.rels...), extra...)
			sub := s.restrict(graph.Of(rels...))
			lang := b.lang(extra...)
			incomplete := false
			work := budget
			for _, comp := range sub.SCCs() {
				var starts []int32
				if b.needs >= 0 {
					if starts = startsOf(sub, comp, func(m graph.Mask) bool { return m.Has(graph.Rel(b.needs)) }); len(starts) == 0 {
						continue
					}
				}
				res := s.shortest(ctx, sub, comp, lang, starts, &work)
				if !res.Complete {
					incomplete = true
				}
				if res.Cycle != nil {
					k := classify(res.Cycle.Rels)
					found[k] = true
					found[b.kind] = true
					s.a.Anomalies = append(s.a.Anomalies, s.explain(k, res.Cycle))
				}
				if work <= 0 {
					incomplete = true
					break
				}
			}
			if incomplete && !found[b.kind] {
				why := "stopped at its work limit before trying every start"
				if ctx.Err() != nil {
					why = "was stopped: " + stopReason(ctx)
				}
				s.a.Incomplete[variant[b.kind][pi]] = why
			} else if !incomplete {
				delete(s.a.Incomplete, variant[b.kind][pi])
			}
		}
		// G-update is a cycle of data dependencies with an rw: there is
		// none to look for when the search for G2-item's (any cycle with
		// an rw) was complete and found nothing.
		if pi == 0 {
			_, g2Incomplete := s.a.Incomplete[checker.G2Item]
			if found[checker.G2Item] || g2Incomplete {
				s.searchGUpdate(ctx, budget)
			}
		}
	}
	return nil
}

// restrict returns the graph restricted to mask, made once.
func (s *cycles) restrict(mask graph.Mask) *graph.Graph {
	if s.subs == nil {
		s.subs = map[graph.Mask]*graph.Graph{}
	}
	if g, ok := s.subs[mask]; ok {
		return g
	}
	g := s.g.Restrict(mask)
	s.subs[mask] = g
	return g
}

// searchBudget is the work (edges examined) each kind's search may do
// over a graph of edges edges: linear in the graph, so that a
// pathological component ends the search with unknown rather than a hang.
var searchBudget = func(edges int) int64 { return int64(4*edges) + 2_000_000 }

// classify names a cycle as Elle's cycle explainer does (txn.clj): by its
// number of rw edges (none: G0, or G1c when a wr edge is in it; one:
// G-single-item; more, never two adjacent: G-nonadjacent-item; else
// G2-item; every dependency here is on one key, so every cycle is an item
// cycle, and Elle names them so too), then
// -realtime when it holds a real-time edge, else -process when it holds a
// process edge.
func classify(rels []graph.Rel) checker.Kind {
	var rw, wr int
	var proc, rt, adjacent bool
	n := len(rels)
	for i, r := range rels {
		switch r {
		case RW:
			rw++
			if n > 1 && rels[(i+1)%n] == RW {
				adjacent = true
			}
		case WR:
			wr++
		case Process:
			proc = true
		case Realtime:
			rt = true
		}
	}
	var k checker.Kind
	switch {
	case rw == 0 && wr == 0:
		k = checker.G0
	case rw == 0:
		k = checker.G1c
	case rw == 1:
		k = checker.GSingleItem
	case !adjacent:
		k = checker.GNonadjItem
	default:
		k = checker.G2Item
	}
	switch {
	case rt:
		return variant[k][2]
	case proc:
		return variant[k][1]
	}
	return k
}

// dep returns the dependency behind the edge from → to by rel.
func (s *cycles) dep(from, to int32, rel graph.Rel) *Dep {
	if s.depAt == nil {
		s.depAt = map[depKey]*Dep{}
		for i := range s.deps {
			d := &s.deps[i]
			if _, ok := s.depAt[depKey{d.From, d.To, d.Rel}]; !ok {
				s.depAt[depKey{d.From, d.To, d.Rel}] = d
			}
		}
	}
	return s.depAt[depKey{from, to, rel}]
}

// relation maps a graph relation to a witness relation.
func relation(r graph.Rel) checker.Relation {
	switch r {
	case WW:
		return checker.WW
	case WR:
		return checker.WR
	case RW:
		return checker.RW
	case Process:
		return checker.ProcessOrder
	}
	return checker.Realtime
}

// explain turns a cycle into an anomaly: the transactions named T1…Tn,
// then one sentence per edge saying why it holds. The models it rules out
// follow from its kind (checker.Boundary); renderers say them.
func (s *cycles) explain(k checker.Kind, c *graph.Cycle) checker.Anomaly {
	c = shorten(c)
	x := checker.NewWitness(s.th.H)
	n := len(c.Nodes)
	name := func(i int) string { return fmt.Sprintf("T%d", i%n+1) }
	var intro []checker.Phrase
	for i, v := range c.Nodes {
		intro = append(intro, checker.Say("%s is %s", name(i), x.Op(s.th.Txns[v].Op)))
	}
	var steps []checker.Phrase
	var key any
	for i, v := range c.Nodes {
		w := c.Nodes[(i+1)%n]
		r := c.Rels[i]
		x.Link(s.th.Txns[v].Op, relation(r))
		a, b := name(i), name(i+1)
		d := s.dep(v, w, r)
		var p checker.Phrase
		switch {
		case r == Process:
			p = checker.Say("%s is a later transaction of %s than %s: %s < %s by process order", b, x.Who(s.th.Txns[v].Op), a, a, b)
		case r == Realtime:
			p = checker.Say("%s completed before %s was invoked: %s < %s by real time", a, b, a, b)
		case d == nil:
			p = checker.Say("%s < %s by %s", a, b, string(relation(r)))
		case r == WW:
			key = s.th.Keys[d.Key]
			p = checker.Say("%s appended %s to key %s after %s appended %s: %s < %s by ww", b, checker.Val(d.Next), checker.Val(key), a, checker.Val(d.Value), a, b)
			if s.th.Workload == RWRegister {
				p = checker.Say("%s wrote key %s = %s after %s wrote %s: %s < %s by ww", b, checker.Val(key), checker.Val(d.Next), a, checker.Val(d.Value), a, b)
			}
		case r == WR:
			key = s.th.Keys[d.Key]
			p = checker.Say("%s read key %s = %s, which %s wrote: %s < %s by wr", b, checker.Val(key), checker.Val(s.readOf(w, d.Key)), a, a, b)
			if s.th.Workload == ListAppend {
				p = checker.Say("%s read key %s = %s, ending at %s, which %s appended: %s < %s by wr", b, checker.Val(key), checker.Val(s.readOf(w, d.Key)), checker.Val(d.Value), a, a, b)
			}
		case r == RW:
			key = s.th.Keys[d.Key]
			p = checker.Say("%s read key %s = %s and did not see %s's write of %s: %s < %s by rw", a, checker.Val(key), checker.Val(s.readOf(v, d.Key)), b, checker.Val(d.Next), a, b)
			if s.th.Workload == ListAppend {
				p = checker.Say("%s read key %s = %s and did not see %s's append of %s: %s < %s by rw", a, checker.Val(key), checker.Val(s.readOf(v, d.Key)), b, checker.Val(d.Next), a, b)
			}
		}
		steps = append(steps, p)
	}
	order := make([]*history.Op, 0, n)
	for _, v := range c.Nodes {
		order = append(order, s.th.Txns[v].Op)
	}
	x.Order(order...)
	sentence := checker.Say("%s cycle of %d transactions: %s. %s", string(k), n, checker.Join(intro, "; "), checker.Join(steps, "; "))
	if k == checker.GUpdate {
		// Which transactions are update transactions is what makes the
		// cycle G-update: say it.
		if s.upd == nil {
			s.upd = updates(s.th)
		}
		upd := s.upd
		who := checker.Say("every one an update transaction (it writes)")
		for i, v := range c.Nodes {
			if !upd[v] {
				who = checker.Say("all update transactions (they write) but %s, the only read-only one", name(i))
			}
		}
		sentence = checker.Say("%s cycle of %d transactions, %s: %s. %s", string(k), n, who, checker.Join(intro, "; "), checker.Join(steps, "; "))
	}
	if n == 1 {
		key = nil
	}
	return x.Anomaly(k, key, sentence)
}

// shorten drops the middle transaction of two consecutive real-time
// edges (real time is transitive: the sparse real-time graph reaches
// through chains that say nothing more) and of two consecutive process
// edges (so is a process's order). The cycle's kind does not change: rw
// and wr edges stay as they were.
func shorten(c *graph.Cycle) *graph.Cycle {
	nodes, rels := slices.Clone(c.Nodes), slices.Clone(c.Rels)
	for changed := true; changed && len(nodes) > 2; {
		changed = false
		n := len(nodes)
		for i := 0; i < n; i++ {
			j := (i + 1) % n
			if rels[i] == rels[j] && (rels[i] == Realtime || rels[i] == Process) {
				// nodes[j] lies between two edges of the same order: drop
				// it, and its outgoing edge.
				nodes = slices.Delete(nodes, j, j+1)
				rels = slices.Delete(rels, j, j+1)
				changed = true
				break
			}
		}
	}
	return &graph.Cycle{Nodes: nodes, Rels: rels}
}

// readOf returns what transaction t first read of key k.
func (s *cycles) readOf(t int32, k int32) any {
	for _, m := range s.th.Txns[t].Mops {
		if m.Key != k {
			continue
		}
		switch m.Kind {
		case ReadList:
			if m.List == nil {
				return []any{}
			}
			return m.List
		case ReadRegister:
			return m.Value
		}
	}
	return nil
}

// The G-update search's graph relabels the data edges that touch a
// read-only transaction: the wr edges into one and the rw edges out of
// one, so that the automaton can count the read-only transactions a cycle
// passes through (each once, between an intoReadOnly and an
// outOfReadOnly edge: a read-only transaction has no other edges).
const (
	intoReadOnly  graph.Rel = Realtime + 1 + iota // a wr into a read-only transaction
	outOfReadOnly                                 // an rw out of a read-only transaction
)

// langGUpdate accepts Adya's G-update cycles (thesis, chapter 4, PL-3U): one or
// more rw edges, through at most one read-only transaction. States: 0
// start, nothing read yet; 1 an rw, no read-only transaction; 2 inside
// the read-only transaction (its wr in read); 3 past it (its rw out
// read); 4 started at the read-only transaction (its rw out read), which
// the cycle closes into: 5.
var langGUpdate = func() *graph.Automaton {
	var ts []graph.Transition
	for _, r := range []graph.Rel{WW, WR} {
		ts = append(ts, graph.Transition{From: 0, Rel: r, To: 0})
	}
	for _, r := range []graph.Rel{WW, WR, RW} {
		ts = append(ts, graph.Transition{From: 1, Rel: r, To: 1}, graph.Transition{From: 3, Rel: r, To: 3}, graph.Transition{From: 4, Rel: r, To: 4})
	}
	ts = append(ts,
		graph.Transition{From: 0, Rel: RW, To: 1},
		graph.Transition{From: 0, Rel: intoReadOnly, To: 2},
		graph.Transition{From: 1, Rel: intoReadOnly, To: 2},
		graph.Transition{From: 2, Rel: outOfReadOnly, To: 3},
		graph.Transition{From: 0, Rel: outOfReadOnly, To: 4},
		graph.Transition{From: 4, Rel: intoReadOnly, To: 5},
	)
	return graph.NewAutomaton("G-update", 6, []int{1, 3, 5}, ts...)
}()

// updates reports, for each transaction, whether it is an update
// transaction in Adya's sense: one that writes (appends to, or writes) a
// key.
func updates(th *History) []bool {
	out := make([]bool, len(th.Txns))
	for ti := range th.Txns {
		for _, m := range th.Txns[ti].Mops {
			if m.Kind == Append || m.Kind == Write {
				out[ti] = true
				break
			}
		}
	}
	return out
}

// searchGUpdate looks, in each strongly connected component of the data
// dependencies, for the shortest G-update cycle (Adya 1999, chapter 4, PL-3U: a cycle
// with one or more anti-dependency edges in the DSG restricted to the
// committed update transactions and one read-only transaction), and
// records one per component. A component whose search stopped early
// without one leaves G-update Incomplete, so that update-serializable is
// unknown rather than valid.
func (s *cycles) searchGUpdate(ctx context.Context, budget int64) {
	if ctx.Err() != nil {
		s.a.Incomplete[checker.GUpdate] = "was stopped: " + stopReason(ctx)
		return
	}
	data := s.restrict(graph.Of(WW, WR, RW))
	comps := data.SCCs()
	if len(comps) == 0 {
		return
	}
	s.upd = updates(s.th)
	upd := s.upd
	comp := make([]int32, len(s.th.Txns))
	for i, c := range comps {
		for _, v := range c {
			comp[v] = int32(i) + 1
		}
	}
	b := graph.NewBuilder(len(s.th.Txns))
	for _, c := range comps {
		for _, v := range c {
			ts, rs := data.Out(v)
			for i, t := range ts {
				if comp[t] != comp[v] {
					continue
				}
				m := rs[i]
				switch {
				case !upd[v] && !upd[t]:
					m = 0 // no edge joins two read-only transactions
				case !upd[t] && m.Has(WR):
					m = graph.Of(intoReadOnly)
				case !upd[v] && m.Has(RW):
					m = graph.Of(outOfReadOnly)
				case !upd[t] || !upd[v]:
					m = 0
				}
				if m != 0 {
					b.AddMask(v, t, m)
				}
			}
		}
	}
	g := b.Build()
	work := budget
	incomplete, found := false, false
	for _, c := range g.SCCs() {
		starts := startsOf(g, c, func(m graph.Mask) bool { return m.Has(RW) || m.Has(outOfReadOnly) })
		if len(starts) == 0 {
			continue
		}
		res := s.shortest(ctx, g, c, langGUpdate, starts, &work)
		if !res.Complete {
			incomplete = true
		}
		if res.Cycle != nil {
			cyc := &graph.Cycle{Nodes: res.Cycle.Nodes, Rels: make([]graph.Rel, len(res.Cycle.Rels))}
			for i, r := range res.Cycle.Rels {
				switch r {
				case intoReadOnly:
					r = WR
				case outOfReadOnly:
					r = RW
				}
				cyc.Rels[i] = r
			}
			s.a.Anomalies = append(s.a.Anomalies, s.explain(checker.GUpdate, cyc))
			found = true
		}
		if work <= 0 {
			incomplete = true
			break
		}
	}
	if incomplete && !found {
		why := "stopped at its work limit before trying every start"
		if ctx.Err() != nil {
			why = "was stopped: " + stopReason(ctx)
		}
		s.a.Incomplete[checker.GUpdate] = why
	}
}

// shortest searches comp of g for its shortest cycle in lang from starts
// (nil: anywhere) within the work left, which it spends and counts.
func (s *cycles) shortest(ctx context.Context, g *graph.Graph, comp []int32, lang *graph.Automaton, starts []int32, work *int64) graph.Search {
	res := g.ShortestCycle(ctx, comp, lang, starts, graph.Limits{Work: max(*work, 1)})
	*work -= res.Work
	s.a.Work += res.Work
	return res
}

// startsOf returns the vertices of comp with an edge out of them that
// edge accepts: where a cycle search that needs such an edge starts.
func startsOf(g *graph.Graph, comp []int32, edge func(graph.Mask) bool) []int32 {
	var out []int32
	for _, v := range comp {
		_, rs := g.Out(v)
		if slices.ContainsFunc(rs, edge) {
			out = append(out, v)
		}
	}
	return out
}
