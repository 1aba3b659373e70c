package linearizable

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"consist/checker"
	"consist/checker/linearizable/reggen"
)

// TestReadMappingWitnesses pins the witness of each shape of contradiction
// the read-mapping engine finds: its kind, its operations (the read and the
// two or three writes that make it impossible) and what its sentence says.
func TestReadMappingWitnesses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		initial any
		kind    checker.Kind
		ops     []int64
		says    []string
		history string
	}{
		{name: "stale read", kind: KindStaleRead, ops: []int64{1, 3, 5},
			says: []string{"Process 2's read (index 5, line 6) returned 1", "2 had replaced 1 before it began", "process 1's write of 2 (index 3, line 4) had completed before then", "process 0's write of 1 (index 1, line 2) completed before process 1's write of 2 (index 3, line 4) began", "stale"},
			history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"write","value":2}
{"type":"ok","process":1,"f":"write","value":2}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":1}`},
		{name: "flip-flop between concurrent writes", kind: KindStaleRead, ops: []int64{4, 5, 7, 9},
			says: []string{"returned 1", "2 had replaced 1", "stale"},
			history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"write","value":2}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"ok","process":1,"f":"write","value":2}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":2}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":1}`},
		{name: "lost update", kind: KindLostUpdate, ops: []int64{1, 3, 5},
			says: []string{"Process 1's cas from 1 to 2 (index 3, line 4) and process 2's cas from 1 to 3 (index 5, line 6) both took effect", "only process 0's write of 1 (index 1, line 2) wrote 1", "one update was lost"},
			history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":1,"f":"cas","value":[1,2]}
{"type":"invoke","process":2,"f":"cas","value":[1,3]}
{"type":"ok","process":2,"f":"cas","value":[1,3]}`},
		{name: "lost update of the initial value, one cas crashed", initial: int64(0), kind: KindLostUpdate, ops: []int64{1, 3, 5},
			says: []string{"it crashed, but process 2's read", "held 0 only initially"},
			history: `
{"type":"invoke","process":0,"f":"cas","value":[0,1]}
{"type":"ok","process":0,"f":"cas","value":[0,1]}
{"type":"invoke","process":1,"f":"cas","value":[0,2]}
{"type":"info","process":1,"f":"cas","value":[0,2]}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":2}`},
		{name: "cas ring", kind: KindNonlinearizable, ops: []int64{2, 3},
			says: []string{"each found the value the one before wrote"},
			history: `
{"type":"invoke","process":0,"f":"cas","value":[2,1]}
{"type":"invoke","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":0,"f":"cas","value":[2,1]}
{"type":"ok","process":1,"f":"cas","value":[1,2]}`},
		{name: "read of a value a cas replaced", kind: KindStaleRead, ops: []int64{1, 3, 5},
			says: []string{"Process 2's read (index 5, line 6) returned 1", "process 1's cas from 1 to 2 (index 3, line 4) had completed before then", "found 1 and wrote 2, so 2 came right after 1"},
			history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":1,"f":"cas","value":[1,2]}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":1}`},
		{name: "crashed cas from a value never written", kind: KindUnwrittenRead, ops: []int64{1, 3},
			says: []string{"took effect, as process 1's read", "nothing ever wrote 9"},
			history: `
{"type":"invoke","process":0,"f":"cas","value":[9,1]}
{"type":"info","process":0,"f":"cas","value":[9,1]}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "read before the write began", kind: KindReadBeforeWrite, ops: []int64{1, 3},
			says: []string{"began only after the read completed"},
			history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}
{"type":"invoke","process":0,"f":"write","value":3}
{"type":"ok","process":0,"f":"write","value":3}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := parse(t, tc.history)
			opts := checker.Options{Initial: tc.initial, Timeout: 10 * time.Second}
			res := Check(context.Background(), h, opts)
			if res.Verdict != checker.Invalid || len(res.Anomalies) != 1 {
				t.Fatalf("verdict %s (%s) with %d anomalies, want invalid with 1", res.Verdict, res.Reason, len(res.Anomalies))
			}
			if res.Stats.Engine != EngineReadMapping {
				t.Errorf("decided by %s, want %s", res.Stats.Engine, EngineReadMapping)
			}
			if s := searchOnly(context.Background(), h, opts); s != checker.Invalid {
				t.Errorf("the search says %s", s)
			}
			a := res.Anomalies[0]
			if a.Kind != tc.kind || fmt.Sprint(a.Ops) != fmt.Sprint(tc.ops) {
				t.Errorf("anomaly %s %v, want %s %v: %s", a.Kind, a.Ops, tc.kind, tc.ops, a.Explanation())
			}
			for _, s := range tc.says {
				if !strings.Contains(a.Explanation(), s) {
					t.Errorf("explanation lacks %q: %s", s, a.Explanation())
				}
			}
			if !strings.HasSuffix(a.Explanation(), ".") {
				t.Errorf("explanation is not a sentence: %s", a.Explanation())
			}
		})
	}
}

// TestEngineNamesWhatDecided: a key with a value written twice is
// searched, the others are read-mapped, and the result says both.
func TestEngineNamesWhatDecided(t *testing.T) {
	h := parse(t, `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":1}
{"type":"ok","process":0,"f":"write","key":"y","value":1}
{"type":"invoke","process":0,"f":"write","key":"y","value":1}
{"type":"ok","process":0,"f":"write","key":"y","value":1}`)
	res := Check(context.Background(), h, checker.Options{})
	if res.Verdict != checker.Valid || res.Stats.Engine != EngineReadMapping+"+"+Engine {
		t.Fatalf("%s by %q, want valid by %q", res.Verdict, res.Stats.Engine, EngineReadMapping+"+"+Engine)
	}
}

// TestReadMappingLimits: the engine's memory budget and the timeout end
// in Unknown with the reason, never in a verdict or a crash.
func TestReadMappingLimits(t *testing.T) {
	g, err := reggen.Generate(reggen.Config{Seed: 3, Processes: 24, Ops: 20_000, Keys: 1, CrashRate: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	if res := Check(context.Background(), g.History, checker.Options{}); res.Verdict != checker.Valid || res.Stats.Engine != EngineReadMapping {
		t.Fatalf("with memory: %s by %s (%s), want valid by %s", res.Verdict, res.Stats.Engine, res.Reason, EngineReadMapping)
	}
	res := Check(context.Background(), g.History, checker.Options{MaxMemory: 1 << 20})
	if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, "memory") || !strings.Contains(res.Reason, "--max-memory") {
		t.Errorf("with 1 MiB: %s (%s), want unknown for memory", res.Verdict, res.Reason)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	res = Check(expired, g.History, checker.Options{})
	if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, "timed out") {
		t.Errorf("expired: %s (%s), want unknown for time", res.Verdict, res.Reason)
	}
}

// TestReadMappingKnownVerdictsAtScale checks generated histories of the
// target shape (24 processes, 1-5 keys, 2% crashed), too large for
// Porcupine, against the generator's verdicts.
func TestReadMappingKnownVerdictsAtScale(t *testing.T) {
	for i := range 40 {
		cfg := reggen.Config{Seed: uint64(100 + i), Processes: 24, Ops: 5000, Keys: 1 + i%5, CrashRate: 0.02, CAS: 0.2, Invalid: i%2 == 1}
		g, err := reggen.Generate(cfg)
		if err != nil {
			t.Fatal(err)
		}
		res := Check(context.Background(), g.History, checker.Options{Timeout: 10 * time.Second})
		want := checker.Valid
		if !g.Linearizable {
			want = checker.Invalid
		}
		if res.Verdict != want || res.Stats.Engine != EngineReadMapping {
			t.Fatalf("%+v (%s at %v): %s by %s (%s), want %s", cfg, g.Violation, g.Ops, res.Verdict, res.Stats.Engine, res.Reason, want)
		}
	}
}
