// Package scripttest records scripted histories: operations performed one
// at a time against a store, each by a given process on a given node, with
// partitions between them — the deterministic way to show a store's
// anomaly, where a random run shows it only sometimes.
package scripttest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"consist/adapters"
	"consist/history"
	"consist/nemesis"
	"consist/run/clock"
)

// Script performs operations and faults, recording everything.
type Script struct {
	t     testing.TB
	store adapters.Store
	cut   Partitioner
	clock clock.Clock
	out   bytes.Buffer
	rec   *history.Recorder
	// clients are the open clients, by process.
	clients map[history.Process]adapters.Client
	// healOnCleanup: a partition was made, and t's end heals it.
	healOnCleanup bool
	// next is the process number the next Client takes.
	next history.Process
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
//
// The script keeps the store's time (clock.Of): the times it records,
// its operations' timeouts and its polls are a bundled store's
// simulation's when it runs on one (package run/sim), so that the script
// steps the store through it and records the same history every time;
// the script must then be driven by the goroutine holding the
// simulation's control. Any other store keeps the wall clock.
func New(t testing.TB, store adapters.Store, cut Partitioner) *Script {
	c := clock.Of(store)
	s := &Script{t: t, store: store, cut: cut, clock: c, clients: map[history.Process]adapters.Client{}, Timeout: time.Second}
	s.rec = history.NewRecorderClock(&s.out, 0, c.Now)
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
	s.next = max(s.next, p+1)
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
	ctx, cancel := s.clock.WithTimeout(context.Background(), s.Timeout)
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

// Client is one process of a script, a client of one node.
type Client struct {
	s    *Script
	p    history.Process
	node string
}

// Client starts a new process, a client of node.
func (s *Script) Client(node string) *Client {
	c := &Client{s: s, p: s.next, node: node}
	s.next++
	return c
}

// Try performs op and records it.
func (c *Client) Try(op adapters.Op) (any, error) {
	c.s.t.Helper()
	return c.s.Do(c.p, c.node, op)
}

// Must performs op, failing the test unless it is ok, and returns what
// it read.
func (c *Client) Must(op adapters.Op) any {
	c.s.t.Helper()
	v, err := c.Try(op)
	if err != nil {
		c.s.t.Fatalf("%s %v of %v on %s: %v", op.F, op.Value, op.Key, c.node, err)
	}
	return v
}

// Write writes value to the register key.
func (c *Client) Write(key, value any) {
	c.s.t.Helper()
	c.Must(adapters.Op{Kind: adapters.Register, F: "write", Key: key, Value: value})
}

// Read reads the register key.
func (c *Client) Read(key any) any {
	c.s.t.Helper()
	return c.Must(adapters.Op{Kind: adapters.Register, F: "read", Key: key})
}

// Get reads the register key, repeating reads the store refuses.
func (c *Client) Get(key any) any {
	c.s.t.Helper()
	return c.poll(adapters.Op{Kind: adapters.Register, F: "read", Key: key}, func(any) bool { return true })
}

// Await repeats the read op until it returns want, and reads the store
// refuses.
func (c *Client) Await(op adapters.Op, want any) {
	c.s.t.Helper()
	c.poll(op, func(v any) bool { return history.Equal(v, want) })
}

// poll repeats op, every millisecond of the store's time, until it is ok
// and done says so, for at most 10 s; an error other than a refusal fails
// the test.
func (c *Client) poll(op adapters.Op, done func(any) bool) any {
	c.s.t.Helper()
	deadline := c.s.clock.Now().Add(10 * time.Second)
	pace := clock.NewPacer(c.s.clock, time.Millisecond)
	for {
		v, err := c.Try(op)
		switch {
		case err == nil && done(v):
			return v
		case err != nil && !errors.Is(err, adapters.ErrNotApplied):
			c.s.t.Fatalf("%s of %v on %s: %v", op.F, op.Key, c.node, err)
		case c.s.clock.Now().After(deadline):
			c.s.t.Fatalf("%s of %v on %s: still %v (%v) after 10 s", op.F, op.Key, c.node, v, err)
		}
		pace.Wait(context.Background()) // polling a store catching up
	}
}
