package builtin_test

import (
	"testing"

	"consist/adapters/builtin"
	"consist/checker"
)

// TestProfilesAreWhole: every break names the seed that shows it and a
// run of a workload that checks its model, every unseen model says why,
// and no model is both promised and expected to break or unseen.
func TestProfilesAreWhole(t *testing.T) {
	for _, s := range builtin.Stores() {
		p := s.Profile
		for _, b := range p.Breaks {
			if b.Seed == 0 {
				t.Errorf("%s: the break of %s in %s names no seed: name one that shows it (consist matrix --seeds K lists them)", s.Name, b.Model, b.Run)
			}
			if p.Guaranteed(b.Model) {
				t.Errorf("%s: %s is both guaranteed and expected to break", s.Name, b.Model)
			}
		}
		for _, u := range p.Unseen {
			if u.Why == "" {
				t.Errorf("%s: %s is unseen with no reason", s.Name, u.Model)
			}
			if p.Guaranteed(u.Model) || p.Broken(u.Model) {
				t.Errorf("%s: %s is unseen, yet the profile guarantees it or expects it to break", s.Name, u.Model)
			}
		}
	}
}

// TestBrokenFollowsTheLattice: a profile that expects a model to break
// expects every stronger model to break with it, and no weaker one.
func TestBrokenFollowsTheLattice(t *testing.T) {
	p := builtin.Profile{Breaks: []builtin.Break{{Model: checker.Causal, Seed: 1}}}
	for m, want := range map[checker.Model]bool{checker.Causal: true, checker.Sequential: true, checker.Linearizable: true, checker.PRAM: false, checker.WeakCausal: false} {
		if got := p.Broken(m); got != want {
			t.Errorf("Broken(%s) = %v, want %v", m, got, want)
		}
	}
}
