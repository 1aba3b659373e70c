// Package views decides whether each process of a register history with
// unique writes has a legal view: a total order of every write and the
// process's own operations, respecting a model's ordering rules, in which
// each of the process's reads returns the last write to its key before it.
// PRAM, causal memory and the session guarantees are all of this form
// (Lipton & Sandberg 1988; Ahamad et al. 1995; Brzezinski, Sobaniec &
// Wawrzyniak 2003), differing only in the rules.
//
// The algorithm builds the view lazily, saturating as it goes. The
// viewer's ordered operations are placed in session order; placing one
// first places everything that must precede it (its ancestors under the
// rules), depth first. Two facts make every conclusion a proof:
//
//   - everything placed before a read r is an ancestor of r, so if r read
//     the initial value of x while some write of x is placed, no view has r
//     legal;
//   - if r read w but writes w1…wk of its key were placed after w, each wi
//     is an ancestor of r, and in every legal view must precede w: the edge
//     wi → w is added and the construction starts over.
//
// Edges are only ever added when every legal view has them, so a cycle is
// a proof of invalidity; a construction that completes is a legal view, a
// proof of validity. Each round adds at least one edge, so the rounds end.
// In the common case one or two rounds suffice, each linear in the size of
// the view.
package views

import (
	"context"
	"errors"
	"fmt"

	"consist/checker/internal/reghist"
)

// Rules are a model's ordering constraints on a view.
type Rules interface {
	// Preds appends to buf the operations that must precede op in
	// viewer's view; for an operation that reads and belongs to the
	// viewer, the write it read should come last.
	Preds(viewer, op int32, buf []int32) []int32
	// Ordered reports whether op, one of the viewer's operations, is
	// placed in session order (and so drives the construction). The
	// viewer's reads must all be ordered.
	Ordered(op int32) bool
}

// Violation is a proof that a process has no legal view.
type Violation struct {
	// Viewer is the process whose view is impossible.
	Viewer int32
	// Cycle is true when the rules and the reads force a cycle: Path then
	// lists operations each of which must precede the next, and the last
	// must precede the first. Otherwise Path runs from a write to a read
	// of the initial value of its key that the write must precede.
	Cycle bool
	Path  []int32
	// Because names, for every edge forced by a read, that read: the edge
	// a → b is there because Because[Edge{a, b}] read b while a was
	// already visible to it.
	Because map[Edge]int32
}

// Edge is an ordering a → b.
type Edge struct{ From, To int32 }

// Reason words an error of Check or View as the reason of an Unknown
// verdict.
func Reason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "the check was stopped before it finished (" + err.Error() + "); give it a longer --timeout"
	}
	return err.Error()
}

// Checker checks the views of one history under one set of rules.
type Checker struct {
	h     *reghist.History
	rules Rules

	placedIn []uint32
	onStack  []uint32
	keyPos   []int32
	epoch    uint32
	cur      []int32
	seq      [][]int32
	extra    map[int32][]int32
	because  map[Edge]int32
	frames   []frame
	arena    []int32
	work     int64
}

type frame struct {
	op         int32
	start, end int32 // its predecessors, in arena
	next       int32
}

// New prepares a checker of h's views under rules.
func New(h *reghist.History, rules Rules) *Checker {
	n := len(h.Ops)
	return &Checker{h: h, rules: rules,
		placedIn: make([]uint32, n), onStack: make([]uint32, n), keyPos: make([]int32, n),
		cur: make([]int32, len(h.Keys)), seq: make([][]int32, len(h.Keys))}
}

// Check returns the first process without a legal view, or nil when
// every process has one.
func (c *Checker) Check(ctx context.Context) (*Violation, error) {
	for p := range c.h.Sessions {
		v, err := c.View(ctx, int32(p))
		if v != nil || err != nil {
			return v, err
		}
	}
	return nil, nil
}

// View decides whether process p has a legal view.
func (c *Checker) View(ctx context.Context, p int32) (*Violation, error) {
	c.extra, c.because = map[int32][]int32{}, map[Edge]int32{}
	for round := 0; ; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c.epoch++
		for k := range c.cur {
			c.cur[k], c.seq[k] = reghist.Initial, c.seq[k][:0]
		}
		forced := false
		for _, op := range c.h.Sessions[p] {
			if !c.rules.Ordered(op) || c.placedIn[op] == c.epoch {
				continue
			}
			v, f, err := c.place(ctx, p, op)
			if v != nil || err != nil {
				return v, err
			}
			forced = forced || f
		}
		if !forced {
			return nil, nil
		}
	}
}

// place places op and its unplaced ancestors, depth first. It reports a
// violation, or whether it forced new edges.
func (c *Checker) place(ctx context.Context, p, root int32) (*Violation, bool, error) {
	forced := false
	c.frames, c.arena = c.frames[:0], c.arena[:0]
	c.push(p, root)
	for len(c.frames) > 0 {
		f := &c.frames[len(c.frames)-1]
		if f.next < f.end {
			pred := c.arena[f.next]
			f.next++
			if c.placedIn[pred] == c.epoch {
				continue
			}
			if c.onStack[pred] == c.epoch {
				return c.cycle(p, f.op, pred), false, nil
			}
			c.push(p, pred)
			continue
		}
		op := f.op
		c.arena = c.arena[:f.start]
		c.frames = c.frames[:len(c.frames)-1]
		c.onStack[op] = 0
		c.placedIn[op] = c.epoch
		c.work++
		if c.work&0xffff == 0 && ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		o := &c.h.Ops[op]
		if o.Process == p && o.Reader() {
			k := o.Key
			switch {
			case o.Reads == reghist.Initial && c.cur[k] != reghist.Initial:
				return c.initialRead(p, c.cur[k], op), false, nil
			case o.Reads != reghist.Initial && c.cur[k] != o.Reads:
				w := o.Reads
				if c.placedIn[w] != c.epoch {
					return nil, false, fmt.Errorf("views: rules did not place the write %d read by %d before it", w, op)
				}
				for _, later := range c.seq[k][c.keyPos[w]+1:] {
					e := Edge{later, w}
					if _, dup := c.because[e]; !dup {
						c.because[e] = op
						c.extra[w] = append(c.extra[w], later)
						forced = true
					}
				}
			}
		}
		if o.Writer() {
			k := o.Key
			c.keyPos[op] = int32(len(c.seq[k]))
			c.seq[k] = append(c.seq[k], op)
			c.cur[k] = op
		}
	}
	return nil, forced, nil
}

func (c *Checker) push(p, op int32) {
	start := int32(len(c.arena))
	c.arena = append(c.arena, c.extra[op]...)
	c.arena = c.rules.Preds(p, op, c.arena)
	c.onStack[op] = c.epoch
	c.frames = append(c.frames, frame{op: op, start: start, end: int32(len(c.arena)), next: start})
}

// preds returns every operation that must precede op in p's view, forced
// edges included.
func (c *Checker) preds(p, op int32, buf []int32) []int32 {
	buf = append(buf, c.extra[op]...)
	return c.rules.Preds(p, op, buf)
}

// path returns a shortest chain of operations from -> … -> to, each
// preceding the next, or nil. It does not use the edge avoid.
func (c *Checker) path(p, from, to int32, avoid Edge) []int32 {
	if from == to {
		return []int32{to}
	}
	parent := map[int32]int32{to: reghist.None}
	queue := []int32{to}
	var buf []int32
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		buf = c.preds(p, x, buf[:0])
		for _, y := range buf {
			if _, seen := parent[y]; seen || (Edge{y, x}) == avoid {
				continue
			}
			parent[y] = x
			if y == from {
				var out []int32
				for z := from; z != reghist.None; z = parent[z] {
					out = append(out, z)
				}
				return out
			}
			queue = append(queue, y)
		}
	}
	return nil
}

func (c *Checker) initialRead(p, w, r int32) *Violation {
	return c.violation(p, false, c.path(p, w, r, Edge{}))
}

// cycle reports the cycle closed by the edge pred -> op, where pred is
// already an ancestor of op's descendants on the stack.
func (c *Checker) cycle(p, op, pred int32) *Violation {
	// op must follow pred; pred must (through the stack) follow op.
	back := c.path(p, op, pred, Edge{})
	if back == nil {
		back = []int32{op, pred}
	}
	return c.violation(p, true, back)
}

func (c *Checker) violation(p int32, cycle bool, path []int32) *Violation {
	v := &Violation{Viewer: p, Cycle: cycle, Path: path, Because: map[Edge]int32{}}
	edges := len(path) - 1
	if cycle {
		edges = len(path)
	}
	for i := 0; i < edges; i++ {
		e := Edge{path[i], path[(i+1)%len(path)]}
		if r, ok := c.because[e]; ok {
			v.Because[e] = r
		}
	}
	return v
}

// Ancestry returns a shortest chain from one operation to another in p's
// view, under the edges the last check forced but without the edge avoid;
// explanations use it to show why a forced edge holds.
func (c *Checker) Ancestry(p, from, to int32, avoid Edge) []int32 {
	return c.path(p, from, to, avoid)
}
