package adapters

import (
	"errors"
	"sync"
)

// ErrStoreClosed is what opening a client of a closed store returns.
var ErrStoreClosed = errors.New("the store is closed: open clients before closing it")

// ClientSet is the clients a store has open, so that closing the store
// closes them, and a closed store opens no more. The zero value is ready;
// it is safe for concurrent use.
type ClientSet[C comparable] struct {
	mu      sync.Mutex
	clients map[C]bool
	closed  bool
}

// Add registers c, unless the store is closed: then it returns
// ErrStoreClosed.
func (s *ClientSet[C]) Add(c C) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	if s.clients == nil {
		s.clients = map[C]bool{}
	}
	s.clients[c] = true
	return nil
}

// Remove forgets c, which closed itself.
func (s *ClientSet[C]) Remove(c C) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, c)
}

// Close marks the store closed and returns the clients still open for the
// caller to close; first is false when the store was already closed.
func (s *ClientSet[C]) Close() (open []C, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, false
	}
	s.closed = true
	for c := range s.clients {
		open = append(open, c)
	}
	s.clients = nil
	return open, true
}
