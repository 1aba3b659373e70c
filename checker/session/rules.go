package session

import "consist/checker/internal/reghist"

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

// writeRules: the viewer's reads in session order, every process's writes
// in theirs.
type writeRules struct {
	r  *reghist.History
	ch reghist.Chains
}

func (x writeRules) Preds(own bool, op int32, buf []int32) []int32 {
	o := &x.r.Ops[op]
	if o.Writer() {
		buf = appendOp(x.ch.PrevWrite[op], buf)
	}
	if own && o.Reader() {
		buf = appendRead(x.r, op, appendOp(x.ch.PrevRead[op], buf))
	}
	return buf
}

func (x writeRules) Ordered(op int32) bool { return x.r.Ops[op].Reader() }

// followRules: every process's reads form a chain that each later write
// of the process follows, and each read follows the write it saw; only
// the viewer's reads are checked.
type followRules struct {
	r  *reghist.History
	ch reghist.Chains
}

func (x followRules) Preds(_ bool, op int32, buf []int32) []int32 {
	buf = appendOp(x.ch.PrevRead[op], buf)
	if x.r.Ops[op].Reader() {
		buf = appendRead(x.r, op, buf)
	}
	return buf
}

func (x followRules) Ordered(op int32) bool { return x.r.Ops[op].Reader() }
