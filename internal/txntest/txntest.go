// Package txntest drives a store with Elle's transactions in the stores'
// integration tests, and says what the transactional checker found.
//
// The transactions are those of Elle's list-append and rw-register
// workloads (Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies
// from Experimental Observations", VLDB 2020; jepsen.tests.cycle.append
// and .wr): each of 1 to MaxLen micro-ops over a small pool of active
// keys, a key retired once it has taken MaxWritesPerKey writes and
// replaced by a fresh one, every written value unique. The tests choose
// the pool, the length and the concurrency to make the contention they
// need, which is why they use this driver rather than the CLI's workload.
package txntest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"consist/adapters"
	"consist/checker"
	"consist/checker/txn"
	"consist/history"
)

// Workload names the kind of transactions.
type Workload string

// The workloads.
const (
	// ListAppend: appends of unique integers and reads of whole lists.
	ListAppend Workload = "list-append"
	// RWRegister: writes of unique integers and reads of registers.
	RWRegister Workload = "rw-register"
)

// Plan is how hard a run drives a store.
type Plan struct {
	Workload Workload
	// Clients run transactions concurrently, one at a time each.
	Clients int
	// Txns is how many transactions the run invokes in all.
	Txns int
	// Keys is the number of active keys (default 3); MaxLen the most
	// micro-ops in a transaction (default 4); MaxWritesPerKey the writes
	// a key takes before it is retired (default 32).
	Keys, MaxLen, MaxWritesPerKey int
	// ReadShare is the share of micro-ops that read, in percent (default
	// 50).
	ReadShare int
	// Interactive gives every transaction a guard (adapters.Op.Guard)
	// that lets it through, so that a store takes the path of
	// transactions whose writes depend on their reads.
	Interactive bool
	// OpTimeout makes a transaction unanswered for that long unknown
	// (default 5 s).
	OpTimeout time.Duration
	Seed      uint64
}

// Result is a run's history and what the checker found in it.
type Result struct {
	History *history.History
	// OK, Fail and Info count the transactions by outcome.
	OK, Fail, Info int
	// Analysis is the checker's, with process and real-time edges.
	Analysis *txn.Analysis
}

// Kinds returns the kinds of anomaly found.
func (r *Result) Kinds() []checker.Kind { return r.Analysis.Kinds() }

// Has reports whether an anomaly of kind k, or one that implies it, was
// found.
func (r *Result) Has(k checker.Kind) bool {
	for _, x := range r.Kinds() {
		if x == k || txn.Implies(x, k) {
			return true
		}
	}
	return false
}

// Verdict judges model m.
func (r *Result) Verdict(m checker.Model) checker.Verdict {
	v, _, _ := r.Analysis.Judge(m)
	return v
}

// Witness returns the explanation of the first anomaly of kind k found,
// or "".
func (r *Result) Witness(k checker.Kind) string {
	for _, a := range r.Analysis.Anomalies {
		if a.Kind == k {
			return a.Explanation()
		}
	}
	return ""
}

// Summary says what the run did and found, for test logs.
func (r *Result) Summary() string {
	var kinds []string
	for _, k := range r.Kinds() {
		kinds = append(kinds, string(k))
	}
	return fmt.Sprintf("%d ok, %d fail, %d info; anomalies: [%s]", r.OK, r.Fail, r.Info, strings.Join(kinds, " "))
}

// gen draws transactions for every client, under a lock: the pool of
// active keys and the unique values are shared.
type gen struct {
	mu     sync.Mutex
	plan   Plan
	rng    *rand.Rand
	active []int64
	writes map[int64]int
	next   int64 // the next fresh key
	value  int64
}

func (g *gen) txn() []adapters.MicroOp {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 1 + g.rng.IntN(g.plan.MaxLen)
	mops := make([]adapters.MicroOp, n)
	for i := range mops {
		slot := g.rng.IntN(len(g.active))
		k := g.active[slot]
		if g.rng.IntN(100) < g.plan.ReadShare {
			mops[i] = adapters.MicroOp{F: "r", Key: k}
			continue
		}
		g.value++
		f := "append"
		if g.plan.Workload == RWRegister {
			f = "w"
		}
		mops[i] = adapters.MicroOp{F: f, Key: k, Value: g.value}
		g.writes[k]++
		if g.writes[k] >= g.plan.MaxWritesPerKey {
			g.active[slot] = g.next
			g.next++
		}
	}
	return mops
}

// Run drives store by plan and checks the history. It fails t when the
// run cannot start or record, or when no transaction committed.
func Run(t testing.TB, store adapters.Store, plan Plan) *Result {
	t.Helper()
	if err := adapters.Supports(store, adapters.Txn); err != nil {
		t.Fatal(err)
	}
	plan = withDefaults(plan)
	g := &gen{plan: plan, rng: rand.New(rand.NewPCG(plan.Seed, 0x7478)), writes: map[int64]int{}}
	for k := range int64(plan.Keys) {
		g.active = append(g.active, k)
	}
	g.next = int64(plan.Keys)
	rec := history.NewMemoryRecorder()
	defer rec.Close()

	var (
		mu          sync.Mutex
		res         Result
		firstErr    error
		nextProcess = plan.Clients
		left        = plan.Txns
	)
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if left == 0 || firstErr != nil {
			return false
		}
		left--
		return true
	}
	stop := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	nodes := store.Nodes()
	var wg sync.WaitGroup
	for w := range plan.Clients {
		wg.Go(func() {
			process := history.Process(w)
			node := nodes[w%len(nodes)]
			var c adapters.Client
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for take() {
				if c == nil {
					var err error
					if c, err = store.Open(context.Background(), node); err != nil {
						stop(fmt.Errorf("open a client on %s: %w", node, err))
						return
					}
				}
				mops := g.txn()
				inv := history.Event{Type: history.Invoke, Process: process, F: "txn", Value: adapters.MicroOpsValue(mops), HasValue: true, Node: node}
				if _, err := rec.Record(inv); err != nil {
					stop(err)
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), plan.OpTimeout)
				op := Op(mops...)
				if plan.Interactive {
					op.Guard = func([]adapters.MicroOp) error { return nil }
				}
				got, err := c.Do(ctx, op)
				cancel()
				done := inv
				done.Type = adapters.Outcome(err)
				if err != nil {
					done.Error = err.Error()
				} else if out, ok := got.([]adapters.MicroOp); ok {
					done.Value = adapters.MicroOpsValue(out)
				} else {
					stop(fmt.Errorf("a transaction returned %T, not its micro-ops", got))
					return
				}
				if _, err := rec.Record(done); err != nil {
					stop(err)
					return
				}
				mu.Lock()
				switch done.Type {
				case history.OK:
					res.OK++
				case history.Fail:
					res.Fail++
				default:
					res.Info++
					process = history.Process(nextProcess)
					nextProcess++
					c.Close()
					c = nil
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if err := rec.Flush(); err != nil {
		t.Fatal(err)
	}
	h, err := rec.History()
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 {
		t.Fatalf("no transaction committed (%d fail, %d info): the store did not serve", res.Fail, res.Info)
	}
	res.History = h
	res.Analysis, err = txn.Analyze(context.Background(), h, checker.Options{Timeout: time.Minute}, true, true)
	if err != nil {
		t.Fatalf("check the history: %v", err)
	}
	return &res
}

func withDefaults(p Plan) Plan {
	if p.Workload == "" {
		p.Workload = ListAppend
	}
	p.Clients = max(p.Clients, 1)
	if p.Keys == 0 {
		p.Keys = 3
	}
	if p.MaxLen == 0 {
		p.MaxLen = 4
	}
	if p.MaxWritesPerKey == 0 {
		p.MaxWritesPerKey = 32
	}
	if p.ReadShare == 0 {
		p.ReadShare = 50
	}
	if p.OpTimeout == 0 {
		p.OpTimeout = 5 * time.Second
	}
	return p
}

// Forbidden returns the anomalies found that rule out model m.
func (r *Result) Forbidden(m checker.Model) []checker.Kind {
	_, _, bad := r.Analysis.Judge(m)
	var out []checker.Kind
	for _, a := range bad {
		if !slices.Contains(out, a.Kind) {
			out = append(out, a.Kind)
		}
	}
	return out
}

// Expect is what a test asserts of a store's runs: models every run must
// satisfy (no anomaly they forbid, whatever the seed), and anomalies the
// runs must show. An anomaly that shows only now and then is sought over
// up to Attempts runs with seeds 1, 2, ...; the search stops once every
// one of Want was seen.
type Expect struct {
	// Hold are the models every run must satisfy.
	Hold []checker.Model
	// Want are the anomalies that must be seen (a kind implying one
	// counts, as Result.Has says); AnyOf groups alternatives, one of
	// each group being enough.
	Want  []checker.Kind
	AnyOf [][]checker.Kind
	// Attempts bounds the runs (default 5).
	Attempts int
}

// Seek runs plan on fresh stores from open, with seeds 1 to e.Attempts,
// failing t when a run breaks a model of e.Hold or when some anomaly of
// e.Want was not seen in any run. It returns, for each anomaly wanted,
// the explanation of one witness, and the last run's result.
func Seek(t *testing.T, open func(t testing.TB) adapters.Store, plan Plan, e Expect) (map[checker.Kind]string, *Result) {
	t.Helper()
	if e.Attempts == 0 {
		e.Attempts = 5
	}
	witnesses := map[checker.Kind]string{}
	missing := func() []string {
		var out []string
		for _, k := range e.Want {
			if _, ok := witnesses[k]; !ok {
				out = append(out, string(k))
			}
		}
		for _, group := range e.AnyOf {
			seen := false
			for _, k := range group {
				_, ok := witnesses[k]
				seen = seen || ok
			}
			if !seen {
				out = append(out, fmt.Sprintf("one of %v", group))
			}
		}
		return out
	}
	var last *Result
	for attempt := 1; attempt <= e.Attempts; attempt++ {
		plan.Seed = uint64(attempt)
		r := Run(t, open(t), plan)
		last = r
		t.Logf("seed %d: %s", plan.Seed, r.Summary())
		for _, m := range e.Hold {
			if v := r.Verdict(m); v != checker.Valid {
				_, reason, bad := r.Analysis.Judge(m)
				why := reason
				if len(bad) > 0 {
					why = bad[0].Explanation()
				}
				t.Fatalf("seed %d: %s is %s, want valid: %s", plan.Seed, m, v, why)
			}
		}
		wanted := append([]checker.Kind{}, e.Want...)
		for _, group := range e.AnyOf {
			wanted = append(wanted, group...)
		}
		for _, k := range wanted {
			if _, ok := witnesses[k]; ok || !r.Has(k) {
				continue
			}
			w := r.Witness(k)
			for _, x := range r.Kinds() {
				if w == "" && Implies(x, k) {
					w = r.Witness(x)
				}
			}
			witnesses[k] = w
		}
		if len(missing()) == 0 {
			return witnesses, last
		}
	}
	t.Fatalf("after %d runs, never saw %s", e.Attempts, strings.Join(missing(), ", "))
	return witnesses, last
}

// Implies reports whether an anomaly of kind x is also one of kind k.
func Implies(x, k checker.Kind) bool { return x == k || txn.Implies(x, k) }

// Mop is a micro-op.
func Mop(f string, k, v any) adapters.MicroOp { return adapters.MicroOp{F: f, Key: k, Value: v} }

// Op is a transaction of mops.
func Op(mops ...adapters.MicroOp) adapters.Op {
	return adapters.Op{Kind: adapters.Txn, F: "txn", Value: mops}
}

// Do performs a transaction that must commit on c and returns its
// micro-ops as the history records them.
func Do(t testing.TB, c adapters.Client, mops ...adapters.MicroOp) any {
	t.Helper()
	got, err := c.Do(t.Context(), Op(mops...))
	if err != nil {
		t.Fatalf("txn %s: %v", history.Describe(adapters.MicroOpsValue(mops)), err)
	}
	out, ok := got.([]adapters.MicroOp)
	if !ok {
		t.Fatalf("txn returned %T, not its micro-ops", got)
	}
	return adapters.MicroOpsValue(out)
}

// Step is a transaction and what it must read: the history's form of
// its micro-ops once it committed.
type Step struct {
	Mops []adapters.MicroOp
	Want []any
}

// Perform runs steps in order on c, each of which must commit and read
// what it wants.
func Perform(t testing.TB, c adapters.Client, steps []Step) {
	t.Helper()
	for _, st := range steps {
		if got := Do(t, c, st.Mops...); !history.Equal(got, st.Want) {
			t.Errorf("txn %s = %s, want %s", history.Describe(adapters.MicroOpsValue(st.Mops)), history.Describe(got), history.Describe(st.Want))
		}
	}
}

// Semantics checks, on a client of a store with nothing written yet, the
// transactions every store that takes them must get right: reads of lists
// and registers, a transaction's reads seeing its own writes, what is
// refused before anything is sent, and Op.Guard. Keys 1 and 5 are used,
// and "other".
func Semantics(t *testing.T, c adapters.Client) {
	t.Helper()
	i := func(n int64) any { return n }
	Perform(t, c, []Step{
		{[]adapters.MicroOp{Mop("r", int64(1), nil)}, []any{[]any{"r", i(1), nil}}},
		{[]adapters.MicroOp{Mop("append", int64(1), int64(10)), Mop("r", int64(1), nil)},
			[]any{[]any{"append", i(1), i(10)}, []any{"r", i(1), []any{i(10)}}}},
		{[]adapters.MicroOp{Mop("r", int64(1), nil), Mop("append", int64(1), int64(11)), Mop("r", int64(1), nil), Mop("r", "other", nil)},
			[]any{[]any{"r", i(1), []any{i(10)}}, []any{"append", i(1), i(11)}, []any{"r", i(1), []any{i(10), i(11)}}, []any{"r", "other", nil}}},
		{[]adapters.MicroOp{Mop("w", int64(5), int64(1)), Mop("r", int64(5), nil), Mop("w", int64(5), int64(-2)), Mop("r", int64(5), nil)},
			[]any{[]any{"w", i(5), i(1)}, []any{"r", i(5), i(1)}, []any{"w", i(5), i(-2)}, []any{"r", i(5), i(-2)}}},
		{[]adapters.MicroOp{Mop("r", int64(5), nil), Mop("r", int64(1), nil)},
			[]any{[]any{"r", i(5), i(-2)}, []any{"r", i(1), []any{i(10), i(11)}}}},
	})
	for _, tc := range []struct {
		op   adapters.Op
		want string
	}{
		{Op(Mop("cas", int64(1), int64(1))), "micro-ops are append, w and r"},
		{Op(Mop("append", int64(1), int64(12)), Mop("append", int64(1), "x")), "integer"},
		{adapters.Op{Kind: adapters.Txn, F: "txn", Value: []any{"r", 1, nil}}, "[]adapters.MicroOp"},
	} {
		_, err := c.Do(t.Context(), tc.op)
		if adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a failure saying %q", history.Describe(tc.op.Value), err, tc.want)
		}
	}
	// A guard sees the reads before the first write, and its error aborts.
	guarded := Op(Mop("r", int64(5), nil), Mop("w", int64(5), int64(9)), Mop("append", int64(1), int64(12)))
	var seen any
	guarded.Guard = func(reads []adapters.MicroOp) error {
		seen = adapters.MicroOpsValue(reads)
		return fmt.Errorf("not today")
	}
	if _, err := c.Do(t.Context(), guarded); adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), "not today") {
		t.Errorf("a transaction whose guard refused: %v, want a failure with the guard's reason", err)
	}
	if want := []any{[]any{"r", i(5), i(-2)}}; !history.Equal(seen, want) {
		t.Errorf("the guard saw %s, want %s", history.Describe(seen), history.Describe(want))
	}
	// Nothing of the refused transactions was applied.
	Perform(t, c, []Step{{[]adapters.MicroOp{Mop("r", int64(1), nil), Mop("r", int64(5), nil)},
		[]any{[]any{"r", i(1), []any{i(10), i(11)}}, []any{"r", i(5), i(-2)}}}})
	guarded.Guard = func([]adapters.MicroOp) error { return nil }
	if _, err := c.Do(t.Context(), guarded); err != nil {
		t.Errorf("a transaction whose guard allowed it: %v", err)
	}
	// A guard is called even when the transaction writes first, with no
	// reads.
	blind := Op(Mop("w", int64(5), int64(7)), Mop("r", int64(5), nil))
	blind.Guard = func(reads []adapters.MicroOp) error {
		if len(reads) != 0 {
			t.Errorf("a guard before a first write saw %s, want nothing", history.Describe(adapters.MicroOpsValue(reads)))
		}
		return fmt.Errorf("not today")
	}
	if _, err := c.Do(t.Context(), blind); adapters.Outcome(err) != history.Fail || !strings.Contains(err.Error(), "not today") {
		t.Errorf("a transaction writing first whose guard refused: %v, want a failure with the guard's reason", err)
	}
	Perform(t, c, []Step{{[]adapters.MicroOp{Mop("r", int64(1), nil), Mop("r", int64(5), nil)},
		[]any{[]any{"r", i(1), []any{i(10), i(11), i(12)}}, []any{"r", i(5), i(9)}}}})
}
