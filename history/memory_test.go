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
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, events); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	fileSize, held := len(data), int64(cap(data))
	buf = bytes.Buffer{}
	events = nil
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	before.HeapAlloc -= uint64(held) // the file's bytes, dropped below
	h, err := Parse(data, "mem", JSONL)
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
}
