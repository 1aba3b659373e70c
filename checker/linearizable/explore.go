package linearizable

import (
	"context"
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/history"
)

// Exploration is Porcupine's own search of one object's operations, for
// a drawing of it (report/porcupine draws it as Porcupine does): the
// object as a Porcupine model and what the search found, the longest
// partial linearizations among them. The model's descriptions of
// operations and states are plain text, values as history.Describe writes
// them; a renderer escapes them for where it puts them.
type Exploration struct {
	Model porcupine.Model
	Info  porcupine.LinearizationInfo
	// Ops is the number of operations on the object.
	Ops int
}

// Explore runs Porcupine's search on the object that key names (nil for
// the single default register) alone, bounded by opts.Timeout and ctx's
// deadline; a history Porcupine cannot finish in time is explored as far
// as it got. It fails when the history uses no such key.
func Explore(ctx context.Context, h *history.History, opts checker.Options, key any) (*Exploration, error) {
	obj, err := objectOf(h)
	if err != nil {
		return nil, fmt.Errorf("explore %s: %w", h.Source, err)
	}
	var part *partition
	for _, p := range partitionOps(h, obj, opts.NilRead) {
		for _, k := range p.keys {
			if history.Equal(k, key) {
				part = p
			}
		}
	}
	if part == nil {
		return nil, fmt.Errorf("explore %s: no operations on key %s: pass a key the history uses", h.Source, history.Describe(key))
	}
	sp, ops := part.compile(obj, opts.Initial, &share{of: newBudget(opts.MemoryBudget())})
	d := newDescriber(h, part)
	end := int64(len(h.Events))
	pops := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		ret := int64(op.ret)
		if op.ret == never {
			ret = end
		}
		pops[i] = porcupine.Operation{ClientId: int(part.ops[i].Process), Input: i, Call: int64(op.call), Return: ret}
	}
	model := porcupine.NondeterministicModel{
		Init: func() []any { return []any{sp.init()} },
		Step: func(state, input, _ any) []any {
			i := input.(int)
			next, ok := sp.step(state.(int32), i)
			switch {
			case ok && ops[i].optional:
				return []any{next, state}
			case ok:
				return []any{next}
			case ops[i].optional:
				return []any{state}
			}
			return nil
		},
		DescribeOperation:         func(input, _ any) string { return d.opText(part.ops[input.(int)]) },
		DescribeState:             func(state any) string { return sp.describe(state.(int32)) },
		DescribeOperationMetadata: func(any) string { return "" },
	}
	timeout := opts.Timeout
	if deadline, ok := ctx.Deadline(); ok && (timeout == 0 || time.Until(deadline) < timeout) {
		timeout = time.Until(deadline)
	}
	m := model.ToModel()
	_, info := porcupine.CheckOperationsVerbose(m, pops, timeout)
	return &Exploration{Model: m, Info: info, Ops: len(ops)}, nil
}
