package crdt

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"consist/history"
)

// checkLaws draws triples of states with gen and checks that Leq is a
// partial order and Merge its least upper bound: commutative, associative,
// idempotent, above both its arguments and below every common upper
// bound. States that are equal in the order must read the same (read),
// and merging must not change its arguments.
func checkLaws[T lattice[T]](t *testing.T, gen func(*rand.Rand) T, read func(T) any) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	eq := func(x, y T) bool { return x.Leq(y) && y.Leq(x) }
	for i := range 2000 {
		a, b, c := gen(rng), gen(rng), gen(rng)
		before := [3]string{history.Canonical(read(a)), history.Canonical(read(b)), history.Canonical(read(c))}
		ab, ba := a.Merge(b), b.Merge(a)
		for _, law := range []struct {
			name string
			ok   bool
		}{
			{"reflexive: a ≤ a", a.Leq(a)},
			{"commutative: a ⊔ b = b ⊔ a", eq(ab, ba) && history.Equal(read(ab), read(ba))},
			{"associative: (a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)", eq(ab.Merge(c), a.Merge(b.Merge(c))) && history.Equal(read(ab.Merge(c)), read(a.Merge(b.Merge(c))))},
			{"idempotent: a ⊔ a = a", eq(a.Merge(a), a) && history.Equal(read(a.Merge(a)), read(a))},
			{"upper bound: a ≤ a ⊔ b and b ≤ a ⊔ b", a.Leq(ab) && b.Leq(ab)},
			{"least: a ≤ c and b ≤ c imply a ⊔ b ≤ c", !(a.Leq(c) && b.Leq(c)) || ab.Leq(c)},
			{"a ≤ b exactly when a ⊔ b = b", a.Leq(b) == eq(ab, b)},
			{"antisymmetric: equal states read the same", !eq(a, b) || history.Equal(read(a), read(b))},
			{"merging leaves its arguments alone", before == [3]string{history.Canonical(read(a)), history.Canonical(read(b)), history.Canonical(read(c))}},
		} {
			if !law.ok {
				t.Fatalf("draw %d: %s fails for\na = %+v\nb = %+v\nc = %+v", i, law.name, a, b, c)
			}
		}
	}
}

var nodes = []string{"n1", "n2", "n3"}

// randomGCounter draws a counter with small entries, so that draws are
// often comparable.
func randomGCounter(rng *rand.Rand) GCounter {
	var c GCounter
	for _, n := range nodes {
		if rng.IntN(3) > 0 {
			c = c.Increment(n, uint64(rng.IntN(4)))
		}
	}
	return c
}

func TestGCounterIsASemilattice(t *testing.T) {
	checkLaws(t, randomGCounter, func(c GCounter) any { return int64(c.Value()) })
}

func TestPNCounterIsASemilattice(t *testing.T) {
	checkLaws(t, func(rng *rand.Rand) PNCounter { return PNCounter{randomGCounter(rng), randomGCounter(rng)} },
		func(c PNCounter) any { return c.Value() })
}

func TestLWWRegisterIsASemilattice(t *testing.T) {
	// Few times, nodes and values, so that timestamps tie often, down to
	// equal times and nodes with different values.
	checkLaws(t, func(rng *rand.Rand) LWWRegister {
		if rng.IntN(8) == 0 {
			return LWWRegister{}
		}
		return LWWRegister{value: int64(rng.IntN(3)), time: int64(rng.IntN(3)), node: nodes[rng.IntN(2)]}
	}, func(r LWWRegister) any { return r.Value() })
}

func TestORSetIsASemilattice(t *testing.T) {
	// Tags are drawn from a small universe and each names one element,
	// as unique tags do; every add and tombstone is present or not at
	// random, tombstones with or without their add (a replica may learn
	// of a remove before the add).
	element := func(tag Tag) any {
		if tag.Seq%3 == 0 {
			return fmt.Sprintf("e%d", tag.Seq%5)
		}
		return int64(tag.Seq % 5)
	}
	checkLaws(t, func(rng *rand.Rand) ORSet {
		var s ORSet
		for _, n := range nodes[:2] {
			for seq := range uint64(4) {
				tag := Tag{n, seq}
				if rng.IntN(2) == 0 {
					s = s.Add(element(tag), tag)
				}
				if rng.IntN(4) == 0 {
					s = ORSet{s.adds, union(s.removed, map[Tag]struct{}{tag: {}})}
				}
			}
		}
		return s
	}, func(s ORSet) any { return s.Elements() })
}

// TestReplicasConvergeWhateverTheDelivery: replicas that update and
// exchange states in a random order, with states lost, duplicated and
// delivered late, end equal once each has merged everyone's last state —
// and hold every update that was not removed.
func TestReplicasConvergeWhateverTheDelivery(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 3))
		var counters [3]PNCounter
		var sets [3]ORSet
		var sent []int // replicas whose states are in flight, by index into the snapshots
		var snapC []PNCounter
		var snapS []ORSet
		var sum int64
		seq := 0
		want := map[int64]bool{}
		for range 200 {
			i := rng.IntN(3)
			switch rng.IntN(4) {
			case 0: // update
				delta := rng.Int64N(11) - 5
				counters[i] = counters[i].Add(nodes[i], delta)
				sum += delta
				seq++
				e := int64(rng.IntN(20))
				sets[i] = sets[i].Add(e, Tag{nodes[i], uint64(seq)})
				want[e] = true
			case 1: // remove, at one replica, what it has seen of an element
				e := int64(rng.IntN(20))
				if sets[i].Contains(e) {
					sets[i] = sets[i].Remove(e)
				}
			case 2: // send a state
				snapC, snapS = append(snapC, counters[i]), append(snapS, sets[i])
				sent = append(sent, len(snapC)-1)
			case 3: // deliver a state in flight, at random, maybe again
				if len(sent) > 0 {
					k := sent[rng.IntN(len(sent))]
					counters[i], sets[i] = counters[i].Merge(snapC[k]), sets[i].Merge(snapS[k])
				}
			}
		}
		for i := range 3 {
			for j := range 3 {
				counters[j], sets[j] = counters[j].Merge(counters[i]), sets[j].Merge(sets[i])
			}
		}
		for i := range 3 {
			if counters[i].Value() != sum {
				t.Fatalf("seed %d: replica %d counts %d; want the sum of every add, %d", seed, i, counters[i].Value(), sum)
			}
			if !history.Equal(sets[i].Elements(), sets[0].Elements()) {
				t.Fatalf("seed %d: replicas hold %v and %v", seed, sets[0].Elements(), sets[i].Elements())
			}
		}
		for _, e := range sets[0].Elements() {
			if !want[e.(int64)] {
				t.Fatalf("seed %d: %v was never added", seed, e)
			}
		}
	}
}

func TestPNCounterCountsBothWays(t *testing.T) {
	older := PNCounter{}.Add("n1", 5)
	c := older.Add("n2", -7).Add("n1", -1<<63).Add("n1", 1<<63-1)
	if got, want := c.Value(), int64(5-7-1); got != want {
		t.Fatalf("5 - 7 - 2^63 + 2^63 - 1 counted %d; want %d", got, want)
	}
	if got := c.Merge(older).Value(); got != 5-7-1 {
		t.Fatalf("merging an older state changed the count to %d", got)
	}
	if got := c.Merge(PNCounter{}.Add("n3", 10)).Value(); got != 5-7-1+10 {
		t.Fatalf("merging n3's add of 10 counted %d; want %d", got, 5-7-1+10)
	}
}

func TestORSetAddWins(t *testing.T) {
	base := ORSet{}.Add("x", Tag{"n1", 1})
	removed := base.Remove("x")            // n1 removes x, having seen add 1
	readded := base.Add("x", Tag{"n2", 1}) // n2 adds x again, concurrently
	if removed.Contains("x") || !readded.Contains("x") {
		t.Fatalf("remove left %v; add made %v", removed.Elements(), readded.Elements())
	}
	if got := removed.Merge(readded).Elements(); !history.Equal(got, []any{"x"}) {
		t.Fatalf("a remove merged with a concurrent add holds %v; want the add to win, [x]", got)
	}
	if got := removed.Merge(base).Elements(); len(got) != 0 {
		t.Fatalf("a remove merged with the add it observed holds %v; want []", got)
	}
	mixed := ORSet{}.Add("b", Tag{"n1", 1}).Add(int64(10), Tag{"n1", 2}).Add(int64(2), Tag{"n1", 3}).Add("a", Tag{"n1", 4}).Add(int64(2), Tag{"n2", 1})
	want := []any{int64(2), int64(10), "a", "b"}
	if got := mixed.Elements(); !history.Equal(got, want) {
		t.Fatalf("elements %v; want %v: each once, integers first by value, as package objects sorts", got, want)
	}
}

func TestLWWWriteSupersedesTheRegister(t *testing.T) {
	ahead := LWWRegister{}.Write("ahead", 1000, "n1")
	behind := ahead.Write("behind", 10, "n2") // n2's clock reads 10, but it saw a write at 1000
	if got := ahead.Merge(behind).Value(); got != "behind" {
		t.Fatalf("a write made after seeing another lost to it: %v", got)
	}
	concurrent := LWWRegister{}.Write("concurrent", 10, "n2")
	if got := ahead.Merge(concurrent).Value(); got != "ahead" {
		t.Fatalf("of two concurrent writes the later timestamp must win: got %v", got)
	}
	a, b := LWWRegister{}.Write("a", 5, "n1"), LWWRegister{}.Write("b", 5, "n2")
	if got := a.Merge(b).Value(); got != "b" {
		t.Fatalf("at equal times the greater node must win: got %v", got)
	}
}
