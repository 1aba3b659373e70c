package membudget

import (
	"context"
	"errors"
	"runtime/debug"
	"testing"
	"time"
)

// A budget below what the process already holds is reached at the first
// sample: the context ends with ErrExceeded as its cause.
func TestStartCancelsAtTheBudget(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	ctx, w := Start(context.Background(), 1<<20)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a 1 MiB budget was not reached in 10s")
	}
	if !errors.Is(context.Cause(ctx), ErrExceeded) || !w.Exceeded() || w.Peak() < 1<<20 {
		t.Fatalf("cause %v, exceeded %v, peak %d", context.Cause(ctx), w.Exceeded(), w.Peak())
	}
	w.Stop()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("memory limit after Stop %d, want the previous %d", got, before)
	}
}

// A budget far above what the process holds leaves the context alone and
// sets the runtime's soft limit below it.
func TestStartSetsTheSoftLimit(t *testing.T) {
	ctx, w := Start(context.Background(), 64<<30)
	defer w.Stop()
	if got := debug.SetMemoryLimit(-1); got != int64(float64(64<<30)*softLimitFraction) {
		t.Fatalf("soft limit %d", got)
	}
	if ctx.Err() != nil || w.Exceeded() {
		t.Fatalf("a 64 GiB budget was reached: %v", context.Cause(ctx))
	}
	if Held() <= 0 {
		t.Fatal("Held reports nothing held")
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{200 << 20: "200MiB", 3 << 29: "1.5GiB", 512: "512B", 4 << 30: "4GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}
