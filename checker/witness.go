package checker

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"consist/history"
)

// Relation is how one step of a witness leads to the next.
type Relation string

// The relations between the steps of a witness.
const (
	// WW: the step's write precedes the next step's write in the version
	// order (a write-write dependency).
	WW Relation = "ww"
	// WR: the next step read what this step wrote (a write-read
	// dependency, reads-from).
	WR Relation = "wr"
	// RW: the step read a version the next step overwrote (a read-write
	// anti-dependency).
	RW Relation = "rw"
	// ProcessOrder: the next step is a later operation of the same
	// process (session order).
	ProcessOrder Relation = "process"
	// Realtime: the step completed before the next step began.
	Realtime Relation = "realtime"
	// Visibility: the step must be visible before the next one (an
	// arbitration a process's reads force).
	Visibility Relation = "visibility"
)

// Step is one operation of an anomaly's witness.
type Step struct {
	// Index is the operation's index in the history (Jepsen's
	// convention): its completion event's, or its invocation's if it
	// never completed.
	Index int64 `json:"index"`
	// Line is the line of the source file that holds that event; 0 for
	// histories built in memory.
	Line int `json:"line,omitempty"`
	// Process is the process that made the operation.
	Process history.Process `json:"process"`
	// Type is the operation's outcome: ok, fail or info.
	Type string `json:"type"`
	// F is the operation's function: read, write, cas, ...
	F string `json:"f"`
	// Key is the object the operation acted on.
	Key any `json:"key,omitempty"`
	// Value is what the operation carried: the value read, or the value
	// written (Op.Value's convention).
	Value any `json:"value"`
	// Node is the server that answered, when the history says.
	Node string `json:"node,omitempty"`
	// Error is why the operation failed or crashed, when the history
	// says.
	Error string `json:"error,omitempty"`
	// Rel is the relation to the next step, when there is one.
	Rel Relation `json:"rel,omitempty"`

	// in is the operation's argument and out its result, for rendering.
	in, out any
	// hasOut tells a result of nil from no result.
	hasOut bool
}

// Part is one piece of an anomaly's sentence: a literal text, a value
// from the history, or a reference to a step.
type Part struct {
	// Text is literal text.
	Text string
	// Val is a value from the history, rendered in its canonical form
	// when IsVal is set.
	Val   any
	IsVal bool
	// Step is 1 + the index into Anomaly.Steps of the operation the part
	// names; 0 for text and values.
	Step int
	// Form is how a step is named.
	Form Form
}

// Form is the way a sentence names an operation.
type Form uint8

// The forms of naming an operation.
const (
	// FormOp names the operation in full: "process 2's read of key x
	// returning 3 (index 14, line 29)".
	FormOp Form = iota
	// FormWho names its process: "process 2".
	FormWho
	// FormAt locates it: "index 14, line 29".
	FormAt
	// FormOnNode is " on node n1" when the history names the node, else
	// empty.
	FormOnNode
)

// Phrase is a sentence, or a piece of one, as data: the renderer turns it
// into text, JSON or HTML, escaping what came from the history for each.
type Phrase []Part

// Say builds a phrase as fmt.Sprintf builds a string, from a format with
// the verbs %s, %d and %v (and %%). A Phrase or Part argument is spliced
// in; Val wraps a history value; every other argument becomes text, with
// fmt.Sprint's formatting. Text from the history is escaped when the
// phrase is rendered, whatever way it arrived.
func Say(format string, args ...any) Phrase {
	var p Phrase
	lit := func(s string) {
		if s == "" {
			return
		}
		if n := len(p); n > 0 && p[n-1].Step == 0 && !p[n-1].IsVal {
			p[n-1].Text += s
			return
		}
		p = append(p, Part{Text: s})
	}
	start, next := 0, 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			continue
		}
		lit(format[start:i])
		i++
		start = i + 1
		if format[i] == '%' {
			lit("%")
			continue
		}
		if next >= len(args) {
			lit("%!" + string(format[i]) + "(MISSING)")
			continue
		}
		switch a := args[next].(type) {
		case Phrase:
			for _, part := range a {
				if part.Step == 0 && !part.IsVal {
					lit(part.Text)
				} else {
					p = append(p, part)
				}
			}
		case Part:
			if a.Step == 0 && !a.IsVal {
				lit(a.Text)
			} else {
				p = append(p, a)
			}
		case string:
			lit(a)
		case int:
			lit(strconv.Itoa(a))
		case int64:
			lit(strconv.FormatInt(a, 10))
		case time.Duration:
			lit(a.String())
		default:
			lit(fmt.Sprint(a))
		}
		next++
	}
	lit(format[start:])
	return p
}

// Val is a part showing a history value: 3, "x", [1 2], null.
func Val(v any) Part { return Part{Val: v, IsVal: true} }

// Join joins phrases with sep between them.
func Join(ps []Phrase, sep string) Phrase {
	var out Phrase
	for i, p := range ps {
		if i > 0 {
			out = Say("%s%s", out, sep)
		}
		out = Say("%s%s", out, p)
	}
	return out
}

// Witness builds an anomaly: it records the operations a sentence names
// as steps and hands out parts that refer to them.
type Witness struct {
	h     *history.History
	steps []Step // in the order they were recorded
	at    map[*history.Op]int
	first []int // the steps Order puts first
}

// NewWitness starts a witness over the operations of h.
func NewWitness(h *history.History) *Witness {
	return &Witness{h: h, at: map[*history.Op]int{}}
}

// step records op as a step (once) and returns its 1-based number.
func (w *Witness) step(op *history.Op) int {
	if i, ok := w.at[op]; ok {
		return i
	}
	e := w.h.InvokeEvent(op)
	node, why := e.Node, ""
	if c := w.h.CompleteEvent(op); c != nil {
		e, why = c, c.Error
		if c.Node != "" {
			node = c.Node
		}
	}
	w.steps = append(w.steps, Step{Index: e.Index, Line: int(e.Line), Process: op.Process, Type: op.Type.String(), F: op.F,
		Key: op.Key, Value: op.Value(), Node: node, Error: why, in: op.Input, out: op.Output, hasOut: op.HasOutput})
	w.at[op] = len(w.steps)
	return len(w.steps)
}

// Add records op as a step of the witness without naming it.
func (w *Witness) Add(ops ...*history.Op) {
	for _, op := range ops {
		w.step(op)
	}
}

// Op names op in full and records it as a step.
func (w *Witness) Op(op *history.Op) Part { return Part{Step: w.step(op), Form: FormOp} }

// Who names op's process: "process 2".
func (w *Witness) Who(op *history.Op) Part { return Part{Step: w.step(op), Form: FormWho} }

// At locates op: "index 14, line 29".
func (w *Witness) At(op *history.Op) Part { return Part{Step: w.step(op), Form: FormAt} }

// OnNode is " on node n1" when the history names the node that answered
// op, and nothing otherwise.
func (w *Witness) OnNode(op *history.Op) Part { return Part{Step: w.step(op), Form: FormOnNode} }

// Link records that op relates to the step after it by rel.
func (w *Witness) Link(op *history.Op, rel Relation) {
	w.steps[w.step(op)-1].Rel = rel
}

// Order puts the given operations first among the steps, in this order,
// so that each step's relation (see Link) leads to the next: a sentence
// may name them in another order than the chain of the witness runs.
func (w *Witness) Order(ops ...*history.Op) {
	w.first = w.first[:0]
	for _, op := range ops {
		w.first = append(w.first, w.step(op))
	}
}

// Anomaly finishes the witness as an anomaly of kind k on key, explained
// by sentence. Ops lists the steps' indices, sorted.
func (w *Witness) Anomaly(k Kind, key any, sentence Phrase) Anomaly {
	// Steps are numbered as they were recorded; Order may move some first.
	order := make([]int, 0, len(w.steps))
	placed := make(map[int]bool, len(w.first))
	for _, n := range w.first {
		if !placed[n] {
			placed[n] = true
			order = append(order, n)
		}
	}
	for n := 1; n <= len(w.steps); n++ {
		if !placed[n] {
			order = append(order, n)
		}
	}
	steps := make([]Step, len(order))
	pos := make(map[int]int, len(order))
	ops := make([]int64, len(order))
	for i, n := range order {
		steps[i] = w.steps[n-1]
		pos[n] = i + 1
		ops[i] = steps[i].Index
	}
	slices.Sort(ops)
	sentence = slices.Clone(sentence)
	for i := range sentence {
		if n := sentence[i].Step; n > 0 {
			sentence[i].Step = pos[n]
		}
	}
	return Anomaly{Kind: k, Key: key, Ops: slices.Compact(ops), Steps: steps, Sentence: sentence}
}
