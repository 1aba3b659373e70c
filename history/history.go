package history

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Op is an operation: an invocation paired with its completion.
type Op struct {
	// ID is the operation's position in History.Ops.
	ID      int
	Process Process
	F       string
	Key     any
	// Input is the invocation's value: the argument of a write or cas.
	Input any
	// Output is the completion's value: what a read returned. It is nil
	// for operations that crashed or never completed.
	Output any
	// HasOutput tells a completion that returned nil from one that
	// returned nothing.
	HasOutput bool
	// Type is the outcome: OK, Fail, or Info for a crashed operation and
	// for one still open when the history ends.
	Type Type
	// Invoke and Complete are positions in History.Events; Complete is -1
	// when the history ended before the operation completed.
	Invoke, Complete int
}

// Value returns what the operation is known to have carried: the
// completion's value for an ok operation that returned one, else the
// invocation's. It is the value Jepsen's checkers look at.
func (o *Op) Value() any {
	if o.Type == OK && o.HasOutput {
		return o.Output
	}
	return o.Input
}

// History is a parsed, paired and validated history.
type History struct {
	// Source names where the history came from, for messages: usually a
	// file path.
	Source string
	// Format is the format the history was read from.
	Format Format
	// Events holds every event in order, the nemesis's included.
	Events []Event
	// Ops holds the client operations in order of invocation.
	Ops []Op
	// TornLine is the number of the last line of a JSON Lines history
	// when it was left incomplete by a writer killed mid-write and was
	// dropped; 0 when nothing was dropped. Operations it would have
	// completed count as info, like any left open.
	TornLine int
	// Warnings describe what the reader accepted but a person may want to
	// know, such as times that go backwards against file order; reports
	// show them.
	Warnings []string
}

// New pairs events into operations and validates them. source names the
// events' origin in error messages. Errors are *Error values naming the
// offending line.
func New(source string, events []Event) (*History, error) {
	h := &History{Source: source, Events: events}
	if err := h.pair(nil); err != nil {
		return nil, err
	}
	return h, nil
}

// newChecked is New for the readers: it also refuses duplicate indices
// and times running backwards within a process (see orderCheck).
func newChecked(source string, events []Event) (*History, error) {
	h := &History{Source: source, Events: events}
	if err := h.pair(newOrderCheck()); err != nil {
		return nil, err
	}
	return h, nil
}

// OpIndex returns the index by which people and Jepsen's tools name an
// operation: its completion event's, or its invocation's if it never
// completed.
func (h *History) OpIndex(op *Op) int64 {
	if op.Complete >= 0 {
		return h.Events[op.Complete].Index
	}
	return h.Events[op.Invoke].Index
}

// InvokeEvent returns the event that invoked op.
func (h *History) InvokeEvent(op *Op) *Event { return &h.Events[op.Invoke] }

// CompleteEvent returns the event that completed op, or nil.
func (h *History) CompleteEvent(op *Op) *Event {
	if op.Complete < 0 {
		return nil
	}
	return &h.Events[op.Complete]
}

// Processes returns the number of distinct client processes.
func (h *History) Processes() int {
	seen := make(map[Process]struct{})
	for i := range h.Ops {
		seen[h.Ops[i].Process] = struct{}{}
	}
	return len(seen)
}

// pair matches every client invocation with the next completion of the same
// process and checks the rules of DESIGN.md: no completion without an
// invocation, no second invocation while one is open, no invocation by a
// crashed process. An invocation open at the end counts as info.
func (h *History) pair(order *orderCheck) error {
	open := make(map[Process]int)    // process -> op ID of its open invocation
	crashed := make(map[Process]int) // process -> event position of its info completion
	h.Ops = make([]Op, 0, len(h.Events)/2)
	for i := range h.Events {
		e := &h.Events[i]
		if order != nil {
			if err := order.observe(h, i); err != nil {
				return err
			}
		}
		if !e.IsClient() {
			continue
		}
		if e.Type == Invoke {
			if at, ok := crashed[e.Process]; ok {
				return h.errorAt(e, fmt.Sprintf("process %v invokes %s after it crashed (info completion on line %d)", e.Process, e.F, h.Events[at].Line),
					"a process that got an info completion must never invoke again; give the client a new process id")
			}
			if id, ok := open[e.Process]; ok {
				prev := &h.Events[h.Ops[id].Invoke]
				return h.errorAt(e, fmt.Sprintf("process %v invokes %s while its %s from line %d is still open", e.Process, e.F, prev.F, prev.Line),
					"complete the earlier operation with an ok, fail or info event first")
			}
			if err := h.validateInvoke(e); err != nil {
				return err
			}
			open[e.Process] = len(h.Ops)
			h.Ops = append(h.Ops, Op{ID: len(h.Ops), Process: e.Process, F: e.F, Key: e.Key, Input: e.Value, Type: Info, Invoke: i, Complete: -1})
			continue
		}
		id, ok := open[e.Process]
		if !ok {
			return h.errorAt(e, fmt.Sprintf("%s completion of %s by process %v has no open invocation", e.Type, e.F, e.Process),
				"every ok, fail or info event must follow an invoke event of the same process")
		}
		op := &h.Ops[id]
		if e.F != op.F {
			return h.errorAt(e, fmt.Sprintf("completion f %q does not match the invocation's f %q (line %d)", e.F, op.F, h.Events[op.Invoke].Line),
				"a completion must repeat its invocation's f")
		}
		if e.Key != nil && op.Key != nil && !Equal(e.Key, op.Key) {
			return h.errorAt(e, fmt.Sprintf("completion key %v does not match the invocation's key %v (line %d)", e.Key, op.Key, h.Events[op.Invoke].Line),
				"a completion must act on its invocation's key")
		}
		if op.Key == nil {
			op.Key = e.Key
		}
		delete(open, e.Process)
		op.Type = e.Type
		op.Complete = i
		if order != nil && e.HasValue {
			// The readers' events own their values: a completion
			// that repeats its invocation's value, or parts of it,
			// shares the invocation's storage.
			e.Value, _ = shareValue(op.Input, e.Value)
		}
		if e.Type != Info {
			op.Output, op.HasOutput = e.Value, e.HasValue
		}
		if e.Type == Info {
			crashed[e.Process] = i
		}
		if err := h.validateCompletion(op, e); err != nil {
			return err
		}
	}
	if order != nil {
		return order.finish(h)
	}
	return nil
}

func (h *History) errorAt(e *Event, msg, fix string) error {
	return &Error{File: h.Source, Line: int(e.Line), Msg: msg, Fix: fix}
}

// validateInvoke checks the shape of an invocation's value for the functions
// whose shape consist knows.
func (h *History) validateInvoke(e *Event) error {
	switch e.F {
	case "cas":
		if !isPair(e.Value) {
			return h.errorAt(e, fmt.Sprintf("cas value %s is not a pair", Describe(e.Value)),
				`write a cas as "value": [expected, new]`)
		}
	case "txn":
		if err := validateTxn(e.Value); err != "" {
			return h.errorAt(e, "txn value "+err, `write a transaction as a list of micro-ops such as [["r", "x", null], ["w", "x", 1]]`)
		}
	}
	return validateKey(h, e)
}

func (h *History) validateCompletion(op *Op, e *Event) error {
	switch {
	case e.F == "cas" && e.HasValue && e.Value != nil && !isPair(e.Value):
		return h.errorAt(e, fmt.Sprintf("cas value %s is not a pair", Describe(e.Value)),
			`write a cas as "value": [expected, new]`)
	case e.F == "txn" && e.Type == OK:
		if err := validateTxn(e.Value); err != "" {
			return h.errorAt(e, "txn value "+err, `write a transaction as a list of micro-ops such as [["r", "x", 1], ["w", "x", 2]]`)
		}
	}
	return validateKey(h, e)
}

func validateKey(h *History, e *Event) error {
	switch k := e.Key.(type) {
	case nil, string, int64:
		return nil
	case Number:
		if k.IsInteger() {
			return h.errorAt(e, fmt.Sprintf("key %s is an integer beyond int64's range", Describe(e.Key)),
				"use a string key, or an integer key from -2^63 to 2^63-1")
		}
	}
	return h.errorAt(e, fmt.Sprintf("key %s is neither a string nor an integer", Describe(e.Key)),
		"use a string or an integer key, or leave key out for the single default object")
}

// shareValue returns out, or in where the two are equal: in itself when
// they are, else out with each element of a list that equals in's element
// at the same position replaced by it, in place (a transaction's
// completion repeats its writes' micro-ops). same reports that in was
// returned. Equal values are told apart by no reader, so this only saves
// memory.
func shareValue(in, out any) (v any, same bool) {
	switch o := out.(type) {
	case nil, bool:
		return out, in == out // stored in no box of their own
	case []any:
		i, ok := in.([]any)
		if !ok || len(i) != len(o) || len(o) == 0 {
			return out, false
		}
		same = true
		for k := range o {
			if v, s := shareValue(i[k], o[k]); s {
				if _, list := v.([]any); list {
					o[k] = v // scalars need no write: their boxes are small
				}
			} else {
				same = false
			}
		}
		if same {
			return in, true
		}
		return out, false
	}
	if Equal(in, out) {
		return in, true
	}
	return out, false
}

func isPair(v any) bool {
	l, ok := v.([]any)
	return ok && len(l) == 2
}

// validateTxn returns what is wrong with a transaction value, or "".
func validateTxn(v any) string {
	mops, ok := v.([]any)
	if !ok {
		return fmt.Sprintf("%s is not a list of micro-ops", Describe(v))
	}
	for i, m := range mops {
		mop, ok := m.([]any)
		if !ok || len(mop) != 3 {
			return fmt.Sprintf("micro-op %d, %s, is not a [f, key, value] triple", i, Describe(m))
		}
		f, ok := mop[0].(string)
		if !ok {
			return fmt.Sprintf("micro-op %d, %s, does not start with a function name", i, Describe(m))
		}
		switch f {
		case "r", "w", "append":
		default:
			return fmt.Sprintf("micro-op %d, %s, has function %q; a micro-op is r, w or append", i, Describe(m), f)
		}
		switch k := mop[1].(type) {
		case string, int64:
		case Number:
			return fmt.Sprintf("micro-op %d, %s, has key %s, an integer beyond int64's range; a key is a string or an integer from -2^63 to 2^63-1", i, Describe(m), Describe(k))
		default:
			return fmt.Sprintf("micro-op %d, %s, has key %s; a key is a string or an integer", i, Describe(m), Describe(k))
		}
	}
	return ""
}

// orderCheck refuses an index given to two events and a time that goes
// backwards within a process. A time that goes backwards against file
// order only, across processes, is accepted with a warning: Jepsen takes
// an event's time before it appends the event to the history, so events of
// concurrent workers land in the file microseconds out of time order, as
// real Jepsen histories show (by up to 5 s in Elle's huge-scc.edn). File
// order stays the real-time order the checkers use. The readers run it
// inside pair's pass over the events, so it costs no pass of its own.
type orderCheck struct {
	last       int // the latest-timed event so far, or -1
	back       int64
	backs      int64
	backAt     int
	increasing bool
	// The latest timed event of each process (position+1): in a slice
	// for the usual small process numbers, in a map for the rest.
	small []int32
	large map[Process]int
}

func newOrderCheck() *orderCheck { return &orderCheck{last: -1, increasing: true} }

// observe checks event i against the events before it.
func (c *orderCheck) observe(h *History, i int) error {
	e := &h.Events[i]
	if i > 0 && e.Index <= h.Events[i-1].Index {
		c.increasing = false
	}
	if e.Time == NoTime {
		return nil
	}
	prevAt := -1
	if p := e.Process + 1; p >= 0 && p < 1<<16 && i < math.MaxInt32 { // the nemesis is -1
		if int(p) >= len(c.small) {
			c.small = append(c.small, make([]int32, int(p)+1-len(c.small))...)
		}
		prevAt, c.small[p] = int(c.small[p])-1, int32(i+1)
	} else {
		if c.large == nil {
			c.large = map[Process]int{}
		}
		if at, ok := c.large[e.Process]; ok {
			prevAt = at
		}
		c.large[e.Process] = i
	}
	if prevAt >= 0 && e.Time < h.Events[prevAt].Time {
		prev := &h.Events[prevAt]
		return h.errorAt(e, fmt.Sprintf("time %d is before the time %d of process %v's previous event on line %d", e.Time, prev.Time, e.Process, prev.Line),
			"a process's events must be written in the order they happened, with times that never go backwards")
	}
	switch {
	case c.last < 0 || e.Time >= h.Events[c.last].Time:
		c.last = i
	default:
		c.backs++
		if d := h.Events[c.last].Time - e.Time; d > c.back {
			c.back, c.backAt = d, i
		}
	}
	return nil
}

// finish reports duplicate indices and records the warning.
func (c *orderCheck) finish(h *History) error {
	if c.backs > 0 {
		h.Warnings = append(h.Warnings, fmt.Sprintf("time goes backwards against file order at %d event(s), by up to %dns (line %d); the file's order is taken as the real-time order", c.backs, c.back, h.Events[c.backAt].Line))
	}
	if c.increasing {
		return nil
	}
	byIndex := make([]int, len(h.Events))
	for i := range byIndex {
		byIndex[i] = i
	}
	slices.SortStableFunc(byIndex, func(a, b int) int { return cmp.Compare(h.Events[a].Index, h.Events[b].Index) })
	for i := 1; i < len(byIndex); i++ {
		a, b := &h.Events[byIndex[i-1]], &h.Events[byIndex[i]]
		if a.Index == b.Index {
			return h.errorAt(b, fmt.Sprintf("index %d is also the index of the event on line %d", b.Index, a.Line),
				"give every event its own index, or leave index out to number events by their position")
		}
	}
	return nil
}
