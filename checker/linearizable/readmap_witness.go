package linearizable

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"consist/checker"
	"consist/history"
)

// KindLostUpdate: two cas took effect from the same value, which was
// written once; the second cannot have found it.
const KindLostUpdate = checker.LostCASUpdate

// witnessBudget is the memory the search that confirms a witness may use.
const witnessBudget = 64 << 20

// witnessSteps bounds the search that confirms a witness.
const witnessSteps = 1 << 20

// confirmed checks a contradiction before it is reported: its witness
// operations, closed under what they observed, must have no linearization
// on their own. Since every linearization of the object restricted to
// them would be one (the closure keeps each read's write, a cas whose
// write is left out is weakened to a plain write, and all of them are
// operations every linearization contains), that proves the object
// nonlinearizable.
func (rm *readMapping) confirmed(ctx context.Context, c *rmConflict, initial any) (rmDecision, error) {
	for _, f := range c.before {
		x, y := f[0], f[1]
		if x < 0 || y < 0 || int(y) == rm.n || rm.ret[x] >= rm.inv[y] {
			return rmDecision{}, fmt.Errorf("%w: a real-time fact of the witness does not hold", errUnconfirmed)
		}
	}
	ops := rm.witnessOps(c)
	in := make(map[int32]bool, len(ops))
	for _, i := range ops {
		in[i] = true
	}
	sp := &registerSpec{values: newInterner()}
	sp.initial = sp.values.id(initial)
	sub := make([]operation, len(ops))
	for k, i := range ops {
		op := rm.p.ops[i]
		sub[k] = operation{call: rm.inv[i], ret: rm.ret[i]}
		if w := rm.src[i]; rm.kind[i] == regCAS && w != rmNone && int(w) != rm.n && !in[w] {
			sp.kind = append(sp.kind, regWrite)
			sp.a = append(sp.a, sp.values.id(op.Input.([]any)[1]))
			sp.b = append(sp.b, 0)
			continue
		}
		sp.add(op)
	}
	o, err := search(ctx, sp, sub, &share{of: newBudget(witnessBudget)}, witnessSteps)
	switch {
	case err != nil && ctx.Err() != nil:
		return rmDecision{}, errTimeout
	case err != nil:
		return rmDecision{}, fmt.Errorf("%w: %w", errUnconfirmed, err)
	case o.ok:
		return rmDecision{}, fmt.Errorf("%w: the witness has a linearization", errUnconfirmed)
	}
	c.ops = ops
	return rmDecision{rm: rm, conflict: c}, nil
}

// witnessOps returns the operations that show c, in history order: those
// it names, the writes of the values they observed, and for each crashed
// operation one that observed its value, showing it took effect.
func (rm *readMapping) witnessOps(c *rmConflict) []int32 {
	set := map[int32]bool{}
	add := func(i int32) {
		if i >= 0 && int(i) != rm.n {
			set[i] = true
		}
	}
	switch c.shape {
	case shapeUnwritten:
		add(c.reader)
	case shapeFuture:
		add(c.reader)
		add(rm.src[c.reader])
	case shapeLostUpdate:
		add(c.reader)
		add(c.other)
		add(rm.src[c.reader])
	case shapeCASRing:
		for _, i := range c.ring {
			add(i)
		}
	case shapeOrder:
		for _, f := range c.before {
			add(f[0])
			add(f[1])
			add(rm.clusterOf(f[0]))
			add(rm.clusterOf(f[1]))
		}
		for _, i := range c.chain {
			add(i)
			add(rm.src[i])
		}
	}
	for i := range set {
		if !rm.ok[i] {
			add(rm.observer(i))
		}
	}
	for i := range set {
		if rm.kind[i] == regRead {
			add(rm.src[i])
		}
	}
	ops := make([]int32, 0, len(set))
	for i := range set {
		ops = append(ops, i)
	}
	slices.Sort(ops)
	return ops
}

// observer returns a kept operation that observed crashed operation i's
// value, preferring an ok one, or rmNone.
func (rm *readMapping) observer(i int32) int32 {
	best := rmNone
	for j := range rm.n {
		if rm.kept[j] && rm.reads(j) && rm.src[j] == i {
			if rm.ok[j] {
				return int32(j)
			}
			if best == rmNone {
				best = int32(j)
			}
		}
	}
	return best
}

// anomaly explains a confirmed contradiction in a sentence.
func (rm *readMapping) anomaly(h *history.History, c *rmConflict, initial any) checker.Anomaly {
	d := newDescriber(h, rm.p)
	e := rmExplainer{rm: rm, d: d, initial: initial}
	var a checker.Anomaly
	switch c.shape {
	case shapeUnwritten:
		a = e.unwritten(c)
	case shapeFuture:
		r := rm.p.ops[c.reader]
		v, _ := observed(r)
		a, _ = d.unwritten(r, v, []*history.Op{rm.p.ops[rm.src[c.reader]]})
	case shapeLostUpdate:
		a = e.lostUpdate(c)
	case shapeCASRing:
		a = e.ring(c)
	default:
		a = e.order(c)
	}
	for _, i := range c.ops {
		d.w.Add(rm.p.ops[i])
	}
	return d.w.Anomaly(a.Kind, rm.p.ops[c.ops[0]].Key, a.Sentence)
}

type rmExplainer struct {
	rm      *readMapping
	d       describer
	initial any
}

func (e rmExplainer) op(i int32) checker.Part { return e.d.op(e.rm.p.ops[i]) }

// value is the value cluster c's write wrote.
func (e rmExplainer) value(c int32) checker.Part {
	if int(c) == e.rm.n {
		return checker.Val(e.initial)
	}
	return checker.Val(mustWritten(e.rm.p.ops[c]))
}

func (e rmExplainer) key() string { return e.d.object(e.rm.p.ops[0].Key) }

// found is the subject of a sentence about operation i observing a value:
// a read that returned it, a cas that found it.
func (e rmExplainer) found(i int32) checker.Phrase {
	op := e.rm.p.ops[i]
	v, _ := observed(op)
	if op.Type == history.OK {
		return checker.Say("%s%s", e.d.saw(op, v), e.d.during(op))
	}
	return checker.Say("%s took effect, as %s shows, so it found %s", e.op(i), e.op(e.rm.observer(i)), checker.Val(v))
}

// tookEffect explains why crashed operation i counts.
func (e rmExplainer) tookEffect(i int32) checker.Phrase {
	if e.rm.ok[i] {
		return nil
	}
	o := e.rm.observer(i)
	if o == rmNone {
		return nil
	}
	return checker.Say(" (it crashed, but %s observed %s, so it took effect)", e.op(o), checker.Val(mustWritten(e.rm.p.ops[i])))
}

func (e rmExplainer) unwritten(c *rmConflict) checker.Anomaly {
	r := e.rm.p.ops[c.reader]
	v, _ := observed(r)
	if r.Type == history.OK {
		a, _ := e.d.unwritten(r, v, nil)
		return a
	}
	return checker.Anomaly{Kind: KindUnwrittenRead, Sentence: checker.Say("%s, but nothing ever wrote %s to %s: the store returned a value it did not hold.",
		e.found(c.reader), checker.Val(v), e.key())}
}

func (e rmExplainer) lostUpdate(c *rmConflict) checker.Anomaly {
	w := e.rm.src[c.reader]
	a := e.value(w)
	first, second := checker.Say("%s%s", e.op(c.reader), e.tookEffect(c.reader)), checker.Say("%s%s", e.op(c.other), e.tookEffect(c.other))
	var origin checker.Phrase
	if int(w) == e.rm.n {
		origin = checker.Say("%s held %s only initially", e.key(), a)
	} else {
		origin = checker.Say("only %s wrote %s", e.op(w), a)
	}
	return checker.Anomaly{Kind: KindLostUpdate, Sentence: checker.Say("%s and %s both took effect, so both found %s, but %s, and once either cas had replaced it nothing could write %s again: one update was lost.",
		first, second, a, origin, a)}
}

func (e rmExplainer) ring(c *rmConflict) checker.Anomaly {
	if len(c.ring) == 1 {
		i := c.ring[0]
		return checker.Anomaly{Kind: KindNonlinearizable, Sentence: checker.Say("%s%s found %s, which only it wrote: it cannot have found its own value before writing it.",
			e.op(i), e.tookEffect(i), e.value(i))}
	}
	names := make([]checker.Phrase, len(c.ring))
	for k, i := range c.ring {
		names[k] = checker.Say("%s%s", e.op(i), e.tookEffect(i))
	}
	return checker.Anomaly{Kind: KindNonlinearizable, Sentence: checker.Say("The cas operations %s each found the value the one before wrote, the first the value the last wrote, so whichever took effect first found a value not yet written.",
		checker.Join(names, "; "))}
}

// clause states a real-time fact: x completed before y began.
func (e rmExplainer) clause(f [2]int32) checker.Phrase {
	x, y := f[0], f[1]
	if int(x) == e.rm.n {
		return checker.Say("%s was the initial value", e.value(x))
	}
	xp := e.op(x)
	e.d.w.Link(e.rm.p.ops[x], checker.Realtime)
	return checker.Say("%s completed%s before %s began", xp, e.d.at(e.rm.p.ops[x].Complete), e.op(y))
}

// chainClause explains the cas an order conflict relies on.
func (e rmExplainer) chainClause(chain []int32) checker.Phrase {
	if len(chain) == 0 {
		return nil
	}
	names := make([]checker.Phrase, len(chain))
	for k, i := range chain {
		names[k] = checker.Say("%s%s", e.op(i), e.tookEffect(i))
	}
	if len(chain) == 1 {
		return checker.Say("; and %s found %s and wrote %s, so %s came right after %s", names[0], e.value(e.rm.src[chain[0]]), e.value(chain[0]), e.value(chain[0]), e.value(e.rm.src[chain[0]]))
	}
	return checker.Say("; and %s each found the value the one before wrote, so %s to %s follow one another", checker.Join(names, ", "), e.value(e.rm.src[chain[0]]), e.value(chain[len(chain)-1]))
}

// order explains clusters that must each come before the other. With one
// real-time fact, it contradicts the order of a cas chain; with two, they
// contradict each other. When the operation that began late in one fact
// is a read, the violation reads as a stale read.
func (e rmExplainer) order(c *rmConflict) checker.Anomaly {
	rm := e.rm
	chain := e.chainClause(c.chain)
	for k, f := range c.before {
		x, y := f[0], f[1]
		if rm.kind[y] == regWrite || int(x) == rm.n {
			continue
		}
		// y observed a, and b, which came after a, was in place before y
		// began.
		a, b := rm.src[y], rm.clusterOf(x)
		links := e.chainClause(slices.DeleteFunc(slices.Clone(c.chain), func(i int32) bool { return i == y }))
		var why checker.Phrase
		if len(c.before) == 2 {
			why = checker.Say("%s%s", e.clause(c.before[1-k]), links)
		} else {
			why = trimAnd(links)
		}
		if len(why) == 0 {
			continue
		}
		sentence := checker.Say("%s, but %s had replaced %s before it began: %s had completed%s before then, and %s held %s after %s, since %s. The value was stale.",
			e.found(y), e.value(b), e.value(a), e.op(x), e.d.at(rm.p.ops[x].Complete), e.key(), e.value(b), e.value(a), why)
		// The chain: the other real-time fact, then x completed before
		// the read y began.
		var chain []*history.Op
		if len(c.before) == 2 {
			if o := c.before[1-k]; int(o[0]) != rm.n && o[0] >= 0 && o[1] >= 0 && int(o[1]) != rm.n {
				chain = append(chain, rm.p.ops[o[0]], rm.p.ops[o[1]])
			}
		}
		e.d.w.Order(append(chain, rm.p.ops[x], rm.p.ops[y])...)
		e.d.w.Link(rm.p.ops[x], checker.Realtime)
		return checker.Anomaly{Kind: KindStaleRead, Sentence: sentence}
	}
	facts := make([]checker.Phrase, len(c.before))
	for k, f := range c.before {
		facts[k] = checker.Say("%s, so %s held %s before %s", e.clause(f), e.key(), e.value(rm.clusterOf(f[0])), e.value(rm.clusterOf(f[1])))
	}
	return checker.Anomaly{Kind: KindNonlinearizable, Sentence: checker.Say("No order of the writes to %s is consistent with real time: %s%s.",
		e.key(), checker.Join(facts, "; yet "), chain)}
}

// trimAnd drops the "; and " a chain clause starts with.
func trimAnd(p checker.Phrase) checker.Phrase {
	if len(p) > 0 && p[0].Step == 0 && !p[0].IsVal {
		p = append(checker.Phrase{{Text: strings.TrimPrefix(p[0].Text, "; and ")}}, p[1:]...)
	}
	return p
}
