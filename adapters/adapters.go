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
	F     string
	Key   any
	Value any
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
