package histgen

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/history"
)

var stores = []Store{Linearizable, Stale, Eventual}

func mustNew(t testing.TB, cfg Config) *history.History {
	t.Helper()
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDeterministic(t *testing.T) {
	for _, st := range stores {
		t.Run(st.String(), func(t *testing.T) {
			cfg := Config{Seed: 7, Store: st, Processes: 6, Ops: 2000, Keys: 3, CrashRate: 0.05, Timestamps: true, FinalReads: true}
			a, err := Generate(cfg)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := Generate(cfg)
			if !reflect.DeepEqual(a, b) {
				t.Fatal("the same config generated different events")
			}
			cfg.Seed++
			c, _ := Generate(cfg)
			if reflect.DeepEqual(a, c) {
				t.Fatal("different seeds generated the same events")
			}
		})
	}
}

func TestWellFormed(t *testing.T) {
	for _, st := range stores {
		for _, cfg := range []Config{
			{Processes: 1, Ops: 50},
			{Processes: 8, Ops: 3000, Keys: 4, CrashRate: 0.1, Timestamps: true},
			{Processes: 8, Ops: 3000, Keys: 4, CrashRate: 0.1, FinalReads: true},
			{Processes: 3, Ops: 500, Keys: 2, Reads: 1},
			{Processes: 3, Ops: 500, Keys: 2, CAS: 1, CrashRate: 1},
		} {
			cfg.Store, cfg.Seed = st, 3
			h := mustNew(t, cfg)
			finals := 0
			if cfg.FinalReads {
				finals = cfg.Processes * cfg.Keys
			}
			if got, want := len(h.Ops), cfg.Ops+finals; got != want {
				t.Errorf("%+v: %d ops, want %d", cfg, got, want)
			}
			last := int64(0)
			for i, e := range h.Events {
				if e.Index != int64(i) {
					t.Fatalf("%+v: event %d has index %d", cfg, i, e.Index)
				}
				switch {
				case cfg.Timestamps && (e.Time == history.NoTime || e.Time < last):
					t.Fatalf("%+v: event %d has time %d after %d", cfg, i, e.Time, last)
				case !cfg.Timestamps && e.Time != history.NoTime:
					t.Fatalf("%+v: event %d has a time though Timestamps is off", cfg, i)
				}
				last = e.Time
				if (e.Node != "") != (st == Eventual) {
					t.Fatalf("%+v: event %d has node %q", cfg, i, e.Node)
				}
			}
			for i := range h.Ops {
				if h.Ops[i].Complete < 0 {
					t.Fatalf("%+v: op %d never completed", cfg, i)
				}
			}
		}
	}
}

func TestUniqueValues(t *testing.T) {
	for _, st := range stores {
		h := mustNew(t, Config{Seed: 11, Store: st, Processes: 10, Ops: 5000, Keys: 5, CrashRate: 0.05})
		seen := map[string]int{}
		for i := range h.Ops {
			op := &h.Ops[i]
			var v any
			switch op.F {
			case "write":
				v = op.Input
			case "cas":
				v = op.Input.([]any)[1]
			default:
				continue
			}
			k := history.Canonical(op.Key) + "=" + history.Canonical(v)
			if j, dup := seen[k]; dup {
				t.Fatalf("%v: ops %d and %d both write %s", st, j, i, k)
			}
			seen[k] = i
		}
	}
}

func TestRates(t *testing.T) {
	for _, st := range stores {
		cfg := Config{Seed: 5, Store: st, Processes: 24, Ops: 100_000, Keys: 10, CrashRate: 0.02, Timestamps: true}
		h := mustNew(t, cfg)
		count := map[string]int{}
		for i := range h.Ops {
			op := &h.Ops[i]
			count[op.F]++
			count[op.F+"/"+op.Type.String()]++
			count[op.Type.String()]++
		}
		near := func(what string, got, want, tol float64) {
			if math.Abs(got-want) > tol {
				t.Errorf("%v: %s is %.4f, want %.4f ± %.4f", st, what, got, want, tol)
			}
		}
		n := float64(len(h.Ops))
		near("crash rate", float64(count["info"])/n, cfg.CrashRate, 0.002)
		near("read share", float64(count["read"])/n, 0.5, 0.01)
		// A cas on a register never written becomes a write, so the
		// shares shift a little from 0.3 and 0.2.
		near("write share", float64(count["write"])/n, 0.3, 0.01)
		near("cas share", float64(count["cas"])/n, 0.2, 0.01)
		casFail := float64(count["cas/fail"]) / float64(count["cas"])
		if casFail < 0.2 || casFail > 0.8 {
			t.Errorf("%v: %.2f of cas failed; want some to succeed and some to fail", st, casFail)
		}
		if count["read/fail"]+count["write/fail"] > 0 {
			t.Errorf("%v: reads or writes failed: %v", st, count)
		}
		// A client gets a fresh process after each crash, unused when the
		// crash was its last operation.
		if got, most := h.Processes(), cfg.Processes+count["info"]; got > most || got < most-cfg.Processes {
			t.Errorf("%v: %d processes, want %d clients plus one per crash but the last, %d", st, got, cfg.Processes, most)
		}
	}
}

// TestLinearizableStore checks small histories of the Linearizable store,
// crashes included, with the linearizability checker.
func TestLinearizableStore(t *testing.T) {
	for seed := range uint64(30) {
		cfg := Config{Seed: seed, Processes: 4, Ops: 200, Keys: 2, CrashRate: 0.05, Timestamps: seed%2 == 0}
		h := mustNew(t, cfg)
		res := linearizable.Check(context.Background(), h, checker.Options{Timeout: 20 * time.Second})
		if res.Verdict != checker.Valid {
			t.Errorf("seed %d: %s (%s) %v", seed, res.Verdict, res.Reason, res.Anomalies)
		}
	}
}

// TestWeakStoresAreNotLinearizable checks that the Stale and Eventual
// stores show their weakness in a few hundred operations.
func TestWeakStoresAreNotLinearizable(t *testing.T) {
	for _, st := range []Store{Stale, Eventual} {
		for seed := range uint64(5) {
			h := mustNew(t, Config{Seed: seed, Store: st, Processes: 4, Ops: 300, Keys: 2})
			res := linearizable.Check(context.Background(), h, checker.Options{Timeout: 20 * time.Second})
			if res.Verdict != checker.Invalid {
				t.Errorf("%v seed %d: %s (%s), want invalid", st, seed, res.Verdict, res.Reason)
			}
		}
	}
}

// finalValues returns, per key, the distinct values the final reads (the
// last Processes × Keys operations) returned.
func finalValues(h *history.History, cfg Config) map[any]map[string]bool {
	out := map[any]map[string]bool{}
	for _, op := range h.Ops[len(h.Ops)-cfg.Processes*cfg.Keys:] {
		if op.F != "read" || op.Type != history.OK {
			panic("final phase holds " + op.F + " " + op.Type.String())
		}
		if out[op.Key] == nil {
			out[op.Key] = map[string]bool{}
		}
		out[op.Key][history.Canonical(op.Output)] = true
	}
	return out
}

func TestFinalReadsAgree(t *testing.T) {
	for _, st := range stores {
		for seed := range uint64(5) {
			cfg := Config{Seed: seed, Store: st, Processes: 8, Ops: 2000, Keys: 3, CrashRate: 0.05, FinalReads: true}
			h := mustNew(t, cfg)
			for k, vs := range finalValues(h, cfg) {
				if len(vs) != 1 {
					t.Errorf("%v seed %d: final reads of %v returned %v", st, seed, k, vs)
				}
			}
		}
	}
}

func TestDroppedDeliveriesDiverge(t *testing.T) {
	cfg := Config{Seed: 1, Store: Eventual, Processes: 8, Ops: 2000, Keys: 3, DropRate: 0.3, FinalReads: true}
	h := mustNew(t, cfg)
	diverged := 0
	for _, vs := range finalValues(h, cfg) {
		if len(vs) > 1 {
			diverged++
		}
	}
	if diverged == 0 {
		t.Error("with 30% of deliveries lost, every key's final reads agree")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Processes: -1}, "Processes is -1"},
		{Config{Ops: -5}, "Ops is -5"},
		{Config{CrashRate: 1.5}, "CrashRate is 1.5"},
		{Config{DropRate: math.NaN()}, "DropRate is NaN"},
		{Config{Reads: -1, Writes: 1}, "weights must not be negative"},
		{Config{Store: 9}, "store Store(9)"},
		{Config{Delay: -time.Second}, "Delay is -1s"},
	} {
		_, err := Generate(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one saying %q", tc.cfg, err, tc.want)
		}
	}
}

// BenchmarkGenerate generates the 100,000-operation history the checkers'
// benchmarks use, for each store.
func BenchmarkGenerate(b *testing.B) {
	for _, st := range stores {
		b.Run(st.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Generate(Config{Seed: 1, Store: st, Processes: 24, Ops: 100_000, Keys: 10, CrashRate: 0.02, Timestamps: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
