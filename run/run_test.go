package run_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"consist/adapters"
	"consist/adapters/builtin"
	"consist/checker"
	"consist/cluster"
	"consist/history"
	"consist/nemesis"
	"consist/run"
	"consist/run/clock"
	"consist/run/databases"
	"consist/run/folder"
	"consist/run/target"
	"consist/workloads"
)

func register(t *testing.T) workloads.Workload {
	t.Helper()
	wl, err := workloads.New("register", workloads.Options{Keys: 5})
	if err != nil {
		t.Fatal(err)
	}
	return wl
}

// TestRunInMemory runs the single store with no folder: every operation
// and final read is in the history, and it is linearizable.
func TestRunInMemory(t *testing.T) {
	res, err := run.Run(t.Context(), run.Config{Store: "single", Workload: register(t), Clients: 4, Ops: 300, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != "" || res.HistoryPath() != "" {
		t.Fatalf("a run with no Dir wrote %q", res.Dir)
	}
	if res.History == nil || len(res.History.Ops) != 300+4*5 || res.OK+res.Fail+res.Info != 320 {
		t.Fatalf("history of %v operations, counts %d/%d/%d; want 300 and 4×5 final reads", res.History, res.OK, res.Fail, res.Info)
	}
	if len(res.Results()) == 0 || res.Results()[0].Model != checker.Linearizable || res.Results()[0].Verdict != checker.Valid {
		t.Fatalf("single should be linearizable: %+v", res.Results())
	}
}

// TestRunFolder runs paxos under partitions into a folder: run.json,
// history.jsonl and results.json are there and agree, latest points at
// the run, and the nemesis's faults are in the history.
func TestRunFolder(t *testing.T) {
	dir := t.TempDir()
	var started, recorded bool
	res, err := run.Run(t.Context(), run.Config{Store: "paxos", Workload: register(t), Faults: []nemesis.Kind{nemesis.Partition},
		Interval: 100 * time.Millisecond, Duration: 500 * time.Millisecond, Rate: 500, OpTimeout: 250 * time.Millisecond,
		Quiesce: 200 * time.Millisecond, Seed: 3, Dir: dir, Record: folder.RunRecord{Version: "test", Keys: 5},
		Started: func(l run.Live) func() {
			started = l.Counts != nil && l.Nemesis != nil
			return func() {}
		},
		Recorded: func(r run.Result) { recorded = r.Record.Ended != nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !started || !recorded {
		t.Fatalf("hooks: started %v, recorded %v", started, recorded)
	}
	if want := filepath.Join(dir, "paxos-register"); filepath.Dir(res.Dir) != want {
		t.Fatalf("run folder %s, want one under %s", res.Dir, want)
	}
	if target, err := os.Readlink(filepath.Join(dir, folder.Latest)); err != nil || filepath.Join(dir, target) != res.Dir {
		t.Fatalf("latest points at %q (%v), want %s", target, err, res.Dir)
	}
	data, err := os.ReadFile(filepath.Join(res.Dir, folder.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := folder.ParseRunRecord(data, "run.json")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Store != "paxos" || rec.Nemesis != "partition" || rec.Seed != 3 || rec.Version != "test" || rec.Ended == nil || rec.OK != res.OK {
		t.Fatalf("run.json does not describe the run: %+v", rec)
	}
	h, err := history.ReadFile(res.HistoryPath(), history.JSONL)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != len(res.History.Ops) || !strings.Contains(string(mustRead(t, res.HistoryPath())), `"start-partition"`) {
		t.Fatalf("history.jsonl holds %d operations (result %d) and should hold the partitions", len(h.Ops), len(res.History.Ops))
	}
	results, err := folder.ParseResults(mustRead(t, filepath.Join(res.Dir, folder.ResultsFile)), "results.json")
	if err != nil || len(results) != len(res.Results()) {
		t.Fatalf("results.json: %v, %d results; want %d", err, len(results), len(res.Results()))
	}
	for _, r := range results {
		if r.Model == checker.Linearizable && r.Verdict != checker.Valid {
			t.Fatalf("paxos should stay linearizable under partitions: %+v", r)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRunInterrupted: a run whose context ends heals, skips the final
// reads, and still checks what was recorded.
func TestRunInterrupted(t *testing.T) {
	net, err := builtin.Open("paxos", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	ctx, cancel := context.WithCancel(t.Context())
	store := &cancelling{Store: net, after: 50, cancel: cancel}
	res, err := run.Run(ctx, run.Config{System: &run.System{Name: "paxos", Store: store, Faults: net}, Workload: register(t),
		Faults: []nemesis.Kind{nemesis.Kill}, Interval: 20 * time.Millisecond, Rate: 500, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || !res.Record.Interrupted || res.Record.Ended == nil {
		t.Fatalf("interrupted %v, record %+v", res.Interrupted, res.Record)
	}
	if len(res.Results()) == 0 || res.Check.Error != "" || res.History == nil || len(res.History.Ops) < 50 {
		t.Fatalf("the recorded history should be checked: %+v", res.Check)
	}
	// The ten clients finish what they were doing; final reads would
	// add ten times five.
	if n := res.OK + res.Fail + res.Info; n > 50+10 {
		t.Fatalf("%d operations: the interrupted run went on, or made its final reads", n)
	}
}

// cancelling is a store whose clients end the run's context once after
// operations have been performed.
type cancelling struct {
	adapters.Store
	after  int64
	done   atomic.Int64
	cancel context.CancelFunc
}

func (s *cancelling) Open(ctx context.Context, node string) (adapters.Client, error) {
	c, err := s.Store.Open(ctx, node)
	return &cancellingClient{Client: c, s: s}, err
}

type cancellingClient struct {
	adapters.Client
	s *cancelling
}

func (c *cancellingClient) Do(ctx context.Context, op adapters.Op) (any, error) {
	v, err := c.Client.Do(ctx, op)
	if c.s.done.Add(1) == c.s.after {
		c.s.cancel()
	}
	return v, err
}

// TestRunRefuses: settings that cannot run are refused before anything
// is opened or written.
func TestRunRefuses(t *testing.T) {
	wl := register(t)
	appendWl, err := workloads.New("list-append", workloads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bankWl, err := workloads.New("bank", workloads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cfg  run.Config
		want string
	}{
		{run.Config{Workload: wl}, "name what to test"},
		{run.Config{Store: "nosuch", Workload: wl}, "use one of ["},
		{run.Config{Store: "crdt", Workload: appendWl}, "--store crdt cannot run the list-append workload: the crdt store applies each operation to one object, with no transactions"},
		{run.Config{Store: "single", Database: db(t, "etcd"), Workload: wl}, "give one of them"},
		{run.Config{Database: db(t, "redis"), Workload: bankWl}, "--workload bank: the redis target runs the register, counter, set, list-append, rw-register and on-call workloads"},
		{run.Config{Database: db(t, "etcd"), Workload: wl, Faults: []nemesis.Kind{nemesis.Kill}}, "add --cluster local"},
		{run.Config{Database: db(t, "mysql"), Local: true, Workload: wl, Faults: []nemesis.Kind{nemesis.Partition}}, "no peers"},
		{run.Config{Database: db(t, "etcd"), Local: true, Workload: wl, Conn: target.Conn{Endpoints: []string{"127.0.0.1:1"}}}, "leave out --endpoints"},
		{run.Config{Store: "single", Workload: wl, Rate: -1}, "--rate"},
		{run.Config{Store: "single", Workload: wl, Faults: []nemesis.Kind{nemesis.Kind("flood")}}, "unknown fault"},
	} {
		dir := t.TempDir()
		tc.cfg.Dir = dir
		_, err := run.Run(t.Context(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v; want an error saying %q", tc.cfg, err, tc.want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			t.Errorf("%+v: refused, but wrote %v", tc.cfg, entries)
		}
	}
}

// TestRunSystem runs a store the caller opened, which it leaves open.
func TestRunSystem(t *testing.T) {
	net, err := builtin.Open("single", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer net.Close()
	res, err := run.Run(t.Context(), run.Config{System: &run.System{Name: "mine", Store: net}, Workload: register(t), Ops: 100, NoCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.History == nil || len(res.History.Ops) == 0 || len(res.Results()) != 0 {
		t.Fatalf("NoCheck should return the history unchecked: %v, %d results", res.History, len(res.Results()))
	}
	if _, err := run.Run(t.Context(), run.Config{System: &run.System{Name: "mine", Store: net}, Workload: register(t), Ops: 10}); err != nil {
		t.Fatalf("the store should still be open: %v", err)
	}
}

func db(t *testing.T, name string) *target.Database {
	t.Helper()
	d, err := databases.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDatabases: every registered database is complete, runs on a kind
// of cluster package cluster starts, and is found by name and by
// cluster; an unknown name is refused with the list.
func TestDatabases(t *testing.T) {
	for _, d := range databases.All() {
		if err := d.Check(); err != nil {
			t.Error(err)
		}
		if !slices.Contains(cluster.Kinds(), d.Cluster) {
			t.Errorf("%s runs on a %s cluster, which package cluster does not start", d.Name, d.Cluster)
		}
		if got, err := databases.Lookup(d.Name); err != nil || got != d {
			t.Errorf("Lookup(%s): %v", d.Name, err)
		}
		if got, err := databases.OfCluster(d.Cluster); err != nil || got != d {
			t.Errorf("OfCluster(%s): %v", d.Cluster, err)
		}
	}
	if _, err := databases.Lookup("cassandra"); err == nil || !strings.Contains(err.Error(), "use etcd, redis or mysql") {
		t.Errorf("Lookup(cassandra): %v", err)
	}
}

// shifted is a clock that started on 1 January 2000 and runs twice as
// fast as the wall clock, though it waits as long; it counts the waits
// made on it.
type shifted struct {
	sleeps, timeouts atomic.Int64
}

var y2k = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *shifted) Now() time.Time { return y2k.Add(2 * time.Since(wallStart)) }

func (s *shifted) Sleep(ctx context.Context, d time.Duration) bool {
	s.sleeps.Add(1)
	return clock.Wall.Sleep(ctx, d)
}

func (s *shifted) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	s.timeouts.Add(1)
	return clock.Wall.WithTimeout(parent, d)
}

var wallStart = time.Now()

// TestRunKeepsItsClock: the run's start, the history's times, the
// duration, the operations' timeouts, the quiesce and the nemesis's
// intervals all go through Config.Clock, the seam a simulation replaces.
func TestRunKeepsItsClock(t *testing.T) {
	c := &shifted{}
	res, err := run.Run(t.Context(), run.Config{Store: "single", Workload: register(t), Clients: 2, Duration: 200 * time.Millisecond,
		Rate: 200, Faults: []nemesis.Kind{nemesis.Pause}, Interval: 50 * time.Millisecond, Quiesce: 10 * time.Millisecond, Clock: c})
	if err != nil {
		t.Fatal(err)
	}
	if res.Record.Started.Year() != 2000 || res.Record.Ended.Year() != 2000 {
		t.Fatalf("run.json's times are not the clock's: %v to %v", res.Record.Started, res.Record.Ended)
	}
	// The final reads come after 200 ms of wall time, 400 ms of the
	// clock's.
	last := res.History.Events[len(res.History.Events)-1]
	if d := time.Duration(last.Time); d < 400*time.Millisecond || d > time.Minute {
		t.Fatalf("the last event was recorded %v after the start; want at least 400ms on the run's clock", d)
	}
	// The nemesis's calms and faults and the quiesce sleep; the paced
	// clients sleep between ticks; the duration and each operation's
	// timeout are the clock's.
	if c.sleeps.Load() < 4 || c.timeouts.Load() < res.OK {
		t.Fatalf("%d sleeps and %d timeouts on the clock for %d operations", c.sleeps.Load(), c.timeouts.Load(), res.OK)
	}
}

// TestRunRecordsAssumptions: the on-call workload's checks assume writes
// follow reads; the run records it in run.json, and the check makes it.
func TestRunRecordsAssumptions(t *testing.T) {
	wl, err := workloads.New("on-call", workloads.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res, err := run.Run(t.Context(), run.Config{Store: "single", Workload: wl, Clients: 3, Ops: 60, Seed: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(res.Dir, folder.RunFile))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := folder.ParseRunRecord(data, "run.json")
	if err != nil {
		t.Fatal(err)
	}
	if !rec.WFRKeys {
		t.Fatalf("run.json does not record on-call's writes-follow-reads assumption: %s", data)
	}
	for _, r := range res.Results() {
		if r.Verdict != checker.Valid {
			t.Errorf("single is atomic, so %s should hold: %s", r.Model, r.Verdict)
		}
	}
}
