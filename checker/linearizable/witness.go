package linearizable

import (
	"fmt"
	"slices"
	"time"

	"consist/checker"
	"consist/history"
)

// The kinds of anomaly this checker reports, from the taxonomy.
const (
	// KindStaleRead: a read (or cas) saw a value that a completed write
	// had already replaced, with no later write of that value.
	KindStaleRead = checker.StaleRead
	// KindUnwrittenRead: a read (or cas) saw a value nothing wrote.
	KindUnwrittenRead = checker.UnwrittenRead
	// KindReadBeforeWrite: a read (or cas) saw a value whose writes all
	// began after it completed.
	KindReadBeforeWrite = checker.ReadBeforeWrite
	// KindNonlinearizable: no order of the operations explains the
	// failing one; the witness is the search's furthest point.
	KindNonlinearizable = checker.Nonlinearizable
)

// explain turns a failed search into an anomaly: the operation no
// linearization gets past, and the fewest operations that show why. For
// registers it looks for the two patterns that prove a violation with two
// or three operations (a stale read, a read of a value nothing wrote in
// time); otherwise it reports the search's furthest configuration.
func explain(h *history.History, obj object, p *partition, po partitionOutcome, initial any) checker.Anomaly {
	o := po.outcome
	failing := p.ops[o.blocker]
	d := newDescriber(h, p)
	if obj == register {
		if a, ok := d.registerWitness(failing, initial); ok {
			return a
		}
	}
	return d.furthest(obj, po.spec, failing, o)
}

// describer words the operations of a partition in sentences, recording
// those it names as the steps of a witness.
type describer struct {
	h *history.History
	p *partition
	w *checker.Witness
}

func newDescriber(h *history.History, p *partition) describer {
	return describer{h: h, p: p, w: checker.NewWitness(h)}
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
	saw := d.saw(f, v)
	kind := KindUnwrittenRead
	var why checker.Phrase
	if first != nil {
		kind = KindReadBeforeWrite
		why = checker.Say("the first write of %s, %s, began only after the read completed", checker.Val(v), d.op(first))
	} else {
		why = checker.Say("nothing ever wrote %s to %s", checker.Val(v), d.object(f.Key))
		if failed := d.failedWrites(f.Key, v); len(failed) > 0 {
			why = checker.Say("%s (%s failed, so it never took effect)", why, d.op(failed[0]))
		}
	}
	return d.w.Anomaly(kind, f.Key, checker.Say("%s%s, but %s: the store returned a value it did not hold.", saw, d.during(f), why)), true
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
	saw := d.saw(f, v)
	overP := d.op(over)
	var since checker.Phrase
	if lastWriter != nil {
		since = checker.Say("the last write of %s, %s, had completed before the write of %s began", checker.Val(v), d.op(lastWriter), checker.Val(mustWritten(over)))
	} else {
		since = checker.Say("%s held %s only initially", d.object(f.Key), checker.Val(v))
	}
	// The chain: the last write of v completed before over began, and
	// over before the read began.
	if lastWriter != nil {
		d.w.Order(lastWriter, over, f)
		d.w.Link(lastWriter, checker.Realtime)
	} else {
		d.w.Order(over, f)
	}
	d.w.Link(over, checker.Realtime)
	return d.w.Anomaly(KindStaleRead, f.Key, checker.Say("%s%s, but %s had completed%s before it began, and nothing wrote %s after that (%s): the value was stale.",
		saw, d.during(f), overP, d.at(over.Complete), checker.Val(v), since)), true
}

// furthest explains a failure by the search's furthest configuration: how
// many operations some order can explain, the state it reaches, and the
// operations that were pending beside the one that cannot be placed.
func (d describer) furthest(obj object, sp spec, f *history.Op, o outcome) checker.Anomaly {
	head := d.op(f)
	var last checker.Phrase
	if n := len(o.prefix); n > 0 {
		prev := d.p.ops[o.prefix[n-1]]
		last = checker.Say(", the last of them %s", d.op(prev))
	}
	var concurrent []checker.Phrase
	for i, op := range d.p.ops {
		if op == f || slices.Contains(o.prefix, i) || op.Invoke > f.Complete {
			continue
		}
		if len(concurrent) == 3 {
			concurrent = append(concurrent, checker.Say("..."))
			break
		}
		concurrent = append(concurrent, checker.Say("%s", d.op(op)))
	}
	pending := checker.Say("no other operation was pending")
	if len(concurrent) > 0 {
		pending = checker.Say("none of the operations pending beside it (%s) can be ordered to allow it", checker.Join(concurrent, "; "))
	}
	state := d.stateName(obj, sp, o)
	return d.w.Anomaly(KindNonlinearizable, f.Key, checker.Say("%s%s cannot be placed in any order consistent with real time: the longest legal order of the operations before it has %d operations%s, leaving %s, and %s.",
		head, d.during(f), len(o.prefix), last, state, pending))
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
// 2's read of key x on node n1 (index 14, line 15) returned 3".
func (d describer) saw(op *history.Op, v any) checker.Phrase {
	key := ""
	if op.Key != nil {
		key = " of " + checker.KeyName(op.Key)
	}
	if op.F == "cas" {
		pair := op.Input.([]any)
		return checker.Say("%s's cas%s from %s to %s (%s) succeeded, so it found %s", d.w.Who(op), key, checker.Val(pair[0]), checker.Val(pair[1]), d.w.At(op), checker.Val(v))
	}
	return checker.Say("%s's %s%s%s (%s) returned %s", d.w.Who(op), op.F, key, d.w.OnNode(op), d.w.At(op), checker.Val(v))
}

func mustWritten(op *history.Op) any {
	v, _ := written(op)
	return v
}

func (d describer) object(key any) string { return checker.KeyName(key) }

// op names an operation in full and records it as a step.
func (d describer) op(op *history.Op) checker.Part { return d.w.Op(op) }

// opText words an operation alone, for Porcupine's visualization
// (Explore's model describes operations with it).
func (d describer) opText(op *history.Op) string {
	w := checker.NewWitness(d.h)
	return w.Anomaly("", nil, checker.Say("%s", w.Op(op))).Explanation()
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
