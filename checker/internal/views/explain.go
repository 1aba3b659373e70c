package views

import (
	"consist/checker"
	"consist/checker/internal/reghist"
)

// Explain renders v as a witness: the operations that show it, each
// linked to the next by its relation (reads-from, session order, or the
// visibility order a read forces), and one sentence ending in
// consequence, e.g. "the effect was visible without its cause
// (writes-follow-reads)". w collects the steps.
func (c *Checker) Explain(w *checker.Witness, v *Violation, consequence checker.Phrase) checker.Phrase {
	h := c.h
	steps := len(v.Path) - 1
	if v.Cycle {
		steps = len(v.Path)
	}
	// A forced edge is shown by the chain that made its write visible to
	// its read; that chain may rest on edges forced earlier, which are
	// shown first, earliest first, so that each step rests only on what
	// went before it.
	var before []Edge
	shown := map[Edge]bool{}
	var need func(e Edge)
	need = func(e Edge) {
		if shown[e] {
			return
		}
		shown[e] = true
		seen := c.Ancestry(v.Viewer, e.From, c.because[e], e)
		for i := 0; i+1 < len(seen); i++ {
			if f := (Edge{seen[i], seen[i+1]}); c.isForced(f) {
				need(f)
			}
		}
		before = append(before, e)
	}
	for i := 0; i < steps; i++ {
		if e := (Edge{v.Path[i], v.Path[(i+1)%len(v.Path)]}); c.forced(v, e) {
			shown[e] = true
		}
	}
	for i := 0; i < steps; i++ {
		e := Edge{v.Path[i], v.Path[(i+1)%len(v.Path)]}
		if r, ok := v.Because[e]; ok {
			seen := c.Ancestry(v.Viewer, e.From, r, e)
			for j := 0; j+1 < len(seen); j++ {
				if f := (Edge{seen[j], seen[j+1]}); c.isForced(f) {
					need(f)
				}
			}
		}
	}
	var b checker.Phrase
	for _, e := range before {
		b = checker.Say("%s%s; ", b, c.forcedBy(w, v.Viewer, e, c.because[e]))
	}
	if len(before) > 0 {
		b = checker.Say("%sthen: ", b)
	}
	b = checker.Say("%s%s", b, h.Describe(w, v.Path[0]))
	for i := 0; i < steps; i++ {
		from, to := v.Path[i], v.Path[(i+1)%len(v.Path)]
		r, forced := v.Because[Edge{from, to}]
		if !forced {
			b = checker.Say("%s%s", b, c.link(w, from, to))
			continue
		}
		b = checker.Say("%s; yet %s", b, c.forcedBy(w, v.Viewer, Edge{from, to}, r))
		if i+1 < steps {
			b = checker.Say("%s; and %s", b, h.Describe(w, to))
		}
	}
	if v.Cycle {
		b = checker.Say("%s — a contradiction", b)
	}
	return checker.Say("%s: %s", b, consequence)
}

// forced reports whether v names a read that forced edge e.
func (c *Checker) forced(v *Violation, e Edge) bool {
	_, ok := v.Because[e]
	return ok
}

// isForced reports whether the last check forced edge e.
func (c *Checker) isForced(e Edge) bool {
	_, ok := c.because[e]
	return ok
}

// forcedBy says why edge e (from → to) holds in p's view: r read to
// after from, "process 0 read x=2 (…) after process 1 wrote x=1 (…),
// then …, so x=2 must be newer than x=1".
func (c *Checker) forcedBy(w *checker.Witness, p int32, e Edge, r int32) checker.Phrase {
	h := c.h
	w.Link(h.Ops[e.From].Src, checker.Visibility)
	seen := c.Ancestry(p, e.From, r, e)
	var after checker.Phrase
	if len(seen) > 1 {
		after = c.chain(w, seen[:len(seen)-1], e.From)
	} else {
		after = h.Describe(w, e.From)
	}
	w.Add(h.Ops[r].Src)
	for _, s := range seen {
		w.Add(h.Ops[s].Src)
	}
	return checker.Say("%s after %s, so %s must be newer than %s", h.Describe(w, r), after, c.written(e.To), c.written(e.From))
}

// written renders the write an operation made, "key x=1".
func (c *Checker) written(op int32) checker.Phrase {
	o := &c.h.Ops[op]
	return reghist.Assign(c.h.Keys[o.Key], o.Written)
}

// chain renders the operations of a path after its first, prev.
func (c *Checker) chain(w *checker.Witness, path []int32, prev int32) checker.Phrase {
	var b checker.Phrase
	for i, op := range path {
		s := c.link(w, prev, op)
		if i == 0 {
			s = c.h.Describe(w, op)
		}
		b = checker.Say("%s%s", b, s)
		prev = op
	}
	return b
}

// link renders the step from one operation to the next and records its
// relation.
func (c *Checker) link(w *checker.Witness, from, to int32) checker.Phrase {
	h := c.h
	t := &h.Ops[to]
	src := h.Ops[from].Src
	switch {
	case t.Reader() && t.Reads == from:
		w.Link(src, checker.WR)
		return checker.Say(", %s", h.Describe(w, to))
	case h.Ops[from].Process == t.Process:
		w.Link(src, checker.ProcessOrder)
		return checker.Say(", then %s", h.Describe(w, to))
	}
	w.Link(src, checker.Visibility)
	return checker.Say(", before %s", h.Describe(w, to))
}
