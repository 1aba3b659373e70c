package session

import (
	"consist/checker/internal/reghist"
	"consist/checker/internal/views"
)

// appendRead appends the write op read, when it read one.
func appendRead(r *reghist.History, op int32, buf []int32) []int32 {
	if w := r.Ops[op].Reads; w >= 0 {
		buf = append(buf, w)
	}
	return buf
}

func appendOp(op int32, buf []int32) []int32 {
	if op != reghist.None {
		buf = append(buf, op)
	}
	return buf
}

// pramRules: the viewer's operations in session order; other processes'
// writes in theirs.
type pramRules struct {
	r  *reghist.History
	ch reghist.Chains
}

func (x pramRules) Preds(own bool, op int32, buf []int32) []int32 {
	o := &x.r.Ops[op]
	if !own {
		return appendOp(x.ch.PrevWrite[op], buf)
	}
	buf = appendOp(x.ch.PrevOp[op], buf)
	if o.Reader() {
		buf = appendRead(x.r, op, buf)
	}
	return buf
}

func (pramRules) Ordered(int32) bool { return true }

// readRules: the viewer's reads in session order.
type readRules struct {
	r  *reghist.History
	ch reghist.Chains
}

func (x readRules) Preds(own bool, op int32, buf []int32) []int32 {
	o := &x.r.Ops[op]
	if !own || !o.Reader() {
		return buf
	}
	return appendRead(x.r, op, appendOp(x.ch.PrevRead[op], buf))
}

func (x readRules) Ordered(op int32) bool { return x.r.Ops[op].Reader() }

// writeRules (monotonic-writes): every process's writes in its session
// order. Of the viewer's operations only its cas are placed, each at its
// point after the viewer's earlier writes and after the write it read;
// the viewer's plain reads are free (any state of the view serves them).
type writeRules struct {
	r  *reghist.History
	ch reghist.Chains
}

func (x writeRules) Preds(own bool, op int32, buf []int32) []int32 {
	o := &x.r.Ops[op]
	if o.Writer() {
		buf = appendOp(x.ch.PrevWrite[op], buf)
	}
	if own && o.Reader() && o.Writer() {
		buf = appendRead(x.r, op, buf)
	}
	return buf
}

func (x writeRules) Ordered(op int32) bool { return isCAS(x.r, op) }

// followRules (writes-follow-reads): for every process q, the write each
// read of q saw precedes each later write of q. A plain read of q is the
// ordering point that carries this to q's later writes: it follows the
// write it saw and q's previous reads. A cas of q is a write, and nothing
// orders it before q's later writes, so the chain steps over it to the
// write it saw. The viewer's cas are placed and checked at their point,
// in the order the viewer issued them; its plain reads, like every other
// process's, are only ordering points.
type followRules struct {
	r       *reghist.History
	ch      reghist.Chains
	prevCAS []int32
}

func (x followRules) Preds(own bool, op int32, buf []int32) []int32 {
	for b := x.ch.PrevRead[op]; b != reghist.None; b = x.ch.PrevRead[b] {
		if !x.r.Ops[b].Writer() {
			buf = append(buf, b) // a plain read, which carries the rest
			break
		}
		buf = appendRead(x.r, b, buf)
	}
	o := &x.r.Ops[op]
	if own && o.Reader() && o.Writer() {
		buf = appendOp(x.prevCAS[op], buf)
	}
	if o.Reader() && (own || !o.Writer()) {
		buf = appendRead(x.r, op, buf)
	}
	return buf
}

func (x followRules) Ordered(op int32) bool { return isCAS(x.r, op) }

// prevCAS gives each operation the latest cas before it in its session
// (or, byKey, among the session's operations on its key), or None.
func prevCAS(r *reghist.History, byKey bool) []int32 {
	out := make([]int32, len(r.Ops))
	last := make([]int32, len(r.Keys))
	for _, ops := range r.Sessions {
		for k := range last {
			last[k] = reghist.None
		}
		whole := reghist.None
		for _, op := range ops {
			l := &whole
			if byKey {
				l = &last[r.Ops[op].Key]
			}
			out[op] = *l
			if isCAS(r, op) {
				*l = op
			}
		}
	}
	return out
}

// writeCycle returns a cycle of the ordering every view shares under
// rules (each operation must precede the next, the last the first), or
// nil: such a cycle leaves no process a view, whatever it read.
func writeCycle(r *reghist.History, rules views.Rules) []int32 {
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, len(r.Ops))
	type frame struct {
		op    int32
		preds []int32
		next  int
	}
	for root := range r.Ops {
		if color[root] != white {
			continue
		}
		stack := []frame{{op: int32(root), preds: rules.Preds(false, int32(root), nil)}}
		color[root] = grey
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next == len(f.preds) {
				color[f.op] = black
				stack = stack[:len(stack)-1]
				continue
			}
			pred := f.preds[f.next]
			f.next++
			switch color[pred] {
			case white:
				color[pred] = grey
				stack = append(stack, frame{op: pred, preds: rules.Preds(false, pred, nil)})
			case grey:
				// Each frame's op is preceded by the next frame's, and the
				// top's by pred: from the top down to pred, each precedes
				// the next, and pred the top.
				var cyc []int32
				for i := len(stack) - 1; i >= 0; i-- {
					cyc = append(cyc, stack[i].op)
					if stack[i].op == pred {
						break
					}
				}
				return cyc
			}
		}
	}
	return nil
}

// isCAS reports whether op reads and writes at one point.
func isCAS(r *reghist.History, op int32) bool {
	o := &r.Ops[op]
	return o.Reader() && o.Writer()
}
