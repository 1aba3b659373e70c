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
)

var kindNames = [...]string{Register: "register", Counter: "counter", Set: "set", List: "list", Bank: "bank"}

// String names the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
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
