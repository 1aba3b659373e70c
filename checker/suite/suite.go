// Package suite checks a history against many consistency models at once,
// using the lattice of models (checker.Implies) to skip what is already
// decided: a model implied by a valid one is valid, and a model that
// implies an invalid one is invalid. A short linearizability search runs
// first, since a linearizable history satisfies every model of the
// lattice; then the cheap polynomial checkers, weakest model first, so
// that an anomaly found there settles the expensive searches (sequential,
// linearizable) without running them. A model asked for that cannot be
// decided on its own is settled, where the lattice allows, by models run
// though not asked (see Check); measures given nothing to judge come back
// as checker.Measured.
package suite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/history"
)

// Checkers maps each model consist can check to its checker (see the
// registry, registry.go).
func Checkers() map[checker.Model]checker.Checker {
	out := map[checker.Model]checker.Checker{}
	for m, r := range byModel {
		out[m] = r.Checker
	}
	return out
}

// Engine is the Stats.Engine of a verdict the lattice implied.
const Engine = "lattice"

// expensive reports whether m's checker searches (Cost Search): such
// models run last, and only if the lattice leaves them undecided.
func expensive(m checker.Model) bool {
	r, ok := byModel[m]
	return ok && r.Cost == Search
}

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
// empty) and returns one result per model asked, strongest first.
//
// A model the lattice settles is not checked: below a valid model it is
// valid, above an invalid one invalid, with Result.ImpliedBy naming the
// model that decided. A model asked for that cannot be decided on its own
// (values written twice, a search that ran out of time) is settled the
// same way when it can be: Check then also runs the stronger models of the
// lattice that apply (which may hold) and the weaker polynomial ones
// (which may break), though not asked, and says so in the Reason; only the
// models asked for are returned. Beyond the lattice, a linearizable
// history satisfies bounded-staleness under any bound (every lag is 0), and
// a history that breaks a staleness bound is not linearizable.
//
// Measures that judge nothing (bounded-staleness without a bound,
// convergence without final reads) are returned as checker.Measured.
func Check(ctx context.Context, h *history.History, opts checker.Options, models ...checker.Model) []checker.Result {
	if len(models) == 0 {
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
	// need holds the models to decide: those asked for, and those run to
	// settle them.
	need := maps.Clone(want)
	done := map[checker.Model]*checker.Result{}
	// pending reports whether some model asked for is still undecided.
	pending := func() bool {
		for m := range want {
			if r := done[m]; r == nil || r.Verdict == checker.Unknown {
				return true
			}
		}
		return false
	}
	// useful reports whether running m can still serve: m was asked for,
	// or it helps settle one that was and is still undecided.
	useful := func(m checker.Model) bool { return need[m] && done[m] == nil && (want[m] || pending()) }
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
		ms := []checker.Model{m}
		if reg := byModel[m]; reg != nil && reg.Batch {
			// One analysis decides every model of the checker: ask for
			// all of those still needed at once.
			ms = ms[:0]
			for _, x := range c.Models() {
				if x == m || (need[x] && done[x] == nil) {
					ms = append(ms, x)
				}
			}
		}
		for _, r := range checkOne(ctx, c, h, opts, ms...) {
			done[r.Model] = &r
		}
		infer(done, need)
	}
	weakFirst := slices.Clone(checker.Models())
	slices.Reverse(weakFirst)
	settle := func() {
		if useful(checker.Linearizable) && applies(all[checker.Linearizable], h) {
			// A short search decides most histories that are
			// linearizable, and then implies every other model of the
			// lattice.
			if r := linearizable.Attempt(ctx, h, opts); r.Verdict != checker.Unknown {
				done[checker.Linearizable] = &r
				infer(done, need)
			}
		}
		for _, m := range weakFirst {
			if !expensive(m) && useful(m) {
				run(m)
			}
		}
		for _, m := range []checker.Model{checker.Linearizable, checker.Sequential} {
			if useful(m) {
				run(m)
			}
		}
	}
	settle()
	if extra := helpers(done, want, all, h); len(extra) > 0 {
		unsettled := map[checker.Model]string{}
		for m := range want {
			if r := done[m]; r != nil && r.Verdict == checker.Unknown {
				unsettled[m] = r.Reason
			}
		}
		for _, m := range extra {
			need[m] = true
		}
		settle()
		explainHelpers(done, unsettled, extra)
	}
	var out []checker.Result
	for _, m := range checker.Models() {
		if want[m] && done[m] != nil {
			out = append(out, *done[m])
		}
	}
	return out
}

// impliesFor is the implication Check reasons with: the lattice's
// (checker.Implies), and beyond it, that a linearizable history keeps any
// staleness bound. In a linearizable history every read returns the value
// of the last write before it in an order that respects real time, so no
// write that completed before the read began is newer than the one it
// read: every lag of checker/staleness is 0.
func impliesFor(a, b checker.Model) bool {
	if b == checker.BoundedStaleness && a != b {
		return checker.Implies(a, checker.Linearizable)
	}
	return checker.Implies(a, b)
}

// helpers returns the models, not asked for, whose verdicts could settle a
// model asked for that applies to h and is still unknown: the stronger
// ones that apply to h (one that holds implies it), and the weaker
// polynomial ones (one that breaks rules it out). The weaker searches (sequential below
// linearizable) are left out: as costly as the search that did not
// decide.
func helpers(done map[checker.Model]*checker.Result, want map[checker.Model]bool, all map[checker.Model]checker.Checker, h *history.History) []checker.Model {
	var out []checker.Model
	for _, m := range checker.Models() {
		if r := done[m]; !want[m] || r == nil || r.Verdict != checker.Unknown {
			continue
		}
		if c, ok := all[m]; !ok || !applies(c, h) {
			// Its definition does not cover this kind of history.
			continue
		}
		for _, x := range checker.Models() {
			if x == m || want[x] || done[x] != nil || slices.Contains(out, x) {
				continue
			}
			if c, ok := all[x]; !ok || !applies(c, h) {
				continue
			}
			if impliesFor(x, m) || (impliesFor(m, x) && !expensive(x)) {
				out = append(out, x)
			}
		}
	}
	return out
}

// explainHelpers says, in the Reason of each model in unsettled (asked
// for, unknown before the helpers ran; the value is its reason then),
// which models not asked for were run for it and what came of them.
func explainHelpers(done map[checker.Model]*checker.Result, unsettled map[checker.Model]string, extra []checker.Model) {
	for m, before := range unsettled {
		r := done[m]
		if r.ImpliedBy != "" && slices.Contains(extra, r.ImpliedBy) {
			r.Reason += fmt.Sprintf("; %s was checked, though not asked, because %s could not be decided on its own: %s", r.ImpliedBy, m, before)
			continue
		}
		if r.Verdict != checker.Unknown {
			continue
		}
		var tried []string
		for _, x := range extra {
			if x != m && done[x] != nil && (impliesFor(x, m) || impliesFor(m, x)) {
				tried = append(tried, fmt.Sprintf("%s %s", x, done[x].Verdict))
			}
		}
		if len(tried) > 0 {
			r.Reason += fmt.Sprintf("; the models that could settle it, checked though not asked, did not (%s)", strings.Join(tried, ", "))
		}
	}
}

// histories names the histories the checker of m judges.
func histories(m checker.Model) string {
	if r, ok := byModel[m]; ok && r.Histories != "" {
		return r.Histories
	}
	return registerHistories
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

// checkOne runs c for the models ms alone where c can do that, else for
// all of its models, keeping those of ms.
func checkOne(ctx context.Context, c checker.Checker, h *history.History, opts checker.Options, ms ...checker.Model) []checker.Result {
	if sc, ok := c.(subsetChecker); ok {
		return sc.CheckModels(ctx, h, opts, ms...)
	}
	var out []checker.Result
	for _, r := range c.Check(ctx, h, opts) {
		if slices.Contains(ms, r.Model) {
			out = append(out, r)
		}
	}
	return out
}

// infer settles, from the decided results, every wanted model the lattice
// implies (impliesFor): below a valid model, valid; above an invalid one,
// invalid. An unknown verdict below a valid model becomes valid too. A
// model outside the lattice (bounded-staleness) is settled only once it
// ran and came out unknown. It cites the strongest valid model, or else
// the weakest invalid one.
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
		if done[m] == nil && !inLattice(m) {
			// A measure runs even when implied: it measures something,
			// and judges only when given a bound.
			continue
		}
		for _, x := range strongFirst {
			if x != m && decided(x, checker.Valid) && impliesFor(x, m) {
				done[m] = implied(m, x, checker.Valid, fmt.Sprintf("implied: %s holds, and %s implies %s", x, x, m))
				break
			}
		}
		if done[m] != nil && done[m].Verdict != checker.Unknown {
			continue
		}
		for _, x := range weakFirst {
			if x != m && decided(x, checker.Invalid) && impliesFor(m, x) {
				done[m] = implied(m, x, checker.Invalid, fmt.Sprintf("implied: %s does not hold (see its anomalies), and %s implies %s", x, m, x))
				break
			}
		}
	}
}

// inLattice reports whether m is ordered by the lattice: some model
// implies it or it implies some model.
func inLattice(m checker.Model) bool {
	for _, x := range checker.Models() {
		if x != m && (checker.Implies(x, m) || checker.Implies(m, x)) {
			return true
		}
	}
	return false
}

func implied(m, by checker.Model, v checker.Verdict, reason string) *checker.Result {
	return &checker.Result{Model: m, Verdict: v, Reason: reason, ImpliedBy: by, Stats: checker.Stats{Engine: Engine}}
}
