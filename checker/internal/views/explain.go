package views

import (
	"fmt"
	"strings"

	"consist/checker/internal/reghist"
)

// Explain renders v as the operations that show it and one sentence
// ending in consequence, e.g. "the effect was visible without its cause
// (writes-follow-reads)".
func (c *Checker) Explain(v *Violation, consequence string) ([]int64, string) {
	h := c.h
	ops := append([]int32(nil), v.Path...)
	var b strings.Builder
	b.WriteString(h.Describe(v.Path[0]))
	steps := len(v.Path) - 1
	if v.Cycle {
		steps = len(v.Path)
	}
	for i := 0; i < steps; i++ {
		from, to := v.Path[i], v.Path[(i+1)%len(v.Path)]
		r, forced := v.Because[Edge{from, to}]
		if !forced {
			b.WriteString(c.link(from, to))
			continue
		}
		// from → to because r read to while from was visible to it.
		seen := c.Ancestry(v.Viewer, from, r, Edge{from, to})
		ops = append(ops, r)
		ops = append(ops, seen...)
		b.WriteString("; yet ")
		b.WriteString(h.Describe(r))
		b.WriteString(" after ")
		if len(seen) > 2 {
			b.WriteString(c.chain(seen[1:len(seen)-1], from))
		} else {
			b.WriteString(h.Describe(from))
		}
		fmt.Fprintf(&b, ", so %s must be newer than %s", c.written(to), c.written(from))
		if i+1 < steps {
			b.WriteString("; and ")
			b.WriteString(h.Describe(to))
		}
	}
	if v.Cycle {
		b.WriteString(" — a contradiction")
	}
	b.WriteString(": ")
	b.WriteString(consequence)
	return h.Indices(ops...), b.String()
}

// written renders the write an operation made, "x=1".
func (c *Checker) written(op int32) string {
	o := &c.h.Ops[op]
	return reghist.Assign(c.h.Keys[o.Key], o.Written)
}

// chain renders the operations of a path after its first, prev.
func (c *Checker) chain(path []int32, prev int32) string {
	var b strings.Builder
	for i, op := range path {
		s := c.link(prev, op)
		if i == 0 {
			s = c.h.Describe(op)
		}
		b.WriteString(s)
		prev = op
	}
	return b.String()
}

// link renders the step from one operation to the next.
func (c *Checker) link(from, to int32) string {
	h := c.h
	t := &h.Ops[to]
	switch {
	case t.Reader() && t.Reads == from:
		return ", " + h.Describe(to)
	case h.Ops[from].Process == t.Process:
		return ", then " + h.Describe(to)
	}
	return ", before " + h.Describe(to)
}
