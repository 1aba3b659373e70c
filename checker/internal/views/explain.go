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
	b := h.Describe(w, v.Path[0])
	steps := len(v.Path) - 1
	if v.Cycle {
		steps = len(v.Path)
	}
	for i := 0; i < steps; i++ {
		from, to := v.Path[i], v.Path[(i+1)%len(v.Path)]
		r, forced := v.Because[Edge{from, to}]
		if !forced {
			b = checker.Say("%s%s", b, c.link(w, from, to))
			continue
		}
		// from → to because r read to while from was visible to it.
		w.Link(h.Ops[from].Src, checker.Visibility)
		seen := c.Ancestry(v.Viewer, from, r, Edge{from, to})
		var after checker.Phrase
		if len(seen) > 2 {
			after = c.chain(w, seen[1:len(seen)-1], from)
		} else {
			after = h.Describe(w, from)
		}
		b = checker.Say("%s; yet %s after %s, so %s must be newer than %s", b, h.Describe(w, r), after, c.written(to), c.written(from))
		if i+1 < steps {
			b = checker.Say("%s; and %s", b, h.Describe(w, to))
		}
		w.Add(h.Ops[r].Src)
		for _, s := range seen {
			w.Add(h.Ops[s].Src)
		}
	}
	if v.Cycle {
		b = checker.Say("%s — a contradiction", b)
	}
	return checker.Say("%s: %s", b, consequence)
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
