package linearizable_test

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/linearizable/reggen"
	"consist/history"
)

// queueModel is a FIFO queue of integers: enqueue(v) appends v; dequeue
// returns the head, or nil when the queue is empty.
var queueModel = linearizable.Model[[]int64]{
	Init: func() []int64 { return nil },
	Step: func(q []int64, op *history.Op) (bool, []int64) {
		switch op.F {
		case "enqueue":
			return true, append(slices.Clone(q), op.Input.(int64))
		case "dequeue":
			if op.Type == history.Info { // result unknown
				if len(q) == 0 {
					return true, q
				}
				return true, q[1:]
			}
			if len(q) == 0 {
				return op.Output == nil, q
			}
			return op.Output == q[0], q[1:]
		}
		return false, q
	},
	Equal: slices.Equal[[]int64],
	Hash: func(q []int64) uint64 {
		var h maphash.Hash
		h.SetSeed(seed)
		for _, v := range q {
			maphash.WriteComparable(&h, v)
		}
		return h.Sum64()
	},
	DescribeOperation: func(op *history.Op) string {
		if op.F == "enqueue" {
			return fmt.Sprintf("enqueue(%v)", op.Input)
		}
		if op.Type != history.OK {
			return "dequeue"
		}
		return fmt.Sprintf("dequeue -> %v", op.Output)
	},
	DescribeState: func(q []int64) string { return fmt.Sprint(q) },
}

var seed = maphash.MakeSeed()

func build(t *testing.T, ops ...history.Operation) *history.History {
	t.Helper()
	var b history.Builder
	for _, o := range ops {
		b.Operation(o)
	}
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestCheckModelQueue(t *testing.T) {
	ctx := context.Background()
	valid := build(t,
		history.Operation{Process: 0, F: "enqueue", Input: 1, Call: 0, Return: 10},
		history.Operation{Process: 1, F: "enqueue", Input: 2, Call: 5, Return: 15},
		history.Operation{Process: 2, F: "dequeue", Output: 2, Call: 12, Return: 20}, // 2 may precede 1
		history.Operation{Process: 0, F: "dequeue", Output: 1, Call: 21, Return: 30},
		history.Operation{Process: 1, F: "dequeue", Output: nil, Call: 31, Return: 40},
	)
	if r := linearizable.CheckModel(ctx, valid, queueModel, checker.Options{}); r.Verdict != checker.Valid {
		t.Fatalf("valid queue history: %s %s %v", r.Verdict, r.Reason, r.Anomalies)
	}

	// Enqueue 1 completes before enqueue 2 begins, yet 2 comes out first.
	invalid := build(t,
		history.Operation{Process: 0, F: "enqueue", Input: 1, Call: 0, Return: 10},
		history.Operation{Process: 1, F: "enqueue", Input: 2, Call: 11, Return: 20},
		history.Operation{Process: 2, F: "dequeue", Output: 2, Call: 21, Return: 30},
	)
	r := linearizable.CheckModel(ctx, invalid, queueModel, checker.Options{})
	if r.Verdict != checker.Invalid || len(r.Anomalies) != 1 {
		t.Fatalf("FIFO violation: %s %s %v", r.Verdict, r.Reason, r.Anomalies)
	}
	a := r.Anomalies[0]
	// Events: 0 call enq1, 1 ret enq1, 2 call enq2, 3 ret enq2, 4 call deq, 5 ret deq.
	if a.Kind != linearizable.KindNonlinearizable || !slices.Equal(a.Ops, []int64{3, 5}) {
		t.Fatalf("anomaly %s %v, want nonlinearizable naming the dequeue (5) and the enqueue of 2 before it (3)", a.Kind, a.Ops)
	}
	for _, want := range []string{"Process 2's dequeue -> 2 (index 5)", "enqueue(2) (index 3)", "leaving the state [1 2]"} {
		if !strings.Contains(a.Explanation(), want) {
			t.Errorf("explanation lacks %q: %s", want, a.Explanation())
		}
	}

	// A crashed enqueue may take effect late: the dequeue of 7 is legal.
	crashed := build(t,
		history.Operation{Process: 0, F: "enqueue", Input: 7, Type: history.Info, Call: 0},
		history.Operation{Process: 1, F: "dequeue", Output: nil, Call: 5, Return: 10},
		history.Operation{Process: 1, F: "dequeue", Output: 7, Call: 20, Return: 30},
	)
	if r := linearizable.CheckModel(ctx, crashed, queueModel, checker.Options{}); r.Verdict != checker.Valid {
		t.Fatalf("crashed enqueue taking effect late: %s %v", r.Verdict, r.Anomalies)
	}
	// A failed enqueue never took effect.
	failed := build(t,
		history.Operation{Process: 0, F: "enqueue", Input: 7, Type: history.Fail, Call: 0, Return: 1},
		history.Operation{Process: 1, F: "dequeue", Output: 7, Call: 20, Return: 30},
	)
	if r := linearizable.CheckModel(ctx, failed, queueModel, checker.Options{}); r.Verdict != checker.Invalid {
		t.Fatalf("dequeue of a failed enqueue: %s", r.Verdict)
	}
}

// kvModel is one key of a key-value map with put and get: its state is the
// key's value, a comparable string, so it needs no Equal.
var kvModel = linearizable.Model[string]{
	Init: func() string { return "" },
	Step: func(v string, op *history.Op) (bool, string) {
		switch op.F {
		case "put":
			return true, op.Input.(string)
		case "get":
			return op.Type != history.OK || op.Output == v, v
		}
		return false, v
	},
}

func TestCheckModelKeyValuePartitions(t *testing.T) {
	var b history.Builder
	b.Invoke(0, "put", "a", "x").Invoke(1, "put", "b", "y")
	b.OK(0, "put", "a", "x").OK(1, "put", "b", "y")
	b.Invoke(0, "get", "a", nil).OK(0, "get", "a", "x")
	b.Invoke(1, "get", "b", nil).OK(1, "get", "b", "")
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	r := linearizable.CheckModel(context.Background(), h, kvModel, checker.Options{})
	if r.Verdict != checker.Invalid || len(r.Anomalies) != 1 {
		t.Fatalf("stale get of b: %s %v", r.Verdict, r.Anomalies)
	}
	if a := r.Anomalies[0]; a.Key != "b" || !slices.Equal(a.Ops, []int64{3, 7}) {
		t.Fatalf("anomaly on key %v ops %v, want key b, ops [3 7]: %s", a.Key, a.Ops, a.Explanation())
	}
	// Checked as one object, the same operations are judged together and
	// still fail.
	whole := kvModel
	whole.WholeHistory = true
	if r := linearizable.CheckModel(context.Background(), h, whole, checker.Options{}); r.Verdict != checker.Invalid {
		t.Fatalf("whole history: %s", r.Verdict)
	}
}

func TestCheckModelRefusesIncomparableStates(t *testing.T) {
	m := linearizable.Model[[]int64]{Init: queueModel.Init, Step: queueModel.Step}
	h := build(t, history.Operation{Process: 0, F: "enqueue", Input: 1, Call: 0, Return: 1})
	r := linearizable.CheckModel(context.Background(), h, m, checker.Options{})
	if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "give the model an Equal function") {
		t.Fatalf("states of a slice type without Equal: %s %q", r.Verdict, r.Reason)
	}
	r = linearizable.CheckModel(context.Background(), h, linearizable.Model[int]{}, checker.Options{})
	if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "Init") {
		t.Fatalf("model without functions: %s %q", r.Verdict, r.Reason)
	}
}

// porcupineQueue is queueModel for Porcupine: the input is the operation
// and the output what it returned, unknown for a crashed operation.
type queueInput struct {
	enqueue bool
	v       int64
}

type unknownOutput struct{}

var porcupineQueue = porcupine.Model{
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		q := decodeQueue(state.(string))
		in := input.(queueInput)
		if in.enqueue {
			return true, encodeQueue(append(q, in.v))
		}
		if output == (unknownOutput{}) {
			if len(q) == 0 {
				return true, state
			}
			return true, encodeQueue(q[1:])
		}
		if len(q) == 0 {
			return output == nil, state
		}
		return output == q[0], encodeQueue(q[1:])
	},
}

func encodeQueue(q []int64) string { return fmt.Sprint(q) }

func decodeQueue(s string) []int64 {
	var q []int64
	for f := range strings.FieldsSeq(strings.Trim(s, "[]")) {
		var v int64
		fmt.Sscan(f, &v)
		q = append(q, v)
	}
	return q
}

// TestCheckModelAgreesWithPorcupine judges seeded random queue histories,
// half of them corrupted and some with crashed operations, with CheckModel
// and with porcupine.CheckOperations, and requires the same verdict.
func TestCheckModelAgreesWithPorcupine(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 4))
	counts := map[checker.Verdict]int{}
	const histories = 300
	for n := range histories {
		ops, pops := randomQueueHistory(rng, 6+rng.IntN(8), true)
		h := build(t, ops...)
		r := linearizable.CheckModel(context.Background(), h, queueModel, checker.Options{})
		want := checker.Invalid
		if porcupine.CheckOperations(porcupineQueue, pops) {
			want = checker.Valid
		}
		if r.Verdict != want {
			t.Fatalf("history %d: consist says %s, Porcupine %s\n%v\n%v", n, r.Verdict, want, ops, r.Anomalies)
		}
		counts[r.Verdict]++
		if r.Verdict == checker.Invalid && (len(r.Anomalies) == 0 || len(r.Anomalies[0].Ops) == 0) {
			t.Fatalf("history %d: invalid without a witness", n)
		}
	}
	t.Logf("%d queue histories: %d valid, %d invalid, all as Porcupine judges them", histories, counts[checker.Valid], counts[checker.Invalid])
	if counts[checker.Valid] < histories/5 || counts[checker.Invalid] < histories/5 {
		t.Fatalf("the generator is lopsided: %v", counts)
	}
}

// randomQueueHistory runs a queue with operations linearized 10 ns apart
// and intervals up to 25 ns either side; with corrupt, one operation in ten
// crashes, and with probability 1/2 one dequeue's result is altered.
func randomQueueHistory(rng *rand.Rand, n int, corrupt bool) ([]history.Operation, []porcupine.Operation) {
	var ops []history.Operation
	var q []int64
	var lastReturn []int64 // per process
	next := int64(1)
	for i := range n {
		at := int64(i+1) * 10
		call, ret := at-rng.Int64N(26), at+rng.Int64N(26)
		p := -1
		for c, r := range lastReturn {
			if r < call {
				p = c
				break
			}
		}
		if p < 0 {
			p = len(lastReturn)
			lastReturn = append(lastReturn, 0)
		}
		o := history.Operation{Process: p, Call: call, Return: ret}
		if rng.IntN(2) == 0 {
			o.F, o.Input = "enqueue", next
			q = append(q, next)
			next++
		} else {
			o.F = "dequeue"
			if len(q) > 0 {
				o.Output, q = q[0], q[1:]
			}
		}
		if corrupt && rng.IntN(10) == 0 {
			o.Type, o.Output = history.Info, nil
			lastReturn[p] = math.MaxInt64 // a crashed process never invokes again
		} else {
			lastReturn[p] = ret
		}
		ops = append(ops, o)
	}
	if corrupt && rng.IntN(2) == 0 {
		var deqs []int
		for i, o := range ops {
			if o.F == "dequeue" && o.Type != history.Info {
				deqs = append(deqs, i)
			}
		}
		if len(deqs) > 0 {
			i := deqs[rng.IntN(len(deqs))]
			if v := rng.Int64N(next + 1); v == 0 {
				ops[i].Output = nil
			} else {
				ops[i].Output = v
			}
		}
	}
	pops := make([]porcupine.Operation, len(ops))
	for i, o := range ops {
		in := queueInput{enqueue: o.F == "enqueue"}
		if in.enqueue {
			in.v = o.Input.(int64)
		}
		var out any
		ret := o.Return
		switch {
		case o.Type == history.Info:
			out, ret = unknownOutput{}, math.MaxInt64
		case o.Output != nil:
			out = o.Output.(int64)
		}
		pops[i] = porcupine.Operation{ClientId: o.Process, Input: in, Call: o.Call, Output: out, Return: ret}
	}
	return ops, pops
}

// hardQueue is n enqueues of distinct values, all concurrent, then a
// dequeue of a value nobody enqueued: invalid, but only a search of every
// order of the enqueues shows it.
func hardQueue(t *testing.T, n int) *history.History {
	var ops []history.Operation
	for i := range n {
		ops = append(ops, history.Operation{Process: i, F: "enqueue", Input: i + 1, Call: int64(i), Return: int64(n + i)})
	}
	ops = append(ops, history.Operation{Process: n, F: "dequeue", Output: -1, Call: int64(3 * n), Return: int64(3*n + 1)})
	return build(t, ops...)
}

func TestCheckModelBounds(t *testing.T) {
	h := hardQueue(t, 18)
	start := time.Now()
	r := linearizable.CheckModel(context.Background(), h, queueModel, checker.Options{Timeout: 50 * time.Millisecond})
	if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "timed out") {
		t.Fatalf("with a 50ms timeout: %s %q", r.Verdict, r.Reason)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a 50ms timeout took %v", took)
	}
	r = linearizable.CheckModel(context.Background(), h, queueModel, checker.Options{MaxMemory: 1 << 20})
	if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "memory") {
		t.Fatalf("with 1MiB of memory: %s %q", r.Verdict, r.Reason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r = linearizable.CheckModel(ctx, h, queueModel, checker.Options{})
	if r.Verdict != checker.Unknown || !strings.Contains(r.Reason, "cancelled") {
		t.Fatalf("cancelled: %s %q", r.Verdict, r.Reason)
	}
	// Small enough to search to the end: invalid.
	if r := linearizable.CheckModel(context.Background(), hardQueue(t, 6), queueModel, checker.Options{}); r.Verdict != checker.Invalid {
		t.Fatalf("six enqueues: %s %q", r.Verdict, r.Reason)
	}
}

// benchOps is the size of BenchmarkCheckModelQueue's history.
const benchOps = 400

// BenchmarkCheckModelQueue checks one valid random queue history of 400
// operations, none crashed, with CheckModel and with Porcupine.
func BenchmarkCheckModelQueue(b *testing.B) {
	ops, pops := randomQueueHistory(rand.New(rand.NewPCG(1, 2)), benchOps, false)
	var bld history.Builder
	for _, o := range ops {
		bld.Operation(o)
	}
	h, err := bld.History()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("consist", func(b *testing.B) {
		for b.Loop() {
			if r := linearizable.CheckModel(context.Background(), h, queueModel, checker.Options{}); r.Verdict != checker.Valid {
				b.Fatalf("%s %s", r.Verdict, r.Reason)
			}
		}
	})
	b.Run("porcupine", func(b *testing.B) {
		for b.Loop() {
			if !porcupine.CheckOperations(porcupineQueue, pops) {
				b.Fatal("invalid")
			}
		}
	})
}

// registerModel is consist's register written as a user's model, its state
// the canonical text of the value held.
var registerModel = linearizable.Model[string]{
	Init: func() string { return "null" },
	Step: func(v string, op *history.Op) (bool, string) {
		switch op.F {
		case "read":
			return op.Type != history.OK || history.Canonical(op.Output) == v, v
		case "write":
			return true, history.Canonical(op.Input)
		case "cas":
			pair := op.Input.([]any)
			return history.Canonical(pair[0]) == v, history.Canonical(pair[1])
		}
		return false, v
	},
}

// TestCheckModelAgreesWithBuiltInRegister checks generated register
// histories of known verdict, with crashes and several keys, both with
// registerModel and with consist's own register checker.
func TestCheckModelAgreesWithBuiltInRegister(t *testing.T) {
	for seed := range uint64(40) {
		g, err := reggen.Generate(reggen.Config{Seed: seed, Processes: 5, Ops: 300, Keys: 3, CrashRate: 0.05, Invalid: seed%2 == 1})
		if err != nil {
			t.Fatal(err)
		}
		want := checker.Valid
		if !g.Linearizable {
			want = checker.Invalid
		}
		own := linearizable.CheckModel(context.Background(), g.History, registerModel, checker.Options{})
		builtIn := linearizable.Check(context.Background(), g.History, checker.Options{})
		if own.Verdict != want || builtIn.Verdict != want {
			t.Fatalf("seed %d (%s): CheckModel %s, Check %s, want %s", seed, g.Violation, own.Verdict, builtIn.Verdict, want)
		}
		if want == checker.Invalid {
			var key any
			for i := range g.History.Ops {
				if op := &g.History.Ops[i]; g.History.OpIndex(op) == g.Ops[0] {
					key = op.Key
				}
			}
			if len(own.Anomalies) != 1 || !history.Equal(own.Anomalies[0].Key, key) {
				t.Fatalf("seed %d: anomalies %v, want one on the broken key %v", seed, own.Anomalies, key)
			}
		}
	}
}
