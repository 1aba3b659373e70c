package vclock_test

import (
	"testing"

	"consist/adapters/builtin/vclock"
)

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b vclock.Clock
		want vclock.Order
	}{
		{nil, nil, vclock.Equal},
		{vclock.Clock{"n1": 1, "n2": 0}, vclock.Clock{"n1": 1}, vclock.Equal},
		{vclock.Clock{"n1": 1}, nil, vclock.After},
		{nil, vclock.Clock{"n1": 1}, vclock.Before},
		{vclock.Clock{"n1": 2, "n2": 1}, vclock.Clock{"n1": 1, "n2": 1}, vclock.After},
		{vclock.Clock{"n1": 1}, vclock.Clock{"n1": 1, "n3": 1}, vclock.Before},
		{vclock.Clock{"n1": 2, "n2": 1}, vclock.Clock{"n1": 1, "n2": 2}, vclock.Concurrent},
		{vclock.Clock{"n1": 1}, vclock.Clock{"n2": 1}, vclock.Concurrent},
	} {
		if got := tc.a.Compare(tc.b); got != tc.want {
			t.Errorf("%v.Compare(%v) = %s, want %s", tc.a, tc.b, got, tc.want)
		}
		descends := tc.want == vclock.Equal || tc.want == vclock.After
		if got := tc.a.Descends(tc.b); got != descends {
			t.Errorf("%v.Descends(%v) = %v, want %v", tc.a, tc.b, got, descends)
		}
	}
}

func TestMergeAndTick(t *testing.T) {
	a := vclock.Clock{"n1": 3, "n2": 1}
	b := vclock.Clock{"n2": 4, "n3": 2}
	m := a.Merge(b)
	if want := (vclock.Clock{"n1": 3, "n2": 4, "n3": 2}); m.Compare(want) != vclock.Equal || len(m) != 3 {
		t.Fatalf("%v merged with %v = %v, want %v", a, b, m, want)
	}
	if a.Compare(m) != vclock.Before || b.Compare(m) != vclock.Before {
		t.Fatalf("the merge %v does not descend from both %v and %v", m, a, b)
	}
	next := m.Tick("n1")
	if next["n1"] != 4 || m["n1"] != 3 {
		t.Fatalf("ticking %v at n1 gave %v and left the original at %v; want n1 at 4 in the copy, 3 in the original", m, next, m)
	}
	if a["n2"] != 1 || len(b) != 2 {
		t.Fatalf("merge changed its inputs: %v, %v", a, b)
	}
	if c := vclock.Clock(nil).Tick("n2"); c.Compare(vclock.Clock{"n2": 1}) != vclock.Equal {
		t.Fatalf("ticking an empty clock gave %v", c)
	}
}
