package suite

import (
	"consist/checker"
	"consist/checker/bank"
	"consist/checker/causal"
	"consist/checker/convergence"
	"consist/checker/counter"
	"consist/checker/linearizable"
	"consist/checker/oncall"
	"consist/checker/sequential"
	"consist/checker/session"
	"consist/checker/set"
	"consist/checker/staleness"
	"consist/checker/txn"
)

// Cost is how dear a checker is to run, which orders the suite's work.
type Cost uint8

// The costs.
const (
	// Polynomial checkers run first, weakest model first: an anomaly they
	// find settles the searches above them.
	Polynomial Cost = iota
	// Search checkers are NP-complete in general; they run last, and
	// only when the lattice leaves their models undecided.
	Search
)

// Registration is what the suite knows of one checker package: the
// checker (its models, and through checker.Applier the histories it
// applies to), what those histories are in words (for the reason of a
// model asked for on a history it does not cover), its cost, and whether
// it judges its models together (one analysis serving every model, as
// the transactional checker's dependency graph does) rather than one at a
// time.
type Registration struct {
	Checker checker.Checker
	// Histories names the histories the checker judges, as a phrase
	// that completes "m is checked on …".
	Histories string
	Cost      Cost
	// Batch says the checker decides every model of one call from one
	// analysis: the suite then asks for all of its models it needs at
	// once (the checker must implement CheckModels).
	Batch bool
}

const registerHistories = "register histories (read, write, cas)"

// registry lists the checkers of consist. A new checker package is one
// more record here; Check, Applicable and the reasons read nothing else.
var registry = []Registration{
	{Checker: linearizable.Checker{}, Cost: Search, Histories: "registers (read, write, cas), key-value strings (get, put, append), mutexes (acquire, release) and register transactions (txn of r and w), one kind per history,"},
	{Checker: sequential.Checker{}, Cost: Search, Histories: registerHistories},
	{Checker: causal.Checker{}, Histories: registerHistories},
	{Checker: session.Checker{}, Histories: registerHistories},
	{Checker: staleness.Checker{}, Histories: registerHistories},
	{Checker: convergence.Checker{}, Histories: registerHistories},
	{Checker: counter.Checker{}, Histories: "counter histories (add of integers, read returning an integer, at least one read succeeding)"},
	{Checker: set.Checker{}, Histories: "set histories (add, read returning a list, at least one read succeeding)"},
	{Checker: bank.Checker{}, Histories: "bank histories (a write of the balances, transfer, read returning a map of balances)"},
	{Checker: oncall.Checker{}, Histories: "on-call histories (transactions reading every doctor's flag, after a setup transaction writing the rule to " + oncall.RuleKey + ")"},
	{Checker: txn.Checker{}, Batch: true, Histories: "transactional histories (txn of append and list reads, Elle's list-append; or of w and r, Elle's rw-register)"},
}

// byModel maps each model to the registration of its checker; the
// registry is fixed, so it is indexed once.
var byModel = indexRegistry()

func indexRegistry() map[checker.Model]*Registration {
	out := map[checker.Model]*Registration{}
	for i := range registry {
		for _, m := range registry[i].Checker.Models() {
			if _, ok := out[m]; !ok {
				out[m] = &registry[i]
			}
		}
	}
	return out
}

// Registrations returns the registry: every checker consist runs, with
// what the suite knows of it.
func Registrations() []Registration { return append([]Registration(nil), registry...) }
