// Package set checks sets as Jepsen's set-full checker does: that every
// element known to be in a set stays visible, and that reads return only
// elements that were added.
//
// Definition (Kingsbury, Jepsen, jepsen.checker/set-full). A set's add
// takes one element and its read returns every element present. Real time
// is the order of events in the history. For each element e of set k, from
// the adds of e that did not fail and the ok reads of k:
//
//   - e is known once an add of it completed ok or a read returned it,
//     whichever completed first.
//   - A read counts for e when it completed after the first add of e was
//     invoked; it is present or absent as it contains e or not. Of those,
//     the last present and the last absent read are the ones invoked last.
//   - e is stable when some read contained it and the last present read
//     began after the last absent one: from some point on, every read saw
//     it. It is stale when stable and yet absent from a read begun after
//     it was known; its delay is the time from being known to that read's
//     invocation.
//   - e is lost when it was known and the last absent read began after
//     that and after every present read: a read begun after e was known
//     missed it, and no read begun later saw it again. That is a lost
//     write.
//   - e is never read otherwise: no read began after it was known (or it
//     never was: its add crashed and no read saw it). It cannot be judged.
//
// consist adds one rule of Jepsen's simpler set checker: an element that a
// read returned when no add of it that did not fail had been invoked
// before the read completed is unexpected.
//
// The verdict is Invalid when an element is lost or unexpected, Unknown
// when no element is stable or lost (nothing could be judged), and Valid
// otherwise. Stale elements are not anomalies: like Jepsen's set-full
// without :linearizable?, the check asks whether acknowledged elements
// survive, not how fast they become visible. Reads that lag are what a
// store that is not linearizable is allowed to do; how many elements were
// stale and the worst delays go to Result.Details, and checking the lag
// against a bound is the staleness checkers' business.
//
// A read that returned nil read an empty set under consist's convention;
// under Knossos' (checker.NilReadUnknown) it observed nothing and is
// skipped.
package set

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"consist/checker"
	"consist/history"
)

// Checker checks sets against set-full. The zero value is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.SetFull} }

// Check judges h; see the package documentation for the definition.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Applies reports whether h is a set history: every operation is an add
// or a read, at least one read returned a list, and every ok read returned
// a list or nil.
func (Checker) Applies(h *history.History) bool {
	if shapeError(h) != "" {
		return false
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if _, ok := op.Output.([]any); ok && op.F == "read" && op.Type == history.OK {
			return true
		}
	}
	return false
}

// Engine is the name Stats.Engine reports for this checker.
const Engine = "set-full"

// The anomalies.
const (
	// KindLost is an element known to be in the set that a read begun
	// afterwards missed, with no later read seeing it again.
	KindLost = checker.LostElement
	// KindUnexpected is an element a read returned that nothing added.
	KindUnexpected = checker.UnexpectedElement
)

// MaxAnomalies is the most anomalies a result lists.
const MaxAnomalies = 10

// MaxWorstStale is the most stale elements Details lists.
const MaxWorstStale = 8

// Details is what a check found, in Result.Details.
type Details struct {
	// Sets is the number of sets (keys) in the history.
	Sets int `json:"sets"`
	// Attempted is the number of elements with an add that did not fail.
	Attempted  int `json:"attempted"`
	Stable     int `json:"stable"`
	Lost       int `json:"lost"`
	NeverRead  int `json:"never_read"`
	Unexpected int `json:"unexpected"`
	// Stale is the number of stable elements that a read begun after
	// they were known missed.
	Stale int `json:"stale"`
	// WorstStale are the stale elements that took longest to become
	// stable, worst first.
	WorstStale []Stale `json:"worst_stale,omitempty"`
}

// Stale is an element that became visible only some time after it was
// known to be in the set.
type Stale struct {
	Key     any `json:"key,omitempty"`
	Element any `json:"element"`
	// Known is the index of the operation that made the element known:
	// its acknowledged add, or the first read that returned it.
	Known int64 `json:"known"`
	// Missed is the index of the last read that began after the element
	// was known and did not return it.
	Missed int64 `json:"missed"`
	// Delay is the time from Known's completion to Missed's invocation;
	// 0 when the history has no times.
	Delay time.Duration `json:"delay_ns,omitempty"`
}

// element is what the check gathers about one element of one set.
type element struct {
	key, value any
	// canon is value's canonical form.
	canon string
	// firstInvoke is the position of the first invocation of an add of
	// it that did not fail.
	firstInvoke int
	// known is the position of the completion that made it known, -1
	// while unknown; knownBy is that operation.
	known   int
	knownBy *history.Op
	// lastPresent and lastAbsent are the reads invoked last that
	// returned it and that did not.
	lastPresent, lastAbsent *history.Op
}

type outcome uint8

const (
	neverRead outcome = iota
	stable
	lost
)

func (e *element) outcome() outcome {
	switch {
	case e.lastPresent != nil && (e.lastAbsent == nil || e.lastAbsent.Invoke < e.lastPresent.Invoke):
		return stable
	case e.known >= 0 && e.lastAbsent != nil && e.lastAbsent.Invoke > e.known &&
		(e.lastPresent == nil || e.lastPresent.Invoke < e.lastAbsent.Invoke):
		return lost
	}
	return neverRead
}

// unexpected is an element a read returned that nothing added.
type unexpected struct {
	value any
	read  *history.Op
}

// Check judges h against set-full.
func Check(ctx context.Context, h *history.History, opts checker.Options) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.SetFull, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()
	if err := ctx.Err(); err != nil {
		res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("check stopped before it began: %v", err)
		return res
	}
	if msg := shapeError(h); msg != "" {
		res.Verdict, res.Reason = checker.Unknown, msg
		return res
	}
	nilUnknown := opts.NilRead.Resolve(h.Format) == checker.NilReadUnknown

	keys, opsOf := byKey(h)
	d := &Details{Sets: len(keys)}
	res.Details = d
	var lostEls, staleEls []*element
	var unexp []unexpected
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			res.Verdict, res.Reason = checker.Unknown, fmt.Sprintf("check stopped: %v", err)
			return res
		}
		els, u := judgeKey(k, opsOf[k], nilUnknown)
		unexp = append(unexp, u...)
		d.Attempted += len(els)
		for _, e := range els {
			switch e.outcome() {
			case stable:
				d.Stable++
				if e.lastAbsent != nil && e.lastAbsent.Invoke > e.known {
					staleEls = append(staleEls, e)
				}
			case lost:
				lostEls = append(lostEls, e)
			default:
				d.NeverRead++
			}
		}
	}
	d.Lost, d.Unexpected, d.Stale = len(lostEls), len(unexp), len(staleEls)
	d.WorstStale = worstStale(h, staleEls)

	var notes []string
	switch {
	case len(lostEls) > 0 || len(unexp) > 0:
		res.Verdict = checker.Invalid
		for _, e := range lostEls[:min(len(lostEls), MaxAnomalies)] {
			res.Anomalies = append(res.Anomalies, explainLost(h, e))
		}
		for _, u := range unexp[:min(len(unexp), MaxAnomalies-len(res.Anomalies))] {
			res.Anomalies = append(res.Anomalies, explainUnexpected(h, u))
		}
		head := fmt.Sprintf("%s lost, %d unexpected", plural(len(lostEls), "element"), len(unexp))
		if len(lostEls)+len(unexp) > MaxAnomalies {
			head += fmt.Sprintf("; the first %d are shown", MaxAnomalies)
		}
		notes = append(notes, head)
	case d.Stable == 0:
		res.Verdict = checker.Unknown
		notes = append(notes, "no element could be judged: none was known to be added and then read by a read that began afterwards; end the workload with a final read of every set")
	default:
		res.Verdict = checker.Valid
	}
	if d.NeverRead > 0 && res.Verdict != checker.Unknown {
		notes = append(notes, fmt.Sprintf("%s not judged, for want of a read that began after the element was known to be added (or because its add crashed and no read saw it)",
			plural(d.NeverRead, "element")))
	}
	res.Reason = strings.Join(notes, "; ")
	return res
}

// shapeError says why h is not a set history, or returns "".
func shapeError(h *history.History) string {
	var foreign []string
	for i := range h.Ops {
		op := &h.Ops[i]
		switch op.F {
		case "add":
		case "read":
			if _, ok := op.Output.([]any); op.Type == history.OK && op.Output != nil && !ok {
				return fmt.Sprintf("the read at index %d returned %s, not a list; set-full judges sets, whose reads return every element (a counter's reads return integers: check those with counter)",
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
		return fmt.Sprintf("set-full judges add and read operations, but the history also uses %s; check those with a checker for their data type", strings.Join(foreign, ", "))
	}
	return ""
}

// byKey groups the operations by key, keys in order of first appearance.
func byKey(h *history.History) ([]any, map[any][]*history.Op) {
	var keys []any
	ops := map[any][]*history.Op{}
	for i := range h.Ops {
		op := &h.Ops[i]
		if _, ok := ops[op.Key]; !ok {
			keys = append(keys, op.Key)
		}
		ops[op.Key] = append(ops[op.Key], op)
	}
	return keys, ops
}

// judgeKey follows every element of one set through the set's reads. It
// returns the elements in order of their first add, and the unexpected
// ones in order of the reads that returned them.
func judgeKey(key any, ops []*history.Op, nilUnknown bool) ([]*element, []unexpected) {
	byValue := map[string]*element{}
	var els []*element
	var reads []*history.Op
	for _, op := range ops {
		switch {
		case op.F == "read":
			if op.Type == history.OK && (op.Output != nil || !nilUnknown) {
				reads = append(reads, op)
			}
		case op.Type != history.Fail:
			c := history.Canonical(op.Input)
			e := byValue[c]
			if e == nil {
				e = &element{key: key, value: op.Input, canon: c, firstInvoke: op.Invoke, known: -1}
				byValue[c] = e
				els = append(els, e) // ops are in invocation order
			}
			if op.Type == history.OK && (e.known < 0 || op.Complete < e.known) {
				e.known, e.knownBy = op.Complete, op
			}
		}
	}
	slices.SortFunc(reads, func(a, b *history.Op) int { return cmp.Compare(a.Complete, b.Complete) })

	var unexp []unexpected
	seenUnexpected := map[string]bool{}
	present := map[string]bool{}
	live := 0 // els[:live] had an add invoked before the current read completed
	for _, r := range reads {
		for live < len(els) && els[live].firstInvoke < r.Complete {
			live++
		}
		clear(present)
		members, _ := r.Output.([]any)
		for _, v := range members {
			c := history.Canonical(v)
			present[c] = true
			if e := byValue[c]; (e == nil || e.firstInvoke > r.Complete) && !seenUnexpected[c] {
				seenUnexpected[c] = true
				unexp = append(unexp, unexpected{v, r})
			}
		}
		for _, e := range els[:live] {
			if !present[e.canon] {
				if e.lastAbsent == nil || r.Invoke > e.lastAbsent.Invoke {
					e.lastAbsent = r
				}
				continue
			}
			if e.known < 0 || r.Complete < e.known {
				e.known, e.knownBy = r.Complete, r
			}
			if e.lastPresent == nil || r.Invoke > e.lastPresent.Invoke {
				e.lastPresent = r
			}
		}
	}
	return els, unexp
}

// worstStale lists the stale elements that took longest to become
// stable: by delay, then by how many events passed between being known and
// the read that missed them.
func worstStale(h *history.History, els []*element) []Stale {
	type ranked struct {
		s   Stale
		gap int
	}
	all := make([]ranked, 0, len(els))
	for _, e := range els {
		s := Stale{Key: e.key, Element: e.value, Known: h.OpIndex(e.knownBy), Missed: h.OpIndex(e.lastAbsent)}
		from, to := h.Events[e.known].Time, h.InvokeEvent(e.lastAbsent).Time
		if from != history.NoTime && to != history.NoTime {
			s.Delay = time.Duration(to - from)
		}
		all = append(all, ranked{s, e.lastAbsent.Invoke - e.known})
	}
	slices.SortStableFunc(all, func(a, b ranked) int {
		if c := cmp.Compare(b.s.Delay, a.s.Delay); c != 0 {
			return c
		}
		return cmp.Compare(b.gap, a.gap)
	})
	var worst []Stale
	for _, r := range all[:min(len(all), MaxWorstStale)] {
		worst = append(worst, r.s)
	}
	return worst
}

// explainLost builds the anomaly of a lost element: what made it known,
// the last read that returned it, and the read that missed it.
func explainLost(h *history.History, e *element) checker.Anomaly {
	w := checker.NewWitness(h)
	var known checker.Phrase
	if e.knownBy.F == "add" {
		known = checker.Say("%s's add of it was acknowledged (%s)", w.Who(e.knownBy), w.At(e.knownBy))
	} else {
		known = checker.Say("%s's read (%s) returned it", w.Who(e.knownBy), w.At(e.knownBy))
	}
	if p := e.lastPresent; p != nil && p != e.knownBy {
		known = checker.Say("%s and %s's read (%s) returned it", known, w.Who(p), w.At(p))
	}
	return w.Anomaly(KindLost, e.key, checker.Say("Element %s of %s was lost: %s, but %s's read (%s), begun after it was known to be present, did not return it, nor did any read begun later.",
		checker.Val(e.value), objectName(e.key), known, w.Who(e.lastAbsent), w.At(e.lastAbsent)))
}

// explainUnexpected builds the anomaly of an element read but not added.
func explainUnexpected(h *history.History, u unexpected) checker.Anomaly {
	w := checker.NewWitness(h)
	return w.Anomaly(KindUnexpected, u.read.Key, checker.Say("%s's read of %s (%s) returned %s, but no add of it that did not fail was invoked before the read completed: the set holds an element nobody added.",
		w.Who(u.read), objectName(u.read.Key), w.At(u.read), checker.Val(u.value)))
}

func objectName(key any) string {
	if key == nil {
		return "the set"
	}
	return "set " + checker.Escape(history.Describe(key))
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
