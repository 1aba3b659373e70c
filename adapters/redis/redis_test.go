package redis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"consist/adapters"
	"consist/checker"
	"consist/checker/suite"
	"consist/history"
	"consist/internal/servertest"
	"consist/internal/storetest"
)

// TestMain silences go-redis's own log (a failed dial is logged to
// stderr by a process-wide logger), which the tests provoke on purpose.
func TestMain(m *testing.M) {
	goredis.SetLogger(quiet{})
	os.Exit(m.Run())
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// primary returns the test primary's address, skipping the test without
// one.
func primary(t testing.TB) string { return servertest.Env(t, servertest.RedisPrimary) }

// newStore returns a store on the test servers, closed when the test
// ends.
func newStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Primary == "" {
		opts.Primary = primary(t)
	}
	s, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestRegister(t *testing.T) {
	c := storetest.Open(t, newStore(t, Options{}))
	storetest.Perform(t, c, []storetest.Step{
		{Op: storetest.Reg("read", "k", nil), Want: nil, Outcome: history.OK},
		{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK},
		{Op: storetest.Reg("read", "k", nil), Want: int64(1), Outcome: history.OK},
		{Op: storetest.Reg("cas", "k", []any{int64(1), int64(2)}), Outcome: history.OK},
		{Op: storetest.Reg("cas", "k", []any{int64(1), int64(3)}), Outcome: history.Fail, ErrText: "cas: value was 2, expected 1"},
		{Op: storetest.Reg("cas", "k", []any{nil, int64(3)}), Outcome: history.Fail, ErrText: "value was 2"},
		{Op: storetest.Reg("read", "k", nil), Want: int64(2), Outcome: history.OK},
		{Op: storetest.Reg("cas", "absent", []any{int64(1), int64(3)}), Outcome: history.Fail, ErrText: "value was nil (absent)"},
		{Op: storetest.Reg("cas", "absent", []any{nil, int64(-7)}), Outcome: history.OK},
		{Op: storetest.Reg("read", "absent", nil), Want: int64(-7), Outcome: history.OK},
		{Op: storetest.Reg("write", int64(4), int64(1<<62)), Outcome: history.OK},
		{Op: storetest.Reg("read", int64(4), nil), Want: int64(1 << 62), Outcome: history.OK},
		{Op: storetest.Reg("write", "k", "text"), Outcome: history.Fail, ErrText: "must be an integer"},
		{Op: storetest.Reg("cas", "k", int64(1)), Outcome: history.Fail, ErrText: "needs [expected, new]"},
		{Op: storetest.Reg("append", "k", int64(1)), Outcome: history.Fail, ErrText: `does not support "append"`},
	})
}

// TestObjects: the counter and set objects, and the kinds not supported,
// as every adapter promises them; a register of a counter's name is
// another object.
func TestObjects(t *testing.T) {
	c := storetest.Open(t, newStore(t, Options{}))
	storetest.Objects(t, c)
	storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("read", "c", nil), Want: nil, Outcome: history.OK}})
}

// TestRedisErrorsFail: an error Redis answers means the command did
// nothing, so even a write fails rather than ending unknown.
func TestRedisErrorsFail(t *testing.T) {
	s := newStore(t, Options{})
	c := storetest.Open(t, s)
	// Make the register k and the counter c sets behind the adapter's back.
	for _, key := range []string{s.Prefix() + "register:k", s.Prefix() + "counter:c"} {
		if err := s.admin.SAdd(t.Context(), key, "x").Err(); err != nil {
			t.Fatal(err)
		}
		s.wrote(key)
	}
	storetest.Perform(t, c, []storetest.Step{
		{Op: storetest.Reg("read", "k", nil), Outcome: history.Fail, ErrText: "WRONGTYPE"},
		{Op: storetest.Reg("cas", "k", []any{int64(1), int64(2)}), Outcome: history.Fail, ErrText: "WRONGTYPE"},
		{Op: adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)}, Outcome: history.Fail, ErrText: "WRONGTYPE"},
		// SET replaces a value of any type.
		{Op: storetest.Reg("write", "k", int64(5)), Outcome: history.OK},
		{Op: storetest.Reg("read", "k", nil), Want: int64(5), Outcome: history.OK},
	})
}

// TestScriptFlushed: the cas script is loaded again when the server lost
// it (NOSCRIPT).
func TestScriptFlushed(t *testing.T) {
	s := newStore(t, Options{})
	c := storetest.Open(t, s)
	storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("cas", "k", []any{nil, int64(1)}), Outcome: history.OK}})
	if err := s.admin.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("cas", "k", []any{int64(1), int64(2)}), Outcome: history.OK}})
}

func TestNewErrors(t *testing.T) {
	const password = "hunter2-secret"
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no primary", Options{}, "set Options.Primary"},
		{"no replicas", Options{Primary: "127.0.0.1:1", ReadFromReplica: true}, "list them in Options.Replicas"},
		{"closed port", Options{Primary: "127.0.0.1:1", Password: password, DialTimeout: time.Second}, "127.0.0.1:1 does not answer PING"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(t.Context(), tc.opts)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), password) {
				t.Errorf("error %q: want it to say %q, and never the password", err, tc.want)
			}
		})
	}
}

func TestNewChecksRoles(t *testing.T) {
	p := primary(t)
	r := servertest.List(t, servertest.RedisReplicas)[0]
	if _, err := New(t.Context(), Options{Primary: r}); err == nil || !strings.Contains(err.Error(), "is not a primary") {
		t.Errorf("a replica as primary: %v, want an error saying it is not a primary", err)
	}
	if _, err := New(t.Context(), Options{Primary: p, Replicas: []string{p}, ReadFromReplica: true}); err == nil || !strings.Contains(err.Error(), "is not a replica") {
		t.Errorf("the primary as replica: %v, want an error saying it is not a replica", err)
	}
}

// TestUnreachableFails: a command that could not be sent, because the
// server refused the connection, certainly did nothing.
func TestUnreachableFails(t *testing.T) {
	s := newStore(t, Options{})
	c := &client{s: s, node: "127.0.0.1:1", primary: s.connect("127.0.0.1:1")}
	c.reader = c.primary
	defer c.close()
	storetest.Perform(t, c, []storetest.Step{
		{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.Fail, ErrText: "connection refused"},
		{Op: storetest.Reg("cas", "k", []any{nil, int64(1)}), Outcome: history.Fail, ErrText: "connection refused"},
		{Op: storetest.Reg("read", "k", nil), Outcome: history.Fail, ErrText: "connection refused"},
	})
}

// TestNotSent: which errors mean a write certainly did nothing.
func TestNotSent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("wrapped: %w", goredis.ErrClosed), true},
		{goredis.ErrNoScript, true},
		{goredis.ErrPoolTimeout, true},
		{io.EOF, false},
		{io.ErrUnexpectedEOF, false},
		{context.DeadlineExceeded, false},
		{errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"), false},
		{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}, true},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("i/o timeout")}, false},
	} {
		if got := notSent(tc.err); got != tc.want {
			t.Errorf("notSent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// fakeServer listens on a random port of loopback and, on each
// connection, answers the first command (the client's HELLO) with an
// error, so the client falls back to RESP2, then reads the next command
// and, if hangUp, closes the connection; else it never answers. It
// returns the address.
func fakeServer(t *testing.T, hangUp bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				buf := make([]byte, 4096)
				if _, err := conn.Read(buf); err != nil {
					return
				}
				if _, err := conn.Write([]byte("-ERR unknown command 'HELLO'\r\n")); err != nil {
					return
				}
				if _, err := conn.Read(buf); err != nil || hangUp {
					return
				}
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return l.Addr().String()
}

// TestLostWritesAreUnknown: a write whose connection timed out or was
// closed after it was sent may have taken effect: its outcome is unknown.
// A read in the same plight fails.
func TestLostWritesAreUnknown(t *testing.T) {
	s := newStore(t, Options{})
	for _, hangUp := range []bool{false, true} {
		addr := fakeServer(t, hangUp)
		c := &client{s: s, node: addr, primary: s.connect(addr)}
		c.reader = c.primary
		for _, st := range []storetest.Step{
			{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.Info},
			{Op: storetest.Reg("cas", "k", []any{nil, int64(1)}), Outcome: history.Info},
			{Op: adapters.Op{Kind: adapters.Counter, F: "add", Key: "c", Value: int64(1)}, Outcome: history.Info},
			{Op: storetest.Reg("read", "k", nil), Outcome: history.Fail},
		} {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			_, err := c.Do(ctx, st.Op)
			cancel()
			if o := adapters.Outcome(err); o != st.Outcome {
				t.Errorf("hang up %v, %s: %s (%v), want %s", hangUp, st.Op.F, o, err, st.Outcome)
			}
		}
		c.close()
	}
}

func TestClosedStore(t *testing.T) {
	s, err := New(t.Context(), Options{Primary: primary(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := storetest.Open(t, s)
	storetest.Perform(t, c, []storetest.Step{{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.Perform(t, c, []storetest.Step{
		{Op: storetest.Reg("write", "k", int64(2)), Outcome: history.Fail, ErrText: "closed"},
		{Op: storetest.Reg("read", "k", nil), Outcome: history.Fail, ErrText: "closed"},
	})
	if _, err := s.Open(t.Context(), s.Nodes()[0]); err == nil {
		t.Error("Open on a closed store succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenUnknownNode(t *testing.T) {
	s := newStore(t, Options{})
	if _, err := s.Open(t.Context(), "elsewhere:1"); err == nil || !strings.Contains(err.Error(), s.Nodes()[0]) {
		t.Errorf("Open(elsewhere:1) = %v, want an error naming the nodes", err)
	}
}

// TestCloseDeletesKeys: Close deletes the run's keys unless told to keep
// them, and a fresh store, under a fresh prefix, starts empty.
func TestCloseDeletesKeys(t *testing.T) {
	admin := goredis.NewClient(&goredis.Options{Addr: primary(t)})
	defer admin.Close()
	for _, keep := range []bool{false, true} {
		s, err := New(t.Context(), Options{Primary: primary(t), Keep: keep})
		if err != nil {
			t.Fatal(err)
		}
		c := storetest.Open(t, s)
		storetest.Perform(t, c, []storetest.Step{
			{Op: storetest.Reg("write", "k", int64(1)), Outcome: history.OK},
			{Op: adapters.Op{Kind: adapters.Set, F: "add", Key: "s", Value: int64(1)}, Outcome: history.OK},
		})
		fresh := storetest.Open(t, newStore(t, Options{}))
		storetest.Perform(t, fresh, []storetest.Step{{Op: storetest.Reg("read", "k", nil), Want: nil, Outcome: history.OK}})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		keys, err := admin.Keys(t.Context(), s.Prefix()+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 0, true: 2}[keep]; len(keys) != want {
			t.Errorf("keep %v: %d keys left (%v), want %d", keep, len(keys), keys, want)
		}
		if len(keys) > 0 {
			admin.Del(t.Context(), keys...)
		}
	}
}

// TestReplicaReads: with ReadFromReplica the nodes are the replicas,
// writes go to the primary, reads to the replica — and a replica that has
// not applied a write returns a stale value, which the linearizability
// checker reports.
func TestReplicaReads(t *testing.T) {
	replicas := servertest.List(t, servertest.RedisReplicas)
	s := newStore(t, Options{Replicas: replicas, ReadFromReplica: true})
	if !slices.Equal(s.Nodes(), replicas) {
		t.Fatalf("nodes %v, want the replicas %v", s.Nodes(), replicas)
	}
	replica := goredis.NewClient(&goredis.Options{Addr: replicas[0]})
	defer replica.Close()
	c, err := s.Open(t.Context(), replicas[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var out bytes.Buffer
	rec := history.NewRecorder(&out, 0)
	do := func(op adapters.Op) (any, error) {
		inv := history.Event{Type: history.Invoke, Process: 0, F: op.F, Key: op.Key, Value: op.Value, HasValue: true, Node: replicas[0]}
		if _, err := rec.Record(inv); err != nil {
			t.Fatal(err)
		}
		v, err := c.Do(t.Context(), op)
		done := inv
		done.Type = adapters.Outcome(err)
		if op.F == "read" {
			done.Value = v
		}
		if _, err := rec.Record(done); err != nil {
			t.Fatal(err)
		}
		return v, err
	}
	// Wait for the replica to have the first write: WAIT on the
	// connection that wrote it, the client's own.
	if _, err := do(storetest.Reg("write", "k", int64(1))); err != nil {
		t.Fatal(err)
	}
	if n, err := c.(*client).primary.Wait(t.Context(), 1, 5*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica: %d replicas, %v", n, err)
	}
	if v, err := do(storetest.Reg("read", "k", nil)); err != nil || v != int64(1) {
		t.Fatalf("read from the replica after WAIT: %v, %v; want 1", v, err)
	}
	// A replica paused for writes applies nothing from its primary.
	if err := replica.Do(t.Context(), "CLIENT", "PAUSE", 10000, "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	unpaused := false
	unpause := func() {
		if !unpaused {
			unpaused = true
			if err := replica.Do(context.WithoutCancel(t.Context()), "CLIENT", "UNPAUSE").Err(); err != nil {
				t.Error(err)
			}
		}
	}
	defer unpause()
	if _, err := do(storetest.Reg("write", "k", int64(2))); err != nil {
		t.Fatal(err)
	}
	if v, err := do(storetest.Reg("read", "k", nil)); err != nil || v != int64(1) {
		t.Fatalf("read from the paused replica: %v, %v; want the stale 1", v, err)
	}
	unpause()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := history.Parse(out.Bytes(), t.Name(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	res := suite.Check(t.Context(), h, checker.Options{Timeout: 10 * time.Second}, checker.Linearizable)
	if res[0].Verdict != checker.Invalid {
		t.Errorf("linearizable: %s (%s), want invalid: the last read was stale", res[0].Verdict, res[0].Reason)
	}
}

// TestRunPrimary: ten clients of each workload against the primary,
// without faults: every history holds its workload's strongest model.
func TestRunPrimary(t *testing.T) {
	for _, tc := range []struct {
		workload string
		models   []checker.Model
	}{
		{"register", []checker.Model{checker.Linearizable}},
		{"counter", []checker.Model{checker.Counter}},
		{"set", []checker.Model{checker.SetFull}},
	} {
		t.Run(tc.workload, func(t *testing.T) {
			s := newStore(t, Options{})
			h, counts := storetest.Workload(t, s, tc.workload, 2*time.Second, 3000, 1)
			if counts.OK.Load() < 1000 || counts.Info.Load() != 0 {
				t.Fatalf("%d ok, %d fail, %d info: want at least 1000 ok and no info", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
			}
			storetest.Expect(t, h, tc.models, nil)
		})
	}
}

// TestRunReplicaReads: a run reading from the replicas records each read
// on the replica it was served by. Whether the history is linearizable
// depends on replication timing, so only that is logged.
func TestRunReplicaReads(t *testing.T) {
	replicas := servertest.List(t, servertest.RedisReplicas)
	s := newStore(t, Options{Replicas: replicas, ReadFromReplica: true})
	h, counts := storetest.Workload(t, s, "register", 2*time.Second, 2000, 2)
	if counts.OK.Load() < 1000 || counts.Info.Load() != 0 {
		t.Fatalf("%d ok, %d fail, %d info: want at least 1000 ok and no info", counts.OK.Load(), counts.Fail.Load(), counts.Info.Load())
	}
	for _, e := range h.Events {
		if e.Process != history.Nemesis && !slices.Contains(replicas, e.Node) {
			t.Fatalf("event %d ran on %q, not a replica", e.Index, e.Node)
		}
	}
	res := suite.Check(t.Context(), h, checker.Options{Timeout: 30 * time.Second}, checker.Linearizable)
	t.Logf("reads from replicas: linearizable %s %s, %d anomalies", res[0].Verdict, res[0].Reason, len(res[0].Anomalies))
}

// BenchmarkThroughput drives the primary with 10 clients of the register
// workload as fast as it answers, alternating a run that records nothing
// with one that writes the history to a file, and reports each one's
// throughput and the cost of recording:
//
//	CONSIST_REDIS_PRIMARY=127.0.0.1:6379 go test ./adapters/redis -run '^$' -bench Throughput -benchtime 3x
func BenchmarkThroughput(b *testing.B) {
	storetest.Throughput(b, func(tb testing.TB) adapters.Store { return newStore(tb, Options{}) }, 20_000)
}
