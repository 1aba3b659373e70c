package history

import (
	"bytes"
	"runtime"
	"testing"
)

// retained parses the JSON Lines encoding of events and returns the heap
// the parsed history keeps alive once the file's bytes are dropped, per
// operation, and the file's size per operation.
func retained(t testing.TB, events []Event) (heapPerOp, filePerOp float64) {
	t.Helper()
	return retainedParse(t, JSONL, func() []byte {
		var buf bytes.Buffer
		if err := WriteJSONL(&buf, events); err != nil {
			t.Fatal(err)
		}
		events = nil // only the file's bytes stay
		return buf.Bytes()
	})
}

// retainedParse is retained for the file, in the given format, that file
// returns; nothing else may hold the file's bytes.
func retainedParse(t testing.TB, format Format, file func() []byte) (heapPerOp, filePerOp float64) {
	t.Helper()
	data := file()
	fileSize, held := len(data), int64(cap(data))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	before.HeapAlloc -= uint64(held) // the file's bytes, dropped below
	h, err := Parse(data, "mem", format)
	if err != nil {
		t.Fatal(err)
	}
	data = nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	ops := float64(len(h.Ops))
	runtime.KeepAlive(h)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / ops, float64(fileSize) / ops
}

// BenchmarkRetainedMemory reports the heap a parsed history of a million
// operations keeps alive, per operation (heap-B/op), beside its JSON Lines
// file's size per operation (file-B/op), for register and list-append
// transaction histories:
//
//	go test ./history -run '^$' -bench RetainedMemory -benchtime 1x
func BenchmarkRetainedMemory(b *testing.B) {
	for _, shape := range []struct {
		name string
		gen  func() []Event
	}{
		{"register", func() []Event { return genRegisterHistory(2_000_000, 1) }},
		{"txn", func() []Event { return genHistory(2_000_000, 1) }},
	} {
		b.Run("shape="+shape.name, func(b *testing.B) {
			var heap, file float64
			for b.Loop() {
				heap, file = retained(b, shape.gen())
			}
			b.ReportMetric(heap, "heap-B/op")
			b.ReportMetric(file, "file-B/op")
			b.ReportMetric(heap/file, "heap/file")
		})
	}
	b.Run("shape=txn-edn", func(b *testing.B) {
		var heap, file float64
		for b.Loop() {
			heap, file = retainedParse(b, EDN, func() []byte { return ednHistory(genHistory(2_000_000, 1)) })
		}
		b.ReportMetric(heap, "heap-B/op")
		b.ReportMetric(file, "file-B/op")
		b.ReportMetric(heap/file, "heap/file")
	})
}

// TestRetainedMemoryPerOperation bounds the heap a parsed history keeps
// per operation, a tenth above what BenchmarkRetainedMemory measured (366
// and 788 bytes), so that a change that makes events or values bigger
// fails here.
func TestRetainedMemoryPerOperation(t *testing.T) {
	if testing.Short() {
		t.Skip("parses 400,000 events")
	}
	for _, c := range []struct {
		name   string
		events []Event
		limit  float64
	}{
		{"register", genRegisterHistory(200_000, 2), 400},
		{"txn", genHistory(200_000, 2), 870},
	} {
		heap, file := retained(t, c.events)
		t.Logf("%s: %.0f heap bytes and %.0f file bytes per operation", c.name, heap, file)
		if heap > c.limit {
			t.Errorf("%s: a parsed history keeps %.0f bytes per operation, more than %.0f", c.name, heap, c.limit)
		}
	}
}

func TestCompletionSharesItsInvocationsValues(t *testing.T) {
	data := []byte(`{"type":"invoke","process":0,"f":"cas","key":"x","value":[1000,2000]}
{"type":"ok","process":0,"f":"cas","key":"x","value":[1000,2000]}
{"type":"invoke","process":1,"f":"txn","value":[["append","y",3000],["r","y",null]]}
{"type":"ok","process":1,"f":"txn","value":[["append","y",3000],["r","y",[3000]]]}
{"type":"invoke","process":2,"f":"write","key":"x","value":5000}
{"type":"fail","process":2,"f":"write","key":"x","value":5001}
`)
	h, err := Parse(data, "share", JSONL)
	if err != nil {
		t.Fatal(err)
	}
	cas := &h.Ops[0]
	if in, out := cas.Input.([]any), cas.Output.([]any); &in[0] != &out[0] {
		t.Error("the cas completion holds a copy of its invocation's pair")
	}
	txn := &h.Ops[1]
	in, out := txn.Input.([]any), txn.Output.([]any)
	if &in[0].([]any)[0] != &out[0].([]any)[0] {
		t.Error("the txn completion holds a copy of its append micro-op")
	}
	if !Equal(out[1], []any{"r", "y", []any{int64(3000)}}) || Equal(in[1], out[1]) {
		t.Errorf("the txn completion's read became %s, want [r y [3000]] apart from the invocation's", Describe(out[1]))
	}
	if w := &h.Ops[2]; w.Input != int64(5000) || h.Events[5].Value != int64(5001) {
		t.Errorf("a completion with a value of its own became %s", Describe(h.Events[5].Value))
	}
}
