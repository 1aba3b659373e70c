// Package report renders check results for people and programs: a text
// table with the witnesses beneath it, and JSON.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"

	"consist/checker"
	"consist/history"
)

// FileResult is the outcome of checking one history file.
type FileResult struct {
	File      string           `json:"file"`
	Format    string           `json:"format,omitempty"`
	Ops       int              `json:"ops"`
	Processes int              `json:"processes"`
	Results   []checker.Result `json:"results,omitempty"`
	// Warnings are what the reader accepted under a stated rule but a
	// person should know (times going backwards across processes, say).
	Warnings []string `json:"warnings,omitempty"`
	// TornLine is the number of an incomplete last line, left by a
	// recorder killed mid-write, that was dropped; 0 when none was.
	TornLine int `json:"torn_line,omitempty"`
	// Error is set when the file could not be read or parsed; Results is
	// then empty.
	Error string `json:"error,omitempty"`
}

// Worst returns the worst verdict among the results; a measurement
// (checker.Measured) ranks with valid.
func (f FileResult) Worst() checker.Verdict {
	worst := checker.Valid
	for _, r := range f.Results {
		if r.Verdict.Worse(worst) {
			worst = r.Verdict
		}
	}
	return worst
}

// WriteText writes a table of the verdicts (model, verdict, anomalies,
// time) and, beneath it, the reason of every unknown verdict and every
// anomaly's explanation: an anomaly several models found is shown once,
// with the models it breaks, and its operations are named by index and
// line, and followed by what its kind rules out as Elle says it (checker.Boundary):
// "G1a: not read-committed; also not …", the weakest models it breaks,
// then the stronger ones. Then, apart under their own heading, come the measurements
// (checker.Measured results), which judge nothing. Every string that came
// from the history is escaped (checker.Escape), so no history can move
// the cursor, recolour the terminal or forge a line.
func WriteText(w io.Writer, f FileResult) error {
	if f.Error != "" {
		_, err := fmt.Fprintf(w, "%s: error: %s\n", checker.Escape(f.File), checker.Escape(f.Error))
		return err
	}
	if _, err := fmt.Fprintf(w, "%s (%s, %d operations, %d processes)\n", checker.Escape(f.File), checker.Escape(f.Format), f.Ops, f.Processes); err != nil {
		return err
	}
	for _, warning := range f.Warnings {
		if _, err := fmt.Fprintf(w, "warning: %s\n", checker.Escape(warning)); err != nil {
			return err
		}
	}
	if f.TornLine > 0 {
		if _, err := fmt.Fprintf(w, "line %d is incomplete, as a run killed mid-write leaves it, and was dropped; operations it would have completed count as info\n", f.TornLine); err != nil {
			return err
		}
	}
	verdicts, measures := splitMeasures(f.Results)
	if len(verdicts) > 0 {
		table := tablewriter.NewWriter(w)
		table.Header("Model", "Verdict", "Anomalies", "Time")
		for _, r := range verdicts {
			if err := table.Append(string(r.Model), string(r.Verdict), strconv.Itoa(len(r.Anomalies)), roundDuration(r.Stats.Duration)); err != nil {
				return fmt.Errorf("render table: %w", err)
			}
		}
		if err := table.Render(); err != nil {
			return fmt.Errorf("render table: %w", err)
		}
	}
	var b strings.Builder
	if holds, breaks := checker.Summarize(verdicts); len(holds)+len(breaks) > 0 && len(verdicts) > 1 {
		b.WriteString("Strongest models that hold: ")
		b.WriteString(modelList(holds))
		if len(breaks) > 0 {
			b.WriteString("; weakest that break: ")
			b.WriteString(modelList(breaks))
		}
		b.WriteString("\n")
	}
	writeImplied(&b, verdicts)
	for _, r := range verdicts {
		if d, ok := r.Details.(interface{ Text() string }); ok {
			fmt.Fprintf(&b, "%s:\n%s", r.Model, indent(d.Text()))
		}
		if r.Reason != "" && r.ImpliedBy == "" {
			fmt.Fprintf(&b, "%s %s: %s\n", r.Model, r.Verdict, checker.Escape(r.Reason))
		}
	}
	for _, g := range groupAnomalies(f.Results) {
		a := g.anomaly
		fmt.Fprintf(&b, "%s: %s", modelList(g.models), a.Kind)
		if a.Key != nil {
			fmt.Fprintf(&b, " on %s", checker.Escape(checker.KeyName(a.Key)))
		}
		fmt.Fprintf(&b, ", %s %s\n  %s\n", plural(len(a.Ops), "operation"), opList(a), a.Explanation())
		if not, also := checker.Boundary(a.Kind); len(not) > 0 {
			fmt.Fprintf(&b, "  %s: not %s", a.Kind, modelList(not))
			if len(also) > 0 {
				fmt.Fprintf(&b, "; also not %s", modelList(also))
			}
			b.WriteString("\n")
		}
	}
	writeMeasures(&b, measures)
	_, err := io.WriteString(w, b.String())
	return err
}

// splitMeasures parts results into verdicts and measurements
// (checker.Measured), each in its order.
func splitMeasures(results []checker.Result) (verdicts, measures []checker.Result) {
	for _, r := range results {
		if r.Verdict.Judged() {
			verdicts = append(verdicts, r)
		} else {
			measures = append(measures, r)
		}
	}
	return verdicts, measures
}

// writeMeasures shows the measurements apart from the verdicts, under a
// heading that says they judge nothing: each measure with why it judged
// nothing, then what it measured.
func writeMeasures(b *strings.Builder, measures []checker.Result) {
	if len(measures) == 0 {
		return
	}
	b.WriteString("Measured, not judged (a measurement never fails a check):\n")
	for _, r := range measures {
		fmt.Fprintf(b, "  %s", r.Model)
		if r.Reason != "" {
			fmt.Fprintf(b, ": %s", checker.Escape(r.Reason))
		}
		b.WriteString("\n")
		if d, ok := r.Details.(interface{ Text() string }); ok {
			b.WriteString(indent(indent(d.Text())))
		}
	}
}

// anomalyGroup is one anomaly and every model whose result reported it.
type anomalyGroup struct {
	anomaly checker.Anomaly
	models  []checker.Model
}

// groupAnomalies gathers the anomalies of all results, in order, merging
// those that several models found — the same kind, key and operations —
// into one, with the list of models it breaks.
func groupAnomalies(results []checker.Result) []anomalyGroup {
	var out []anomalyGroup
	at := map[string]int{}
	for _, r := range results {
		for _, a := range r.Anomalies {
			id := fmt.Sprintf("%s|%s|%v", a.Kind, history.Canonical(a.Key), a.Ops)
			if i, ok := at[id]; ok {
				if !slices.Contains(out[i].models, r.Model) {
					out[i].models = append(out[i].models, r.Model)
				}
				continue
			}
			at[id] = len(out)
			out = append(out, anomalyGroup{anomaly: a, models: []checker.Model{r.Model}})
		}
	}
	return out
}

// opList names an anomaly's operations by index and, where the history
// has lines, line: "1 (line 2), 5 (line 6)".
func opList(a checker.Anomaly) string {
	line := map[int64]int{}
	for _, s := range a.Steps {
		if s.Line > 0 {
			line[s.Index] = s.Line
		}
	}
	parts := make([]string, len(a.Ops))
	for i, x := range a.Ops {
		parts[i] = strconv.FormatInt(x, 10)
		if l, ok := line[x]; ok {
			parts[i] += fmt.Sprintf(" (line %d)", l)
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, unit string) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// writeImplied says in one line per source which verdicts the lattice
// implied: "valid, implied by linearizable: sequential, causal, ...".
func writeImplied(b *strings.Builder, results []checker.Result) {
	type source struct {
		by checker.Model
		v  checker.Verdict
	}
	var order []source
	implied := map[source][]checker.Model{}
	for _, r := range results {
		if r.ImpliedBy == "" {
			continue
		}
		s := source{r.ImpliedBy, r.Verdict}
		if implied[s] == nil {
			order = append(order, s)
		}
		implied[s] = append(implied[s], r.Model)
	}
	shown := map[checker.Model]bool{}
	for _, r := range results {
		shown[r.Model] = true
	}
	for _, s := range order {
		how := "holds"
		if s.v != checker.Valid {
			how = "does not hold"
		}
		// A model not asked for was checked to settle these.
		unasked := ""
		if !shown[s.by] {
			unasked = fmt.Sprintf(" (%s was checked too, though not asked)", s.by)
		}
		fmt.Fprintf(b, "%s, implied because %s %s%s: %s\n", s.v, s.by, how, unasked, modelList(implied[s]))
	}
}

// WriteJSON writes the results of every file as one indented JSON array.
func WriteJSON(w io.Writer, files []FileResult) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(files); err != nil {
		return fmt.Errorf("write JSON results: %w", err)
	}
	return nil
}

func modelList(ms []checker.Model) string {
	if len(ms) == 0 {
		return "none"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = string(m)
	}
	return strings.Join(parts, ", ")
}

// indent prefixes every line of s with two spaces, escapes what a
// terminal would act on, and ends it with a newline.
func indent(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + checker.Escape(l)
	}
	return strings.Join(lines, "\n") + "\n"
}

func roundDuration(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
