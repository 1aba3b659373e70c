// Package staleness measures how far the reads of a register history lag
// behind its writes, and judges the model bounded-staleness.
//
// Definition. Staleness-based models bound how out of date a read may be,
// in versions or in time (Viotti & Vukolić, "Consistency in
// Non-Transactional Distributed Storage Systems", ACM CSUR 2016, on
// k-atomicity after Aiyer, Alvisi & Bazzi, DISC 2005, and Δ-atomicity after
// Golab, Li & Shah, PODC 2011; Azure Cosmos DB's bounded staleness promises
// both, "K versions or T time"). consist measures, for every ok read r of
// a key k, its lag behind the newest writes of k completed before r began:
//
//   - Real time is the order of events in the history. A write completed
//     before r began when its ok completion event comes before r's invoke
//     event.
//   - r read the write w whose value it returned (values are unique per
//     key, so the value names the write), or the initial value.
//   - A write w' is definitely newer than w when w' was invoked after w's
//     ok completion. Nothing is definitely newer than a write that crashed
//     (info) or never completed, since it may take effect at any later
//     time, nor than a write whose completion came after r began.
//   - The version lag of r is the number of writes of k, ok writes and
//     successful cas, that completed before r began and are definitely
//     newer than w; for a read of the initial value, the number of writes
//     of k that completed before r began.
//   - The time lag of r is r's invoke time minus the completion time of
//     the first of those writes to complete (0 when there are none). It
//     is measured only when every event carries a time.
//
// Every write counted falls after w and before r in real time, so the lags
// are lower bounds on how stale r is in any order that respects real time;
// in a linearizable history every lag is 0.
//
// The lags' 50th and 99th percentiles and maximum, per key and overall,
// are reported in Result.Details (a *Details). Without a bound
// (Options.MaxStalenessVersions and Options.MaxStalenessTime both zero)
// the result is a measurement, checker.Measured, never a verdict: it
// judges nothing, and when the lags cannot be measured (a value written
// twice, say) Result.Reason says why and Details is empty. With a bound
// the verdict is Valid unless some read lags more than it, which makes it
// Invalid, with the worst reads as "stale-beyond-bound" anomalies; a history whose
// lags cannot be measured, or a time bound on a history without times, is
// Unknown. Reads of a nil value under Knossos' convention
// (checker.NilReadUnknown) observed nothing and are not measured; nor are
// reads of values no write of their key wrote, which the linearizability
// checker reports.
package staleness

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"consist/checker"
	"consist/checker/internal/reghist"
	"consist/history"
)

// Checker measures staleness and judges bounded-staleness. The zero value
// is ready to use.
type Checker struct{}

// Models returns the single model this checker decides.
func (Checker) Models() []checker.Model { return []checker.Model{checker.BoundedStaleness} }

// Check judges h; see the package documentation for the definition.
func (Checker) Check(ctx context.Context, h *history.History, opts checker.Options) []checker.Result {
	return []checker.Result{Check(ctx, h, opts)}
}

// Applies reports whether h is a register history: every operation is a
// read, write or cas.
func (Checker) Applies(h *history.History) bool { return reghist.ForeignFuncs(h) == nil }

// Engine is the name Stats.Engine reports for this checker.
const Engine = "staleness-sweep"

// KindStaleRead is the anomaly of a read that lagged more than the bound;
// it is not linearizability's stale read.
const KindStaleRead = checker.StaleBeyondBound

// MaxAnomalies is the most anomalies a result lists: the worst reads.
const MaxAnomalies = 10

// Details is the staleness a check measured, in Result.Details.
type Details struct {
	// Timed tells whether time lags were measured: only when every event
	// of the history carries a time.
	Timed bool `json:"timed"`
	// Overall summarises every measured read.
	Overall Lags `json:"overall"`
	// Keys summarises each key's reads, keys in order of first
	// appearance.
	Keys []KeyLags `json:"keys,omitempty"`
	// Unmeasured counts the ok reads not measured: reads of nil under
	// Knossos' convention, and reads of values no write of their key
	// wrote.
	Unmeasured int `json:"unmeasured_reads,omitempty"`
}

// Lags summarises the lags of a set of reads.
type Lags struct {
	// Reads is the number of reads measured.
	Reads int `json:"reads"`
	// Stale is the number of reads at least one version behind.
	Stale int `json:"stale"`
	// Versions are the version lags' percentiles.
	Versions Quantiles `json:"versions"`
	// Time are the time lags' percentiles, when measured.
	Time *TimeQuantiles `json:"time,omitempty"`
}

// KeyLags summarises the lags of one key's reads.
type KeyLags struct {
	// Key is the key; nil for the single default register.
	Key any `json:"key"`
	Lags
}

// Quantiles are the 50th and 99th percentiles (nearest rank) and the
// maximum of version lags.
type Quantiles struct {
	P50 int `json:"p50"`
	P99 int `json:"p99"`
	Max int `json:"max"`
}

// TimeQuantiles are the 50th and 99th percentiles (nearest rank) and the
// maximum of time lags, in nanoseconds in JSON.
type TimeQuantiles struct {
	P50 time.Duration `json:"p50_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Check measures h's staleness and judges it against the bounds in opts.
func Check(ctx context.Context, h *history.History, opts checker.Options) (res checker.Result) {
	start := time.Now()
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	res = checker.Result{Model: checker.BoundedStaleness, Stats: checker.Stats{Ops: len(h.Ops), Engine: Engine}}
	defer func() { res.Stats.Duration = time.Since(start) }()

	// Without a bound nothing is judged: what cannot be measured leaves
	// a measurement that says why, not an unknown verdict.
	cannot := checker.Unknown
	if !bounded(opts) {
		cannot = checker.Measured
	}
	if fs := reghist.ForeignFuncs(h); fs != nil {
		res.Verdict = cannot
		res.Reason = fmt.Sprintf("bounded staleness is measured on registers (read, write, cas), but the history also uses %s; check those with a checker for their data type",
			strings.Join(fs, ", "))
		return res
	}
	m, err := measure(ctx, h, opts)
	if err != nil {
		res.Verdict, res.Reason = cannot, err.Error()
		if cannot == checker.Measured {
			res.Reason = "the lags were not measured: " + res.Reason
		}
		return res
	}
	res.Details = m.details
	judge(h, opts, m, &res)
	return res
}

// valueIndex maps the values written to one key to their writes.
type valueIndex struct {
	ints map[int64]int32
	strs map[string]int32
}

func (vi *valueIndex) lookup(v any) (int32, bool) {
	if i, ok := v.(int64); ok {
		id, found := vi.ints[i]
		return id, found
	}
	id, found := vi.strs[history.Canonical(v)]
	return id, found
}

// add records that op id wrote v; it returns the earlier write of v, if
// any.
func (vi *valueIndex) add(v any, id int32) (int32, bool) {
	if i, ok := v.(int64); ok {
		if vi.ints == nil {
			vi.ints = map[int64]int32{}
		}
		if prev, dup := vi.ints[i]; dup {
			return prev, true
		}
		vi.ints[i] = id
		return 0, false
	}
	if vi.strs == nil {
		vi.strs = map[string]int32{}
	}
	c := history.Canonical(v)
	if prev, dup := vi.strs[c]; dup {
		return prev, true
	}
	vi.strs[c] = id
	return 0, false
}

// keyOps are one key's operations that matter.
type keyOps struct {
	key    any
	values valueIndex
	// writes are the ok writes and successful cas, in invocation order.
	writes []int32
	// reads are the ok reads measured, in invocation order.
	reads []int32
}

// reading is one measured read.
type reading struct {
	read    int32 // op ID
	writer  int32 // op ID of the write read, -1 for the initial value
	newer   int32 // op ID of the first newer write to complete, -1 if none
	version int
	lag     time.Duration
}

// measurement is what measure found.
type measurement struct {
	details  *Details
	readings [][]reading // per key
	keys     []*keyOps
	timed    bool
}

// timed reports whether every client event of h carries a time.
func timed(h *history.History) bool {
	seen := false
	for i := range h.Events {
		e := &h.Events[i]
		if !e.IsClient() {
			continue
		}
		if e.Time == history.NoTime {
			return false
		}
		seen = true
	}
	return seen
}

// measure computes every read's lags.
func measure(ctx context.Context, h *history.History, opts checker.Options) (*measurement, error) {
	nilUnknown := opts.NilRead.Resolve(h.Format) == checker.NilReadUnknown
	keyOf := map[any]int{}
	var keys []*keyOps
	unmeasured := 0
	for i := range h.Ops {
		op := &h.Ops[i]
		k, ok := keyOf[op.Key]
		if !ok {
			k = len(keys)
			keyOf[op.Key] = k
			keys = append(keys, &keyOps{key: op.Key})
		}
		ko := keys[k]
		switch {
		case op.F == "read":
			if op.Type != history.OK {
				continue
			}
			if op.Output == nil && nilUnknown {
				unmeasured++
				continue
			}
			ko.reads = append(ko.reads, int32(op.ID))
		case op.Type != history.Fail: // a write or cas that may have taken effect
			v := reghist.WrittenBy(op)
			if history.Equal(v, opts.Initial) {
				return nil, fmt.Errorf("%s writes %s, the initial value, to %s (index %d), so a read of it cannot be told from a read of the initial value; bounded staleness needs every write of a key to write a distinct value, different from the initial one",
					"process "+op.Process.String(), history.Describe(v), checker.KeyName(op.Key), h.OpIndex(op))
			}
			if prev, dup := ko.values.add(v, int32(op.ID)); dup {
				return nil, fmt.Errorf("%s is written to %s twice (indices %d and %d), so a read of it does not say which write it saw; bounded staleness needs every write of a key to write a distinct value (write a counter, or unique ids)",
					history.Describe(v), checker.KeyName(op.Key), h.OpIndex(&h.Ops[prev]), h.OpIndex(op))
			}
			if op.Type == history.OK && (op.F == "write" || op.F == "cas") {
				ko.writes = append(ko.writes, int32(op.ID))
			}
		}
	}

	m := &measurement{keys: keys, timed: timed(h), readings: make([][]reading, len(keys))}
	d := &Details{Timed: m.timed, Keys: make([]KeyLags, len(keys))}
	var allV []int
	var allT []time.Duration
	checked := 0
	for k, ko := range keys {
		rs, skipped, err := measureKey(ctx, h, ko, opts.Initial, m.timed, &checked)
		if err != nil {
			return nil, err
		}
		unmeasured += skipped
		m.readings[k] = rs
		vs := make([]int, len(rs))
		var ts []time.Duration
		if m.timed {
			ts = make([]time.Duration, len(rs))
		}
		for i, r := range rs {
			vs[i] = r.version
			if ts != nil {
				ts[i] = r.lag
			}
		}
		d.Keys[k] = KeyLags{Key: ko.key, Lags: summarise(vs, ts, m.timed)}
		allV = append(allV, vs...)
		allT = append(allT, ts...)
	}
	d.Overall = summarise(allV, allT, m.timed)
	d.Unmeasured = unmeasured
	m.details = d
	return m, nil
}

// never is a completion position after every event.
const never = int32(1<<31 - 1)

// measureKey computes the lags of one key's reads by a sweep over real
// time: reads in order of invocation, and a Fenwick tree over the writes
// (ranked by invocation) holding those completed before the current read
// began.
func measureKey(ctx context.Context, h *history.History, ko *keyOps, initial any, timed bool, checked *int) ([]reading, int, error) {
	n := len(ko.writes)
	inv := make([]int32, n)
	for i, id := range ko.writes {
		inv[i] = int32(h.Ops[id].Invoke)
	}
	byDone := make([]int32, n) // ranks of the writes, in order of completion
	for i := range byDone {
		byDone[i] = int32(i)
	}
	done := func(rank int32) int32 { return int32(h.Ops[ko.writes[rank]].Complete) }
	slices.SortFunc(byDone, func(a, b int32) int { return cmp.Compare(done(a), done(b)) })
	// firstDone[i] is the rank, among ranks i..n-1, of the write that
	// completed first.
	firstDone := make([]int32, n+1)
	firstDone[n] = -1
	for i := n - 1; i >= 0; i-- {
		firstDone[i] = int32(i)
		if j := firstDone[i+1]; j >= 0 && done(j) < done(int32(i)) {
			firstDone[i] = j
		}
	}
	tree := make([]int32, n+1)

	out := make([]reading, 0, len(ko.reads))
	skipped, added := 0, 0
	for _, id := range ko.reads {
		if *checked++; *checked%4096 == 0 && ctx.Err() != nil {
			return nil, 0, fmt.Errorf("check stopped before it finished: %w (raise --timeout)", ctx.Err())
		}
		r := &h.Ops[id]
		rd := reading{read: id, writer: -1, newer: -1}
		wDone := int32(-1) // the initial value is older than everything
		if !history.Equal(r.Output, initial) {
			w, ok := ko.values.lookup(r.Output)
			if !ok {
				skipped++
				continue
			}
			rd.writer = w
			wDone = never
			if wop := &h.Ops[w]; wop.Type == history.OK {
				wDone = int32(wop.Complete)
			}
		}
		for added < n && done(byDone[added]) < int32(r.Invoke) {
			for i := byDone[added] + 1; i <= int32(n); i += i & -i {
				tree[i]++
			}
			added++
		}
		// Writes ranked from lb on were invoked after w completed.
		lb := sort.Search(n, func(i int) bool { return inv[i] > wDone })
		older := 0
		for i := lb; i > 0; i -= i & -i {
			older += int(tree[i])
		}
		rd.version = added - older
		if rd.version > 0 {
			rd.newer = ko.writes[firstDone[lb]]
			if timed {
				since := h.Events[r.Invoke].Time - h.Events[h.Ops[rd.newer].Complete].Time
				rd.lag = time.Duration(max(since, 0))
			}
		}
		out = append(out, rd)
	}
	return out, skipped, nil
}

// summarise computes the quantiles of vs and, when timed, ts; it sorts
// both.
func summarise(vs []int, ts []time.Duration, timed bool) Lags {
	l := Lags{Reads: len(vs)}
	for _, v := range vs {
		if v > 0 {
			l.Stale++
		}
	}
	slices.Sort(vs)
	l.Versions = Quantiles{P50: quantile(vs, 50), P99: quantile(vs, 99), Max: quantile(vs, 100)}
	if timed {
		slices.Sort(ts)
		l.Time = &TimeQuantiles{P50: quantile(ts, 50), P99: quantile(ts, 99), Max: quantile(ts, 100)}
	}
	return l
}

// quantile returns the p-th percentile of sorted xs by nearest rank, or 0
// for none.
func quantile[T cmp.Ordered](xs []T, p int) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	i := (p*len(xs)+99)/100 - 1
	return xs[max(i, 0)]
}

// judge sets the verdict, reason and anomalies from the measurement.
func judge(h *history.History, opts checker.Options, m *measurement, res *checker.Result) {
	maxV, maxT := opts.MaxStalenessVersions, opts.MaxStalenessTime
	timeJudged := maxT > 0 && m.timed
	var over []reading
	var severity []float64
	for _, rs := range m.readings {
		for _, r := range rs {
			s := 0.0
			if maxV > 0 && r.version > maxV {
				s = float64(r.version) / float64(maxV)
			}
			if timeJudged && r.lag > maxT {
				s = max(s, float64(r.lag)/float64(maxT))
			}
			if s > 0 {
				over = append(over, r)
				severity = append(severity, s)
			}
		}
	}
	var notes []string
	if n := m.details.Unmeasured; n > 0 {
		notes = append(notes, fmt.Sprintf("%d ok read(s) not measured: nil reads under Knossos' convention, or reads of values no write of their key wrote (the linearizable checker explains those)", n))
	}
	switch {
	case len(over) > 0:
		res.Verdict = checker.Invalid
		order := make([]int, len(over))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(severity[b], severity[a]) })
		for _, i := range order[:min(len(order), MaxAnomalies)] {
			res.Anomalies = append(res.Anomalies, explain(h, over[i], opts, timeJudged))
		}
		head := fmt.Sprintf("%d read(s) lagged more than the bound of %s", len(over), bounds(maxV, maxT, timeJudged))
		if len(over) > MaxAnomalies {
			head += fmt.Sprintf("; the %d worst are shown", MaxAnomalies)
		}
		notes = append([]string{head}, notes...)
		if maxT > 0 && !m.timed {
			notes = append(notes, "the time bound was not judged: the history's events carry no times")
		}
	case maxT > 0 && !m.timed:
		res.Verdict = checker.Unknown
		notes = append([]string{"a time bound was given but the history's events carry no times, so time lags cannot be measured; record a time on every event, or bound the staleness in versions only"}, notes...)
	case !bounded(opts):
		res.Verdict = checker.Measured
		notes = append([]string{"no staleness bound was given (in versions or time), so the lags are measured but not judged"}, notes...)
	default:
		res.Verdict = checker.Valid
	}
	res.Reason = strings.Join(notes, "; ")
}

// bounded reports whether opts bound the staleness, in versions or time,
// so that bounded-staleness is judged rather than only measured.
func bounded(opts checker.Options) bool {
	return opts.MaxStalenessVersions > 0 || opts.MaxStalenessTime > 0
}

// bounds names the bounds in force.
func bounds(maxV int, maxT time.Duration, timeJudged bool) string {
	var parts []string
	if maxV > 0 {
		parts = append(parts, plural(maxV, "version"))
	}
	if timeJudged {
		parts = append(parts, roundDur(maxT).String())
	}
	return strings.Join(parts, " or ")
}

// explain builds the anomaly for a read that lagged more than a bound.
func explain(h *history.History, r reading, opts checker.Options, timeJudged bool) checker.Anomaly {
	rop := &h.Ops[r.read]
	newer := &h.Ops[r.newer]
	w := checker.NewWitness(h)
	key := ""
	if rop.Key != nil {
		key = " of " + checker.KeyName(rop.Key)
	}
	head := checker.Say("%s's read%s%s (%s)", w.Who(rop), key, w.OnNode(rop), w.At(rop))
	what := checker.Say("the initial value %s", checker.Val(rop.Output))
	if r.writer >= 0 {
		wr := &h.Ops[r.writer]
		what = checker.Say("%s (written by %s, %s)", checker.Val(rop.Output), whoDid(w, wr), w.At(wr))
		w.Link(wr, checker.WR)
	}
	at, before := "", ""
	if timed := h.Events[rop.Invoke].Time; timed != history.NoTime && r.newer >= 0 && h.Events[newer.Complete].Time != history.NoTime {
		at = " at " + roundDur(time.Duration(timed)).String()
		before = " " + roundDur(r.lag).String()
	}
	first := ""
	if r.version > 1 {
		first = fmt.Sprintf(", the first of %d newer writes acknowledged by then", r.version)
	}
	var exceeded []string
	if opts.MaxStalenessVersions > 0 && r.version > opts.MaxStalenessVersions {
		exceeded = append(exceeded, plural(opts.MaxStalenessVersions, "version"))
	}
	if timeJudged && r.lag > opts.MaxStalenessTime {
		exceeded = append(exceeded, roundDur(opts.MaxStalenessTime).String())
	}
	// The chain: the write the read saw, the read, and the newer write it
	// missed (an anti-dependency).
	if r.writer >= 0 {
		w.Order(&h.Ops[r.writer], rop, newer)
	} else {
		w.Order(rop, newer)
	}
	w.Link(rop, checker.RW)
	return w.Anomaly(KindStaleRead, rop.Key, checker.Say("%s returned %s%s, %s behind: %s had been written to %s by %s and acknowledged%s before the read began (%s)%s; the bound is %s.",
		head, what, at, plural(r.version, "version"),
		checker.Val(reghist.WrittenBy(newer)), checker.KeyName(rop.Key), whoDid(w, newer), before, w.At(newer), first,
		strings.Join(exceeded, " and ")))
}

// whoDid names the process that did op, and how: "process 3" or
// "process 3's cas".
func whoDid(w *checker.Witness, op *history.Op) checker.Phrase {
	if op.F == "cas" {
		return checker.Say("%s's cas", w.Who(op))
	}
	return checker.Say("%s", w.Who(op))
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// roundDur rounds d to about four significant digits, for reading.
func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}
