package history_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"consist/history"
)

type account struct {
	ID      int               `json:"id"`
	Owner   string            `json:"owner"`
	Balance uint64            `json:"balance"`
	Tags    []string          `json:"tags,omitempty"`
	Limits  map[string]int    `json:"limits"`
	secret  int               //nolint:unused // unexported: left out, as encoding/json leaves it
	When    time.Time         `json:"when"`
	Extra   map[int]*struct{} `json:"-"`
}

func TestNormalizeGo(t *testing.T) {
	n := 5
	when := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		in   any
		want string // the Canonical form of the result
	}{
		{"nil", nil, "null"},
		{"int", 7, "7"},
		{"int8", int8(-8), "-8"},
		{"int32", int32(-3), "-3"},
		{"uint64", uint64(math.MaxInt64), "9223372036854775807"},
		{"uint16", uint16(65535), "65535"},
		{"float32", float32(0.5), "0.5"},
		{"float64 integral", 2.0, "2.0"},
		{"string", "x", `"x"`},
		{"bytes", []byte("raw"), `"raw"`},
		{"bool", true, "true"},
		{"pointer", &n, "5"},
		{"nil pointer", (*int)(nil), "null"},
		{"[]int", []int{1, 2, 3}, "[1,2,3]"},
		{"array", [2]uint8{1, 2}, "[1,2]"},
		{"[]string", []string{"a", "b"}, `["a","b"]`},
		{"nil slice", []int(nil), "null"},
		{"[][]int", [][]int{{1}, {}}, "[[1],[]]"},
		{"map[string]int", map[string]int{"b": 2, "a": 1}, `{"a":1,"b":2}`},
		{"map[int]string", map[int]string{10: "x"}, `{"10":"x"}`},
		{"[]any", []any{1, "a", nil, int64(2)}, `[1,"a",null,2]`},
		{"json.Number", json.Number("12"), "12"},
		{"json.Number float", json.Number("1.5"), "1.5"},
		{"big.Int", big.NewInt(-42), "-42"},
		{"duration", 3 * time.Second, "3000000000"},
		{"struct", account{ID: 1, Owner: "ann", Balance: 10, Limits: map[string]int{"day": 5}, When: when},
			`{"balance":10,"id":1,"limits":{"day":5},"owner":"ann","when":"2026-12-04T00:00:00Z"}`},
		{"struct pointer in a slice", []*account{{ID: 2}}, `[{"balance":0,"id":2,"limits":null,"owner":"","when":"0001-01-01T00:00:00Z"}]`},
		{"time", when, `"2026-12-04T00:00:00Z"`},
	}
	for _, c := range cases {
		got, err := history.NormalizeGo(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s := history.Canonical(got); s != c.want {
			t.Errorf("%s: %s, want %s", c.name, s, c.want)
		}
	}
	// Values that normalise alike are equal, as history.Equal sees them.
	a, _ := history.NormalizeGo(map[string][]int{"x": {1, 2}})
	b, _ := history.NormalizeGo(map[string]any{"x": []any{int64(1), json.Number("2")}})
	if !history.Equal(a, b) {
		t.Errorf("%s and %s differ", history.Canonical(a), history.Canonical(b))
	}
	// The argument is left alone.
	in := []any{json.Number("3")}
	if _, err := history.NormalizeGo(in); err != nil || in[0] != json.Number("3") {
		t.Errorf("NormalizeGo changed its argument to %v (%v)", in, err)
	}
}

// Integers beyond int64 are kept exact, whatever Go type holds them.
func TestNormalizeGoKeepsBigIntegersExact(t *testing.T) {
	huge, _ := new(big.Int).SetString("36893488147419103233", 10) // 2^65+1
	for _, c := range []struct {
		in   any
		want string
	}{{uint64(math.MaxUint64), "18446744073709551615"}, {huge, "36893488147419103233"}, {json.Number("36893488147419103233"), "36893488147419103233"}} {
		got, err := history.NormalizeGo(c.in)
		if err != nil || got != history.Number(c.want) {
			t.Errorf("NormalizeGo(%v) = %#v, %v; want history.Number(%q)", c.in, got, err, c.want)
		}
	}
}

func TestNormalizeGoRefuses(t *testing.T) {
	cases := []struct {
		name string
		in   any
		want string
	}{
		{"channel", make(chan int), "chan int cannot be represented"},
		{"func", func() {}, "cannot be represented"},
		{"complex", complex(1, 2), "complex128 cannot be represented"},
		{"struct key map", map[struct{ A int }]int{{1}: 1}, "keys must be strings or integers"},
		{"channel in a slice", []any{1, make(chan int)}, "element 1"},
		{"struct with a channel", struct{ C chan int }{}, "cannot be represented"},
	}
	for _, c := range cases {
		got, err := history.NormalizeGo(c.in)
		if err == nil {
			t.Errorf("%s: accepted as %s, want an error", c.name, history.Canonical(got))
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
		}
	}
}

func TestBuilderNumbersAndNormalises(t *testing.T) {
	var b history.Builder
	b.Invoke(0, "write", "x", 1)
	b.Invoke(1, "read", "x", nil)
	b.OK(0, "write", "x", int32(1))
	b.OK(1, "read", "x", uint8(1))
	b.Add(history.Event{Type: history.Invoke, Process: 2, F: "read", Key: 7, Time: 5})
	b.Add(history.Event{Type: history.OK, Process: 2, F: "read", Key: int16(7), Value: []int{1}, Index: 10})
	b.Invoke(3, "write", nil, map[string]int{"a": 1})
	b.Info(3, "write", nil, nil)
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	wantIdx := []int64{0, 1, 2, 3, 4, 10, 11, 12}
	for i, e := range h.Events {
		if e.Index != wantIdx[i] {
			t.Errorf("event %d has index %d, want %d", i, e.Index, wantIdx[i])
		}
		if wantTime := history.NoTime; i == 4 {
			if e.Time != 5 {
				t.Errorf("event 4 has time %d, want 5", e.Time)
			}
		} else if e.Time != wantTime {
			t.Errorf("event %d has time %d, want none (a zero time is no time)", i, e.Time)
		}
		if e.Line != 0 {
			t.Errorf("event %d has line %d, want 0 for a history built in memory", i, e.Line)
		}
	}
	if len(h.Ops) != 4 {
		t.Fatalf("%d operations, want 4", len(h.Ops))
	}
	if w, r := h.Ops[0], h.Ops[1]; !history.Equal(w.Input, r.Output) || w.Input != int64(1) {
		t.Errorf("write of %#v and read of %#v should both be int64 1", w.Input, r.Output)
	}
	if k := h.Ops[2].Key; k != int64(7) {
		t.Errorf("key %#v, want int64 7", k)
	}
	if got := history.Canonical(h.Ops[2].Output); got != "[1]" {
		t.Errorf("read value %s, want [1]", got)
	}
	if op := h.Ops[3]; op.Type != history.Info || history.Canonical(op.Input) != `{"a":1}` {
		t.Errorf("crashed write: %v %s", op.Type, history.Canonical(op.Input))
	}
	if idx := h.OpIndex(&h.Ops[2]); idx != 10 {
		t.Errorf("the operation completed by the event given index 10 has index %d", idx)
	}
}

func TestBuilderErrors(t *testing.T) {
	cases := []struct {
		name  string
		build func(b *history.Builder)
		want  string
	}{
		{"bad value", func(b *history.Builder) { b.Invoke(0, "write", "x", make(chan int)) },
			"event 0 (invoke write of process 0): value: a chan int cannot be represented"},
		{"bad key", func(b *history.Builder) { b.Invoke(0, "write", 1.5, 1) },
			"event 0 (invoke write of process 0): key 1.5 is neither a string nor an integer"},
		{"error sticks", func(b *history.Builder) {
			b.Invoke(0, "write", "x", 1).OK(0, "write", "x", func() {}).Invoke(1, "read", "x", nil)
		}, "event 1 (ok write of process 0): value:"},
		{"index goes back", func(b *history.Builder) {
			b.Add(history.Event{Type: history.Invoke, F: "read", Index: 5})
			b.Add(history.Event{Type: history.OK, F: "read", Index: 3})
		}, "index 3 does not follow the previous event's index 5"},
		{"completion without invocation", func(b *history.Builder) { b.OK(0, "read", "x", 1) },
			"builder: event 0: ok completion of read by process 0 has no open invocation"},
		{"second invocation", func(b *history.Builder) { b.Invoke(0, "read", "x", nil).Invoke(0, "read", "x", nil) },
			"event 1: process 0 invokes read while its read"},
		{"mixed kinds", func(b *history.Builder) {
			b.Invoke(0, "read", "x", nil).Operation(history.Operation{F: "read"})
		}, "Operation after Add"},
		{"return before call", func(b *history.Builder) {
			b.Operation(history.Operation{F: "read", Call: 10, Return: 5})
		}, "returns at 5, before its call at 10"},
	}
	for _, c := range cases {
		var b history.Builder
		c.build(&b)
		_, err := b.History()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.name, err, c.want)
			continue
		}
		if he := (*history.Error)(nil); !errors.As(err, &he) {
			t.Errorf("%s: %T is not a *history.Error", c.name, err)
		}
		if b.Err() == nil && c.name != "completion without invocation" && c.name != "second invocation" {
			t.Errorf("%s: Err is nil", c.name)
		}
	}
}

func TestBuilderOperationsOrderedByTime(t *testing.T) {
	var b history.Builder
	// Added out of order; the read's call and the write's return touch
	// at 20, so they overlap.
	b.Operation(history.Operation{Process: 1, F: "read", Output: 1, Call: 1000 + 20, Return: 1000 + 30})
	b.Operation(history.Operation{Process: 0, F: "write", Input: 1, Call: 1000 + 0, Return: 1000 + 20})
	b.Operation(history.Operation{Process: 2, F: "write", Input: 2, Type: history.Info, Call: 1000 + 25})
	h, err := b.History()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h.Events {
		got = append(got, e.Type.String()+" "+e.F)
	}
	want := "invoke write,invoke read,ok write,invoke write,ok read,info write"
	if strings.Join(got, ",") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	wantTime := []int64{0, 20, 20, 25, 30, history.NoTime}
	for i, e := range h.Events {
		if e.Time != wantTime[i] || e.Index != int64(i) {
			t.Errorf("event %d: time %d index %d, want time %d index %d", i, e.Time, e.Index, wantTime[i], i)
		}
	}
}

func TestMemoryRecorder(t *testing.T) {
	rec := history.NewMemoryRecorder()
	defer rec.Close()
	var wg sync.WaitGroup
	const procs, each = 8, 2500 // 40,000 events: more than the ring holds
	for p := range procs {
		wg.Go(func() {
			for i := range each {
				e := history.Event{Type: history.Invoke, Process: history.Process(p), F: "write", Key: p % 3, Value: []int{p, i}}
				if _, err := rec.Record(e); err != nil {
					t.Error(err)
					return
				}
				e.Type = history.OK
				if _, err := rec.Record(e); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	h, err := rec.History()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != 2*procs*each || len(h.Ops) != procs*each {
		t.Fatalf("%d events, %d operations; want %d and %d", len(h.Events), len(h.Ops), 2*procs*each, procs*each)
	}
	last := int64(-1)
	for i, e := range h.Events {
		if e.Index != int64(i) || e.Time < last || e.Time == history.NoTime {
			t.Fatalf("event %d: index %d time %d after %d", i, e.Index, e.Time, last)
		}
		last = e.Time
	}
	op := h.Ops[0]
	if _, ok := op.Key.(int64); !ok || history.Canonical(op.Input) != history.Canonical(op.Output) {
		t.Fatalf("operation 0: key %#v, input %s, output %s", op.Key, history.Canonical(op.Input), history.Canonical(op.Output))
	}
	if _, ok := op.Input.([]any); !ok {
		t.Fatalf("value %#v was not normalised", op.Input)
	}
	// Recording goes on after History.
	if _, err := rec.Record(history.Event{Type: history.Invoke, Process: 99, F: "read", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	h2, err := rec.History()
	if err != nil || len(h2.Events) != len(h.Events)+1 || h2.Ops[len(h2.Ops)-1].Type != history.Info {
		t.Fatalf("second History: %v, %d events", err, len(h2.Events))
	}
}

func TestMemoryRecorderRefusesBadValue(t *testing.T) {
	rec := history.NewMemoryRecorder()
	if _, err := rec.Record(history.Event{Type: history.Invoke, Process: 0, F: "write", Value: make(chan int)}); err != nil {
		t.Fatal(err) // refused when kept, not on the recording goroutine
	}
	_, err := rec.History()
	if err == nil || !strings.Contains(err.Error(), "event 0 (invoke write of process 0): value: a chan int cannot be represented") {
		t.Fatalf("History: %v", err)
	}
	if _, err := rec.Record(history.Event{Type: history.OK, Process: 0, F: "write"}); err == nil {
		t.Fatal("Record after the refusal succeeded")
	}
	if err := rec.Close(); err == nil {
		t.Fatal("Close hid the refusal")
	}
	var sb strings.Builder
	file := history.NewRecorder(&sb, time.Hour)
	defer file.Close()
	if _, err := file.History(); err == nil || !strings.Contains(err.Error(), "NewMemoryRecorder") {
		t.Fatalf("History of a file recorder: %v", err)
	}
}
