// Package bank checks the invariant of Jepsen's bank test: transfers move
// money between accounts but never create or destroy it, so every read of
// all the balances sums to the total the accounts started with.
//
// Definition (Kingsbury, Jepsen, jepsen.tests.bank). A bank is one object
// holding a balance per account. A setup write sets every account's
// balance (a map from account to integer); a transfer takes {"from", "to",
// "amount"} and is not applied when it would overdraw the source; a read
// returns every balance. The setup write is the one write of the history;
// it must have completed ok, and it gives the accounts and the expected
// total. Every ok read invoked after it completed must then
//
//   - hold exactly the accounts of the setup, each with an integer
//     balance, else it is a "wrong-accounts" anomaly (Jepsen's
//     :unexpected-key and :nil-balance);
//   - sum to the expected total, else "wrong-total";
//   - show no negative balance, else "negative-balance", unless
//     checker.Options.AllowNegativeBalances says the store allows
//     overdrafts (Jepsen's :negative-balances?).
//
// Reads invoked before the setup write completed are not judged: they may
// precede it. Without an ok setup write, or with more than one write, the
// expected total is not known and the verdict is Unknown. Like Jepsen's
// checker, this one judges each read alone; it needs no model of which
// transfers took effect. A read that sees one side of a transfer and not
// the other breaks it, as does a transfer applied twice or lost halfway. Under Knossos' convention
// (checker.NilReadUnknown) a read that returned nil observed nothing and is
// skipped; otherwise it read a bank without accounts.
package bank

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/history"
)

// Checker checks the bank invariant. The zero value is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.Bank} }

// Check judges h; see the package documentation for the definition.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Applies reports whether h is a bank history: every operation is a
// write, transfer or read, at least one is a transfer, and every ok read
// returned a map of balances or nil.
func (Checker) Applies(h *history.History) bool {
	if shapeError(h) != "" {
		return false
	}
	return slices.ContainsFunc(h.Ops, func(op history.Op) bool { return op.F == "transfer" })
}

// Engine is the name Stats.Engine reports for this checker.
const Engine = "bank-invariant"

// The anomalies.
const (
	// KindWrongAccounts is a read whose accounts are not the setup's.
	KindWrongAccounts = checker.WrongAccounts
	// KindWrongTotal is a read whose balances do not sum to the total.
	KindWrongTotal = checker.WrongTotal
	// KindNegativeBalance is a read showing an account below zero.
	KindNegativeBalance = checker.NegativeBalance
)

// MaxAnomalies is the most anomalies a result lists.
const MaxAnomalies = 10

// Details is what a check found, in Result.Details.
type Details struct {
	// Accounts is the number of accounts the setup write created.
	Accounts int `json:"accounts"`
	// Total is the sum of their balances.
	Total int64 `json:"total"`
	// Reads is the number of ok reads judged.
	Reads int `json:"reads"`
	// WrongAccounts, WrongTotal and NegativeBalance count the reads with
	// each anomaly.
	WrongAccounts   int `json:"wrong_accounts"`
	WrongTotal      int `json:"wrong_total"`
	NegativeBalance int `json:"negative_balance"`
}

// Check judges h against the bank invariant.
func Check(ctx context.Context, h *history.History, opts checker.Options) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.Bank, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("check stopped before it began: %v", err)
		return res
	}
	if msg := shapeError(h); msg != "" {
		res.Verdict, res.Reason = checker.Unknown, msg
		return res
	}
	setup, initial, msg := findSetup(h)
	if msg != "" {
		res.Verdict, res.Reason = checker.Unknown, msg
		return res
	}
	d := &Details{Accounts: len(initial)}
	for _, b := range initial {
		d.Total += b.(int64)
	}
	res.Details = d
	nilUnknown := opts.NilRead.Resolve(h.Format) == checker.NilReadUnknown

	var found []checker.Anomaly
	broken := 0 // reads with an anomaly
	for i := range h.Ops {
		r := &h.Ops[i]
		if r.F != "read" || r.Type != history.OK || r.Invoke < setup.Complete || (r.Output == nil && nilUnknown) {
			continue
		}
		d.Reads++
		if as := judgeRead(h, setup, initial, r, d, opts.AllowNegativeBalances); len(as) > 0 {
			broken++
			found = append(found, as...)
		}
	}

	switch {
	case len(found) > 0:
		res.Verdict = checker.Invalid
		res.Anomalies = found[:min(len(found), MaxAnomalies)]
		res.Reason = fmt.Sprintf("%d of %s broke the bank invariant", broken, plural(d.Reads, "read"))
		if len(found) > MaxAnomalies {
			res.Reason += fmt.Sprintf("; the first %d anomalies are shown", MaxAnomalies)
		}
	case d.Reads == 0:
		res.Verdict = checker.Unknown
		res.Reason = fmt.Sprintf("no read of the balances succeeded after the setup write completed (index %d), so nothing can be judged; end the workload with a final read", h.OpIndex(setup))
	default:
		res.Verdict = checker.Valid
	}
	return res
}

// judgeRead returns the anomalies of one read judged against the setup's
// balances, and counts them in d.
func judgeRead(h *history.History, setup *history.Op, initial map[string]any, r *history.Op, d *Details, allowNegative bool) []checker.Anomaly {
	balances, _ := r.Output.(map[string]any)
	if a, ok := wrongAccounts(h, setup, initial, r, balances); !ok {
		d.WrongAccounts++
		return []checker.Anomaly{a}
	}
	var found []checker.Anomaly
	// Summed exactly: a read's balances may hold any integer, even beyond
	// int64, and their sum must not wrap around.
	sum, total := new(big.Int), big.NewInt(d.Total)
	for _, b := range balances {
		sum.Add(sum, bigInt(b))
	}
	if sum.Cmp(total) != 0 {
		d.WrongTotal++
		change := fmt.Sprintf("%s was destroyed", new(big.Int).Sub(total, sum))
		if sum.Cmp(total) > 0 {
			change = fmt.Sprintf("%s was created", new(big.Int).Sub(sum, total))
		}
		w := checker.NewWitness(h)
		found = append(found, w.Anomaly(KindWrongTotal, nil, checker.Say("%s read balances summing to %s (%s), but the setup write (%s) gave the accounts %d in total and transfers only move money: %s.",
			who(w, r), sum, w.At(r), w.At(setup), d.Total, change)))
	}
	if neg := negatives(balances); len(neg) > 0 && !allowNegative {
		d.NegativeBalance++
		w := checker.NewWitness(h)
		found = append(found, w.Anomaly(KindNegativeBalance, nil, checker.Say("%s read a negative balance (%s): %s, though a transfer that would overdraw its source must not apply; if the store allows overdrafts, allow negative balances.",
			who(w, r), w.At(r), strings.Join(neg, ", "))))
	}
	return found
}

// shapeError says why h is not a bank history, or returns "".
func shapeError(h *history.History) string {
	var foreign []string
	for i := range h.Ops {
		op := &h.Ops[i]
		switch op.F {
		case "write", "transfer":
		case "read":
			if _, ok := op.Output.(map[string]any); op.Type == history.OK && op.Output != nil && !ok {
				return fmt.Sprintf("the read at index %d returned %s, not a map of balances; the bank checker judges reads of every account's balance",
					h.OpIndex(op), history.Describe(op.Output))
			}
		default:
			if !slices.Contains(foreign, op.F) {
				foreign = append(foreign, op.F)
			}
		}
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		return fmt.Sprintf("the bank checker judges write, transfer and read operations, but the history also uses %s; check those with a checker for their data type", strings.Join(foreign, ", "))
	}
	return ""
}

// findSetup returns the setup write and its balances, or why there is no
// usable one.
func findSetup(h *history.History) (*history.Op, map[string]any, string) {
	var writes []*history.Op
	for i := range h.Ops {
		if op := &h.Ops[i]; op.F == "write" && op.Type != history.Fail {
			writes = append(writes, op)
		}
	}
	const fix = "start the workload with one write of every account's balance, as consist's bank workload does"
	switch {
	case len(writes) == 0:
		return nil, nil, "no setup write: without the initial balances the expected total is unknown; " + fix
	case len(writes) > 1:
		return nil, nil, fmt.Sprintf("the balances were written %d times (the first at index %d, the second at index %d), so the expected total is ambiguous; %s",
			len(writes), h.OpIndex(writes[0]), h.OpIndex(writes[1]), fix)
	}
	w := writes[0]
	if w.Type != history.OK {
		return nil, nil, fmt.Sprintf("the setup write (index %d) did not complete ok, so whether the balances were set is unknown; %s", h.OpIndex(w), fix)
	}
	balances, ok := w.Input.(map[string]any)
	var total int64
	if ok {
		for _, b := range balances {
			n, isInt := b.(int64)
			if !isInt {
				if isInteger(b) {
					return nil, nil, fmt.Sprintf("the setup write (index %d) gives a balance of %s, beyond int64: the bank checker sums balances in int64 and refuses rather than round", h.OpIndex(w), history.Describe(b))
				}
				ok = false
				break
			}
			if (n > 0 && total > math.MaxInt64-n) || (n < 0 && total < math.MinInt64-n) {
				return nil, nil, fmt.Sprintf("the setup write (index %d) gives balances whose total is beyond int64: the bank checker refuses rather than overflow", h.OpIndex(w))
			}
			total += n
		}
	}
	if !ok || len(balances) == 0 {
		return nil, nil, fmt.Sprintf("the setup write (index %d) wrote %s, not a map from account to integer balance; %s", h.OpIndex(w), history.Describe(w.Input), fix)
	}
	return w, balances, ""
}

// isInteger reports whether v is an integer: an int64, or a
// history.Number beyond int64's range.
func isInteger(v any) bool {
	switch v := v.(type) {
	case int64:
		return true
	case history.Number:
		return v.IsInteger()
	}
	return false
}

// bigInt returns the integer v (isInteger holds) exactly.
func bigInt(v any) *big.Int {
	if n, ok := v.(int64); ok {
		return big.NewInt(n)
	}
	b, _ := v.(history.Number).BigInt()
	return b
}

// wrongAccounts checks that a read holds the setup's accounts, each with
// an integer balance; when it does not, it returns the anomaly and false.
func wrongAccounts(h *history.History, setup *history.Op, initial map[string]any, r *history.Op, balances map[string]any) (checker.Anomaly, bool) {
	var problems []string
	var missing, unexpected, notInt []string
	for a := range initial {
		if _, ok := balances[a]; !ok {
			missing = append(missing, a)
		}
	}
	for a, b := range balances {
		if _, ok := initial[a]; !ok {
			unexpected = append(unexpected, a)
		} else if !isInteger(b) {
			notInt = append(notInt, fmt.Sprintf("%s is %s", a, history.Describe(b)))
		}
	}
	for _, p := range []struct {
		names []string
		what  string
	}{{missing, "missing"}, {unexpected, "not set up"}, {notInt, "not an integer"}} {
		if len(p.names) > 0 {
			slices.Sort(p.names)
			problems = append(problems, fmt.Sprintf("%s %s", list(p.names), p.what))
		}
	}
	if len(problems) == 0 {
		return checker.Anomaly{}, true
	}
	w := checker.NewWitness(h)
	return w.Anomaly(KindWrongAccounts, nil, checker.Say("%s read balances %s (%s), but the setup write (%s) created %s: %s.",
		who(w, r), checker.Val(balances), w.At(r), w.At(setup), plural(len(initial), "account"), strings.Join(problems, "; "))), false
}

// negatives lists the accounts with a negative balance, sorted.
func negatives(balances map[string]any) []string {
	var out []string
	for a, b := range balances {
		if bigInt(b).Sign() < 0 {
			out = append(out, fmt.Sprintf("%s holds %s", a, history.Describe(b)))
		}
	}
	slices.Sort(out)
	return out
}

// list names up to five items.
func list(names []string) string {
	s := strings.Join(names[:min(len(names), 5)], ", ")
	if len(names) > 5 {
		s += fmt.Sprintf(" and %d more", len(names)-5)
	}
	return s
}

// who names the process of op, and its node when known.
func who(w *checker.Witness, op *history.Op) checker.Phrase {
	return checker.Say("%s%s", w.Who(op), w.OnNode(op))
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
