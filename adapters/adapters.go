// Package adapters is the contract between consist's run loop and a store:
// a Store opens one Client per process, on one of its nodes, and a Client
// performs operations on behalf of that single-threaded process.
//
// Outcomes follow Jepsen. An operation that returns no error took effect
// (ok). An error that wraps ErrNotApplied says it certainly did not take
// effect (fail): a failed compare-and-set, a request the store rejected
// before acting on it. Any other error — a timeout, a connection lost
// mid-request — leaves it unknown (info): it may take effect later, or
// never. The run loop retires a process after an unknown outcome and its
// worker continues under a fresh process id.
package adapters

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"consist/history"
)

// Op is an operation a worker asks a client to perform, in the terms of
// the history format: F is "read", "write", "cas", "add", ...; Value is a
// write's value, a cas's [expected, new] pair, and nil for a read.
type Op struct {
	// Kind is the type of the object the operation acts on; it tells a
	// counter's add from a set's. It is not recorded: each workload acts
	// on objects of one kind.
	Kind  Kind
	F     string
	Key   any
	Value any
	// Guard, on a transaction (Kind Txn), makes its writes conditional
	// on its reads, as an interactive transaction's are: the store
	// performs the micro-ops before the first write, calls Guard with
	// them (reads filled in), and goes on with the rest only if Guard
	// returns nil; otherwise the transaction aborts and Do returns an
	// error wrapping ErrNotApplied and Guard's. Guard is a pure function
	// of its argument (a replicated store may call it on every replica)
	// and is not recorded in the history. nil: no condition.
	Guard func(reads []MicroOp) error
}

// Kind is the type of an object in a store.
type Kind uint8

// The kinds of object the workloads use. Values are the history format's:
// int64, string, []any and map[string]any.
const (
	// Register: read returns the value; write sets it; cas takes
	// [expected, new] and is not applied unless the value is expected.
	Register Kind = iota
	// Counter: add takes an int64 delta; read returns the sum (0 before
	// any add).
	Counter
	// Set: add takes an element; read returns every element, sorted.
	Set
	// List: append takes an element; read returns the elements in the
	// order appended.
	List
	// Bank: write sets every account's balance (a map from account to
	// int64); transfer takes {"from", "to", "amount"} and is not applied
	// when it would overdraw the source; read returns every balance.
	Bank
	// Txn: a transaction over several keys. F is "txn", Key is nil and
	// Value is a []MicroOp; Do performs them atomically (as far as the
	// store's isolation goes) and returns the same micro-ops, in order,
	// with each read's Value filled in. Lists (append, r of a []any) and
	// registers (w, r of a single value) are not mixed in one store's
	// keys. An error wrapping ErrNotApplied says the transaction aborted
	// and none of it took effect. A store that takes transactions
	// honours Op.Guard.
	Txn
)

var kindNames = [...]string{Register: "register", Counter: "counter", Set: "set", List: "list", Bank: "bank", Txn: "txn"}

// MicroOp is one step of a transaction (Kind Txn), in the terms of the
// history format's micro-ops: F is "append" (add Value to the end of the
// list at Key), "w" (set the register at Key to Value) or "r" (read Key:
// Value is nil when asked, and holds the list or the register's value,
// nil for never written, in the answer).
type MicroOp struct {
	F     string
	Key   any
	Value any
}

// MicroOpsValue returns mops as the history records a transaction's
// value: [["append", k, v], ["r", k, [v...]], ...].
func MicroOpsValue(mops []MicroOp) []any {
	out := make([]any, len(mops))
	for i, m := range mops {
		out[i] = []any{m.F, m.Key, m.Value}
	}
	return out
}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Holder is implemented by stores that keep only some kinds of object.
// A store that does not implement it is taken to keep every kind but
// Txn: transactions must be declared.
type Holder interface {
	// Holds reports whether the store can perform operations on objects
	// of kind k, and if not, why (in a sentence that names what to use
	// instead).
	Holds(k Kind) (bool, string)
}

// RealKinds are the kinds of object the real databases' adapters keep:
// registers, counters, sets and transactions (Elle's list-append and
// rw-register), not lists or bank accounts.
var RealKinds = []Kind{Register, Counter, Set, Txn}

// HoldsOf answers Holder.Holds for an adapter called name that keeps the
// kinds of object kinds.
func HoldsOf(name string, kinds []Kind, k Kind) (bool, string) {
	if slices.Contains(kinds, k) {
		return true, ""
	}
	names := make([]string, len(kinds))
	for i, kind := range kinds {
		names[i] = kind.plural()
	}
	if n := len(names); n > 1 {
		names = append(names[:n-2], names[n-2]+" and "+names[n-1])
	}
	return false, fmt.Sprintf("the %s adapter keeps %s, not %s: pick another workload", name, strings.Join(names, ", "), k.plural())
}

// plural names objects of the kind: "registers", "transactions".
func (k Kind) plural() string {
	if k == Txn {
		return "transactions"
	}
	return k.String() + "s"
}

// Supports returns nil when store can perform operations of kind k, and
// otherwise an error that says why, so that a run can refuse the store
// before it starts.
func Supports(store Store, k Kind) error {
	if h, ok := store.(Holder); ok {
		if ok, why := h.Holds(k); !ok {
			return fmt.Errorf("the store does not take %s operations: %s", k, why)
		}
		return nil
	}
	if k == Txn {
		return fmt.Errorf("the store does not take transactions: its adapter does not declare them")
	}
	return nil
}

// Client performs one process's operations against one node.
type Client interface {
	// Do performs op and returns what it read (nil for operations that
	// read nothing). See the package documentation for what its error
	// means.
	Do(ctx context.Context, op Op) (any, error)
	// Close releases the client's connection.
	Close() error
}

// Store is a system under test.
type Store interface {
	// Nodes names the nodes clients can connect to.
	Nodes() []string
	// Open connects a client to node.
	Open(ctx context.Context, node string) (Client, error)
	// Close shuts the store (or the connection to it) down.
	Close() error
}

// ErrNotApplied marks an error after which the operation certainly did
// not take effect.
var ErrNotApplied = errors.New("not applied")

// NotApplied returns an error for reason that wraps ErrNotApplied.
func NotApplied(reason string) error { return fmt.Errorf("%s: %w", reason, ErrNotApplied) }

// Outcome classifies the error a Client returned: nil is OK, one wrapping
// ErrNotApplied is Fail, any other is Info.
func Outcome(err error) history.Type {
	switch {
	case err == nil:
		return history.OK
	case errors.Is(err, ErrNotApplied):
		return history.Fail
	}
	return history.Info
}
