// Package consist checks, from Go, whether a history of concurrent
// operations on a system of your own is consistent: a test records what
// its clients did (with a history.Builder, or a history.Recorder from
// history.NewMemoryRecorder when they run in goroutines) and calls Check,
// which judges the history against the consistency models you name, or
// every one that applies, and returns a verdict per model with the
// anomalies that justify it.
//
//	var b history.Builder
//	b.Invoke(0, "write", "x", 1)
//	b.OK(0, "write", "x", 1)
//	...
//	h, err := b.History()
//	if err != nil {
//		t.Fatal(err)
//	}
//	if err := consist.Check(ctx, h, consist.Options{}, consist.Linearizable).Err(); err != nil {
//		t.Fatal(err)
//	}
//
// Check knows registers (read, write, cas), counters (add, read), sets
// (add, read), bank accounts (transfer, read) and the rest of consist's
// data types (see the README's table of models). For a data type of your
// own, give CheckModel a linearizable.Model: its sequential
// specification, in the spirit of Porcupine's Model.
//
// The verdicts are never guesses: a check that cannot decide (a timeout,
// a history outside a checker's assumptions) says Unknown, with the
// reason. Every model's definition and source are in the documentation of
// its checker's package under consist/checker.
package consist

import (
	"context"
	"fmt"
	"strings"

	"consist/checker"
	"consist/checker/linearizable"
	"consist/checker/suite"
	"consist/history"
)

// Model names a consistency model; see checker.Model.
type Model = checker.Model

// Options are the settings of a check: the initial value of every object,
// a timeout, a memory bound, and the parameters of some models; see
// checker.Options. The zero value checks with no time bound, objects that
// start unwritten (nil), and a 4 GiB search budget.
type Options = checker.Options

// Result is the judgement of one model: its verdict, the anomalies and the
// statistics of the check; see checker.Result.
type Result = checker.Result

// Verdict is valid, invalid or unknown; see checker.Verdict.
type Verdict = checker.Verdict

// Anomaly is one violation, naming its operations by index; see
// checker.Anomaly.
type Anomaly = checker.Anomaly

// The verdicts, and Measured for a measure given nothing to judge against
// (bounded-staleness without a bound), which neither passes nor fails.
const (
	Valid    = checker.Valid
	Invalid  = checker.Invalid
	Unknown  = checker.Unknown
	Measured = checker.Measured
)

// The models Check decides, strongest first. Linearizable implies
// Sequential, which implies the causal models, which imply PRAM and the
// session guarantees (see checker.Implies); the rest are invariants of one
// data type each, or measures.
const (
	Linearizable      = checker.Linearizable
	Sequential        = checker.Sequential
	Causal            = checker.Causal
	CausalConvergence = checker.CausalConvergence
	WeakCausal        = checker.WeakCausal
	PRAM              = checker.PRAM
	ReadYourWrites    = checker.ReadYourWrites
	MonotonicReads    = checker.MonotonicReads
	MonotonicWrites   = checker.MonotonicWrites
	WritesFollowReads = checker.WritesFollowReads
	BoundedStaleness  = checker.BoundedStaleness
	Convergence       = checker.Convergence
	Counter           = checker.Counter
	SetFull           = checker.SetFull
	Bank              = checker.Bank
)

// Check judges h against models, or against every model that applies to
// its operations when none is named, and returns one result per model,
// strongest first. It honours ctx and opts.Timeout: a check cut short
// says Unknown. A model implied by one decided valid is valid without a
// check of its own (Result.ImpliedBy names the model), and one that
// implies a model decided invalid is invalid.
//
// opts.Initial may be any Go value; it is converted as the builder
// converts values (history.NormalizeGo), so Initial: 0 matches a read of
// int64(0). A value it cannot represent makes every verdict Unknown, with
// the reason.
func Check(ctx context.Context, h *history.History, opts Options, models ...Model) Results {
	if rs := normalizeInitial(&opts, models...); rs != nil {
		return rs
	}
	rs := Results(suite.Check(ctx, h, opts, models...))
	if !(linearizable.Checker{}).Applies(h) {
		for i := range rs {
			if rs[i].Verdict == Unknown {
				rs[i].Reason += "; for a data type of your own, check linearizability with consist.CheckModel and a linearizable.Model"
			}
		}
	}
	return rs
}

// normalizeInitial converts opts.Initial to the history's value model; it
// returns Unknown results when it cannot.
func normalizeInitial(opts *Options, models ...Model) Results {
	v, err := history.NormalizeGo(opts.Initial)
	if err == nil {
		opts.Initial = v
		return nil
	}
	if len(models) == 0 {
		models = []Model{Linearizable}
	}
	var rs Results
	for _, m := range models {
		rs = append(rs, Result{Model: m, Verdict: Unknown, Reason: fmt.Sprintf("Options.Initial: %v; give a number, string, bool, slice or map", err)})
	}
	return rs
}

// CheckOperations builds a history from whole operations with their call
// and return times, as porcupine.CheckOperations takes them, and checks
// it as Check does. Its error is the builder's: an operation whose key or
// value cannot be represented.
func CheckOperations(ctx context.Context, ops []history.Operation, opts Options, models ...Model) (Results, error) {
	var b history.Builder
	for _, op := range ops {
		b.Operation(op)
	}
	h, err := b.History()
	if err != nil {
		return nil, fmt.Errorf("consist: %w", err)
	}
	return Check(ctx, h, opts, models...), nil
}

// CheckModel judges whether h is linearizable as a history of the data
// type m specifies (see linearizable.Model and linearizable.CheckModel),
// and returns its one result.
func CheckModel[S any](ctx context.Context, h *history.History, m linearizable.Model[S], opts Options) Results {
	return Results{linearizable.CheckModel(ctx, h, m, opts)}
}

// Results are the results of a check, one per model.
type Results []Result

// Valid reports whether no model was found invalid and none was left
// unknown (a Measured result fails nothing).
func (rs Results) Valid() bool { return rs.Verdict() == Valid }

// Verdict returns the worst verdict of the results: Invalid if any model
// is invalid, else Unknown if any is unknown, else Valid (Measured results
// count as Valid here).
func (rs Results) Verdict() Verdict {
	worst := Valid
	for _, r := range rs {
		if r.Verdict.Worse(worst) {
			worst = r.Verdict
		}
	}
	return worst
}

// Get returns the result of model m, if the check judged it.
func (rs Results) Get(m Model) (Result, bool) {
	for _, r := range rs {
		if r.Model == m {
			return r, true
		}
	}
	return Result{}, false
}

// Err returns nil when the results are Valid, and otherwise a *CheckError
// that reads as a test failure message: each model that is invalid or
// unknown, with its anomalies or the reason.
func (rs Results) Err() error {
	if rs.Valid() {
		return nil
	}
	return &CheckError{Results: rs}
}

// CheckError is the error of results that are not all valid.
type CheckError struct {
	Results Results
}

// maxShown is how many anomalies of one model an error message shows.
const maxShown = 3

// Error lists the models that are not valid, each with up to three of its
// anomalies (kind, key, operation indices and explanation) or the reason
// it could not be decided.
func (e *CheckError) Error() string {
	var b strings.Builder
	for _, r := range e.Results {
		if r.Verdict != Invalid && r.Verdict != Unknown {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %s", r.Model, r.Verdict)
		if r.Reason != "" {
			fmt.Fprintf(&b, " (%s)", r.Reason)
		}
		for i, a := range r.Anomalies {
			if i == maxShown {
				fmt.Fprintf(&b, "\n  ... and %d more", len(r.Anomalies)-maxShown)
				break
			}
			fmt.Fprintf(&b, "\n  %s", a.Kind)
			if a.Key != nil {
				fmt.Fprintf(&b, " on %s", checker.Escape(checker.KeyName(a.Key)))
			}
			fmt.Fprintf(&b, ", operations %s: %s", indices(a.Ops), a.Explanation())
		}
	}
	return b.String()
}

func indices(ops []int64) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = fmt.Sprint(op)
	}
	return strings.Join(s, ", ")
}
