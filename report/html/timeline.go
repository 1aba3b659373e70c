package html

import (
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"consist/history"
)

// The timeline's limits. A history of at most MaxTimelineOps operations
// is drawn whole, in windows of WindowOps operations; a larger one in
// windows of about 2×ContextOps operations around each anomaly (at most
// MaxAnomalyWindows of them), each fault's start and end, and the start
// of the history, until MaxDrawnOps operations are drawn.
const (
	MaxTimelineOps    = 5000
	WindowOps         = 500
	ContextOps        = 120
	MaxAnomalyWindows = 40
	MaxDrawnOps       = 12000
	mapBuckets        = 200
)

// clock places events in time: their Time when every event has one, else
// their index.
type clock struct {
	timed bool
}

func newClock(h *history.History) clock {
	if len(h.Events) == 0 {
		return clock{}
	}
	for i := range h.Events {
		if h.Events[i].Time == history.NoTime {
			return clock{}
		}
	}
	return clock{timed: true}
}

func (c clock) at(e *history.Event) int64 {
	if c.timed {
		return e.Time
	}
	return e.Index
}

// format writes a moment of the clock: seconds since the run began, or an
// event index.
func (c clock) format(t int64) string {
	if !c.timed {
		return "#" + strconv.FormatInt(t, 10)
	}
	return seconds(t)
}

func seconds(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', 3, 64) + "s"
}

// span is an operation's extent on the clock; open when it never
// completed (it runs to the end of the history).
func span(h *history.History, c clock, op *history.Op, end int64) (from, to int64, open bool) {
	from = c.at(h.InvokeEvent(op))
	if e := h.CompleteEvent(op); e != nil {
		return from, c.at(e), false
	}
	return from, max(end, from), true
}

// bounds are the first and last moments of the history.
func bounds(h *history.History, c clock) (lo, hi int64) {
	if len(h.Events) == 0 {
		return 0, 0
	}
	lo, hi = c.at(&h.Events[0]), c.at(&h.Events[0])
	for i := range h.Events {
		t := c.at(&h.Events[i])
		lo, hi = min(lo, t), max(hi, t)
	}
	return lo, hi
}

// indexOps finds the operations whose indices (history.OpIndex) are
// wanted.
func indexOps(h *history.History, wanted map[int64]bool) map[int64]*history.Op {
	ix := make(map[int64]*history.Op, len(wanted))
	if len(wanted) == 0 {
		return ix
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if k := h.OpIndex(op); wanted[k] {
			ix[k] = op
		}
	}
	return ix
}

// fault is one interval of a nemesis fault: from the event that started
// it to the one that stopped it (the end of the history when none did).
type fault struct {
	Kind     string
	What     string
	From, To int64
	// FromEvent and ToEvent are the positions of those events in
	// History.Events.
	FromEvent, ToEvent int
	Open               bool
}

// findFaults pairs the nemesis's events: "start-K" (or "start") opens an
// interval of fault K, the next "stop-K" (or "stop") closes it, as
// nemesis records them and Jepsen's nemesis writes :start and :stop. Any
// other nemesis event is an instant.
func findFaults(h *history.History) []fault {
	c := newClock(h)
	_, end := bounds(h, c)
	var out []fault
	open := map[string]int{}
	pending := map[string]int{}
	for i := range h.Events {
		e := &h.Events[i]
		if e.IsClient() {
			continue
		}
		t := c.at(e)
		switch {
		case strings.HasPrefix(e.F, "start"):
			kind := strings.TrimLeft(strings.TrimPrefix(e.F, "start"), "-_")
			if _, ok := open[kind]; ok {
				continue // the completion of a start already opened
			}
			what := kind
			if e.HasValue && e.Value != nil {
				what = strings.TrimSpace(kind + " " + history.Describe(e.Value))
			}
			if e.Error != "" {
				what += " (error: " + e.Error + ")"
			}
			open[kind] = len(out)
			out = append(out, fault{Kind: kind, What: what, From: t, To: end, FromEvent: i, ToEvent: len(h.Events) - 1, Open: true})
		case strings.HasPrefix(e.F, "stop"):
			kind := strings.TrimLeft(strings.TrimPrefix(e.F, "stop"), "-_")
			at, ok := open[kind]
			if !ok {
				// The completion of a stop extends the interval it closed.
				for j := len(out) - 1; j >= 0; j-- {
					if out[j].Kind == kind && !out[j].Open {
						if i-out[j].ToEvent < 1000 {
							out[j].To, out[j].ToEvent = t, i
						}
						break
					}
				}
				continue
			}
			delete(open, kind)
			out[at].To, out[at].ToEvent, out[at].Open = t, i, false
		default:
			// Another nemesis operation lasts from its invocation to its
			// completion.
			if at, ok := pending[e.F]; ok && e.Type != history.Invoke {
				delete(pending, e.F)
				out[at].To, out[at].ToEvent = t, i
				continue
			}
			what := e.F
			if e.HasValue && e.Value != nil {
				what += " " + history.Describe(e.Value)
			}
			if e.Type == history.Invoke {
				pending[e.F] = len(out)
			}
			out = append(out, fault{Kind: e.F, What: what, From: t, To: t, FromEvent: i, ToEvent: i})
		}
	}
	return out
}

// timeline is the operations drawn per process, in windows.
type timeline struct {
	// Unit names the clock: "seconds" or "event index".
	Unit    string
	Total   int
	Drawn   int
	Whole   bool
	Windows []*window
	// Map is the whole history as one strip: its density, faults and
	// where the windows lie.
	Density []cell
	Faults  []band
	Marks   []band
	From    string
	To      string
}

type cell struct {
	Style template.CSS
	Title string
}

type window struct {
	ID     string
	Label  string
	From   string
	To     string
	Ops    int
	Width  template.CSS
	Ticks  []band
	Faults []band
	Rows   []row
}

// band is something placed along a window's width: a fault, a tick, a
// window on the map.
type band struct {
	Style template.CSS
	Title string
	Href  string
	Class string
}

type row struct {
	Proc string
	Bars []bar
}

type bar struct {
	ID    string
	Style template.CSS
	Class string
	I     string
	Text  string
}

// opRange is a run of operations, by position in History.Ops.
type opRange struct {
	lo, hi int
	labels []string
}

func newTimeline(h *history.History, ix map[int64]*history.Op, faults []fault, anomalies []*anomalyView) *timeline {
	c := newClock(h)
	lo, hi := bounds(h, c)
	t := &timeline{Total: len(h.Ops), Unit: "event index", From: c.format(lo), To: c.format(hi)}
	if c.timed {
		t.Unit = "seconds since the run began"
	}
	var ranges []opRange
	n := len(h.Ops)
	if n <= MaxTimelineOps {
		t.Whole = true
		for start := 0; start < n; start += WindowOps {
			end := min(start+WindowOps, n) - 1
			ranges = append(ranges, opRange{lo: start, hi: end, labels: []string{fmt.Sprintf("operations %d to %d", start+1, end+1)}})
		}
	} else {
		ranges = pickRanges(h, ix, faults, anomalies)
	}
	drawn := map[int64]bool{}
	for i, r := range ranges {
		w := newWindow(h, c, r, faults, hi, drawn)
		w.ID = "w" + strconv.Itoa(i+1)
		t.Windows = append(t.Windows, w)
		t.Drawn += w.Ops
	}
	for _, a := range anomalies {
		for _, o := range strings.Fields(a.Ops) {
			k, _ := strconv.ParseInt(o, 10, 64)
			if drawn[k] {
				a.InTimeline = true
			}
		}
	}
	t.drawMap(h, c, lo, hi, faults, ranges)
	return t
}

// pickRanges chooses the windows of a history too large to draw whole:
// around each anomaly's operations first, then around each fault's start
// and end, then the history's start, while the budget lasts.
func pickRanges(h *history.History, ix map[int64]*history.Op, faults []fault, anomalies []*anomalyView) []opRange {
	n := len(h.Ops)
	around := func(pos int, label string) opRange {
		return opRange{lo: max(0, pos-ContextOps), hi: min(n-1, pos+ContextOps), labels: []string{label}}
	}
	// opAt is the position of the first operation invoked at or after
	// event position e.
	opAt := func(e int) int {
		p, _ := slices.BinarySearchFunc(h.Ops, e, func(op history.Op, e int) int { return op.Invoke - e })
		return min(p, n-1)
	}
	var want []opRange
	for i, a := range anomalies {
		if i == MaxAnomalyWindows {
			break
		}
		for _, o := range strings.Fields(a.Ops) {
			k, _ := strconv.ParseInt(o, 10, 64)
			if op, ok := ix[k]; ok {
				want = append(want, around(op.ID, "anomaly "+strings.TrimPrefix(a.ID, "a")+" ("+a.Kind+")"))
			}
		}
	}
	for _, f := range faults {
		want = append(want, around(opAt(f.FromEvent), "start of "+f.Kind))
		if !f.Open && f.ToEvent != f.FromEvent {
			want = append(want, around(opAt(f.ToEvent), "end of "+f.Kind))
		}
	}
	want = append(want, opRange{lo: 0, hi: min(n-1, 2*ContextOps), labels: []string{"start of the history"}})
	var kept []opRange
	for _, r := range want {
		try := merge(append(slices.Clone(kept), r))
		total := 0
		for _, m := range try {
			total += m.hi - m.lo + 1
		}
		if total > MaxDrawnOps {
			continue
		}
		kept = append(kept, r)
	}
	return merge(kept)
}

// merge sorts ranges and joins those that overlap or touch, keeping
// their labels (once each).
func merge(rs []opRange) []opRange {
	slices.SortFunc(rs, func(a, b opRange) int { return a.lo - b.lo })
	var out []opRange
	for _, r := range rs {
		if k := len(out); k > 0 && r.lo <= out[k-1].hi+1 {
			last := &out[k-1]
			last.hi = max(last.hi, r.hi)
			for _, l := range r.labels {
				if !slices.Contains(last.labels, l) {
					last.labels = append(last.labels, l)
				}
			}
			continue
		}
		out = append(out, opRange{lo: r.lo, hi: r.hi, labels: slices.Clone(r.labels)})
	}
	return out
}

// maxLabels is the most labels a window's title lists.
const maxLabels = 6

// lookBack is how far before a window the operations still running at
// its start are looked for.
const lookBack = 2000

func newWindow(h *history.History, c clock, r opRange, faults []fault, end int64, drawn map[int64]bool) *window {
	from, _, _ := span(h, c, &h.Ops[r.lo], end)
	to := from
	for p := r.lo; p <= r.hi; p++ {
		s, e, open := span(h, c, &h.Ops[p], end)
		to = max(to, s)
		if !open {
			to = max(to, e)
		}
	}
	if r.hi+1 < len(h.Ops) {
		// Operations that never completed run on past the window.
		s, _, _ := span(h, c, &h.Ops[r.hi+1], end)
		to = max(to, s)
	}
	if to == from {
		to = from + 1
	}
	label := strings.Join(r.labels[:min(len(r.labels), maxLabels)], "; ")
	if len(r.labels) > maxLabels {
		label += fmt.Sprintf("; and %d more", len(r.labels)-maxLabels)
	}
	w := &window{Label: label, From: c.format(from), To: c.format(to)}
	pos := func(t int64) float64 { return float64(t-from) / float64(to-from) * 100 }
	rows := map[history.Process]*row{}
	perRow := map[history.Process]int{}
	add := func(op *history.Op) {
		s, e, open := span(h, c, op, end)
		class := op.Type.String()
		if open {
			class = "info open"
		}
		if e > to {
			e = to
			class += " cut"
		}
		k := h.OpIndex(op)
		b := bar{Class: class, I: strconv.FormatInt(k, 10), Text: opText(h, c, op, open),
			Style: template.CSS(fmt.Sprintf("left:%.3f%%;width:%.3f%%", pos(max(s, from)), max(pos(e)-pos(max(s, from)), 0)))}
		if !drawn[k] {
			drawn[k] = true
			b.ID = "op-" + b.I
		}
		rw := rows[op.Process]
		if rw == nil {
			rw = &row{Proc: op.Process.String()}
			rows[op.Process] = rw
		}
		rw.Bars = append(rw.Bars, b)
		perRow[op.Process]++
		w.Ops++
	}
	for p := max(0, r.lo-lookBack); p < r.lo; p++ {
		if _, e, _ := span(h, c, &h.Ops[p], end); e > from {
			add(&h.Ops[p])
		}
	}
	for p := r.lo; p <= r.hi; p++ {
		add(&h.Ops[p])
	}
	procs := make([]history.Process, 0, len(rows))
	for p := range rows {
		procs = append(procs, p)
	}
	slices.Sort(procs)
	most := 0
	for _, p := range procs {
		w.Rows = append(w.Rows, *rows[p])
		most = max(most, perRow[p])
	}
	// Each operation gets about 14 pixels: a wide window scrolls.
	w.Width = template.CSS(fmt.Sprintf("min-width:%dpx", max(600, most*14)))
	for _, f := range faults {
		if f.To < from || f.From > to {
			continue
		}
		l, r := pos(max(f.From, from)), pos(min(f.To, to))
		w.Faults = append(w.Faults, band{Title: faultTitle(c, f), Class: "fault",
			Style: template.CSS(fmt.Sprintf("left:%.3f%%;width:%.3f%%", l, r-l))})
	}
	for i := 0; i <= 4; i++ {
		at := from + (to-from)*int64(i)/4
		w.Ticks = append(w.Ticks, band{Title: c.format(at), Style: template.CSS(fmt.Sprintf("left:%.3f%%", pos(at)))})
	}
	return w
}

func faultTitle(c clock, f fault) string {
	end := c.format(f.To)
	if f.Open {
		end += " (never stopped)"
	}
	return "fault: " + f.What + ", " + c.format(f.From) + " to " + end
}

// maxOpText is the most bytes of a value the hover text shows.
const maxOpText = 400

// opText is an operation in full, for its hover text.
func opText(h *history.History, c clock, op *history.Op, open bool) string {
	var b strings.Builder
	inv := h.InvokeEvent(op)
	fmt.Fprintf(&b, "process %s: %s", op.Process, op.F)
	if op.Key != nil {
		b.WriteString(" key " + clipText(history.Describe(op.Key), 100))
	}
	if op.Input != nil {
		b.WriteString(" " + clipText(history.Describe(op.Input), maxOpText))
	}
	switch {
	case open:
		b.WriteString(", never completed")
	case op.Type == history.OK && op.HasOutput:
		b.WriteString(" → " + clipText(history.Describe(op.Output), maxOpText))
	}
	b.WriteString(" (" + op.Type.String() + ")")
	done := h.CompleteEvent(op)
	if done != nil && done.Error != "" {
		b.WriteString(", error: " + clipText(done.Error, maxOpText))
	}
	node := inv.Node
	if done != nil && done.Node != "" {
		node = done.Node
	}
	if node != "" {
		b.WriteString(", node " + clipText(node, 100))
	}
	b.WriteString("\ninvoked " + c.format(c.at(inv)))
	if done != nil {
		b.WriteString(", completed " + c.format(c.at(done)))
		if c.timed {
			b.WriteString(" (" + time.Duration(done.Time-inv.Time).String() + ")")
		}
	}
	fmt.Fprintf(&b, "\nindex %d", h.OpIndex(op))
	line := inv.Line
	if done != nil {
		line = done.Line
	}
	if line > 0 {
		fmt.Fprintf(&b, ", line %d", line)
	}
	return b.String()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// drawMap draws the whole history as one strip: how many operations
// each stretch of it holds, the faults, and the windows.
func (t *timeline) drawMap(h *history.History, c clock, lo, hi int64, faults []fault, ranges []opRange) {
	if hi <= lo {
		hi = lo + 1
	}
	pos := func(x int64) float64 { return float64(x-lo) / float64(hi-lo) * 100 }
	var count, bad [mapBuckets]int
	for i := range h.Ops {
		op := &h.Ops[i]
		k := int(float64(c.at(h.InvokeEvent(op))-lo) / float64(hi-lo) * mapBuckets)
		k = min(max(k, 0), mapBuckets-1)
		count[k]++
		if op.Type != history.OK {
			bad[k]++
		}
	}
	most := slices.Max(count[:])
	for k := range mapBuckets {
		if count[k] == 0 {
			continue
		}
		at := lo + (hi-lo)*int64(k)/mapBuckets
		t.Density = append(t.Density, cell{
			Style: template.CSS(fmt.Sprintf("left:%.3f%%;width:%.3f%%;opacity:%.2f", float64(k)*100/mapBuckets, 100.0/mapBuckets, 0.15+0.85*float64(count[k])/float64(max(most, 1)))),
			Title: fmt.Sprintf("from %s: %d operations, %d of them failed or crashed", c.format(at), count[k], bad[k])})
	}
	for _, f := range faults {
		l, r := pos(f.From), pos(f.To)
		t.Faults = append(t.Faults, band{Title: faultTitle(c, f), Class: "fault", Style: template.CSS(fmt.Sprintf("left:%.3f%%;width:%.3f%%", l, r-l))})
	}
	for i, r := range ranges {
		s := c.at(h.InvokeEvent(&h.Ops[r.lo]))
		e := c.at(h.InvokeEvent(&h.Ops[r.hi]))
		l, rr := pos(s), pos(e)
		t.Marks = append(t.Marks, band{Title: t.Windows[i].Label, Href: "#" + t.Windows[i].ID, Class: "mark",
			Style: template.CSS(fmt.Sprintf("left:%.3f%%;width:%.3f%%", l, rr-l))})
	}
}
