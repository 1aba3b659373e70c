package linearizable

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/history"
)

// The kinds of anomaly this checker reports.
const (
	// KindStaleRead: a read (or cas) saw a value that a completed write
	// had already replaced, with no later write of that value.
	KindStaleRead = "stale-read"
	// KindUnwrittenRead: a read (or cas) saw a value nothing could have
	// written before it completed.
	KindUnwrittenRead = "unwritten-read"
	// KindNonlinearizable: no order of the operations explains the
	// failing one; the witness is the search's furthest point.
	KindNonlinearizable = "nonlinearizable"
)

// explain turns a failed search into an anomaly: the operation no
// linearization gets past, and the fewest operations that show why. For
// registers it looks for the two patterns that prove a violation with two
// or three operations (a stale read, a read of a value nothing wrote in
// time); otherwise it reports the search's furthest configuration.
func explain(h *history.History, obj object, p *partition, po partitionOutcome, initial any) checker.Anomaly {
	o := po.outcome
	failing := p.ops[o.blocker]
	d := describer{h: h, p: p}
	if obj == register {
		if a, ok := d.registerWitness(failing, initial); ok {
			return a
		}
	}
	return d.furthest(obj, po.spec, failing, o)
}

type describer struct {
	h *history.History
	p *partition
}

// observed returns the value an ok read or cas saw.
func observed(op *history.Op) (any, bool) {
	switch op.F {
	case "read":
		return op.Output, true
	case "cas":
		return op.Input.([]any)[0], true
	}
	return nil, false
}

// written returns the value a write or cas would leave.
func written(op *history.Op) (any, bool) {
	switch op.F {
	case "write":
		return op.Input, true
	case "cas":
		return op.Input.([]any)[1], true
	}
	return nil, false
}

func retPos(op *history.Op) int {
	if op.Type == history.OK {
		return op.Complete
	}
	return never
}

func (d describer) registerWitness(f *history.Op, initial any) (checker.Anomaly, bool) {
	v, ok := observed(f)
	if !ok {
		return checker.Anomaly{}, false
	}
	var writers []*history.Op // writes of v that may have taken effect
	for _, op := range d.p.ops {
		if w, ok := written(op); ok && op != f && history.Equal(w, v) {
			writers = append(writers, op)
		}
	}
	initialV := history.Equal(initial, v)
	if !initialV {
		if a, ok := d.unwritten(f, v, writers); ok {
			return a, true
		}
	}
	return d.stale(f, v, writers, initialV)
}

// unwritten finds a read of v that completed before any write of v began.
func (d describer) unwritten(f *history.Op, v any, writers []*history.Op) (checker.Anomaly, bool) {
	var first *history.Op
	for _, w := range writers {
		if w.Invoke < f.Complete {
			return checker.Anomaly{}, false
		}
		if first == nil || w.Invoke < first.Invoke {
			first = w
		}
	}
	a := checker.Anomaly{Kind: KindUnwrittenRead, Key: f.Key, Ops: []int64{d.h.OpIndex(f)}}
	var why string
	if first != nil {
		a.Ops = append(a.Ops, d.h.OpIndex(first))
		why = fmt.Sprintf("the first write of %s, %s, began only after the read completed", history.Describe(v), d.op(first))
	} else {
		why = fmt.Sprintf("nothing ever wrote %s to %s", history.Describe(v), d.object(f.Key))
		if failed := d.failedWrites(f.Key, v); len(failed) > 0 {
			why += fmt.Sprintf(" (%s failed, so it never took effect)", d.op(failed[0]))
			a.Ops = append(a.Ops, d.h.OpIndex(failed[0]))
		}
	}
	a.Explanation = fmt.Sprintf("%s%s, but %s: the store returned a value it did not hold.", d.saw(f, v), d.during(f), why)
	sortOps(a.Ops)
	return a, true
}

// stale finds a write of another value that completed before the read
// began and began after every write of v completed: in any linearization
// it falls between the last write of v and the read.
func (d describer) stale(f *history.Op, v any, writers []*history.Op, initialV bool) (checker.Anomaly, bool) {
	lastV := -1 // latest return of a write of v
	var lastWriter *history.Op
	for _, w := range writers {
		if r := retPos(w); r > lastV {
			lastV, lastWriter = r, w
		}
	}
	var over *history.Op
	for _, op := range d.p.ops {
		u, ok := written(op)
		if !ok || op.Type != history.OK || history.Equal(u, v) || op == f {
			continue
		}
		if op.Complete < f.Invoke && op.Invoke > lastV && (over == nil || op.Complete > over.Complete) {
			over = op
		}
	}
	if over == nil || (lastWriter == nil && !initialV) {
		return checker.Anomaly{}, false
	}
	a := checker.Anomaly{Kind: KindStaleRead, Key: f.Key, Ops: []int64{d.h.OpIndex(over), d.h.OpIndex(f)}}
	var since string
	if lastWriter != nil {
		a.Ops = append(a.Ops, d.h.OpIndex(lastWriter))
		since = fmt.Sprintf("the last write of %s, %s, had completed before the write of %s began", history.Describe(v), d.op(lastWriter), history.Describe(mustWritten(over)))
	} else {
		since = fmt.Sprintf("%s held %s only initially", d.object(f.Key), history.Describe(v))
	}
	a.Explanation = fmt.Sprintf("%s%s, but %s had completed%s before it began, and nothing wrote %s after that (%s): the value was stale.",
		d.saw(f, v), d.during(f), d.op(over), d.at(over.Complete), history.Describe(v), since)
	sortOps(a.Ops)
	return a, true
}

// furthest explains a failure by the search's furthest configuration: how
// many operations some order can explain, the state it reaches, and the
// operations that were pending beside the one that cannot be placed.
func (d describer) furthest(obj object, sp spec, f *history.Op, o outcome) checker.Anomaly {
	a := checker.Anomaly{Kind: KindNonlinearizable, Key: f.Key, Ops: []int64{d.h.OpIndex(f)}}
	var last string
	if n := len(o.prefix); n > 0 {
		prev := d.p.ops[o.prefix[n-1]]
		a.Ops = append(a.Ops, d.h.OpIndex(prev))
		last = fmt.Sprintf(", the last of them %s", d.op(prev))
	}
	var concurrent []string
	for i, op := range d.p.ops {
		if op == f || slices.Contains(o.prefix, i) || op.Invoke > f.Complete {
			continue
		}
		if len(concurrent) == 3 {
			concurrent = append(concurrent, "...")
			break
		}
		concurrent = append(concurrent, d.op(op))
		a.Ops = append(a.Ops, d.h.OpIndex(op))
	}
	pending := "no other operation was pending"
	if len(concurrent) > 0 {
		pending = "none of the operations pending beside it (" + strings.Join(concurrent, "; ") + ") can be ordered to allow it"
	}
	state := d.stateName(obj, sp, o)
	a.Explanation = fmt.Sprintf("%s%s cannot be placed in any order consistent with real time: the longest legal order of the operations before it has %d operations%s, leaving %s, and %s.",
		capitalize(d.op(f)), d.during(f), len(o.prefix), last, state, pending)
	sortOps(a.Ops)
	return a
}

func (d describer) stateName(obj object, sp spec, o outcome) string {
	switch obj {
	case mutex:
		return "the lock " + sp.describe(o.state)
	case multiRegister:
		return "the registers at " + sp.describe(o.state)
	}
	return d.object(d.p.keys[0]) + " at " + sp.describe(o.state)
}

// saw is the sentence subject for an operation that observed v: "Process
// 2's read of "x" (index 14) returned 3".
func (d describer) saw(op *history.Op, v any) string {
	who := "Process " + op.Process.String()
	key := ""
	if op.Key != nil {
		key = " of " + history.Describe(op.Key)
	}
	if op.F == "cas" {
		pair := op.Input.([]any)
		return fmt.Sprintf("%s's cas%s from %s to %s (index %d) succeeded, so it found %s", who, key, history.Describe(pair[0]), history.Describe(pair[1]), d.h.OpIndex(op), history.Describe(v))
	}
	return fmt.Sprintf("%s's %s%s%s (index %d) returned %s", who, op.F, key, d.node(op), d.h.OpIndex(op), history.Describe(v))
}

// node names the server that answered op, when the history says.
func (d describer) node(op *history.Op) string {
	if e := d.h.CompleteEvent(op); e != nil && e.Node != "" {
		return " on node " + e.Node
	}
	return ""
}

func mustWritten(op *history.Op) any {
	v, _ := written(op)
	return v
}

func (d describer) object(key any) string {
	if key == nil {
		return "the register"
	}
	return history.Describe(key)
}

// op describes an operation in words, with its index.
func (d describer) op(op *history.Op) string {
	who := "process " + op.Process.String()
	key := ""
	if op.Key != nil {
		key = " of " + history.Describe(op.Key)
	}
	var what string
	switch op.F {
	case "read", "get":
		what = fmt.Sprintf("%s's %s%s returning %s", who, op.F, key, history.Describe(op.Output))
	case "write", "put", "append":
		what = fmt.Sprintf("%s's %s of %s%s", who, op.F, history.Describe(op.Input), strings.Replace(key, " of ", " to ", 1))
	case "cas":
		pair := op.Input.([]any)
		what = fmt.Sprintf("%s's cas%s from %s to %s", who, key, history.Describe(pair[0]), history.Describe(pair[1]))
	case "txn":
		what = fmt.Sprintf("%s's transaction %s", who, history.Describe(op.Value()))
	default:
		what = fmt.Sprintf("%s's %s%s", who, op.F, key)
	}
	switch op.Type {
	case history.Info:
		what += " (crashed)"
	}
	return fmt.Sprintf("%s%s (index %d)", what, d.node(op), d.h.OpIndex(op))
}

// during gives an operation's interval in time when the history has times.
func (d describer) during(op *history.Op) string {
	call, done := d.h.InvokeEvent(op), d.h.CompleteEvent(op)
	if call.Time == history.NoTime || done == nil || done.Time == history.NoTime {
		return ""
	}
	return fmt.Sprintf(" during [%v, %v]", time.Duration(call.Time), time.Duration(done.Time))
}

func (d describer) at(pos int) string {
	if t := d.h.Events[pos].Time; t != history.NoTime {
		return fmt.Sprintf(" at %v", time.Duration(t))
	}
	return ""
}

// failedWrites returns the failed writes of v to key, for context.
func (d describer) failedWrites(key, v any) []*history.Op {
	var out []*history.Op
	for i := range d.h.Ops {
		op := &d.h.Ops[i]
		if op.Type != history.Fail || !history.Equal(op.Key, key) {
			continue
		}
		if w, ok := written(op); ok && history.Equal(w, v) {
			out = append(out, op)
		}
	}
	return out
}

func sortOps(ops []int64) { slices.Sort(ops) }

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
