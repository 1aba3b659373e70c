// Package counter checks the invariant of Jepsen's counter test: every
// read of a counter returns a value the adds could have produced.
//
// Definition (Kingsbury, Jepsen, jepsen.checker/counter). A counter starts
// at 0; add takes an integer delta and read returns the sum. Real time is
// the order of events in the history. For an ok read r of counter k, an
// add of k
//
//   - certainly applied before r if it completed ok before r was invoked;
//   - may have applied if it did not fail and was invoked before r
//     completed: an add that crashed (info) or never completed may take
//     effect at any time after its invocation, or never;
//   - certainly did not apply otherwise.
//
// r must return a value between lower and upper, where lower sums the
// increments that certainly applied and every decrement that may have,
// and upper sums every increment that may have applied and the decrements
// that certainly did. Jepsen's checker allows increments only, for which
// this is its bound: at least the acknowledged adds, at most the attempted
// ones. Decrements are judged soundly as above. A nil read, under
// consist's convention, read the counter before any add (0); under
// Knossos' (checker.NilReadUnknown) it observed nothing and is skipped.
//
// The bound is necessary for linearizability, not sufficient: the checker
// does not compare reads with each other. A store that lets a read miss an
// acknowledged add (a stale read, a lost update) breaks the lower bound; one
// that applies an increment twice (a retried request) breaks the upper.
package counter

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

// Checker checks the counter invariant. The zero value is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.Counter} }

// Check judges h; see the package documentation for the definition.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Applies reports whether h is a counter history: every operation is an
// add of an integer or a read, at least one read returned an integer, and
// every ok read returned an integer or nil.
func (Checker) Applies(h *history.History) bool {
	if shapeError(h) != "" {
		return false
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.F == "read" && op.Type == history.OK {
			if _, ok := op.Output.(int64); ok {
				return true
			}
		}
	}
	return false
}

// Engine is the name Stats.Engine reports for this checker.
const Engine = "counter-bounds"

// The anomalies: a read below its lower bound, and one above its upper.
const (
	KindTooLow  = checker.ReadTooLow
	KindTooHigh = checker.ReadTooHigh
)

// MaxAnomalies is the most anomalies a result lists.
const MaxAnomalies = 10

// Details is what a check found, in Result.Details.
type Details struct {
	// Counters is the number of counters (keys) in the history.
	Counters int `json:"counters"`
	// Reads is the number of ok reads judged.
	Reads int `json:"reads"`
	// OutOfBounds is the number of reads outside their bounds.
	OutOfBounds int `json:"out_of_bounds"`
	// MaxError is the furthest a read fell outside its bounds.
	MaxError int64 `json:"max_error,omitempty"`
}

// bounds is what a key's adds sum to at some point of the history:
// increments and decrements, acknowledged (ok and completed) and
// possible (invoked and not failed).
type bounds struct {
	okInc, okDec, maybeInc, maybeDec int64
}

// violation is a read outside its bounds.
type violation struct {
	read         *history.Op
	value        int64
	lower, upper int64
}

// Check judges h against the counter invariant.
func Check(ctx context.Context, h *history.History, opts checker.Options) (res checker.Result) {
	start := time.Now()
	res = checker.Result{Model: checker.Counter, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
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

	invoked := make([]int, len(h.Events))
	completed := make([]int, len(h.Events))
	for i := range h.Ops {
		op := &h.Ops[i]
		invoked[op.Invoke] = i + 1
		if op.Complete >= 0 {
			completed[op.Complete] = i + 1
		}
	}
	keys := map[any]*bounds{}
	atInvoke := map[int]bounds{} // read op ID -> its key's bounds when it was invoked
	var viols []violation
	d := &Details{}
	res.Details = d
	for pos := range h.Events {
		if id := invoked[pos]; id > 0 {
			op := &h.Ops[id-1]
			b := keys[op.Key]
			if b == nil {
				b = &bounds{}
				keys[op.Key] = b
			}
			switch {
			case op.F == "read":
				atInvoke[op.ID] = *b
			case op.Type != history.Fail:
				if delta := op.Input.(int64); delta >= 0 {
					b.maybeInc += delta
				} else {
					b.maybeDec += delta
				}
			}
		}
		id := completed[pos]
		if id == 0 {
			continue
		}
		op := &h.Ops[id-1]
		if op.Type != history.OK {
			continue
		}
		b := keys[op.Key]
		if op.F == "add" {
			if delta := op.Input.(int64); delta >= 0 {
				b.okInc += delta
			} else {
				b.okDec += delta
			}
			continue
		}
		if op.Output == nil && nilUnknown {
			continue
		}
		v, _ := op.Output.(int64) // nil: never added to, 0
		before := atInvoke[op.ID]
		lower, upper := before.okInc+b.maybeDec, b.maybeInc+before.okDec
		d.Reads++
		if v < lower || v > upper {
			viols = append(viols, violation{op, v, lower, upper})
			d.MaxError = max(d.MaxError, lower-v, v-upper)
		}
	}
	d.Counters = len(keys)
	d.OutOfBounds = len(viols)

	switch {
	case len(viols) > 0:
		res.Verdict = checker.Invalid
		for _, v := range viols[:min(len(viols), MaxAnomalies)] {
			res.Anomalies = append(res.Anomalies, explain(h, v))
		}
		res.Reason = fmt.Sprintf("%s outside what the adds could have produced", plural(len(viols), "read"))
		if len(viols) > MaxAnomalies {
			res.Reason += fmt.Sprintf("; the first %d are shown", MaxAnomalies)
		}
	case d.Reads == 0:
		res.Verdict = checker.Unknown
		res.Reason = "no read of a counter succeeded, so nothing can be judged; end the workload with a final read of every counter"
	default:
		res.Verdict = checker.Valid
	}
	return res
}

// maxExact bounds the deltas, their sums per key and the reads the
// checker accepts, so that every bound and every difference it computes
// fits an int64 exactly.
const maxExact = 1 << 62

// tooBig reports whether v is an integer the checker cannot compute with
// exactly: one beyond int64 (a history.Number) or beyond ±maxExact.
func tooBig(v any) bool {
	switch v := v.(type) {
	case history.Number:
		return v.IsInteger()
	case int64:
		return v > maxExact || v < -maxExact
	}
	return false
}

// shapeError says why h is not a counter history, or returns "".
func shapeError(h *history.History) string {
	var foreign []string
	total := map[string]int64{} // per key, the sum of |delta| of adds that may have applied
	for i := range h.Ops {
		op := &h.Ops[i]
		switch op.F {
		case "add":
			if tooBig(op.Input) {
				return fmt.Sprintf("the add at index %d adds %s, beyond the ±2^62 the counter checker sums exactly; it refuses rather than round", h.OpIndex(op), history.Describe(op.Input))
			}
			delta, ok := op.Input.(int64)
			if !ok {
				return fmt.Sprintf("the add at index %d adds %s, not an integer; the counter checker judges integer deltas only", h.OpIndex(op), history.Describe(op.Input))
			}
			if op.Type != history.Fail {
				k := history.Canonical(op.Key)
				if abs(delta) > maxExact-total[k] {
					return fmt.Sprintf("the adds on %s up to index %d sum beyond the ±2^62 the counter checker sums exactly; it refuses rather than overflow", objectName(op.Key), h.OpIndex(op))
				}
				total[k] += abs(delta)
			}
		case "read":
			if op.Type == history.OK && tooBig(op.Output) {
				return fmt.Sprintf("the read at index %d returned %s, beyond the ±2^62 the counter checker compares exactly; it refuses rather than round", h.OpIndex(op), history.Describe(op.Output))
			}
			if _, ok := op.Output.(int64); op.Type == history.OK && op.Output != nil && !ok {
				return fmt.Sprintf("the read at index %d returned %s, not an integer; the counter checker judges counters only (a set's reads return lists: check those with set-full)", h.OpIndex(op), history.Describe(op.Output))
			}
		default:
			if !slices.Contains(foreign, op.F) {
				foreign = append(foreign, op.F)
			}
		}
	}
	if len(foreign) > 0 {
		slices.Sort(foreign)
		return fmt.Sprintf("the counter checker judges add and read operations, but the history also uses %s; check those with a checker for their data type", strings.Join(foreign, ", "))
	}
	return ""
}

// explain builds the anomaly of one read outside its bounds, naming the
// read and the fewest adds that put the bound beyond it.
func explain(h *history.History, v violation) checker.Anomaly {
	r := v.read
	var certain, possible []*history.Op // of the bound's direction
	var possibleSum int64
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.F != "add" || op.Type == history.Fail || !history.Equal(op.Key, r.Key) {
			continue
		}
		delta := op.Input.(int64)
		done := op.Type == history.OK && op.Complete < r.Invoke
		invokedBefore := op.Invoke < r.Complete
		low := v.value < v.lower
		switch {
		case low && delta > 0 && done, !low && delta < 0 && done:
			certain = append(certain, op)
		case low && delta < 0 && invokedBefore, !low && delta > 0 && invokedBefore:
			possible = append(possible, op)
			possibleSum += delta
		}
	}
	// The largest deltas first (the most negative, for the upper bound):
	// the fewest of them pass the read's value.
	slices.SortStableFunc(certain, func(a, b *history.Op) int {
		return cmp.Compare(abs(b.Input.(int64)), abs(a.Input.(int64)))
	})
	witness := []*history.Op{r}
	sum := possibleSum
	var kind checker.Kind
	var why checker.Phrase
	w := checker.NewWitness(h)
	read := checker.Say("%s%s read %d from %s (%s)", w.Who(r), w.OnNode(r), v.value, objectName(r.Key), w.At(r))
	if v.value < v.lower {
		kind = KindTooLow
		for _, op := range certain {
			if sum > v.value {
				break
			}
			witness = append(witness, op)
			sum += op.Input.(int64)
		}
		witness = append(witness, possible...)
		why = checker.Say("%s, but adds acknowledged before the read began already summed to %d", read, v.lower-possibleSum)
		if possibleSum < 0 {
			why = checker.Say("%s, and every decrement that may have applied before it completed takes away only %d, so the counter held at least %d", why, -possibleSum, v.lower)
		}
		why = checker.Say("%s: the read missed acknowledged increments", why)
	} else {
		kind = KindTooHigh
		for _, op := range certain {
			if sum < v.value {
				break
			}
			witness = append(witness, op)
			sum += op.Input.(int64)
		}
		switch {
		case len(possible) == 0:
			why = checker.Say("%s, but no increment was invoked before the read completed", read)
		default:
			why = checker.Say("%s, but every increment invoked before the read completed sums to only %d", read, possibleSum)
		}
		if len(witness) > 1 {
			why = checker.Say("%s, and decrements acknowledged before it began take away %d, so the counter held at most %d", why, possibleSum-v.upper, v.upper)
		}
		why = checker.Say("%s: the read saw increments that were never made, or were applied twice", why)
	}
	w.Add(witness...)
	return w.Anomaly(kind, r.Key, checker.Say("%s.", why))
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func objectName(key any) string {
	if key == nil {
		return "the counter"
	}
	return "counter " + checker.Escape(history.Describe(key))
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
