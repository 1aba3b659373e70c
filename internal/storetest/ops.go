package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"consist/adapters"
	"consist/history"
	"consist/nemesis"
	"consist/run/clock"
)

// The helpers below perform single operations on a store's nodes, each
// through a fresh client, for tests that steer a store by hand: write
// here, cut a link, wait until there shows it, check every node agrees.
// They keep the store's own time (clock.Of): a bundled store on a
// simulation (package run/sim) is stepped through it, each operation
// blocking on virtual time and each poll sleeping on it, so that such a
// test is the same every time; any other store keeps the wall clock.
// Under a simulation they must be called by the goroutine of the run
// that holds control (the one that made the Sim, or one started by it).

// opTimeout bounds each operation; settle bounds Await's and Agree's
// polling. Both are on the store's clock.
const (
	opTimeout = 5 * time.Second
	settle    = 5 * time.Second
)

// Op is an operation on an object of kind.
func Op(kind adapters.Kind, f string, key, value any) adapters.Op {
	return adapters.Op{Kind: kind, F: f, Key: key, Value: value}
}

// Counter is a counter operation.
func Counter(f string, key, value any) adapters.Op { return Op(adapters.Counter, f, key, value) }

// Set is a set operation.
func Set(f string, key, value any) adapters.Op { return Op(adapters.Set, f, key, value) }

// Try performs op on node through a fresh client, giving it 5 s of the
// store's time, and returns what the store answered; it fails t only if
// the client cannot be opened.
func Try(t testing.TB, store adapters.Store, node string, op adapters.Op) (any, error) {
	t.Helper()
	c, err := store.Open(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := clock.Of(store).WithTimeout(context.Background(), opTimeout)
	defer cancel()
	return c.Do(ctx, op)
}

// Do performs op on node as Try does, and fails t unless it succeeds.
func Do(t testing.TB, store adapters.Store, node string, op adapters.Op) any {
	t.Helper()
	v, err := Try(t, store, node, op)
	if err != nil {
		t.Fatalf("%s %s %v of %v on %s: %v", op.Kind, op.F, op.Value, op.Key, node, err)
	}
	return v
}

// Write writes value to register key on node, which must succeed.
func Write(t testing.TB, store adapters.Store, node string, key, value any) {
	t.Helper()
	Do(t, store, node, Reg("write", key, value))
}

// Read returns register key as node reads it, which must succeed.
func Read(t testing.TB, store adapters.Store, node string, key any) any {
	t.Helper()
	return Do(t, store, node, Reg("read", key, nil))
}

// Await polls node with the read op, every millisecond of the store's
// time, until it returns want (by history.Equal); reads the store
// refuses (adapters.ErrNotApplied) are polled again, any other error
// fails t, and so does still reading something else after 5 s.
func Await(t testing.TB, store adapters.Store, node string, op adapters.Op, want any) {
	t.Helper()
	poll := newPoller(store, time.Millisecond)
	for {
		got, err := Try(t, store, node, op)
		if err == nil && history.Equal(got, want) {
			return
		}
		if err != nil && !errors.Is(err, adapters.ErrNotApplied) {
			t.Fatalf("%s %s %v of %v on %s: %v", op.Kind, op.F, op.Value, op.Key, node, err)
		}
		if !poll.wait() {
			if err != nil {
				t.Fatalf("%s still refuses to read %v after %s (%v); want %v", node, op.Key, settle, err, want)
			}
			t.Fatalf("%s still reads %v at %v after %s; want %v", node, got, op.Key, settle, want)
		}
	}
}

// Agree polls every node with the read op, every 2 ms of the store's
// time, until all return the same value (by history.Equal), and returns
// it; each read must succeed, and t fails if the nodes still disagree
// after 5 s.
func Agree(t testing.TB, store adapters.Store, op adapters.Op) any {
	t.Helper()
	poll := newPoller(store, 2*time.Millisecond)
	for {
		var values []any
		for _, node := range store.Nodes() {
			values = append(values, Do(t, store, node, op))
		}
		same := true
		for _, v := range values[1:] {
			same = same && history.Equal(v, values[0])
		}
		if same {
			return values[0]
		}
		if !poll.wait() {
			t.Fatalf("the nodes still disagree on %v after %s: %v", op.Key, settle, values)
		}
	}
}

// poller paces a polling loop on a store's clock, for at most settle.
type poller struct {
	clock    clock.Clock
	pace     *clock.Pacer
	deadline time.Time
}

func newPoller(store adapters.Store, every time.Duration) *poller {
	c := clock.Of(store)
	return &poller{clock: c, pace: clock.NewPacer(c, every), deadline: c.Now().Add(settle)}
}

// wait waits for the next poll; it reports false once settle has passed.
func (p *poller) wait() bool {
	if p.clock.Now().After(p.deadline) {
		return false
	}
	return p.pace.Wait(context.Background())
}

// Split cuts the links between each pair of nodes given, restoring every
// other link.
func Split(t testing.TB, p nemesis.Partitioner, cuts ...[2]string) {
	t.Helper()
	if err := p.Partition(context.Background(), cuts); err != nil {
		t.Fatal(err)
	}
}

// Isolate cuts every link between nodes.
func Isolate(t testing.TB, p nemesis.Partitioner, nodes []string) {
	t.Helper()
	var cuts [][2]string
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			cuts = append(cuts, [2]string{a, b})
		}
	}
	Split(t, p, cuts...)
}

// Open opens a client of store's first node, closed when t ends.
func Open(t testing.TB, store adapters.Store) adapters.Client {
	t.Helper()
	c, err := store.Open(t.Context(), store.Nodes()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Objects checks what every real database's adapter promises of its
// counter and set objects, on a client of a fresh run: an untouched
// counter reads 0 and then the sum of its adds; an untouched set reads
// empty and then every element added, once, in order; and an object of a
// kind the adapter does not support fails, naming those it does.
func Objects(t *testing.T, c adapters.Client) {
	t.Helper()
	Perform(t, c, []Step{
		{Op: Counter("read", "c", nil), Want: int64(0), Outcome: history.OK},
		{Op: Counter("add", "c", int64(3)), Outcome: history.OK},
		{Op: Counter("add", "c", int64(-2)), Outcome: history.OK},
		{Op: Counter("add", "c", int64(6)), Outcome: history.OK},
		{Op: Counter("read", "c", nil), Want: int64(7), Outcome: history.OK},
		{Op: Set("read", "s", nil), Want: []any{}, Outcome: history.OK},
		{Op: Set("add", "s", int64(10)), Outcome: history.OK},
		{Op: Set("add", "s", int64(2)), Outcome: history.OK},
		{Op: Set("add", "s", int64(-33)), Outcome: history.OK},
		{Op: Set("add", "s", int64(2)), Outcome: history.OK},
		{Op: Set("read", "s", nil), Want: []any{int64(-33), int64(2), int64(10)}, Outcome: history.OK},
	})
	for _, kind := range []adapters.Kind{adapters.List, adapters.Bank} {
		_, err := c.Do(t.Context(), adapters.Op{Kind: kind, F: "read", Key: "x"})
		if adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), "supports register, counter and set") {
			t.Errorf("%s: %v, want a failure naming the kinds supported", kind, err)
		}
	}
}
