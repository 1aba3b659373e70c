package etcd

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"consist/adapters"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
)

func open(t *testing.T) (*Store, adapters.Client) {
	t.Helper()
	s, err := New(t.Context(), Options{Endpoints: servertest.List(t, servertest.EtcdEndpoints)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Open(t.Context(), s.Nodes()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return s, c
}

func TestRegister(t *testing.T) {
	_, c := open(t)
	reg := storetest.Reg
	storetest.Perform(t, c, []storetest.Step{
		{Op: reg("read", "x", nil), Want: nil, Outcome: history.OK},
		{Op: reg("cas", "x", []any{int64(1), int64(2)}), Outcome: history.Fail, ErrText: "not the expected"}, // nothing to compare with
		{Op: reg("cas", "x", []any{nil, int64(1)}), Outcome: history.OK},                                     // nil expected: never created
		{Op: reg("cas", "x", []any{nil, int64(9)}), Outcome: history.Fail},
		{Op: reg("read", "x", nil), Want: int64(1), Outcome: history.OK},
		{Op: reg("write", "x", int64(3)), Outcome: history.OK},
		{Op: reg("cas", "x", []any{int64(1), int64(4)}), Outcome: history.Fail},
		{Op: reg("cas", "x", []any{int64(3), int64(4)}), Outcome: history.OK},
		{Op: reg("read", "x", nil), Want: int64(4), Outcome: history.OK},
	})
}

// TestObjects: the counter and set objects, and the kinds not supported,
// as every adapter promises them.
func TestObjects(t *testing.T) {
	_, c := open(t)
	storetest.Objects(t, c)
}

// TestRunsDoNotShareKeys: two stores with the default prefix see
// different registers, so every run starts empty.
func TestRunsDoNotShareKeys(t *testing.T) {
	s1, c1 := open(t)
	s2, c2 := open(t)
	if s1.Prefix() == s2.Prefix() {
		t.Fatalf("two stores share the prefix %q", s1.Prefix())
	}
	storetest.Perform(t, c1, []storetest.Step{{Op: storetest.Reg("write", "x", int64(1)), Outcome: history.OK}})
	storetest.Perform(t, c2, []storetest.Step{{Op: storetest.Reg("read", "x", nil), Want: nil, Outcome: history.OK}}) // not the first run's 1
}

// TestNoServer: New says no member answered; a client of a member that is
// down fails its reads (they changed nothing) and leaves writes unknown.
func TestNoServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := New(ctx, Options{Endpoints: []string{dead}, DialTimeout: 200 * time.Millisecond}); err == nil {
		t.Fatal("New succeeded with no server")
	}
	s := &Store{opts: Options{Endpoints: []string{dead}, Prefix: "consist/test/", DialTimeout: 200 * time.Millisecond}}
	c, err := s.Open(ctx, dead)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	opCtx, opCancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer opCancel()
	if _, err := c.Do(opCtx, adapters.Op{Kind: adapters.Register, F: "read", Key: "x"}); !errors.Is(err, adapters.ErrNotApplied) {
		t.Errorf("a read of a dead member: %v, want a failure (not applied)", err)
	}
	opCtx2, opCancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer opCancel2()
	if _, err := c.Do(opCtx2, adapters.Op{Kind: adapters.Register, F: "write", Key: "x", Value: int64(1)}); err == nil || errors.Is(err, adapters.ErrNotApplied) {
		t.Errorf("a write to a dead member: %v, want unknown", err)
	}
}

// BenchmarkThroughput drives the members with 10 clients of the register
// workload as fast as they answer, alternating a run that records
// nothing with one that writes the history to a file:
//
//	CONSIST_ETCD_ENDPOINTS=127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793 go test ./adapters/etcd -run '^$' -bench Throughput -benchtime 3x
func BenchmarkThroughput(b *testing.B) {
	storetest.Throughput(b, func(tb testing.TB) adapters.Store {
		s, err := New(context.Background(), Options{Endpoints: servertest.List(tb, servertest.EtcdEndpoints)})
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}, 5_000)
}
