// Package convergence judges whether a register store converged: whether,
// once the writes stopped, every read of a key returned the same value.
//
// Definition. Eventual consistency promises that replicas which stop
// receiving writes eventually agree (Vogels, "Eventually Consistent", CACM
// 52(1), 2009; Viotti & Vukolić, "Consistency in Non-Transactional
// Distributed Storage Systems", ACM CSUR 2016, name the property
// convergence; Jepsen checks it with final reads). consist judges it on the
// final reads of each key:
//
//   - Real time is the order of events in the history. A write of key k
//     (a write or a cas, unless it failed) completes at its ok or info
//     completion event; a write that never completed has no completion,
//     and its key has no final reads.
//   - A final read of k is an ok read of k invoked after every write of k
//     completed. A nil read under Knossos' convention
//     (checker.NilReadUnknown) observed nothing and does not count.
//   - The history converged on k when its final reads, from some point on,
//     agree: the final reads that began after the last one returning
//     another value completed all returned one value, and they were served
//     by every node that served a final read of k. Replicas may disagree
//     right after the last write — replication takes time, a partition
//     may be healing — but must agree by the end. It is Invalid, with a
//     "divergence" anomaly per key, when they do not: a node still
//     returned another value after the others agreed, or no read on some
//     node came after the last disagreement. When the final reads do not
//     name their nodes, any two that disagree make k diverge.
//
// One refinement keeps the verdict sound. A crashed (info) write may take
// effect at any time after its info completion, so a final read may see
// the register before it landed and a later one after. When the final
// reads of a key disagree only by values of crashed writes (no two of them
// returned different values that no crashed write wrote), the disagreement
// proves nothing: the key counts as converged if the final reads that
// began after the last disagreeing one completed exist and agree, and as
// unjudged otherwise.
//
// A key without final reads cannot be judged. When no key has one the
// result is a measurement, checker.Measured, not a verdict: the history
// gives nothing to judge (Details counts the keys, Reason says what is
// missing). When every key with final reads is unsettled the verdict is
// Unknown. Otherwise the other keys are judged and Result.Reason names the
// unjudged ones. A workload meant for this check ends, after its
// writes, with a final read of every key (on every node, to compare them).
package convergence

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/history"
)

// Checker judges convergence. The zero value is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.Convergence} }

// Check judges h; see the package documentation for the definition.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Applies reports whether h is a register history: every operation is a
// read, write or cas.
func (Checker) Applies(h *history.History) bool { return reghist.ForeignFuncs(h) == nil }

// Engine is the name Stats.Engine reports for this checker.
const Engine = "final-reads"

// KindDivergence is the anomaly of two final reads of a key that disagree.
const KindDivergence = checker.Divergence

// MaxAnomalies is the most anomalies a result lists, one per key.
const MaxAnomalies = 10

// Details is what a check found, in Result.Details.
type Details struct {
	// Keys is the number of keys in the history.
	Keys int `json:"keys"`
	// Judged is the number of keys with at least one final read.
	Judged int `json:"judged"`
	// Diverged is the number of judged keys whose final reads disagree.
	Diverged int `json:"diverged"`
	// FinalReads is the number of final reads, over every key.
	FinalReads int `json:"final_reads"`
	// Unjudged lists the keys without final reads, in order of first
	// appearance.
	Unjudged []any `json:"unjudged,omitempty"`
}

// keyState is what the check gathers about one key.
type keyState struct {
	key any
	// idx is the key's position in order of first appearance.
	idx int
	// lastDone is the position of the last completion of a write of the
	// key, -1 when there is none.
	lastDone int
	// open is a write of the key that never completed, or -1.
	open int
	// crashed holds the canonical values of the key's crashed writes.
	crashed map[string]bool
	// final are the op IDs of the final reads, in invocation order.
	final []int
}

// outcome is the judgement of one key.
type outcome uint8

const (
	converged outcome = iota
	// settled: the final reads disagreed only by crashed writes' values,
	// then agreed.
	settled
	// caughtUp: the final reads disagreed at first, then agreed on every
	// node.
	caughtUp
	// unsettled: the final reads disagree only by crashed writes' values
	// and never agree afterwards.
	unsettled
	diverged
)

// Check judges h against convergence.
func Check(ctx context.Context, h *history.History, opts checker.Options) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.Convergence, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("check stopped before it began: %v", err)
		return res
	}
	if fs := reghist.ForeignFuncs(h); fs != nil {
		res.Verdict = checker.Unknown
		res.Reason = fmt.Sprintf("convergence is judged on registers (read, write, cas), but the history also uses %s; check those with a checker for their data type",
			strings.Join(fs, ", "))
		return res
	}
	keys, keyOf := gather(h, opts.NilRead.Resolve(h.Format) == checker.NilReadUnknown)

	d := &Details{Keys: len(keys)}
	res.Details = d
	type divergence struct {
		ks   *keyState
		a, b *history.Op
	}
	var divs []divergence
	var openKeys, settledKeys, unsettledKeys, caughtUpKeys []any
	for _, ks := range keys {
		if len(ks.final) == 0 {
			d.Unjudged = append(d.Unjudged, ks.key)
			if ks.open >= 0 {
				openKeys = append(openKeys, ks.key)
			}
			continue
		}
		o, a, b := judge(h, ks)
		switch o {
		case unsettled:
			d.Unjudged = append(d.Unjudged, ks.key)
			unsettledKeys = append(unsettledKeys, ks.key)
			continue
		case settled:
			settledKeys = append(settledKeys, ks.key)
		case caughtUp:
			caughtUpKeys = append(caughtUpKeys, ks.key)
		case diverged:
			divs = append(divs, divergence{ks, a, b})
		}
		d.Judged++
		d.FinalReads += len(ks.final)
	}
	d.Diverged = len(divs)

	var notes []string
	switch {
	case len(divs) > 0:
		res.Verdict = checker.Invalid
		shown := divs[:min(len(divs), MaxAnomalies)]
		want := make([]*keyState, len(shown))
		for i, dv := range shown {
			want[i] = dv.ks
		}
		writers := writersOf(h, want, keyOf)
		for _, dv := range shown {
			res.Anomalies = append(res.Anomalies, explain(h, dv.ks, dv.a, dv.b, writers[dv.ks.idx]))
		}
		head := fmt.Sprintf("the final reads of %s disagree", plural(len(divs), "key"))
		if len(divs) > MaxAnomalies {
			head += fmt.Sprintf("; the first %d are shown", MaxAnomalies)
		}
		notes = append(notes, head)
	case d.Judged == 0 && len(unsettledKeys) == 0:
		// Nothing to judge: a measurement, not an unknown verdict.
		res.Verdict = checker.Measured
		notes = append(notes, "no read began after the last write, so convergence was not judged; end the workload with a final read of every key")
	case d.Judged == 0:
		res.Verdict = checker.Unknown
	default:
		res.Verdict = checker.Valid
	}
	if n := len(d.Unjudged) - len(unsettledKeys); n > 0 && (d.Judged > 0 || len(unsettledKeys) > 0) {
		var keys []any
		for _, k := range d.Unjudged {
			if !slices.Contains(unsettledKeys, k) {
				keys = append(keys, k)
			}
		}
		notes = append(notes, fmt.Sprintf("%s not judged, for want of a read that began after every write of the key completed: %s; end the workload with a final read of every key",
			plural(n, "key"), keyList(keys)))
	}
	if len(openKeys) > 0 {
		notes = append(notes, fmt.Sprintf("%s had a write that never completed, so no read of it is final: %s", plural(len(openKeys), "key"), keyList(openKeys)))
	}
	if len(unsettledKeys) > 0 {
		notes = append(notes, fmt.Sprintf("%s not judged: the final reads disagree only by values of crashed writes, which may have taken effect between them, and no later reads agree: %s; end the workload with more final reads, after the store has quiesced",
			plural(len(unsettledKeys), "key"), keyList(unsettledKeys)))
	}
	if len(settledKeys) > 0 {
		notes = append(notes, fmt.Sprintf("%s converged only after crashed writes took effect, the earlier final reads disagreeing: %s",
			plural(len(settledKeys), "key"), keyList(settledKeys)))
	}
	if len(caughtUpKeys) > 0 {
		notes = append(notes, fmt.Sprintf("%s converged after a lag, the first final reads disagreeing and the later ones, on every node, agreeing: %s",
			plural(len(caughtUpKeys), "key"), keyList(caughtUpKeys)))
	}
	res.Reason = strings.Join(notes, "; ")
	return res
}

// gather collects each key's writes and final reads, keys in order of
// first appearance.
func gather(h *history.History, nilUnknown bool) ([]*keyState, map[any]int) {
	keyOf := map[any]int{}
	var keys []*keyState
	for i := range h.Ops {
		op := &h.Ops[i]
		k, ok := keyOf[op.Key]
		if !ok {
			k = len(keys)
			keyOf[op.Key] = k
			keys = append(keys, &keyState{key: op.Key, idx: k, lastDone: -1, open: -1})
		}
		if op.F == "read" || op.Type == history.Fail {
			continue
		}
		ks := keys[k]
		switch {
		case op.Complete < 0:
			ks.open = op.ID
		default:
			ks.lastDone = max(ks.lastDone, op.Complete)
		}
		if op.Type == history.Info {
			if ks.crashed == nil {
				ks.crashed = map[string]bool{}
			}
			ks.crashed[history.Canonical(reghist.WrittenBy(op))] = true
		}
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		ks := keys[keyOf[op.Key]]
		if op.F != "read" || op.Type != history.OK || ks.open >= 0 || op.Invoke <= ks.lastDone {
			continue
		}
		if op.Output == nil && nilUnknown {
			continue
		}
		ks.final = append(ks.final, op.ID)
	}
	return keys, keyOf
}

// judge decides one key with final reads; for a divergence it returns two
// final reads that disagree, both of values no crashed write wrote.
func judge(h *history.History, ks *keyState) (o outcome, a, b *history.Op) {
	first := h.Ops[ks.final[0]].Output
	agree := true
	for _, id := range ks.final[1:] {
		if !history.Equal(h.Ops[id].Output, first) {
			agree = false
			break
		}
	}
	if agree {
		return converged, nil, nil
	}
	// Did the reads agree in the end: every read that began after the
	// last one with another value completed?
	last := &h.Ops[ks.final[len(ks.final)-1]]
	lastDiff := -1
	for _, id := range ks.final {
		if op := &h.Ops[id]; !history.Equal(op.Output, last.Output) {
			lastDiff = max(lastDiff, op.Complete)
		}
	}
	agreedAtEnd := last.Invoke > lastDiff
	crashed := func(op *history.Op) bool { return ks.crashed[history.Canonical(op.Output)] }
	for _, id := range ks.final {
		op := &h.Ops[id]
		if len(ks.crashed) > 0 && crashed(op) {
			continue
		}
		if a == nil {
			a = op
		} else if !history.Equal(op.Output, a.Output) {
			if agreedAtEnd && everyNodeAfter(h, ks, lastDiff) {
				return caughtUp, nil, nil
			}
			return diverged, a, op
		}
	}
	// The disagreement may be crashed writes landing late.
	if agreedAtEnd {
		return settled, nil, nil
	}
	return unsettled, nil, nil
}

// everyNodeAfter reports whether every node that served a final read of
// the key also served one invoked after position after; false when some
// final read does not name its node.
func everyNodeAfter(h *history.History, ks *keyState, after int) bool {
	served := map[string]bool{}
	for _, id := range ks.final {
		op := &h.Ops[id]
		node := h.Events[op.Invoke].Node
		if node == "" {
			return false
		}
		if _, ok := served[node]; !ok {
			served[node] = false
		}
		if op.Invoke > after {
			served[node] = true
		}
	}
	for _, later := range served {
		if !later {
			return false
		}
	}
	return true
}

// writersOf finds, for the keys given (by position), the write of each
// value, by canonical value (the last one, if a value was written more than
// once). A failed write is left out: it never took effect.
func writersOf(h *history.History, keys []*keyState, keyOf map[any]int) map[int]map[string]*history.Op {
	want := map[int]map[string]*history.Op{}
	for _, ks := range keys {
		want[ks.idx] = map[string]*history.Op{}
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.F == "read" || op.Type == history.Fail {
			continue
		}
		if m, ok := want[keyOf[op.Key]]; ok {
			m[history.Canonical(reghist.WrittenBy(op))] = op
		}
	}
	return want
}

// explain builds the divergence anomaly of one key from two of its final
// reads that disagree, a before b, with the writes they read.
func explain(h *history.History, ks *keyState, a, b *history.Op, w map[string]*history.Op) checker.Anomaly {
	counts := map[string]int{}
	var values []string // in order of first final read
	for _, id := range ks.final {
		c := history.Canonical(h.Ops[id].Output)
		if counts[c] == 0 {
			values = append(values, c)
		}
		counts[c]++
	}
	slices.SortStableFunc(values, func(x, y string) int { return counts[y] - counts[x] })
	wit := checker.NewWitness(h)
	read := func(op *history.Op) checker.Phrase {
		s := checker.Say("%s%s read %s%s (%s", wit.Who(op), wit.OnNode(op), checker.Val(op.Output), at(h, op.Invoke), wit.At(op))
		if wr := w[history.Canonical(op.Output)]; wr != nil {
			s = checker.Say("%s; written by %s%s, %s", s, wit.Who(wr), wit.OnNode(wr), wit.At(wr))
		}
		return checker.Say("%s)", s)
	}
	ra, rb := read(a), read(b)
	var tally []string
	for _, c := range values[:min(len(values), 4)] {
		tally = append(tally, fmt.Sprintf("%d returned %s", counts[c], c))
	}
	if len(values) > 4 {
		tally = append(tally, fmt.Sprintf("%d more values", len(values)-4))
	}
	since := ", though nothing wrote it"
	if ks.lastDone >= 0 {
		e := &h.Events[ks.lastDone]
		where := fmt.Sprintf("index %d", e.Index)
		if e.Line > 0 {
			where += fmt.Sprintf(", line %d", e.Line)
		}
		since = fmt.Sprintf(" after its last write completed (%s%s)", where, at(h, ks.lastDone))
	}
	return wit.Anomaly(KindDivergence, ks.key, checker.Say("The final reads of %s disagree%s: %s, but %s; of its %d final reads %s, so the replicas did not converge.",
		objectName(ks.key), since, ra, rb, len(ks.final), strings.Join(tally, ", ")))
}

// at gives the time of the event at pos, when it has one.
func at(h *history.History, pos int) string {
	t := h.Events[pos].Time
	if t == history.NoTime {
		return ""
	}
	d := time.Duration(t)
	switch {
	case d >= time.Second:
		d = d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return " at " + d.String()
}

// objectName names a key in a sentence, escaped for a terminal.
func objectName(key any) string { return checker.Escape(checker.KeyName(key)) }

// keyList names up to five keys.
func keyList(keys []any) string {
	var names []string
	for _, k := range keys[:min(len(keys), 5)] {
		names = append(names, objectName(k))
	}
	s := strings.Join(names, ", ")
	if len(keys) > 5 {
		s += fmt.Sprintf(" and %d more", len(keys)-5)
	}
	return s
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
