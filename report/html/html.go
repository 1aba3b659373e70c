// Package html renders a report.Report as one self-contained HTML page,
// report.html: the verdicts, every anomaly with its sentence and steps, a
// timeline of the operations per process (as Jepsen's timeline.html draws
// it), latency and throughput plots with the faults shaded (Jepsen's
// latency-raw, latency-quantiles and rate), each linearizability witness
// drawn on its processes' lanes (as Porcupine draws it), each
// transactional cycle drawn as a ring of transactions with labelled edges,
// and the lag distribution of a bounded-staleness measurement.
//
// The page opens from the file system with no network: its style, script
// and drawings are inline, and a Content-Security-Policy allows exactly
// its one script and one style sheet, by hash, and loads nothing. Every
// string from a history goes through html/template's contextual escaping,
// and nothing from a history is ever code: the script reads operations
// only through data attributes and writes text only with textContent.
//
// A history too large to draw operation by operation (more than
// MaxTimelineOps) is drawn in windows: around each anomaly's operations,
// around each fault's start and end, and at the start of the history,
// with a map of the whole history showing where the windows lie; the
// plots sample their points (MaxLatencyPoints) but compute their
// quantiles and rates from every operation.
package html

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"consist/checker"
	"consist/checker/staleness"
	"consist/checker/txn"
	"consist/history"
	"consist/report"
)

var (
	//go:embed page.tmpl
	pageTemplate string
	//go:embed style.css
	styleSheet string
	//go:embed script.js
	script string
)

var pageTmpl = template.Must(template.New("page").Funcs(template.FuncMap{
	"plural": plural,
	"add":    func(a, b int) int { return a + b },
}).Parse(pageTemplate))

// Write writes r as a self-contained HTML page to w.
func Write(w io.Writer, r report.Report) error {
	p := build(r)
	var buf bytes.Buffer
	buf.Grow(1 << 20)
	if err := pageTmpl.Execute(&buf, p); err != nil {
		return fmt.Errorf("render the HTML report: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write the HTML report: %w", err)
	}
	return nil
}

// policy is the page's Content-Security-Policy: nothing loads, and only
// the page's own script and style sheet (by their SHA-256) apply. Style
// attributes are allowed: the timeline places its bars with them and the
// plots' SVG colours its shapes with them; no attribute can run code.
func policy() string {
	return strings.Join([]string{
		"default-src 'none'",
		"script-src " + hash(script),
		"style-src " + hash(styleSheet),
		"style-src-attr 'unsafe-inline'",
		"img-src 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
}

func hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// page is what the template draws.
type page struct {
	Title    string
	Policy   string
	Style    template.CSS
	Script   template.JS
	Run      *runView
	Files    []fileView
	Timeline *timeline
	Plots    *plots
	// NoHistory says why there is no timeline and no plot, when there is none.
	NoHistory string
}

type runView struct {
	report.RunSettings
	Faults  string
	Models  string
	Command string
	Started string
}

type fileView struct {
	report.FileResult
	Worst     string
	Holds     string
	Breaks    string
	Verdicts  []verdictRow
	Measures  []verdictRow
	Anomalies []*anomalyView
	// MoreAnomalies counts the anomalies beyond MaxAnomalies, not listed.
	MoreAnomalies int
	// Kinds counts the listed anomalies by kind: "3 G-single, 1 G1c".
	Kinds     string
	Staleness []stalenessView
	// Drawn: this file's history is the one drawn (Report.History).
	Drawn bool
}

type verdictRow struct {
	Model     string
	Verdict   string
	Anomalies int
	Note      string
	Time      string
}

// anomalyView is one anomaly, shown once with every model that found it.
type anomalyView struct {
	ID        string
	Kind      string
	About     string
	Models    string
	AllModels string
	Key       string
	Sentence  []sentencePart
	Steps     []stepView
	// Ops are the anomaly's operations' indices, space-separated, for the
	// script that highlights them.
	Ops     string
	Cycle   *cycleDrawing
	Witness *witnessDrawing
	// InTimeline: its operations are drawn in the timeline.
	InTimeline bool
}

// sentencePart is a piece of an anomaly's sentence: text, linked to an
// operation of the timeline when Op is set.
type sentencePart struct {
	Text string
	Op   string
}

type stepView struct {
	N     int
	Index int64
	Op    string
	Text  string
	Rel   string
}

func build(r report.Report) *page {
	p := &page{Title: r.Title, Policy: policy(), Style: template.CSS(styleSheet), Script: template.JS(script)}
	if p.Title == "" && len(r.Files) > 0 {
		p.Title = r.Files[0].File
	}
	if r.Run != nil {
		p.Run = newRunView(r.Run)
	}
	var h *history.History
	if len(r.Files) > 0 && r.Files[0].Error == "" {
		h = r.History
	}
	n := 0
	for i, f := range r.Files {
		fv := newFileView(f, &n)
		fv.Drawn = i == 0 && h != nil
		p.Files = append(p.Files, fv)
	}
	if h == nil {
		p.NoHistory = "The history was not kept with the results, so there is no timeline and no plot."
		return p
	}
	var anomalies []*anomalyView
	if len(p.Files) > 0 {
		anomalies = p.Files[0].Anomalies
	}
	wanted := map[int64]bool{}
	for _, a := range anomalies {
		for _, s := range a.Steps {
			wanted[s.Index] = true
		}
		for _, o := range strings.Fields(a.Ops) {
			k, _ := strconv.ParseInt(o, 10, 64)
			wanted[k] = true
		}
	}
	ix := indexOps(h, wanted)
	faults := findFaults(h)
	c := newClock(h)
	_, end := bounds(h, c)
	for _, a := range anomalies {
		if a.Witness != nil {
			a.Witness.place(h, c, end, ix)
		}
	}
	p.Timeline = newTimeline(h, ix, faults, anomalies)
	p.Plots = newPlots(h, faults)
	return p
}

func newRunView(s *report.RunSettings) *runView {
	v := &runView{RunSettings: *s, Faults: "none", Models: "every model that applies"}
	if len(s.Faults) > 0 {
		v.Faults = strings.Join(s.Faults, ", ")
	}
	if len(s.Models) > 0 {
		v.Models = modelList(s.Models)
	}
	v.Command = strings.Join(s.Command, " ")
	if !s.Started.IsZero() {
		v.Started = s.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return v
}

func modelList(ms []checker.Model) string {
	s := make([]string, len(ms))
	for i, m := range ms {
		s[i] = string(m)
	}
	return strings.Join(s, ", ")
}

// newFileView lays out one file's results; n numbers the anomalies
// across the page.
func newFileView(f report.FileResult, n *int) fileView {
	v := fileView{FileResult: f, Worst: string(f.Worst())}
	if f.Error != "" {
		v.Worst = "error"
		return v
	}
	holds, breaks := checker.Summarize(f.Results)
	v.Holds, v.Breaks = modelList(holds), modelList(breaks)
	for _, r := range f.Results {
		row := verdictRow{Model: string(r.Model), Verdict: string(r.Verdict), Anomalies: len(r.Anomalies), Note: r.Reason,
			Time: r.Stats.Duration.Round(100_000).String()}
		if r.ImpliedBy != "" && row.Note == "" {
			row.Note = "implied by " + string(r.ImpliedBy)
		}
		if r.Verdict.Judged() {
			v.Verdicts = append(v.Verdicts, row)
		} else {
			v.Measures = append(v.Measures, row)
		}
		if d, ok := r.Details.(*staleness.Details); ok && d != nil {
			v.Staleness = append(v.Staleness, newStalenessView(d))
		}
	}
	v.Anomalies, v.MoreAnomalies = groupAnomalies(f.Results, n)
	v.Kinds = kinds(v.Anomalies)
	return v
}

// MaxAnomalies is the most anomalies a page lists per file; the rest are
// counted (results.json and the text report hold them all).
const MaxAnomalies = 200

// groupAnomalies lists every anomaly once, with the models that found
// it, in the order the results list them.
func groupAnomalies(results []checker.Result, n *int) (out []*anomalyView, more int) {
	seen := map[string]*anomalyView{}
	found := map[*anomalyView][]checker.Model{}
	for _, r := range results {
		for _, a := range r.Anomalies {
			text := a.Explanation()
			id := string(a.Kind) + "\x00" + text + "\x00" + fmt.Sprint(a.Ops)
			if v, ok := seen[id]; ok {
				if !slices.Contains(found[v], r.Model) {
					found[v] = append(found[v], r.Model)
				}
				continue
			}
			if len(out) == MaxAnomalies {
				more++
				seen[id] = nil
				continue
			}
			*n++
			v := newAnomalyView(a, *n)
			seen[id] = v
			found[v] = []checker.Model{r.Model}
			out = append(out, v)
		}
	}
	for _, v := range out {
		v.Models, v.AllModels = breaks(found[v])
	}
	return out, more
}

// breaks names the models an anomaly breaks: the weakest of them, and how
// many stronger ones (all of them in full).
func breaks(ms []checker.Model) (short, full string) {
	full = modelList(ms)
	var weakest []checker.Model
	for _, m := range ms {
		bottom := true
		for _, x := range ms {
			if x != m && checker.Implies(m, x) {
				bottom = false
			}
		}
		if bottom {
			weakest = append(weakest, m)
		}
	}
	if len(weakest) == len(ms) || len(weakest) == 0 {
		return full, full
	}
	return fmt.Sprintf("%s and %s", modelList(weakest), plural(len(ms)-len(weakest), "stronger model")), full
}

func newAnomalyView(a checker.Anomaly, n int) *anomalyView {
	v := &anomalyView{ID: "a" + strconv.Itoa(n), Kind: string(a.Kind), About: a.Kind.Description()}
	if a.Key != nil {
		v.Key = checker.KeyName(a.Key)
	}
	ops := make([]string, len(a.Ops))
	for i, o := range a.Ops {
		ops[i] = strconv.FormatInt(o, 10)
	}
	v.Ops = strings.Join(ops, " ")
	v.Sentence = sentence(a)
	for i, s := range a.Steps {
		v.Steps = append(v.Steps, stepView{N: i + 1, Index: s.Index, Op: strconv.FormatInt(s.Index, 10), Text: stepText(a, i+1), Rel: string(s.Rel)})
	}
	if txn.IsCycle(a.Kind) && len(a.Steps) > 0 {
		v.Cycle = newCycle(a, v.Steps)
	} else if len(a.Steps) > 0 {
		v.Witness = newWitness(a, v.Steps)
	}
	return v
}

// identity leaves text as it is: html/template escapes it on the page.
func identity(s string) string { return s }

// sentence splits the anomaly's sentence into text and the operations it
// names, each linked to its bar in the timeline.
func sentence(a checker.Anomaly) []sentencePart {
	var parts []sentencePart
	for _, p := range a.Sentence {
		text := renderPart(a, p)
		if p.Step > 0 && p.Step <= len(a.Steps) && p.Form == checker.FormOp {
			parts = append(parts, sentencePart{Text: text, Op: strconv.FormatInt(a.Steps[p.Step-1].Index, 10)})
			continue
		}
		if n := len(parts); n > 0 && parts[n-1].Op == "" {
			parts[n-1].Text += text
			continue
		}
		parts = append(parts, sentencePart{Text: text})
	}
	if len(parts) == 0 {
		return []sentencePart{{Text: a.Explanation()}}
	}
	// A sentence starts with a capital letter, as Render writes it.
	if r, n := utf8.DecodeRuneInString(parts[0].Text); unicode.IsLower(r) {
		parts[0].Text = string(unicode.ToUpper(r)) + parts[0].Text[n:]
	}
	return parts
}

// renderPart renders one part of a's sentence as Render does, without
// the capital Render gives a sentence's first letter.
func renderPart(a checker.Anomaly, p checker.Part) string {
	one := checker.Anomaly{Steps: a.Steps, Sentence: checker.Phrase{{Text: "\x00"}, p}}
	return strings.TrimPrefix(one.Render(identity), "\x00")
}

// stepText is step n (from 1) of a named in full.
func stepText(a checker.Anomaly, n int) string {
	return renderPart(a, checker.Part{Step: n, Form: checker.FormOp})
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	if strings.HasSuffix(unit, "y") {
		return strconv.Itoa(n) + " " + unit[:len(unit)-1] + "ies"
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// stalenessView is a bounded-staleness measurement: its lags overall and
// for the stalest keys, and the plot of their percentiles.
type stalenessView struct {
	Timed      bool
	Rows       []lagRow
	Unmeasured int
	Plot       template.HTML
}

type lagRow struct {
	Key              string
	Reads, Stale     int
	P50, P99, Max    int
	TP50, TP99, TMax string
}

// maxLagKeys is the most keys a staleness table lists.
const maxLagKeys = 10

func newStalenessView(d *staleness.Details) stalenessView {
	v := stalenessView{Timed: d.Timed, Unmeasured: d.Unmeasured}
	row := func(name string, l staleness.Lags) lagRow {
		r := lagRow{Key: name, Reads: l.Reads, Stale: l.Stale, P50: l.Versions.P50, P99: l.Versions.P99, Max: l.Versions.Max}
		if l.Time != nil {
			r.TP50, r.TP99, r.TMax = roundDuration(l.Time.P50), roundDuration(l.Time.P99), roundDuration(l.Time.Max)
		}
		return r
	}
	v.Rows = append(v.Rows, row("every key", d.Overall))
	keys := slices.Clone(d.Keys)
	slices.SortStableFunc(keys, func(a, b staleness.KeyLags) int {
		if a.Versions.Max != b.Versions.Max {
			return b.Versions.Max - a.Versions.Max
		}
		return b.Versions.P99 - a.Versions.P99
	})
	for i, k := range keys {
		if i == maxLagKeys {
			break
		}
		v.Rows = append(v.Rows, row(checker.KeyName(k.Key), k.Lags))
	}
	if d.Overall.Versions.Max > 0 {
		v.Plot = lagPlot(v.Rows, d.Timed)
	}
	return v
}

// roundDuration keeps three significant digits or so: 845µs, 1.2ms, 3.4s.
func roundDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Microsecond:
		return d.Round(time.Microsecond).String()
	}
	return d.String()
}

// kinds counts anomalies by kind, the most frequent first.
func kinds(as []*anomalyView) string {
	count := map[string]int{}
	var order []string
	for _, a := range as {
		if count[a.Kind] == 0 {
			order = append(order, a.Kind)
		}
		count[a.Kind]++
	}
	slices.SortStableFunc(order, func(a, b string) int { return count[b] - count[a] })
	parts := make([]string, len(order))
	for i, k := range order {
		parts[i] = strconv.Itoa(count[k]) + " " + k
	}
	return strings.Join(parts, ", ")
}
