package clock

import (
	"context"
	"testing"
	"time"
)

// manual is a clock whose time moves only when it sleeps or is moved.
type manual struct{ now time.Time }

func (m *manual) Now() time.Time { return m.now }

func (m *manual) Sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	m.now = m.now.Add(max(d, 0))
	return true
}

func (m *manual) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithCancel(parent)
}

// TestPacerKeepsTickerTimes: ticks fall on start + k·every; a loop busy
// past several ticks goes once at once and then waits for the next tick
// on the grid, as a time.Ticker read in a loop does.
func TestPacerKeepsTickerTimes(t *testing.T) {
	start := time.Unix(0, 0)
	m := &manual{now: start}
	p := NewPacer(m, 10*time.Millisecond)
	ctx := context.Background()
	at := func() time.Duration { return m.now.Sub(start) }
	for _, want := range []time.Duration{10, 20, 30} {
		if !p.Wait(ctx) || at() != want*time.Millisecond {
			t.Fatalf("tick at %v, want %v", at(), want*time.Millisecond)
		}
	}
	m.now = m.now.Add(35 * time.Millisecond) // busy until 65 ms: ticks 40, 50, 60 fall meanwhile
	if !p.Wait(ctx) || at() != 65*time.Millisecond {
		t.Fatalf("a missed tick should let the loop go at once, at 65ms; went at %v", at())
	}
	if !p.Wait(ctx) || at() != 70*time.Millisecond {
		t.Fatalf("after a missed tick the next falls at 70ms; fell at %v", at())
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if p.Wait(cancelled) {
		t.Fatal("Wait on an ended context went on")
	}
}

func TestWallSleepEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Wall.Sleep(ctx, time.Hour) {
		t.Fatal("Sleep on an ended context reported that the hour passed")
	}
	if !Wall.Sleep(context.Background(), 0) {
		t.Fatal("Sleep of 0 on a live context should report true")
	}
}

// clocked is a store that says which clock it runs on.
type clocked struct{ c Clock }

func (s clocked) Clock() Clock { return s.c }

// TestOf: a value that names its clock gives it, nil giving the wall
// clock; any other value runs on the wall clock.
func TestOf(t *testing.T) {
	m := &manual{}
	if got := Of(clocked{m}); got != m {
		t.Fatalf("Of a store on a manual clock: %v", got)
	}
	if got := Of(clocked{}); got != Wall {
		t.Fatalf("Of a store naming no clock: %v, want Wall", got)
	}
	if got := Of(struct{}{}); got != Wall {
		t.Fatalf("Of a value without a clock: %v, want Wall", got)
	}
}
