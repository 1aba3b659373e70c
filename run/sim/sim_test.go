package sim_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"consist/run/clock"
	"consist/run/sim"
)

// TestEventsInOrder: events run by virtual time, then in the order they
// were scheduled, when the one goroutine of the run sleeps past them.
func TestEventsInOrder(t *testing.T) {
	s := sim.New(time.Time{})
	var got []string
	s.After(2*time.Second, func() { got = append(got, "b") })
	s.After(time.Second, func() { got = append(got, "a") })
	s.After(2*time.Second, func() { got = append(got, "c") })
	s.After(5*time.Second, func() { got = append(got, "late") })
	if !s.Sleep(t.Context(), 3*time.Second) {
		t.Fatal("Sleep reported that its time did not pass")
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("events ran as %v, want %v", got, want)
	}
	if s.Elapsed() != 3*time.Second || !s.Now().Equal(sim.Epoch.Add(3*time.Second)) {
		t.Fatalf("after a 3 s sleep the virtual time is %v (%v)", s.Elapsed(), s.Now())
	}
}

// TestLockstep: goroutines of the run take turns in a fixed order; the
// log of their steps is the same every time, and virtual time moves only
// as they sleep.
func TestLockstep(t *testing.T) {
	trace := func() []string {
		s := sim.New(time.Time{})
		var log []string
		g := clock.NewGroup(s)
		for i := range 4 {
			g.Go(func() {
				for j := range 3 {
					s.Sleep(context.Background(), time.Duration(4-i)*time.Millisecond)
					log = append(log, fmt.Sprintf("%d.%d@%v", i, j, s.Elapsed()))
				}
			})
		}
		g.Wait()
		return log
	}
	first := trace()
	if len(first) != 12 || first[0] != "3.0@1ms" {
		t.Fatalf("trace %v: want 12 steps, the shortest sleeper first", first)
	}
	for range 20 {
		if again := trace(); !slices.Equal(first, again) {
			t.Fatalf("two traces differ:\n%v\n%v", first, again)
		}
	}
}

// TestTimeout: a context from WithTimeout ends at its virtual time with
// DeadlineExceeded, waking a goroutine blocked on it; a context ended
// first stops a Sleep.
func TestTimeout(t *testing.T) {
	s := sim.New(time.Time{})
	ctx, cancel := s.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	s.Block(ctx, func() bool { return false })
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || s.Elapsed() != 250*time.Millisecond {
		t.Fatalf("the timeout ended with %v at %v, want a deadline at 250ms", ctx.Err(), s.Elapsed())
	}
	short, cancel2 := s.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if s.Sleep(short, time.Hour) {
		t.Fatal("a sleep of an hour outlived a context of a second")
	}
	if s.Elapsed() != 1250*time.Millisecond {
		t.Fatalf("virtual time %v after the second timeout, want 1.25s", s.Elapsed())
	}
}

// TestOutsideCancel: a context ended from outside the run wakes a
// goroutine that waits with nothing scheduled.
func TestOutsideCancel(t *testing.T) {
	s := sim.New(time.Time{})
	ctx, cancel := context.WithCancel(context.Background())
	go cancel()
	clock.Wait(s, ctx)
	if ctx.Err() == nil {
		t.Fatal("Wait returned before its context ended")
	}
}
