package linearizable

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/history"
	"consist/internal/histtest"
)

// parse reads an inline JSON Lines history.
func parse(t testing.TB, jsonl string) *history.History { return histtest.Parse(t, jsonl) }

func check(t testing.TB, jsonl string, initial any) checker.Result {
	t.Helper()
	return Check(context.Background(), parse(t, jsonl), checker.Options{Initial: initial, Timeout: 10 * time.Second})
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		history string
		initial any
		want    checker.Verdict
		kind    checker.Kind
		ops     []int64
	}{
		{name: "sequential write then read", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "stale read", want: checker.Invalid, kind: KindStaleRead, ops: []int64{1, 3, 5}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":0,"f":"write","value":2}
{"type":"ok","process":0,"f":"write","value":2}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "stale read of the initial value", initial: int64(0), want: checker.Invalid, kind: KindStaleRead, ops: []int64{1, 3}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":0}`},
		{name: "read of a value whose write failed", want: checker.Invalid, kind: KindUnwrittenRead, ops: []int64{1, 3}, history: `
{"type":"invoke","process":0,"f":"write","value":3}
{"type":"fail","process":0,"f":"write","value":3}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}`},
		{name: "read from the future", want: checker.Invalid, kind: KindReadBeforeWrite, ops: []int64{1, 3}, history: `
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":3}
{"type":"invoke","process":0,"f":"write","value":3}
{"type":"ok","process":0,"f":"write","value":3}`},
		{name: "concurrent read may see either", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}
{"type":"ok","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "crashed write may take effect later", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}`},
		{name: "crashed write may never take effect", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "crashed write cannot be undone", want: checker.Invalid, kind: KindStaleRead, ops: []int64{1, 3, 5}, history: `
{"type":"invoke","process":0,"f":"write","value":1}
{"type":"info","process":0,"f":"write","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":1}
{"type":"invoke","process":1,"f":"read","value":null}
{"type":"ok","process":1,"f":"read","value":null}`},
		{name: "cas chain", initial: int64(0), want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"cas","value":[0,1]}
{"type":"invoke","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":1,"f":"cas","value":[1,2]}
{"type":"ok","process":0,"f":"cas","value":[0,1]}
{"type":"invoke","process":2,"f":"read","value":null}
{"type":"ok","process":2,"f":"read","value":2}`},
		{name: "cas from a replaced value", initial: int64(0), want: checker.Invalid, kind: KindStaleRead, ops: []int64{1, 3}, history: `
{"type":"invoke","process":0,"f":"write","value":5}
{"type":"ok","process":0,"f":"write","value":5}
{"type":"invoke","process":1,"f":"cas","value":[0,1]}
{"type":"ok","process":1,"f":"cas","value":[0,1]}`},
		{name: "keys are independent", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":null}`},
		{name: "a stale read on one key", want: checker.Invalid, kind: KindStaleRead, history: `
{"type":"invoke","process":0,"f":"write","key":"x","value":1}
{"type":"ok","process":0,"f":"write","key":"x","value":1}
{"type":"invoke","process":1,"f":"read","key":"y","value":null}
{"type":"ok","process":1,"f":"read","key":"y","value":null}
{"type":"invoke","process":1,"f":"read","key":"x","value":null}
{"type":"ok","process":1,"f":"read","key":"x","value":null}`},
		{name: "mutex held twice", want: checker.Invalid, kind: KindNonlinearizable, history: `
{"type":"invoke","process":0,"f":"acquire"}
{"type":"ok","process":0,"f":"acquire"}
{"type":"invoke","process":1,"f":"acquire"}
{"type":"ok","process":1,"f":"acquire"}`},
		{name: "mutex handed over", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"acquire"}
{"type":"ok","process":0,"f":"acquire"}
{"type":"invoke","process":1,"f":"acquire"}
{"type":"invoke","process":0,"f":"release"}
{"type":"ok","process":0,"f":"release"}
{"type":"ok","process":1,"f":"acquire"}`},
		{name: "kv append", want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"append","key":"k","value":"a"}
{"type":"invoke","process":1,"f":"append","key":"k","value":"b"}
{"type":"ok","process":0,"f":"append","key":"k","value":"a"}
{"type":"ok","process":1,"f":"append","key":"k","value":"b"}
{"type":"invoke","process":0,"f":"get","key":"k","value":null}
{"type":"ok","process":0,"f":"get","key":"k","value":"ba"}`},
		{name: "kv lost append", want: checker.Invalid, kind: KindNonlinearizable, history: `
{"type":"invoke","process":0,"f":"append","key":"k","value":"a"}
{"type":"ok","process":0,"f":"append","key":"k","value":"a"}
{"type":"invoke","process":1,"f":"append","key":"k","value":"b"}
{"type":"ok","process":1,"f":"append","key":"k","value":"b"}
{"type":"invoke","process":0,"f":"get","key":"k","value":null}
{"type":"ok","process":0,"f":"get","key":"k","value":"b"}`},
		{name: "transactions see both writes or neither", initial: int64(0), want: checker.Invalid, kind: KindNonlinearizable, history: `
{"type":"invoke","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}
{"type":"ok","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}
{"type":"ok","process":1,"f":"txn","value":[["r","x",1],["r","y",0]]}`},
		{name: "concurrent transaction", initial: int64(0), want: checker.Valid, history: `
{"type":"invoke","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}
{"type":"invoke","process":1,"f":"txn","value":[["r","x",null],["r","y",null]]}
{"type":"ok","process":1,"f":"txn","value":[["r","x",0],["r","y",0]]}
{"type":"ok","process":0,"f":"txn","value":[["w","x",1],["w","y",1]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := check(t, tc.history, tc.initial)
			if res.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s; anomalies %+v", res.Verdict, res.Reason, tc.want, res.Anomalies)
			}
			if tc.want != checker.Invalid {
				return
			}
			if len(res.Anomalies) == 0 {
				t.Fatal("invalid without an anomaly")
			}
			a := res.Anomalies[0]
			if a.Kind != tc.kind {
				t.Errorf("anomaly kind %s, want %s: %s", a.Kind, tc.kind, a.Explanation())
			}
			if tc.ops != nil && fmt.Sprint(a.Ops) != fmt.Sprint(tc.ops) {
				t.Errorf("anomaly ops %v, want %v: %s", a.Ops, tc.ops, a.Explanation())
			}
			if !strings.HasSuffix(a.Explanation(), ".") || len(a.Explanation()) < 40 {
				t.Errorf("explanation is not a sentence: %q", a.Explanation())
			}
		})
	}
}

func TestUnknownFunctions(t *testing.T) {
	res := check(t, `
{"type":"invoke","process":0,"f":"add","value":1}
{"type":"ok","process":0,"f":"add","value":1}`, nil)
	if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, "add") {
		t.Fatalf("got %s (%s), want unknown naming f=add", res.Verdict, res.Reason)
	}
}

// A search that runs out of time or is cancelled says so and never guesses.
// The contexts are already done, so the result does not depend on the
// machine's speed: a single-key history of 4,000 operations needs far more
// than the 1,024 steps between two looks at the context.
func TestTimeoutIsUnknown(t *testing.T) {
	h := randomHistory(rand.New(rand.NewPCG(7, 7)), 30, 4000, 3, 0.05)
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		ctx  context.Context
		says string
	}{{expired, "timed out"}, {cancelled, "cancelled"}} {
		res := Check(tc.ctx, h, checker.Options{})
		if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, tc.says) || !strings.Contains(res.Reason, "--timeout") {
			t.Errorf("got %s (%s), want unknown saying %q and how to raise the limit", res.Verdict, res.Reason, tc.says)
		}
	}
}

func TestMemoryBudgetIsUnknown(t *testing.T) {
	// Many concurrent writers and crashed operations: the search needs far
	// more than 64 KiB of configurations.
	h := simulate(rand.New(rand.NewPCG(1, 2)), 10, 300, 5, 0.1, 0.05)
	res := Check(context.Background(), h, checker.Options{MaxMemory: 64 << 10, Initial: int64(0)})
	if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, "memory") {
		t.Fatalf("got %s (%s), want unknown for memory", res.Verdict, res.Reason)
	}
}

// randomHistory simulates procs clients on one atomic register with ops
// operations: each operation takes effect at a random point of its
// interval, values are small so reads collide, and a fraction crash. With
// noise, some reads return a random value instead, making the history
// likely (not certainly) nonlinearizable.
func randomHistory(rng *rand.Rand, procs, ops, values int, crash float64) *history.History {
	return simulate(rng, procs, ops, values, crash, 0)
}

func simulate(rng *rand.Rand, procs, ops, values int, crash, noise float64) *history.History {
	type pending struct {
		ev      history.Event
		applied bool
		result  any
	}
	var events []history.Event
	var reg any = int64(0)
	open := map[history.Process]*pending{}
	nextProc := history.Process(procs)
	procList := make([]history.Process, procs)
	for i := range procList {
		procList[i] = history.Process(i)
	}
	invoked := 0
	for invoked < ops || len(open) > 0 {
		i := rng.IntN(len(procList))
		p := procList[i]
		po, busy := open[p]
		switch {
		case !busy && invoked < ops:
			ev := history.Event{Type: history.Invoke, Process: p, HasValue: true, Time: history.NoTime}
			switch rng.IntN(3) {
			case 0:
				ev.F = "read"
			case 1:
				ev.F, ev.Value = "write", int64(rng.IntN(values))
			default:
				ev.F, ev.Value = "cas", []any{int64(rng.IntN(values)), int64(rng.IntN(values))}
			}
			events = append(events, ev)
			open[p] = &pending{ev: ev}
			invoked++
		case busy && !po.applied:
			po.applied = true
			switch po.ev.F {
			case "read":
				po.result = reg
				if rng.Float64() < noise {
					po.result = int64(rng.IntN(values))
				}
			case "write":
				reg = po.ev.Value
			case "cas":
				pair := po.ev.Value.([]any)
				if history.Equal(reg, pair[0]) {
					reg, po.result = pair[1], true
				} else {
					po.result = false
				}
			}
		case busy:
			done := history.Event{Process: p, F: po.ev.F, HasValue: true, Value: po.ev.Value, Time: history.NoTime}
			switch {
			case rng.Float64() < crash:
				done.Type = history.Info
				procList[i] = nextProc
				nextProc++
			case po.ev.F == "read":
				done.Type, done.Value = history.OK, po.result
			case po.ev.F == "cas" && po.result == false:
				done.Type = history.Fail
			default:
				done.Type = history.OK
			}
			events = append(events, done)
			delete(open, p)
		}
	}
	for i := range events {
		events[i].Index = int64(i)
	}
	h, err := history.New("simulated", events)
	if err != nil {
		panic(err)
	}
	return h
}

// porcupineVerdict checks h with Porcupine, modelling it as consist does:
// failed operations dropped, crashed ones returning at the end with an
// unknown result.
func porcupineVerdict(h *history.History, initial any, timeout time.Duration) porcupine.CheckResult {
	type out struct {
		value   any
		unknown bool
	}
	model := porcupine.Model{
		Init: func() any { return history.Canonical(initial) },
		Step: func(state, input, output any) (bool, any) {
			op := input.(*history.Op)
			o := output.(out)
			switch op.F {
			case "read":
				return o.unknown || state == history.Canonical(o.value), state
			case "write":
				return true, history.Canonical(op.Input)
			default:
				pair := op.Input.([]any)
				if state == history.Canonical(pair[0]) {
					return true, history.Canonical(pair[1])
				}
				return o.unknown, state
			}
		},
	}
	var ops []porcupine.Operation
	endPos := int64(len(h.Events) + 1)
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Type == history.Fail {
			continue
		}
		o := porcupine.Operation{ClientId: int(op.Process), Input: op, Call: int64(op.Invoke), Return: endPos, Output: out{unknown: true}}
		if op.Type == history.OK {
			o.Return, o.Output = int64(op.Complete), out{value: op.Output}
		}
		ops = append(ops, o)
	}
	return porcupine.CheckOperationsTimeout(model, ops, timeout)
}

// TestAgreesWithPorcupine cross-checks the engine against Porcupine on
// thousands of small random histories, about half of them nonlinearizable.
func TestAgreesWithPorcupine(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	counts := map[checker.Verdict]int{}
	for i := range 3000 {
		procs := 1 + rng.IntN(6)
		h := simulate(rng, procs, 4+rng.IntN(24), 1+rng.IntN(4), rng.Float64()*0.3, rng.Float64()*0.5)
		want := porcupineVerdict(h, int64(0), 10*time.Second)
		got := Check(context.Background(), h, checker.Options{Initial: int64(0), Timeout: 10 * time.Second})
		counts[got.Verdict]++
		if (want == porcupine.Ok) != (got.Verdict == checker.Valid) || (want == porcupine.Illegal) != (got.Verdict == checker.Invalid) {
			var b strings.Builder
			history.WriteJSONL(&b, h.Events)
			t.Fatalf("history %d: porcupine %v, consist %s (%s)\n%s", i, want, got.Verdict, got.Reason, b.String())
		}
	}
	if counts[checker.Valid] < 500 || counts[checker.Invalid] < 500 {
		t.Fatalf("generator is lopsided: %v", counts)
	}
	t.Logf("verdicts: %v", counts)
}

// A specification refused memory must end in Unknown, never in a
// violation: the appended strings of a valid kv history need more than the
// budget allows.
func TestMemoryRefusedByASpecIsUnknown(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		p := i % 4
		fmt.Fprintf(&b, `{"type":"invoke","process":%d,"f":"append","key":"k","value":"%02d"}`+"\n", p, i)
		fmt.Fprintf(&b, `{"type":"ok","process":%d,"f":"append","key":"k","value":"%02d"}`+"\n", p, i)
	}
	h := parse(t, b.String())
	if res := Check(context.Background(), h, checker.Options{}); res.Verdict != checker.Valid {
		t.Fatalf("with memory: %s (%s), want valid", res.Verdict, res.Reason)
	}
	res := Check(context.Background(), h, checker.Options{MaxMemory: 2048})
	if res.Verdict != checker.Unknown || !strings.Contains(res.Reason, "memory") {
		t.Fatalf("with 2 KiB: %s (%s), want unknown for memory", res.Verdict, res.Reason)
	}
}
