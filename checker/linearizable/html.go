package linearizable

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/history"
)

// WriteHTML writes Porcupine's interactive visualization of the object that
// key names (nil for the single default register): every operation on a
// timeline, and the longest partial linearizations Porcupine finds. It runs
// Porcupine's own search on that object alone, bounded by opts.Timeout; a
// history Porcupine cannot finish in time is shown as far as it got.
func WriteHTML(ctx context.Context, w io.Writer, h *history.History, opts checker.Options, key any) error {
	obj, err := objectOf(h)
	if err != nil {
		return fmt.Errorf("visualize %s: %w", h.Source, err)
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
		return fmt.Errorf("visualize %s: no operations on key %s: pass a key the history uses", h.Source, history.Describe(key))
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
		DescribeOperation: func(input, _ any) string { return d.opText(part.ops[input.(int)]) },
		DescribeState:     func(state any) string { return sp.describe(state.(int32)) },
	}
	timeout := opts.Timeout
	if deadline, ok := ctx.Deadline(); ok && (timeout == 0 || time.Until(deadline) < timeout) {
		timeout = time.Until(deadline)
	}
	_, info := porcupine.CheckOperationsVerbose(model.ToModel(), pops, timeout)
	if err := porcupine.Visualize(model.ToModel(), info, w); err != nil {
		return fmt.Errorf("visualize %s: %w", h.Source, err)
	}
	return nil
}
