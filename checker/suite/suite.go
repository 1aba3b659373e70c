// Package suite checks a history against many consistency models at once,
// using the lattice of models (checker.Implies) to skip what is already
// decided: a model implied by a valid one is valid, and a model that
// implies an invalid one is invalid. A short linearizability search runs
// first, since a linearizable history satisfies every model of the
// lattice; then the cheap polynomial checkers, weakest model first, so
// that an anomaly found there settles the expensive searches (sequential,
// linearizable) without running them.
package suite

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"consist/checker"
	"consist/checker/bank"
	"consist/checker/causal"
	"consist/checker/convergence"
	"consist/checker/counter"
	"consist/checker/linearizable"
	"consist/checker/sequential"
	"consist/checker/session"
	"consist/checker/set"
	"consist/checker/staleness"
	"consist/history"
)

// Checkers maps each model consist can check to its checker.
func Checkers() map[checker.Model]checker.Checker {
	out := map[checker.Model]checker.Checker{}
	for _, c := range []checker.Checker{linearizable.Checker{}, sequential.Checker{}, causal.Checker{}, session.Checker{}, staleness.Checker{}, convergence.Checker{},
		counter.Checker{}, set.Checker{}, bank.Checker{}} {
		for _, m := range c.Models() {
			out[m] = c
		}
	}
	return out
}

// Engine is the Stats.Engine of a verdict the lattice implied.
const Engine = "lattice"

// expensive models are searched for, NP-complete in general; they run
// last, and only if the lattice leaves them undecided.
var expensive = map[checker.Model]bool{checker.Linearizable: true, checker.Sequential: true}

// Applicable returns the models whose checkers apply to h, strongest
// first.
func Applicable(h *history.History) []checker.Model {
	all := Checkers()
	var out []checker.Model
	for _, m := range checker.Models() {
		c, ok := all[m]
		if !ok {
			continue
		}
		if applies(c, h) {
			out = append(out, m)
		}
	}
	return out
}

// Check judges h against models (every applicable one when models is
// empty) and returns one result per model, strongest first.
//
// Checking every model, convergence is left out when it cannot be judged
// (no read began after the last write): it applies to runs that end with
// final reads.
func Check(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result {
	everything := len(models) == 0
	if everything {
		models = Applicable(h)
		if len(models) == 0 {
			// Say why nothing could be checked, rather than nothing.
			models = []checker.Model{checker.Linearizable}
		}
	}
	all := Checkers()
	want := map[checker.Model]bool{}
	for _, m := range models {
		want[m] = true
	}
	done := map[checker.Model]*checker.Result{}
	run := func(m checker.Model) {
		c, ok := all[m]
		if !ok {
			done[m] = &checker.Result{Model: m, Verdict: checker.Unknown, Reason: fmt.Sprintf("consist has no checker for %s", m)}
			return
		}
		if !applies(c, h) {
			done[m] = &checker.Result{Model: m, Verdict: checker.Unknown, Reason: fmt.Sprintf("%s is checked on %s only; this history's functions are %s", m, histories(m), functions(h))}
			return
		}
		for _, r := range checkOne(ctx, c, h, opts, m) {
			done[r.Model] = &r
		}
		infer(done, want)
	}
	if want[checker.Linearizable] && applies(all[checker.Linearizable], h) {
		// A short search decides most histories that are linearizable, and
		// then implies every other model of the lattice.
		if r := linearizable.Attempt(ctx, h, opts); r.Verdict != checker.Unknown {
			done[checker.Linearizable] = &r
			infer(done, want)
		}
	}
	order := slices.Clone(checker.Models())
	slices.Reverse(order) // weakest first
	for _, m := range order {
		if want[m] && !expensive[m] && done[m] == nil {
			run(m)
		}
	}
	for _, m := range []checker.Model{checker.Linearizable, checker.Sequential} {
		if want[m] && done[m] == nil {
			run(m)
		}
	}
	var out []checker.Result
	if r := done[checker.Convergence]; everything && r != nil && r.Verdict == checker.Unknown {
		delete(done, checker.Convergence)
	}
	for _, m := range checker.Models() {
		if want[m] && done[m] != nil {
			out = append(out, *done[m])
		}
	}
	return out
}

// histories names the histories the checker of m judges.
func histories(m checker.Model) string {
	switch m {
	case checker.Counter:
		return "counter histories (add of integers, read returning an integer, at least one read succeeding)"
	case checker.SetFull:
		return "set histories (add, read returning a list, at least one read succeeding)"
	case checker.Bank:
		return "bank histories (a write of the balances, transfer, read returning a map of balances)"
	case checker.Linearizable:
		return "registers (read, write, cas), key-value strings (get, put, append), mutexes (acquire, release) and register transactions (txn of r and w), one kind per history,"
	}
	return "register histories (read, write, cas)"
}

// functions lists the functions of h's operations, sorted.
func functions(h *history.History) string {
	var fs []string
	for i := range h.Ops {
		if !slices.Contains(fs, h.Ops[i].F) {
			fs = append(fs, h.Ops[i].F)
		}
	}
	slices.Sort(fs)
	return strings.Join(fs, ", ")
}

// applies reports whether c can judge h.
func applies(c checker.Checker, h *history.History) bool {
	a, ok := c.(checker.Applier)
	return !ok || a.Applies(h)
}

// subsetChecker is a checker that can judge some of its models alone.
type subsetChecker interface {
	CheckModels(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result
}

// checkOne runs c for model m alone where c can do that, else for all of
// its models.
func checkOne(ctx context.Context, c checker.Checker, h *history.History, opts checker.Options, m checker.Model) []checker.Result {
	if sc, ok := c.(subsetChecker); ok {
		return sc.CheckModels(ctx, h, opts, m)
	}
	var out []checker.Result
	for _, r := range c.Check(ctx, h, opts) {
		if r.Model == m {
			out = append(out, r)
		}
	}
	return out
}

// infer settles, from the decided results, every wanted model the lattice
// implies: below a valid model, valid; above an invalid one, invalid. An
// unknown verdict below a valid model becomes valid too. It cites the
// strongest valid model, or else the weakest invalid one.
func infer(done map[checker.Model]*checker.Result, want map[checker.Model]bool) {
	strongFirst := checker.Models()
	weakFirst := slices.Clone(strongFirst)
	slices.Reverse(weakFirst)
	decided := func(x checker.Model, v checker.Verdict) bool {
		r := done[x]
		return r != nil && r.Verdict == v
	}
	for _, m := range strongFirst {
		if !want[m] || (done[m] != nil && done[m].Verdict != checker.Unknown) {
			continue
		}
		for _, x := range strongFirst {
			if x != m && decided(x, checker.Valid) && checker.Implies(x, m) {
				done[m] = implied(m, x, checker.Valid, fmt.Sprintf("implied: %s holds, and %s implies %s", x, x, m))
				break
			}
		}
		if done[m] != nil && done[m].Verdict != checker.Unknown {
			continue
		}
		for _, x := range weakFirst {
			if x != m && decided(x, checker.Invalid) && checker.Implies(m, x) {
				done[m] = implied(m, x, checker.Invalid, fmt.Sprintf("implied: %s does not hold (see its anomalies), and %s implies %s", x, m, x))
				break
			}
		}
	}
}

func implied(m, by checker.Model, v checker.Verdict, reason string) *checker.Result {
	return &checker.Result{Model: m, Verdict: v, Reason: reason, ImpliedBy: by, Stats: checker.Stats{Engine: Engine}}
}
