package matrix_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"consist/adapters/builtin"
	"consist/checker"
	"consist/matrix"
	"consist/nemesis"
)

// TestProfiles runs every bundled store as consist matrix does, with its
// defaults, and asserts that each behaves as its profile says: no
// guaranteed model broken, every expected anomaly shown.
func TestProfiles(t *testing.T) {
	// The CLI's defaults, in simulation: every run replays exactly, so
	// the profiles are asserted deterministically (on the wall clock a
	// loaded machine could hide a break that needs an interleaving).
	m, err := matrix.Run(context.Background(), matrix.Config{Duration: 5 * time.Second, Seeds: 4, Parallel: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := m.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if d := m.Disagreements(); len(d) > 0 {
		t.Fatalf("%d verdicts disagree with the profiles:\n%s", len(d), out.String())
	}
	if len(m.Rows) != len(builtin.Stores()) {
		t.Fatalf("%d rows for %d stores", len(m.Rows), len(builtin.Stores()))
	}
	for l := range strings.Lines(out.String()) {
		if n := utf8.RuneCountInString(strings.TrimSuffix(l, "\n")); n > 120 {
			t.Errorf("a line of the matrix is %d columns wide, want ≤ 120: %q", n, l)
		}
	}
	if !strings.Contains(out.String(), "Transactional models\n") {
		t.Errorf("no transactional table:\n%s", out.String())
	}
	t.Log("\n" + out.String())
}

// TestSimulatedMatrixReplays: the matrix of two stores, each run under
// two seeds in simulation, gives the same counts and verdicts twice.
func TestSimulatedMatrixReplays(t *testing.T) {
	var stores []builtin.Store
	for _, name := range []string{"paxos", "eventual"} {
		s, err := builtin.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	run := func() string {
		m, err := matrix.Run(context.Background(), matrix.Config{Stores: stores, Duration: time.Second, Parallel: 2, Seed: 5, Seeds: 2})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		for _, r := range m.Rows {
			for _, c := range r.Cells {
				fmt.Fprintf(&out, "%s %s seed %d: %d/%d/%d", r.Store, c.Name, c.Seed, c.OK, c.Fail, c.Info)
				for _, res := range c.Results {
					fmt.Fprintf(&out, " %s=%s", res.Model, res.Verdict)
				}
				out.WriteString("\n")
			}
		}
		return out.String()
	}
	first := run()
	if strings.Count(first, "seed 6") == 0 || strings.Count(first, "\n") < 4 {
		t.Fatalf("the matrix ran no second seed:\n%s", first)
	}
	if second := run(); second != first {
		t.Fatalf("two simulated matrices differ:\n%s\nand\n%s", first, second)
	}
}

// TestDisagreementsAreMarked judges a store against a profile it cannot
// meet: the broken guarantee, the break that never showed, the break that
// did not show under the seed named for it, and the models the profile
// says nothing of must all be marked, and the text must say so.
func TestDisagreementsAreMarked(t *testing.T) {
	s, err := builtin.Lookup("eventual")
	if err != nil {
		t.Fatal(err)
	}
	// Claim set-full, a counter break in a run that never breaks it, and
	// a causal break under seed 1: the set run breaks set-full and does
	// not check counters, and the register run shows a causal violation
	// under seeds 3, 7 and 9 of the first ten, not under seed 1.
	partitioned := builtin.Run{Workload: "register", Faults: []nemesis.Kind{nemesis.Partition}}
	s.Profile = builtin.Profile{
		Guarantees: []checker.Model{checker.SetFull},
		Breaks:     []builtin.Break{{Model: checker.Counter, Run: builtin.Run{Workload: "set"}, Seed: 1}, {Model: checker.Causal, Run: partitioned, Seed: 1}},
		Runs:       []builtin.Run{partitioned},
	}
	m, err := matrix.Run(context.Background(), matrix.Config{Stores: []builtin.Store{s}, Duration: 2 * time.Second, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := m.Disagreements()
	all := strings.Join(d, "\n")
	for _, want := range []string{"set-full is guaranteed, but it broke in set without faults", "counter should break in set without faults under seed 1",
		"causal should break in register under partition under seed 1, but was valid there", "the profile says nothing of monotonic-reads (it was valid)"} {
		if !strings.Contains(all, want) {
			t.Errorf("no disagreement says %q:\n%s", want, all)
		}
	}
	var out bytes.Buffer
	if err := m.WriteMarkdown(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "| eventual | ✗") || !strings.Contains(out.String(), " !") || !strings.Contains(out.String(), "disagreements with the profiles") {
		t.Fatalf("the Markdown does not mark the disagreements:\n%s", out.String())
	}
}
