package txngen

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"consist/history"
)

var (
	workloads  = []Workload{ListAppend, RWRegister}
	isolations = []Isolation{Serializable, SnapshotIsolation, ReadCommitted}
	anomalies  = []Anomaly{G1c, GSingle, LostUpdate, AbortedRead, WriteSkew, G0}
)

// mopOf unpacks a parsed micro-op.
func mopOf(t *testing.T, m any) (f string, k int64, v any) {
	t.Helper()
	l, ok := m.([]any)
	if !ok || len(l) != 3 {
		t.Fatalf("micro-op %v is not a triple", m)
	}
	return l[0].(string), l[1].(int64), l[2]
}

func generate(t *testing.T, cfg Config) (*history.History, Stats) {
	t.Helper()
	h, st, err := History(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%+v: %v", cfg, err)
	}
	return h, st
}

func TestParsesEveryWorkloadAndIsolation(t *testing.T) {
	for _, w := range workloads {
		for _, iso := range isolations {
			cfg := Config{Seed: 7, Txns: 2000, Processes: 8, Keys: 5, MaxWritesPerKey: 8, CrashRate: 0.05, FailRate: 0.05, Workload: w, Isolation: iso,
				Inject: []Injection{{G1c, 10}, {AbortedRead, 500}}}
			t.Run(w.String()+"/"+iso.String(), func(t *testing.T) {
				h, st := generate(t, cfg)
				if len(h.Ops) != st.Txns || st.Txns != 2000+3+2 {
					t.Fatalf("%d ops parsed, %d written; want 2005", len(h.Ops), st.Txns)
				}
				if st.OK+st.Fail+st.Info != st.Txns || st.Info == 0 || st.Fail == 0 {
					t.Fatalf("outcomes %+v: want some of each summing to Txns", st)
				}
				if len(h.Events) != st.Events {
					t.Fatalf("%d events parsed, %d written", len(h.Events), st.Events)
				}
				if len(h.Warnings) != 0 {
					t.Fatalf("warnings: %v", h.Warnings)
				}
				var info int
				for i, e := range h.Events {
					if i > 0 && e.Time < h.Events[i-1].Time {
						t.Fatalf("event %d: time %d goes back from %d", i, e.Time, h.Events[i-1].Time)
					}
					if e.F != "txn" {
						t.Fatalf("event %d: f %q", i, e.F)
					}
					if e.Type == history.Info {
						info++
					}
				}
				if info != st.Info {
					t.Fatalf("%d info events, Stats says %d", info, st.Info)
				}
			})
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, w := range workloads {
		for _, iso := range isolations {
			cfg := Config{Seed: 3, Txns: 500, CrashRate: 0.1, FailRate: 0.1, Workload: w, Isolation: iso, Inject: []Injection{{WriteSkew, 100}}}
			var a, b bytes.Buffer
			if _, err := Write(context.Background(), &a, cfg); err != nil {
				t.Fatal(err)
			}
			if _, err := Write(context.Background(), &b, cfg); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("%v/%v: the same seed gave different bytes", w, iso)
			}
			cfg.Seed++
			b.Reset()
			if _, err := Write(context.Background(), &b, cfg); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatalf("%v/%v: seeds 3 and 4 gave the same bytes", w, iso)
			}
		}
	}
}

// TestUniqueValuesAndRotation: values are unique per key, no key gets more
// than MaxWritesPerKey writes, and retired keys are replaced.
func TestUniqueValuesAndRotation(t *testing.T) {
	for _, w := range workloads {
		cfg := Config{Seed: 11, Txns: 3000, Keys: 4, MaxWritesPerKey: 10, Workload: w}
		h, st := generate(t, cfg)
		written := map[int64]map[int64]bool{}
		for _, op := range h.Ops {
			for _, m := range op.Input.([]any) {
				f, k, v := mopOf(t, m)
				if f == "r" {
					continue
				}
				if written[k] == nil {
					written[k] = map[int64]bool{}
				}
				if written[k][v.(int64)] {
					t.Fatalf("%v: value %d written twice to key %d", w, v, k)
				}
				written[k][v.(int64)] = true
			}
		}
		for k, vs := range written {
			if len(vs) > cfg.MaxWritesPerKey {
				t.Fatalf("%v: key %d got %d writes, more than %d", w, k, len(vs), cfg.MaxWritesPerKey)
			}
		}
		if len(written) < 100 || st.Keys < len(written) {
			t.Fatalf("%v: %d keys written (Stats %d): rotation should have used over 100", w, len(written), st.Keys)
		}
	}
}

// TestListReadsCompatible: under every isolation level the generator
// simulates, each key's committed reads are prefixes of its longest read,
// and no read shows a value of an aborted transaction.
func TestListReadsCompatible(t *testing.T) {
	for _, iso := range isolations {
		h, _ := generate(t, Config{Seed: 5, Txns: 5000, Processes: 10, Keys: 5, FailRate: 0.1, CrashRate: 0.05, Isolation: iso})
		reads := map[int64][][]any{}
		aborted := map[[2]int64]bool{}
		for _, op := range h.Ops {
			if op.Type == history.Fail {
				for _, m := range op.Input.([]any) {
					if f, k, v := mopOf(t, m); f == "append" {
						aborted[[2]int64{k, v.(int64)}] = true
					}
				}
			}
			if op.Type != history.OK {
				continue
			}
			for _, m := range op.Output.([]any) {
				if f, k, v := mopOf(t, m); f == "r" {
					reads[k] = append(reads[k], v.([]any))
				}
			}
		}
		var nonEmpty int
		for k, rs := range reads {
			longest := slices.MaxFunc(rs, func(a, b []any) int { return len(a) - len(b) })
			for _, r := range rs {
				if !slices.Equal(r, longest[:len(r)]) {
					t.Fatalf("%v: key %d: read %v is not a prefix of %v", iso, k, r, longest)
				}
			}
			for _, v := range longest {
				if aborted[[2]int64{k, v.(int64)}] {
					t.Fatalf("%v: key %d: read %v shows aborted append %d", iso, k, longest, v)
				}
			}
			if len(longest) > 0 {
				nonEmpty++
			}
		}
		if nonEmpty < 50 {
			t.Fatalf("%v: only %d keys read non-empty", iso, nonEmpty)
		}
	}
}

// TestRegisterReadsWritten: every register read returns null or a value a
// transaction that did not abort wrote to that key.
func TestRegisterReadsWritten(t *testing.T) {
	for _, iso := range isolations {
		h, _ := generate(t, Config{Seed: 9, Txns: 3000, FailRate: 0.1, CrashRate: 0.05, Workload: RWRegister, Isolation: iso})
		written := map[[2]int64]bool{}
		for _, op := range h.Ops {
			if op.Type == history.Fail {
				continue
			}
			for _, m := range op.Input.([]any) {
				if f, k, v := mopOf(t, m); f == "w" {
					written[[2]int64{k, v.(int64)}] = true
				}
			}
		}
		var values int
		for _, op := range h.Ops {
			if op.Type != history.OK {
				continue
			}
			for _, m := range op.Output.([]any) {
				f, k, v := mopOf(t, m)
				if f != "r" || v == nil {
					continue
				}
				values++
				if !written[[2]int64{k, v.(int64)}] {
					t.Fatalf("%v: op %d read %d from key %d, which no surviving transaction wrote", iso, op.ID, v, k)
				}
			}
		}
		if values < 500 {
			t.Fatalf("%v: only %d reads saw a value", iso, values)
		}
	}
}

func TestSnapshotConflictsAbort(t *testing.T) {
	cfg := Config{Seed: 1, Txns: 2000, Processes: 10, Keys: 3}
	_, st := generate(t, cfg)
	if st.Conflicts != 0 || st.Fail != 0 {
		t.Fatalf("serializable: %d conflicts, %d failed; want none", st.Conflicts, st.Fail)
	}
	cfg.Isolation = SnapshotIsolation
	_, st = generate(t, cfg)
	if st.Conflicts == 0 || st.Fail != st.Conflicts {
		t.Fatalf("snapshot isolation with 10 processes on 3 keys: %d conflicts, %d failed; want some, all of them conflicts", st.Conflicts, st.Fail)
	}
}

func TestInjectedScripts(t *testing.T) {
	for _, w := range workloads {
		for _, a := range anomalies {
			h, st := generate(t, Config{Seed: 2, Txns: 20, CrashRate: 0.2, Workload: w, Inject: []Injection{{a, 7}, {a, 12}}})
			want := 3
			if a == AbortedRead {
				want = 2
			}
			if st.Txns != 20+2*want || len(st.Injected) != 2 {
				t.Fatalf("%v %v: %d txns, injected %+v", w, a, st.Txns, st.Injected)
			}
			// The scripts' operations, and only they, use the scripts' keys.
			scripted := map[int]bool{}
			for _, in := range st.Injected {
				if in.Anomaly != a || len(in.Ops) != want {
					t.Fatalf("%v %v: injected %+v", w, a, in)
				}
				for _, id := range in.Ops {
					scripted[id] = true
					for _, m := range h.Ops[id].Input.([]any) {
						if _, k, _ := mopOf(t, m); k != int64(in.Keys[0]) && k != int64(in.Keys[1]) {
							t.Fatalf("%v %v: scripted op %d uses key %d, not one of %v", w, a, id, k, in.Keys)
						}
					}
				}
			}
			for _, op := range h.Ops {
				for _, m := range op.Input.([]any) {
					_, k, _ := mopOf(t, m)
					for _, in := range st.Injected {
						if (k == int64(in.Keys[0]) || k == int64(in.Keys[1])) && !scripted[op.ID] {
							t.Fatalf("%v %v: op %d uses scripted key %d", w, a, op.ID, k)
						}
					}
				}
			}
		}
	}
	h, st := generate(t, Config{Seed: 2, Txns: 20, Inject: []Injection{{G1c, 7}}})
	var got []string
	for _, id := range st.Injected[0].Ops {
		got = append(got, history.Describe(h.Ops[id].Value()))
	}
	x, y := "10", "11" // the keys after the 10 active ones
	want := []string{
		`[["append",` + x + `,1],["r",` + y + `,[1]]]`,
		`[["append",` + y + `,1],["r",` + x + `,[1]]]`,
		`[["r",` + x + `,[1]],["r",` + y + `,[1]]]`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("G1c script:\n got %v\nwant %v", got, want)
	}
}

func TestBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{MinTxnLength: 5, MaxTxnLength: 2}, "raise MaxTxnLength"},
		{Config{Txns: 10, Inject: []Injection{{G1c, 10}}}, "outside 0..9"},
		{Config{Inject: []Injection{{Anomaly(99), 0}}}, "unknown Anomaly(99)"},
		{Config{Keys: -1}, "negative"},
		{Config{Isolation: 9}, "unknown Isolation(9)"},
	} {
		_, err := Write(context.Background(), &bytes.Buffer{}, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one saying %q", c.cfg, err, c.want)
		}
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Write(ctx, &bytes.Buffer{}, Config{Txns: 100_000})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}

func TestBenchFile(t *testing.T) {
	path, st, err := BenchFile(context.Background(), t.TempDir(), 10_000)
	if err != nil {
		t.Fatal(err)
	}
	h, err := history.ReadFile(path, history.Auto)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Ops) != 10_000 || st.Txns != 10_000 {
		t.Fatalf("%d ops read, %d written; want 10000", len(h.Ops), st.Txns)
	}
	var mops int
	for _, op := range h.Ops {
		mops += len(op.Input.([]any))
	}
	if avg := float64(mops) / 10_000; avg < 3.8 || avg > 4.2 {
		t.Fatalf("%.2f micro-ops a transaction; issue 15 asks about 4", avg)
	}
}

// TestEDNMatchesJSONL: the EDN form parses to the same events as the
// JSON Lines form.
func TestEDNMatchesJSONL(t *testing.T) {
	for _, w := range workloads {
		cfg := Config{Seed: 4, Txns: 300, CrashRate: 0.1, FailRate: 0.1, Workload: w, Isolation: SnapshotIsolation, Inject: []Injection{{GSingle, 50}}}
		hj, _ := generate(t, cfg)
		cfg.Format = history.EDN
		he, _ := generate(t, cfg)
		if he.Format != history.EDN || len(he.Events) != len(hj.Events) {
			t.Fatalf("%v: EDN read as %v with %d events, JSONL %d", w, he.Format, len(he.Events), len(hj.Events))
		}
		for i := range hj.Events {
			a, b := hj.Events[i], he.Events[i]
			if a.Type != b.Type || a.Process != b.Process || a.F != b.F || a.Time != b.Time || b.Index != int64(i) || !history.Equal(a.Value, b.Value) {
				t.Fatalf("%v: event %d differs:\nJSONL %+v\n  EDN %+v", w, i, a, b)
			}
		}
	}
	if _, err := Write(context.Background(), &bytes.Buffer{}, Config{Format: history.Porcupine}); err == nil || !strings.Contains(err.Error(), "history.EDN") {
		t.Fatalf("Porcupine format: error %v, want one naming the formats", err)
	}
}
