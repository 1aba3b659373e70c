// Package history holds the events and operations of a concurrent history,
// pairs invocations with their completions, and reads and writes histories in
// consist's native JSON Lines format, Jepsen's EDN and Porcupine's test logs.
//
// A history is a sequence of events in the order they happened. An invoke
// event starts an operation of a logical, single-threaded process; the next
// ok, fail or info event of the same process completes it. ok means the
// operation took effect, fail that it certainly did not, info that nobody
// knows: it may take effect at any later time, or never. After an info
// completion the process is crashed and never invokes again.
//
// Values are plain Go values as encoding/json would produce them, with
// every number kept exact: nil, bool, int64, float64, Number (a number
// neither int64 nor float64 holds exactly), string, []any and
// map[string]any. Every reader normalises to these types, so histories read
// from different formats compare equal, and no reader rounds a number.
package history

import (
	"fmt"
	"math"
)

// Type is the kind of an event: an invocation or one of the three outcomes.
type Type uint8

// The event types, named as in Jepsen.
const (
	Invoke Type = iota
	OK
	Fail
	Info
)

var typeNames = [...]string{Invoke: "invoke", OK: "ok", Fail: "fail", Info: "info"}

// String returns the type's name as written in histories: "invoke", "ok",
// "fail" or "info".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", t)
}

// ParseType returns the Type named s ("invoke", "ok", "fail" or "info").
func ParseType(s string) (Type, bool) {
	for t, name := range typeNames {
		if name == s {
			return Type(t), true
		}
	}
	return 0, false
}

// Process identifies a logical single-threaded client. Client processes are
// non-negative; Nemesis stands for the fault injector.
type Process int64

// Nemesis is the process of fault-injection events. They are kept in the
// history but not paired or checked.
const Nemesis Process = -1

// String returns the process number, or "nemesis".
func (p Process) String() string {
	if p == Nemesis {
		return "nemesis"
	}
	return fmt.Sprintf("%d", int64(p))
}

// NoTime marks an event that carries no timestamp.
const NoTime int64 = math.MinInt64

// Event is one line of a history.
//
// Its fields are ordered to pack it into 112 bytes: a history holds two
// events per operation, so every byte here is paid twenty million times in
// a ten-million-operation history.
type Event struct {
	// Index is the event's position: the history's own index field where
	// it has one, otherwise its position in the file, counting from 0.
	Index int64
	// Process is the client that invoked or completed the operation, or
	// Nemesis.
	Process Process
	// Time is nanoseconds since the run began, or NoTime.
	Time int64
	// F is the function: read, write, cas, add, append, txn, ...
	F string
	// Key is the object the operation acts on, a string or an int64; nil
	// means the single default object.
	Key any
	// Value is the operation's argument (invoke) or result (completion).
	Value any
	// Node is the server or replica that served the client, if known.
	Node string
	// Error says why a fail or info happened, if known.
	Error string
	// Line is the line of the source file the event starts on (1-based);
	// 0 for events built in memory.
	Line int32
	Type Type
	// HasValue tells a value of nil (for a read: never written) from an
	// event that carries no value at all.
	HasValue bool
}

// IsClient reports whether the event belongs to a client process rather
// than the nemesis.
func (e *Event) IsClient() bool { return e.Process != Nemesis }

// IsCompletion reports whether the event completes an operation.
func (e *Event) IsCompletion() bool { return e.Type != Invoke }
