// Package oncall checks the invariant of the on-call workload, the
// write-skew example of Cahill, Röhm and Fekete ("Serializable Isolation
// for Snapshot Databases", SIGMOD 2008, §2.1.2, after Fekete et al.,
// "Making Snapshot Isolation Serializable", TODS 2005): a hospital keeps at
// least a minimum of its doctors on call, and a doctor goes off call in a
// transaction that first reads every doctor's flag and leaves only if
// enough others stay. Every serializable execution keeps the rule; under
// snapshot isolation two doctors may each read the other on call and both
// leave (write skew), so that a later transaction reads fewer on call
// than the rule allows.
//
// Definition. The history is transactional (every operation a txn of
// rw-register micro-ops). A setup transaction writes the rule, the least
// number of doctors on call, to the key RuleKey, and a flag to every
// doctor; the doctors are the other keys it writes. A flag is an integer:
// positive on call, negative off call (nil, never written, is on call).
// It must have completed ok, and be the rule's only write. Then every ok
// transaction invoked after the setup completed that reads every doctor
// before its first write — a look at one committed state — must see at
// least the rule's number on call; else it is a "too-few-on-call"
// anomaly, whose witness names the transactions that took the missing
// doctors off call and, when two of them each read the other's doctor
// still on call, says so: the write skew that broke the rule. The final
// reads of the workload are such looks too.
//
// Without an ok setup, or with no look judged, the verdict is Unknown.
package oncall

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/history"
)

// RuleKey is the key the setup transaction writes the rule to.
const RuleKey = "min-on-call"

// Engine is the name Stats.Engine reports for this checker.
const Engine = "on-call-invariant"

// MaxAnomalies is the most anomalies a result lists.
const MaxAnomalies = 10

// OnCall reports whether a doctor's flag v means on call: a positive
// integer, or nil (never written).
func OnCall(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case int64:
		return v > 0
	}
	return false
}

// Checker checks the on-call invariant. The zero value is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.OnCall} }

// Check judges h; see the package documentation.
func (Checker) Check(ctx context.Context, h *history.History, _ checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h)}
}

// Applies reports whether h is an on-call history: transactional, with a
// write of the rule.
func (Checker) Applies(h *history.History) bool {
	if len(h.Ops) == 0 {
		return false
	}
	rule := false
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.F != "txn" {
			return false
		}
		for _, m := range mops(op.Input) {
			rule = rule || (m.f == "w" && m.key == RuleKey)
		}
	}
	return rule
}

// Details is what a check found, in Result.Details.
type Details struct {
	// Doctors are the doctors the setup put on call.
	Doctors int `json:"doctors"`
	// Minimum is the rule: the least number on call.
	Minimum int64 `json:"minimum"`
	// Looks is the number of committed transactions that read every
	// doctor, judged.
	Looks int `json:"looks"`
	// Broken is how many of them saw fewer on call than the rule.
	Broken int `json:"broken"`
	// Fewest is the fewest doctors on call any look saw.
	Fewest int `json:"fewest"`
}

// Text renders the details in a line.
func (d *Details) Text() string {
	return fmt.Sprintf("%d committed looks at %d doctors judged against a rule of at least %d on call: %d saw fewer; the fewest seen was %d",
		d.Looks, d.Doctors, d.Minimum, d.Broken, d.Fewest)
}

// mop is a micro-op as the history holds it.
type mop struct {
	f   string
	key any
	val any
}

// mops reads a txn's value, skipping what is not a micro-op.
func mops(v any) []mop {
	list, _ := v.([]any)
	out := make([]mop, 0, len(list))
	for _, m := range list {
		if t, ok := m.([]any); ok && len(t) == 3 {
			f, _ := t[0].(string)
			out = append(out, mop{f, t[1], t[2]})
		}
	}
	return out
}

// txnMops are the micro-ops of op as performed: the completion's when it
// completed ok, else the invocation's.
func txnMops(op *history.Op) []mop {
	if op.Type == history.OK && op.HasOutput {
		return mops(op.Output)
	}
	return mops(op.Input)
}

// doctorKey is a doctor's key as a map key.
func doctorKey(k any) string { return history.Canonical(k) }

// Check judges h against the on-call invariant.
func Check(ctx context.Context, h *history.History) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.OnCall, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("check stopped before it began: %v", err)
		return res
	}
	setup, rule, doctors, msg := findSetup(h)
	if msg != "" {
		res.Verdict, res.Reason = checker.Unknown, msg
		return res
	}
	d := &Details{Doctors: len(doctors), Minimum: rule, Fewest: len(doctors)}
	res.Details = d
	// writers finds the transaction that wrote a doctor's flag: flags are
	// unique.
	writers := map[[2]string]*history.Op{}
	for i := range h.Ops {
		op := &h.Ops[i]
		for _, m := range txnMops(op) {
			if m.f == "w" {
				writers[[2]string{doctorKey(m.key), history.Canonical(m.val)}] = op
			}
		}
	}
	var found []checker.Anomaly
	for i := range h.Ops {
		if i%1024 == 0 && ctx.Err() != nil {
			res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("check stopped: %v", ctx.Err())
			return res
		}
		op := &h.Ops[i]
		if op == setup || op.Type != history.OK || op.Invoke < setup.Complete {
			continue
		}
		seen, ok, msg := look(op, doctors)
		if msg != "" {
			res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("the transaction at index %d %s; the on-call checker reads flags that are integers, positive on call and negative off", h.OpIndex(op), msg)
			return res
		}
		if !ok {
			continue
		}
		d.Looks++
		on := 0
		for _, s := range seen {
			if OnCall(s.val) {
				on++
			}
		}
		d.Fewest = min(d.Fewest, on)
		if int64(on) < rule {
			d.Broken++
			if len(found) < MaxAnomalies {
				found = append(found, explain(h, op, seen, on, rule, writers))
			}
		}
	}
	switch {
	case d.Broken > 0:
		res.Verdict = checker.Invalid
		res.Anomalies = found
		res.Reason = fmt.Sprintf("%d of %d committed looks at the doctors saw fewer than %d on call", d.Broken, d.Looks, rule)
	case d.Looks == 0:
		res.Verdict = checker.Unknown
		res.Reason = "no committed transaction read every doctor after the setup, so the rule was never seen kept or broken; end the workload with a read of every doctor"
	default:
		res.Verdict = checker.Valid
	}
	return res
}

// seenFlag is a doctor's flag as a look read it.
type seenFlag struct {
	doctor any
	val    any
}

// look returns the flags op read of every doctor before its first write,
// in the doctors' order; ok is false when it did not read them all. A
// flag that is not an integer (or nil) is an error, in msg.
func look(op *history.Op, doctors []any) (seen []seenFlag, ok bool, msg string) {
	read := map[string]any{}
	for _, m := range txnMops(op) {
		if m.f != "r" {
			break
		}
		k := doctorKey(m.key)
		if _, dup := read[k]; !dup {
			read[k] = m.val
		}
	}
	for _, doc := range doctors {
		v, found := read[doctorKey(doc)]
		if !found {
			return nil, false, ""
		}
		if _, isInt := v.(int64); v != nil && !isInt {
			return nil, false, fmt.Sprintf("read doctor %s's flag as %s", doctorName(doc), history.Describe(v))
		}
		seen = append(seen, seenFlag{doc, v})
	}
	return seen, true, ""
}

// findSetup returns the setup transaction, the rule and the doctors, or
// why there is no usable setup.
func findSetup(h *history.History) (setup *history.Op, rule int64, doctors []any, msg string) {
	const fix = "start the workload with one transaction writing the rule to " + RuleKey + " and every doctor's flag, as consist's on-call workload does"
	var setups []*history.Op
	var failed *history.Op
	for i := range h.Ops {
		op := &h.Ops[i]
		for _, m := range mops(op.Input) {
			if m.f == "w" && m.key == RuleKey {
				if op.Type == history.Fail {
					failed = op
				} else {
					setups = append(setups, op)
				}
				break
			}
		}
	}
	switch {
	case len(setups) == 0 && failed != nil:
		return nil, 0, nil, fmt.Sprintf("the setup transaction (index %d) failed, so the doctors were never put on call; %s", h.OpIndex(failed), fix)
	case len(setups) == 0:
		return nil, 0, nil, "no transaction wrote the rule: " + fix
	case len(setups) > 1:
		return nil, 0, nil, fmt.Sprintf("the rule was written %d times (index %d and %d), so which holds is ambiguous; %s", len(setups), h.OpIndex(setups[0]), h.OpIndex(setups[1]), fix)
	}
	setup = setups[0]
	if setup.Type != history.OK {
		return nil, 0, nil, fmt.Sprintf("the setup transaction (index %d) did not complete ok, so whether the doctors were put on call is unknown; %s", h.OpIndex(setup), fix)
	}
	for _, m := range mops(setup.Input) {
		if m.f != "w" {
			continue
		}
		if m.key == RuleKey {
			n, ok := m.val.(int64)
			if !ok || n < 0 {
				return nil, 0, nil, fmt.Sprintf("the setup transaction (index %d) wrote the rule %s, not a number of doctors; %s", h.OpIndex(setup), history.Describe(m.val), fix)
			}
			rule = n
			continue
		}
		if !slices.ContainsFunc(doctors, func(d any) bool { return history.Equal(d, m.key) }) {
			doctors = append(doctors, m.key)
		}
	}
	if len(doctors) == 0 {
		return nil, 0, nil, fmt.Sprintf("the setup transaction (index %d) wrote no doctor's flag; %s", h.OpIndex(setup), fix)
	}
	return setup, rule, doctors, ""
}

// explain builds the anomaly of a look that saw too few on call: who took
// each missing doctor off call, and, when two of those transactions each
// read the other's doctor still on call, the write skew.
func explain(h *history.History, op *history.Op, seen []seenFlag, on int, rule int64, writers map[[2]string]*history.Op) checker.Anomaly {
	w := checker.NewWitness(h)
	reader := w.Op(op)
	type leave struct {
		doctor any
		by     *history.Op
	}
	var offs []string
	var leaves []leave
	for _, s := range seen {
		if OnCall(s.val) {
			continue
		}
		offs = append(offs, doctorName(s.doctor))
		if by := writers[[2]string{doctorKey(s.doctor), history.Canonical(s.val)}]; by != nil {
			leaves = append(leaves, leave{s.doctor, by})
		}
	}
	sentence := checker.Say("%s saw %d of %d doctors on call (%s off), fewer than the rule's %d", reader, on, len(seen), strings.Join(offs, ", "), rule)
	// Write skew: two leavers, each of whose reads showed the other's
	// doctor on call.
	for i := range leaves {
		for j := range leaves {
			a, b := leaves[i], leaves[j]
			if i >= j || a.by == b.by || !readOnCall(a.by, b.doctor) || !readOnCall(b.by, a.doctor) {
				continue
			}
			w.Order(a.by, b.by, op)
			w.Link(a.by, checker.RW)
			w.Link(b.by, checker.WR)
			return w.Anomaly(checker.TooFewOnCall, nil, checker.Say("%s: %s took %s off call after reading %s still on call, and %s took %s off call after reading %s still on call: each checked the rule against a state the other changed, and neither saw the other's write (write skew), so the rule broke.",
				sentence, w.Op(a.by), doctorName(a.doctor), doctorName(b.doctor), w.Op(b.by), doctorName(b.doctor), doctorName(a.doctor)))
		}
	}
	var by []checker.Phrase
	for _, l := range leaves {
		by = append(by, checker.Say("%s by %s", doctorName(l.doctor), w.Op(l.by)))
	}
	if len(by) > 0 {
		return w.Anomaly(checker.TooFewOnCall, nil, checker.Say("%s. Taken off call: %s; each of those transactions read enough doctors on call to leave, but together they left too few.", sentence, checker.Join(by, "; ")))
	}
	sentence = checker.Say("%s.", sentence)
	return w.Anomaly(checker.TooFewOnCall, nil, sentence)
}

// readOnCall reports whether op read doctor on call before its first
// write.
func readOnCall(op *history.Op, doctor any) bool {
	for _, m := range txnMops(op) {
		if m.f != "r" {
			return false
		}
		if history.Equal(m.key, doctor) {
			return OnCall(m.val)
		}
	}
	return false
}

// doctorName names a doctor by its key: the string itself, or the key's
// value.
func doctorName(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return history.Describe(k)
}
