package porcbench

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Interval is the sampling period.
const Interval = time.Millisecond

const heapObjects = "/memory/classes/heap/objects:bytes"

// HeapBytes returns the bytes of heap objects now, live or not yet swept.
func HeapBytes() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// Memory is what Measure saw of a piece of work's memory.
type Memory struct {
	// PeakHeap is how far the heap grew above its level at the start: the
	// highest of samples of the runtime's heap object bytes
	// (runtime/metrics), taken every Interval, after a garbage collection
	// just before the work began. It counts garbage not yet collected, so
	// it bounds the live heap from above; it can miss a peak shorter than
	// the interval, and the runtime accounts small allocations in batches,
	// so it is coarse for small work.
	PeakHeap uint64
	// Allocated is every byte the work allocated (as a benchmark's B/op),
	// exact, and an upper bound of PeakHeap.
	Allocated uint64
}

// Measure runs f and reports its memory.
func Measure(f func()) Memory {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	base := HeapBytes()
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(Interval)
		defer t.Stop()
		for {
			h := HeapBytes()
			mu.Lock()
			peak = max(peak, h)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	runtime.ReadMemStats(&after)
	peak = max(peak, HeapBytes())
	m := Memory{Allocated: after.TotalAlloc - before.TotalAlloc}
	if peak > base {
		m.PeakHeap = peak - base
	}
	return m
}
