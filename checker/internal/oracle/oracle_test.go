package oracle_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"consist/checker"
	"consist/checker/causal"
	"consist/checker/internal/oracle"
	"consist/checker/linearizable"
	"consist/checker/sequential"
	"consist/checker/session"
	"consist/history"
)

// build makes a history from compact op lines "P F KEY VALUE... [TYPE]":
// P is the process, F is r, w or cas, KEY is a key or "-" for the default
// object, the values are integers or nil (a read's value is what it
// returned; a cas has two). Without TYPE the line is an invocation
// immediately followed by its ok completion; TYPE invoke, ok, info or fail
// writes that single event instead, so operations can overlap.
func build(t testing.TB, lines ...string) *history.History {
	t.Helper()
	var events []history.Event
	for _, line := range lines {
		f := strings.Fields(line)
		p, err := strconv.Atoi(f[0])
		if err != nil {
			t.Fatalf("line %q: process: %v", line, err)
		}
		e := history.Event{Process: history.Process(p), Time: history.NoTime, HasValue: true}
		e.F = map[string]string{"r": "read", "w": "write", "cas": "cas"}[f[1]]
		if f[2] != "-" {
			e.Key = f[2]
		}
		rest := f[3:]
		typ := ""
		if last := rest[len(rest)-1]; last == "invoke" || last == "ok" || last == "info" || last == "fail" {
			typ, rest = last, rest[:len(rest)-1]
		}
		var vals []any
		for _, s := range rest {
			if s == "nil" {
				vals = append(vals, nil)
				continue
			}
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("line %q: value %q: %v", line, s, err)
			}
			vals = append(vals, n)
		}
		e.Value = vals[0]
		if e.F == "cas" {
			e.Value = vals
		}
		inv := e
		if e.F == "read" {
			inv.Value = nil
		}
		switch typ {
		case "":
			inv.Type, e.Type = history.Invoke, history.OK
			events = append(events, inv, e)
		case "invoke":
			inv.Type = history.Invoke
			events = append(events, inv)
		default:
			e.Type, _ = history.ParseType(typ)
			events = append(events, e)
		}
	}
	for i := range events {
		events[i].Index = int64(i)
	}
	h, err := history.New("test", events)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return h
}

const (
	V = checker.Valid
	I = checker.Invalid
)

// TestOracleHandMade checks the oracle's verdicts, and the fast checkers',
// on small histories whose verdicts follow from the definitions by hand.
func TestOracleHandMade(t *testing.T) {
	tests := []struct {
		name  string
		ops   []string
		scope checker.Scope
		opts  checker.Options
		want  map[checker.Model]checker.Verdict
	}{{
		name: "store buffering (Dekker)",
		ops:  []string{"0 w x 1", "0 r y nil", "1 w y 1", "1 r x nil"},
		want: map[checker.Model]checker.Verdict{
			checker.Linearizable: I, checker.Sequential: I, checker.Causal: V, checker.CausalConvergence: V,
			checker.WeakCausal: V, checker.PRAM: V, checker.WritesFollowReads: V,
		},
	}, {
		name: "IRIW",
		ops:  []string{"0 w x 1", "1 w y 1", "2 r x 1", "2 r y nil", "3 r y 1", "3 r x nil"},
		want: map[checker.Model]checker.Verdict{
			checker.Sequential: I, checker.Causal: V, checker.CausalConvergence: V, checker.WeakCausal: V, checker.PRAM: V,
		},
	}, {
		// Two readers see two concurrent writes in opposite orders: every
		// view exists, but no single arbitration serves both.
		name: "readers disagree on the order of concurrent writes",
		ops:  []string{"0 w x 1", "1 w x 2", "2 r x 1", "2 r x 2", "3 r x 2", "3 r x 1"},
		want: map[checker.Model]checker.Verdict{
			checker.Sequential: I, checker.Causal: V, checker.CausalConvergence: I, checker.WeakCausal: V,
			checker.PRAM: V, checker.MonotonicReads: V, checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		name: "each writer reads the other's write after its own",
		ops:  []string{"0 w x 1", "0 r x 2", "1 w x 2", "1 r x 1"},
		want: map[checker.Model]checker.Verdict{
			checker.Sequential: I, checker.Causal: V, checker.CausalConvergence: I, checker.WeakCausal: V,
			checker.ReadYourWrites: V,
		},
	}, {
		// Each read alone has a causal past that explains it, but p2's
		// reads flip back: weak-causal only. Each read alone can be served
		// by a replica that applied the writes in order, so only
		// monotonic-reads of the session guarantees breaks.
		name: "reads flip back",
		ops:  []string{"0 w x 1", "1 w x 2", "2 r x 1", "2 r x 2", "2 r x 1"},
		want: map[checker.Model]checker.Verdict{
			checker.Causal: I, checker.CausalConvergence: I, checker.WeakCausal: V, checker.PRAM: I,
			checker.ReadYourWrites: V, checker.MonotonicReads: I, checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		// p2's read of x can be served by a replica that has neither
		// write: writes-follow-reads (y=1 is never visible without x=1)
		// and monotonic-reads (p2's states grow) each hold alone; only
		// together, as in causal memory, do they rule it out.
		name: "causal chain broken",
		ops:  []string{"0 w x 1", "1 r x 1", "1 w y 1", "2 r y 1", "2 r x nil"},
		want: map[checker.Model]checker.Verdict{
			checker.Causal: I, checker.CausalConvergence: I, checker.WeakCausal: I, checker.PRAM: V,
			checker.ReadYourWrites: V, checker.MonotonicReads: V, checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		// p2's cas takes effect on a state that holds y=1, hence x=1,
		// yet found x unwritten.
		name: "cas without the cause of what the process read",
		ops:  []string{"0 w x 1", "1 r x 1", "1 w y 1", "2 r y 1", "2 cas x nil 2"},
		want: map[checker.Model]checker.Verdict{
			checker.Causal: I, checker.PRAM: V, checker.ReadYourWrites: V, checker.MonotonicReads: V,
			checker.MonotonicWrites: V, checker.WritesFollowReads: I,
		},
	}, {
		name:  "cas without the cause of what the process read, per key",
		ops:   []string{"0 w x 1", "1 r x 1", "1 w y 1", "2 r y 1", "2 cas x nil 2"},
		scope: checker.ScopeKey,
		want:  map[checker.Model]checker.Verdict{checker.WritesFollowReads: V},
	}, {
		// The cas takes effect on a state that holds the process's
		// earlier write.
		name: "cas misses the process's own earlier write",
		ops:  []string{"0 w x 1", "0 cas x nil 2"},
		want: map[checker.Model]checker.Verdict{
			checker.PRAM: I, checker.ReadYourWrites: I, checker.MonotonicReads: V, checker.MonotonicWrites: I,
			checker.WritesFollowReads: V,
		},
	}, {
		// p's second cas follows its first, which follows y=1, which
		// follows x=1 in p0's order: it takes effect on a state holding
		// x=1.
		name: "cas misses what an earlier cas of the process had to see",
		ops:  []string{"0 w x 1", "0 w y 1", "1 cas y 1 2", "1 cas x nil 3"},
		want: map[checker.Model]checker.Verdict{
			checker.PRAM: I, checker.MonotonicWrites: I, checker.MonotonicReads: V, checker.WritesFollowReads: V,
			checker.ReadYourWrites: V,
		},
	}, {
		name:  "cas misses what an earlier cas of the process had to see, per key",
		ops:   []string{"0 w x 1", "0 w y 1", "1 cas y 1 2", "1 cas x nil 3"},
		scope: checker.ScopeKey,
		want:  map[checker.Model]checker.Verdict{checker.MonotonicWrites: V},
	}, {
		// Issue 14.8 in miniature (a Stale store of internal/histgen
		// produces it): p1's cas makes k8=2 and then p1 writes k2=1; p2
		// overwrites k2 with 2 without having seen either. p3 reads k2=2,
		// then a stale k8=1, and later, through p4's write of k5 made
		// after reading k2=1, learns of k2=1. Arbitration puts k2=1
		// before k2=2, but that does not make k2=1 (nor k8=2 before it)
		// visible to p3's first read: no guarantee breaks. It is not causal
		// memory, but it is causal convergence.
		name: "arbitrated before is not visible",
		ops: []string{"0 w k8 1", "1 cas k8 1 2", "1 w k2 1", "2 w k2 2", "3 r k2 2", "3 r k8 1",
			"4 r k2 1", "4 w k5 1", "3 r k5 1", "3 r k2 2"},
		want: map[checker.Model]checker.Verdict{
			checker.Causal: I, checker.CausalConvergence: V, checker.PRAM: V, checker.ReadYourWrites: V,
			checker.MonotonicReads: V, checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		// The counterexample: the second read is served by a
		// state without the write. Reads going back in time break
		// monotonic-reads and nothing else.
		name: "read of a write, then of the initial value",
		ops:  []string{"0 w x 1", "1 r x 1", "1 r x nil"},
		want: map[checker.Model]checker.Verdict{
			checker.Causal: I, checker.PRAM: I, checker.ReadYourWrites: V, checker.MonotonicReads: I,
			checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		name:  "causal chain broken, per key",
		ops:   []string{"0 w x 1", "1 r x 1", "1 w y 1", "2 r y 1", "2 r x nil"},
		scope: checker.ScopeKey,
		want:  map[checker.Model]checker.Verdict{checker.Causal: I, checker.WritesFollowReads: V, checker.MonotonicWrites: V},
	}, {
		// Two reads served by two states, each of them closed under p0's
		// write order: monotonic-writes holds, and monotonic-reads (whose
		// log may put y=1 first); PRAM (which is read-your-writes,
		// monotonic-reads and monotonic-writes held together, in one log,
		// Brzezinski et al. 2003: see Together) does not.
		name: "one writer's writes out of order",
		ops:  []string{"0 w x 1", "0 w y 1", "1 r y 1", "1 r x nil"},
		want: map[checker.Model]checker.Verdict{
			checker.Causal: I, checker.PRAM: I, checker.MonotonicWrites: V, checker.MonotonicReads: V,
			checker.WritesFollowReads: V, checker.ReadYourWrites: V,
		},
	}, {
		// Nothing makes p1's cas take effect on a state holding y=1
		// unless its states grow too (monotonic-reads), as PRAM has it.
		name: "cas without an earlier write of the writer of what it saw",
		ops:  []string{"0 w x 1", "0 w y 1", "1 r y 1", "1 cas x nil 2"},
		want: map[checker.Model]checker.Verdict{
			checker.PRAM: I, checker.MonotonicWrites: V, checker.MonotonicReads: V, checker.WritesFollowReads: V,
		},
	}, {
		name:  "one writer's writes out of order, per key",
		ops:   []string{"0 w x 1", "0 w y 1", "1 r y 1", "1 r x nil"},
		scope: checker.ScopeKey,
		want:  map[checker.Model]checker.Verdict{checker.PRAM: I, checker.MonotonicWrites: V},
	}, {
		// A cas counts as a read and a separate write for
		// read-your-writes alone, and nothing orders its read before its
		// write there.
		name: "cas then a read of the value it replaced",
		ops:  []string{"0 w x 1", "1 cas x 1 2", "1 r x 1"},
		want: map[checker.Model]checker.Verdict{
			checker.Sequential: I, checker.PRAM: I, checker.ReadYourWrites: V, checker.MonotonicReads: I,
		},
	}, {
		name: "missing one's own write",
		ops:  []string{"0 w x 1", "0 r x nil"},
		want: map[checker.Model]checker.Verdict{
			checker.WeakCausal: I, checker.PRAM: I, checker.ReadYourWrites: I, checker.MonotonicReads: V,
			checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		name: "thin-air read",
		ops:  []string{"0 w x 1", "1 r x 7"},
		want: map[checker.Model]checker.Verdict{
			checker.Linearizable: I, checker.Sequential: I, checker.WeakCausal: I, checker.ReadYourWrites: I,
			checker.MonotonicReads: I, checker.MonotonicWrites: I, checker.WritesFollowReads: I,
		},
	}, {
		name: "lagging reader",
		ops:  []string{"0 w x 1", "1 r x nil", "1 r x 1"},
		want: map[checker.Model]checker.Verdict{checker.Linearizable: I, checker.Sequential: V},
	}, {
		name: "crashed write that was read is kept",
		ops:  []string{"0 w x 1 invoke", "0 w x 1 info", "1 r x 1", "1 r x nil"},
		want: map[checker.Model]checker.Verdict{checker.Linearizable: I, checker.Sequential: I, checker.MonotonicReads: I},
	}, {
		name: "crashed write nobody read is dropped",
		ops:  []string{"0 w x 1 invoke", "0 w x 1 info", "1 r x nil", "1 w x 2", "1 r x 2"},
		want: map[checker.Model]checker.Verdict{checker.Linearizable: V, checker.Sequential: V, checker.Causal: V},
	}, {
		name: "crashed write may take effect after the crash",
		ops:  []string{"0 w x 1 invoke", "0 w x 1 info", "1 r x nil", "1 r x 1"},
		want: map[checker.Model]checker.Verdict{checker.Linearizable: V},
	}, {
		name: "open write read before it began is not linearizable",
		ops:  []string{"1 r x 1", "0 w x 1 invoke"},
		want: map[checker.Model]checker.Verdict{checker.Linearizable: I, checker.Sequential: V},
	}, {
		name: "failed write is dropped",
		ops:  []string{"0 w x 1 invoke", "0 w x 1 fail", "1 r x 1"},
		want: map[checker.Model]checker.Verdict{checker.Sequential: I, checker.Causal: I, checker.MonotonicReads: I},
	}, {
		name: "nil read of unknown value constrains nothing",
		ops:  []string{"0 w x 1", "0 r x nil"},
		opts: checker.Options{NilRead: checker.NilReadUnknown},
		want: map[checker.Model]checker.Verdict{checker.Linearizable: V, checker.ReadYourWrites: V},
	}, {
		name: "initial value given",
		ops:  []string{"0 r x 0", "0 w x 1", "1 r x nil"},
		opts: checker.Options{Initial: int64(0)},
		want: map[checker.Model]checker.Verdict{checker.Sequential: I, checker.MonotonicReads: I},
	}, {
		name: "concurrent write and read, fully valid",
		ops:  []string{"0 w x 1 invoke", "1 r x nil invoke", "0 w x 1 ok", "1 r x 1 ok", "1 cas x 1 2", "0 r x 2"},
		want: map[checker.Model]checker.Verdict{
			checker.Linearizable: V, checker.Sequential: V, checker.Causal: V, checker.CausalConvergence: V,
			checker.WeakCausal: V, checker.PRAM: V, checker.ReadYourWrites: V, checker.MonotonicReads: V,
			checker.MonotonicWrites: V, checker.WritesFollowReads: V,
		},
	}, {
		// co = so ∪ wr is cyclic: each reads the value the other writes
		// afterwards.
		name: "causal cycle",
		ops:  []string{"0 r x 2", "0 w y 1", "1 r y 1", "1 w x 2"},
		want: map[checker.Model]checker.Verdict{
			checker.Sequential: I, checker.Causal: I, checker.CausalConvergence: I, checker.WeakCausal: I,
			checker.PRAM: V, checker.WritesFollowReads: I, checker.MonotonicWrites: V,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := build(t, tt.ops...)
			opts := tt.opts
			opts.SessionScope = tt.scope
			got, err := oracle.Verdicts(h, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(oracle.AllModels) {
				t.Errorf("got verdicts for %d models, want %d", len(got), len(oracle.AllModels))
			}
			fastGot := fast(h, opts)
			for m, want := range tt.want {
				if got[m] != want {
					t.Errorf("%s: got %s, want %s", m, got[m], want)
				}
				if res := fastGot[m]; res.Verdict != want && res.Verdict != checker.Unknown {
					t.Errorf("%s: fast checker %s, want %s", m, describe(res), want)
				}
			}
		})
	}
}

// TestOracleRefuses checks the oracle's limits.
func TestOracleRefuses(t *testing.T) {
	var many []string
	for i := range oracle.MaxOps + 1 {
		many = append(many, fmt.Sprintf("0 w x %d", i+1))
	}
	if _, err := oracle.Verdicts(build(t, many...), checker.Options{}); !errors.Is(err, oracle.ErrTooLarge) {
		t.Errorf("%d ops: got error %v, want ErrTooLarge", len(many), err)
	}
	if _, err := oracle.Verdicts(build(t, many[:oracle.MaxOps]...), checker.Options{}); err != nil {
		t.Errorf("%d ops: %v", oracle.MaxOps, err)
	}
	add := []history.Event{
		{Type: history.Invoke, Process: 0, F: "add", Value: int64(1), HasValue: true, Time: history.NoTime},
		{Index: 1, Type: history.OK, Process: 0, F: "add", Value: int64(1), HasValue: true, Time: history.NoTime},
	}
	h, err := history.New("add", add)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oracle.Verdicts(h, checker.Options{}); err == nil || !strings.Contains(err.Error(), `"add"`) {
		t.Errorf("add: got error %v, want one naming the function", err)
	}
}

// TestOracleRepeatedWrites checks that with a value written twice only
// linearizable and sequential are decided.
func TestOracleRepeatedWrites(t *testing.T) {
	tests := []struct {
		name     string
		ops      []string
		lin, seq checker.Verdict
	}{
		{"value written twice", []string{"0 w x 1", "1 w x 1", "1 r x 1", "0 r x 1"}, V, V},
		{"initial value written", []string{"0 w x nil", "1 r x nil"}, V, V},
		{"a value written twice is read twice too often", []string{"0 w x 1", "0 w x 2", "0 w x 1", "1 r x 1", "1 r x 2", "1 r x 1", "1 r x 2"}, I, I},
		{"a value written twice is read twice", []string{"0 w x 1", "0 w x 2", "0 w x 1", "1 r x 1", "1 r x 2", "1 r x 1"}, I, V},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := oracle.Verdicts(build(t, tt.ops...), checker.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[checker.Model]checker.Verdict{checker.Linearizable: tt.lin, checker.Sequential: tt.seq}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

// TestRandomIsDeterministic checks that the generator and the mutations
// depend on the seed alone and always produce histories that pair.
func TestRandomIsDeterministic(t *testing.T) {
	for seed := range uint64(200) {
		a := oracle.Random(rand.New(rand.NewPCG(seed, 1)), oracle.Config{})
		b := oracle.Random(rand.New(rand.NewPCG(seed, 1)), oracle.Config{})
		if jsonl(a) != jsonl(b) {
			t.Fatalf("seed %d: two generations differ:\n%s\n%s", seed, jsonl(a), jsonl(b))
		}
		if _, err := history.New("random", a); err != nil {
			t.Fatalf("seed %d: %v\n%s", seed, err, jsonl(a))
		}
		r := rand.New(rand.NewPCG(seed, 2))
		for _, m := range []oracle.Mutation{oracle.ReadOther, oracle.ReadInitial, oracle.Swap} {
			mut, ok := oracle.Mutate(r, a, m, nil)
			if _, err := history.New("mutant", mut); err != nil {
				t.Fatalf("seed %d mutation %d: %v\n%s", seed, m, err, jsonl(mut))
			}
			if ok == (jsonl(mut) == jsonl(a)) {
				t.Errorf("seed %d mutation %d: reported change %v, but the history changed: %v", seed, m, ok, jsonl(mut) != jsonl(a))
			}
		}
	}
}

// TestRandomCoverage checks that the generator produces the variety the
// agreement test relies on: valid and invalid histories for every model.
func TestRandomCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	valid, invalid := map[checker.Model]int{}, map[checker.Model]int{}
	for range 500 {
		h, err := history.New("random", oracle.Random(r, oracle.Config{}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := oracle.Verdicts(h, checker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for m, v := range got {
			if v == V {
				valid[m]++
			} else {
				invalid[m]++
			}
		}
	}
	for _, m := range oracle.AllModels {
		if valid[m] < 25 || invalid[m] < 25 {
			t.Errorf("%s: %d valid and %d invalid of 500; want at least 25 of each", m, valid[m], invalid[m])
		}
	}
}

func jsonl(events []history.Event) string {
	var b strings.Builder
	if err := history.WriteJSONL(&b, events); err != nil {
		panic(err)
	}
	return b.String()
}

// shapes are the bounds of the random histories, used in turn: few
// processes on one key (dense conflicts), the default, the largest
// histories the oracle takes, and three keys, where the session
// guarantees' orders run across keys.
var shapes = []oracle.Config{
	{MaxProcs: 2, MaxKeys: 1, MaxOps: 8},
	{MaxProcs: 4, MaxKeys: 2, MaxOps: 8},
	{MaxProcs: 3, MaxKeys: 2, MaxOps: oracle.MaxOps},
	{MaxProcs: 3, MaxKeys: 3, MaxOps: 9},
}

// corpus calls visit on random histories and on mutations of each, with
// shapes and options varied by turn: mostly default options, sometimes an
// initial value of 0 or nil reads of unknown value.
func corpus(t *testing.T, seed uint64, histories int, visit func(events []history.Event, h *history.History, opts checker.Options)) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 11))
	for i := range histories {
		opts := checker.Options{}
		switch i % 10 {
		case 7:
			opts.Initial = int64(0)
		case 8:
			opts.NilRead = checker.NilReadUnknown
		}
		cfg := shapes[i%len(shapes)]
		cfg.Initial = opts.Initial
		events := oracle.Random(r, cfg)
		variants := [][]history.Event{events}
		for _, m := range []oracle.Mutation{oracle.ReadOther, oracle.ReadInitial, oracle.Swap} {
			if mut, ok := oracle.Mutate(r, events, m, opts.Initial); ok {
				variants = append(variants, mut)
			}
		}
		for _, ev := range variants {
			h, err := history.New("random", ev)
			if err != nil {
				t.Fatalf("%v\n%s", err, jsonl(ev))
			}
			visit(ev, h, opts)
		}
	}
}

// implications are the pairs (a, b), a ≠ b, with every history valid under
// a valid under b: the lattice's.
func implications() [][2]checker.Model {
	var out [][2]checker.Model
	for _, a := range oracle.AllModels {
		for _, b := range oracle.AllModels {
			if a != b && checker.Implies(a, b) {
				out = append(out, [2]checker.Model{a, b})
			}
		}
	}
	return out
}

// latticeViolations returns the implications a set of verdicts breaks:
// store, key are the verdicts under store and key session scope.
func latticeViolations(store, key map[checker.Model]checker.Verdict) []string {
	var out []string
	for _, sv := range []struct {
		scope    string
		verdicts map[checker.Model]checker.Verdict
	}{{"store", store}, {"key", key}} {
		for _, ab := range implications() {
			if sv.verdicts[ab[0]] == V && sv.verdicts[ab[1]] == I {
				out = append(out, fmt.Sprintf("%s valid but %s invalid (%s scope)", ab[0], ab[1], sv.scope))
			}
		}
	}
	for _, m := range oracle.SessionModels {
		if store[m] == V && key[m] == I {
			out = append(out, fmt.Sprintf("%s valid in store scope but invalid in key scope", m))
		}
	}
	return out
}

// TestOracleLattice checks that the oracle's verdicts respect the lattice
// on random histories and their mutations.
func TestOracleLattice(t *testing.T) {
	n := 0
	corpus(t, 1, 5000, func(events []history.Event, h *history.History, opts checker.Options) {
		verdicts := [2]map[checker.Model]checker.Verdict{}
		for i, scope := range []checker.Scope{checker.ScopeStore, checker.ScopeKey} {
			opts.SessionScope = scope
			v, err := oracle.Verdicts(h, opts)
			if err != nil {
				t.Fatalf("%v\n%s", err, jsonl(events))
			}
			verdicts[i] = v
		}
		n++
		for _, bad := range latticeViolations(verdicts[0], verdicts[1]) {
			t.Errorf("oracle: %s in history (%s):\n%s", bad, describeOpts(opts), jsonl(events))
		}
	})
	t.Logf("%d histories", n)
}

// fastChecker is the part of checker.Checker the tests use.
type fastChecker interface {
	Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result
}

var fastCheckers = []fastChecker{linearizable.Checker{}, sequential.Checker{}, causal.Checker{}, session.Checker{}}

// fast runs every fast checker and returns their results by model.
func fast(h *history.History, opts checker.Options) map[checker.Model]checker.Result {
	out := map[checker.Model]checker.Result{}
	for _, c := range fastCheckers {
		for _, res := range c.Check(context.Background(), h, opts) {
			out[res.Model] = res
		}
	}
	return out
}

// disagreement describes how the fast checker's verdict of model m differs
// from the oracle's, or returns "" when it does not: an Unknown with a
// reason is accepted.
func disagreement(m checker.Model, want checker.Verdict, known bool, got checker.Result, present bool) string {
	switch {
	case !present:
		return "no result from the fast checkers"
	case got.Verdict == checker.Unknown && got.Reason == "":
		return "unknown without a reason"
	case got.Verdict == checker.Unknown:
		return ""
	case !known:
		return fmt.Sprintf("fast %s, but the oracle decides only linearizable and sequential here (repeated writes)", got.Verdict)
	case got.Verdict != want:
		return fmt.Sprintf("oracle %s, fast %s", want, got.Verdict)
	}
	return ""
}

// shrink removes operations from events while model m under opts still
// disagrees, and returns the smallest history found.
func shrink(events []history.Event, m checker.Model, opts checker.Options) []history.Event {
	disagrees := func(ev []history.Event) bool {
		h, err := history.New("shrunk", ev)
		if err != nil {
			return false
		}
		want, err := oracle.Verdicts(h, opts)
		if err != nil {
			return false
		}
		v, known := want[m]
		res, present := fast(h, opts)[m]
		return disagreement(m, v, known, res, present) != "" && res.Verdict != checker.Unknown
	}
	for shrunk := true; shrunk; {
		shrunk = false
		h, _ := history.New("shrunk", events)
		for _, op := range h.Ops {
			var ev []history.Event
			for i, e := range events {
				if i != op.Invoke && i != op.Complete {
					ev = append(ev, e)
				}
			}
			for i := range ev {
				ev[i].Index = int64(i)
			}
			if len(ev) > 0 && disagrees(ev) {
				events, shrunk = ev, true
				break
			}
		}
	}
	return events
}

// describeOpts shows the options a random history was judged under.
func describeOpts(opts checker.Options) string {
	nilRead := "unwritten"
	if opts.NilRead == checker.NilReadUnknown {
		nilRead = "unknown"
	}
	return fmt.Sprintf("initial value %s, nil reads %s, %s scope", history.Describe(opts.Initial), nilRead, opts.SessionScope)
}

func describe(res checker.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s", res.Verdict)
	if res.Reason != "" {
		fmt.Fprintf(&b, " (reason: %s)", res.Reason)
	}
	for _, a := range res.Anomalies {
		fmt.Fprintf(&b, "\n    anomaly %s ops %v: %s", a.Kind, a.Ops, a.Explanation())
	}
	return b.String()
}

// TestFastCheckersAgreeWithOracle is the agreement property: on random
// histories and their mutations, for every model and both session scopes,
// each fast checker returns the oracle's verdict, or Unknown with a reason
// on at most 1% of the judgements. It also checks that the fast verdicts
// respect the lattice.
func TestFastCheckersAgreeWithOracle(t *testing.T) {
	histories := 12000
	if testing.Short() {
		histories = 800
	}
	judged, unknown, failures, latticeFailures := 0, map[checker.Model]int{}, 0, 0
	tried, disagreed := map[checker.Model]int{}, map[checker.Model]int{}
	invalid, thinAir := map[checker.Model]int{}, map[checker.Model]int{} // the oracle's invalid verdicts; those of them with a read from nowhere
	reported := map[string]bool{}
	corpus(t, 2, histories, func(events []history.Event, h *history.History, opts checker.Options) {
		var fastVerdicts [2]map[checker.Model]checker.Verdict
		for i, scope := range []checker.Scope{checker.ScopeStore, checker.ScopeKey} {
			opts.SessionScope = scope
			want, err := oracle.Verdicts(h, opts)
			if err != nil {
				t.Fatalf("oracle: %v\n%s", err, jsonl(events))
			}
			got := fast(h, opts)
			fastVerdicts[i] = map[checker.Model]checker.Verdict{}
			for _, m := range oracle.AllModels {
				v, known := want[m]
				res, present := got[m]
				fastVerdicts[i][m] = res.Verdict
				judged++
				tried[m]++
				if known && v == I {
					invalid[m]++
					if len(res.Anomalies) > 0 && res.Anomalies[0].Kind == "unwritten-read" {
						thinAir[m]++
					}
				}
				if res.Verdict == checker.Unknown {
					unknown[m]++
				}
				d := disagreement(m, v, known, res, present)
				if d == "" {
					continue
				}
				failures++
				disagreed[m]++
				key := fmt.Sprintf("%s/%s/%s/%s", m, scope, v, res.Verdict)
				if reported[key] || failures > 20 {
					continue // one report per kind of disagreement
				}
				reported[key] = true
				small := shrink(events, m, opts)
				sh, _ := history.New("shrunk", small)
				t.Errorf("%s, %s scope (%s): %s\nhistory:\n%sfast: %s\nshrunk to:\n%sfast on shrunk: %s",
					m, scope, describeOpts(opts), d, jsonl(events), describe(res), jsonl(small), describe(fast(sh, opts)[m]))
			}
		}
		if bad := latticeViolations(fastVerdicts[0], fastVerdicts[1]); len(bad) > 0 {
			latticeFailures++
			if latticeFailures <= 5 {
				t.Errorf("fast checkers break the lattice: %s; in history (%s):\n%s", strings.Join(bad, "; "), describeOpts(opts), jsonl(events))
			}
		}
	})
	total := 0
	for _, n := range unknown {
		total += n
	}
	t.Logf("%d judgements, %d unknown %v, %d disagreements, %d histories breaking the lattice", judged, total, unknown, failures, latticeFailures)
	for _, m := range oracle.SessionModels {
		t.Logf("%s: %d histories judged (both scopes), %d invalid (%d of them for a read from nowhere), %d disagreements", m, tried[m], invalid[m], thinAir[m], disagreed[m])
	}
	if total*100 > judged {
		t.Errorf("%d of %d judgements unknown, more than 1%%: %v", total, judged, unknown)
	}
}

// TestFastCheckersRepeatedWrites checks the fast checkers on histories the
// oracle decides only in part: a value written twice leaves every model
// but linearizable and sequential Unknown, with the reason.
func TestFastCheckersRepeatedWrites(t *testing.T) {
	for _, ops := range [][]string{
		{"0 w x 1", "1 w x 1", "1 r x 1", "0 r x 1"},
		{"0 w x 1", "0 w x 2", "0 w x 1", "1 r x 1", "1 r x 2"},
		{"0 w x nil", "1 r x nil"},
	} {
		h := build(t, ops...)
		for _, scope := range []checker.Scope{checker.ScopeStore, checker.ScopeKey} {
			opts := checker.Options{SessionScope: scope}
			want, err := oracle.Verdicts(h, opts)
			if err != nil {
				t.Fatal(err)
			}
			got := fast(h, opts)
			for _, m := range oracle.AllModels {
				v, known := want[m]
				res, present := got[m]
				if d := disagreement(m, v, known, res, present); d != "" {
					t.Errorf("%v, %s, %s scope: %s", ops, m, scope, d)
				}
				if !known && res.Verdict != checker.Unknown {
					t.Errorf("%v, %s: got %s, want unknown", ops, m, res.Verdict)
				}
			}
		}
	}
}

// TestReadOfWriteThenInitialValue is the counterexample of issue 13: p1
// reads p0's only write of x and then the initial value. Its reads go
// back in time, which breaks monotonic-reads; it breaks no other session
// guarantee, since each read alone can be served by a state that holds
// p0's write or not, and neither process made a write after a read or
// two writes. Both the oracle and the fast checker must say so, in both
// scopes, for every guarantee.
func TestReadOfWriteThenInitialValue(t *testing.T) {
	want := map[checker.Model]checker.Verdict{
		checker.ReadYourWrites: V, checker.MonotonicReads: I, checker.MonotonicWrites: V, checker.WritesFollowReads: V,
	}
	for _, ops := range [][]string{
		{"0 w x 1", "1 r x 1", "1 r x nil"},
		// the same with a second key and a write after the reads
		{"0 w x 1", "0 w y 1", "1 r y 1", "1 r x 1", "1 r x nil", "1 w y 2"},
	} {
		h := build(t, ops...)
		for _, m := range oracle.SessionModels {
			t.Run(string(m), func(t *testing.T) {
				for _, scope := range []checker.Scope{checker.ScopeStore, checker.ScopeKey} {
					opts := checker.Options{SessionScope: scope}
					got, err := oracle.Verdicts(h, opts)
					if err != nil {
						t.Fatal(err)
					}
					if got[m] != want[m] {
						t.Errorf("%v, %s scope: oracle %s, want %s", ops, scope, got[m], want[m])
					}
					if res := fast(h, opts)[m]; res.Verdict != want[m] {
						t.Errorf("%v, %s scope: fast %s, want %s", ops, scope, describe(res), want[m])
					}
				}
			})
		}
	}
}
