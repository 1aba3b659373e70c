// Package single is the linearizable baseline store: one node holding
// every register, each operation applied atomically. Registers support
// read, write and cas (cas takes [expected, new] and fails, not applied,
// when the register holds anything else).
package single

import (
	"context"
	"fmt"
	"sync"

	"consist/adapters"
	"consist/history"
)

// Store is one node, "n1". The zero value is not ready; use New.
type Store struct {
	mu   sync.Mutex
	regs map[any]any
}

// New returns an empty store: every register holds nil (never written).
func New() *Store { return &Store{regs: map[any]any{}} }

// Nodes returns the store's one node.
func (s *Store) Nodes() []string { return []string{"n1"} }

// Open returns a client of the node.
func (s *Store) Open(_ context.Context, node string) (adapters.Client, error) {
	if node != "n1" {
		return nil, fmt.Errorf("single: no node %q: the store has one node, n1", node)
	}
	return client{s}, nil
}

// Close does nothing: the store lives in memory.
func (s *Store) Close() error { return nil }

type client struct{ s *Store }

func (c client) Close() error { return nil }

func (c client) Do(ctx context.Context, op adapters.Op) (any, error) {
	if err := ctx.Err(); err != nil {
		return nil, adapters.NotApplied(err.Error())
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	switch op.F {
	case "read":
		return s.regs[op.Key], nil
	case "write":
		s.regs[op.Key] = op.Value
		return nil, nil
	case "cas":
		pair, ok := op.Value.([]any)
		if !ok || len(pair) != 2 {
			return nil, adapters.NotApplied(fmt.Sprintf("cas needs [expected, new], got %v", op.Value))
		}
		if cur := s.regs[op.Key]; !history.Equal(cur, pair[0]) {
			return nil, adapters.NotApplied(fmt.Sprintf("cas expected %s, found %s", history.Describe(pair[0]), history.Describe(cur)))
		}
		s.regs[op.Key] = pair[1]
		return nil, nil
	}
	return nil, adapters.NotApplied(fmt.Sprintf("single: unsupported operation %q: use read, write or cas", op.F))
}
