// Package scripttest records scripted histories: operations performed one
// at a time against a store, each by a given process on a given node, with
// partitions between them — the deterministic way to show a store's
// anomaly, where a random run shows it only sometimes.
package scripttest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"consist/adapters"
	"consist/history"
	"consist/nemesis"
)

// Script performs operations and faults, recording everything.
type Script struct {
	t     testing.TB
	store adapters.Store
	cut   Partitioner
	out   bytes.Buffer
	rec   *history.Recorder
	// clients are the open clients, by process.
	clients map[history.Process]adapters.Client
	// healOnCleanup: a partition was made, and t's end heals it.
	healOnCleanup bool
	// Timeout bounds each operation (default 1 s).
	Timeout time.Duration
}

// Partitioner is what makes a script's partitions: the nodes of the
// system, and the cutting of links between them.
type Partitioner interface {
	nemesis.Target
	nemesis.Partitioner
}

// New scripts operations against store; cut, when not nil, makes the
// partitions of Isolate. The clients are closed when t ends.
func New(t testing.TB, store adapters.Store, cut Partitioner) *Script {
	s := &Script{t: t, store: store, cut: cut, clients: map[history.Process]adapters.Client{}, Timeout: time.Second}
	s.rec = history.NewRecorder(&s.out, 0)
	t.Cleanup(func() {
		for _, c := range s.clients {
			c.Close()
		}
	})
	return s
}

func (s *Script) record(e history.Event) {
	if _, err := s.rec.Record(e); err != nil {
		s.t.Fatal(err)
	}
}

// Do performs op as process p, a client of node, and records it. A
// process keeps the client (and node) it was first given.
func (s *Script) Do(p history.Process, node string, op adapters.Op) (any, error) {
	s.t.Helper()
	c, ok := s.clients[p]
	if !ok {
		var err error
		if c, err = s.store.Open(context.Background(), node); err != nil {
			s.t.Fatal(err)
		}
		s.clients[p] = c
	}
	inv := history.Event{Type: history.Invoke, Process: p, F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Node: node}
	s.record(inv)
	ctx, cancel := context.WithTimeout(context.Background(), s.Timeout)
	v, err := c.Do(ctx, op)
	cancel()
	done := inv
	done.Type = adapters.Outcome(err)
	if done.Type == history.OK && op.F == "read" {
		done.Value = v
	}
	if err != nil {
		done.Error = err.Error()
	}
	s.record(done)
	return v, err
}

// Isolate cuts the links between side and every other node, and records
// it; no side heals every link.
func (s *Script) Isolate(side ...string) {
	s.t.Helper()
	var others []string
	for _, n := range s.cut.Nodes() {
		if !slices.Contains(side, n) {
			others = append(others, n)
		}
	}
	if len(side) == 0 {
		s.record(history.Event{Type: history.Info, Process: history.Nemesis, F: "heal"})
		if err := s.cut.Heal(context.Background()); err != nil {
			s.t.Fatal(err)
		}
		return
	}
	s.record(history.Event{Type: history.Info, Process: history.Nemesis, F: "isolate", Value: fmt.Sprint(side), HasValue: true})
	if !s.healOnCleanup {
		s.healOnCleanup = true
		s.t.Cleanup(func() { _ = s.cut.Heal(context.Background()) }) // should the test fail while cut
	}
	if err := s.cut.Partition(context.Background(), nemesis.Split(side, others)); err != nil {
		s.t.Fatal(err)
	}
}

// History ends the recording and returns what was recorded.
func (s *Script) History() *history.History {
	s.t.Helper()
	if err := s.rec.Close(); err != nil {
		s.t.Fatal(err)
	}
	h, err := history.Parse(s.out.Bytes(), s.t.Name(), history.JSONL)
	if err != nil {
		s.t.Fatal(err)
	}
	return h
}
