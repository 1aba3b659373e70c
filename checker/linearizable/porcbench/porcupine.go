// Package porcbench holds what comparing consist's linearizability
// checker with Porcupine (github.com/anishathalye/porcupine) needs, for
// `consist bench` and the benchmarks: Porcupine's models for consist
// histories, and a probe of peak heap memory (Peak).
//
// Check and Build run Porcupine on consist histories with the semantics
// consist's linearizability checker uses, so that the two can be compared
// verdict for verdict and timed side by side. Semantics: failed operations did not happen and are left out; crashed
// (info) reads are left out; crashed writes and cas return after the last
// event with an unknown result, so they may take effect at any time after
// their call, or — placed after everything — in effect never; under
// checker.NilReadUnknown a read of nil constrains nothing. Registers are
// read, write and cas; key-value strings are get, put and append, as in
// Porcupine's own kv model. Objects are partitioned by key.
package porcbench

import (
	"errors"
	"fmt"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/history"
)

// ErrUnsupported is returned for histories of other objects (mutexes,
// transactions, counters...).
var ErrUnsupported = errors.New("porcupine: no model for these operations")

// output is an operation's result as the models see it.
type output struct {
	value   any
	unknown bool
}

// Check runs Porcupine on h with the given timeout (0: none) and returns
// its verdict: Ok, Illegal, or Unknown when the timeout expired.
func Check(h *history.History, initial any, nilRead checker.NilRead, timeout time.Duration) (porcupine.CheckResult, error) {
	model, ops, err := Build(h, initial, nilRead)
	if err != nil {
		return porcupine.Unknown, err
	}
	return porcupine.CheckOperationsTimeout(model, ops, timeout), nil
}

// Build returns the Porcupine model and operations for h.
func Build(h *history.History, initial any, nilRead checker.NilRead) (porcupine.Model, []porcupine.Operation, error) {
	kv, err := kind(h)
	if err != nil {
		return porcupine.Model{}, nil, err
	}
	nilUnknown := nilRead.Resolve(h.Format) == checker.NilReadUnknown
	end := int64(len(h.Events) + 1)
	var ops []porcupine.Operation
	for i := range h.Ops {
		op := &h.Ops[i]
		isRead := op.F == "read" || op.F == "get"
		if op.Type == history.Fail || (op.Type == history.Info && isRead) {
			continue
		}
		o := porcupine.Operation{ClientId: int(op.Process), Input: op, Call: int64(op.Invoke), Return: end, Output: output{unknown: true}}
		if op.Type == history.OK {
			o.Return = int64(op.Complete)
			o.Output = output{value: op.Output, unknown: isRead && op.Output == nil && nilUnknown}
		}
		ops = append(ops, o)
	}
	if kv {
		return kvModel(initial), ops, nil
	}
	return registerModel(initial), ops, nil
}

func kind(h *history.History) (kv bool, err error) {
	reg, str := 0, 0
	for i := range h.Ops {
		switch h.Ops[i].F {
		case "read", "write", "cas":
			reg++
		case "get", "put", "append":
			str++
		default:
			return false, fmt.Errorf("%w: %s", ErrUnsupported, h.Ops[i].F)
		}
	}
	if reg > 0 && str > 0 {
		return false, fmt.Errorf("%w: registers and strings mixed", ErrUnsupported)
	}
	return str > 0, nil
}

func byKey(ops []porcupine.Operation) [][]porcupine.Operation {
	idx := map[string]int{}
	var parts [][]porcupine.Operation
	for _, o := range ops {
		k := history.Canonical(o.Input.(*history.Op).Key)
		i, ok := idx[k]
		if !ok {
			i = len(parts)
			idx[k] = i
			parts = append(parts, nil)
		}
		parts[i] = append(parts[i], o)
	}
	return parts
}

// registerModel is a read/write/cas register whose states are canonical
// values.
func registerModel(initial any) porcupine.Model {
	return porcupine.Model{
		Partition: byKey,
		Init:      func() any { return history.Canonical(initial) },
		Step: func(state, input, out any) (bool, any) {
			op, o := input.(*history.Op), out.(output)
			switch op.F {
			case "read":
				return o.unknown || state == history.Canonical(o.value), state
			case "write":
				return true, history.Canonical(op.Input)
			}
			pair := op.Input.([]any)
			if state == history.Canonical(pair[0]) {
				return true, history.Canonical(pair[1])
			}
			return o.unknown, state
		},
		DescribeOperation: func(input, out any) string {
			return fmt.Sprintf("%s %s", input.(*history.Op).F, history.Describe(input.(*history.Op).Input))
		},
	}
}

// kvModel is Porcupine's key-value model: a string per key that put
// replaces, append extends and get returns; a missing key reads "".
func kvModel(initial any) porcupine.Model {
	init, _ := initial.(string)
	return porcupine.Model{
		Partition: byKey,
		Init:      func() any { return init },
		Step: func(state, input, out any) (bool, any) {
			op, o := input.(*history.Op), out.(output)
			s := state.(string)
			in, _ := op.Input.(string)
			switch op.F {
			case "get":
				v, _ := o.value.(string)
				return o.unknown || v == s, s
			case "put":
				return true, in
			}
			return true, s + in
		},
	}
}
